"""``smartpark targets``: dual-control targets, plan against actual, year-end projection.

::

    smartpark targets --registry registry.toml --store sqlite:///park.db
    smartpark targets ... --year 2026 --as-of 2026-07-15 --scope enterprise --id chem-a
    smartpark targets ... --format xlsx --out targets-2026.xlsx
    smartpark targets ... --write          # the monthly plan as KPI rows, for Grafana

The job is :mod:`smartpark.analytics.dualcontrol.progress`, what it prints
:mod:`smartpark.analytics.dualcontrol.render` (docs/dualcontrol.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from smartpark.cli.common import (
    ConfigOption,
    OutOption,
    RegistryOption,
    StoreOption,
    check_out,
    report_errors,
)
from smartpark.cli.landuse import ZoneOption, format_choice, print_out, settings_of


def register(app: typer.Typer) -> None:
    app.command(
        "targets",
        help="Dual-control (双控) targets: plan against actual and the year-end projection.",
    )(targets)


@report_errors
def targets(
    year: Annotated[
        int | None,
        typer.Option("--year", help="The targets' year (default: the --as-of year).", min=2000),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD: the year to date is the months before this day's month "
            "(default: today in the zone's time zone).",
            show_default=False,
        ),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", help="enterprise, park, zone or region: only these targets."),
    ] = None,
    ident: Annotated[str | None, typer.Option("--id", help="Only the targets of this id.")] = None,
    zone: ZoneOption = None,
    output: Annotated[
        str, typer.Option("--format", help="table, csv, json or xlsx (xlsx: with --out).")
    ] = "table",
    out: OutOption = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Also write each target's monthly energy plan to the store as KPI rows "
            "(energy_plan_tce), the plan line of the Grafana panels.",
        ),
    ] = False,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
) -> None:
    """Each target's budgets against the actuals to date, projected to the year's end."""
    from smartpark.analytics.dualcontrol import planrows, progress, render
    from smartpark.analytics.dualcontrol.targets import SCOPES
    from smartpark.core import registry as registry_mod
    from smartpark.store.open import open_store

    fmt = format_choice(output)
    check_out(fmt, out)
    if scope is not None and scope not in SCOPES:
        raise typer.BadParameter(f"--scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    day = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}") from None
    settings = settings_of(config, registry, store)
    reg = registry_mod.load(settings.registry)
    the_store = open_store(settings.store_url, reg)
    try:
        done = progress.run(
            the_store, reg, zone=zone, year=year, as_of=day, scope=scope, ident=ident
        )
        if write:
            written = planrows.write_plan(the_store, reg, done)
            typer.echo(f"wrote {written} {planrows.PLAN_KPI} row(s) to the store", err=True)
    finally:
        the_store.close()
    print_out(render.render(done, fmt), out)
