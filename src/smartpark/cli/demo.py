"""``smartpark demo``: the whole platform on a bare machine, in one command.

The command module stays light; the pieces are imported when the demo runs.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from smartpark.cli.common import BrokerOption, RegistryOption, StoreOption, report_errors

if TYPE_CHECKING:
    from rich.console import Console

    from smartpark.demo.runner import DemoOptions, DemoResult
    from smartpark.store.base import Store

T = TypeVar("T")

# Files of a previous demo run in --out that a new run replaces.
_OWN_FILES = (
    "store.db",
    "store.db-wal",
    "store.db-shm",
    "dead-letters.db",
    "report.html",
    "kpis.json",
)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def default_registry() -> Path:
    """The example registry: ./examples/registry.toml in a clone, else the packaged copy."""
    local = Path("examples/registry.toml")
    if local.is_file():
        return local
    return Path(str(resources.files("smartpark").joinpath("examples/registry.toml")))


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
) -> None:
    """Run gateways, broker, ingest and analytics on simulated parks; print a KPI report.

    With no options nothing needs to be installed: an embedded broker (mosquitto when it
    is installed, else amqtt in-process) and the embedded SQLite store under --out.
    """
    from rich.console import Console

    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.urls import parse_broker_url, parse_store_url
    from smartpark.demo import runner, summary
    from smartpark.store.open import open_store

    logs.configure("warning")  # the progress display says what the services would log
    console = Console()
    if not console.is_terminal:  # piped or logged: wide enough for the KPI tables
        console = Console(width=120)
    reg = registry_mod.load(registry or default_registry())
    out.mkdir(parents=True, exist_ok=True)
    if broker is not None:
        _check(lambda: parse_broker_url(broker), "--broker")
    store_url = _check(
        lambda: parse_store_url(store or f"sqlite:///{(out / 'store.db').resolve()}"), "--store"
    )
    if store is None:
        for name in _OWN_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "outbox", ignore_errors=True)
    the_store = open_store(store_url, reg)
    ensure = getattr(the_store, "ensure_database", None)
    if callable(ensure):
        ensure()
    options = runner.DemoOptions(reg, days, speed, out, store_url, broker, seed)
    try:
        result = asyncio.run(_run(options, the_store, console))
        kpis = summary.compute(the_store, reg, result)
    finally:
        the_store.close()
    summary.print_summary(console, reg, result, kpis, days)
    report = out / "report.html"
    summary.write_report(report, reg, result, kpis, str(store_url), days)
    summary.write_kpis_json(out / "kpis.json", kpis.table)
    summary.write_run_json(out / "run.json", result, kpis)
    console.print(f"\nreport: {report.resolve()}")
    console.print(f"store:  {store_url}")
    if store_url.kind == "sqlite":
        console.print(
            "Grafana: run the demo with --store influxdb://HOST:8086/smartpark and provision "
            "deploy/grafana (docs/deploy.md), or open this SQLite file with Grafana's SQLite "
            "datasource plugin (tables readings and kpi)."
        )
    if result.interrupted:
        raise typer.Exit(130)
    if result.counts.published != kpis.in_store:
        console.print("[red]published and stored readings differ[/]")
        raise typer.Exit(1)


async def _run(options: DemoOptions, store: Store, console: Console) -> DemoResult:
    from smartpark.demo.runner import DemoRun, watch_signals

    stop = asyncio.Event()
    watch_signals(stop)
    return await DemoRun(options, store, console, stop).run()


def _check(parse: Callable[[], T], option: str) -> T:
    try:
        return parse()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
