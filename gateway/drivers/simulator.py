"""Simulated meters: realistic, deterministic load for every quantity of the catalogue.

A simulated value is a pure function of (meter, timestamp, seed): no state, no history, so
the same seed gives the same data on every run, a restarted gateway continues exactly
where it was, and :func:`simulate` produces a week of data for many meters in one
vectorized call (the demo runs a simulated clock at 1000x).

Shapes, in the meter's local time (the park's time zone):

- consumption counters (electricity, gas, steam, heat, water, fuel, output value, waste):
  the register integrates a rate ``base × day factor × weekday factor × (1 + a·cos(2π(h −
  peak)/24))``; the integral has a closed form within a day, and whole days are summed
  from 2020-01-01, so counters only increase. A configured number of resets per year sets
  a register back to zero at a local midnight; a registry ``register_max`` rolls it over.
- ``pv_generation``: power follows ``sin²`` between 06:00 and 18:00 (a bell by the sun),
  scaled by a daily cloudiness and the season; ``wind_generation`` a windy-night profile
  with large day-to-day variation.
- gauges: ``active_power`` is the enterprise's electricity rate and ``water_flow`` its
  fresh-water rate at that instant (so gauges and counters agree), with sample noise;
  ``flue_gas_flow`` follows the load; ``o2`` varies around 6.5 %.
- CEMS pollutants (``so2``, ``nox``, ``particulate``) run at about 50–70 % of the park's
  limit, with occasional exceedance hours (``exceed_probability`` per hour) at 105–160 %.

Sub-meters (``role = "sub"`` with a ``parent``) read a fixed share of their parent. Values
are the raw register, i.e. divided by the registry ``multiplier`` (analytics multiplies).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from gateway.drivers.base import PollResult
from gateway.readings import ReadingBatch, str_array
from smartpark import quantities
from smartpark.registry import Registry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
REF_DAY: Final = 18_262  # 2020-01-01: simulated registers start counting here

ShapeKind = Literal["load", "solar", "o2", "cems"]


@dataclass(frozen=True, slots=True)
class Shape:
    kind: ShapeKind
    base: float  # counters: rate per hour (canonical unit); gauges: typical value
    amplitude: float = 0.3  # relative daily swing
    peak_h: float = 14.0  # local hour of the daily maximum
    weekend: float = 1.0  # Saturday/Sunday factor
    spread: float = 0.1  # day-to-day variation, ±
    noise: float = 0.0  # gauges: per-sample noise, ±
    family: str = ""  # quantities of one family share their profile within an enterprise


_LOAD_E = Shape("load", 2000.0, 0.35, 14.0, 0.8, 0.1, family="electricity")
_FRESH = Shape("load", 40.0, 0.5, 11.0, 0.8, 0.15, family="fresh_water")

SHAPES: Final[dict[str, Shape]] = {
    "electricity_import": _LOAD_E,
    "active_power": Shape("load", 2000.0, 0.35, 14.0, 0.8, 0.1, 0.03, "electricity"),
    "electricity_export": Shape("load", 400.0, 0.5, 13.0, 1.0, 0.2),
    "green_electricity_import": Shape("load", 600.0, 0.4, 13.0, 0.85, 0.25),
    "pv_generation": Shape("solar", 1000.0, spread=0.7),
    "wind_generation": Shape("load", 1500.0, 0.3, 3.0, 1.0, 0.6),
    "natural_gas": Shape("load", 300.0, 0.25, 10.0, 0.85, 0.1),
    "steam": Shape("load", 12.0, 0.2, 11.0, 0.9, 0.08),
    "heat": Shape("load", 40.0, 0.3, 7.0, 0.9, 0.1),
    "diesel": Shape("load", 0.05, 0.5, 12.0, 0.5, 0.3),
    "coal": Shape("load", 15.0, 0.15, 12.0, 0.95, 0.05),
    "fresh_water": _FRESH,
    "water_flow": Shape("load", 40.0, 0.5, 11.0, 0.8, 0.15, 0.05, "fresh_water"),
    "recycled_water": Shape("load", 25.0, 0.4, 12.0, 0.85, 0.15),
    "wastewater_discharge": Shape("load", 30.0, 0.4, 13.0, 0.8, 0.15),
    "output_value": Shape("load", 150_000.0, 0.6, 12.0, 0.5, 0.15),
    "solid_waste_generated": Shape("load", 0.6, 0.3, 12.0, 0.6, 0.3),
    "solid_waste_utilised": Shape("load", 0.4, 0.3, 12.0, 0.6, 0.3),
    "flue_gas_flow": Shape("load", 50_000.0, 0.2, 12.0, 0.9, 0.08, 0.03),
    "o2": Shape("o2", 6.5, 0.8, 4.0, noise=0.6),
    "so2": Shape("cems", 0.55, 0.12, 12.0, noise=0.1),
    "nox": Shape("cems", 0.6, 0.12, 12.0, noise=0.1),
    "particulate": Shape("cems", 0.5, 0.12, 12.0, noise=0.1),
}
assert set(SHAPES) == set(quantities.QUANTITY_NAMES), "every quantity needs a shape"

_SALT_DAY: Final = 0x5DA1
_SALT_RESET: Final = 0x7E5E
_SALT_EXCEED: Final = 0xE8CE
_SALT_NOISE: Final = 0x1015
_SALT_NOISE2: Final = 0x2015


@dataclass(frozen=True, slots=True)
class SimMeter:
    """Everything the simulator needs to know about one meter."""

    id: str
    quantity: str
    interval_s: int
    profile_key: int  # enterprise × family: shared by gauges and counters that agree
    meter_key: int  # this meter: noise, resets, exceedances, register start
    scale: float  # enterprise size factor × sub-meter share
    limit: float | None = None  # CEMS limit, mg/m3
    register_max: float | None = None
    multiplier: float = 1.0
    utc_offset_ms: int = 8 * HOUR_MS
    resets_per_year: float = 0.0
    exceed_probability: float = 0.02

    @property
    def shape(self) -> Shape:
        return SHAPES[self.quantity]

    @property
    def unit(self) -> str:
        return quantities.BY_NAME[self.quantity].canonical_unit

    @property
    def is_counter(self) -> bool:
        return quantities.BY_NAME[self.quantity].nature == "counter"


def hash64(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def sim_meters(
    registry: Registry,
    meter_ids: Sequence[str],
    *,
    seed: int = 0,
    resets_per_year: float = 0.0,
    exceed_probability: float = 0.02,
) -> list[SimMeter]:
    """Build :class:`SimMeter` s for registry meters."""
    out = []
    for mid in meter_ids:
        m = registry.meters[mid]
        shape = SHAPES[m.quantity]
        park = registry.parks[registry.enterprises[m.enterprise].park]
        family = shape.family or m.quantity
        # Enterprise size: a log-uniform factor in [0.4, 2.5], shared by the family.
        size = math.exp(_unit(hash64(seed, m.enterprise, "size")) * 1.83 - 0.92)
        share = 1.0
        if m.role == "sub":
            share = 0.3 + 0.3 * _unit(hash64(seed, mid, "share"))
        offset = _utc_offset_ms(park.timezone)
        out.append(
            SimMeter(
                id=mid,
                quantity=m.quantity,
                interval_s=m.interval_s,
                profile_key=hash64(seed, m.enterprise, family),
                meter_key=hash64(seed, mid),
                scale=size * share,
                limit=park.limits.get(m.quantity),
                register_max=m.register_max,
                multiplier=m.multiplier,
                utc_offset_ms=offset,
                resets_per_year=resets_per_year,
                exceed_probability=exceed_probability,
            )
        )
    return out


def _utc_offset_ms(timezone: str) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    offset = dt.datetime(2024, 1, 1, tzinfo=ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds() * 1000) if offset is not None else 0


# ---------------------------------------------------------------------------------------
# Deterministic noise: splitmix64 over (key, index), vectorized.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def uniform(key: int, index: I64) -> F64:
    """Uniform [0, 1) numbers, a pure function of (key, index)."""
    x = _mix(_mix(index.astype(np.uint64)) ^ np.uint64(key & 0xFFFFFFFFFFFFFFFF))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _unit(key: int) -> float:
    return float(uniform(key, np.zeros(1, dtype=np.int64))[0])


# ---------------------------------------------------------------------------------------
# Shapes


def _day_rate(m: SimMeter, day: I64) -> F64:
    """Rate scale of each local day (counters: per hour; gauges: typical value)."""
    s = m.shape
    f = 1.0 + s.spread * (2.0 * uniform(m.profile_key ^ _SALT_DAY, day) - 1.0)
    if s.kind == "solar":
        doy = (day - REF_DAY) % 365.25
        season = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 172.0) / 365.25)
        out: F64 = s.base * m.scale * np.clip(f, 0.05, None) * season
        return out
    weekend = np.where((day + 3) % 7 >= 5, s.weekend, 1.0)
    return s.base * m.scale * f * weekend


def _within_day(m: SimMeter, h: F64) -> F64:
    """Integral of the daily profile from local midnight to hour ``h`` (hours × rate)."""
    s = m.shape
    if s.kind == "solar":
        theta = np.clip(np.pi * (h - 6.0) / 12.0, 0.0, np.pi)
        return (12.0 / np.pi) * (theta / 2.0 - np.sin(2.0 * theta) / 4.0)
    w = 2.0 * np.pi / 24.0
    out: F64 = h + s.amplitude / w * (np.sin(w * (h - s.peak_h)) - np.sin(w * (-s.peak_h)))
    return out


def _profile(m: SimMeter, h: F64) -> F64:
    """The daily profile itself (derivative of :func:`_within_day`)."""
    s = m.shape
    if s.kind == "solar":
        return np.where((h > 6.0) & (h < 18.0), np.sin(np.pi * (h - 6.0) / 12.0) ** 2, 0.0)
    return 1.0 + s.amplitude * np.cos(2.0 * np.pi * (h - s.peak_h) / 24.0)


def _day_total(m: SimMeter) -> float:
    return float(_within_day(m, np.array([24.0]))[0])


def values(m: SimMeter, ts_ms: I64) -> F64:
    """The meter's value at each timestamp (epoch ms): a pure function of (meter, ts)."""
    ts_ms = np.asarray(ts_ms, dtype=np.int64)
    local = ts_ms + m.utc_offset_ms
    day = np.maximum(local // DAY_MS, REF_DAY)
    h = np.clip((local - day * DAY_MS) / HOUR_MS, 0.0, 24.0)
    if m.is_counter:
        return _counter(m, day, h)
    s = m.shape
    noise = 2.0 * uniform(m.meter_key ^ _SALT_NOISE, ts_ms // 1000) - 1.0
    if s.kind == "o2":
        o2: F64 = np.clip(
            s.base + s.amplitude * np.cos(2 * np.pi * (h - s.peak_h) / 24) + s.noise * noise,
            2.0,
            20.0,
        )
        return o2
    if s.kind == "cems":
        limit = m.limit if m.limit is not None else 100.0
        level = s.base + s.amplitude * np.cos(2 * np.pi * (h - s.peak_h) / 24) + s.noise * noise
        hour = local // HOUR_MS
        exceed = uniform(m.meter_key ^ _SALT_EXCEED, hour) < m.exceed_probability
        surge = 1.05 + 0.5 * uniform(m.meter_key ^ _SALT_NOISE2, hour) + 0.05 * noise
        cems: F64 = np.maximum(limit * np.where(exceed, surge, level), 0.0)
        return cems
    raw = _day_rate(m, day) * _profile(m, h) * (1.0 + s.noise * noise)
    return np.maximum(raw, 0.0) / m.multiplier


def _counter(m: SimMeter, day: I64, h: F64) -> F64:
    last = int(day.max())
    days = np.arange(REF_DAY, last + 1, dtype=np.int64)
    daily = _day_rate(m, days) * _day_total(m)
    cumulative = np.concatenate(([0.0], np.cumsum(daily)))  # at each local midnight
    idx = day - REF_DAY
    total = cumulative[idx] + _day_rate(m, day) * _within_day(m, h)
    # Register start: some years of history, so values look like a real meter's.
    start = float(daily[: min(len(daily), 30)].mean()) * (100 + 900 * _unit(m.meter_key))
    if m.resets_per_year > 0:
        flag = uniform(m.meter_key ^ _SALT_RESET, days) < m.resets_per_year / 365.25
        flag[0] = False
        last_reset = np.maximum.accumulate(np.where(flag, np.arange(len(days)), -1))[idx]
        reset = last_reset >= 0
        base = np.where(reset, cumulative[np.maximum(last_reset, 0)], -start)
        value = total - base
    else:
        value = total + start
    value = value / m.multiplier
    if m.register_max is not None:
        value = np.mod(value, m.register_max)
    return np.round(value, 3)


def simulate(meters: Sequence[SimMeter], start_ms: int, end_ms: int) -> ReadingBatch:
    """Every reading of ``meters`` at their aligned poll times in ``[start_ms, end_ms)``,
    in time order: a week of a park in one vectorized call."""
    parts: list[ReadingBatch] = []
    for m in meters:
        step = m.interval_s * 1000
        first = -(-start_ms // step) * step
        ts = np.arange(first, end_ms, step, dtype=np.int64)
        if len(ts) == 0:
            continue
        n = len(ts)
        parts.append(
            ReadingBatch(
                _repeat(m.id, n), _repeat(m.quantity, n), _repeat(m.unit, n), ts, values(m, ts)
            )
        )
    out = ReadingBatch.concat(parts)
    return out.select(np.argsort(out.ts, kind="stable")) if len(out) else out


def _repeat(text: str, n: int) -> npt.NDArray[np.object_]:
    out = np.empty(n, dtype=object)
    out[:] = text
    return out


class SimulatorDriver:
    """The live driver: reads simulated meters at the scheduler's poll times."""

    name = "simulator"

    def __init__(self, meters: Sequence[SimMeter]) -> None:
        self._meters = {m.id: m for m in meters}

    @property
    def meters(self) -> Sequence[str]:
        return list(self._meters)

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        ts = np.array([ts_ms], dtype=np.int64)
        sims = [self._meters[m] for m in meters]
        vals = np.array([values(m, ts)[0] for m in sims], dtype=np.float64)
        return PollResult(
            ReadingBatch(
                str_array([m.id for m in sims]),
                str_array([m.quantity for m in sims]),
                str_array([m.unit for m in sims]),
                np.full(len(sims), ts_ms, dtype=np.int64),
                vals,
            )
        )

    async def close(self) -> None:
        return None
