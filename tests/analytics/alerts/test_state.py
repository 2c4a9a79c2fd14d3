"""Crash safety of an evaluation step, subjects leaving a rule, a service that survives."""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.alerts import service
from smartpark.analytics.alerts.state import AlertState
from smartpark.core.errors import SmartparkError, StoreError
from smartpark.store.base import ReadingColumns
from tests.analytics.alerts.conftest import HOUR, MIN, T0, Park, minutes, readings
from tests.analytics.alerts.test_end_to_end import NOX_RULE, write_stack


def test_a_step_that_fails_mid_commit_leaves_nothing_and_is_redone_identically(
    park: Park, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stack(park, exceed_hours=(2,))
    ruleset = park.rules(NOX_RULE)
    now = T0 + 6 * HOUR
    calls = {"n": 0}
    real_enqueue = AlertState.enqueue

    def failing_enqueue(self: AlertState, *args: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_enqueue(self, *args)

    with AlertState(park.state_path) as state:
        monkeypatch.setattr(AlertState, "enqueue", failing_enqueue)
        with pytest.raises(OSError, match="disk full"):
            park.evaluator(ruleset, state).run_once(now)
        monkeypatch.undo()
        # The failing step rolled back whole: no event, no message, cursor before it.
        assert state.events() == []
        assert state.pending() == []
        assert state.all_active() == []
        cursor = state.cursor("nox")
        assert cursor is not None
        assert cursor < T0 + 3 * HOUR
        run = park.evaluator(ruleset, state).run_once(now)
        assert (run.firing, run.resolved, run.messages) == (1, 1, 2)
        assert [m.events[0]["state"] for m in state.pending()] == ["firing", "resolved"]


def test_an_alert_whose_subject_leaves_the_rule_resolves(park: Park) -> None:
    ts = minutes(T0 - 24 * HOUR, T0 + 3 * HOUR)
    park.write(readings(park.reg, "e2-power", ts, np.ones(ts.size)))
    rule = {"kind": "stale_meter", "intervals": 5, "channels": ["hook"], "meter": "e1-power"}
    with AlertState(park.state_path) as state:
        run = park.evaluator(park.rules({"stale": rule}), state).run_once(T0 + HOUR)
        assert run.firing == 1
        moved = dict(rule, meter="e2-power")
        run = park.evaluator(park.rules({"stale": moved}), state).run_once(T0 + 2 * HOUR)
        assert (run.firing, run.resolved) == (0, 1)
        assert state.events()[-1]["id"] == "e1-power"
        assert state.all_active() == []


class FlakyStore:
    """The real store, whose first read fails as a store that is down would."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.failures = 1

    def read(self, *args: Any, **kwargs: Any) -> ReadingColumns:
        if self.failures:
            self.failures -= 1
            raise StoreError("store unreachable")
        return self.store.read(*args, **kwargs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_follow_survives_a_store_failure_and_delivers_on_the_next_cycle(park: Park) -> None:
    # e1-power has never reported: stale on the first successful cycle.
    rule = {"kind": "stale_meter", "intervals": 5, "channels": ["hook"], "meter": "e1-power"}
    ruleset = park.rules({"stale": rule})
    out = io.StringIO()
    service.serve(
        park.reg,
        ruleset,
        FlakyStore(park.store),  # type: ignore[arg-type]
        park.state_path,
        "follow",
        interval_s=0.01,
        out=out,
        stop=threading.Event(),
        max_cycles=2,
    )
    assert [r.json()["id"] for r in park.receiver.accepted] == ["e1-power"]


def test_dry_run_changes_no_state(park: Park) -> None:
    ts = minutes(T0, T0 + MIN)
    park.write(readings(park.reg, "e2-power", ts, np.ones(ts.size)))
    rule = {"kind": "stale_meter", "intervals": 5, "channels": ["hook"], "meter": "e1-power"}
    ruleset = park.rules({"stale": rule})
    with AlertState(park.state_path) as state:
        state.set_cursor("other", 123)
    before = park.state_path.read_bytes()
    out = io.StringIO()
    service.serve(park.reg, ruleset, park.store, park.state_path, "dry_run", out=out)
    assert "would POST to channel hook (webhook)" in out.getvalue()
    assert '"id":"e1-power"' in out.getvalue()
    assert park.receiver.requests == []
    with AlertState(park.state_path) as state:
        assert state.events() == []
        assert state.cursor("stale") is None
        assert state.cursor("other") == 123
    assert park.state_path.read_bytes() == before


def test_one_evaluator_per_state_file(park: Park) -> None:
    rule = {"kind": "stale_meter", "intervals": 5, "channels": ["hook"], "meter": "e1-power"}
    ruleset = park.rules({"stale": rule})
    holder = service._Lock(park.state_path)
    try:
        with pytest.raises(service.StateBusyError, match="another `smartpark alerts` process"):
            service.serve(park.reg, ruleset, park.store, park.state_path, "once", out=io.StringIO())
        # A dry run works on a copy and needs no lock.
        service.serve(park.reg, ruleset, park.store, park.state_path, "dry_run", out=io.StringIO())
    finally:
        holder.release()
    service.serve(park.reg, ruleset, park.store, park.state_path, "once", out=io.StringIO())
    assert len(park.receiver.accepted) == 1
    with pytest.raises(SmartparkError, match="cannot open the lock file"):
        service.serve(
            park.reg, ruleset, park.store, park.tmp / "no" / "such.db", "once", out=io.StringIO()
        )
