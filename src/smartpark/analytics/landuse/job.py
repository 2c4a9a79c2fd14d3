"""The land-use job: a zone's registry, facts and months in, one :class:`Analysis` out.

What ``smartpark landuse`` and ``smartpark idle`` run, callable without the CLI::

    done = run(Request(registry=Path("registry.toml"), year=2025, store=store_url, write=True))
    done.analysis.evaluation.grade, done.written

Facts come from the zone's facts file (or ``facts``); monthly electricity, energy and
water from the ``monthly`` CSV or, without it, from the monthly enterprise KPIs in the
store (docs/landuse.md §1). Errors are :class:`~smartpark.core.errors.AnalyticsError` or
:class:`~smartpark.core.errors.ConfigError`; an option's unusable value is an
:class:`~smartpark.core.errors.OptionError` whose message starts with the option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from smartpark.analytics.landuse import dataset, grades, telemetry
from smartpark.analytics.landuse import facts as facts_mod
from smartpark.analytics.landuse import monthly as monthly_mod
from smartpark.analytics.landuse.analysis import Analysis, analyse
from smartpark.analytics.landuse.evaluation import Config
from smartpark.analytics.landuse.idle import IdleConfig
from smartpark.core import registry as registry_mod
from smartpark.core.errors import AnalyticsError, OptionError
from smartpark.core.registry import Registry
from smartpark.core.urls import StoreUrl
from smartpark.store.base import Store
from smartpark.store.open import open_store


@dataclass(frozen=True)
class Request:
    """The options of one run; ``year`` None: the last facts year not after ``as_of``."""

    registry: Path
    year: int | None = None
    store: StoreUrl | None = None  # read when ``monthly`` is None, written with ``write``
    facts: Path | None = None  # default: the zone's facts file
    monthly: Path | None = None  # month,enterprise,electricity_kwh,energy_tce,fresh_water_m3
    zone: str | None = None  # default: the registry's only zone
    as_of: str | None = None  # YYYY-MM the idle rules test at (default: December of year)
    control: float | None = None  # revenue per mu for low_output (default: cohort mean)
    profile: str = "zj6"
    shares: str = "default"  # default, ah or A,B,C,D percentages
    benchmarks: tuple[str, ...] = ()  # INDICATOR=VALUE, fixed instead of 2 x cohort mean
    write: bool = False  # write the park and zone KPI rows to the store


@dataclass(frozen=True)
class Done:
    analysis: Analysis
    written: int | None  # KPI rows written to the store; None without ``write``


def run(request: Request) -> Done:
    """Load the registry, facts and months, analyse, and write the KPI rows if asked."""
    reg = registry_mod.load(request.registry)
    zone_id = facts_mod.zone_of(reg, request.zone)
    facts_path = request.facts or facts_mod.facts_path(reg, zone_id)
    the_facts = facts_mod.load(facts_path, reg, zone_id)
    as_of = _as_of(request.as_of)
    year = request.year if request.year is not None else facts_year(the_facts.years, as_of)
    the_facts.year_index(year)  # no facts for the year: a clear error, before any I/O
    config = Config(
        profile=request.profile,
        shares=grades.parse_shares(request.shares),
        fixed_benchmarks=parse_benchmarks(request.benchmarks),
    )
    idle_config = IdleConfig(control_revenue_per_mu=request.control)
    opened: Store | None = None
    try:
        if request.monthly is not None:
            months = monthly_mod.load(request.monthly, the_facts.enterprises)
            months_from = request.monthly.name
        else:
            opened = _open(
                request.store, reg, "to read the monthly KPIs from (or give --monthly FILE)"
            )
            first = monthly_mod.month_code(min(the_facts.years) - 2, 1)
            last = max(as_of or 0, monthly_mod.month_code(max(the_facts.years), 12))
            months = telemetry.read_monthly(opened, reg, the_facts.enterprises, first, last)
            months_from = "store_kpis"
            if months.is_empty():  # nothing stored by `kpi --write`: from the rollups
                months = telemetry.compute_monthly(opened, reg, the_facts.enterprises, first, last)
                months_from = "store_rollups"
        data = dataset.build(reg, the_facts, months)
        data = dataclasses.replace(data, sources=(facts_path.name, months_from))
        result = analyse(data, year, config, idle_config, as_of=as_of)
        written = None
        if request.write:
            opened = opened or _open(request.store, reg, "to --write the KPIs to")
            rows = result.kpi_rows()
            opened.write_kpis(rows)
            written = len(rows)
    finally:
        if opened is not None:
            opened.close()
    return Done(result, written)


def facts_year(years: Sequence[int], as_of: int | None) -> int:
    """The last year in ``years`` not after month code ``as_of``."""
    if as_of is None:
        raise OptionError("--year: give --year or --as-of")
    usable = [y for y in years if y <= as_of // 12]
    if not usable:
        have = ", ".join(str(y) for y in years) or "none"
        raise AnalyticsError(
            f"--as-of {monthly_mod.month_label(as_of)}: no facts for {as_of // 12} or before "
            f"(the file has {have}); give a later --as-of or add that year's facts"
        )
    return max(usable)


def parse_benchmarks(values: Sequence[str]) -> dict[str, float]:
    """``INDICATOR=VALUE`` items as {indicator: value}; names are checked by :class:`Config`."""
    out: dict[str, float] = {}
    for item in values:
        name, _, number = item.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            raise OptionError(f"--benchmark: expected INDICATOR=VALUE, got {item!r}") from None
    return out


def _as_of(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return monthly_mod.parse_month(text)
    except AnalyticsError as exc:
        raise AnalyticsError(f"--as-of: {exc}") from None


def _open(url: StoreUrl | None, reg: Registry, purpose: str) -> Store:
    if url is None:
        raise OptionError(f"--store: give a store URL {purpose}")
    return open_store(url, reg)
