"""The park registry (docs/registry.md): zone → park → enterprise → meter, plus gateways
and the administrative regions that own the parks' statistics.

A TOML file of flat tables keyed by id, each child naming its parent::

    [zone.lanzhou-new-area]   [park.petrochem]   [enterprise.chem-a]
    [gateway.gw-chem-a]       [meter.chem-a-main]   [region.yongdeng-county]

An enclave park (飞地园区) divides its figures between its own region and a partner
region by agreement: ``[park.ID.sharing]``, shares per indicator family
(:data:`FAMILIES`), effective-dated like the factor sets.

:func:`load` validates everything and raises one :class:`~smartpark.core.errors.ConfigError`
listing every problem with its path (``meter.chem-a-main.quantity: unknown quantity
'gass'``). A loaded :class:`Registry` also offers the meters as int32-coded numpy arrays
for the columnar paths of ingest and analytics.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from smartpark.core import quantities
from smartpark.core import standards as standards_mod
from smartpark.core import tariffs as tariffs_mod
from smartpark.core.errors import ConfigError
from smartpark.core.factors import (
    DEFAULT_FACTORS,
    DEFAULT_FACTORS_VERSION,
    DEFAULT_LIMITS,
    FACTOR_SETS,
    FactorSet,
)
from smartpark.core.ids import ID_PATTERN, is_valid_id
from smartpark.core.tariffs import TariffBook
from smartpark.core.tomlcheck import Checker, read_toml

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
SECTIONS: Final = (
    "zone",
    "park",
    "enterprise",
    "gateway",
    "meter",
    "region",
    "product",
    "project",
)
# Indicator families an enclave agreement divides (docs/registry.md, docs/kpis.md).
FAMILIES: Final = ("output_value", "tax", "energy", "co2", "land")
REGION_KINDS: Final = ("county", "district", "city", "province")
SHARE_TOLERANCE: Final = 1e-9
POLLUTANTS: Final = ("so2", "nox", "particulate")
# Where a meter's readings come from: a gateway (MQTT), or a person reading its register
# by hand and importing a sheet (``smartpark import readings``, docs/import.md).
SOURCES: Final = ("gateway", "manual")
MANUAL_INTERVAL_S: Final = 30 * 86_400  # a hand-read meter's default interval: monthly
STACK_GAUGES: Final = ("o2", "flue_gas_flow")  # the gauges that go with a pollutant meter
# The counters a product's energy boundary may hold: those energy_tce counts.
ENERGY_COUNTERS: Final = tuple(
    q.name for q in quantities.QUANTITIES if q.kind == "energy" and q.nature == "counter"
)
# A project's baseline (docs/savings.md): CalTRACK daily as eemeter 4.x checks it
# (DailySufficiencyCriteria: 365 days at most, at least 90 % of them, ceil(0.9 x 365)).
BASELINE_MIN_DAYS: Final = 329
BASELINE_MAX_DAYS: Final = 365
TEMPERATURE: Final = "ambient_temperature"  # the quantity of a project's temperature meter

# boundary: counts in its enterprise's totals; sub: breaks a boundary meter down, never
# counted; feedstock: a boundary meter of energy used as raw material (原料用能), counted
# in energy_tce and left out of energy_target_tce (docs/kpis.md, "Dual-control accounting").
Role = Literal["boundary", "sub", "feedstock"]
ROLES: Final[tuple[Role, ...]] = ("boundary", "sub", "feedstock")
# The supplies whose new capacity dual control leaves out of the energy total.
RENEWABLE_SUPPLIES: Final = ("pv_generation", "wind_generation", "green_electricity_import")
# The energy a feedstock meter may measure: fuels and bought heat.
FEEDSTOCK_QUANTITIES: Final = ("natural_gas", "coal", "diesel", "steam", "heat")
Source = Literal["gateway", "manual"]
RegionKind = Literal["county", "district", "city", "province"]
Scale = Literal["above", "below"]
Lang = Literal["en", "zh"]
LANGS: Final[tuple[Lang, ...]] = ("en", "zh")


@dataclass(frozen=True, slots=True)
class Zone:
    id: str
    name: str
    timezone: str = DEFAULT_TIMEZONE
    facts: str | None = None  # annual facts file, relative to the registry
    tariffs: str | None = None  # tariffs file, relative to the registry (core/tariffs.py)
    dual_control: str = ""  # dual-control targets file, relative to the registry
    lang: Lang = "en"  # the language of its reports (docs/report.md)
    name_zh: str = ""  # its Chinese name, shown beside ``name`` in reports


@dataclass(frozen=True, slots=True)
class Region:
    """An administrative region (county, district, city) owning parks' statistics."""

    id: str
    name: str
    kind: RegionKind = "county"
    parent: str | None = None
    timezone: str = DEFAULT_TIMEZONE


@dataclass(frozen=True, slots=True)
class Sharing:
    """One period of an enclave agreement: the partner region's share per family (the
    park's own region keeps the rest; a family not named stays whole with it)."""

    partner: str
    shares: Mapping[str, float]  # family -> partner's share in [0, 1]
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None  # exclusive; None: until the next period or forever

    def partner_share(self, family: str) -> float:
        return self.shares.get(family, 0.0)


@dataclass(frozen=True, slots=True)
class Park:
    id: str
    zone: str
    name: str
    timezone: str
    name_zh: str = ""  # its Chinese name, shown beside ``name`` in reports
    enclave: bool = False  # an enclave park hosted by its zone
    land_km2: float | None = None
    clean_includes_natural_gas: bool = False
    factors: Mapping[str, float] = field(default_factory=dict)  # of the latest set
    factors_version: str = DEFAULT_FACTORS_VERSION  # of the latest set
    limits: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    targets: Mapping[str, float] = field(default_factory=dict)
    # In date order, adjoining: the first open to the past, the last to the future.
    factor_sets: tuple[FactorSet, ...] = ()
    region: str | None = None  # the region owning its statistics and tax
    sharing: tuple[Sharing, ...] = ()  # an enclave's agreement periods, in date order

    def factor(self, name: str) -> float:
        """A KPI coefficient of the latest set: the park's override, else the default."""
        return self.factors.get(name, DEFAULT_FACTORS[name].value)

    @property
    def sets(self) -> tuple[FactorSet, ...]:
        """The park's factor sets (one valid forever when built without any)."""
        return self.factor_sets or (FactorSet(self.factors_version, self.factors),)


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: str
    park: str
    name: str
    name_zh: str = ""  # its Chinese name, shown beside ``name`` in reports
    land_m2: float | None = None
    scale: Scale | None = None
    utility: bool = False
    production_start: dt.date | None = None
    land_grant: dt.date | None = None
    construction_due: dt.date | None = None
    construction_started: dt.date | None = None
    works_stopped_since: dt.date | None = None
    built_ratio: float | None = None
    invested_ratio: float | None = None
    # Green electricity certificates / contracts, MWh per local month "YYYY-MM".
    green_certificates: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Gateway:
    id: str
    park: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Meter:
    id: str
    enterprise: str
    gateway: str  # "" for a meter read by hand (source "manual"): no gateway reads it
    quantity: str
    role: Role = "boundary"
    interval_s: int = 60
    multiplier: float = 1.0
    register_max: float | None = None  # counter rollover point
    parent: str | None = None  # the meter a sub-meter breaks down
    stack: str | None = None  # emission point grouping CEMS gauges
    o2_ref: float | None = None  # reference O2 % for pollutant correction
    name: str = ""
    source: Source = "gateway"  # "manual": read by hand, imported from a sheet
    # a renewable supply commissioned or contracted from the cut-off on (docs/kpis.md)
    new_renewable: bool = False

    @property
    def in_boundary(self) -> bool:
        """Counted in its enterprise's totals (a boundary or feedstock meter)."""
        return self.role != "sub"

    @property
    def manual(self) -> bool:
        """Read by hand (no gateway): its readings come from ``smartpark import readings``."""
        return self.source == "manual"


@dataclass(frozen=True, slots=True)
class Product:
    """A product an enterprise makes, graded against a unit-product energy standard
    (``[product.ID]``, docs/registry.md): its output is metered (``output_meter``, a
    ``product_output`` counter) or imported (``smartpark import output``)."""

    id: str
    enterprise: str
    name: str
    unit: str  # of its output: the standard's (t)
    standard: str  # "GB 16780-2021": a standard of core/unit_energy_limits.csv
    category: str  # "clinker": the product as the standard grades it
    meters: tuple[str, ...]  # its energy boundary
    name_zh: str = ""
    output_meter: str | None = None
    inputs: Mapping[str, float] = field(default_factory=dict)  # of the standard's correction

    @property
    def limit(self) -> standards_mod.Limit:
        """The levels it is graded against."""
        return standards_mod.table().get(self.standard, self.category)


@dataclass(frozen=True, slots=True)
class Project:
    """An energy-saving project (``[project.ID]``, docs/savings.md): its meters' use is
    modelled on the baseline period and compared with what they measure from go-live."""

    id: str
    enterprise: str
    name: str
    meters: tuple[str, ...]  # energy counters of its enterprise, all of one quantity
    baseline_start: dt.date  # local dates of its park
    baseline_end: dt.date  # exclusive
    go_live: dt.date  # on or after baseline_end
    name_zh: str = ""
    temperature_meter: str | None = None  # an ambient_temperature gauge
    temperature_file: str | None = None  # CSV date,temperature_c, relative to the registry


@dataclass(frozen=True)
class Registry:
    """A validated registry. Build it with :func:`load` or :func:`from_dict`."""

    zones: Mapping[str, Zone]
    parks: Mapping[str, Park]
    enterprises: Mapping[str, Enterprise]
    gateways: Mapping[str, Gateway]
    meters: Mapping[str, Meter]
    source: str = "<registry>"
    tariffs: TariffBook = field(default_factory=TariffBook)
    regions: Mapping[str, Region] = field(default_factory=dict)
    products: Mapping[str, Product] = field(default_factory=dict)
    projects: Mapping[str, Project] = field(default_factory=dict)

    # Columnar view: meters sorted by id, parents coded by position in their sorted ids.
    @cached_property
    def meter_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.meters))

    @cached_property
    def meter_code(self) -> dict[str, int]:
        return {m: i for i, m in enumerate(self.meter_ids)}

    @cached_property
    def enterprise_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.enterprises))

    @cached_property
    def park_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.parks))

    @cached_property
    def zone_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.zones))

    @cached_property
    def region_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.regions))

    def region_chain(self, region: str) -> tuple[str, ...]:
        """``region`` and its ancestors, nearest first."""
        out = [region]
        while (parent := self.regions[out[-1]].parent) is not None:
            out.append(parent)
        return tuple(out)

    def regions_of_park(self, park: str) -> list[str]:
        """The regions whose figures count ``park`` (its own and any partner's, with their
        parents), sorted."""
        p = self.parks[park]
        sides = [p.region, *(s.partner for s in p.sharing)]
        return sorted({r for side in sides if side for r in self.region_chain(side)})

    @cached_property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.products))

    def park_of_product(self, product: str) -> str:
        return self.enterprises[self.products[product].enterprise].park

    @cached_property
    def gateway_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.gateways))

    def _meter_column(self, get: Callable[[Meter], Any], dtype: Any) -> npt.NDArray[Any]:
        return np.array([get(self.meters[m]) for m in self.meter_ids], dtype=dtype)

    @cached_property
    def meter_enterprise(self) -> npt.NDArray[np.int32]:
        code = {e: i for i, e in enumerate(self.enterprise_ids)}
        return self._meter_column(lambda m: code[m.enterprise], np.int32)

    @cached_property
    def meter_park(self) -> npt.NDArray[np.int32]:
        code = {p: i for i, p in enumerate(self.park_ids)}
        return self._meter_column(lambda m: code[self.enterprises[m.enterprise].park], np.int32)

    @cached_property
    def meter_gateway(self) -> npt.NDArray[np.int32]:
        """Per meter code: its gateway's code, -1 for a meter read by hand (no gateway)."""
        code = {g: i for i, g in enumerate(self.gateway_ids)}
        return self._meter_column(lambda m: code.get(m.gateway, -1), np.int32)

    @cached_property
    def meter_quantity(self) -> npt.NDArray[np.int32]:
        return self._meter_column(lambda m: quantities.BY_NAME[m.quantity].code, np.int32)

    @cached_property
    def meter_boundary(self) -> npt.NDArray[np.bool_]:
        return self._meter_column(lambda m: m.in_boundary, np.bool_)

    @cached_property
    def meter_interval_s(self) -> npt.NDArray[np.int64]:
        return self._meter_column(lambda m: m.interval_s, np.int64)

    @cached_property
    def meter_multiplier(self) -> npt.NDArray[np.float64]:
        return self._meter_column(lambda m: m.multiplier, np.float64)

    def stack_partner(self, quantity: str) -> npt.NDArray[np.int64]:
        """Per meter code: the code of the ``quantity`` gauge (``o2`` or ``flue_gas_flow``)
        on the same emission point (enterprise and ``stack``) for pollutant meters, else -1.
        """
        return self._stack_partners[quantity]

    @cached_property
    def _stack_partners(self) -> dict[str, npt.NDArray[np.int64]]:
        gauges: dict[tuple[str, str, str], int] = {}
        for code, m in enumerate(self.meters[i] for i in self.meter_ids):
            if m.stack is not None and m.quantity in STACK_GAUGES:
                gauges.setdefault((m.enterprise, m.stack, m.quantity), code)
        out = {}
        for quantity in STACK_GAUGES:
            partner = np.full(len(self.meter_ids), -1, np.int64)
            for code, m in enumerate(self.meters[i] for i in self.meter_ids):
                if m.stack is not None and m.quantity in POLLUTANTS:
                    partner[code] = gauges.get((m.enterprise, m.stack, quantity), -1)
            out[quantity] = partner
        return out

    def park_of_meter(self, meter: str) -> str:
        return self.enterprises[self.meters[meter].enterprise].park

    def meters_of_gateway(self, gateway: str) -> list[Meter]:
        return [m for m in self.meters.values() if m.gateway == gateway and not m.manual]

    def kind_of_meter(self, meter: str) -> str:
        return quantities.BY_NAME[self.meters[meter].quantity].kind


# ---------------------------------------------------------------------------------------
# Loading and validation


def load(path: str | Path) -> Registry:
    """Load and validate a registry file (and its zones' tariffs files); ``ConfigError``
    lists every problem."""
    reg = from_dict(read_toml(path, "registry"), source=str(path))
    for ident in reg.zone_ids:
        name = reg.zones[ident].tariffs
        if name:
            file = Path(path).parent / name
            reg = attach_tariffs(reg, read_toml(file, "tariffs"), str(file))
    return reg


def attach_tariffs(reg: Registry, data: Mapping[str, Any], source: str = "<tariffs>") -> Registry:
    """``reg`` with the tariffs of a parsed tariffs document added (docs/registry.md)."""
    owners = {e: ent.park for e, ent in reg.enterprises.items()}
    book = tariffs_mod.from_dict(data, reg.parks, owners, source)
    return dataclasses.replace(reg, tariffs=reg.tariffs.merged(book))


def from_dict(data: Mapping[str, Any], source: str = "<registry>") -> Registry:
    """Validate a parsed registry document."""
    v = _Validator()
    for key in data:
        if key not in SECTIONS:
            v.error(key, f"unknown section {key!r} (expected one of {', '.join(SECTIONS)})")
    tables = {s: v.tables(data, s) for s in SECTIONS}

    zones = {i: v.zone(i, t) for i, t in tables["zone"].items()}
    regions = {i: v.region(i, t) for i, t in tables["region"].items()}
    v.cross_check_regions(regions)
    parks = {i: v.park(i, t, zones, regions) for i, t in tables["park"].items()}
    enterprises = {i: v.enterprise(i, t, parks) for i, t in tables["enterprise"].items()}
    gateways = {i: v.gateway(i, t, parks) for i, t in tables["gateway"].items()}
    meters = {i: v.meter(i, t, enterprises, gateways) for i, t in tables["meter"].items()}
    v.cross_check_meters(meters, enterprises, gateways)
    products = {i: v.product(i, t, enterprises, meters) for i, t in tables["product"].items()}
    v.cross_check_products(products, meters)
    projects = {i: v.project(i, t, enterprises, meters) for i, t in tables["project"].items()}
    if not zones and "zone" not in v.failed_sections:
        v.error("zone", "registry defines no zone")
    if v.problems:
        raise ConfigError(source, v.problems)
    return Registry(
        zones=zones,
        parks=parks,
        enterprises=enterprises,
        gateways=gateways,
        meters={k: m for k, m in meters.items() if m is not None},
        source=source,
        regions=regions,
        products={k: p for k, p in products.items() if p is not None},
        projects={k: p for k, p in projects.items() if p is not None},
    )


_MISSING: Final = object()
# The bounds of a product's correction inputs (core/standards.py).
_INPUT_BOUNDS: Final = {
    "altitude_m": (0.0, 9000.0),
    "pressure_pa": (30_000.0, 110_000.0),
    "clinker_pct": (0.0, 100.0),
}
_MONTH: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_PROJECT_DATES: Final = ("baseline_start", "baseline_end", "go_live")


def _ended(s: FactorSet, valid_to: dt.date | None) -> FactorSet:
    return s if s.valid_to is not None else FactorSet(s.version, s.values, s.valid_from, valid_to)


class _Validator(Checker):
    """The registry's field readers and sections on top of :class:`Checker`."""

    # -- field readers ---------------------------------------------------------------

    def string(self, path: str, table: Mapping[str, Any], key: str, default: Any = _MISSING) -> Any:
        value = table.get(key, default)
        if value is _MISSING:
            self.error(f"{path}.{key}", "missing required key")
            return None
        if value is not None and not isinstance(value, str):
            self.error(f"{path}.{key}", f"must be a string, got {value!r}")
            return None if default is _MISSING else default
        return value

    def ref(
        self,
        path: str,
        table: Mapping[str, Any],
        key: str,
        targets: Mapping[str, Any],
        kind: str,
        required: bool = True,
    ) -> Any:
        value = self.string(path, table, key, _MISSING if required else None)
        if value is None:
            return None
        if value not in targets:
            self.error(f"{path}.{key}", f"unknown {kind} {value!r}")
            return None
        return value

    def boolean(self, path: str, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.error(f"{path}.{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def date(self, path: str, table: Mapping[str, Any], key: str) -> dt.date | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            self.error(f"{path}.{key}", f"must be a date (YYYY-MM-DD), got {value!r}")
            return None
        return value

    def choice(
        self, path: str, table: Mapping[str, Any], key: str, options: tuple[str, ...], default: Any
    ) -> Any:
        value = table.get(key, default)
        if value is not default and value not in options:
            self.error(f"{path}.{key}", f"must be one of {', '.join(options)}, got {value!r}")
            return default
        return value

    def timezone(self, path: str, table: Mapping[str, Any], default: str | None) -> Any:
        value = self.string(path, table, "timezone", default)
        if value is None:
            return default
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(f"{path}.timezone", f"unknown time zone {value!r}")
            return default or DEFAULT_TIMEZONE
        return value

    def number_table(
        self, path: str, table: Mapping[str, Any], key: str, allowed: tuple[str, ...] | None
    ) -> dict[str, float]:
        raw = table.get(key, {})
        if not isinstance(raw, dict):
            self.error(f"{path}.{key}", "must be a table")
            return {}
        out: dict[str, float] = {}
        for name in raw:
            if allowed is not None and name not in allowed:
                self.error(
                    f"{path}.{key}.{name}",
                    f"unknown key {name!r} (expected one of {', '.join(allowed)})",
                )
                continue
            value = self.number(f"{path}.{key}", raw, name, positive=True)
            if value is not None:
                out[name] = float(value)
        return out

    # -- factor sets (docs/registry.md) ----------------------------------------------

    def factor_table(self, path: str, raw: Mapping[str, Any], ident: str) -> FactorSet:
        """``[park.ID.factors]``: one set valid forever (the original shape)."""
        version = raw.get("factors_version", DEFAULT_FACTORS_VERSION)
        if not isinstance(version, str):
            self.error(f"{path}.factors.factors_version", f"must be a string, got {version!r}")
            version = DEFAULT_FACTORS_VERSION
        coefficients = {k: v for k, v in raw.items() if k != "factors_version"}
        factors = self.number_table(
            path, {"factors": coefficients}, "factors", tuple(DEFAULT_FACTORS)
        )
        if factors and version == DEFAULT_FACTORS_VERSION:
            version = f"{DEFAULT_FACTORS_VERSION}+{ident}"
        return FactorSet(version, factors)

    def factor_entry(self, path: str, raw: Any, ident: str) -> FactorSet | None:
        """One ``[[park.ID.factors]]`` entry: a named set valid for a range of dates."""
        if not isinstance(raw, dict):
            self.error(path, "must be a table")
            return None
        meta = ("factors_version", "set", "valid_from", "valid_to")
        base_name = self.string(path, raw, "set", None)
        base: dict[str, float] = {}
        if base_name is not None and base_name not in FACTOR_SETS:
            self.error(
                f"{path}.set",
                f"unknown factor set {base_name!r} (known: {', '.join(FACTOR_SETS)})",
            )
        elif base_name is not None:
            base = dict(FACTOR_SETS[base_name])
        version = self.string(path, raw, "factors_version", None)
        coefficients = {k: v for k, v in raw.items() if k not in meta}
        for name in coefficients:
            if name not in DEFAULT_FACTORS:
                self.error(
                    f"{path}.{name}",
                    f"unknown factor {name!r} (expected one of {', '.join(DEFAULT_FACTORS)}, "
                    f"or {', '.join(meta)})",
                )
        known = {k: v for k, v in coefficients.items() if k in DEFAULT_FACTORS}
        head, _, last = path.rpartition(".")
        values = base | self.number_table(head, {last: known}, last, None)
        if version is None and base_name is not None:
            version = base_name if not known else f"{base_name}+{ident}"
        elif version is None:
            self.error(f"{path}.factors_version", "missing required key: name the set")
        valid_from = self.date(path, raw, "valid_from")
        valid_to = self.date(path, raw, "valid_to")
        if valid_from and valid_to and valid_to <= valid_from:
            self.error(f"{path}.valid_to", f"must be after valid_from {valid_from}")
        return FactorSet(version or "", values, valid_from, valid_to)

    def dated(
        self,
        path: str,
        spans: list[tuple[int, dt.date | None, dt.date | None]],
        noun: str,
        *,
        adjoining: bool,
    ) -> list[int]:
        """Effective dating, shared by factor sets and sharing periods: the indices of
        ``spans`` (index, valid_from, valid_to) in date order (a missing valid_from
        first); an error where one overlaps the one before (a missing ``valid_to`` ends
        where the next begins) and, if ``adjoining``, where a gap separates them."""
        ordered = sorted(spans, key=lambda e: (e[1] is not None, e[1] or dt.date.min))
        for (j, _, prev_to), (i, start, _) in pairwise(ordered):
            where = f"{path}[{i}].valid_from"
            end = prev_to if prev_to is not None else start
            if start is None or (end is not None and start < end):
                self.error(
                    where,
                    f"overlaps {path}[{j}] (valid to {end or 'forever'}); make one {noun} "
                    "end where the next begins",
                )
            elif adjoining and end is not None and start > end:
                self.error(
                    where,
                    f"gap: {path}[{j}] ends {end} but this {noun} begins {start}; "
                    f"make one {noun} end where the next begins",
                )
        return [i for i, _, _ in ordered]

    def factor_sets(self, path: str, raw: list[Any], ident: str) -> tuple[FactorSet, ...]:
        """``[[park.ID.factors]]``: the sets in date order, adjoining (no gap, no overlap);
        a missing ``valid_to`` ends where the next set begins."""
        entries = [(i, self.factor_entry(f"{path}[{i}]", e, ident)) for i, e in enumerate(raw)]
        if not raw:
            self.error(path, "must name at least one factor set")
        if all(s is None for _, s in entries):
            return (FactorSet(DEFAULT_FACTORS_VERSION),)
        by_index = {i: s for i, s in entries if s is not None}
        spans = [(i, s.valid_from, s.valid_to) for i, s in by_index.items()]
        ordered = [(i, by_index[i]) for i in self.dated(path, spans, "set", adjoining=True)]
        versions: dict[str, int] = {}
        out: list[FactorSet] = []
        for k, (i, s) in enumerate(ordered):
            where = f"{path}[{i}]"
            if s.version and s.version in versions:
                self.error(
                    f"{where}.factors_version",
                    f"{s.version!r} already names {path}[{versions[s.version]}]; "
                    "give each set its own version",
                )
            versions.setdefault(s.version, i)
            if k == 0 and s.valid_from is not None:
                self.error(
                    f"{where}.valid_from",
                    f"no factor set is valid before {s.valid_from}; remove valid_from "
                    "from the earliest set",
                )
            if k > 0:
                out[-1] = _ended(out[-1], s.valid_from)
            out.append(s)
        if out[-1].valid_to is not None:
            last = ordered[-1][0]
            self.error(
                f"{path}[{last}].valid_to",
                f"no factor set is valid from {out[-1].valid_to}; remove valid_to from "
                "the latest set",
            )
        return tuple(out)

    def certificates(self, path: str, table: Mapping[str, Any]) -> dict[str, float]:
        """``[enterprise.ID.green_certificates]``: MWh per local month ``"YYYY-MM"``."""
        raw = table.get("green_certificates", {})
        if not isinstance(raw, dict):
            self.error(f"{path}.green_certificates", "must be a table")
            return {}
        out: dict[str, float] = {}
        for month in raw:
            where = f"{path}.green_certificates"
            if not _MONTH.fullmatch(month):
                self.error(f"{where}.{month}", f"must be a month YYYY-MM, got {month!r}")
                continue
            value = self.number(where, raw, month, minimum=0.0)
            if value is not None:
                out[month] = float(value)
        return out

    # -- enclave sharing (docs/registry.md) --------------------------------------------

    def share_period(
        self, path: str, raw: Any, owner: str | None, partner: str | None
    ) -> Sharing | None:
        """One sharing period: ``FAMILY = { REGION = share, ... }`` over the park's own
        region and the partner, each family summing to 1."""
        if not isinstance(raw, dict):
            self.error(path, "must be a table")
            return None
        self.keys(path, raw, {"valid_from", "valid_to", *FAMILIES})
        valid_from = self.date(path, raw, "valid_from")
        valid_to = self.date(path, raw, "valid_to")
        if valid_from and valid_to and valid_to <= valid_from:
            self.error(f"{path}.valid_to", f"must be after valid_from {valid_from}")
        sides = tuple(r for r in (owner, partner) if r is not None)
        shares: dict[str, float] = {}
        for family in FAMILIES:
            table = raw.get(family)
            if table is None:
                continue
            where = f"{path}.{family}"
            if not isinstance(table, dict):
                self.error(where, f"must be a table {{ REGION = share }} over {', '.join(sides)}")
                continue
            values: dict[str, float] = {}
            for region in table:
                if region not in sides:
                    self.error(
                        f"{where}.{region}",
                        f"not a side of this agreement; name {' or '.join(sides)}",
                    )
                    continue
                value = self.number(where, table, region, minimum=0.0, maximum=1.0)
                if value is not None:
                    values[region] = float(value)
            total = sum(values.values())
            if len(values) == len(table) and abs(total - 1.0) > SHARE_TOLERANCE:
                self.error(where, f"shares must sum to 1, got {total:g}; correct them")
            if partner is not None:
                shares[family] = values.get(partner, 0.0)
        return Sharing(partner or "", shares, valid_from, valid_to)

    def sharing(
        self, path: str, raw: Any, owner: str | None, regions: Mapping[str, Region]
    ) -> tuple[Sharing, ...]:
        """``[park.ID.sharing]``: ``partner`` and one period inline, or ``[[...periods]]``
        effective-dated (no overlap; a gap shares nothing)."""
        if not isinstance(raw, dict):
            self.error(path, "must be a table")
            return ()
        if owner is None and regions:
            return ()  # the park's missing region is reported already
        if not regions:
            self.error(path, "an enclave shares between regions: define [region.ID] tables")
            return ()
        partner = self.ref(path, raw, "partner", regions, "region")
        if partner is not None and partner == owner:
            self.error(
                f"{path}.partner", f"is the park's own region {owner!r}; name the other side"
            )
        periods = raw.get("periods")
        if periods is None:
            self.keys(path, raw, {"partner", "valid_from", "valid_to", *FAMILIES})
            one = self.share_period(
                path, {k: v for k, v in raw.items() if k != "partner"}, owner, partner
            )
            return (one,) if one is not None else ()
        self.keys(path, raw, {"partner", "periods"})
        if not isinstance(periods, list) or not periods:
            self.error(f"{path}.periods", "must be a non-empty array of tables ([[...periods]])")
            return ()
        where = f"{path}.periods"
        read = {
            i: self.share_period(f"{where}[{i}]", e, owner, partner) for i, e in enumerate(periods)
        }
        got = {i: s for i, s in read.items() if s is not None}
        spans = [(i, s.valid_from, s.valid_to) for i, s in got.items()]
        order = self.dated(where, spans, "period", adjoining=False)
        out = [got[i] for i in order]
        return tuple(
            s
            if s.valid_to is not None or k + 1 == len(out)
            else dataclasses.replace(s, valid_to=out[k + 1].valid_from)
            for k, s in enumerate(out)
        )

    # -- sections ----------------------------------------------------------------------

    def region(self, ident: str, t: dict[str, Any]) -> Region:
        path = f"region.{ident}"
        self.keys(path, t, {"name", "kind", "parent", "timezone"})
        return Region(
            id=ident,
            name=self.string(path, t, "name") or ident,
            kind=self.choice(path, t, "kind", REGION_KINDS, "county"),
            parent=self.string(path, t, "parent", None),
            timezone=self.timezone(path, t, DEFAULT_TIMEZONE),
        )

    def cross_check_regions(self, regions: Mapping[str, Region]) -> None:
        """Every parent is a region and no chain of parents comes back to its start."""
        for ident, r in regions.items():
            if r.parent is not None and r.parent not in regions:
                self.error(f"region.{ident}.parent", f"unknown region {r.parent!r}")
        reported: set[str] = set()
        for ident in sorted(regions):
            chain = [ident]
            parent = regions[ident].parent
            while parent is not None and parent in regions and parent not in chain:
                chain.append(parent)
                parent = regions[parent].parent
            if parent == ident and ident not in reported:
                reported.update(chain)
                self.error(
                    f"region.{ident}.parent",
                    f"cycle {' -> '.join([*chain, ident])}; a region's parent must be above it",
                )

    def zone(self, ident: str, t: dict[str, Any]) -> Zone:
        path = f"zone.{ident}"
        self.keys(
            path, t, {"name", "name_zh", "lang", "timezone", "facts", "tariffs", "dual_control"}
        )
        return Zone(
            id=ident,
            name=self.string(path, t, "name") or ident,
            name_zh=self.string(path, t, "name_zh", ""),
            lang=self.choice(path, t, "lang", LANGS, "en"),
            timezone=self.timezone(path, t, DEFAULT_TIMEZONE),
            facts=self.string(path, t, "facts", None),
            tariffs=self.string(path, t, "tariffs", None),
            dual_control=self.string(path, t, "dual_control", ""),
        )

    def park(
        self,
        ident: str,
        t: dict[str, Any],
        zones: Mapping[str, Zone],
        regions: Mapping[str, Region],
    ) -> Park:
        path = f"park.{ident}"
        self.keys(
            path,
            t,
            {
                "zone",
                "name",
                "name_zh",
                "timezone",
                "enclave",
                "land_km2",
                "clean_includes_natural_gas",
                "factors",
                "limits",
                "targets",
                "region",
                "sharing",
            },
        )
        zone = self.ref(path, t, "zone", zones, "zone")
        if regions and "region" not in t:
            self.error(
                f"{path}.region",
                "missing required key: regions are defined, so name the region that owns "
                f"this park's statistics (one of {', '.join(sorted(regions))})",
            )
        region = self.ref(path, t, "region", regions, "region", required=False)
        enclave = self.boolean(path, t, "enclave", False)
        sharing: tuple[Sharing, ...] = ()
        if "sharing" in t:
            sharing = self.sharing(f"{path}.sharing", t["sharing"], region, regions)
            if not enclave:
                self.error(f"{path}.sharing", "only an enclave park shares; set enclave = true")
        raw_factors = t.get("factors", {})
        if isinstance(raw_factors, list):
            sets = self.factor_sets(f"{path}.factors", raw_factors, ident)
        elif isinstance(raw_factors, dict):
            sets = (self.factor_table(path, raw_factors, ident),)
        else:
            self.error(f"{path}.factors", "must be a table or an array of tables ([[...]])")
            sets = (FactorSet(DEFAULT_FACTORS_VERSION),)
        limits = dict(DEFAULT_LIMITS)
        limits.update(self.number_table(path, t, "limits", POLLUTANTS))
        return Park(
            id=ident,
            zone=zone or "",
            name=self.string(path, t, "name") or ident,
            name_zh=self.string(path, t, "name_zh", ""),
            timezone=self.timezone(path, t, zones[zone].timezone if zone else DEFAULT_TIMEZONE),
            enclave=enclave,
            region=region,
            sharing=sharing,
            land_km2=self.number(path, t, "land_km2", positive=True),
            clean_includes_natural_gas=self.boolean(path, t, "clean_includes_natural_gas", False),
            factors=sets[-1].values,
            factors_version=sets[-1].version,
            factor_sets=sets,
            limits=limits,
            targets=self.number_table(path, t, "targets", None),
        )

    def enterprise(self, ident: str, t: dict[str, Any], parks: Mapping[str, Park]) -> Enterprise:
        path = f"enterprise.{ident}"
        dates = (
            "production_start",
            "land_grant",
            "construction_due",
            "construction_started",
            "works_stopped_since",
        )
        self.keys(
            path,
            t,
            {
                "park",
                "name",
                "name_zh",
                "land_m2",
                "scale",
                "utility",
                "built_ratio",
                "invested_ratio",
                "green_certificates",
                *dates,
            },
        )
        return Enterprise(
            id=ident,
            park=self.ref(path, t, "park", parks, "park") or "",
            name=self.string(path, t, "name") or ident,
            name_zh=self.string(path, t, "name_zh", ""),
            land_m2=self.number(path, t, "land_m2", minimum=0.0),
            scale=self.choice(path, t, "scale", ("above", "below"), None),
            utility=self.boolean(path, t, "utility", False),
            built_ratio=self.number(path, t, "built_ratio", minimum=0.0, maximum=1.0),
            invested_ratio=self.number(path, t, "invested_ratio", minimum=0.0, maximum=1.0),
            production_start=self.date(path, t, "production_start"),
            land_grant=self.date(path, t, "land_grant"),
            construction_due=self.date(path, t, "construction_due"),
            construction_started=self.date(path, t, "construction_started"),
            works_stopped_since=self.date(path, t, "works_stopped_since"),
            green_certificates=self.certificates(path, t),
        )

    def gateway(self, ident: str, t: dict[str, Any], parks: Mapping[str, Park]) -> Gateway:
        path = f"gateway.{ident}"
        self.keys(path, t, {"park", "name"})
        return Gateway(
            id=ident,
            park=self.ref(path, t, "park", parks, "park") or "",
            name=self.string(path, t, "name", ""),
        )

    def meter(
        self,
        ident: str,
        t: dict[str, Any],
        enterprises: Mapping[str, Enterprise],
        gateways: Mapping[str, Gateway],
    ) -> Meter | None:
        path = f"meter.{ident}"
        self.keys(
            path,
            t,
            {
                "enterprise",
                "gateway",
                "quantity",
                "role",
                "interval_s",
                "multiplier",
                "register_max",
                "parent",
                "stack",
                "o2_ref",
                "name",
                "source",
                "new_renewable",
            },
        )
        before = len(self.problems)
        enterprise = self.ref(path, t, "enterprise", enterprises, "enterprise")
        source = self.choice(path, t, "source", SOURCES, "gateway")
        if source == "manual":
            gateway = None
            if "gateway" in t:
                self.error(
                    f"{path}.gateway",
                    'a meter read by hand (source = "manual") has no gateway; remove the '
                    "gateway, or the source if a gateway reads it",
                )
        elif "gateway" not in t:
            gateway = None
            self.error(
                f"{path}.gateway",
                'missing required key (a meter read by hand has none: set source = "manual")',
            )
        else:
            gateway = self.ref(path, t, "gateway", gateways, "gateway")
        quantity = self.string(path, t, "quantity")
        if quantity is not None and quantity not in quantities.BY_NAME:
            self.error(f"{path}.quantity", f"unknown quantity {quantity!r}")
        elif (
            quantity is not None
            and source == "manual"
            and quantities.BY_NAME[quantity].nature != "counter"
        ):
            self.error(
                f"{path}.quantity",
                f"a meter read by hand reads a register: {quantity} is a gauge; "
                "read by hand only counters (energy, water, waste, output value)",
            )
        default_interval = MANUAL_INTERVAL_S if source == "manual" else 60
        stack = self.string(path, t, "stack", None)
        if stack is not None and not is_valid_id(stack):
            self.error(f"{path}.stack", f"invalid id {stack!r}: must match {ID_PATTERN}")
        meter = Meter(
            id=ident,
            enterprise=enterprise or "",
            gateway=gateway or "",
            quantity=quantity or "",
            role=self.choice(path, t, "role", ROLES, "boundary"),
            interval_s=self.number(
                path, t, "interval_s", default_interval, integer=True, positive=True
            ),
            multiplier=float(self.number(path, t, "multiplier", 1.0, positive=True)),
            register_max=self.number(path, t, "register_max", positive=True),
            parent=self.string(path, t, "parent", None),
            stack=stack,
            o2_ref=self.number(path, t, "o2_ref", minimum=0.0, maximum=20.9),
            name=self.string(path, t, "name", ""),
            source=source,
            new_renewable=self.boolean(path, t, "new_renewable", False),
        )
        return meter if len(self.problems) == before else None

    def cross_check_meters(
        self,
        meters: Mapping[str, Meter | None],
        enterprises: Mapping[str, Enterprise],
        gateways: Mapping[str, Gateway],
    ) -> None:
        for ident, m in meters.items():
            if m is None:
                continue
            path = f"meter.{ident}"
            e_park = enterprises[m.enterprise].park
            g_park = gateways[m.gateway].park if not m.manual else ""
            if e_park and g_park and e_park != g_park:
                self.error(
                    f"{path}.gateway",
                    f"gateway {m.gateway!r} is in park {g_park!r} but "
                    f"enterprise {m.enterprise!r} is in park {e_park!r}",
                )
            q = quantities.BY_NAME[m.quantity]
            if m.register_max is not None and q.nature != "counter":
                self.error(f"{path}.register_max", f"only counters roll over; {q.name} is a gauge")
            if m.new_renewable and m.quantity not in RENEWABLE_SUPPLIES:
                self.error(
                    f"{path}.new_renewable",
                    f"only renewable supplies ({', '.join(RENEWABLE_SUPPLIES)}) are new "
                    f"renewable energy; {m.quantity} is not",
                )
            if m.role == "feedstock" and m.quantity not in FEEDSTOCK_QUANTITIES:
                self.error(
                    f"{path}.role",
                    f"a feedstock meter measures energy used as raw material "
                    f"({', '.join(FEEDSTOCK_QUANTITIES)}); {m.quantity} is not",
                )
            if m.o2_ref is not None and m.quantity not in POLLUTANTS:
                self.error(
                    f"{path}.o2_ref",
                    f"only pollutant meters ({', '.join(POLLUTANTS)}) take an O2 reference",
                )
            if m.parent is None:
                continue
            parent = meters.get(m.parent)
            if m.parent not in meters:
                self.error(f"{path}.parent", f"unknown meter {m.parent!r}")
            elif m.role != "sub":
                self.error(
                    f"{path}.role",
                    f"meter has parent {m.parent!r} and would be counted "
                    'twice as boundary; set role = "sub"',
                )
            elif parent is not None and (
                parent.enterprise != m.enterprise or parent.quantity != m.quantity
            ):
                self.error(
                    f"{path}.parent",
                    f"parent {m.parent!r} must measure {m.quantity} of enterprise {m.enterprise!r}",
                )

    def product(
        self,
        ident: str,
        t: dict[str, Any],
        enterprises: Mapping[str, Enterprise],
        meters: Mapping[str, Meter | None],
    ) -> Product | None:
        path = f"product.{ident}"
        self.keys(
            path,
            t,
            {"enterprise", "name", "name_zh", "unit", "standard", "category", "meters"}
            | {"output_meter", "inputs"},
        )
        before = len(self.problems)
        enterprise = self.ref(path, t, "enterprise", enterprises, "enterprise") or ""
        table = standards_mod.table()
        standard = self.string(path, t, "standard")
        category = self.string(path, t, "category")
        limit = None
        if standard is not None and standard not in table.names:
            self.error(
                f"{path}.standard",
                f"unknown standard {standard!r} (smartpark grades against "
                f"{', '.join(table.names)}: docs/kpis.md)",
            )
        elif standard is not None and category is not None:
            if category not in table.categories(standard):
                self.error(
                    f"{path}.category",
                    f"{standard} grades no product {category!r} (it grades "
                    f"{', '.join(table.categories(standard))})",
                )
            else:
                limit = table.get(standard, category)
        unit = self.string(path, t, "unit", limit.output_unit if limit else None)
        if limit is not None and unit is not None and unit != limit.output_unit:
            self.error(
                f"{path}.unit",
                f"{standard} counts {category} in {limit.output_unit!r}, got {unit!r}",
            )
        boundary = self._product_meters(path, t, enterprise, meters)
        output_meter = self.string(path, t, "output_meter", None)
        if output_meter is not None:
            m = meters.get(output_meter)
            if output_meter not in meters:
                self.error(f"{path}.output_meter", f"unknown meter {output_meter!r}")
            elif m is not None and (m.quantity != "product_output" or m.enterprise != enterprise):
                self.error(
                    f"{path}.output_meter",
                    f"meter {output_meter!r} must count product_output of enterprise "
                    f"{enterprise!r}",
                )
        inputs = self._product_inputs(path, t, limit)
        product = Product(
            id=ident,
            enterprise=enterprise,
            name=self.string(path, t, "name", ident) or ident,
            name_zh=self.string(path, t, "name_zh", ""),
            unit=unit or "",
            standard=standard or "",
            category=category or "",
            meters=boundary,
            output_meter=output_meter,
            inputs=inputs,
        )
        return product if len(self.problems) == before else None

    def _product_meters(
        self, path: str, t: Mapping[str, Any], enterprise: str, meters: Mapping[str, Meter | None]
    ) -> tuple[str, ...]:
        """The energy meters of a product's boundary; ``()`` when not given (the
        enterprise's boundary meters, resolved in :meth:`cross_check_products`)."""
        raw = t.get("meters")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
            self.error(f"{path}.meters", f"must be a non-empty list of meter ids, got {raw!r}")
            return ()
        for k, ident in enumerate(raw):
            m = meters.get(ident)
            if ident not in meters:
                self.error(f"{path}.meters[{k}]", f"unknown meter {ident!r}")
            elif m is not None and m.enterprise != enterprise:
                self.error(
                    f"{path}.meters[{k}]",
                    f"meter {ident!r} belongs to enterprise {m.enterprise!r}, not {enterprise!r}",
                )
            elif m is not None and m.quantity not in ENERGY_COUNTERS:
                self.error(
                    f"{path}.meters[{k}]",
                    f"meter {ident!r} measures {m.quantity}: a boundary counts energy "
                    f"({', '.join(ENERGY_COUNTERS)})",
                )
        if len(set(raw)) != len(raw):
            self.error(f"{path}.meters", "lists a meter twice")
        return tuple(raw)

    def _product_inputs(
        self, path: str, t: Mapping[str, Any], limit: standards_mod.Limit | None
    ) -> dict[str, float]:
        raw = t.get("inputs", {})
        if not isinstance(raw, dict):
            self.error(f"{path}.inputs", f"must be a table, got {raw!r}")
            return {}
        correction = standards_mod.CORRECTIONS.get(limit.correction) if limit else None
        wanted = correction.inputs if correction else ()
        out: dict[str, float] = {}
        for key in raw:
            if limit is not None and key not in wanted:
                needs = ", ".join(wanted) or "no input"
                self.error(
                    f"{path}.inputs.{key}",
                    f"unknown key {key!r} ({limit.standard} {limit.category} takes {needs})",
                )
                continue
            low, high = _INPUT_BOUNDS.get(key, (None, None))
            value = self.number(f"{path}.inputs", raw, key, minimum=low, maximum=high)
            if value is not None:
                out[key] = float(value)
        if correction is None or limit is None:
            return out
        for key in correction.required:
            if key not in raw:
                self.error(
                    f"{path}.inputs.{key}",
                    f"missing required key: {limit.standard} corrects {limit.category} "
                    f"for it ({correction.description}; docs/kpis.md)",
                )
        return out

    def cross_check_products(
        self, products: dict[str, Product | None], meters: Mapping[str, Meter | None]
    ) -> None:
        """A product without ``meters`` takes its enterprise's boundary energy meters,
        which only works where the enterprise makes that one product."""
        makers: dict[str, list[str]] = {}
        for p in products.values():
            if p is not None:
                makers.setdefault(p.enterprise, []).append(p.id)
        for ident, p in list(products.items()):
            if p is None or p.meters:
                continue
            if len(makers[p.enterprise]) > 1:
                others = ", ".join(sorted(set(makers[p.enterprise]) - {ident}))
                self.error(
                    f"product.{ident}.meters",
                    f"enterprise {p.enterprise!r} makes other products too ({others}): give "
                    "each product's meters (its energy boundary)",
                )
                products[ident] = None
                continue
            boundary = tuple(
                m.id
                for m in sorted((m for m in meters.values() if m is not None), key=lambda m: m.id)
                if m.enterprise == p.enterprise and m.in_boundary and m.quantity in ENERGY_COUNTERS
            )
            if not boundary:
                self.error(
                    f"product.{ident}.meters",
                    f"enterprise {p.enterprise!r} has no boundary energy meter: give the "
                    "product's meters",
                )
                products[ident] = None
            else:
                products[ident] = dataclasses.replace(p, meters=boundary)

    # -- energy-saving projects (docs/savings.md) ----------------------------------------

    def project(
        self,
        ident: str,
        t: dict[str, Any],
        enterprises: Mapping[str, Enterprise],
        meters: Mapping[str, Meter | None],
    ) -> Project | None:
        path = f"project.{ident}"
        self.keys(
            path,
            t,
            {"enterprise", "name", "name_zh", "meters", "baseline_start", "baseline_end"}
            | {"go_live", "temperature_meter", "temperature_file"},
        )
        before = len(self.problems)
        enterprise = self.ref(path, t, "enterprise", enterprises, "enterprise") or ""
        affected = self._project_meters(path, t, enterprise, meters)
        start, end, go_live = (self._required_date(path, t, k) for k in _PROJECT_DATES)
        if start and end:
            days = (end - start).days
            if days < BASELINE_MIN_DAYS or days > BASELINE_MAX_DAYS:
                self.error(
                    f"{path}.baseline_end",
                    f"the baseline {start} to {end} has {days} days: CalTRACK daily (eemeter) "
                    f"needs {BASELINE_MIN_DAYS} to {BASELINE_MAX_DAYS} days (a year, 90 % of it "
                    "at least); move baseline_start or baseline_end",
                )
        if end and go_live and go_live < end:
            self.error(
                f"{path}.go_live",
                f"{go_live} is before baseline_end {end}: the baseline must end by go-live",
            )
        park = enterprises[enterprise].park if enterprise else ""
        self._project_temperature(path, t, park, enterprises, meters)
        project = Project(
            id=ident,
            enterprise=enterprise,
            name=self.string(path, t, "name", ident) or ident,
            name_zh=self.string(path, t, "name_zh", ""),
            meters=affected,
            baseline_start=start or dt.date.min,
            baseline_end=end or dt.date.min,
            go_live=go_live or dt.date.min,
            temperature_meter=t.get("temperature_meter"),
            temperature_file=t.get("temperature_file"),
        )
        return project if len(self.problems) == before else None

    def _required_date(self, path: str, t: Mapping[str, Any], key: str) -> dt.date | None:
        if key not in t:
            self.error(f"{path}.{key}", "missing required key (a date, YYYY-MM-DD)")
        return self.date(path, t, key)

    def _project_meters(
        self, path: str, t: Mapping[str, Any], enterprise: str, meters: Mapping[str, Meter | None]
    ) -> tuple[str, ...]:
        """The affected meters: energy counters of the enterprise, all of one quantity
        (CalTRACK models one carrier at a time)."""
        raw = t.get("meters")
        if not isinstance(raw, list) or not raw or not all(isinstance(m, str) for m in raw):
            self.error(f"{path}.meters", f"must be a non-empty list of meter ids, got {raw!r}")
            return ()
        first: Meter | None = None
        for k, ident in enumerate(raw):
            m = meters.get(ident)
            where = f"{path}.meters[{k}]"
            if ident not in meters:
                self.error(where, f"unknown meter {ident!r}")
            elif m is None:
                continue
            elif enterprise and m.enterprise != enterprise:
                self.error(
                    where,
                    f"meter {ident!r} belongs to enterprise {m.enterprise!r}, not {enterprise!r}",
                )
            elif m.quantity not in ENERGY_COUNTERS:
                self.error(
                    where,
                    f"meter {ident!r} measures {m.quantity}: a project's meters count energy "
                    f"({', '.join(ENERGY_COUNTERS)})",
                )
            elif first is not None and m.quantity != first.quantity:
                self.error(
                    where,
                    f"meter {ident!r} measures {m.quantity} but {first.id!r} measures "
                    f"{first.quantity}: CalTRACK models one carrier at a time; define one "
                    "project per carrier",
                )
            else:
                first = first or m
        if len(set(raw)) != len(raw):
            self.error(f"{path}.meters", "lists a meter twice")
        return tuple(raw)

    def _project_temperature(
        self,
        path: str,
        t: Mapping[str, Any],
        park: str,
        enterprises: Mapping[str, Enterprise],
        meters: Mapping[str, Meter | None],
    ) -> None:
        """Exactly one source of daily temperature: a meter of the park, or a CSV file."""
        meter = self.string(path, t, "temperature_meter", None)
        file = self.string(path, t, "temperature_file", None)
        if meter is not None and file is not None:
            self.error(
                path, "give temperature_meter or temperature_file, not both: one temperature"
            )
        elif "temperature_meter" not in t and "temperature_file" not in t:
            self.error(
                f"{path}.temperature_meter",
                f"missing required key: name a meter measuring {TEMPERATURE}, or give "
                "temperature_file (a CSV date,temperature_c beside the registry)",
            )
        if meter is None:
            return
        m = meters.get(meter)
        if meter not in meters:
            self.error(f"{path}.temperature_meter", f"unknown meter {meter!r}")
        elif m is not None and m.quantity != TEMPERATURE:
            self.error(
                f"{path}.temperature_meter",
                f"meter {meter!r} measures {m.quantity}, not {TEMPERATURE}",
            )
        elif m is not None and park and enterprises[m.enterprise].park != park:
            self.error(
                f"{path}.temperature_meter",
                f"meter {meter!r} is in park {enterprises[m.enterprise].park!r}, not the "
                f"project's park {park!r}",
            )
