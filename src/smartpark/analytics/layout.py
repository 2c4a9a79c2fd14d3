"""Registry facts as arrays, indexed by meter code or scope row.

Scope rows are the enterprises, then the parks, then the zones (each in sorted id
order); :meth:`Layout.lift` sums enterprise rows into all of them.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core import quantities
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.store.base import Scope


@dataclass(frozen=True)
class Layout:
    """Registry facts as arrays, indexed by meter code or scope row."""

    n_meters: int
    n_ent: int
    n_park: int
    n_zone: int
    quantity: tuple[str, ...]  # per meter
    is_counter: npt.NDArray[np.bool_]
    pollutant: npt.NDArray[np.bool_]
    boundary: npt.NDArray[np.bool_]
    # dual-control accounting (docs/kpis.md): left out of energy_target_tce
    excluded: npt.NDArray[np.bool_]  # feedstock meters and new renewable supplies
    interval_ms: IntArray
    multiplier: FloatArray
    register_max: FloatArray
    enterprise: npt.NDArray[np.intp]
    ent_park: npt.NDArray[np.intp]
    park_zone: npt.NDArray[np.intp]
    o2_ref: FloatArray
    partner_o2: npt.NDArray[np.int64]
    partner_flow: npt.NDArray[np.int64]
    limit: FloatArray  # per meter: the park's limit for a pollutant meter, else NaN
    row_ids: tuple[tuple[Scope, str], ...]
    row_tz: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        return self.n_ent + self.n_park + self.n_zone

    @classmethod
    def of(cls, reg: Registry) -> Layout:
        """The layout of ``reg``, built once per registry object (registries are frozen)."""
        cached = _LAYOUTS.get(id(reg))
        if cached is not None and cached[0]() is reg:
            return cached[1]
        layout = cls._build(reg)
        _LAYOUTS[id(reg)] = (weakref.ref(reg), layout)
        weakref.finalize(reg, _LAYOUTS.pop, id(reg), None)
        return layout

    @classmethod
    def _build(cls, reg: Registry) -> Layout:
        mids = reg.meter_ids
        meters = [reg.meters[m] for m in mids]
        park_code = {p: i for i, p in enumerate(reg.park_ids)}
        zone_code = {z: i for i, z in enumerate(reg.zone_ids)}
        ent_park = np.array(
            [park_code[reg.enterprises[e].park] for e in reg.enterprise_ids], np.intp
        )
        park_zone = np.array([zone_code[reg.parks[p].zone] for p in reg.park_ids], np.intp)
        nature = {q.name: q.nature for q in quantities.QUANTITIES}
        partner_o2 = reg.stack_partner("o2")
        partner_flow = reg.stack_partner("flue_gas_flow")
        limit = np.array(
            [
                reg.parks[reg.enterprises[m.enterprise].park].limits.get(m.quantity, np.nan)
                if m.quantity in POLLUTANTS
                else np.nan
                for m in meters
            ]
        )
        parks = [reg.parks[p] for p in reg.park_ids]
        ent_parks = [reg.parks[reg.enterprises[e].park] for e in reg.enterprise_ids]
        return cls(
            n_meters=len(mids),
            n_ent=len(reg.enterprise_ids),
            n_park=len(parks),
            n_zone=len(reg.zone_ids),
            quantity=tuple(m.quantity for m in meters),
            is_counter=np.array([nature[m.quantity] == "counter" for m in meters], np.bool_),
            pollutant=np.array([m.quantity in POLLUTANTS for m in meters], np.bool_),
            boundary=reg.meter_boundary,
            excluded=np.array([m.role == "feedstock" or m.new_renewable for m in meters]),
            interval_ms=reg.meter_interval_s * 1000,
            multiplier=reg.meter_multiplier,
            register_max=np.array([m.register_max or np.nan for m in meters], np.float64),
            enterprise=reg.meter_enterprise.astype(np.intp),
            ent_park=ent_park,
            park_zone=park_zone,
            o2_ref=np.array([np.nan if m.o2_ref is None else m.o2_ref for m in meters]),
            partner_o2=partner_o2,
            partner_flow=partner_flow,
            limit=limit,
            row_ids=(
                *(("enterprise", e) for e in reg.enterprise_ids),
                *(("park", p) for p in reg.park_ids),
                *(("zone", z) for z in reg.zone_ids),
            ),
            row_tz=(
                *(p.timezone for p in ent_parks),
                *(p.timezone for p in parks),
                *(reg.zones[z].timezone for z in reg.zone_ids),
            ),
        )

    def meters_where(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
        return np.flatnonzero(mask).astype(np.int32)

    def of_quantity(self, *names: str) -> npt.NDArray[np.bool_]:
        return np.array([q in names for q in self.quantity], np.bool_)

    @cached_property
    def by_enterprise(self) -> Grouping:
        return Grouping.of(self.enterprise, self.n_ent)

    @cached_property
    def _by_park(self) -> Grouping:
        return Grouping.of(self.ent_park, self.n_park)

    @cached_property
    def _by_zone(self) -> Grouping:
        return Grouping.of(self.park_zone, self.n_zone)

    def lift(self, per_ent: FloatArray) -> FloatArray:
        """Enterprise rows (first axis) -> all scope rows: enterprises, parks, zones."""
        per_park = self._by_park.sum(per_ent)
        per_zone = self._by_zone.sum(per_park)
        return np.concatenate([per_ent, per_park, per_zone], axis=0)


_LAYOUTS: dict[int, tuple[weakref.ref[Registry], Layout]] = {}


@dataclass(frozen=True)
class Grouping:
    """Rows grouped by a code: the sort order and run starts, computed once."""

    order: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    targets: npt.NDArray[np.intp]
    n_groups: int

    @classmethod
    def of(cls, groups: npt.NDArray[np.intp], n_groups: int) -> Grouping:
        order = np.argsort(groups, kind="stable")
        g = groups[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else order[:0]
        return cls(order, starts, g[starts], n_groups)

    def sum(self, x: FloatArray) -> FloatArray:
        """Sum the rows of ``x`` per group (absent groups are 0)."""
        out = np.zeros((self.n_groups, *x.shape[1:]))
        if self.order.size:
            out[self.targets] = np.add.reduceat(x[self.order], self.starts, axis=0)
        return out


_T = TypeVar("_T")


def per_registry(fn: Callable[[Registry], _T]) -> Callable[[Registry], _T]:
    """``fn`` computed once per registry object (registries are frozen), kept while the
    registry lives."""
    cache: dict[int, tuple[weakref.ref[Registry], _T]] = {}

    @functools.wraps(fn)
    def cached(reg: Registry) -> _T:
        hit = cache.get(id(reg))
        if hit is not None and hit[0]() is reg:
            return hit[1]
        value = fn(reg)
        cache[id(reg)] = (weakref.ref(reg), value)
        weakref.finalize(reg, cache.pop, id(reg), None)
        return value

    return cached


def timezones(registry: Registry) -> list[str]:
    """Every time zone of the registry's parks, zones and regions, sorted."""
    found = {p.timezone for p in registry.parks.values()}
    found |= {z.timezone for z in registry.zones.values()}
    found |= {r.timezone for r in registry.regions.values()}
    return sorted(found)


def group_sum(x: FloatArray, groups: npt.NDArray[np.intp], n_groups: int) -> FloatArray:
    """Sum the rows of ``x`` by ``groups`` into ``n_groups`` rows (absent groups are 0)."""
    return Grouping.of(groups, n_groups).sum(x)
