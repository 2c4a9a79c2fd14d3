import numpy as np
import pytest

from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.analytics.readings import counters
from smartpark.store.base import ReadingColumns

from .parks import DAY_MS, HOUR_MS, columns, day_ms, park_registry

MIN = 60_000
START = day_ms(2026, 11, 1)
IMPORT = {"quantity": "electricity_import", "interval_s": 60}


def clean_one(values: list[float], register_max: float = np.nan, multiplier: float = 1.0):
    cols = ReadingColumns(
        np.zeros(len(values), np.int32),
        np.arange(len(values), dtype=np.int64) * MIN,
        np.array(values, np.float64),
    )
    return counters.clean(cols, 1, np.array([multiplier]), np.array([register_max]))


def test_reset_counts_the_new_reading_as_consumption_since_reset() -> None:
    result = clean_one([100, 150, 20, 50])
    assert result.delta.tolist() == [0, 50, 20, 30]
    assert result.delta.sum() == 100
    assert result.events.count("reset") == 1


def test_rollover_adds_the_register_range() -> None:
    result = clean_one([99_990, 99_998, 5, 12], register_max=99_999.99)
    assert result.delta.sum() == pytest.approx(8 + (5 + 99_999.99 - 99_998) + 7)
    assert result.events.count("rollover") == 1
    assert result.events.count("reset") == 0


def test_fall_from_low_register_is_a_reset_even_with_register_max() -> None:
    result = clean_one([100, 150, 20, 50], register_max=99_999.99)
    assert result.delta.sum() == 100
    assert result.events.count("reset") == 1


def test_multiplier_scales_consumption() -> None:
    assert clean_one([1, 2, 4], multiplier=40.0).delta.sum() == 120


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([100, 150, 1e9, 200], "isolated_spike"),
        ([100, 150, 0, 200], "isolated_spike"),
        ([100, 150, -5, 200], "negative_reading"),
        ([100, 150, float("nan"), 200], "non_finite"),
    ],
)
def test_impossible_readings_are_dropped_and_counted(values: list[float], reason: str) -> None:
    result = clean_one(values)
    assert result.delta.sum() == 100
    assert result.events.count(reason) == 1
    assert result.events.count("reset") == 0


def test_register_noise_below_jitter_is_not_a_reset() -> None:
    result = clean_one([1e6, 1e6 - 1e-6, 1e6 + 10])
    assert result.events.count("reset") == 0
    assert result.delta.sum() == pytest.approx(10, abs=1e-5)


@pytest.mark.parametrize("dense", [True, False])
def test_a_delta_straddling_an_hour_is_apportioned_by_time(dense: bool) -> None:
    reg = park_registry({"m": IMPORT})
    # 0 at 00:00, 90 at 01:30: 60 in the first hour, 30 in the second.
    cols = columns(reg, [("m", START, 0.0), ("m", START + 90 * MIN, 90.0)])
    table = compute_kpis(reg, cols, START, START + 2 * HOUR_MS, ["hour"], use_dense=dense)
    block = table.block("enterprise", "hour")
    assert block.values["electricity_kwh"][0].tolist() == pytest.approx([60.0, 30.0])


@pytest.mark.parametrize("dense", [True, False])
def test_a_day_alone_equals_the_same_day_inside_the_month(dense: bool) -> None:
    reg = park_registry(
        {"m": {**IMPORT, "interval_s": 600}, "w": {"quantity": "fresh_water", "interval_s": 3600}}
    )
    rng = np.random.default_rng(3)
    rows = []
    for meter, step in (("m", 600_000), ("w", 3_600_000)):
        t = START - 2 * DAY_MS + 7 * MIN  # off the hour grid: every day edge straddles
        v = 0.0
        while t < START + 5 * DAY_MS:
            rows.append((meter, t, v))
            t += step + int(rng.integers(-30_000, 30_000))
            v += float(rng.uniform(0, 10))
    cols = columns(reg, rows)
    day = START + 2 * DAY_MS
    whole = compute_kpis(reg, cols, START, START + 5 * DAY_MS, ["day"], use_dense=dense)
    # The day alone: its readings plus each meter's last before and first after.
    keep = np.zeros(len(cols), np.bool_)
    for code in range(2):
        of_meter = np.flatnonzero(cols.meter == code)
        ts = cols.ts[of_meter]
        inside = (ts >= day) & (ts < day + DAY_MS)
        keep[of_meter[inside]] = True
        keep[of_meter[np.flatnonzero(ts < day)[-1]]] = True
        keep[of_meter[np.flatnonzero(ts >= day + DAY_MS)[0]]] = True
    alone = compute_kpis(reg, cols.take(keep), day, day + DAY_MS, ["day"], use_dense=dense)
    for kpi in ("electricity_kwh", "fresh_water_m3"):
        assert alone.value("enterprise", "e1", "day", day, kpi) == pytest.approx(
            whole.value("enterprise", "e1", "day", day, kpi), rel=1e-12
        )
        assert alone.value("enterprise", "e1", "day", day, kpi) > 0


@pytest.mark.parametrize("dense", [True, False])
def test_single_reading_and_no_reading_give_zero_not_a_crash(dense: bool) -> None:
    reg = park_registry({"m": IMPORT, "n": IMPORT})
    cols = columns(reg, [("m", START + HOUR_MS, 123.0)])
    table = compute_kpis(reg, cols, START, START + DAY_MS, ["day"], use_dense=dense)
    assert table.value("enterprise", "e1", "day", START, "electricity_kwh") == 0.0
    assert table.value("enterprise", "e1", "day", START, "stale_meters") == 2.0
    empty = compute_kpis(reg, ReadingColumns.empty(), START, START + DAY_MS, ["day"])
    assert empty.value("park", "p1", "day", START, "electricity_kwh") == 0.0
    assert empty.value("park", "p1", "day", START, "completeness") == 0.0
    assert np.isnan(empty.value("park", "p1", "day", START, "carbon_per_energy"))


def test_resets_and_spikes_are_reported_per_period() -> None:
    reg = park_registry({"m": IMPORT})
    values = [0, 10, 20, 5, 15, 1e9, 25, 35]
    cols = columns(reg, [("m", START + k * MIN, float(v)) for k, v in enumerate(values)])
    table = compute_kpis(reg, cols, START, START + HOUR_MS, ["hour"])
    assert table.value("enterprise", "e1", "hour", START, "resets") == 1
    assert table.value("enterprise", "e1", "hour", START, "spikes_dropped") == 1
    # 10 + 10 + 5 (reset) + 10 + (25-15) + 10
    assert table.value("enterprise", "e1", "hour", START, "electricity_kwh") == 55


def test_gauge_means_and_maxima_per_window_hold_each_sample_until_the_next() -> None:
    from smartpark.analytics.readings import gauges
    from smartpark.analytics.readings.series import SeriesIndex

    # Samples at 0, 5, 10 min (then a 40-minute gap: holds at most 2 intervals).
    cols = ReadingColumns(
        np.zeros(4, np.int32),
        np.array([0, 5, 10, 50], np.int64) * MIN,
        np.array([10.0, 20.0, 40.0, 5.0]),
    )
    index = SeriesIndex.build(cols, 1)
    held = gauges.hold(index, cols.value, np.array([5 * MIN]))
    points = np.array([0, 15, 30, 45, 60], np.int64) * MIN
    integral, covered = gauges.window_integrals(held, np.array([0], np.int32), points)
    assert (covered[0] / MIN).tolist() == [15, 5, 0, 5]
    used = [0, 1, 3]
    assert (integral[0, used] / covered[0, used]).tolist() == pytest.approx(
        [(10 * 5 + 20 * 5 + 40 * 5) / 15, 40.0, 5.0]
    )
    maxima = gauges.window_max(index, cols.value, np.array([0], np.int32), points)
    assert maxima[0, [0, 3]].tolist() == [40.0, 5.0]
    assert np.isnan(maxima[0, 1])
    assert np.isnan(maxima[0, 2])
