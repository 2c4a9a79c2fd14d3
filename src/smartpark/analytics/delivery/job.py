"""``smartpark schedule`` as one call per command, from the command's options.

* :func:`run`: load the registry and the schedules file, then run the service
  (:func:`~analytics.delivery.service.serve`, ``--once`` / ``--follow``) or print what
  would be sent when (:func:`~analytics.delivery.service.check`, ``--check``)
* :func:`status` and :func:`status_tables`: what a state file holds

User documentation: ``docs/schedule.md``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.table import Table

from smartpark.analytics.alerts.evaluate import rfc3339
from smartpark.analytics.delivery import config as config_mod
from smartpark.analytics.delivery.service import Mode, check, serve
from smartpark.analytics.delivery.state import (
    STATUSES,
    Delivery,
    DeliveryState,
    default_path,
)
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.errors import ConfigError
from smartpark.core.settings import CommonSettings


def run(
    settings: CommonSettings,
    mode: Mode,
    *,
    config: Path,
    state: Path | None = None,
    interval_s: float = 60.0,
    out: TextIO,
) -> None:
    """Deliver what ``config`` schedules, in ``mode``, with the state file ``state``
    (default: beside a sqlite store, :func:`state.default_path`). ``check`` reads no
    secret and changes nothing."""
    reg = registry_mod.load(settings.registry)
    loaded = config_mod.load(config, reg, resolve_secrets=mode != "check")
    logs.configure(settings.log_level)
    state_path = state or default_path(str(settings.store_url))
    if mode == "check":
        check(loaded, reg, state_path, out=out)
        return
    serve(
        loaded,
        reg,
        settings.registry,
        settings.store_url,
        state_path,
        mode,
        interval_s=interval_s,
        out=out,
        metrics_host=settings.metrics_host,
        metrics_port=settings.metrics_port,
    )


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    path: Path
    counts: dict[str, Counter[str]]  # schedule -> deliveries per status (STATUSES)
    open: list[Delivery]  # pending and dead deliveries


def status(store_url: str, state: Path | None = None) -> ScheduleStatus:
    """Read the state file ``state`` (default: the one :func:`run` uses for ``store_url``)
    without changing it; :class:`ConfigError` when there is none yet."""
    path = state or default_path(store_url)
    if not path.exists():
        raise ConfigError(str(path), ["no schedule state file here (has `schedule --once` run?)"])
    with DeliveryState(path, read_only=True) as st:
        every = st.deliveries()
    counts: dict[str, Counter[str]] = {}
    for d in every:
        counts.setdefault(d.schedule, Counter())[d.status] += 1
    open_ = [d for d in every if d.status != "sent"]
    return ScheduleStatus(path, dict(sorted(counts.items())), open_)


def status_tables(report: ScheduleStatus) -> list[Table]:
    """Deliveries per schedule and status, then every pending or dead one with its reason."""
    totals = Table(title=f"{report.path}: deliveries")
    for column in ("schedule", *STATUSES):
        totals.add_column(column, justify="right")
    for schedule, counts in report.counts.items():
        totals.add_row(schedule, *(str(counts[s]) for s in STATUSES))
    tables = [totals]
    if report.open:
        waiting = Table(title="pending and dead")
        for column in (
            "schedule",
            "period",
            "recipient",
            "status",
            "attempts",
            "next (UTC)",
            "reason",
        ):
            waiting.add_column(column)
        for d in report.open:
            waiting.add_row(
                d.schedule,
                d.period,
                d.recipient,
                d.status,
                str(d.attempts),
                rfc3339(d.next_ms, "UTC") if d.status == "pending" else "-",
                d.reason or "",
            )
        tables.append(waiting)
    return tables
