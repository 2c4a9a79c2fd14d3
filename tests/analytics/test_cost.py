"""Cost KPIs: a day priced by hand through real stores; a per-window loop as the oracle."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from smartpark.analytics import compute_kpis, periods, read_range
from smartpark.analytics.kpis.table import KpiTable
from smartpark.analytics.periods import WINDOW_MS
from smartpark.cli import app
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store import open_store
from smartpark.store.base import Store
from smartpark.testing.servers import Influxd

from .parks import DAY_MS, TZ, columns, day_ms, park_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = day_ms(2026, 12, 7)  # a Monday in December: the example's sharp-peak season
COST_KPIS = (
    "electricity_kwh_sharp",
    "electricity_kwh_peak",
    "electricity_kwh_flat",
    "electricity_kwh_valley",
    "electricity_cost_cny",
    "gas_cost_cny",
    "water_cost_cny",
    "energy_cost_cny",
    "peak_share",
    "peak_shift_saving_cny",
)


# -- a day priced by hand -----------------------------------------------------------------


def hand_day_readings(reg: Registry) -> list[tuple[str, int, float]]:
    """chem-a's main meter: 10 kWh every 15 minutes, 50 kWh in 19:00-19:15 (sharp)."""
    kwh = np.full(96, 10.0)
    kwh[19 * 4] = 50.0
    register = 5000.0 + np.concatenate([[0.0], np.cumsum(kwh)])
    ts = DAY + WINDOW_MS * np.arange(97)
    rows = [("chem-a-main", int(t), float(r)) for t, r in zip(ts, register, strict=True)]
    rows += [("chem-a-gas", DAY, 100.0), ("chem-a-gas", DAY + DAY_MS, 140.0)]  # 40 m3
    return rows


# By hand, with the example's placeholder prices (sharp 0.72, peak 0.60, flat 0.40,
# valley 0.20 CNY/kWh; 30 CNY/kW/month; gas 2.85 CNY/m3). December: sharp 18-20 h (8
# windows), peak 07-09 and 20-24 h (24), flat 32 windows, valley 32 windows.
SHARP, PEAK, FLAT, VALLEY = 7 * 10 + 50, 240, 320, 320
ENERGY = SHARP * 0.72 + PEAK * 0.60 + FLAT * 0.40 + VALLEY * 0.20  # 422.4
DEMAND = 200.0 * 30.0 / 31  # 50 kWh in 15 min = 200 kW; one day of December's charge
HAND = {
    "electricity_kwh_sharp": SHARP,
    "electricity_kwh_peak": PEAK,
    "electricity_kwh_flat": FLAT,
    "electricity_kwh_valley": VALLEY,
    "electricity_cost_cny": ENERGY + DEMAND,
    "gas_cost_cny": 40 * 2.85,
    "water_cost_cny": 0.0,
    "energy_cost_cny": ENERGY + DEMAND + 40 * 2.85,
    "peak_share": (SHARP + PEAK) / 1000 * 100,
    "peak_shift_saving_cny": 0.10 * (SHARP * (0.72 - 0.20) + PEAK * (0.60 - 0.20)),
}


def assert_hand_day(table: KpiTable) -> None:
    for kpi, want in HAND.items():
        for scope, ident in (("enterprise", "chem-a"), ("park", "petrochem")):
            got = table.value(scope, ident, "day", DAY, kpi)  # type: ignore[arg-type]
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12), (scope, kpi)
    assert HAND["electricity_cost_cny"] == pytest.approx(615.9483870967742, rel=1e-15)


def through(store: Store, reg: Registry) -> KpiTable:
    try:
        store.write(columns(reg, hand_day_readings(reg)))
        return compute_kpis(reg, read_range(store, reg, DAY, DAY + DAY_MS), DAY, DAY + DAY_MS)
    finally:
        store.close()


@pytest.fixture(scope="module")
def example() -> Registry:
    return registry_mod.load(EXAMPLES / "registry.toml")


def test_a_day_priced_by_hand_through_sqlite(example: Registry, tmp_path: Path) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), example)
    assert_hand_day(through(store, example))


@pytest.mark.servers
def test_a_day_priced_by_hand_through_influxd(
    example: Registry, influxd: Influxd, influx_db: str
) -> None:
    store = open_store(parse_store_url(influxd.store_url(influx_db)), example)
    assert_hand_day(through(store, example))


def test_peak_shift_is_the_given_percentage(example: Registry) -> None:
    cols = columns(example, hand_day_readings(example))
    table = compute_kpis(example, cols, DAY, DAY + DAY_MS, ["day"], peak_shift=25.0)
    got = table.value("enterprise", "chem-a", "day", DAY, "peak_shift_saving_cny")
    assert got == pytest.approx(HAND["peak_shift_saving_cny"] * 2.5, rel=1e-12)


def test_smartpark_kpi_takes_the_peak_shift_percentage(example: Registry, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(parse_store_url(url), example)
    try:
        store.write(columns(example, hand_day_readings(example)))
    finally:
        store.close()
    base = [
        "kpi", "--from", "2026-12-07", "--to", "2026-12-08", "--scope", "enterprise",
        "--park", "petrochem", "--registry", str(EXAMPLES / "registry.toml"), "--store", url,
    ]  # fmt: skip
    shown = [*base, "--format", "json", "--kpi", "peak_shift_saving_cny", "--kpi", "peak_share"]
    result = CliRunner().invoke(app, [*shown, "--peak-shift", "20"])
    logs.configure()
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    row = next(r for r in printed["rows"] if r["id"] == "chem-a")
    assert row["peak_shift_saving_cny"] == pytest.approx(2 * HAND["peak_shift_saving_cny"])
    assert row["peak_share"] == pytest.approx(HAND["peak_share"])
    assert printed["units"]["peak_shift_saving_cny"] == "CNY"
    result = CliRunner().invoke(app, [*base, "--peak-shift", "150"])
    logs.configure()
    assert result.exit_code == 1
    assert "--peak-shift: 150 is not a percentage in [0, 100]" in result.output


def test_consumption_without_a_tariff_has_no_cost_but_none_costs_nothing() -> None:
    reg = park_registry({"m": {"quantity": "electricity_import", "interval_s": 900}})
    cols = columns(reg, [("m", DAY, 0.0), ("m", DAY + DAY_MS, 96.0)])
    table = compute_kpis(reg, cols, DAY, DAY + DAY_MS, ["day"])
    assert np.isnan(table.value("park", "p1", "day", DAY, "electricity_cost_cny"))
    assert np.isnan(table.value("park", "p1", "day", DAY, "electricity_kwh_peak"))
    assert table.value("park", "p1", "day", DAY, "gas_cost_cny") == 0.0


# -- the oracle: a per-window Python loop over the raw tariff document ---------------------

TARIFFS: dict[str, Any] = {
    "park": {
        "p1": {"electricity_import": "tou", "natural_gas": "gas"},
        "p2": {"electricity_import": "tou", "natural_gas": "gas"},
    },
    "enterprise": {"e3": {"electricity_import": "tou-kva", "transformer_kva": 1250.0}},
    "tariff": {
        "tou": {
            "quantity": "electricity_import",
            "version": [
                {
                    "valid_from": dt.date(2021, 1, 1),
                    "valid_to": dt.date(2026, 12, 16),
                    "prices": {"sharp": 0.9, "peak": 0.7, "flat": 0.45, "valley": 0.21},
                    "demand_cny_per_kw": 32.0,
                    "holidays": [dt.date(2026, 12, 11)],
                    "schedule": [
                        {
                            "months": [12],
                            "days": "workdays",
                            "valley": ["23:00-07:00"],
                            "flat": ["07:00-08:30", "11:30-18:00"],
                            "peak": ["08:30-11:30", "20:00-23:00"],
                            "sharp": ["18:00-20:00"],
                        },
                        {
                            "months": [12],
                            "days": "rest_days",
                            "flat": ["07:00-23:00"],
                            "valley": ["23:00-07:00"],
                        },
                        {"months": list(range(1, 12)), "flat": ["00:00-24:00"]},
                    ],
                },
                {
                    "valid_from": dt.date(2026, 12, 16),
                    "prices": {"peak": 0.8, "flat": 0.5, "valley": 0.2},
                    "demand_cny_per_kw": 40.0,
                    "schedule": [
                        {
                            "months": list(range(1, 13)),
                            "valley": ["02:00-04:00", "11:00-17:00"],
                            "peak": ["07:00-09:00", "18:00-24:00"],
                            "flat": ["00:00-02:00", "04:00-07:00", "09:00-11:00", "17:00-18:00"],
                        }
                    ],
                },
            ],
        },
        "tou-kva": {
            "quantity": "electricity_import",
            "version": [
                {
                    "valid_from": dt.date(2021, 1, 1),
                    "valid_to": dt.date(2026, 12, 20),
                    "prices": {"peak": 0.6, "flat": 0.4, "valley": 0.2},
                    "capacity_cny_per_kva": 22.0,
                    "schedule": [
                        {
                            "months": list(range(1, 13)),
                            "peak": ["08:00-20:00"],
                            "flat": ["20:00-24:00"],
                            "valley": ["00:00-08:00"],
                        },
                    ],
                },
                {
                    "valid_from": dt.date(2026, 12, 20),
                    "prices": {"peak": 0.66, "flat": 0.44, "valley": 0.22},
                    "capacity_cny_per_kva": 25.0,
                    "schedule": [
                        {
                            "months": list(range(1, 13)),
                            "peak": ["08:00-20:00"],
                            "flat": ["20:00-24:00"],
                            "valley": ["00:00-08:00"],
                        },
                    ],
                },
            ],
        },
        "gas": {
            "quantity": "natural_gas",
            "version": [
                {
                    "valid_from": dt.date(2021, 1, 1),
                    "valid_to": dt.date(2026, 12, 10),
                    "price": 2.8,
                },
                {"valid_from": dt.date(2026, 12, 10), "price": 3.1},
            ],
        },
    },
}
ENTERPRISES = {"e1": "p1", "e2": "p1", "e3": "p1", "e4": "p2"}
ZONES = {"p1": TZ, "p2": "Asia/Kolkata"}  # p2 at +05:30: its periods by its own clock


def oracle_registry() -> Registry:
    meters = {}
    for e in ENTERPRISES:
        meters[f"{e}-el"] = {"quantity": "electricity_import", "interval_s": 900, "enterprise": e}
        meters[f"{e}-gas"] = {"quantity": "natural_gas", "interval_s": 900, "enterprise": e}
    reg = park_registry(
        meters,
        enterprises=ENTERPRISES,
        extra_parks={"p2": {"timezone": ZONES["p2"]}},
        enterprise_park=ENTERPRISES,
    )
    return registry_mod.attach_tariffs(reg, TARIFFS)


def _minute(span: str) -> tuple[int, int]:
    a, b = span.split("-")
    return tuple(int(x[:2]) * 60 + int(x[3:]) for x in (a, b))  # type: ignore[return-value]


def oracle_price(tariff: dict[str, Any], local: dt.datetime) -> tuple[dict[str, Any], str | None]:
    """The raw version and the period of a local instant, the slow obvious way."""
    day = local.date()
    for v in tariff["version"]:
        if v["valid_from"] <= day and ("valid_to" not in v or day < v["valid_to"]):
            break
    else:
        raise AssertionError(f"no version on {day}")
    if tariff["quantity"] != "electricity_import":
        return v, None
    rest = day.weekday() >= 5 or day in v.get("holidays", [])
    minute = local.hour * 60 + local.minute
    for s in v["schedule"]:
        days = s.get("days", "all")
        if day.month not in s["months"] or days == ("workdays" if rest else "rest_days"):
            continue
        for period in ("sharp", "peak", "flat", "valley"):
            for span in s.get(period, []):
                a, b = _minute(span)
                if (a <= minute < b) if a < b else (minute >= a or minute < b):
                    return v, period
    raise AssertionError(f"no period at {local}")


def oracle(
    cons: dict[str, np.ndarray], gas: dict[str, np.ndarray], start: int, bounds: np.ndarray,
    tz: str, peak_shift: float,
) -> dict[str, dict[str, list[float]]]:  # fmt: skip
    """Per enterprise of ``tz``'s parks, per period ``bounds[k]..bounds[k+1]``: the KPIs."""
    out: dict[str, dict[str, list[float]]] = {}
    for e, park in ENTERPRISES.items():
        if ZONES[park] != tz:
            continue
        own = TARIFFS["enterprise"].get(e, {}).get("electricity_import")
        el_t = TARIFFS["tariff"][own or TARIFFS["park"][park]["electricity_import"]]
        gas_t = TARIFFS["tariff"][TARIFFS["park"][park]["natural_gas"]]
        kva = TARIFFS["enterprise"].get(e, {}).get("transformer_kva", 0.0)
        rows: dict[str, list[float]] = {}
        for k in range(len(bounds) - 1):
            acc = dict.fromkeys(["sharp", "peak", "flat", "valley", "energy", "rate", "cap",
                                 "shift", "gas", "max_kw"], 0.0)  # fmt: skip
            for t in range(int(bounds[k]), int(bounds[k + 1]), WINDOW_MS):
                w = (t - start) // WINDOW_MS
                local = periods.from_ms(t, ZONES[park])
                v, period = oracle_price(el_t, local)
                assert period is not None
                kwh = float(cons[e][w])
                acc[period] += kwh
                acc["energy"] += kwh * v["prices"][period]
                month_start = local.date().replace(day=1)
                nxt = dt.date(month_start.year + month_start.month // 12,
                              month_start.month % 12 + 1, 1)  # fmt: skip
                n_month = (nxt - month_start).days * 96
                acc["rate"] += v.get("demand_cny_per_kw", 0.0) / n_month
                acc["cap"] += kva * v.get("capacity_cny_per_kva", 0.0) / n_month
                if period in ("sharp", "peak"):
                    acc["shift"] += kwh * (v["prices"][period] - v["prices"]["valley"])
                acc["max_kw"] = max(acc["max_kw"], 4 * kwh)
                gv, _ = oracle_price(gas_t, local)
                acc["gas"] += float(gas[e][w]) * gv["price"]
            elec = acc["energy"] + acc["max_kw"] * acc["rate"] + acc["cap"]
            high = acc["sharp"] + acc["peak"]
            total = high + acc["flat"] + acc["valley"]
            values = {
                **{f"electricity_kwh_{p}": acc[p] for p in ("sharp", "peak", "flat", "valley")},
                "electricity_cost_cny": elec,
                "gas_cost_cny": acc["gas"],
                "water_cost_cny": 0.0,
                "energy_cost_cny": elec + acc["gas"],
                "peak_share": high / total * 100,
                "peak_shift_saving_cny": peak_shift / 100 * acc["shift"],
            }
            for kpi, value in values.items():
                rows.setdefault(kpi, []).append(value)
        out[e] = rows
    return out


def test_vectorized_costs_equal_the_per_window_loop_across_version_changes() -> None:
    reg = oracle_registry()
    # December 2026 (Shanghai) plus a margin; p2's month is December in Kolkata.
    start = day_ms(2026, 11, 30)
    end = day_ms(2027, 1, 2)
    n = (end - start) // WINDOW_MS
    rng = np.random.default_rng(15)
    rows: list[tuple[str, int, float]] = []
    cons, gas = {}, {}
    ts = start + WINDOW_MS * np.arange(n + 1)
    for e in ENTERPRISES:
        reg_el = 100.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(0, 40, n))])
        reg_gas = 10.0 + np.concatenate([[0.0], np.cumsum(rng.uniform(0, 3, n))])
        cons[e], gas[e] = np.diff(reg_el), np.diff(reg_gas)
        rows += [(f"{e}-el", int(t), float(r)) for t, r in zip(ts, reg_el, strict=True)]
        rows += [(f"{e}-gas", int(t), float(r)) for t, r in zip(ts, reg_gas, strict=True)]
    table = compute_kpis(reg, columns(reg, rows), start, end, peak_shift=17.5)
    checked = 0
    for tz in sorted(set(ZONES.values())):
        for period in ("hour", "day", "month"):
            bounds = periods.boundaries(tz, period, start, end)  # type: ignore[arg-type]
            want = oracle(cons, gas, start, bounds, tz, 17.5)
            block = next(
                b for b in table.blocks
                if b.scope == "enterprise" and b.period == period and b.timezone == tz
            )  # fmt: skip
            assert block.starts.tolist() == bounds[:-1].tolist()
            for e, kpis in want.items():
                for kpi, values in kpis.items():
                    got = block.values[kpi][block.row_of(e)]
                    np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-9, err_msg=kpi)
                    checked += len(values)
    assert checked > 10 * 24 * 31 * 4
    # A park is the sum of its enterprises (each billed on its own demand).
    month = periods.boundaries(TZ, "month", start, end)
    p1 = table.value("park", "p1", "month", int(month[0]), "electricity_cost_cny")
    ents = sum(
        table.value("enterprise", e, "month", int(month[0]), "electricity_cost_cny")
        for e in ("e1", "e2", "e3")
    )
    assert p1 == pytest.approx(ents, rel=1e-12)
