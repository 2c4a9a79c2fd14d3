"""``smartpark report``: the monthly report of a zone or park, as HTML, PDF or .xlsx.

::

    smartpark report --month 2026-11 --format pdf                  # the registry's zone
    smartpark report --month 2026-11 --scope park --id petrochem --lang en --format html
    smartpark report --month 2026-11 --format xlsx                 # a sheet per section

What it holds and where each number comes from: docs/report.md.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import ConfigOption, RegistryOption, StoreOption, report_errors


class FormatChoice(StrEnum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


@report_errors
def report(
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM.")],
    scope: Annotated[
        str,
        typer.Option(help="zone or park (every KPI scope above the enterprise)."),
    ] = "zone",
    id_: Annotated[
        str | None,
        typer.Option(
            "--id", help="The zone or park id (zone: default the first).", show_default=False
        ),
    ] = None,
    output: Annotated[
        FormatChoice, typer.Option("--format", help="html, pdf or xlsx (a sheet per section).")
    ] = FormatChoice.html,
    lang: Annotated[
        str | None,
        typer.Option(
            help="zh or en; default: the zone's lang in the registry.", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write (default: monthly-report-SCOPE-ID-MONTH.FORMAT).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
) -> None:
    """Write the monthly report: energy, TOU electricity, carbon, water, pollutants,
    data completeness, land use and alerts of one month (xlsx: a sheet per section)."""
    from smartpark.analytics.report import job, monthly
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, registry=registry, store=store)
    request = monthly.Request(month, scope, id_, lang)
    written = job.run(settings.registry, settings.store_url, request, output.value, out)
    for line in written.missing:
        typer.echo(f"missing: {line}", err=True)
    typer.echo(f"report: {written.path.resolve()} ({written.seconds:.1f} s)")
