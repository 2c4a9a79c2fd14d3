"""``smartpark gateway``: run an edge gateway; ``status`` and ``check`` inspect one.

::

    smartpark gateway --config gateway.toml [--registry registry.toml] [--broker mqtt://...]
    smartpark gateway status --config gateway.toml
    smartpark gateway check --config gateway.toml

Running calls :func:`smartpark.gateway.service.run` in this process, as the lean runner
``python -m smartpark.gateway`` does (docs/gateway.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from smartpark.gateway.config import GatewayConfig

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


def _required(config: Path | None) -> Path:
    if config is None:
        raise typer.BadParameter("--config FILE is required", param_hint="--config")
    return config


def _load(config: Path | None, registry: Path | None, broker: str | None) -> GatewayConfig:
    from smartpark.gateway.config import load

    return load(_required(config), registry_path=registry, broker=broker)


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
    from smartpark.gateway.config import LOG_LEVELS
    from smartpark.gateway.service import run as run_gateway

    if log_level is not None and log_level not in LOG_LEVELS:
        raise typer.BadParameter("debug, info, warning or error", param_hint="--log-level")
    raise typer.Exit(run_gateway(_required(config), registry, broker, metrics_port, log_level))


@report_errors
def check(
    config: GatewayConfigOption = None,
    registry: RegistryOption = None,
    broker: BrokerOption = None,
) -> None:
    """Validate the configuration against the registry and show how each meter is read."""
    from smartpark.gateway.report import NOT_READ, meter_rows

    cfg = _load(config, registry, broker)
    table = Table(title=f"{config}: gateway {cfg.gateway} (park {cfg.park}) OK")
    for column in ("meter", "quantity", "interval", "read by"):
        table.add_column(column)
    for meter, quantity, interval, how in meter_rows(cfg):
        table.add_row(meter, quantity, interval, f"[yellow]{how}[/]" if how == NOT_READ else how)
    console = Console(width=max(Console().width, 120))
    console.print(table)
    console.print(f"broker {cfg.broker}, outbox {cfg.outbox}")


@report_errors
def status(
    config: GatewayConfigOption = None,
    registry: RegistryOption = None,
) -> None:
    """Print the outbox queue and the last saved counters of the gateway."""
    from smartpark.gateway.outbox import read_status
    from smartpark.gateway.report import status_rows

    cfg = _load(config, registry, None)
    table = Table(title=f"gateway {cfg.gateway}: {cfg.outbox}")
    table.add_column("")
    table.add_column("value", justify="right")
    for name, value in status_rows(read_status(cfg.outbox)):
        table.add_row(name, value)
    Console().print(table)
