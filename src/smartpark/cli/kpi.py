"""``smartpark kpi``: compute low-carbon KPIs for a range, print them, write them back.

::

    smartpark kpi --from 2026-11-01 --to 2026-12-01 --period day --scope park
    smartpark kpi --from 2026-11-01 --to 2026-11-02 --period hour --scope enterprise \\
        --park petrochem --format csv --write
    smartpark kpi --period hour --follow          # recompute the latest closed hours
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    LogLevelOption,
    RegistryOption,
    StoreOption,
    report_errors,
)

if TYPE_CHECKING:
    from smartpark.core.registry import Registry


class PeriodChoice(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"


class ScopeChoice(StrEnum):
    enterprise = "enterprise"
    park = "park"
    zone = "zone"


class FormatChoice(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("kpi")(kpi)


@report_errors
def kpi(
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Start: a date (local midnight) or RFC 3339 time.", show_default=False
        ),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End (exclusive), like --from.", show_default=False)
    ] = None,
    period: Annotated[PeriodChoice, typer.Option(help="Period kind.")] = PeriodChoice.day,
    scope: Annotated[ScopeChoice, typer.Option(help="Scope level.")] = ScopeChoice.park,
    park: Annotated[
        str | None,
        typer.Option(
            "--park", help="Only this park (its enterprises, or its zone).", show_default=False
        ),
    ] = None,
    output: Annotated[
        FormatChoice, typer.Option("--format", help="Output format.")
    ] = FormatChoice.table,
    kpis: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi", help="KPI to show (repeatable); default: a summary set.", show_default=False
        ),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the KPIs back to the store (measurement kpi).")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", help="Recompute and write the latest closed periods until SIGTERM."
        ),
    ] = False,
    interval_s: Annotated[
        float, typer.Option("--interval", help="Seconds between --follow cycles.", min=0.1)
    ] = 60.0,
    cycles: Annotated[
        int | None,
        typer.Option(
            "--cycles", help="Stop --follow after this many cycles.", min=1, show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Compute KPIs per enterprise, park or zone for full periods in [--from, --to)."""
    from smartpark.analytics import periods
    from smartpark.analytics.catalogue import KPIS
    from smartpark.analytics.kpis import compute_kpis
    from smartpark.analytics.readers import read_range
    from smartpark.analytics.render import DEFAULT_COLUMNS, rich_table, to_csv, to_json
    from smartpark.analytics.schedule import Follow
    from smartpark.analytics.writeback import write_back
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import AnalyticsError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    if park is not None and park not in reg.parks:
        raise AnalyticsError(
            f"--park: unknown park {park!r} (registry has {', '.join(reg.park_ids)})"
        )
    unknown = [k for k in kpis or () if k not in KPIS]
    if unknown:
        raise AnalyticsError(f"--kpi: unknown KPI {unknown[0]!r} (known: {', '.join(KPIS)})")
    timezone = reg.parks[park].timezone if park else reg.zones[reg.zone_ids[0]].timezone
    ids = _ids(reg, scope.value, park)
    period_name = periods.parse_period(period.value)
    the_store = open_store(settings.store_url, reg)
    try:
        if follow:

            def cycle(start_ms: int, end_ms: int) -> int:
                readings = read_range(the_store, reg, start_ms, end_ms)
                table = compute_kpis(reg, readings, start_ms, end_ms, [period_name])
                return write_back(the_store, table)

            runner = Follow(timezone, period_name, interval_s, max_cycles=cycles)
            runner.install_signal_handlers()
            runner.run(cycle)
            return
        if from_ is None or to is None:
            raise typer.BadParameter("give --from and --to (or --follow)")
        start_ms = _instant(from_, timezone, "--from")
        end_ms = _instant(to, timezone, "--to")
        readings = read_range(the_store, reg, start_ms, end_ms)
        full = compute_kpis(reg, readings, start_ms, end_ms, [period_name])
        if write:
            written = write_back(the_store, full)
            typer.echo(f"wrote {written} KPI points", err=True)
        table = full.select(scope.value, ids)
    finally:
        the_store.close()
    columns = list(kpis) if kpis else None
    if output is FormatChoice.csv:
        sys.stdout.write(to_csv(table, columns or tuple(KPIS)))
    elif output is FormatChoice.json:
        sys.stdout.write(to_json(table, columns or tuple(KPIS)) + "\n")
    else:
        from rich.console import Console

        title = f"{scope.value} KPIs per {period.value}, {from_} to {to} ({timezone})"
        console = Console(width=max(Console().width, 160))
        console.print(rich_table(table, columns or DEFAULT_COLUMNS, title))
        if not table.blocks:
            console.print(f"no full {period.value} inside [{from_}, {to})")


def _ids(reg: Registry, scope: str, park: str | None) -> list[str] | None:
    if park is None:
        return None
    if scope == "enterprise":
        return [e for e, ent in reg.enterprises.items() if ent.park == park]
    if scope == "park":
        return [park]
    return [reg.parks[park].zone]


def _instant(text: str, timezone: str, option: str) -> int:
    """Epoch ms of a date (local midnight in ``timezone``) or an RFC 3339 time."""
    import datetime as dt

    from smartpark.analytics import periods
    from smartpark.core.errors import ContractError
    from smartpark.core.timestamps import parse_rfc3339

    if "T" in text.upper():
        try:
            return parse_rfc3339(text, option)
        except ContractError as exc:
            raise typer.BadParameter(str(exc), param_hint=option) from None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time", param_hint=option
        ) from None
    return periods.local_midnight_ms(day, timezone)
