"""Builders for the Grafana dashboard JSON model: panels, targets, variables, layout.

Plain dicts in the shape Grafana 10/11 exports (``schemaVersion`` 39), so the generated
files diff cleanly and load through file provisioning or the HTTP API alike. Every query
is raw InfluxQL against the one smartpark datasource (:data:`DATASOURCE`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from smartpark.grafana.datasource import DATASOURCE_UID, PROMETHEUS_UID

Json = dict[str, Any]

SCHEMA_VERSION: Final = 39
GRID_WIDTH: Final = 24
DATASOURCE: Final[Json] = {"type": "influxdb", "uid": DATASOURCE_UID}
PROMETHEUS: Final[Json] = {"type": "prometheus", "uid": PROMETHEUS_UID}

Format = Literal["time_series", "table"]


@dataclass(frozen=True, slots=True)
class Query:
    """One raw InfluxQL target; ``alias`` uses Grafana's ``$tag_<name>``/``$col`` forms.

    ``needs``: the quantities it reads, any one of which gives it data (empty: any
    reading); a dashboard keeps it only where its scope meters one (grafana/needs.py).
    """

    influxql: str
    alias: str = ""
    format: Format = "time_series"
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PromQuery:
    """One PromQL target on the Prometheus datasource; ``legend`` like ``{{gateway}}``."""

    expr: str
    legend: str = ""
    instant: bool = False


def target(query: Query | PromQuery, ref_id: str) -> Json:
    if isinstance(query, PromQuery):
        prom: Json = {
            "refId": ref_id,
            "datasource": PROMETHEUS,
            "expr": query.expr,
            "instant": query.instant,
            "range": not query.instant,
        }
        if query.legend:
            prom["legendFormat"] = query.legend
        return prom
    out: Json = {
        "refId": ref_id,
        "datasource": DATASOURCE,
        "query": query.influxql,
        "rawQuery": True,
        "resultFormat": query.format,
    }
    if query.alias:
        out["alias"] = query.alias
    return out


def _ref_ids() -> Iterable[str]:
    return (chr(ord("A") + i) for i in range(26))


@dataclass
class Panel:
    """A panel before layout: size, type, queries and options."""

    kind: str
    title: str
    queries: Sequence[Query | PromQuery] = ()
    width: int = 12
    height: int = 8
    description: str = ""
    unit: str = ""
    decimals: int | None = None
    thresholds: Sequence[tuple[float, str]] = ()  # (from value, colour) above the base
    min_interval: str | None = None
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    overrides: Sequence[Json] = ()
    extra: Json = field(default_factory=dict)
    # The panel again from fewer of its queries, for a panel that derives more than its
    # targets from them (a KPI panel's description); None: the same panel, fewer targets.
    rebuild: Callable[[Sequence[Query | PromQuery]], Panel] | None = field(
        default=None, repr=False, compare=False
    )

    def with_queries(self, queries: Sequence[Query | PromQuery]) -> Panel:
        """This panel showing only ``queries`` (some of its own)."""
        if self.rebuild is not None:
            return self.rebuild(queries)
        return replace(self, queries=tuple(queries))

    def to_json(self, panel_id: int, x: int, y: int) -> Json:
        steps: list[Json] = [{"color": "green", "value": None}]
        steps += [{"color": colour, "value": value} for value, colour in self.thresholds]
        defaults: Json = {"thresholds": {"mode": "absolute", "steps": steps}}
        if self.unit:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.custom:
            defaults["custom"] = self.custom
        out: Json = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
        }
        if self.description:
            out["description"] = self.description
        if self.queries:
            out["datasource"] = PROMETHEUS if isinstance(self.queries[0], PromQuery) else DATASOURCE
            out["targets"] = [target(q, r) for q, r in zip(self.queries, _ref_ids(), strict=False)]
        if self.kind != "text":
            out["fieldConfig"] = {"defaults": defaults, "overrides": list(self.overrides)}
        if self.min_interval:
            out["interval"] = self.min_interval
        if self.options:
            out["options"] = self.options
        out.update(self.extra)
        return out


@dataclass
class Row:
    title: str


def timeseries(
    title: str,
    queries: Sequence[Query | PromQuery],
    *,
    unit: str = "",
    bars: bool = False,
    stacked: bool = False,
    threshold_line: float | None = None,
    **kwargs: Any,
) -> Panel:
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 1,
        "fillOpacity": 60 if bars else 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
        "thresholdsStyle": {"mode": "line" if threshold_line is not None else "off"},
    }
    thresholds = [(threshold_line, "red")] if threshold_line is not None else []
    options: Json = {
        "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return Panel(
        "timeseries",
        title,
        queries,
        unit=unit,
        custom=custom,
        thresholds=thresholds,
        options=options,
        **kwargs,
    )


def stat(
    title: str,
    query: Query | PromQuery,
    *,
    unit: str = "",
    thresholds: Sequence[tuple[float, str]] = (),
    **kwargs: Any,
) -> Panel:
    options: Json = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "auto",
        "justifyMode": "auto",
        "orientation": "auto",
    }
    kwargs.setdefault("width", 4)
    kwargs.setdefault("height", 4)
    return Panel(
        "stat", title, [query], unit=unit, thresholds=thresholds, options=options, **kwargs
    )


def bargauge(
    title: str,
    query: Query,
    *,
    unit: str = "",
    calc: str = "lastNotNull",
    thresholds: Sequence[tuple[float, str]] = (),
    **kwargs: Any,
) -> Panel:
    options: Json = {
        "reduceOptions": {"calcs": [calc], "fields": "", "values": False},
        "orientation": "horizontal",
        "displayMode": "gradient",
        "showUnfilled": True,
    }
    return Panel(
        "bargauge", title, [query], unit=unit, thresholds=thresholds, options=options, **kwargs
    )


def table(title: str, query: Query | PromQuery, **kwargs: Any) -> Panel:
    options: Json = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    return Panel("table", title, [query], options=options, **kwargs)


def text(title: str, markdown: str, **kwargs: Any) -> Panel:
    return Panel("text", title, options={"mode": "markdown", "content": markdown}, **kwargs)


def layout(items: Sequence[Panel | Row]) -> list[Json]:
    """Place panels left to right, wrapping at 24 columns; a row starts a new line."""
    out: list[Json] = []
    x = y = line_height = 0
    for panel_id, item in enumerate(items, start=1):
        if isinstance(item, Row):
            y += line_height
            x = line_height = 0
            out.append(
                {
                    "id": panel_id,
                    "type": "row",
                    "title": item.title,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
            continue
        if x + item.width > GRID_WIDTH:
            y += line_height
            x = line_height = 0
        out.append(item.to_json(panel_id, x, y))
        x += item.width
        line_height = max(line_height, item.height)
    return out


def query_variable(
    name: str, label: str, influxql: str, *, multi: bool = True, include_all: bool = True
) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": influxql,
        "definition": influxql,
        "refresh": 2,  # on time range change
        "multi": multi,
        "includeAll": include_all,
        "current": {},
        "options": [],
        "regex": "",
        "sort": 1,
        "hide": 0,
    }


def custom_variable(name: str, label: str, values: Sequence[str], default: str) -> Json:
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "query": ",".join(values),
        "multi": False,
        "includeAll": False,
        "current": {"selected": True, "text": default, "value": default},
        "options": [{"selected": v == default, "text": v, "value": v} for v in values],
        "hide": 0,
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    items: Sequence[Panel | Row],
    variables: Sequence[Json] = (),
    *,
    time_from: str = "now-7d",
    refresh: str = "5m",
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["smartpark"],
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": time_from, "to": "now"},
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": list(variables)},
        "panels": layout(items),
    }
