"""``smartpark schedule``: send reports and summaries when they are due; ``schedule status``.

::

    smartpark schedule --config schedules.toml --registry registry.toml --check  # what, when
    smartpark schedule --config schedules.toml --once      # send what is due, exit (cron, timers)
    smartpark schedule --config schedules.toml --follow    # the service; SIGTERM stops it
    smartpark schedule status --store sqlite:///park.db    # deliveries per schedule, dead ones

``--config`` is the schedules file (docs/schedule.md); the registry, store, log level and
metrics come from their options or ``SMARTPARK_*`` variables.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import (
    LogLevelOption,
    MetricsPortOption,
    RegistryOption,
    StoreOption,
    report_errors,
)

StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="Delivery state file (SQLite). Default: beside a sqlite store "
        "(park.db -> park.schedule.db), else ./smartpark-schedule.db.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Send the monthly report and weekly summaries by e-mail and webhooks when due.",
        invoke_without_command=True,
    )
    group.callback(invoke_without_command=True)(run)
    group.command("status")(status)
    app.add_typer(group, name="schedule")


@report_errors
def run(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="The schedules TOML file (docs/schedule.md).", show_default=False
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Send what is due, retry what failed, exit.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep sending when due until SIGTERM.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            "--dry-run",
            help="Validate the file; print what would be sent when. Sends nothing.",
        ),
    ] = False,
    state: StateOption = None,
    interval_s: Annotated[
        float,
        typer.Option("--interval", help="Most seconds between cycles with --follow.", min=1),
    ] = 60.0,
    registry: RegistryOption = None,
    store: StoreOption = None,
    metrics_port: MetricsPortOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Deliver what the schedules file says when it is due."""
    if ctx.invoked_subcommand is not None:
        return
    modes = [name for name, on in (("once", once), ("follow", follow), ("check", check)) if on]
    if len(modes) != 1:
        raise typer.BadParameter("give exactly one of --once, --follow, --check")
    if config is None:
        raise typer.BadParameter(
            "--config FILE (the schedules file) is required", param_hint="--config"
        )
    from smartpark.analytics.delivery import job
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(
        CommonSettings,
        None,
        registry=registry,
        store=store,
        log_level=log_level,
        metrics_port=metrics_port,
    )
    job.run(settings, modes[0], config=config, state=state, interval_s=interval_s, out=sys.stdout)  # type: ignore[arg-type]


@report_errors
def status(state: StateOption = None, store: StoreOption = None) -> None:
    """Deliveries per schedule (pending, sent, dead) and every unsent one with its reason."""
    from rich.console import Console

    from smartpark.analytics.delivery import job
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, None, store=store)
    console = Console(width=max(Console().width, 120))
    for table in job.status_tables(job.status(str(settings.store_url), state)):
        console.print(table)
