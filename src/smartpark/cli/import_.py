"""``smartpark import``: sheets in (docs/import.md).

::

    smartpark import template readings --out readings.xlsx --registry registry.toml
    smartpark import readings readings.xlsx --registry registry.toml --store sqlite:///park.db
    smartpark import readings readings.csv --scope enterprise:chem-c --all-or-nothing
    smartpark import readings readings.xlsx --format json     # the full report
    smartpark import template facts --out facts.xlsx --registry registry.toml
    smartpark import facts facts-2025.xlsx --registry registry.toml   # into the zone's facts
    smartpark import template output --out output.xlsx --registry registry.toml
    smartpark import output output-2026-11.xlsx --registry registry.toml --store URL
    smartpark import template value-added --out va.xlsx --registry registry.toml
    smartpark import value-added va-2026-11.xlsx --registry registry.toml --store URL
    smartpark import template targets --out targets.xlsx --registry registry.toml
    smartpark import targets targets-2026.xlsx --registry registry.toml  # the zone's targets

Exit codes: 0 every row stored; 1 a row rejected, nothing stored, or the file refused
(not a spreadsheet, over a limit, no header); 2 usage (a bad option, no such file).
Logic: :mod:`smartpark.ingest.importer` (readings),
:mod:`smartpark.analytics.landuse.facts_import` (land-use facts),
:mod:`smartpark.analytics.products.output_import` (product output),
:mod:`smartpark.analytics.valueadded_import` (value added per enterprise and month),
:mod:`smartpark.analytics.dualcontrol.targets_import` (dual-control targets),
:mod:`smartpark.core.sheets` (reading sheets, the report), :mod:`smartpark.core.template`
(templates).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
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
    from smartpark.core.sheets import ImportReport


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


class TemplateKind(StrEnum):
    readings = "readings"
    facts = "facts"
    output = "output"
    value_added = "value-added"
    targets = "targets"


ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="enterprise:ID, park:ID or zone:ID: the only meters this import may write "
        "(a row of another meter is rejected as out_of_scope).",
        show_default=False,
    ),
]


AllOrNothingOption = Annotated[
    bool,
    typer.Option(
        "--all-or-nothing",
        help="Store nothing when any row is rejected (default: the good rows).",
    ),
]
SheetOption = Annotated[
    str | None,
    typer.Option(
        "--sheet",
        help="The worksheet to read (default: the first visible one with the columns).",
        show_default=False,
    ),
]
FormatOption = Annotated[
    ReportFormat,
    typer.Option("--format", help="table: a summary and the first errors; json: the report."),
]
ErrorsOption = Annotated[
    int, typer.Option("--errors", help="Rejected rows to list in the table.", min=0)
]
ZoneOption = Annotated[
    str | None,
    typer.Option(
        "--zone",
        help="facts, targets: the zone (default: the --scope's, or the registry's only one).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Import sheets (.xlsx or CSV): register readings read by hand, land-use "
        "annual facts, product output, value added, dual-control targets; templates.",
        no_args_is_help=True,
    )
    group.command("readings")(readings)
    group.command("facts")(facts)
    group.command("output")(output)
    group.command("value-added")(value_added)
    group.command("targets")(targets)
    group.command("template")(template)
    app.add_typer(group, name="import")


@report_errors
def readings(
    file: Annotated[
        Path,
        typer.Argument(
            help="The sheet: .xlsx or CSV (columns meter, time, value, unit; headers in "
            "English or Chinese).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    scope: ScopeOption = None,
    all_or_nothing: AllOrNothingOption = False,
    sheet: SheetOption = None,
    output: FormatOption = ReportFormat.table,
    errors: ErrorsOption = 20,
    dead_letters: Annotated[
        Path | None,
        typer.Option(
            "--dead-letters",
            help="Dead-letter file for readings the store refuses (default: ingest's, "
            "docs/ingest.md).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import register readings read by hand: each row validated like an MQTT reading."""
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import SheetError
    from smartpark.core.settings import load_settings
    from smartpark.core.sheets import ImportReport
    from smartpark.ingest.importer import KIND, check_scope, import_readings
    from smartpark.ingest.settings import IngestSettings
    from smartpark.store.open import open_store

    settings = load_settings(
        IngestSettings,
        config,
        registry=registry,
        store=store,
        dead_letters=dead_letters,
        log_level=log_level,
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    check_scope(reg, scope)  # a bad --scope is a usage error before the store is opened
    the_store = open_store(settings.store_url, reg)
    try:
        report = import_readings(
            file,
            reg,
            the_store,
            dead_letters=settings.dead_letters,
            scope=scope,
            all_or_nothing=all_or_nothing,
            sheet=sheet,
        )
    except SheetError as exc:
        if output is not ReportFormat.json:
            raise
        report = ImportReport(KIND, str(file), all_or_nothing=all_or_nothing, error=str(exc))
    finally:
        the_store.close()
    _print(report, output, errors)
    raise typer.Exit(report.exit_code)


@report_errors
def facts(
    file: Annotated[
        Path,
        typer.Argument(
            help="The sheet: .xlsx or CSV (columns year, enterprise, tax, revenue, "
            "value_added, employees, rd_spend, pollutant_t, profit; headers in English or "
            "Chinese).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    facts_file: Annotated[
        Path | None,
        typer.Option(
            "--facts",
            help="The facts CSV to merge into (default: the zone's facts file).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    zone: ZoneOption = None,
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            help="enterprise:ID, park:ID or zone:ID: the only enterprises this import may "
            "write (a row of another is rejected as out_of_scope).",
            show_default=False,
        ),
    ] = None,
    all_or_nothing: AllOrNothingOption = False,
    sheet: SheetOption = None,
    output: FormatOption = ReportFormat.table,
    errors: ErrorsOption = 20,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import land-use annual facts: rows checked like the facts file's, merged into it."""
    from smartpark.analytics.landuse.facts_import import (
        KIND,
        FactsImportReport,
        facts_target,
        import_facts,
        import_zone,
    )
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import ConfigError, SheetError
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, registry=registry, log_level=log_level)
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    try:
        report = import_facts(
            file,
            reg,
            facts=facts_file,
            zone=zone,
            scope=scope,
            all_or_nothing=all_or_nothing,
            sheet=sheet,
        )
    except (SheetError, ConfigError) as exc:
        if output is not ReportFormat.json:
            raise
        target = facts_target(reg, import_zone(reg, zone, scope), facts_file)
        report = FactsImportReport(
            KIND,
            str(file),
            all_or_nothing=all_or_nothing,
            error=str(exc),
            facts_file=str(target),
        )
    _print(report, output, errors)
    raise typer.Exit(report.exit_code)


@report_errors
def output(
    file: Annotated[
        Path,
        typer.Argument(
            help="The sheet: .xlsx or CSV (columns product, period, output and optionally "
            "unit; headers in English or Chinese).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            help="enterprise:ID, park:ID or zone:ID: the only products this import may write "
            "(a row of another is rejected as out_of_scope).",
            show_default=False,
        ),
    ] = None,
    sheet: SheetOption = None,
    report_format: FormatOption = ReportFormat.table,
    errors: ErrorsOption = 20,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import product output per month or day: stored whole, or nothing when a row is
    rejected."""
    from smartpark.analytics.products.output_import import (
        KIND,
        OutputImportReport,
        import_output,
        scope_products,
    )
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import SheetError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    scope_products(reg, scope)  # a bad --scope is a usage error before the store is opened
    the_store = open_store(settings.store_url, reg)
    try:
        report = import_output(file, reg, the_store.outputs, scope=scope, sheet=sheet)
    except SheetError as exc:
        if report_format is not ReportFormat.json:
            raise
        report = OutputImportReport(KIND, str(file), all_or_nothing=True, error=str(exc))
    finally:
        the_store.close()
    _print(report, report_format, errors)
    raise typer.Exit(report.exit_code)


@report_errors
def value_added(
    file: Annotated[
        Path,
        typer.Argument(
            help="The sheet: .xlsx or CSV (columns enterprise, period (a month), value_added "
            "in 万元; headers in English or Chinese).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            help="enterprise:ID, park:ID or zone:ID: the only enterprises this import may "
            "write (a row of another is rejected as out_of_scope).",
            show_default=False,
        ),
    ] = None,
    sheet: SheetOption = None,
    report_format: FormatOption = ReportFormat.table,
    errors: ErrorsOption = 20,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    store: StoreOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import industrial value added per enterprise and month (万元): stored whole, or
    nothing when a row is rejected."""
    from smartpark.analytics.periodfigures import FigureImportReport
    from smartpark.analytics.valueadded_import import (
        KIND,
        import_value_added,
        scope_enterprises,
    )
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import SheetError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.store.open import open_store

    settings = load_settings(
        CommonSettings, config, registry=registry, store=store, log_level=log_level
    )
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    scope_enterprises(reg, scope)  # a bad --scope is a usage error before the store is opened
    the_store = open_store(settings.store_url, reg)
    try:
        report = import_value_added(file, reg, the_store.value_added, scope=scope, sheet=sheet)
    except SheetError as exc:
        if report_format is not ReportFormat.json:
            raise
        report = FigureImportReport(KIND, str(file), all_or_nothing=True, error=str(exc))
    finally:
        the_store.close()
    _print(report, report_format, errors)
    raise typer.Exit(report.exit_code)


@report_errors
def targets(
    file: Annotated[
        Path,
        typer.Argument(
            help="The sheet: .xlsx or CSV (columns scope, id, year, energy_tce, "
            "energy_intensity, co2_t, co2_intensity, renewable_share_min; headers in English "
            "or Chinese).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    targets_file: Annotated[
        Path | None,
        typer.Option(
            "--targets",
            help="The targets TOML to merge into (default: the zone's dual_control file).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    zone: ZoneOption = None,
    all_or_nothing: AllOrNothingOption = False,
    sheet: SheetOption = None,
    output: FormatOption = ReportFormat.table,
    errors: ErrorsOption = 20,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Import dual-control targets: rows checked like the targets file's, merged into it."""
    from smartpark.analytics.dualcontrol.targets_import import (
        KIND,
        TargetsImportReport,
        import_targets,
        targets_target,
    )
    from smartpark.analytics.landuse.facts_import import import_zone
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import ConfigError, SheetError
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, registry=registry, log_level=log_level)
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    try:
        report = import_targets(
            file,
            reg,
            targets=targets_file,
            zone=zone,
            all_or_nothing=all_or_nothing,
            sheet=sheet,
        )
    except (SheetError, ConfigError) as exc:
        if output is not ReportFormat.json:
            raise
        target = targets_target(reg, import_zone(reg, zone, None), targets_file)
        report = TargetsImportReport(
            KIND,
            str(file),
            all_or_nothing=all_or_nothing,
            error=str(exc),
            targets_file=str(target),
        )
    _print(report, output, errors)
    raise typer.Exit(report.exit_code)


def _print(report: ImportReport, output: ReportFormat, limit: int) -> None:
    if output is ReportFormat.json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    where = report.file + (f", sheet {report.sheet!r}" if report.sheet else "")
    console.print(
        f"{where}: {report.rows:,} row(s) · stored {report.stored:,} · rejected "
        f"{report.rejected:,}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if report.errors and limit:
        table = Table(title=f"rejected rows (the first {min(limit, len(report.errors))})")
        for column in ("row", "cell", "column", "value", "reason", "what to fix"):
            table.add_column(column, overflow="fold")
        for e in report.errors[:limit]:
            table.add_row(str(e.row), e.cell, e.column, e.value, e.reason, e.detail)
        console.print(table)
        counts = ", ".join(f"{r} {n:,}" for r, n in sorted(report.reasons.items()))
        console.print(
            f"by reason: {counts} (--format json lists them all)", markup=False, soft_wrap=True
        )
    if report.dead_lettered:
        console.print(
            f"{report.dead_lettered:,} reading(s) refused by the store are in "
            f"{report.dead_letter_file}",
            markup=False,
            soft_wrap=True,
        )
    for note in report.notes:
        console.print(note, markup=False, highlight=False, soft_wrap=True)


@report_errors
def template(
    kind: Annotated[TemplateKind, typer.Argument(help="What the sheet imports.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="The .xlsx file to write.", dir_okay=False, show_default=False),
    ],
    scope: ScopeOption = None,
    zone: ZoneOption = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
) -> None:
    """Write the .xlsx to fill in for `smartpark import KIND` (ids and units as drop-downs)."""
    from rich.console import Console

    from smartpark.analytics.dualcontrol.targets_import import targets_template
    from smartpark.analytics.landuse.facts_import import facts_template
    from smartpark.analytics.products.output_import import output_template
    from smartpark.analytics.valueadded_import import value_added_template
    from smartpark.core import registry as registry_mod
    from smartpark.core.errors import OptionError
    from smartpark.core.settings import CommonSettings, load_settings
    from smartpark.core.template import write_template
    from smartpark.ingest.importer import readings_template

    settings = load_settings(CommonSettings, config, registry=registry)
    reg = registry_mod.load(settings.registry)
    if kind is TemplateKind.facts:
        made = facts_template(reg, scope, zone)
    elif kind is TemplateKind.targets:
        made = targets_template(reg, zone)
    elif zone is not None:
        raise OptionError("--zone: only a facts or targets template is for one zone")
    elif kind is TemplateKind.output:
        made = output_template(reg, scope)
    elif kind is TemplateKind.value_added:
        made = value_added_template(reg, scope)
    else:
        made = readings_template(reg, scope)
    write_template(out, made)
    Console(stderr=True).print(f"wrote {out}", markup=False, highlight=False)
