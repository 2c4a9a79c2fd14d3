"""Every panel and variable query of the generated dashboards, run against a real influxd.

The database is filled for every meter of the example registry (two days at 15-minute
steps, counters and gauges) plus KPI points in measurement ``kpi``, twice: once with
line protocol written here by hand in the docs/store.md schema, once through smartpark's own
InfluxDB store (the code ingest and analytics write with), so the dashboards are shown
to read what the platform really writes. Each query is interpolated the way Grafana
does (``$timeFilter``, ``$__interval`` with the panel's minimum, multi-value/All
variables as regexes) and must return rows with the columns and group-by tags the panel
expects.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.kpis.catalogue import KPI_NAMES as KPI_CATALOGUE
from smartpark.analytics.kpis.catalogue import PRODUCT_KPIS
from smartpark.core import quantities, registry
from smartpark.grafana import dashboards
from smartpark.grafana.interpolate import Variable, calculate_interval_ms, interpolate
from smartpark.testing.servers import Influxd

pytestmark = pytest.mark.servers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
REG = registry.load(EXAMPLE)
STEP_MS = 15 * 60_000
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
STEPS = 2 * DAY_MS // STEP_MS  # two days of readings: STEPS + 1 samples per meter
GAS_M3_PER_STEP = 10.0

KPI_NAMES = KPI_CATALOGUE  # every KPI analytics writes


@dataclass(frozen=True)
class Window:
    """The data's time span, ending when the fixture wrote it (so "last 15 min" holds)."""

    now_ms: int

    @property
    def times(self) -> np.ndarray:
        return self.now_ms - STEP_MS * np.arange(STEPS, -1, -1, dtype=np.int64)

    @property
    def from_ms(self) -> int:
        return self.now_ms - 2 * DAY_MS - 60_000

    @property
    def to_ms(self) -> int:
        return self.now_ms + 60_000


def _readings(window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(meter code, ts, value) columns for every registry meter over the window."""
    times = window.times
    codes, stamps, values = [], [], []
    for i, meter_id in enumerate(REG.meter_ids):
        meter = REG.meters[meter_id]
        q = quantities.BY_NAME[meter.quantity]
        steps = np.arange(times.size)
        if meter.quantity == "natural_gas":
            series = 1000.0 + GAS_M3_PER_STEP * steps
        elif q.nature == "counter":
            series = 500.0 * (i + 1) + (i + 1) * steps
        else:
            series = 20.0 + 5.0 * np.sin(steps / 8.0) + i
        codes.append(np.full(times.size, REG.meter_code[meter_id], np.int32))
        stamps.append(times)
        values.append(series.astype(np.float64))
    return np.concatenate(codes), np.concatenate(stamps), np.concatenate(values)


def _kpis(window: Window) -> list[tuple[str, str, str, str, int, float]]:
    """(scope, id, period, kpi, start ms, value) for every scope, KPI, hour and day; a
    product's KPIs for every product."""
    scopes = (
        [("zone", z) for z in REG.zone_ids]
        + [("park", p) for p in REG.park_ids]
        + [("enterprise", e) for e in REG.enterprise_ids]
        + [("product", p) for p in REG.product_ids]
    )
    first, now = window.from_ms, window.now_ms
    hours = np.arange(first // HOUR_MS * HOUR_MS + HOUR_MS, now, HOUR_MS, dtype=np.int64)
    days = np.arange(first // DAY_MS * DAY_MS + DAY_MS, now, DAY_MS, dtype=np.int64)
    rows = []
    for n, (scope, ident) in enumerate(scopes):
        for k, kpi in enumerate(PRODUCT_KPIS if scope == "product" else KPI_NAMES):
            value = 0.5 + 0.01 * n + k
            for period, stamps in (("hour", hours), ("day", days)):
                rows += [(scope, ident, period, kpi, t, value) for t in stamps.tolist()]
        if scope != "product":  # a dual-control target's months: actual and plan
            for kpi in ("energy_target_tce", "energy_plan_tce"):
                rows += [(scope, ident, "month", kpi, t, 1.5 + n) for t in days.tolist()]
    return rows


def write_line_protocol(influxd: Influxd, db: str, window: Window) -> None:
    """The docs/store.md schema written by hand, independent of smartpark's store code."""
    codes, stamps, values = _readings(window)
    lines = []
    for code, ts, value in zip(codes.tolist(), stamps.tolist(), values.tolist(), strict=True):
        meter_id = REG.meter_ids[code]
        meter = REG.meters[meter_id]
        lines.append(
            f"{quantities.BY_NAME[meter.quantity].kind},enterprise={meter.enterprise},"
            f"meter={meter_id},park={REG.park_of_meter(meter_id)},"
            f"quantity={meter.quantity} value={value!r} {ts}"
        )
    influxd.write(db, "\n".join(lines))
    influxd.write(
        db,
        "\n".join(
            f"kpi,id={i},kpi={k},period={p},scope={s} value={v!r} {t}"
            for s, i, p, k, t, v in _kpis(window)
        ),
    )


def write_with_store(influxd: Influxd, db: str, window: Window) -> None:
    """The same data through smartpark's InfluxDB store: what ingest and analytics write."""
    from smartpark.core.urls import parse_store_url
    from smartpark.store.base import KpiRow, ReadingColumns
    from smartpark.store.open import open_store

    store = open_store(parse_store_url(influxd.store_url(db)), REG)
    try:
        store.write(ReadingColumns(*_readings(window)))
        store.write_kpis([KpiRow(*row) for row in _kpis(window)])
    finally:
        store.close()


@pytest.fixture(
    scope="module",
    params=[write_line_protocol, write_with_store],
    ids=["line-protocol", "smartpark-store"],
)
def park_db(request: pytest.FixtureRequest, influxd: Influxd) -> Iterator[tuple[str, Window]]:
    """A database filled by hand-written line protocol, or by smartpark's own store."""
    name = f"grafana_{uuid.uuid4().hex[:8]}"
    window = Window(int(np.datetime64("now", "ms").astype(np.int64)))
    influxd.start()
    influxd.create_database(name)
    request.param(influxd, name, window)
    yield name, window
    if influxd.running:
        influxd.drop_database(name)


# ------------------------------------------------------------------- queries under test


@dataclass(frozen=True)
class PanelQuery:
    board: str
    panel: str
    ref_id: str
    query: str
    min_interval: str | None


BOARDS = dashboards.all_dashboards(REG)
PANEL_QUERIES = [
    PanelQuery(name, panel["title"], t["refId"], t["query"], panel.get("interval"))
    for name, board in BOARDS.items()
    for panel in board["panels"]
    for t in panel.get("targets", [])
    if t["datasource"]["type"] == "influxdb"
]
VARIABLE_QUERIES = [
    (name, v)
    for name, board in BOARDS.items()
    for v in board["templating"]["list"]
    if v["type"] == "query"
]
# Every enterprise, park and zone in the registry: what "All" expands to.
OPTIONS = {
    "zone": list(REG.zone_ids),
    "park": list(REG.park_ids),
    "enterprise": list(REG.enterprise_ids),
}


def _variables(board: dict[str, Any], selection: dict[str, Any]) -> dict[str, Variable]:
    out = {}
    for v in board["templating"]["list"]:
        regex = bool(v.get("multi") or v.get("includeAll"))
        out[v["name"]] = Variable(
            selection[v["name"]], regex=regex, all_values=OPTIONS.get(v["name"], [])
        )
    return out


# Several parks, "All" enterprises: every panel must show data.
WIDE = {
    "zone": ["lanzhou-new-area"],
    "park": ["petrochem", "new-materials"],
    "enterprise": "$__all",
    "period": "day",
}
# One of each, hourly KPIs: queries must stay valid (some panels may be empty).
NARROW = {"zone": "$__all", "park": ["coop-enclave"], "enterprise": ["textile-a"], "period": "hour"}


def _render(pq: PanelQuery, selection: dict[str, Any], window: Window) -> str:
    board = BOARDS[pq.board]
    interval = calculate_interval_ms(window.from_ms, window.to_ms, min_interval=pq.min_interval)
    return interpolate(
        pq.query,
        from_ms=window.from_ms,
        to_ms=window.to_ms,
        interval_ms=interval,
        variables=_variables(board, selection),
    )


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()]


def expected_columns(query: str) -> list[str]:
    """The columns InfluxDB names for the outer SELECT list (``time`` first)."""
    select = query[len("SELECT ") : query.index(" FROM ")]
    names = []
    for item in _split_top_level(select):
        alias = re.search(r'AS "(\w+)"$', item)
        function = re.match(r"(\w+)\(", item)
        names.append(alias.group(1) if alias else function.group(1) if function else "value")
    return ["time", *names]


def _outer(query: str) -> str:
    """The query with a ``FROM (subquery)`` cut out."""
    start = query.find("FROM (")
    if start < 0:
        return query
    depth = 0
    for end in range(start + 5, len(query)):
        depth += query[end] == "("
        depth -= query[end] == ")"
        if depth == 0:
            return query[:start] + "FROM sub" + query[end + 1 :]
    raise AssertionError(f"unbalanced parentheses: {query}")


def expected_tags(query: str) -> set[str]:
    """Tag keys of the outer GROUP BY."""
    group = _outer(query).rsplit("GROUP BY", 1)
    return set(re.findall(r'"(\w+)"', group[1])) if len(group) == 2 else set()


def test_query_lists_are_complete():
    assert len(PANEL_QUERIES) >= 30
    assert {b for b, _ in VARIABLE_QUERIES} == {
        "zone-overview.json",
        "park.json",
        "operations.json",
    }


@pytest.mark.parametrize(
    "pq", PANEL_QUERIES, ids=[f"{q.board}:{q.panel}:{q.ref_id}" for q in PANEL_QUERIES]
)
def test_panel_query_returns_rows_with_expected_columns(influxd, park_db, pq):
    db, window = park_db
    rendered = _render(pq, WIDE, window)
    assert "$" not in rendered.replace("$/", "/").replace("/^", ""), rendered
    body = influxd.query_raw(rendered, db)
    series = [s for r in body["results"] for s in r.get("series", [])]
    assert series, f"no rows for {pq.board} / {pq.panel}:\n{rendered}"
    want_columns = expected_columns(pq.query)
    want_tags = expected_tags(pq.query)
    non_null = 0
    for s in series:
        assert s["columns"] == want_columns, rendered
        assert set(s.get("tags") or {}) == want_tags, rendered
        assert s["values"]
        non_null += sum(v is not None for row in s["values"] for v in row[1:])
    assert non_null > 0, rendered
    # narrower selections and hourly KPIs must still be valid InfluxQL
    influxd.query_raw(_render(pq, NARROW, window), db)


@pytest.mark.parametrize(
    ("board", "variable"), VARIABLE_QUERIES, ids=[f"{b}:{v['name']}" for b, v in VARIABLE_QUERIES]
)
def test_variable_query_lists_the_registry_ids(influxd, park_db, board, variable):
    db, window = park_db
    rendered = interpolate(
        variable["query"],
        from_ms=window.from_ms,
        to_ms=window.to_ms,
        interval_ms=60_000,
        variables=_variables(BOARDS[board], WIDE),
    )
    rows = influxd.query(db, rendered)
    values = {r["value"] for r in rows}
    if variable["name"] == "enterprise":  # cascades on the selected parks
        expected = {
            e for e, ent in REG.enterprises.items() if ent.park in ("petrochem", "new-materials")
        }
    else:
        expected = set(OPTIONS[variable["name"]])
    assert values == expected


def test_energy_by_carrier_knows_the_answer_for_natural_gas(influxd, park_db):
    db, window = park_db
    """10 m3 per 15 min on every gas meter → Σ deltas × 1.2143 kgce/m3, sub-meters excluded."""
    [pq] = [
        q
        for q in PANEL_QUERIES
        if q.panel == "Energy by carrier (tce)" and "'natural_gas'" in q.query
    ]
    rows = influxd.query(db, _render(pq, WIDE, window))
    gas_meters = [
        m
        for m in REG.meters.values()
        if m.quantity == "natural_gas" and REG.park_of_meter(m.id) in ("petrochem", "new-materials")
    ]
    expected = len(gas_meters) * STEPS * GAS_M3_PER_STEP * 0.0012143
    assert sum(r["tce"] or 0 for r in rows) == pytest.approx(expected)


def test_electricity_carrier_excludes_sub_meters(influxd, park_db):
    db, window = park_db
    [pq] = [
        q
        for q in PANEL_QUERIES
        if q.panel == "Energy by carrier (tce)" and "'electricity_import'" in q.query
    ]
    rows = influxd.query(db, _render(pq, WIDE, window))
    boundary = [
        REG.meter_code[m.id] + 1
        for m in REG.meters.values()
        if m.quantity == "electricity_import"
        and m.role == "boundary"
        and REG.park_of_meter(m.id) in ("petrochem", "new-materials")
    ]
    # counter i grows by (i + 1) kWh per step (see _meter_lines)
    expected = sum(boundary) * STEPS * 0.0001229
    assert sum(r["tce"] or 0 for r in rows) == pytest.approx(expected)
