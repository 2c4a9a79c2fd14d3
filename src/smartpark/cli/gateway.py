"""``smartpark gateway``: run an edge gateway; ``status`` and ``check`` inspect one.

::

    smartpark gateway --config gateway.toml [--registry registry.toml] [--broker mqtt://...]
    smartpark gateway status --config gateway.toml
    smartpark gateway check --config gateway.toml
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from smartpark.cli.common import (
    BrokerOption,
    LogLevelOption,
    MetricsPortOption,
    RegistryOption,
    report_errors,
)

GatewayConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Gateway TOML file (docs/gateway.md).", show_default=False),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Poll meters, keep readings in a durable outbox, publish them over MQTT.",
        invoke_without_command=True,
    )
    group.callback(invoke_without_command=True)(run)
    group.command("status")(status)
    group.command("check")(check)
    app.add_typer(group, name="gateway")


def _load(config: Path | None, registry: Path | None, broker: str | None) -> Any:
    from smartpark.gateway.config import load

    if config is None:
        raise typer.BadParameter("--config FILE is required", param_hint="--config")
    return load(config, registry_path=registry, broker=broker)


@report_errors
def run(
    ctx: typer.Context,
    config: GatewayConfigOption = None,
    registry: RegistryOption = None,
    broker: BrokerOption = None,
    metrics_port: MetricsPortOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Run the gateway until SIGTERM (then flush, say offline, exit 0)."""
    if ctx.invoked_subcommand is not None:
        return
    import os
    import sys

    if log_level is not None and log_level not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("debug, info, warning or error", param_hint="--log-level")
    _load(config, registry, broker)  # every configuration error, reported here
    argv = [sys.executable, "-m", "smartpark.gateway", "--config", str(config)]
    for flag, value in (
        ("--registry", registry),
        ("--broker", broker),
        ("--metrics-port", metrics_port),
        ("--log-level", log_level),
    ):
        if value is not None:
            argv += [flag, str(value)]
    sys.stdout.flush()
    sys.stderr.flush()
    # Same process, without the CLI framework's memory (see gateway/__main__.py).
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter and arguments


@report_errors
def check(
    config: GatewayConfigOption = None,
    registry: RegistryOption = None,
    broker: BrokerOption = None,
) -> None:
    """Validate the configuration against the registry and show how each meter is read."""
    cfg = _load(config, registry, broker)
    table = Table(title=f"{config}: gateway {cfg.gateway} (park {cfg.park}) OK")
    for column in ("meter", "quantity", "interval", "read by"):
        table.add_column(column)
    how: dict[str, str] = {}
    for ep in cfg.endpoints:
        for r in ep.reads:
            how[r.meter] = (
                f"modbus.{ep.name} unit {r.device_id} {r.function} {r.address} {r.type} "
                f"× {r.scale:g} {r.unit}"
            )
    for m in cfg.simulated_meters:
        how[m] = "simulator"
    for meter in cfg.meters:
        table.add_row(
            meter,
            cfg.meter_quantity[meter],
            f"{cfg.registry.meters[meter].interval_s} s",
            how.get(meter, "[yellow]not read[/]"),
        )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print(f"broker {cfg.broker}, outbox {cfg.outbox}")


@report_errors
def status(
    config: GatewayConfigOption = None,
    registry: RegistryOption = None,
) -> None:
    """Print the outbox queue and the last saved counters of the gateway."""
    from smartpark.core.timestamps import format_rfc3339, now_ms
    from smartpark.gateway.outbox import read_status

    cfg = _load(config, registry, None)
    st = read_status(cfg.outbox)
    s = st.status
    now = now_ms()
    table = Table(title=f"gateway {cfg.gateway}: {cfg.outbox}")
    table.add_column("")
    table.add_column("value", justify="right")
    updated = s.get("updated_at")
    if updated is None:
        state = "never ran"
    elif not s.get("running", False):
        state = "stopped (last saved status)"
    elif now - int(updated) < 10_000:
        state = "running"
    else:
        state = "not running: killed or crashed (last saved status)"
    rows: list[tuple[str, str]] = [
        ("state", state),
        ("status saved", format_rfc3339(int(updated)) if updated else "never"),
        ("broker connected", "yes" if s.get("connected") else "no"),
        ("readings queued", f"{st.queued:,}"),
        ("oldest queued", _age(now, st.oldest_ts)),
        ("outbox size", f"{st.used_bytes / 1024 / 1024:.1f} MiB"),
        ("dropped (outbox full)", f"{st.dropped:,}"),
        ("polled (this run)", f"{s.get('polled', 0):,}"),
        ("published (this run)", f"{s.get('published', 0):,}"),
        ("messages", f"{s.get('messages', 0):,}"),
        ("reconnects", f"{s.get('reconnects', 0):,}"),
        ("meter errors", _errors(s.get("meter_errors", {}))),
    ]
    jitter = s.get("jitter_ms")
    if jitter:
        rows.append(
            ("poll jitter p50/p99/max", "/".join(f"{jitter[k]:.0f}" for k in jitter) + " ms")
        )
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


def _age(now: int, ts: int | None) -> str:
    if ts is None:
        return "-"
    return f"{dt.timedelta(seconds=max(0, (now - ts) // 1000))} ago"


def _errors(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items()))
