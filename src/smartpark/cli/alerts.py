"""``smartpark alerts``: evaluate alert rules and deliver webhooks; ``alerts verify``.

::

    smartpark alerts --rules rules.toml --registry registry.toml --store sqlite:///park.db --once
    smartpark alerts --rules rules.toml --follow
    smartpark alerts --rules rules.toml --dry-run
    smartpark alerts status --store sqlite:///park.db     # active alerts, outbox, dead letters
    smartpark alerts verify --secret-file audit.secret --timestamp 1764000000 \\
        --signature sha256=... --body body.json        # or the body on stdin
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    LogLevelOption,
    RegistryOption,
    StoreOption,
    report_errors,
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Evaluate alert rules on readings and KPIs; deliver signed webhooks.",
        invoke_without_command=True,
    )
    group.callback(invoke_without_command=True)(run)
    group.command("verify")(verify)
    group.command("status")(status)
    app.add_typer(group, name="alerts")


@report_errors
def run(
    ctx: typer.Context,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Rules TOML file (channels and rules). Default: rules.toml beside the registry.",
            show_default=False,
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Catch up since the last evaluation, deliver, exit.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep evaluating until SIGTERM.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what --once would send; change no state."),
    ] = False,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Alert state file (SQLite). Default: beside a sqlite store "
            "(park.db -> park.alerts.db), else ./smartpark-alerts.db.",
            show_default=False,
        ),
    ] = None,
    interval_s: Annotated[
        float, typer.Option("--interval", help="Seconds between evaluations with --follow.", min=1)
    ] = 60.0,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Evaluate the rules of --rules against the store and deliver alerts."""
    if ctx.invoked_subcommand is not None:
        return
    modes = [name for name, on in (("once", once), ("follow", follow), ("dry_run", dry_run)) if on]
    if len(modes) != 1:
        raise typer.BadParameter("give exactly one of --once, --follow, --dry-run")
    from smartpark.analytics.alerts import job
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    job.run(settings, modes[0], rules=rules, state=state, interval_s=interval_s, out=sys.stdout)  # type: ignore[arg-type]


@report_errors
def verify(
    secret_file: Annotated[
        Path, typer.Option("--secret-file", help="File holding the shared secret.")
    ],
    timestamp: Annotated[
        str, typer.Option("--timestamp", help="The X-Smartpark-Timestamp header value.")
    ],
    signature: Annotated[
        str, typer.Option("--signature", help="The X-Smartpark-Signature header value.")
    ],
    body: Annotated[
        Path | None,
        typer.Option("--body", help="File with the exact request body; default: stdin."),
    ] = None,
    max_age_s: Annotated[
        float,
        typer.Option(
            "--max-age", help="Refuse timestamps further than this from now (s); 0 = no check."
        ),
    ] = 300.0,
) -> None:
    """Check a received webhook's signature. Exit 0 if valid, 1 if not."""
    from smartpark.analytics.alerts.job import verify_webhook

    verdict = verify_webhook(secret_file, timestamp, signature, body, max_age_s=max_age_s)
    if verdict.ok:
        typer.echo("signature ok")
        return
    typer.echo(f"signature INVALID: {verdict.reason}", err=True)
    raise typer.Exit(1)


@report_errors
def status(
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Alert state file; default: derived from --store."),
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
) -> None:
    """Show active alerts, the outbox per channel, and dead letters with their reasons."""
    from rich.console import Console

    from smartpark.analytics.alerts import job
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, store=store)
    console = Console(width=max(Console().width, 120))
    for table in job.status_tables(job.status(str(settings.store_url), state)):
        console.print(table)
