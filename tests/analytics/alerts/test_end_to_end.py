"""Readings through the real SQLite store, alerts to a real HTTP receiver on loopback."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from smartpark.analytics.alerts import signing
from smartpark.analytics.alerts.channels import BODY_FIELDS
from smartpark.analytics.alerts.state import AlertState
from tests.analytics.alerts.conftest import HOUR, MIN, SECRET, T0, Park, minutes, readings

NOX_RULE = {"nox": {"kind": "pollutant_limit", "quantity": "nox", "channels": ["hook"]}}


def write_stack(park: Park, exceed_hours: tuple[int, ...], hours: int = 6) -> None:
    """NOx 80 mg/m3 at O2 6 %, except 90 in ``exceed_hours``: corrected 93.3 vs 105.0."""
    ts = minutes(T0, T0 + hours * HOUR)
    hour = (ts - T0) // HOUR
    nox = np.where(np.isin(hour, exceed_hours), 90.0, 80.0)
    park.write(readings(park.reg, "e1-nox", ts, nox))
    park.write(readings(park.reg, "e1-o2", ts, np.full(ts.size, 6.0)))


def verify(request) -> bool:  # type: ignore[no-untyped-def]
    return signing.verify(
        SECRET,
        request.headers["X-Smartpark-Timestamp"],
        request.headers["X-Smartpark-Signature"],
        request.body,
    ).ok


def test_exceedance_fires_once_and_resolves_once_with_signed_bodies(park: Park) -> None:
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE)
    now = T0 + 6 * HOUR + 5 * MIN
    with AlertState(park.state_path) as state:
        run = park.evaluator(ruleset, state).run_once(now)
        assert (run.firing, run.resolved, run.messages) == (1, 1, 2)
        report = park.deliverer(ruleset, state).deliver_due(now)
        assert report.delivered == 2

    got = park.receiver.accepted
    assert [r.json()["state"] for r in got] == ["firing", "resolved"]
    firing, resolved = got[0].json(), got[1].json()
    assert list(firing) == list(BODY_FIELDS)
    # Known answer: 90 mg/m3 at O2 6 % with O2_ref 3.5 % -> 90 * 17.5 / 15 = 105.
    assert firing["value"] == pytest.approx(105.0)
    assert firing["threshold"] == 100.0
    assert firing["unit"] == "mg/m3"
    assert (firing["scope"], firing["id"], firing["rule"]) == ("meter", "e1-nox", "nox")
    assert firing["starts_at"] == "2026-11-20T02:00:00+08:00"
    assert firing["ends_at"] is None
    assert resolved["ends_at"] == "2026-11-20T03:00:00+08:00"
    assert firing["fingerprint"] == resolved["fingerprint"]
    assert all(verify(r) for r in got)
    assert int(got[0].headers["X-Smartpark-Timestamp"]) == now // 1000


def test_restart_resends_nothing_and_catches_up(park: Park) -> None:
    write_stack(park, exceed_hours=(2,), hours=6)
    ruleset = park.rules(NOX_RULE)
    with AlertState(park.state_path) as state:
        park.evaluator(ruleset, state).run_once(T0 + 6 * HOUR)
        park.deliverer(ruleset, state).deliver_due(T0 + 6 * HOUR)
    assert len(park.receiver.accepted) == 2

    # A new process on the same state file, an hour later: nothing new happened.
    with AlertState(park.state_path) as state:
        run = park.evaluator(ruleset, state).run_once(T0 + 7 * HOUR)
        assert (run.firing, run.resolved, run.messages) == (0, 0, 0)
        assert park.deliverer(ruleset, state).deliver_due(T0 + 7 * HOUR).delivered == 0
    assert len(park.receiver.accepted) == 2

    # Stopped for hours; meanwhile hour 9 exceeded. The next run catches up on it.
    ts = minutes(T0 + 6 * HOUR, T0 + 12 * HOUR)
    nox = np.where((ts - T0) // HOUR == 9, 90.0, 80.0)
    park.write(readings(park.reg, "e1-nox", ts, nox))
    park.write(readings(park.reg, "e1-o2", ts, np.full(ts.size, 6.0)))
    with AlertState(park.state_path) as state:
        run = park.evaluator(ruleset, state).run_once(T0 + 12 * HOUR)
        assert (run.firing, run.resolved) == (1, 1)
        park.deliverer(ruleset, state).deliver_due(T0 + 12 * HOUR)
    bodies = [r.json() for r in park.receiver.accepted]
    assert [b["starts_at"] for b in bodies[2:]] == ["2026-11-20T09:00:00+08:00"] * 2
    assert len({(b["fingerprint"], b["state"]) for b in bodies}) == 4


def test_receiver_answering_500_gets_the_alert_once_it_recovers(park: Park) -> None:
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE)
    park.receiver.status = 500
    now = T0 + 6 * HOUR
    with AlertState(park.state_path) as state:
        park.evaluator(ruleset, state).run_once(now)
        deliverer = park.deliverer(ruleset, state)
        first = deliverer.deliver_due(now)
        # The firing message failed; the resolved one waits behind it (order kept).
        assert (first.delivered, first.failed, first.waiting) == (0, 1, 1)
        assert deliverer.deliver_due(now + 1000).waiting == 2  # backoff not elapsed
        park.receiver.status = 200
        later = deliverer.deliver_due(now + 10 * MIN)
        assert later.delivered == 2
        assert deliverer.deliver_due(now + 60 * MIN).delivered == 0
        assert state.pending() == []
    assert [r.status for r in park.receiver.requests] == [500, 200, 200]
    assert [r.json()["state"] for r in park.receiver.accepted] == ["firing", "resolved"]


def test_receiver_that_is_down_gets_the_alert_after_it_comes_back(park: Park) -> None:
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE, timeout_s=2.0)
    park.receiver.stop()
    now = T0 + 6 * HOUR
    with AlertState(park.state_path) as state:
        park.evaluator(ruleset, state).run_once(now)
        report = park.deliverer(ruleset, state).deliver_due(now)
        assert report.failed == 1
        assert state.pending()[0].reason.startswith("transport_error")
    park.receiver.start()
    # A restarted process delivers from the durable outbox.
    with AlertState(park.state_path) as state:
        assert park.deliverer(ruleset, state).deliver_due(now + 30 * MIN).delivered == 2
    assert [r.json()["state"] for r in park.receiver.accepted] == ["firing", "resolved"]


def test_receiver_that_always_fails_is_dead_lettered_with_reason(park: Park) -> None:
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE, max_attempts=3)
    park.receiver.status = 503
    now = T0 + 6 * HOUR
    with AlertState(park.state_path) as state:
        park.evaluator(ruleset, state).run_once(now)
        deliverer = park.deliverer(ruleset, state)
        for k in range(8):  # far apart: every backoff has elapsed
            deliverer.deliver_due(now + k * HOUR)
        dead = state.dead()
        assert len(dead) == 2
        assert all(m.attempts == 3 and m.reason == "http_503" for m in dead)
        assert state.pending() == []
    assert len(park.receiver.requests) == 6


def test_for_duration_needs_consecutive_hours(park: Park) -> None:
    write_stack(park, exceed_hours=(1, 3, 4), hours=7)
    rule = dict(NOX_RULE["nox"], **{"for": "2h"})
    ruleset = park.rules({"nox": rule})
    with AlertState(park.state_path) as state:
        run = park.evaluator(ruleset, state).run_once(T0 + 7 * HOUR)
        events = state.events()
    # Hour 1 alone stays pending; hours 3-4 fire once (starting at 3:00), 5 resolves.
    assert (run.firing, run.resolved) == (1, 1)
    assert events[0]["starts_at"] == "2026-11-20T03:00:00+08:00"
    assert events[1]["ends_at"] == "2026-11-20T05:00:00+08:00"


def test_one_broken_park_is_one_message(tmp_path, receiver) -> None:  # type: ignore[no-untyped-def]
    from tests.analytics.alerts.conftest import park_registry

    park = Park(tmp_path, receiver, park_registry(stale_meters=40))
    try:
        now = T0 + 26 * HOUR
        # Every meter of p1 reports; the 40 water meters of gateway g3 (park p2) never do.
        for meter in ("e1-nox", "e1-o2", "e1-power", "e2-power"):
            ts = minutes(T0, now)
            park.write(readings(park.reg, meter, ts, np.ones(ts.size)))
        ruleset = park.rules(
            {
                "stale": {"kind": "stale_meter", "intervals": 5, "channels": ["hook"]},
                "offline": {"kind": "gateway_offline", "minutes": 10, "channels": ["hook"]},
            }
        )
        with AlertState(park.state_path) as state:
            run = park.evaluator(ruleset, state).run_once(now)
            assert run.firing == 41  # 40 meters + gateway g3
            park.deliverer(ruleset, state).deliver_due(now)
        bodies = [r.json() for r in receiver.accepted]
        assert len(bodies) == 2
        stale = next(b for b in bodies if b["rule"] == "stale")
        assert (stale["scope"], stale["id"], stale["value"], stale["unit"]) == (
            "park",
            "p2",
            40,
            "alerts",
        )
        assert {a["id"] for a in stale["alerts"]} == {f"e2-flow-{k:03d}" for k in range(40)}
        offline = next(b for b in bodies if b["rule"] == "offline")
        assert (offline["scope"], offline["id"]) == ("gateway", "g3")
        assert all(verify(r) for r in receiver.accepted)
    finally:
        park.store.close()


def test_stale_meter_resolves_when_readings_return(park: Park) -> None:
    # Readings for a day, a silence from 01:00 to 02:00, readings again.
    ts = np.concatenate([minutes(T0 - 24 * HOUR, T0 + HOUR), minutes(T0 + 2 * HOUR, T0 + 3 * HOUR)])
    park.write(readings(park.reg, "e1-power", ts, np.ones(ts.size)))
    ruleset = park.rules(
        {
            "stale": {
                "kind": "stale_meter",
                "intervals": 5,
                "meter": "e1-power",
                "channels": ["hook"],
            }
        }
    )
    with AlertState(park.state_path) as state:
        evaluator = park.evaluator(ruleset, state)
        # Evaluated in the middle of the silence: firing, and still firing a bit later.
        assert evaluator.run_once(T0 + HOUR + 30 * MIN).firing == 1
        assert evaluator.run_once(T0 + HOUR + 45 * MIN).firing == 0
        run = evaluator.run_once(T0 + 3 * HOUR)
        assert (run.firing, run.resolved) == (0, 1)
        firing, resolved = state.events()
    # The last reading was at 00:59; five 1-minute intervals later it is stale.
    assert firing["starts_at"] == "2026-11-20T01:04:00+08:00"
    assert resolved["ends_at"] == "2026-11-20T02:00:00+08:00"
    assert firing["threshold"] == 5.0


def test_kpi_threshold_on_daily_rows(park: Park) -> None:
    from smartpark.store.base import KpiRow

    day = 24 * HOUR
    park.store.write_kpis(
        [
            KpiRow("park", "p1", "day", "carbon_per_energy", T0, 0.25),
            KpiRow("park", "p1", "day", "carbon_per_energy", T0 + day, 0.15),
            KpiRow("park", "p2", "day", "carbon_per_energy", T0, 0.10),
            KpiRow("park", "p1", "day", "energy_tce", T0, 9.0),
        ]
    )
    ruleset = park.rules(
        {
            "carbon": {
                "kind": "kpi_threshold",
                "kpi": "carbon_per_energy",
                "scope": "park",
                "period": "day",
                "above": 0.2,
                "channels": ["hook"],
            }
        }
    )
    with AlertState(park.state_path) as state:
        evaluator = park.evaluator(ruleset, state)
        assert evaluator.run_once(T0 + day + HOUR).firing == 1
        run = evaluator.run_once(T0 + 2 * day + HOUR)
        assert (run.firing, run.resolved) == (0, 1)
        firing, resolved = state.events()
    assert (firing["id"], firing["value"], firing["unit"]) == ("p1", 0.25, "tCO2/tce")
    assert resolved["ends_at"] == "2026-11-21T00:00:00+08:00"


def test_completeness_and_rate_of_change(park: Park) -> None:
    # e1-power: every minute for hour 0, every 2 minutes (50 %) in hour 1, a jump in hour 2.
    ts = np.concatenate([minutes(T0, T0 + HOUR), minutes(T0 + HOUR, T0 + 3 * HOUR, 2 * MIN)])
    value = np.where(ts >= T0 + 2 * HOUR + 30 * MIN, 500.0, 100.0)
    park.write(readings(park.reg, "e1-power", ts, value))
    ruleset = park.rules(
        {
            "complete": {
                "kind": "completeness",
                "below": 0.8,
                "meter": "e1-power",
                "channels": ["hook"],
            },
            "jump": {
                "kind": "rate_of_change",
                "quantity": "active_power",
                "above": 1000.0,
                "meter": "e1-power",
                "channels": ["hook"],
            },
        }
    )
    with AlertState(park.state_path) as state:
        park.evaluator(ruleset, state).run_once(T0 + 3 * HOUR)
        events = {e["rule"]: e for e in state.events() if e["state"] == "firing"}
    assert events["complete"]["starts_at"] == "2026-11-20T01:00:00+08:00"
    assert events["complete"]["value"] == pytest.approx(50.0)
    # 400 kW in 2 minutes = 12 000 kW/h.
    assert events["jump"]["value"] == pytest.approx(12_000.0)
    assert events["jump"]["starts_at"] == "2026-11-20T02:00:00+08:00"


def test_resolve_for_keeps_one_alert_through_a_short_clear_spell(park: Park) -> None:
    write_stack(park, exceed_hours=(1, 3), hours=7)
    rule = dict(NOX_RULE["nox"], resolve_for="2h")
    ruleset = park.rules({"nox": rule})
    with AlertState(park.state_path) as state:
        run = park.evaluator(ruleset, state).run_once(T0 + 7 * HOUR)
        events = state.events()
    # Hour 2 is below the limit but only for 1 h < 2 h: still the same alert. Hours 4-5
    # below: resolved, as of 04:00 when the condition turned false.
    assert (run.firing, run.resolved) == (1, 1)
    assert events[0]["starts_at"] == "2026-11-20T01:00:00+08:00"
    assert events[1]["ends_at"] == "2026-11-20T04:00:00+08:00"
    assert events[0]["fingerprint"] == events[1]["fingerprint"]


def test_resolve_for_on_a_stale_meter(park: Park) -> None:
    ts = np.concatenate(
        [
            minutes(T0 - 24 * HOUR, T0 + HOUR),  # then silent 01:00-02:00
            minutes(T0 + 2 * HOUR, T0 + 2 * HOUR + 10 * MIN),  # then silent 02:10-03:00
            minutes(T0 + 3 * HOUR, T0 + 4 * HOUR),
        ]
    )
    park.write(readings(park.reg, "e1-power", ts, np.ones(ts.size)))
    rule = {
        "kind": "stale_meter",
        "intervals": 5,
        "meter": "e1-power",
        "resolve_for": "30m",
        "channels": ["hook"],
    }
    with AlertState(park.state_path) as state:
        evaluator = park.evaluator(park.rules({"stale": rule}), state)
        assert evaluator.run_once(T0 + 2 * HOUR + 20 * MIN).firing == 1
        # Readings back at 03:00; 20 minutes later the alert is still clearing.
        run = evaluator.run_once(T0 + 3 * HOUR + 20 * MIN)
        assert (run.firing, run.resolved) == (0, 0)
        run = evaluator.run_once(T0 + 3 * HOUR + 40 * MIN)
        assert (run.firing, run.resolved) == (0, 1)
        firing, resolved = state.events()
    assert firing["starts_at"] == "2026-11-20T01:04:00+08:00"
    assert resolved["ends_at"] == "2026-11-20T03:00:00+08:00"


def test_kpi_over_the_parks_target(park: Park) -> None:
    from smartpark.store.base import KpiRow

    park.store.write_kpis(
        [
            KpiRow("park", "p1", "day", "energy_tce", T0, 12.0),  # target 10: over
            KpiRow("park", "p2", "day", "energy_tce", T0, 99.0),  # no target: never
        ]
    )
    rule = {
        "kind": "kpi_threshold",
        "kpi": "energy_tce",
        "scope": "park",
        "period": "day",
        "above": "target",
        "channels": ["hook"],
    }
    with AlertState(park.state_path) as state:
        run = park.evaluator(park.rules({"energy": rule}), state).run_once(T0 + 25 * HOUR)
        assert run.firing == 1
        (firing,) = state.events()
    assert (firing["id"], firing["value"], firing["threshold"]) == ("p1", 12.0, 10.0)


@pytest.mark.servers
def test_exceedance_through_influxdb_fires_once_and_resolves_once(
    park: Park, influxd: Any, influx_db: str
) -> None:
    from smartpark.core.urls import parse_store_url
    from smartpark.store.influx import InfluxStore

    park.store.close()
    park.store = InfluxStore(parse_store_url(influxd.store_url(influx_db)), park.reg)  # type: ignore[assignment]
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE)
    for now in (T0 + 6 * HOUR, T0 + 7 * HOUR):  # the second run is a restart: nothing new
        with AlertState(park.state_path) as state:
            park.evaluator(ruleset, state).run_once(now)
            park.deliverer(ruleset, state).deliver_due(now)
    bodies = [r.json() for r in park.receiver.accepted]
    assert [b["state"] for b in bodies] == ["firing", "resolved"]
    assert bodies[0]["value"] == pytest.approx(105.0)
    assert all(verify(r) for r in park.receiver.accepted)


def test_a_meter_read_by_hand_keeps_no_gateway_online(tmp_path, receiver) -> None:  # type: ignore[no-untyped-def]
    from smartpark.analytics.alerts.conditions import RegistryArrays, gateway_offline
    from smartpark.core.registry import from_dict

    doc = {
        "zone": {"z": {"name": "Zone", "timezone": "Asia/Shanghai"}},
        "park": {"p1": {"zone": "z", "name": "Park 1"}, "p2": {"zone": "z", "name": "Park 2"}},
        "enterprise": {"e1": {"park": "p1", "name": "E1"}, "e2": {"park": "p2", "name": "E2"}},
        "gateway": {"g1": {"park": "p1"}, "g2": {"park": "p2"}},
        "meter": {
            "e1-power": {"enterprise": "e1", "gateway": "g1", "quantity": "active_power"},
            "e2-power": {"enterprise": "e2", "gateway": "g2", "quantity": "active_power"},
            "e2-gas": {"enterprise": "e2", "source": "manual", "quantity": "natural_gas"},
        },
    }
    reg = from_dict(doc)
    park = Park(tmp_path, receiver, reg)
    try:
        now = T0 + 2 * HOUR
        # Only the hand-read meter has readings: both gateways are silent.
        ts = minutes(T0 - HOUR, now, step_ms=10 * MIN)
        park.write(readings(reg, "e2-gas", ts, np.arange(ts.size, dtype=float)))
        ruleset = park.rules(
            {"offline": {"kind": "gateway_offline", "minutes": 10, "channels": ["hook"]}}
        )
        rule = next(iter(ruleset.rules.values()))
        subjects, seg = gateway_offline(RegistryArrays(reg), park.store, rule, T0, now)
    finally:
        park.store.close()
    assert subjects.ids == ("g1", "g2")  # no subject for the hand-read meter's "gateway"
    # Both are offline throughout: the hand-read meter's readings speak for neither.
    for row in (0, 1):
        active = (seg.subject == row) & seg.active
        assert active.any(), row
        assert seg.start[active].min() <= T0
        assert seg.end[active].max() >= now
