"""Effective-dated factor sets on the KPI columns: 15-minute windows or day cells
(docs/kpis.md, "Factor sets").

A park's sets (:attr:`Park.sets <smartpark.core.registry.Park.sets>`) are valid for
ranges of local dates. On the grid of a computation every enterprise and park row gets,
per window, the index of the set valid at the window's start, so every coefficient
channel takes the factor of its own window. A period whose windows use more than one
set *straddles* a change: its version reads ``old>new`` and its netted electricity
(scope 2, import against export) is netted per part, each part with its own factor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from smartpark.analytics import periods
from smartpark.analytics.readings.series import FloatArray, IntArray
from smartpark.core.registry import Park, Registry

STRADDLE = ">"  # joins the versions of a period that straddles a change


@dataclass(frozen=True)
class WindowSets:
    """Per enterprise row, then park row: its park and the set index of each window."""

    parks: tuple[Park, ...]
    index: npt.NDArray[np.intp]  # (rows, windows)
    zone_parks: tuple[tuple[int, ...], ...]  # per zone: its parks' row numbers

    @classmethod
    def of(cls, reg: Registry, starts: IntArray) -> WindowSets:
        """The sets of the columns (windows or cells) starting at ``starts``."""
        by_park: dict[str, npt.NDArray[np.intp]] = {}
        for pid in reg.park_ids:
            park = reg.parks[pid]
            changes = np.array(
                [
                    periods.local_midnight_ms(s.valid_from, park.timezone)
                    for s in park.sets[1:]
                    if s.valid_from is not None
                ],
                dtype=np.int64,
            )
            by_park[pid] = np.searchsorted(changes, starts, side="right").astype(np.intp)
        pids = [reg.enterprises[e].park for e in reg.enterprise_ids] + list(reg.park_ids)
        index = np.stack([by_park[p] for p in pids]) if pids else np.zeros((0, starts.size))
        n_ent = len(reg.enterprise_ids)
        zone_parks = tuple(
            tuple(n_ent + k for k, p in enumerate(reg.park_ids) if reg.parks[p].zone == z)
            for z in reg.zone_ids
        )
        return cls(tuple(reg.parks[p] for p in pids), index.astype(np.intp), zone_parks)

    @property
    def n_rows(self) -> int:
        return len(self.parks)

    def factor(self, name: str, rows: slice = slice(None)) -> FloatArray:
        """``name`` per row and window, each window with its own set."""
        parks = self.parks[rows]
        index = self.index[rows]
        out = np.empty(index.shape)
        for r, park in enumerate(parks):
            values = np.array([s.factor(name) for s in park.sets])
            out[r] = values[index[r]]
        return out

    def at_starts(self, name: str, gi: npt.NDArray[np.intp]) -> FloatArray:
        """``name`` per row and period, of the set valid at each period's start."""
        out = np.empty((self.n_rows, gi.size - 1))
        for r, park in enumerate(self.parks):
            values = np.array([s.factor(name) for s in park.sets])
            out[r] = values[self.index[r, gi[:-1]]]
        return out

    def straddling(self, gi: npt.NDArray[np.intp]) -> Iterator[tuple[int, int, list[int]]]:
        """(row, period, cuts) of each period that straddles a change; ``cuts`` are the
        grid indices where it splits, from its start to its end."""
        for r in range(self.n_rows):
            if len(self.parks[r].sets) < 2:
                continue
            first = self.index[r, gi[:-1]]
            last = self.index[r, gi[1:] - 1]
            for k in np.flatnonzero(first != last).tolist():
                a, b = int(gi[k]), int(gi[k + 1])
                inner = np.flatnonzero(np.diff(self.index[r, a:b])) + a + 1
                yield r, k, [a, *inner.tolist(), b]

    def netted(
        self,
        name: str,
        gi: npt.NDArray[np.intp],
        period_net: FloatArray,
        window_net: FloatArray,
    ) -> FloatArray:
        """max(0, net) / 1000 x factor ``name`` per row and period (net in kWh, factor
        per MWh); a period that straddles a change is netted per part."""
        out = np.maximum(0.0, period_net) / 1000.0 * self.at_starts(name, gi)
        for r, k, cuts in self.straddling(gi):
            total = 0.0
            for a, b in pairwise(cuts):
                f = self.parks[r].sets[int(self.index[r, a])].factor(name)
                total += max(0.0, float(window_net[r, a:b].sum())) / 1000.0 * f
            out[r, k] = total
        return out

    def versions(self, gi: npt.NDArray[np.intp]) -> npt.NDArray[np.object_]:
        """``factors_version`` per row (enterprises, parks, zones) and period: the set's,
        ``old>new`` across a change, a zone its parks' joined with commas."""
        n_p = gi.size - 1
        out = np.empty((self.n_rows + len(self.zone_parks), n_p), dtype=object)
        for r, park in enumerate(self.parks):
            names = [s.version for s in park.sets]
            first = self.index[r, gi[:-1]].tolist()
            last = self.index[r, gi[1:] - 1].tolist()
            out[r] = [
                STRADDLE.join(names[i : j + 1]) if j > i else names[i]
                for i, j in zip(first, last, strict=True)
            ]
        for z, rows in enumerate(self.zone_parks):
            for k in range(n_p):
                out[self.n_rows + z, k] = ",".join(sorted({out[r, k] for r in rows}))
        return out
