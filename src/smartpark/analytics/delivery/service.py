"""The schedule service: ``once`` (plan what is due, deliver, exit), ``follow`` (loop until
SIGTERM) or ``check`` (print what would be sent when; change nothing).

A cycle at ``now`` (always the injected clock, never read twice for a decision):

1. **Plan.** For each schedule, the occurrences due since its cursor
   (:func:`~analytics.delivery.due.due_between`); only the latest is planned, one
   delivery per recipient, committed with the new cursor in one transaction. Periods
   that fell due while the service was down are logged as skipped: a service down
   over several due times catches up once, with the latest period. A first run starts
   its cursors :data:`FIRST_LOOKBACK_MS` back.
2. **Deliver.** Each pending delivery whose retry time has come is checked against the
   current config (its schedule and recipient still there, the data still within the
   recipient's scope), its content built (once per schedule, period and scope), and sent
   by e-mail or webhook. Accepted: marked sent. Refused: retried after
   :func:`~analytics.alerts.delivery.backoff_ms` (5 s doubling to 15 min, ±20 %), dead
   after the route's ``max_attempts`` or at once for a permanent refusal. While one
   route is failing, its other deliveries wait for the next cycle; a channel gets at most
   ``rate_per_minute`` attempts a minute.

``follow`` sleeps until the next due time or retry (at most ``interval_s``), and stops
cleanly on SIGTERM or SIGINT: the delivery in progress finishes and is recorded, the
rest wait for the next start.
"""

from __future__ import annotations

import random
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TextIO

import httpx

from smartpark.analytics.alerts.delivery import backoff_ms
from smartpark.analytics.alerts.evaluate import rfc3339
from smartpark.analytics.alerts.service import StateLock, install_signal_handlers
from smartpark.analytics.delivery import mail, webhooks
from smartpark.analytics.delivery.config import DeliveryConfig, Recipient, Schedule
from smartpark.analytics.delivery.content import Content, Contents
from smartpark.analytics.delivery.due import due_between, next_due, upcoming
from smartpark.analytics.delivery.metrics import ScheduleMetrics
from smartpark.analytics.delivery.outcome import Outcome
from smartpark.analytics.delivery.state import Delivery, DeliveryState
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.core.scopes import covered, may_report
from smartpark.core.timestamps import now_ms
from smartpark.core.urls import StoreUrl

Mode = Literal["once", "follow", "check"]
FIRST_LOOKBACK_MS: Final = 24 * 3_600_000  # a first run sends what fell due in the last day
RATE_WINDOW_MS: Final = 60_000
CONTENT_ERROR: Final = "content_error"  # the reason's prefix when the content failed
log = get_logger("analytics.delivery.service")


@dataclass
class CycleReport:
    planned: int = 0  # deliveries planned (recipients of newly due periods)
    skipped: int = 0  # periods due while down that were not planned (only the latest is)
    sent: int = 0
    failed: int = 0  # refused or unreachable, to be retried
    dead: int = 0
    waiting: int = 0  # pending: backoff not elapsed, rate limit, or its route failing

    def __str__(self) -> str:
        return (
            f"planned={self.planned} skipped={self.skipped} sent={self.sent} "
            f"failed={self.failed} dead={self.dead} waiting={self.waiting}"
        )


def in_scope(registry: Registry, schedule: Schedule, recipient: Recipient, scope: str) -> bool:
    """Whether ``recipient`` may have ``schedule``'s data of ``scope`` (``kind:id``)."""
    kind, _, ident = scope.partition(":")
    vis = covered(registry, recipient.scope)
    if schedule.kind == "monthly_report":
        return may_report(registry, vis, kind, ident)
    return vis.allows(kind, ident)


class Scheduler:
    """Plans and delivers on one open state file; see the module docstring."""

    def __init__(
        self,
        config: DeliveryConfig,
        registry: Registry,
        registry_path: Path,
        store_url: StoreUrl,
        state: DeliveryState,
        workdir: Path,
        *,
        clock: Callable[[], int] = now_ms,
        metrics: ScheduleMetrics | None = None,
        http: httpx.Client | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.registry_path = registry_path
        self.store_url = store_url
        self.state = state
        self.workdir = workdir
        self.clock = clock
        self.metrics = metrics or ScheduleMetrics()
        self.http = http or webhooks.client()
        self.rng = rng or random.Random()

    def close(self) -> None:
        self.http.close()

    def cycle(self, stop: threading.Event | None = None) -> CycleReport:
        report = CycleReport()
        self.plan(report)
        self.deliver(report, stop)
        self.metrics.cycles.inc()
        self._gauges()
        return report

    # -- planning ----------------------------------------------------------------------

    def plan(self, report: CycleReport) -> None:
        now = self.clock()
        for s in self.config.schedules.values():
            cursor = self.state.cursor(s.id)
            after = cursor if cursor is not None else now - FIRST_LOOKBACK_MS
            due = due_between(s.cadence, s.timezone, after, now)
            deliveries: list[Delivery] = []
            if due:
                latest = due[-1]
                deliveries = [
                    Delivery(
                        s.id,
                        latest.period,
                        r.id,
                        r.route,
                        s.scope_for(r),
                        latest.start_ms,
                        latest.end_ms,
                        latest.due_ms,
                        created_ms=now,
                        next_ms=now,
                    )
                    for r in (self.config.recipients[n] for n in s.recipients)
                ]
            # The cursor moves only when something fell due (or on a first run): an idle
            # cycle writes nothing.
            if due or cursor is None:
                new = self.state.plan(s.id, max(now, after), deliveries)
                if new:
                    report.planned += new
                    self.metrics.planned.labels(s.id).inc(new)
                    log.info(
                        "schedule_planned",
                        schedule=s.id,
                        period=due[-1].period,
                        due=rfc3339(due[-1].due_ms, s.timezone),
                        deliveries=new,
                    )
            if len(due) > 1:
                skipped = [o.period for o in due[:-1]]
                report.skipped += len(skipped)
                self.metrics.skipped.labels(s.id).inc(len(skipped))
                log.warning(
                    "schedule_periods_skipped",
                    schedule=s.id,
                    periods=",".join(skipped),
                    sent_instead=due[-1].period,
                )
            upcoming_due = next_due(s.cadence, s.timezone, now)
            self.metrics.next_due.labels(s.id).set(upcoming_due.due_ms / 1000)

    # -- delivering --------------------------------------------------------------------

    def deliver(self, report: CycleReport, stop: threading.Event | None = None) -> None:
        # The report files of one cycle live in a folder of their own, gone after it.
        with tempfile.TemporaryDirectory(prefix="cycle-", dir=self.workdir) as folder:
            contents = Contents(
                self.registry, self.registry_path, self.store_url, Path(folder), self.clock()
            )
            self._deliver(contents, report, stop)

    def _deliver(
        self, contents: Contents, report: CycleReport, stop: threading.Event | None
    ) -> None:
        blocked: set[str] = set()
        for d in self.state.pending():
            if stop is not None and stop.is_set():
                break
            now = self.clock()
            schedule = self.config.schedules.get(d.schedule)
            recipient = self.config.recipients.get(d.recipient)
            if schedule is None or recipient is None or d.recipient not in schedule.recipients:
                what = "schedule" if schedule is None else "recipient"
                self._dead(d, now, f"{what} no longer in the schedules file", report)
                continue
            if d.scope != schedule.scope_for(recipient) or not in_scope(
                self.registry, schedule, recipient, d.scope
            ):
                self._dead(d, now, f"{d.scope} is outside the recipient's scope now", report)
                continue
            route = recipient.route
            if route in blocked:
                report.waiting += 1
                continue
            if d.next_ms > now:
                # In its backoff. After a failure of its route, the route's later
                # deliveries wait behind it; after a content error (a report that could
                # not be built: the route did not fail) they go on.
                if not (d.reason or "").startswith(CONTENT_ERROR):
                    blocked.add(route)
                report.waiting += 1
                continue
            if self._rate_limited(recipient, now):
                blocked.add(route)
                report.waiting += 1
                continue
            try:
                content = contents.get(schedule, d)
            except Exception as exc:  # a store down, no Chromium, ...: retried with backoff
                outcome = Outcome(False, f"{CONTENT_ERROR}: {type(exc).__name__}: {str(exc)[:200]}")
            else:
                outcome = self._send(schedule, recipient, d, content, now)
                if not outcome.ok and not outcome.permanent:
                    blocked.add(route)
            self._record(d, schedule, recipient, outcome, report)

    def _rate_limited(self, recipient: Recipient, now: int) -> bool:
        if recipient.channel is None:
            return False
        limit = self.config.channels[recipient.channel].rate_per_minute
        return self.state.attempts_since(recipient.route, now - RATE_WINDOW_MS) >= limit

    def _send(
        self, schedule: Schedule, recipient: Recipient, d: Delivery, content: Content, now: int
    ) -> Outcome:
        if recipient.channel is not None:
            channel = self.config.channels[recipient.channel]
            request = webhooks.request(
                channel, content, delivery="/".join(d.key), recipient=recipient.id, now_ms=now
            )
            return webhooks.send(self.http, channel, request)
        assert recipient.smtp is not None
        server = self.config.smtp[recipient.smtp]
        message = mail.message(
            server,
            recipient,
            content,
            schedule=schedule.id,
            period=d.period,
            now_ms=now,
            timezone=schedule.timezone,
        )
        return mail.send(server, message, recipient.emails)

    def _max_attempts(self, recipient: Recipient) -> int:
        if recipient.channel is not None:
            return self.config.channels[recipient.channel].max_attempts
        assert recipient.smtp is not None
        return self.config.smtp[recipient.smtp].max_attempts

    def _record(
        self,
        d: Delivery,
        schedule: Schedule,
        recipient: Recipient,
        outcome: Outcome,
        report: CycleReport,
    ) -> None:
        now = self.clock()
        fields = {
            "schedule": d.schedule,
            "period": d.period,
            "recipient": d.recipient,
            "route": recipient.route,
            "attempts": d.attempts + 1,
        }
        if outcome.ok:
            self.state.mark_sent(d, now)
            report.sent += 1
            self.metrics.attempts.labels(d.schedule, "sent").inc()
            self.metrics.last_sent.labels(d.schedule).set(now / 1000)
            log.info("delivery_sent", **fields, result=outcome.reason)
            return
        attempts = d.attempts + 1
        dead = outcome.permanent or attempts >= self._max_attempts(recipient)
        delay = max(backoff_ms(attempts, self.rng), outcome.retry_after_ms)
        self.state.mark_failed(d, now, outcome.reason, now + delay, dead=dead)
        if dead:
            report.dead += 1
            self.metrics.attempts.labels(d.schedule, "dead").inc()
            log.error("delivery_dead", **fields, reason=outcome.reason)
        else:
            report.failed += 1
            self.metrics.attempts.labels(d.schedule, "failed").inc()
            log.warning(
                "delivery_failed", **fields, reason=outcome.reason, retry_in_s=round(delay / 1000)
            )

    def _dead(self, d: Delivery, now: int, reason: str, report: CycleReport) -> None:
        self.state.mark_dead(d, now, reason)
        report.dead += 1
        self.metrics.attempts.labels(d.schedule, "dead").inc()
        log.error(
            "delivery_dead",
            schedule=d.schedule,
            period=d.period,
            recipient=d.recipient,
            reason=reason,
        )

    def _gauges(self) -> None:
        self.metrics.pending.set(len(self.state.deliveries("pending")))
        self.metrics.dead.set(len(self.state.deliveries("dead")))

    # -- waking up ---------------------------------------------------------------------

    def next_wake_ms(self) -> int:
        """The next due time of any schedule, or the next retry, whichever is sooner.

        A pending delivery already due waits behind its route's failing head (whose own
        retry time counts) or its rate limit (a minute at most): it does not count."""
        now = self.clock()
        schedules = self.config.schedules.values()
        times = [next_due(s.cadence, s.timezone, now).due_ms for s in schedules]
        times += [d.next_ms for d in self.state.pending() if d.next_ms > now]
        return min(times, default=now + 3_600_000)


def serve(
    config: DeliveryConfig,
    registry: Registry,
    registry_path: Path,
    store_url: StoreUrl,
    state_path: Path,
    mode: Literal["once", "follow"],
    *,
    interval_s: float = 60.0,
    out: TextIO,
    clock: Callable[[], int] = now_ms,
    stop: threading.Event | None = None,
    max_cycles: int | None = None,
    metrics_host: str = "127.0.0.1",
    metrics_port: int | None = None,
    http: httpx.Client | None = None,
) -> CycleReport:
    """Run the schedule service in ``mode`` until done (once) or stopped (follow); the
    last cycle's report."""
    lock = StateLock(state_path, "smartpark schedule")
    stop = stop or threading.Event()
    previous = install_signal_handlers(stop) if mode == "follow" else {}
    metrics = ScheduleMetrics()
    server = metrics.serve(metrics_host, metrics_port) if metrics_port is not None else None
    last = CycleReport()
    try:
        with (
            DeliveryState(state_path) as state,
            tempfile.TemporaryDirectory(prefix="smartpark-schedule-") as work,
        ):
            scheduler = Scheduler(
                config,
                registry,
                registry_path,
                store_url,
                state,
                Path(work),
                clock=clock,
                metrics=metrics,
                http=http,
            )
            try:
                cycles = 0
                while True:
                    if mode == "once":
                        last = scheduler.cycle()
                        log.info("schedule_cycle", result=str(last))
                        print(f"schedule: {last}", file=out)
                        return last
                    try:
                        last = scheduler.cycle(stop)
                        log.info("schedule_cycle", result=str(last))
                    except Exception as exc:
                        # A locked file, a full disk: the service keeps going; the next
                        # cycle starts again from the committed state.
                        metrics.cycle_failures.inc()
                        log.error(
                            "schedule_cycle_failed", error=type(exc).__name__, detail=str(exc)
                        )
                    cycles += 1
                    if max_cycles is not None and cycles >= max_cycles:
                        return last
                    wait_s = min(interval_s, (scheduler.next_wake_ms() - clock()) / 1000)
                    if stop.wait(max(1.0, wait_s)) or stop.is_set():
                        log.info("schedule_stopping", reason="signal")
                        return last
            finally:
                scheduler.close()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lock.release()


# -- check: what would be sent when ----------------------------------------------------


def check(
    config: DeliveryConfig,
    registry: Registry,
    state_path: Path,
    *,
    out: TextIO,
    clock: Callable[[], int] = now_ms,
    count: int = 3,
) -> None:
    """Print each schedule, its recipients and routes, what ``--once`` would send now,
    and the next ``count`` due times; read the state file (if any) without changing it."""
    now = clock()
    state = DeliveryState(state_path, read_only=True) if state_path.exists() else None
    try:
        print(
            f"{config.source}: {len(config.schedules)} schedule(s), "
            f"{len(config.recipients)} recipient(s), valid",
            file=out,
        )
        for s in config.schedules.values():
            what = s.scope or "each recipient's own scope"
            formats = f" as {', '.join(s.formats)}" if s.formats else ""
            print(f"\nschedule {s.id}: {s.kind} of {what}{formats}", file=out)
            print(f"  {s.cadence} ({s.timezone})", file=out)
            for name in s.recipients:
                r = config.recipients[name]
                print(f"  to {r.id} ({r.scope}) {_route(config, r)}", file=out)
            cursor = state.cursor(s.id) if state is not None else None
            after = cursor if cursor is not None else now - FIRST_LOOKBACK_MS
            due = due_between(s.cadence, s.timezone, after, now)
            stamp = rfc3339(now, s.timezone)
            if due:
                latest = due[-1]
                planned = {
                    d.recipient
                    for d in (state.deliveries() if state is not None else [])
                    if d.schedule == s.id and d.period == latest.period
                }
                todo = [n for n in s.recipients if n not in planned]
                print(
                    f"  now ({stamp}): --once would send {latest.period} "
                    f"(due {rfc3339(latest.due_ms, s.timezone)}) to {', '.join(todo) or 'nobody'}"
                    + (
                        f"; skipping {', '.join(o.period for o in due[:-1])}"
                        if len(due) > 1
                        else ""
                    ),
                    file=out,
                )
            else:
                print(f"  now ({stamp}): nothing due", file=out)
            for o in upcoming(s.cadence, s.timezone, now, count):
                print(f"  next: {o.period} on {rfc3339(o.due_ms, s.timezone)}", file=out)
        if state is not None:
            pending = state.pending()
            if pending:
                print(f"\n{len(pending)} delivery(ies) pending in {state_path}:", file=out)
                for d in pending:
                    retry = rfc3339(d.next_ms, "UTC")
                    print(
                        f"  {d.schedule} {d.period} to {d.recipient}: attempt "
                        f"{d.attempts + 1} at {retry}"
                        + (f" (last: {d.reason})" if d.reason else ""),
                        file=out,
                    )
    finally:
        if state is not None:
            state.close()


def _route(config: DeliveryConfig, r: Recipient) -> str:
    if r.channel is not None:
        return f"through channel {r.channel} ({config.channels[r.channel].kind})"
    server = config.smtp[r.smtp or ""]
    return f"by e-mail via {server.id} ({server.host}:{server.port}) to {len(r.emails)} address(es)"
