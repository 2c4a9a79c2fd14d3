"""``smartpark demo`` from checked options to the printed report and the exit code.

The command parses the options and calls :func:`run`; everything else happens here:
the registry (the example one unless told), the folder of a previous run, the store,
the run itself (:mod:`smartpark.demo.runner`) and what it shows
(:mod:`smartpark.demo.summary`), docs/demo.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shlex
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

from rich.console import Console

from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.urls import StoreUrl, parse_store_url
from smartpark.demo import handread, outputsheet, summary
from smartpark.demo.runner import (
    DemoOptions,
    DemoResult,
    DemoRun,
    simulated_range,
    watch_signals,
)
from smartpark.store.base import Store
from smartpark.store.open import open_store

# Files of a previous demo run in --out that a new run replaces.
OWN_FILES: Final = (
    "store.db",
    "store.db-wal",
    "store.db-shm",
    "dead-letters.db",
    "report.html",
    "monthly-report.html",
    "monthly-report.pdf",
    "kpis.json",
    handread.SHEET,
    outputsheet.SHEET,
)
EXIT_INTERRUPTED: Final = 130


@dataclass(frozen=True)
class DemoRequest:
    """The options of ``smartpark demo``, URLs already checked."""

    registry: Path | None  # None: :func:`default_registry`
    days: float
    speed: float
    out: Path
    broker: str | None  # None: an embedded broker
    store: StoreUrl | None  # None: the SQLite store ``out/store.db``, recreated
    seed: int = 42
    start: dt.date | None = None  # None: the ``days`` before the last local midnight


def default_registry() -> Path:
    """The example registry: ./examples/registry.toml in a clone, else the packaged copy."""
    local = Path("examples/registry.toml")
    if local.is_file():
        return local
    return Path(str(resources.files("smartpark").joinpath("examples/registry.toml")))


def remove_previous_run(out: Path) -> None:
    """Delete the store, dead letters, report and outboxes a previous run left in ``out``."""
    for name in OWN_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "outbox", ignore_errors=True)


def run(request: DemoRequest, console: Console) -> int:
    """Run the demo, print its summary, write its files; the command's exit code."""
    logs.configure("warning")  # the progress display says what the services would log
    registry_path = request.registry or default_registry()
    reg = registry_mod.load(registry_path)
    simulated_range(reg, request.days, request.start)  # refuse a future range up front
    out = request.out
    out.mkdir(parents=True, exist_ok=True)
    store_url = request.store or parse_store_url(f"sqlite:///{(out / 'store.db').resolve()}")
    if request.store is None:
        remove_previous_run(out)
    the_store = open_store(store_url, reg)
    ensure = getattr(the_store, "ensure_database", None)
    if callable(ensure):
        ensure()
    options = DemoOptions(
        reg,
        request.days,
        request.speed,
        out,
        store_url,
        request.broker,
        request.seed,
        request.start,
    )
    try:
        result = asyncio.run(_run(options, the_store, console))
        hand, entered = None, None
        if result.reached_ms > result.start_ms:
            span = (result.start_ms, result.reached_ms)
            hand = handread.import_sheet(out, reg, the_store, span, request.seed)
            entered = outputsheet.import_sheet(out, reg, the_store, span, request.seed)
        kpis = summary.compute(the_store, reg, result)
        notes = summary.write_monthly_report(out, the_store, reg, registry_path, store_url, result)
    finally:
        the_store.close()
    summary.print_summary(console, reg, result, kpis, request.days)
    if hand is not None:
        console.print(summary.hand_read_line(hand))
    if entered is not None:
        console.print(summary.output_sheet_line(entered))
    summary.print_products(console, reg, kpis.table)
    report = out / "report.html"
    summary.write_report(report, reg, result, kpis, str(store_url), request.days)
    summary.write_kpis_json(out / "kpis.json", kpis.table)
    summary.write_run_json(out / "run.json", result, kpis, hand, entered)
    console.print(f"\nreport: {report.resolve()}")
    console.print(f"monthly report: {(out / 'monthly-report.html').resolve()} (and .pdf)")
    for note in notes:
        console.print(f"[yellow]{note}[/]")
    console.print(f"store:  {store_url}")
    if store_url.kind == "sqlite":
        console.print(
            "Grafana: run the demo with --store influxdb://HOST:8086/smartpark and provision "
            "deploy/grafana (docs/deploy.md), or open this SQLite file with Grafana's SQLite "
            "datasource plugin (tables readings and kpi)."
        )
    for line in serve_hints(registry_path, out / "smartpark-access.db", store_url):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.counts.published != kpis.in_store:
        console.print("[red]published and stored readings differ[/]")
        return 1
    return 0


def serve_hints(registry: Path, access: Path, store_url: StoreUrl) -> list[str]:
    """The commands that open the web view and the API on this run's store."""
    common = f"--registry {shlex.quote(str(registry.resolve()))} "
    common += f"--tokens {shlex.quote(str(access.resolve()))}"
    return [
        "web view and API on this store (docs/api.md): add a user, serve, open "
        "http://127.0.0.1:8080/login",
        f"  smartpark tokens user demo --role admin {common}",
        f"  smartpark serve --store {shlex.quote(str(store_url))} {common}",
        f"  an API token: smartpark tokens create --role admin {common}",
    ]


async def _run(options: DemoOptions, store: Store, console: Console) -> DemoResult:
    stop = asyncio.Event()
    watch_signals(stop)
    return await DemoRun(options, store, console, stop).run()
