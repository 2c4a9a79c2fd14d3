"""Evaluation: rule conditions → alert state machine → grouped outbox messages.

Per rule, an alert for one subject (a meter, gateway, enterprise, park or zone) goes::

    (none) ──condition true──▶ pending ──true for `for`──▶ firing ──false──▶ resolved
                                  └──────false───────▶ (none, nothing sent)

Each rule keeps a cursor: the time up to which it was evaluated. ``run_once(now)``
evaluates, rule by rule, every closed period between the cursor and ``now`` (on the
first run, the last 24 hours) in steps of at most :data:`STEP_MS`; each step commits
its cursor, its alert changes and its outbox messages in one SQLite transaction. A
crash loses at most the step in progress, which the next run redoes identically; a
step already committed is never evaluated again, so nothing is sent twice.

Firing and resolved alerts of one rule, one state and one park in one step become one
message per channel (grouping), so a park whose gateway dies yields one message, not
one per meter.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from smartpark.analytics.alerts.conditions import (
    CONDITIONS,
    KPI_KINDS,
    PERIODIC_HOURLY,
    RegistryArrays,
    Segments,
    Subjects,
    unit_of,
)
from smartpark.analytics.alerts.projections import SETTLE_MS
from smartpark.analytics.alerts.reads import SharedReads
from smartpark.analytics.alerts.rules import Rule, RuleSet
from smartpark.analytics.alerts.state import Active, AlertState
from smartpark.core.logs import get_logger
from smartpark.store.base import Store

FIRST_RUN_LOOKBACK_MS: Final = 24 * 3_600_000
STEP_MS: Final = 6 * 3_600_000
GAP_KINDS: Final = ("stale_meter", "gateway_offline")
GRID_MS: Final = 15 * 60_000  # every time zone offset is a multiple of 15 minutes

log = get_logger("analytics.alerts.evaluate")


def fingerprint(rule: str, scope: str, ident: str, since_ms: int) -> str:
    """Stable id of one alert (one episode of one rule on one subject)."""
    key = f"{rule}\x1f{scope}\x1f{ident}\x1f{since_ms}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


def rfc3339(ms: int, timezone: str) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(ZoneInfo(timezone))
    return moment.isoformat(timespec="seconds")


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass
class RunReport:
    steps: int = 0
    firing: int = 0
    resolved: int = 0
    messages: int = 0
    per_rule: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"steps={self.steps} firing={self.firing} resolved={self.resolved} "
            f"messages={self.messages}"
        )


class Evaluator:
    def __init__(
        self,
        arrays: RegistryArrays,
        ruleset: RuleSet,
        store: Store,
        state: AlertState,
    ) -> None:
        self.arrays = arrays
        self.ruleset = ruleset
        self.store = store
        self.state = state
        self._reads: SharedReads | None = None  # during ``run_once``
        # Staged by ``step`` for ``_commit``: alerts to upsert, (scope, id) to drop.
        self._changes: tuple[list[Active], list[tuple[str, str]]] = ([], [])

    def target_ms(self, rule: Rule, now_ms: int) -> int:
        """Evaluate up to here: the last 15-minute grid point for periodic rules (for
        month closes, :data:`~.projections.SETTLE_MS` earlier)."""
        if rule.kind == "dual_control_projection":
            return (now_ms - SETTLE_MS) // GRID_MS * GRID_MS
        if rule.kind in PERIODIC_HOURLY or rule.kind in KPI_KINDS:
            return now_ms // GRID_MS * GRID_MS
        return now_ms // 1000 * 1000

    def run_once(self, now_ms: int) -> RunReport:
        self._reads = SharedReads(self.store, self.arrays.n)
        try:
            return self._run_once(now_ms)
        finally:
            self._reads = None

    def _run_once(self, now_ms: int) -> RunReport:
        report = RunReport()
        with self.state.transaction():
            dropped = self.state.forget_rules_except(self.ruleset.rules)
        if dropped:
            log.warning("alerts_forgotten", reason="rule not in the rules file", alerts=dropped)
        for rule in self.ruleset.rules.values():
            target = self.target_ms(rule, now_ms)
            cursor = self.state.cursor(rule.id)
            if cursor is None:
                cursor = target - FIRST_RUN_LOOKBACK_MS
            while cursor < target:
                step_end = min(target, cursor + STEP_MS)
                events = self.step(rule, cursor, step_end)
                report.steps += 1
                report.messages += self._commit(rule, step_end, events, now_ms)
                for e in events:
                    if e["state"] == "firing":
                        report.firing += 1
                    else:
                        report.resolved += 1
                report.per_rule[rule.id] = report.per_rule.get(rule.id, 0) + len(events)
                cursor = step_end
        return report

    # -- one rule, one step --------------------------------------------------------------

    def step(self, rule: Rule, after_ms: int, until_ms: int) -> list[dict[str, Any]]:
        """Evaluate ``rule`` over ``(after_ms, until_ms]``; stage state changes, return events."""
        store = self._reads or self.store
        subjects, seg = CONDITIONS[rule.kind](self.arrays, store, rule, after_ms, until_ms)
        stored = self.state.active(rule.id)
        row_of = {subjects.key(k): k for k in range(len(subjects))}
        wanted = np.array([row_of[key] for key in stored if key in row_of], np.intp)
        seg = seg.keep_subjects(wanted)
        events: list[dict[str, Any]] = []
        self._changes = ([], [])
        # Alerts whose subject the rule no longer covers (registry or filter changed).
        for (scope, ident), alert in stored.items():
            if (scope, ident) not in row_of:
                if alert.status == "firing":
                    unit = unit_of(self.arrays, rule, ident)
                    events.append(self._event(rule, alert, "resolved", after_ms, unit, "", "UTC"))
                self._changes[1].append((scope, ident))
        if len(seg) == 0:
            return events
        bounds = np.flatnonzero(np.r_[True, seg.subject[1:] != seg.subject[:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            k = int(seg.subject[a])
            key = subjects.key(k)
            events.extend(
                self._walk(
                    rule,
                    subjects,
                    k,
                    stored.get(key),
                    seg,
                    (a, b),
                    (after_ms, until_ms),
                    unit_of(self.arrays, rule, subjects.ids[k]),
                )
            )
        return events

    def _walk(
        self,
        rule: Rule,
        subjects: Subjects,
        k: int,
        alert: Active | None,
        seg: Segments,
        span: tuple[int, int],
        window: tuple[int, int],
        unit: str,
    ) -> list[dict[str, Any]]:
        """Run one subject's segments ``span`` through the state machine.

        A firing alert whose condition turns false starts *clearing*; it resolves (at the
        instant the condition turned false) once that has lasted ``resolve_for``, and
        simply goes on firing if the condition comes back sooner.
        """
        after_ms, until_ms = window
        scope, ident = subjects.key(k)
        park, tz = subjects.park[k], subjects.timezone[k]
        before = alert
        out: list[dict[str, Any]] = []
        starts, ends = seg.start.tolist(), seg.end.tolist()
        actives, values = seg.active.tolist(), seg.value.tolist()
        thresholds = seg.threshold.tolist()
        details = [None] * len(seg) if seg.detail is None else seg.detail.tolist()
        false_from: dict[int, Any] = {}  # start of a false segment -> its detail

        def resolve(at_ms: int) -> None:
            assert alert is not None
            detail = false_from.get(at_ms)
            out.append(self._event(rule, alert, "resolved", at_ms, unit, park, tz, detail))

        for j in range(*span):
            start, end = starts[j], ends[j]
            if actives[j]:
                if end <= after_ms:
                    continue  # evaluated in an earlier step
                if (
                    alert is not None
                    and alert.clearing_ms is not None
                    and start - alert.clearing_ms >= rule.resolve_for_ms
                ):
                    resolve(alert.clearing_ms)
                    alert = None
                value, threshold = _finite(values[j]), _finite(thresholds[j])
                if alert is None:
                    since = max(start, 0)
                    fp = fingerprint(rule.id, scope, ident, since)
                    alert = Active(rule.id, scope, ident, "pending", since, value, threshold, fp)
                else:
                    alert = replace(
                        alert,
                        value=value if value is not None else alert.value,
                        threshold=threshold if threshold is not None else alert.threshold,
                        clearing_ms=None,
                    )
                if alert.status == "pending" and end - alert.since_ms >= rule.for_ms:
                    alert = replace(alert, status="firing")
                    out.append(self._event(rule, alert, "firing", None, unit, park, tz, details[j]))
            elif alert is not None and start >= alert.since_ms:
                false_from.setdefault(start, details[j])
                if alert.status == "pending":
                    alert = None  # never fired: dropped without a message
                    continue
                if alert.clearing_ms is None:
                    alert = replace(alert, clearing_ms=start)
                if end - (alert.clearing_ms or start) >= rule.resolve_for_ms:
                    resolve(alert.clearing_ms or start)
                    alert = None
        # A gap rule knows the condition stayed false up to the end of the window.
        if (
            alert is not None
            and alert.clearing_ms is not None
            and rule.kind in GAP_KINDS
            and until_ms - alert.clearing_ms >= rule.resolve_for_ms
        ):
            resolve(alert.clearing_ms)
            alert = None
        if alert is None and before is not None:
            self._changes[1].append((scope, ident))
        elif alert is not None and alert != before:
            self._changes[0].append(alert)
        return out

    def _event(
        self,
        rule: Rule,
        alert: Active,
        state: str,
        ends_ms: int | None,
        unit: str,
        park: str,
        tz: str,
        detail: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The event of ``alert`` entering ``state``; a rule's own fields (the segment's
        ``detail``) under ``detail``."""
        event: dict[str, Any] = {
            "rule": rule.id,
            "state": state,
            "severity": rule.severity,
            "scope": alert.scope,
            "id": alert.id,
            "value": alert.value,
            "threshold": alert.threshold,
            "unit": unit,
            "starts_at": rfc3339(alert.since_ms, tz),
            "ends_at": None if ends_ms is None else rfc3339(ends_ms, tz),
            "fingerprint": alert.fingerprint,
            "park": park,
        }
        if detail:
            event["detail"] = dict(detail)
        return event

    def _commit(self, rule: Rule, until_ms: int, events: list[dict[str, Any]], now_ms: int) -> int:
        """Cursor, alert changes, events and grouped messages in one transaction."""
        upserts, drops = self._changes
        messages = 0
        with self.state.transaction():
            self.state.set_cursor(rule.id, until_ms)
            self.state.drop_active(rule.id, drops)
            self.state.put_active(upserts)
            new = [e for e in events if self.state.record_event(e, now_ms)]
            groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for e in new:
                groups[(e["state"], e["park"])].append(e)
            # Firing before resolved, so a receiver never sees an end before its start.
            for state_name in ("firing", "resolved"):
                for (s, _park), members in sorted(groups.items()):
                    if s != state_name:
                        continue
                    for channel in rule.channels:
                        self.state.enqueue(channel, members, now_ms)
                        messages += 1
        for e in new:
            log.debug(
                "alert_" + e["state"],
                rule=e["rule"],
                scope=e["scope"],
                id=e["id"],
                value=e["value"],
                fingerprint=e["fingerprint"],
            )
        for (state_name, park), members in sorted(groups.items()):
            log.info(
                "alerts_" + state_name,
                rule=rule.id,
                park=park,
                alerts=len(members),
                first=f"{members[0]['scope']}:{members[0]['id']}",
                channels=",".join(rule.channels),
            )
        return messages
