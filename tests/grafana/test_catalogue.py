"""The dashboards say about KPIs, lines and factors what analytics and core define.

Each expectation here is written from the source of truth (the KPI catalogue, the
zero-carbon targets, the completeness flag, the default factors and limits), not from
``smartpark.grafana``, so a dashboard that restates one of them and drifts fails.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from smartpark.analytics.kpis.catalogue import ALL_KPIS
from smartpark.analytics.kpis.table import COMPLETE_AT
from smartpark.analytics.kpis.targets import (
    CARBON_PER_ENERGY_LINE,
    CARBON_PER_ENERGY_LINE_LARGE,
    GUIDING_LINES,
    LARGE_PARK_TCE,
)
from smartpark.core import quantities, registry
from smartpark.core.factors import DEFAULT_FACTORS, DEFAULT_LIMITS
from smartpark.grafana import dashboards
from smartpark.grafana.kpis import GRAFANA_UNITS

ROOT = Path(__file__).resolve().parents[2]
GRAFANA_SRC = ROOT / "src" / "smartpark" / "grafana"
EXAMPLE = ROOT / "examples" / "registry.toml"

# KPI -> the value its panels must mark, straight from analytics.
LINES = {
    "carbon_per_energy": CARBON_PER_ENERGY_LINE,
    "completeness": COMPLETE_AT,
    **{kpi: value for kpi, (_, value) in GUIDING_LINES.items()},
}
KPI_IN_QUERY = re.compile(r"\"kpi\" = '(\w+)'")


@pytest.fixture(scope="module")
def boards() -> dict:
    return dashboards.all_dashboards(registry.load(EXAMPLE))


def _kpi_panels(boards):
    for name, board in boards.items():
        for panel in board["panels"]:
            kpis = [
                kpi
                for t in panel.get("targets", [])
                for kpi in KPI_IN_QUERY.findall(t.get("query", ""))
            ]
            if kpis:
                yield name, panel, kpis


def _marks(panel) -> list[float]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [s["value"] for s in steps if s["value"] not in (None, 0)]


def test_every_kpi_panel_marks_exactly_the_analytics_line(boards):
    marked = set()
    for name, panel, kpis in _kpi_panels(boards):
        expected = sorted({LINES[k] for k in kpis if k in LINES})
        assert _marks(panel) == expected, (name, panel["title"])
        if panel["type"] == "timeseries":
            mode = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"]
            assert mode == ("line" if expected else "off"), (name, panel["title"])
        marked.update(k for k in kpis if k in LINES)
    assert marked == {"carbon_per_energy", "completeness", "clean_energy_share", "water_reuse_rate"}


def test_park_and_zone_carbon_panels_use_the_zero_carbon_line(boards):
    carbon = [
        (name, panel)
        for name, panel, kpis in _kpi_panels(boards)
        if kpis == ["carbon_per_energy"] and name in ("park.json", "zone-overview.json")
    ]
    assert {name for name, _ in carbon} == {"park.json", "zone-overview.json"}
    for _, panel in carbon:
        assert _marks(panel) == [CARBON_PER_ENERGY_LINE]
    [trend] = [p for _, p in carbon if p["type"] == "timeseries"]
    large = f"{LARGE_PARK_TCE:,.0f}".replace(",", " ")
    assert f"{CARBON_PER_ENERGY_LINE_LARGE} from {large} tce/year" in trend["description"]


def test_every_kpi_panel_shows_the_catalogue_unit_and_description(boards):
    for name, panel, kpis in _kpi_panels(boards):
        where = (name, panel["title"])
        [unit] = {ALL_KPIS[k].unit for k in kpis}  # one unit a panel
        shown = panel["fieldConfig"]["defaults"]["unit"]
        if unit == "%":
            assert shown == "percent", where
        elif shown == "none":
            assert unit not in GRAFANA_UNITS, where
            # a plain number: the title names the unit (a product's graded value the one
            # of "kgce/t or kWh/t" its standard grades in)
            assert any(u in panel["title"] for u in unit.split(" or ")), where
        else:
            assert shown == GRAFANA_UNITS[unit], where
        for kpi in kpis:
            assert f"{kpi} ({unit}): {ALL_KPIS[kpi].description}." in panel["description"], where


def test_titles_name_the_catalogue_unit_not_a_restated_one(boards):
    for name, panel, kpis in _kpi_panels(boards):
        units_in_title = re.findall(r"\((t|tCO2|tce|kWh|m3|%|tCO2/tce)[,)]", panel["title"])
        for shown in units_in_title:
            assert shown == ALL_KPIS[kpis[0]].unit, (name, panel["title"])


def _carrier_factors(boards) -> dict[str, float]:
    out = {}
    for t in boards["park.json"]["panels"]:
        for target in t.get("targets", []):
            query = target.get("query", "")
            match = re.search(r"sum\(\"delta\"\) \* ([0-9.e-]+) .*\"quantity\" = '(\w+)'", query)
            if match:
                out[match.group(2)] = float(match.group(1))
    return out


def test_carriers_are_every_consumed_energy_counter_at_its_default_tce_factor(boards):
    factors = _carrier_factors(boards)
    consumed = {
        q.name
        for q in quantities.QUANTITIES
        if q.kind == "energy" and q.nature == "counter" and q.name != "electricity_export"
    }
    assert set(factors) == consumed
    tce = ALL_KPIS["energy_tce"].unit
    for quantity, label, factor in dashboards.CARRIERS:
        spec = DEFAULT_FACTORS[factor]
        assert spec.unit == f"{tce}/{quantities.BY_NAME[quantity].canonical_unit}", label
        assert factors[quantity] == spec.value, quantity


def test_emission_panels_use_the_default_limits_and_the_quantity_unit(boards):
    panels = {p["title"]: p for p in boards["park.json"]["panels"]}
    for pollutant, limit in DEFAULT_LIMITS.items():
        [panel] = [
            p
            for p in panels.values()
            if any(f"\"quantity\" = '{pollutant}'" in t["query"] for t in p.get("targets", []))
        ]
        assert _marks(panel) == [limit]
        assert f"({quantities.BY_NAME[pollutant].canonical_unit}, measured)" in panel["title"]


def _numbers(path: Path) -> set[float]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    }


# interpolate.py is Grafana's own interval table; nothing else there is ours.
@pytest.mark.parametrize(
    "module", sorted(p.name for p in GRAFANA_SRC.glob("*.py") if p.name != "interpolate.py")
)
def test_no_grafana_module_restates_a_line_factor_or_limit(module):
    defined = {
        CARBON_PER_ENERGY_LINE,
        CARBON_PER_ENERGY_LINE_LARGE,
        LARGE_PARK_TCE,
        COMPLETE_AT,
        *(value for _, value in GUIDING_LINES.values()),
        *(f.value for f in DEFAULT_FACTORS.values()),
        *DEFAULT_LIMITS.values(),
    }
    restated = _numbers(GRAFANA_SRC / module) & defined
    assert not restated, f"{module} restates {sorted(restated)}: import them instead"
