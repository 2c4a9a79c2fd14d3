"""``smartpark savings``: measured savings (节能量) of energy-saving projects, CalTRACK
daily through eemeter (docs/savings.md).

::

    smartpark savings --registry registry.toml --store sqlite:///park.db
    smartpark savings --project chem-a-chiller --from 2026-01-01 --to 2026-07-01 --format json

The job is :mod:`smartpark.analytics.savings.job`, what it prints
:mod:`smartpark.analytics.savings.render`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, cast

import typer

from smartpark.cli.common import ConfigOption, RegistryOption, StoreOption, report_errors

if TYPE_CHECKING:
    from smartpark.analytics.savings.render import Format


def register(app: typer.Typer) -> None:
    app.command(
        "savings",
        help="Measured savings (节能量) of energy-saving projects per month since go-live.",
    )(savings)


@report_errors
def savings(
    project: Annotated[
        str | None,
        typer.Option("--project", help="Project id (default: every [project.ID])."),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="First reporting day, YYYY-MM-DD (default: go-live)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Day after the last reporting day (default: today)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
) -> None:
    """Avoided energy, CO2 and cost of each project per local month, with the model's
    90 % uncertainty."""
    from smartpark.analytics.savings import job, render
    from smartpark.cli.landuse import settings_of
    from smartpark.core.timestamps import now_ms

    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"--format must be table, csv or json, got {output!r}")
    settings = settings_of(config, registry, store)
    results = job.run(
        settings.registry,
        settings.store_url,
        project,
        _day(from_, "--from"),
        _day(to, "--to"),
        now_ms(),
    )
    typer.echo(render.render(results, cast("Format", output)), nl=False)


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option} must be a date YYYY-MM-DD, got {text!r}") from None
