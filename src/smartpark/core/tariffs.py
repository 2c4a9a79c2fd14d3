"""Tariffs (docs/registry.md, "Tariffs"): effective-dated prices per park and quantity.

A zone of the registry may name a tariffs file (``tariffs = "tariffs-gansu.toml"``)::

    [park.petrochem]                       # which tariff each quantity is bought on
    electricity_import = "gansu-large-industry"
    [enterprise.alu-a]                     # an enterprise may override its park
    electricity_import = "gansu-large-industry-kva"
    transformer_kva = 6300
    [tariff.gansu-large-industry]
    quantity = "electricity_import"
    [[tariff.gansu-large-industry.version]]
    valid_from = 2021-01-01
    prices = { peak = 0.60, flat = 0.40, valley = 0.20 }
    demand_cny_per_kw = 30.0
    [[tariff.gansu-large-industry.version.schedule]]
    months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    peak = ["07:00-09:00", "18:00-24:00"]
    ...

Electricity versions carry time-of-use schedules (sharp peak / peak / flat / valley by
local time of day, per month and, where a province has them, per workday or rest day)
and a two-part tariff's demand charge; the other quantities one price per unit.
:func:`from_dict` checks everything (periods tiling 24 hours, versions without gaps or
overlaps, prices >= 0, known quantities) and raises one ``ConfigError`` listing each
problem with its TOML path. :func:`window_prices` turns a tariff into per-window arrays
on the KPI engine's 15-minute grid.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartpark.core.tomlcheck import Checker

PERIODS: Final = ("sharp", "peak", "flat", "valley")  # 尖峰 / 峰 / 平 / 谷; codes 0..3
PERIOD_CODE: Final = {p: k for k, p in enumerate(PERIODS)}
QUANTITIES: Final = ("electricity_import", "natural_gas", "fresh_water", "steam", "heat")
ELECTRICITY: Final = "electricity_import"
DAY_KINDS: Final = ("all", "workdays", "rest_days")  # rest days: Sat, Sun and `holidays`
SLOT_MIN: Final = 15  # the pricing unit: one 15-minute window
SLOTS: Final = 24 * 60 // SLOT_MIN
WINDOW_MS: Final = SLOT_MIN * 60_000


@dataclass(frozen=True)
class Version:
    """One effective-dated version of a tariff: ``[valid_from, valid_to)`` local dates."""

    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None: open-ended (the last version only)
    price: float = float("nan")  # per canonical unit; non-electricity tariffs
    prices: Mapping[str, float] = field(default_factory=dict)  # electricity: per period
    demand_cny_per_kw: float = 0.0  # per kW of the month's maximum 15-minute demand
    capacity_cny_per_kva: float = 0.0  # per kVA of transformer capacity, per month
    holidays: frozenset[dt.date] = frozenset()
    # (month, rest day) -> period code of each 15-minute slot of the local day
    slots: Mapping[tuple[int, bool], npt.NDArray[np.int8]] = field(default_factory=dict)

    def covers(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def is_rest_day(self, day: dt.date) -> bool:
        return day.weekday() >= 5 or day in self.holidays

    def period_slots(self, day: dt.date) -> npt.NDArray[np.int8]:
        """Period code of each 15-minute slot of ``day`` (electricity versions)."""
        return self.slots[(day.month, self.is_rest_day(day))]

    def price_of(self, period: int) -> float:
        return self.prices.get(PERIODS[period], float("nan"))


@dataclass(frozen=True)
class Tariff:
    id: str
    quantity: str
    name: str
    versions: tuple[Version, ...]

    def version_on(self, day: dt.date) -> int:
        """Index of the version in force on local ``day``, -1 if none."""
        for k, v in enumerate(self.versions):
            if v.covers(day):
                return k
        return -1


@dataclass(frozen=True)
class TariffBook:
    """The tariffs of a registry and who buys on which: empty when none is configured."""

    tariffs: Mapping[str, Tariff] = field(default_factory=dict)
    parks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # park -> q -> id
    enterprises: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    transformer_kva: Mapping[str, float] = field(default_factory=dict)  # per enterprise

    def tariff_for(self, enterprise: str, park: str, quantity: str) -> Tariff | None:
        """The enterprise's own tariff for ``quantity``, else its park's, else None."""
        ident = self.enterprises.get(enterprise, {}).get(quantity) or self.parks.get(park, {}).get(
            quantity
        )
        return self.tariffs[ident] if ident else None

    def merged(self, other: TariffBook) -> TariffBook:
        return TariffBook(
            {**self.tariffs, **other.tariffs},
            {**self.parks, **other.parks},
            {**self.enterprises, **other.enterprises},
            {**self.transformer_kva, **other.transformer_kva},
        )


# ---------------------------------------------------------------------------------------
# Per-window arrays


@dataclass(frozen=True)
class WindowPrices:
    """A tariff on a 15-minute grid: one value per window (NaN / -1 where none is in force)."""

    period: npt.NDArray[np.int8]  # electricity: PERIODS code; else -1
    price: npt.NDArray[np.float64]  # energy price of the window
    valley: npt.NDArray[np.float64]  # electricity: the valley price of the window's version
    demand_rate: npt.NDArray[np.float64]  # demand price / windows of the window's local month
    capacity_rate: npt.NDArray[np.float64]  # capacity price / windows of the local month


def window_prices(tariff: Tariff, timezone: str, start_ms: int, n_windows: int) -> WindowPrices:
    """``tariff`` on the windows ``start_ms + k * 15 min`` (``k < n_windows``) in ``timezone``.

    Walks local days: each day of the grid takes its version's 96-slot period array for
    its month and day kind, so the work is per day, not per window.
    """
    zone = ZoneInfo(timezone)
    period = np.full(n_windows, -1, np.int8)
    price = np.full(n_windows, np.nan)
    valley = np.full(n_windows, np.nan)
    demand = np.full(n_windows, np.nan)
    capacity = np.full(n_windows, np.nan)
    if n_windows == 0:
        return WindowPrices(period, price, valley, demand, capacity)
    end_ms = start_ms + n_windows * WINDOW_MS
    day = _local(start_ms, zone).date()
    electricity = tariff.quantity == ELECTRICITY
    while True:
        d0 = _midnight(day, zone)
        if d0 >= end_ms:
            break
        following = day + dt.timedelta(days=1)
        d1 = _midnight(following, zone)
        k = tariff.version_on(day)
        lo = max(0, -(-(d0 - start_ms) // WINDOW_MS))
        hi = min(n_windows, -(-(d1 - start_ms) // WINDOW_MS))
        if k >= 0 and hi > lo:
            v = tariff.versions[k]
            ts = start_ms + WINDOW_MS * np.arange(lo, hi, dtype=np.int64)
            month_windows = _month_windows(day, zone)
            demand[lo:hi] = v.demand_cny_per_kw / month_windows
            capacity[lo:hi] = v.capacity_cny_per_kva / month_windows
            if electricity:
                slot = _slots_of(ts, d0, d1, zone)
                codes = v.period_slots(day)[slot]
                table = np.array([v.price_of(p) for p in range(len(PERIODS))])
                period[lo:hi] = codes
                price[lo:hi] = table[codes]
                valley[lo:hi] = v.price_of(PERIOD_CODE["valley"])
            else:
                price[lo:hi] = v.price
        day = following
    return WindowPrices(period, price, valley, demand, capacity)


def _local(ms: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).astimezone(zone)


def _midnight(day: dt.date, zone: ZoneInfo) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


def _month_windows(day: dt.date, zone: ZoneInfo) -> float:
    first = day.replace(day=1)
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (_midnight(nxt, zone) - _midnight(first, zone)) / WINDOW_MS


def _slots_of(ts: npt.NDArray[np.int64], d0: int, d1: int, zone: ZoneInfo) -> npt.NDArray[np.intp]:
    """Local 15-minute slot of each window start; a day of a clock change reads the clock."""
    if d1 - d0 == SLOTS * WINDOW_MS:
        return ((ts - d0) // WINDOW_MS).astype(np.intp)
    local = [_local(int(t), zone) for t in ts]
    return np.array([(t.hour * 60 + t.minute) // SLOT_MIN for t in local], np.intp)


# ---------------------------------------------------------------------------------------
# Loading and validation

SECTIONS: Final = ("park", "enterprise", "tariff")


def from_dict(
    data: Mapping[str, Any],
    parks: Mapping[str, Any],
    enterprise_park: Mapping[str, str],
    source: str = "<tariffs>",
) -> TariffBook:
    """Check a parsed tariffs document against the registry's parks and enterprises."""
    c = _TariffChecker()
    for key in data:
        if key not in SECTIONS:
            c.error(key, f"unknown section {key!r} (expected one of {', '.join(SECTIONS)})")
    tables = {s: c.tables(data, s) for s in SECTIONS}
    tariffs = {i: t for i, raw in tables["tariff"].items() if (t := c.tariff(i, raw))}
    park_q = {}
    for ident, raw in tables["park"].items():
        if ident not in parks:
            c.error(f"park.{ident}", f"unknown park {ident!r} (not in the registry)")
        park_q[ident] = c.assignments(f"park.{ident}", raw, tables["tariff"], tariffs, set())
    ent_q, kva = {}, {}
    for ident, raw in tables["enterprise"].items():
        if ident not in enterprise_park:
            c.error(f"enterprise.{ident}", f"unknown enterprise {ident!r} (not in the registry)")
        path = f"enterprise.{ident}"
        ent_q[ident] = c.assignments(path, raw, tables["tariff"], tariffs, {"transformer_kva"})
        value = c.number(path, raw, "transformer_kva", positive=True)
        if value is not None:
            kva[ident] = float(value)
    book = TariffBook(tariffs, park_q, ent_q, kva)
    for ent, park in sorted(enterprise_park.items()):
        t = book.tariff_for(ent, park, ELECTRICITY)
        if t is not None and ent not in kva and any(v.capacity_cny_per_kva for v in t.versions):
            c.error(
                f"enterprise.{ent}.transformer_kva",
                f"tariff {t.id!r} charges per kVA of transformer capacity: "
                "give the enterprise's transformer_kva",
            )
    c.done(source)
    return book


class _TariffChecker(Checker):
    def assignments(
        self,
        path: str,
        raw: Mapping[str, Any],
        declared: Mapping[str, Any],
        tariffs: Mapping[str, Tariff],
        extra: set[str],
    ) -> dict[str, str]:
        out = {}
        for q, ident in raw.items():
            if q in extra:
                continue
            where = f"{path}.{q}"
            if q not in QUANTITIES:
                self.error(
                    where, f"unknown quantity {q!r} (expected one of {', '.join(QUANTITIES)})"
                )
            elif not isinstance(ident, str) or ident not in declared:
                self.error(where, f"unknown tariff {ident!r}: define it as [tariff.{ident}]")
            elif ident in tariffs and tariffs[ident].quantity != q:
                self.error(where, f"tariff {ident!r} prices {tariffs[ident].quantity}, not {q}")
            elif ident in tariffs:
                out[q] = ident
        return out

    def tariff(self, ident: str, t: Mapping[str, Any]) -> Tariff | None:
        path = f"tariff.{ident}"
        self.keys(path, t, {"quantity", "name", "version", "source"})
        before = len(self.problems)
        quantity = self.value(path, t, "quantity", str, "", required=True)
        if quantity and quantity not in QUANTITIES:
            self.error(
                f"{path}.quantity",
                f"unknown quantity {quantity!r} (expected one of {', '.join(QUANTITIES)})",
            )
        raw_versions = self.value(path, t, "version", list, [], required=True)
        if "version" in t and not raw_versions:
            self.error(f"{path}.version", "give at least one [[version]]")
        versions, dates = [], []
        for k, raw in enumerate(raw_versions):
            where = f"{path}.version[{k}]"
            if not isinstance(raw, dict):
                self.error(where, "must be a table ([[tariff.ID.version]])")
                continue
            valid_from = self.day(where, raw, "valid_from", required=True)
            valid_to = self.day(where, raw, "valid_to")
            if valid_from and valid_to and valid_to <= valid_from:
                self.error(f"{where}.valid_to", f"must be after valid_from {valid_from}")
            elif valid_from:
                dates.append((where, valid_from, valid_to))
            v = self.version(where, raw, quantity == ELECTRICITY, valid_from, valid_to)
            if v is not None:
                versions.append(v)
        self.validity(dates)
        if len(self.problems) > before:
            return None
        name = self.value(path, t, "name", str, ident)
        return Tariff(ident, quantity, name, tuple(versions))

    def validity(self, dates: list[tuple[str, dt.date, dt.date | None]]) -> None:
        """Versions in order, each starting where the one before ends."""
        for (_, _, a_to), (where, b_from, _) in itertools.pairwise(dates):
            if a_to is None:
                self.error(where, "follows an open-ended version: give the one before a valid_to")
            elif b_from < a_to:
                self.error(
                    f"{where}.valid_from",
                    f"{b_from} overlaps the version before (valid to {a_to})",
                )
            elif b_from > a_to:
                self.error(
                    f"{where}.valid_from",
                    f"gap: no version from {a_to} to {b_from}; start this one on {a_to}",
                )

    def price(self, path: str, t: Mapping[str, Any], key: str, default: Any = None) -> Any:
        value = self.number(path, t, key, default)
        if value is not None and value < 0:
            self.error(f"{path}.{key}", f"must be >= 0 (a price), got {value!r}")
            return default
        return value

    def version(
        self,
        path: str,
        t: Mapping[str, Any],
        electricity: bool,
        valid_from: dt.date | None,
        valid_to: dt.date | None,
    ) -> Version | None:
        common = {"valid_from", "valid_to", "source"}
        if electricity:
            allowed = common | {
                "prices",
                "demand_cny_per_kw",
                "capacity_cny_per_kva",
                "holidays",
                "schedule",
            }
        else:
            allowed = common | {"price"}
        self.keys(path, t, allowed)
        before = len(self.problems)
        if not electricity:
            price = self.price(path, t, "price")
            if price is None and "price" not in t:
                self.error(f"{path}.price", "missing required key")
            if len(self.problems) > before or valid_from is None:
                return None
            return Version(valid_from, valid_to, price=float(price))
        prices = self.prices(path, t)
        demand = self.price(path, t, "demand_cny_per_kw", 0.0)
        capacity = self.price(path, t, "capacity_cny_per_kva", 0.0)
        if demand and capacity:
            self.error(
                path,
                "a two-part tariff charges demand_cny_per_kw or capacity_cny_per_kva, not both",
            )
        holidays = self.holidays(path, t)
        slots = self.schedules(path, t, prices)
        if len(self.problems) > before or valid_from is None:
            return None
        return Version(
            valid_from,
            valid_to,
            prices=prices,
            demand_cny_per_kw=float(demand),
            capacity_cny_per_kva=float(capacity),
            holidays=holidays,
            slots=slots,
        )

    def day(self, path: str, t: Mapping[str, Any], key: str, *, required: bool = False) -> Any:
        value = t.get(key)
        if value is None:
            if required:
                self.error(f"{path}.{key}", "missing required key")
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            self.error(f"{path}.{key}", f"must be a date (YYYY-MM-DD), got {value!r}")
            return None
        return value

    def prices(self, path: str, t: Mapping[str, Any]) -> dict[str, float]:
        raw = self.value(path, t, "prices", dict, {}, required=True)
        out = {}
        for name in raw:
            if name not in PERIODS:
                self.error(
                    f"{path}.prices.{name}",
                    f"unknown period {name!r} (expected one of {', '.join(PERIODS)})",
                )
                continue
            value = self.number(f"{path}.prices", raw, name)
            if value is not None:
                out[name] = float(value)  # even a negative one: its period is priced
                if value < 0:
                    self.error(f"{path}.prices.{name}", f"must be >= 0 (a price), got {value!r}")
        return out

    def holidays(self, path: str, t: Mapping[str, Any]) -> frozenset[dt.date]:
        raw = self.value(path, t, "holidays", list, [])
        out = set()
        for k, d in enumerate(raw):
            if isinstance(d, dt.datetime) or not isinstance(d, dt.date):
                self.error(f"{path}.holidays[{k}]", f"must be a date (YYYY-MM-DD), got {d!r}")
            else:
                out.add(d)
        return frozenset(out)

    def schedules(
        self, path: str, t: Mapping[str, Any], prices: Mapping[str, float]
    ) -> dict[tuple[int, bool], npt.NDArray[np.int8]]:
        raw = self.value(path, t, "schedule", list, [], required=True)
        out: dict[tuple[int, bool], npt.NDArray[np.int8]] = {}
        owner: dict[tuple[int, bool], int] = {}
        for k, s in enumerate(raw):
            where = f"{path}.schedule[{k}]"
            if not isinstance(s, dict):
                self.error(where, "must be a table ([[...version.schedule]])")
                continue
            self.keys(where, s, {"months", "days", *PERIODS})
            months = self.value(where, s, "months", list, [], required=True)
            bad = [m for m in months if isinstance(m, bool) or m not in range(1, 13)]
            if bad:
                self.error(f"{where}.months", f"months are 1..12, got {bad[0]!r}")
                months = []
            days = self.value(where, s, "days", str, "all", choices=DAY_KINDS)
            slots = self.day_slots(where, s, prices)
            kinds = {"all": (False, True), "workdays": (False,), "rest_days": (True,)}[days]
            for m in months:
                for rest in kinds:
                    if (m, rest) in owner:
                        self.error(
                            where,
                            f"month {m} {'rest days' if rest else 'workdays'} already has "
                            f"schedule[{owner[(m, rest)]}]",
                        )
                    elif slots is not None:
                        owner[(m, rest)] = k
                        out[(m, rest)] = slots
        if raw and not self.problems_under(f"{path}.schedule"):
            missing = [
                f"month {m} {'rest days' if r else 'workdays'}"
                for m in range(1, 13)
                for r in (False, True)
                if (m, r) not in owner
            ]
            if missing:
                self.error(f"{path}.schedule", f"no schedule for {', '.join(missing[:4])}")
        return out

    def problems_under(self, prefix: str) -> bool:
        return any(p.startswith(prefix) for p in self.problems)

    def day_slots(
        self, where: str, s: Mapping[str, Any], prices: Mapping[str, float]
    ) -> npt.NDArray[np.int8] | None:
        """The 96 slots of a day from ``period = ["HH:MM-HH:MM", ...]``; None on a problem."""
        slots = np.full(SLOTS, -1, np.int8)
        ok = True
        for name in PERIODS:
            spans = self.value(where, s, name, list, [])
            if spans and name not in prices:
                self.error(f"{where}.{name}", f"period {name} is used but prices.{name} is missing")
                ok = False
            for j, text in enumerate(spans):
                span = self.span(f"{where}.{name}[{j}]", text)
                if span is None:
                    ok = False
                    continue
                for a, b in span:
                    taken = slots[a:b] >= 0
                    if taken.any():
                        first = a + int(np.argmax(taken))
                        self.error(
                            f"{where}.{name}[{j}]",
                            f"{_hhmm(first)} is already {PERIODS[slots[first]]}: periods overlap",
                        )
                        ok = False
                    slots[a:b] = np.where(taken, slots[a:b], PERIOD_CODE[name])
        gaps = np.flatnonzero(slots < 0)
        if ok and gaps.size:
            runs = np.split(gaps, np.flatnonzero(np.diff(gaps) > 1) + 1)
            text = ", ".join(f"{_hhmm(int(r[0]))}-{_hhmm(int(r[-1]) + 1)}" for r in runs)
            self.error(where, f"the periods do not cover 24 hours: {text} is in no period")
            ok = False
        return slots if ok else None

    def span(self, where: str, text: Any) -> list[tuple[int, int]] | None:
        """``"HH:MM-HH:MM"`` as slot ranges (one wrapping past midnight becomes two)."""
        parts = text.split("-") if isinstance(text, str) else []
        ends = [_slot_of(p.strip()) for p in parts] if len(parts) == 2 else []
        if len(ends) != 2 or None in ends:
            self.error(
                where,
                f'must be "HH:MM-HH:MM" on 15-minute marks (24:00 ends a day), got {text!r}',
            )
            return None
        a, b = ends[0], ends[1]
        assert a is not None
        assert b is not None
        if a in (b, SLOTS):
            self.error(where, f"empty span {text!r}")
            return None
        return [(a, b)] if a < b else [(a, SLOTS), (0, b)]


def _slot_of(text: str) -> int | None:
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        return None
    minutes = int(hh) * 60 + int(mm)
    if minutes % SLOT_MIN or not 0 <= minutes <= 24 * 60:
        return None
    return minutes // SLOT_MIN


def _hhmm(slot: int) -> str:
    return f"{slot * SLOT_MIN // 60:02d}:{slot * SLOT_MIN % 60:02d}"
