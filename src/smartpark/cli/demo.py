"""``smartpark demo``: the whole platform on a bare machine, in one command.

The command parses the options and calls :func:`smartpark.demo.app.run`, imported when
the demo runs so the command module stays light.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from smartpark.cli.common import BrokerOption, RegistryOption, StoreOption, report_errors

T = TypeVar("T")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


@report_errors
def demo(
    registry: RegistryOption = None,
    days: Annotated[float, typer.Option(min=0.05, max=60, help="Simulated days.")] = 7.0,
    speed: Annotated[
        float, typer.Option(min=1, help="Simulated seconds per real second.")
    ] = 10_000.0,
    broker: BrokerOption = None,
    store: StoreOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the store, outboxes and report.")] = Path(
        "smartpark-demo"
    ),
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
    start: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First simulated day (local midnight in the zone's time zone); "
            "default: --days before the last local midnight.",
        ),
    ] = None,
) -> None:
    """Run gateways, broker, ingest and analytics on simulated parks; print a KPI report.

    With no options nothing needs to be installed: an embedded broker (mosquitto when it
    is installed, else amqtt in-process) and the embedded SQLite store under --out.
    """
    from rich.console import Console

    from smartpark.core.urls import parse_broker_url, parse_store_url
    from smartpark.demo import app

    if broker is not None:
        _check(lambda: parse_broker_url(broker), "--broker")
    store_url = _check(lambda: parse_store_url(store), "--store") if store is not None else None
    console = Console()
    if not console.is_terminal:  # piped or logged: wide enough for the KPI tables
        console = Console(width=120)
    request = app.DemoRequest(
        registry, days, speed, out, broker, store_url, seed, start.date() if start else None
    )
    code = app.run(request, console)
    if code:
        raise typer.Exit(code)


def _check(parse: Callable[[], T], option: str) -> T:
    try:
        return parse()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
