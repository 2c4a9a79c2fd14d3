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
import time
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
    from smartpark.analytics.alerts import rules as rules_mod
    from smartpark.analytics.alerts.service import serve
    from smartpark.analytics.alerts.state import default_path
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    reg = registry_mod.load(settings.registry)
    rules = rules or Path(settings.registry).parent / "rules.toml"
    ruleset = rules_mod.load(rules, reg, resolve_secrets=modes[0] != "dry_run")
    logs.configure(settings.log_level)
    state_path = state or default_path(str(settings.store_url))
    the_store = open_store(settings.store_url, reg)
    try:
        serve(
            reg,
            ruleset,
            the_store,
            state_path,
            modes[0],  # type: ignore[arg-type]
            interval_s=interval_s,
            out=sys.stdout,
        )
    finally:
        the_store.close()


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
    from smartpark.analytics.alerts import signing
    from smartpark.core.errors import ConfigError

    try:
        secret = secret_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(secret_file), [f"cannot read secret file: {exc}"]) from None
    if not secret:
        raise ConfigError(str(secret_file), ["secret file is empty"])
    try:
        data = body.read_bytes() if body is not None else sys.stdin.buffer.read()
    except OSError as exc:
        raise ConfigError(str(body), [f"cannot read body: {exc}"]) from None
    verdict = signing.verify(
        secret, timestamp, signature, data, now_s=time.time(), max_age_s=max_age_s
    )
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
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    from smartpark.analytics.alerts.evaluate import rfc3339
    from smartpark.analytics.alerts.state import AlertState, default_path
    from smartpark.core.errors import ConfigError
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, store=store)
    path = state or default_path(str(settings.store_url))
    if not path.exists():
        raise ConfigError(str(path), ["no alert state file here (has `alerts --once` run?)"])
    console = Console(width=max(Console().width, 120))
    with AlertState(path) as st:
        active = Table(title=f"{path}: active alerts")
        for column in ("rule", "scope", "id", "status", "since (UTC)", "value", "threshold"):
            active.add_column(column)
        for a in st.all_active():
            active.add_row(
                a.rule,
                a.scope,
                a.id,
                a.status + (" (clearing)" if a.clearing_ms is not None else ""),
                rfc3339(a.since_ms, "UTC"),
                "-" if a.value is None else f"{a.value:.4g}",
                "-" if a.threshold is None else f"{a.threshold:.4g}",
            )
        console.print(active)
        counts: Counter[tuple[str, str]] = Counter()
        for name, messages in (
            ("pending", st.pending()),
            ("delivered", st.delivered()),
            ("dead", st.dead()),
        ):
            for m in messages:
                counts[(m.channel, name)] += 1
        outbox = Table(title="outbox (messages)")
        for column in ("channel", "pending", "delivered", "dead"):
            outbox.add_column(column, justify="right")
        for channel in sorted({c for c, _ in counts}):
            outbox.add_row(
                channel, *(str(counts[(channel, n)]) for n in ("pending", "delivered", "dead"))
            )
        console.print(outbox)
        dead = st.dead()
        if dead:
            letters = Table(title="dead letters")
            for column in ("message", "channel", "alerts", "attempts", "reason"):
                letters.add_column(column)
            for m in dead:
                letters.add_row(
                    str(m.id), m.channel, str(len(m.events)), str(m.attempts), m.reason or ""
                )
            console.print(letters)
