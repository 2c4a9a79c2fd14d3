"""``smartpark landuse``: per-mu grades, idle flags and park land-use KPIs of a zone.

::

    smartpark landuse --registry examples/registry.toml \\
        --monthly examples/monthly-energy.csv --year 2025
    smartpark landuse --registry registry.toml --year 2025 --store sqlite:///park.db --write

Facts come from the zone's facts file (or ``--facts``); monthly electricity, energy and
water from ``--monthly FILE`` or, without it, from the monthly enterprise KPIs in the
store. Grades are an aid for the park's management committee, not an official result.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from smartpark.cli.common import ConfigOption, RegistryOption, StoreOption, report_errors

if TYPE_CHECKING:
    from smartpark.analytics.landuse.analysis import Analysis

Format = Literal["table", "csv", "json"]


def register(app: typer.Typer) -> None:
    app.command(
        "landuse",
        help="Per-mu (亩均) grades, idle-enterprise flags and park land-use KPIs of a zone.",
    )(landuse)
    app.command(
        "idle",
        help="Idle enterprises and inefficient land at a month, with rule, evidence and land.",
    )(idle)


@report_errors
def landuse(
    year: Annotated[int, typer.Option("--year", help="Year to evaluate.", min=1900, max=2200)],
    config: ConfigOption = None,
    registry: RegistryOption = None,
    facts: Annotated[
        Path | None,
        typer.Option("--facts", help="Annual facts CSV (default: the zone's facts file)."),
    ] = None,
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
    zone: Annotated[
        str | None, typer.Option("--zone", help="Zone id (default: the only one).")
    ] = None,
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
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Show how ENTERPRISE's score and flags were reached."),
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the park and zone KPIs to the store.")
    ] = False,
) -> None:
    """Grade every enterprise of a zone for --year and flag idle ones, with evidence."""
    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"--format must be table, csv or json, got {output!r}")
    result = _run(
        config,
        registry,
        store,
        facts,
        monthly,
        zone,
        year,
        as_of,
        control,
        write,
        profile=profile,
        shares=shares,
        benchmark=benchmark or [],
    )
    if park is not None and park not in set(result.data.static.park):
        raise typer.BadParameter(f"--park: no park {park!r} in zone {result.data.zone!r}")
    _print(result, output, explain, park)  # type: ignore[arg-type]


def _run(
    config: Path | None,
    registry: Path | None,
    store: str | None,
    facts: Path | None,
    monthly: Path | None,
    zone: str | None,
    year: int | None,
    as_of: str | None,
    control: float | None,
    write: bool,
    *,
    profile: str = "zj6",
    shares: str = "default",
    benchmark: list[str] | None = None,
) -> Analysis:
    """Load the registry, facts and months, analyse; ``year`` None: the last facts year
    not after ``as_of``."""
    from smartpark.analytics.landuse import analysis as analysis_mod
    from smartpark.analytics.landuse import dataset, grades, telemetry
    from smartpark.analytics.landuse import facts as facts_mod
    from smartpark.analytics.landuse import monthly as monthly_mod
    from smartpark.analytics.landuse.evaluation import Config
    from smartpark.analytics.landuse.idle import IdleConfig
    from smartpark.core import logs
    from smartpark.core import registry as registry_mod
    from smartpark.core.settings import CommonSettings, load_settings

    settings = load_settings(CommonSettings, config, registry=registry, store=store)
    logs.configure(settings.log_level)
    reg = registry_mod.load(settings.registry)
    zone_id = facts_mod.zone_of(reg, zone)
    facts_file = facts or facts_mod.facts_path(reg, zone_id)
    the_facts = facts_mod.load(facts_file, reg, zone_id)
    as_of_code = monthly_mod.parse_month(as_of) if as_of else None
    if year is None:
        year = _facts_year(the_facts.years, as_of_code)
    the_facts.year_index(year)  # no facts for the year: a clear error, before any I/O
    eval_config = Config(
        profile=profile,
        shares=grades.parse_shares(shares),
        fixed_benchmarks=_benchmarks(benchmark or []),
    )
    idle_config = IdleConfig(control_revenue_per_mu=control)
    opened = None
    try:
        if monthly is not None:
            months = monthly_mod.load(monthly, the_facts.enterprises)
        else:
            opened = _open(settings.store_url, reg)
            first = monthly_mod.month_code(min(the_facts.years) - 2, 1)
            last = max(as_of_code or 0, monthly_mod.month_code(max(the_facts.years), 12))
            months = telemetry.read_monthly(opened, reg, the_facts.enterprises, first, last)
        data = dataset.build(reg, the_facts, months)
        result = analysis_mod.analyse(data, year, eval_config, idle_config, as_of=as_of_code)
        if write:
            opened = opened or _open(settings.store_url, reg)
            rows = result.kpi_rows()
            opened.write_kpis(rows)
            Console(stderr=True).print(f"wrote {len(rows)} land-use KPI rows to {settings.store}")
    finally:
        if opened is not None:
            opened.close()
    return result


def _facts_year(years: tuple[int, ...], as_of: int | None) -> int:
    from smartpark.core.errors import AnalyticsError

    if as_of is None:
        raise typer.BadParameter("give --year or --as-of")
    usable = [y for y in years if y <= as_of // 12]
    if not usable:
        raise AnalyticsError(f"no facts for {as_of // 12} or before (the file has {years})")
    return max(usable)


def _benchmarks(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values:
        name, _, number = item.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(
                f"--benchmark: expected INDICATOR=VALUE, got {item!r}"
            ) from None
    return out


def _open(url: Any, reg: Any) -> Any:
    from smartpark.store.open import open_store

    return open_store(url, reg)


def _print(result: Analysis, output: Format, explain: str | None, park: str | None) -> None:
    from smartpark.analytics.landuse import records

    if explain is not None:
        try:
            record = records.explain(result, explain)
        except KeyError:
            raise typer.BadParameter(f"--explain: no enterprise {explain!r} in the zone") from None
        if output == "json":
            typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
        else:
            _print_explain(record)
        return
    rows = [r for r in records.enterprises(result) if park in (None, r["park"])]
    flags = [f for f in records.flags(result) if park in (None, f["park"])]
    kpis = [r for r in result.year_rows() if park is None or r.scope == "zone" or r.id == park]
    if output == "json":
        payload = {
            "zone": result.data.zone,
            "year": result.evaluation.year,
            "profile": result.evaluation.config.profile,
            "shares": list(result.evaluation.config.shares),
            "benchmarks": records.benchmarks(result),
            "enterprises": rows,
            "flags": flags,
            "kpis": [
                {
                    "scope": r.scope,
                    "id": r.id,
                    "period": r.period,
                    "kpi": r.kpi,
                    "start_ms": r.start_ms,
                    "value": r.value,
                }
                for r in kpis
            ],
            "control_revenue_per_mu": result.control_revenue_per_mu,
            "notes": list(result.notes),
            "disclaimer": DISCLAIMER,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif output == "csv":
        _print_csv(rows)
    else:
        _print_tables(result, rows, flags, kpis)


DISCLAIMER = "Grades are an aid for the park's management committee, not an official result."


def _print_csv(rows: list[dict[str, Any]]) -> None:
    from smartpark.analytics.landuse.indicators import INDICATORS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["year", "enterprise", "park", "land_mu", "profile", "grade", "rank", "score"]
    writer.writerow([*head, *INDICATORS, *(f"item_{k}" for k in INDICATORS), "flags", "not_graded"])
    for r in rows:
        writer.writerow(
            [
                *("" if r[k] is None else r[k] for k in head),
                *("" if r["indicators"].get(k) is None else r["indicators"][k] for k in INDICATORS),
                *("" if r["items"].get(k) is None else r["items"][k] for k in INDICATORS),
                ";".join(r["flags"]),
                r["not_graded"] or "",
            ]
        )
    sys.stdout.write(out.getvalue())


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _print_tables(
    result: Analysis, rows: list[dict[str, Any]], flag_rows: list[dict[str, Any]], kpi_rows: Any
) -> None:

    console = Console(width=max(Console().width, 140))
    ev = result.evaluation
    title = (
        f"{result.data.zone} {ev.year}: per-mu grades ({ev.config.profile}, shares "
        f"{'/'.join(f'{s:g}' for s in ev.config.shares)})"
    )
    table = Table(title=title)
    for column, justify in [
        ("rank", "right"),
        ("enterprise", "left"),
        ("park", "left"),
        ("mu", "right"),
        ("grade", "center"),
        ("score", "right"),
        ("items", "left"),
        ("flags / not graded", "left"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    ordered = sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["enterprise"]))
    for r in ordered:
        items = ", ".join(f"{k} {v:.1f}" for k, v in r["items"].items() if v is not None)
        if r["pollutant_mean_used"]:
            items += " (pollutant: cohort mean)"
        notes = ", ".join(r["flags"])
        if r["not_graded"]:
            notes = f"not graded: {r['not_graded']}" + (f"; {notes}" if notes else "")
        table.add_row(
            _fmt(r["rank"]),
            r["enterprise"],
            r["park"],
            _fmt(r["land_mu"], 1),
            r["grade"],
            _fmt(r["score"]),
            items,
            notes,
        )
    console.print(table)

    if flag_rows:
        console.print(_flag_table(result, flag_rows))

    kpis = Table(title=f"park land-use indicators {ev.year}")
    names = [
        "land_output_rate",
        "energy_output_rate",
        "water_output_rate",
        "grade_share_A",
        "grade_share_B",
        "grade_share_C",
        "grade_share_D",
    ]
    units = ["100M CNY/km2", "10k CNY/tce", "CNY/m3", "%", "%", "%", "%"]
    kpis.add_column("scope")
    for name, unit in zip(names, units, strict=True):
        kpis.add_column(f"{name}\n({unit})", justify="right")
    values: dict[str, dict[str, float]] = {}
    for row in kpi_rows:
        values.setdefault(f"{row.scope} {row.id}", {})[row.kpi] = row.value
    for scope, v in values.items():
        kpis.add_row(scope, *(_fmt(v.get(n)) for n in names))
    console.print(kpis)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(DISCLAIMER)


def _flag_table(result: Analysis, flag_rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"idle and inefficient land at {result.detection.runs.months[-1]}")
    for column in ("rule", "enterprise", "park", "mu", "evidence"):
        table.add_column(column)
    for f in flag_rows:
        table.add_row(
            f["rule"], f["enterprise"], f["park"], _fmt(f["land_mu"], 1), _evidence(f["evidence"])
        )
    return table


@report_errors
def idle(
    as_of: Annotated[str, typer.Option("--as-of", help="Month to test at, YYYY-MM.")],
    config: ConfigOption = None,
    registry: RegistryOption = None,
    facts: Annotated[
        Path | None,
        typer.Option("--facts", help="Annual facts CSV (default: the zone's facts file)."),
    ] = None,
    monthly: Annotated[
        Path | None,
        typer.Option("--monthly", help="Monthly CSV (default: the store's monthly KPIs)."),
    ] = None,
    store: StoreOption = None,
    zone: Annotated[
        str | None, typer.Option("--zone", help="Zone id (default: the only one).")
    ] = None,
    park: Annotated[str | None, typer.Option("--park", help="Only this park.")] = None,
    control: Annotated[
        float | None,
        typer.Option("--control", help="Control revenue per mu for low_output.", min=0.0),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Flagged enterprises at --as-of, with the facts of the last year not after it."""
    if output not in ("table", "csv", "json"):
        raise typer.BadParameter(f"--format must be table, csv or json, got {output!r}")
    from smartpark.analytics.landuse import records

    result = _run(config, registry, store, facts, monthly, zone, None, as_of, control, False)
    if park is not None and park not in set(result.data.static.park):
        raise typer.BadParameter(f"--park: no park {park!r} in zone {result.data.zone!r}")
    flag_rows = [f for f in records.flags(result) if park in (None, f["park"])]
    ids = result.data.static.ids
    untested = {
        e: why
        for e, p, why in zip(
            ids, result.data.static.park, result.detection.runs.untested, strict=True
        )
        if why and park in (None, p)
    }
    if output == "json":
        payload = {
            "zone": result.data.zone,
            "as_of": result.detection.runs.months[-1],
            "facts_year": result.evaluation.year,
            "flags": flag_rows,
            "untested": untested,
            "notes": list(result.detection.notes),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif output == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rule", "enterprise", "park", "land_mu", "evidence"])
        for f in flag_rows:
            evidence = json.dumps(f["evidence"], ensure_ascii=False)
            writer.writerow([f["rule"], f["enterprise"], f["park"], f["land_mu"], evidence])
        sys.stdout.write(out.getvalue())
    else:
        console = Console(width=max(Console().width, 140))
        console.print(_flag_table(result, flag_rows))
        for e, why in untested.items():
            console.print(f"not tested: {e}: {why}", markup=False, highlight=False)
        console.print(f"facts of {result.evaluation.year}", markup=False)


def _evidence(evidence: dict[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        if key == "run_ratio" and isinstance(value, dict):
            ratios = " ".join(f"{m[2:]}:{r:.2f}" for m, r in value.items())
            parts.append(f"ratios {ratios}")
        elif isinstance(value, dict):
            parts.append(f"{key} " + " ".join(f"{k}:{_fmt(v)}" for k, v in value.items()))
        elif value is not None:
            parts.append(f"{key} {_fmt(value)}")
    return "; ".join(parts)


def _print_explain(record: dict[str, Any]) -> None:
    console = Console(width=max(Console().width, 120))
    grade = record["grade"]
    head = f"{record['enterprise']} {record['year']}: grade {grade}"
    if record["rank"]:
        head += f", rank {record['rank']} of {record['graded']}, score {_fmt(record['score'])}"
    console.print(head, markup=False)
    if record["not_graded"]:
        console.print(f"not graded: {record['not_graded']}", markup=False)
    if record["items"]:
        table = Table(title=f"items ({record['profile']}): weight × min(value / benchmark, cap)")
        for column in ("indicator", "inputs", "value", "benchmark", "ratio", "weight", "item"):
            table.add_column(column)
        fixed = {
            "indicator",
            "unit",
            "value",
            "benchmark",
            "benchmark_source",
            "ratio",
            "cap",
            "weight",
            "item_score",
            "note",
        }
        for item in record["items"]:
            inputs = ", ".join(f"{k} {_fmt(v)}" for k, v in item.items() if k not in fixed)
            table.add_row(
                f"{item['indicator']} ({item['unit']})",
                inputs,
                _fmt(item["value"], 4),
                f"{_fmt(item['benchmark'], 4)} ({item['benchmark_source']})",
                _fmt(item["ratio"], 4),
                _fmt(item["weight"], 0),
                _fmt(item["item_score"]) + (f" — {item['note']}" if item["note"] else ""),
            )
        console.print(table)
    for flag in record["flags"]:
        console.print(f"flag {flag['rule']}: {_evidence(flag['evidence'])}", markup=False)
    if record["idle_untested"]:
        console.print(f"idle rules: {record['idle_untested']}", markup=False)
    console.print(DISCLAIMER)
