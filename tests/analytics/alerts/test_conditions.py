"""The vectorized gap finder against a slow, obviously correct per-group loop."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.analytics.alerts.conditions import Segments, gaps


def oracle(
    groups: list[list[int]], limits: list[int], read_starts: list[int], until: int
) -> set[tuple]:
    out: set[tuple] = set()
    for g, ts in enumerate(groups):
        lim, read_start = limits[g], read_starts[g]
        if not ts:
            if until - read_start > lim:
                out.add((g, read_start + lim, until, True))
            continue
        if ts[0] - read_start > lim:
            out.add((g, read_start + lim, ts[0], True))
        out.add((g, ts[0], ts[0], False))
        for a, b in itertools.pairwise(ts):
            if b - a > lim:
                out.add((g, a + lim, b, True))
                out.add((g, b, b, False))
        if until - ts[-1] > lim:
            out.add((g, ts[-1] + lim, until, True))
    return out


def as_set(seg: Segments) -> set[tuple]:
    return {
        (int(g), int(s), int(e), bool(a))
        for g, s, e, a in zip(seg.subject, seg.start, seg.end, seg.active, strict=True)
    }


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 1000), max_size=12).map(lambda x: sorted(set(x))),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_gaps_match_the_oracle(groups: list[list[int]], data: st.DataObject) -> None:
    limits = data.draw(st.lists(st.integers(1, 300), min_size=len(groups), max_size=len(groups)))
    group = np.array([g for g, ts in enumerate(groups) for _ in ts], np.intp)
    ts = np.array([t for tss in groups for t in tss], np.int64)
    seg = gaps(group, ts, len(groups), np.array(limits, np.int64), 0, 1000)
    assert as_set(seg) == oracle(groups, limits, [0] * len(groups), 1000)
    # Each group may read from its own start (before its first reading).
    starts = [min([*tss, 1000]) - data.draw(st.integers(0, 400)) for tss in groups]
    per_group = gaps(group, ts, len(groups), np.array(limits, np.int64), np.array(starts), 1000)
    assert as_set(per_group) == oracle(groups, limits, starts, 1000)
    # Sorted by (subject, start), inactive first at equal instants.
    keys = list(zip(seg.subject.tolist(), seg.start.tolist(), seg.active.tolist(), strict=True))
    assert keys == sorted(keys)
    # Values are the silences in minutes, thresholds the limits in minutes.
    on = seg.active
    assert np.allclose(seg.threshold, np.array(limits)[seg.subject] / 60_000)
    assert np.all(seg.value[on] * 60_000 > np.array(limits)[seg.subject[on]] - 1e-9)


def test_pollutant_hours_agree_with_the_kpi_engines_exceedance_hours(park) -> None:  # type: ignore[no-untyped-def]
    from smartpark.analytics.alerts.conditions import RegistryArrays, pollutant_limit
    from smartpark.analytics.alerts.rules import Rule
    from smartpark.analytics.kpis.compute import compute_kpis
    from tests.analytics.alerts.conftest import HOUR, MIN, T0, minutes, readings

    rng = np.random.default_rng(11)
    ts = minutes(T0, T0 + 12 * HOUR)
    # Hourly levels around the limit (100 after correction), noise, and holes in the data.
    level = rng.uniform(70.0, 100.0, 12)[(ts - T0) // HOUR]
    keep = rng.random(ts.size) > 0.2
    nox = level * rng.uniform(0.95, 1.05, ts.size)
    o2 = rng.uniform(4.0, 8.0, ts.size)
    park.write(readings(park.reg, "e1-nox", ts[keep], nox[keep]))
    park.write(readings(park.reg, "e1-o2", ts, o2))
    rule = Rule("nox", "pollutant_limit", "warning", ("hook",), quantity="nox")
    subjects, seg = pollutant_limit(
        RegistryArrays(park.reg), park.store, rule, T0 - 1, T0 + 12 * HOUR
    )
    ours = seg.active[seg.start >= T0].astype(float)
    table = compute_kpis(
        park.reg,
        park.store.read(T0 - 10 * MIN, T0 + 12 * HOUR + 10 * MIN),
        T0,
        T0 + 12 * HOUR,
        ("hour",),
        ("enterprise",),
    )
    block = table.block("enterprise", "hour")
    theirs = block.values["nox_exceed_h"][block.row_of("e1")]
    assert subjects.ids == ("e1-nox",)
    assert 0 < ours.sum() < 12  # the data really straddles the limit
    assert ours.tolist() == theirs.tolist()


def test_shared_reads_slice_exactly_what_the_store_would_return(park) -> None:  # type: ignore[no-untyped-def]
    from smartpark.analytics.alerts.reads import SharedReads
    from tests.analytics.alerts.conftest import HOUR, MIN, T0, minutes, readings

    for k, meter in enumerate(("e1-nox", "e1-o2", "e1-power", "e2-power")):
        ts = minutes(T0 + k * MIN, T0 + 3 * HOUR, (k + 1) * MIN)
        park.write(readings(park.reg, meter, ts, np.arange(ts.size, dtype=float)))
    shared = SharedReads(park.store, len(park.reg.meter_ids))
    rng = np.random.default_rng(3)
    shared.read(T0, T0 + 3 * HOUR)  # everything: later reads inside it are slices
    for _ in range(30):
        a, b = sorted(rng.integers(T0, T0 + 3 * HOUR, 2).tolist())
        meters = np.sort(rng.choice(4, rng.integers(1, 5), replace=False)).astype(np.int32)
        got, want = shared.read(a, b, meters), park.store.read(a, b, meters)
        for column in ("meter", "ts", "value"):
            assert np.array_equal(getattr(got, column), getattr(want, column))
    assert shared.hits == 30
    shared.read(T0 - HOUR, T0)  # not covered: asks the store
    assert shared.misses == 2
