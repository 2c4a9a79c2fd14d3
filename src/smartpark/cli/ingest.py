"""``smartpark ingest``: run the ingest service; ``smartpark ingest dead-letters``: inspect.

::

    smartpark ingest --config ingest.toml
    smartpark ingest --registry registry.toml --broker mqtt://127.0.0.1:1883 \\
        --store influxdb://127.0.0.1:8086/smartpark
    smartpark ingest dead-letters --config ingest.toml
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import (
    BrokerOption,
    ConfigOption,
    LogLevelOption,
    MetricsPortOption,
    RegistryOption,
    StoreOption,
    report_errors,
)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Ingest MQTT telemetry into the store (acknowledged after durable writes).",
        invoke_without_command=True,
    )
    group.callback(invoke_without_command=True)(run)
    group.command("dead-letters")(dead_letters)
    app.add_typer(group, name="ingest")


@report_errors
def run(
    ctx: typer.Context,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    broker: BrokerOption = None,
    store: StoreOption = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Write after this many readings.", show_default=False)
    ] = None,
    batch_ms: Annotated[
        int | None, typer.Option(help="...or this many ms after the first.", show_default=False)
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="Stable MQTT client id (persistent session).", show_default=False),
    ] = None,
    shared_group: Annotated[
        str | None,
        typer.Option(help="MQTT 5 shared subscription group (scale-out).", show_default=False),
    ] = None,
    metrics_port: MetricsPortOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Subscribe, validate, batch and write telemetry until SIGTERM (then flush, exit 0)."""
    if ctx.invoked_subcommand is not None:
        return
    from smartpark.core import logs
    from smartpark.core.settings import load_settings
    from smartpark.ingest.service import serve
    from smartpark.ingest.settings import IngestSettings

    settings = load_settings(
        IngestSettings,
        config,
        registry=registry,
        broker=broker,
        store=store,
        batch_size=batch_size,
        batch_ms=batch_ms,
        client_id=client_id,
        shared_group=shared_group,
        metrics_port=metrics_port,
        log_level=log_level,
    )
    logs.configure(settings.log_level)
    asyncio.run(serve(settings))


@report_errors
def dead_letters(
    config: ConfigOption = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Dead-letter file (default: from the settings, docs/ingest.md)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many, newest first.")] = 50,
) -> None:
    """List readings the store refused (kept with the store's reason)."""
    from rich.console import Console
    from rich.table import Table

    from smartpark.core.settings import load_settings
    from smartpark.ingest.deadletter import report
    from smartpark.ingest.settings import IngestSettings

    path = file if file is not None else load_settings(IngestSettings, config).dead_letters
    found = report(path, limit)
    if found is None:
        typer.echo(f"{path}: no dead letters (file does not exist)")
        return
    total, rows = found
    table = Table(title=f"{path}: {total} dead letter(s), newest first")
    for column in ("id", "dead-lettered at", "meter", "ts", "value", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)
