"""``smartpark landuse``: per-mu grades, idle flags and park land-use KPIs of a zone.

::

    smartpark landuse --registry examples/registry.toml \\
        --monthly examples/monthly-energy.csv --year 2025
    smartpark landuse --registry registry.toml --year 2025 --store sqlite:///park.db --write
    smartpark landuse ... --year 2025 --format xlsx --out landuse-2025.xlsx --lang zh

The job is :mod:`smartpark.analytics.landuse.job`, what it prints
:mod:`smartpark.analytics.landuse.render` (docs/landuse.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console

from smartpark.cli.common import (
    ConfigOption,
    OutOption,
    RegistryOption,
    SheetLangOption,
    StoreOption,
    check_out,
    err_console,
    report_errors,
    write_out,
)

if TYPE_CHECKING:
    from smartpark.analytics.landuse.render import Format, KpiScope, Screen
    from smartpark.core.registry import Lang
    from smartpark.core.settings import CommonSettings

FactsOption = Annotated[
    Path | None, typer.Option("--facts", help="Annual facts CSV (default: the zone's facts file).")
]
ZoneOption = Annotated[str | None, typer.Option("--zone", help="Zone id (default: the only one).")]
FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv, json or xlsx (xlsx: with --out).")
]


def register(app: typer.Typer) -> None:
    app.command(
        "landuse",
        help="Per-mu (亩均) grades, idle-enterprise flags and park land-use KPIs of a zone.",
    )(landuse)


@report_errors
def landuse(
    year: Annotated[int, typer.Option("--year", help="Year to evaluate.", min=1900, max=2200)],
    config: ConfigOption = None,
    registry: RegistryOption = None,
    facts: FactsOption = None,
    monthly: Annotated[
        Path | None,
        typer.Option(
            "--monthly",
            help="Monthly CSV month,enterprise,electricity_kwh,energy_tce,fresh_water_m3 "
            "(default: the monthly enterprise KPIs in the store).",
        ),
    ] = None,
    store: StoreOption = None,
    park: Annotated[
        str | None,
        typer.Option("--park", help="Show only this park's enterprises (grades stay zone-wide)."),
    ] = None,
    zone: ZoneOption = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Weights for above-scale enterprises: zj6 or js3.")
    ] = "zj6",
    shares: Annotated[
        str,
        typer.Option(
            "--shares", help="Grade shares: default (20/40/35/5), ah (20/45/30/5) or A,B,C,D."
        ),
    ] = "default",
    benchmark: Annotated[
        list[str] | None,
        typer.Option(
            "--benchmark",
            help="Fixed benchmark INDICATOR=VALUE instead of 2 × the cohort mean (repeatable).",
        ),
    ] = None,
    control: Annotated[
        float | None,
        typer.Option(
            "--control",
            help="Zone's control value of revenue per mu (10k CNY/mu) for low_output "
            "(default: the graded cohort's mean).",
            min=0.0,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Month the idle rules test at, YYYY-MM (default: December)."),
    ] = None,
    output: FormatOption = "table",
    out: OutOption = None,
    lang: SheetLangOption = None,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Show how ENTERPRISE's score and flags were reached."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the park and zone KPIs to the store.")
    ] = False,
    scope: Annotated[
        str,
        typer.Option(
            "--scope", help="park: park and zone KPIs; region: the regions' shared figures."
        ),
    ] = "park",
) -> None:
    """Grade every enterprise of a zone for --year and flag idle ones, with evidence."""
    from smartpark.analytics.landuse import job, render

    fmt = format_choice(output)
    check_out(fmt, out)
    sheet_lang = lang_choice(lang)
    settings = settings_of(config, registry, store)
    request = job.Request(
        registry=settings.registry,
        year=year,
        store=settings.store_url,
        facts=facts,
        monthly=monthly,
        zone=zone,
        as_of=as_of,
        control=control,
        profile=profile,
        shares=shares,
        benchmarks=tuple(benchmark or ()),
        write=write,
    )
    done = job.run(request)
    if done.written is not None:
        err_console.print(f"wrote {done.written} land-use KPI rows to {settings.store}")
    print_out(render.landuse(done.analysis, fmt, park, explain, _scope(scope), sheet_lang), out)


def format_choice(output: str) -> Format:
    if output not in ("table", "csv", "json", "xlsx"):
        raise typer.BadParameter(f"--format must be table, csv, json or xlsx, got {output!r}")
    return cast("Format", output)


def lang_choice(lang: str | None) -> Lang | None:
    """``--lang`` checked; None: the zone's (the analysis knows it)."""
    from smartpark.analytics.report.labels import check_lang

    return None if lang is None else check_lang(lang)


def _scope(scope: str) -> KpiScope:
    if scope not in ("park", "region"):
        raise typer.BadParameter(f"--scope must be park or region, got {scope!r}")
    return cast("KpiScope", scope)


def settings_of(config: Path | None, registry: Path | None, store: str | None) -> CommonSettings:
    from smartpark.core import logs
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, registry=registry, store=store)
    logs.configure(settings.log_level)
    return settings


def print_out(shown: str | bytes | Screen, out: Path | None = None) -> None:
    if isinstance(shown, str | bytes):
        write_out(shown, out)
        return
    console = Console(width=max(Console().width, shown.width))
    for part in shown.parts:
        console.print(part)
