"""KPI panels built from the analytics catalogue and the reference lines, never restated.

A dashboard names a KPI once, in :func:`kpi_query`; everything else a panel says about it
is looked up:

- the name must be in :data:`smartpark.analytics.kpis.catalogue.ALL_KPIS` (a scope's KPIs
  and a product's), so a typo fails when the dashboards are generated, not later in
  Grafana;
- the unit is the catalogue's: Grafana's unit id where Grafana has one
  (:data:`GRAFANA_UNITS`), else a plain number with the unit in the title (:func:`unit`);
- the description lists every KPI of the panel with the catalogue's description;
- the reference line comes from :mod:`smartpark.analytics.kpis.targets` (``carbon_per_energy``
  and the guiding lines, docs/kpis.md) and, for ``completeness``, from
  :data:`smartpark.analytics.kpis.table.COMPLETE_AT`, below which analytics flags a KPI as
  computed on incomplete data;
- what the query needs to show data is the catalogue's ``inputs`` of the KPI (the
  quantities it is computed from), so a dashboard leaves it out where its scope meters
  none of them (:mod:`smartpark.grafana.needs`).
"""

# InfluxQL here is built from code constants and registry ids (validated slugs), never
# from user input, so string building is safe:
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from smartpark.analytics.kpis.catalogue import ALL_KPIS, KpiSpec
from smartpark.analytics.kpis.table import COMPLETE_AT
from smartpark.analytics.kpis.targets import CARBON_PER_ENERGY_LINE, GUIDING_LINES
from smartpark.grafana.panels import Format, Panel, PromQuery, Query, bargauge, stat, timeseries
from smartpark.store.base import Scope
from smartpark.store.lineprotocol import KPI_MEASUREMENT

# Catalogue (and quantity) units Grafana formats itself; any other unit is shown as a
# plain number (Grafana's "none") and named in the panel title.
GRAFANA_UNITS: Final[dict[str, str]] = {
    "%": "percent",
    "kWh": "kwatth",
    "kW": "kwatt",
    "h": "h",
    "m3": "m3",
    "mg/m3": "conmgm3",
    "CNY": "currencyCNY",
}
PLAIN: Final = "none"

PERIOD: Final = "\"period\" = '$period'"

Side = Literal["above", "below"]


@dataclass(frozen=True, slots=True)
class KpiQuery(Query):
    """A query on measurement ``kpi`` that reads the one KPI ``kpi``."""

    kpi: str = ""


def spec(kpi: str) -> KpiSpec:
    """The catalogue entry of ``kpi``; ``ValueError`` naming the fix if there is none."""
    try:
        return ALL_KPIS[kpi]
    except KeyError:
        raise ValueError(
            f"KPI {kpi!r} is not in analytics.kpis.catalogue.ALL_KPIS: fix the name or add it there"
        ) from None


def unit(kpi: str) -> str:
    """The catalogue unit of ``kpi`` (``tCO2/tce``), for titles and notes."""
    return spec(kpi).unit


def grafana_unit(catalogue_unit: str) -> str:
    """Grafana's unit id for a catalogue or quantity unit (``%`` → ``percent``)."""
    return GRAFANA_UNITS.get(catalogue_unit, PLAIN)


def reference_line(kpi: str) -> tuple[Side, float] | None:
    """Which side of which line ``kpi`` should be on, or None when it has no line.

    ``carbon_per_energy`` is drawn at the line of parks below ``LARGE_PARK_TCE`` (the
    stricter one); a panel's note names the other.
    """
    if kpi == "carbon_per_energy":
        return ("below", CARBON_PER_ENERGY_LINE)
    if kpi == "completeness":
        return ("above", COMPLETE_AT)
    return GUIDING_LINES.get(kpi)


def threshold_steps(kpi: str) -> list[tuple[float, str]]:
    """Stat and bar gauge colours for ``kpi``: red on the wrong side of its line."""
    line = reference_line(kpi)
    if line is None:
        return []
    side, value = line
    return [(value, "red")] if side == "below" else [(0, "red"), (value, "green")]


def kpi_query(
    scope: Scope,
    kpi: str,
    ids: str,
    *,
    select: str = '"value"',
    group_by: str = '"id"',
    period: str = PERIOD,
    alias: str = "$tag_id",
    fmt: Format = "time_series",
) -> KpiQuery:
    """A query on measurement ``kpi`` for one KPI of a scope; ``ids`` filters tag ``id``."""
    name = spec(kpi).name
    where = f'"scope" = \'{scope}\' AND "id" =~ /^{ids}$/ AND {period} AND "kpi" = \'{name}\''
    influxql = (
        f'SELECT {select} FROM "{KPI_MEASUREMENT}" WHERE {where} AND $timeFilter '
        f"GROUP BY {group_by}"
    )
    return KpiQuery(influxql, alias=alias, format=fmt, needs=spec(kpi).inputs, kpi=name)


def describe(queries: Sequence[KpiQuery], note: str = "") -> str:
    """Each KPI of ``queries`` as the catalogue describes it, then ``note``."""
    kpis = dict.fromkeys(q.kpi for q in queries)
    lines = [f"{k} ({spec(k).unit}): {spec(k).description}." for k in kpis]
    return "\n\n".join([*lines, note] if note else lines)


def _one(title: str, what: str, values: Sequence[Any]) -> Any:
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1:
        raise ValueError(f"panel {title!r} mixes {what} {distinct}: give each its own panel")
    return distinct[0] if distinct else None


def _derived(title: str, queries: Sequence[KpiQuery], note: str) -> dict[str, Any]:
    return {
        "unit": grafana_unit(_one(title, "units", [spec(q.kpi).unit for q in queries])),
        "description": describe(queries, note),
    }


def _line(title: str, queries: Sequence[KpiQuery]) -> float | None:
    lines = [line[1] for q in queries if (line := reference_line(q.kpi)) is not None]
    value: float | None = _one(title, "reference lines", lines)
    return value


def kpi_stat(title: str, query: KpiQuery, *, note: str = "", **kwargs: Any) -> Panel:
    """A stat of one KPI, coloured against its reference line."""
    return stat(
        title,
        query,
        thresholds=threshold_steps(query.kpi),
        **_derived(title, [query], note),
        **kwargs,
    )


def kpi_bargauge(title: str, query: KpiQuery, *, note: str = "", **kwargs: Any) -> Panel:
    """A bar gauge of one KPI (one bar per scope id), coloured against its line."""
    return bargauge(
        title,
        query,
        thresholds=threshold_steps(query.kpi),
        **_derived(title, [query], note),
        **kwargs,
    )


def kpi_timeseries(
    title: str, queries: Sequence[KpiQuery], *, note: str = "", **kwargs: Any
) -> Panel:
    """A time series of KPIs sharing a unit, with the red reference line of one of them."""

    def rebuild(kept: Sequence[Query | PromQuery]) -> Panel:
        return kpi_timeseries(
            title, [q for q in kept if isinstance(q, KpiQuery)], note=note, **kwargs
        )

    panel = timeseries(
        title,
        queries,
        threshold_line=_line(title, queries),
        **_derived(title, queries, note),
        **kwargs,
    )
    panel.rebuild = rebuild
    return panel
