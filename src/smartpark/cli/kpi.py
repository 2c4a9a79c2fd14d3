"""``smartpark kpi``: compute low-carbon KPIs for a range, print them, write them back.

::

    smartpark kpi --from 2026-11-01 --to 2026-12-01 --period day --scope park
    smartpark kpi --from 2026-11-01 --to 2026-11-02 --period hour --scope enterprise \\
        --park petrochem --format csv --write
    smartpark kpi --from 2026-11-01 --to 2026-12-01 --park petrochem --format xlsx \\
        --out petrochem-2026-11.xlsx --lang zh
    smartpark kpi --period hour --follow          # recompute the latest closed hours
    smartpark kpi restate --from 2025-10-01 --to 2026-01-01 [--write]   # see cli/restate.py
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    LogLevelOption,
    OutOption,
    RegistryOption,
    SheetLangOption,
    StoreOption,
    check_out,
    report_errors,
    write_out,
)


class PeriodChoice(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"
    year = "year"


class ScopeChoice(StrEnum):
    enterprise = "enterprise"
    park = "park"
    zone = "zone"
    region = "region"
    product = "product"


class FormatChoice(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    from smartpark.cli import restate

    group = typer.Typer(help="Compute low-carbon KPIs; restate them after a factor change.")
    group.callback(invoke_without_command=True)(kpi)
    restate.register(group)
    app.add_typer(group, name="kpi")


@report_errors
def kpi(
    ctx: typer.Context,
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
        FormatChoice, typer.Option("--format", help="Output format (xlsx: with --out).")
    ] = FormatChoice.table,
    out: OutOption = None,
    lang: SheetLangOption = None,
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
    peak_shift: Annotated[
        float, typer.Option("--peak-shift", help="% of sharp + peak kWh moved to valley hours.")
    ] = 10.0,
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
    if ctx.invoked_subcommand is not None:
        return
    from smartpark.analytics import jobs, xlsx_words
    from smartpark.analytics.kpis.catalogue import KPIS, PRODUCT_KPIS
    from smartpark.analytics.render import (
        DEFAULT_COLUMNS,
        PRODUCT_COLUMNS,
        rich_table,
        to_csv,
        to_json,
        to_xlsx,
    )
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import ContractError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    if not follow:
        check_out(output.value, out)
    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    selection = jobs.Selection.check(reg, period.value, scope.value, park, kpis, peak_shift)
    sheet_lang = xlsx_words.lang_of(reg, lang, park)
    the_store = open_store(settings.store_url, reg)
    try:
        if follow:
            jobs.follow(the_store, reg, selection, interval_s, cycles)
            return
        if from_ is None or to is None:
            raise typer.BadParameter("give --from and --to (or --follow)")
        try:
            result = jobs.run_range(the_store, reg, selection, from_, to, write=write)
        except ContractError as exc:  # --from/--to, shown as typer shows a bad value
            message = exc.detail if exc.reason == "bad_date" else str(exc)
            raise typer.BadParameter(message, param_hint=exc.field) from None
        if write:
            typer.echo(f"wrote {result.written} KPI points", err=True)
    finally:
        the_store.close()
    table = selection.shown(result.table)
    every = tuple(PRODUCT_KPIS if selection.products else KPIS)
    columns = selection.columns
    if output is FormatChoice.csv:
        write_out(to_csv(table, columns or every), out)
    elif output is FormatChoice.json:
        write_out(to_json(table, columns or every, result.source.as_json()) + "\n", out)
    elif output is FormatChoice.xlsx:
        workbook = to_xlsx(
            table,
            columns or every,
            scope=scope.value,
            period=period.value,
            span=(from_, to),
            source=result.source.summary,
            park=park,
            timezone=selection.timezone,
            lang=sheet_lang,
        )
        write_out(workbook, out)
    else:
        from rich.console import Console

        title = f"{scope.value} KPIs per {period.value}, {from_} to {to} ({selection.timezone})"
        console = Console(width=max(Console().width, 160))
        shown = columns or (PRODUCT_COLUMNS if selection.products else DEFAULT_COLUMNS)
        console.print(rich_table(table, shown, title))
        if not table.blocks:
            console.print(f"no full {period.value} inside [{from_}, {to})")
