"""``smartpark idle``: idle enterprises and inefficient land at a month, with evidence.

::

    smartpark idle --registry examples/registry.toml --monthly examples/monthly-energy.csv \\
        --as-of 2025-12
    smartpark idle ... --as-of 2025-12 --format xlsx --out idle-2025-12.xlsx

The job is :mod:`smartpark.analytics.landuse.job` (the same run as ``smartpark landuse``),
what it prints :mod:`smartpark.analytics.landuse.render` (docs/landuse.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    OutOption,
    RegistryOption,
    SheetLangOption,
    StoreOption,
    check_out,
    report_errors,
)
from smartpark.cli.landuse import (
    FactsOption,
    FormatOption,
    ZoneOption,
    format_choice,
    lang_choice,
    print_out,
    settings_of,
)


def register(app: typer.Typer) -> None:
    app.command(
        "idle",
        help="Idle enterprises and inefficient land at a month, with rule, evidence and land.",
    )(idle)


@report_errors
def idle(
    as_of: Annotated[str, typer.Option("--as-of", help="Month to test at, YYYY-MM.")],
    config: ConfigOption = None,
    registry: RegistryOption = None,
    facts: FactsOption = None,
    monthly: Annotated[
        Path | None,
        typer.Option("--monthly", help="Monthly CSV (default: the store's monthly KPIs)."),
    ] = None,
    store: StoreOption = None,
    zone: ZoneOption = None,
    park: Annotated[str | None, typer.Option("--park", help="Only this park.")] = None,
    control: Annotated[
        float | None,
        typer.Option("--control", help="Control revenue per mu for low_output.", min=0.0),
    ] = None,
    output: FormatOption = "table",
    out: OutOption = None,
    lang: SheetLangOption = None,
) -> None:
    """Flagged enterprises at --as-of, with the facts of the last year not after it."""
    from smartpark.analytics.landuse import job, render

    fmt = format_choice(output)
    check_out(fmt, out)
    sheet_lang = lang_choice(lang)
    settings = settings_of(config, registry, store)
    request = job.Request(
        registry=settings.registry,
        store=settings.store_url,
        facts=facts,
        monthly=monthly,
        zone=zone,
        as_of=as_of,
        control=control,
    )
    print_out(render.idle(job.run(request).analysis, fmt, park, sheet_lang), out)
