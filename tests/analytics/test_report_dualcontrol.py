"""The monthly report's section 双控目标完成情况 ("Dual-control targets",
analytics/report/dualcontrol.py) on a real SQLite store: the test zone of
tests/analytics/dualcontrol/zone.py (one enterprise, two years of hourly counters at a
chosen monthly shape), so every figure is computed by hand from its monthly rates.

The June 2026 report closes June: its as-of day is 2026-07-01 and the year to date is
January to June (181 days)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.planrows import PLAN_KPI, write_plan
from smartpark.analytics.dualcontrol.progress import run
from smartpark.analytics.report import dualcontrol, monthly, xlsx
from smartpark.analytics.report.html import number
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from tests.workbooks import tables

from .dualcontrol.zone import (
    FACTS_HEADER,
    REGISTRY,
    TZ,
    VALUE_ADDED_2026,
    co2,
    energy,
    write_readings,
    write_zone,
)

BUDGET_TCE = 3_000.0
BUDGET_CO2 = 12_000.0
INTENSITY = 0.05
ZONE_TCE = 5_000.0
TARGETS = f"""
[[target]]
scope = "enterprise"
id = "e1"
year = 2026
energy_tce = {BUDGET_TCE}
co2_t = {BUDGET_CO2}
energy_intensity = {INTENSITY}

[[target]]
scope = "park"
id = "p1"
year = 2026
energy_tce = {BUDGET_TCE}
profile = "flat"

[[target]]
scope = "zone"
id = "z1"
year = 2026
energy_tce = {ZONE_TCE}
"""
FACTS = f"2026,e1,,,{VALUE_ADDED_2026:g},,,,\n"
YTD_DAYS = 181
JULY_2 = periods.local_midnight_ms(dt.date(2026, 7, 2), TZ)

# By hand, from the monthly rates of zone.py:
YTD = sum(energy(2026, m) for m in range(1, 7))
LAST = [energy(2025, m) for m in range(1, 13)]
PROJECTED = YTD * (1 + sum(LAST[6:]) / sum(LAST[:6]))  # last year's shape
PLAN_YTD = BUDGET_TCE * sum(LAST[:6]) / sum(LAST)  # the budget spread like last year
FLAT_PLAN_YTD = BUDGET_TCE * YTD_DAYS / 365
CO2_YTD = sum(co2(2026, m) for m in range(1, 7))
CO2_LAST = [co2(2025, m) for m in range(1, 13)]
CO2_PROJECTED = CO2_YTD * (1 + sum(CO2_LAST[6:]) / sum(CO2_LAST[:6]))


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Registry]:
    """The zone's files and its store (readings from 2025 to July 2, 2026)."""
    folder = tmp_path_factory.mktemp("dualcontrol-report")
    reg = write_zone(folder, TARGETS, FACTS)
    store = open_store(parse_store_url(f"sqlite:///{folder / 'park.db'}"), reg)
    try:
        write_readings(store, reg, 2025)
    finally:
        store.close()
    return folder, reg


def _open(folder: Path, reg: Registry) -> Store:
    return open_store(parse_store_url(f"sqlite:///{folder / 'park.db'}"), reg)


def _build(
    zone: tuple[Path, Registry], month: str, now_ms: int, lang: str, scope: str = "zone"
) -> monthly.Monthly:
    store = _open(*zone)
    ident = "p1" if scope == "park" else None
    try:
        request = monthly.Request(month, scope, ident, lang, now_ms=now_ms)
        return monthly.build(store, zone[1], request)
    finally:
        store.close()


@pytest.fixture(scope="module")
def june(zone: tuple[Path, Registry]) -> monthly.Monthly:
    return _build(zone, "2026-06", JULY_2, "en")


def _section(page: str, heading: str) -> str:
    return page[page.index(f"<h2>{heading}</h2>") :].split("<h2>")[1]


def _rows(section: str) -> list[list[str]]:
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = body.split("<tr>")[1:]
    return [[c.split(">", 1)[1].split("</td>")[0] for c in r.split("<td")[1:]] for r in rows]


def test_the_june_report_closes_june_and_shows_every_budget_by_hand(
    june: monthly.Monthly,
) -> None:
    dc = june.dualcontrol
    assert dc is not None
    p = dc.progress
    assert (p.as_of, p.closed, p.year) == (dt.date(2026, 7, 1), 6, 2026)
    page = monthly.html(june)
    assert page.index("<h2>Water and reuse</h2>") < page.index("<h2>Dual-control targets</h2>")
    section = _section(page, "Dual-control targets")
    assert "As of 2026-07-01: the year to date is the closed months of 2026 (6 of 12)" in section
    rows = {(r[0], r[1]): r for r in _rows(section)}
    assert rows[("E1", "Energy total (target accounting)")] == [
        "E1",
        "Energy total (target accounting)",
        "tce",
        "3,000.0",
        number(PLAN_YTD),
        number(YTD),
        f"{100 * YTD / BUDGET_TCE:.1f}",
        number(PROJECTED),
        "last year's shape".replace("'", "&#x27;"),
        number(PROJECTED - BUDGET_TCE),
        f"{100 * (PROJECTED - BUDGET_TCE) / BUDGET_TCE:+.1f}",
        "",
    ]
    co2_row = rows[("E1", "CO2 total")]
    assert co2_row[4:10] == [
        "–",  # CO2 has no monthly plan
        number(CO2_YTD),
        f"{100 * CO2_YTD / BUDGET_CO2:.1f}",
        number(CO2_PROJECTED),
        "last year&#x27;s shape",
        number(CO2_PROJECTED - BUDGET_CO2),
    ]
    intensity = rows[("E1", "Energy per value added")]
    va_ytd = VALUE_ADDED_2026 * YTD_DAYS / 365
    assert intensity[5] == number(YTD / va_ytd)
    assert intensity[7] == number(PROJECTED / VALUE_ADDED_2026)
    assert rows[("P1", "Energy total (target accounting)")][4] == number(FLAT_PLAN_YTD)
    zone_row = rows[("Z1", "Energy total (target accounting)")]
    assert zone_row[9] == number(PROJECTED - ZONE_TCE)


def test_a_gap_above_zero_is_red_and_below_green(june: monthly.Monthly) -> None:
    assert PROJECTED > BUDGET_TCE
    assert CO2_PROJECTED < BUDGET_CO2
    section = _section(monthly.html(june), "Dual-control targets")
    energy_gap = number(PROJECTED - BUDGET_TCE)
    co2_gap = number(CO2_PROJECTED - BUDGET_CO2)
    assert f'<td class="bad">{energy_gap}</td>' in section
    assert f'<td class="good">{co2_gap}</td>' in section
    assert "td.bad{color:#d62728" in monthly.html(june)


def test_a_park_report_has_its_park_and_enterprises_not_the_zone(
    zone: tuple[Path, Registry],
) -> None:
    r = _build(zone, "2026-06", JULY_2, "en", "park")
    assert r.dualcontrol is not None
    assert {(x.scope, x.id) for x in r.dualcontrol.progress.rows} == {
        ("enterprise", "e1"),
        ("park", "p1"),
    }


def test_the_month_in_progress_stops_the_year_to_date_before_it_in_chinese(
    zone: tuple[Path, Registry],
) -> None:
    july_15 = periods.local_midnight_ms(dt.date(2026, 7, 15), TZ)
    r = _build(zone, "2026-07", july_15, "zh")
    assert r.partial
    assert r.dualcontrol is not None
    p = r.dualcontrol.progress
    assert (p.as_of, p.closed) == (dt.date(2026, 7, 15), 6)
    section = _section(monthly.html(r), "双控目标完成情况")
    assert "截至 2026-07-15" in section
    assert "按上年月度结构" in section
    energy_row = next(x for x in _rows(section) if x[1] == "能耗总量（纳入考核部分）")
    assert energy_row[5] == number(YTD)


def test_the_workbook_has_the_sheet_with_numbers_and_off_target(june: monthly.Monthly) -> None:
    books = tables(xlsx.workbook(june))
    names = list(books)
    assert names.index("Water") < names.index("Dual-control targets") < names.index("Pollutants")
    records = books["Dual-control targets"].records()
    energy_row = next(
        x for x in records if x["id"] == "e1" and x["Indicator"].startswith("Energy total")
    )
    assert energy_row["Scope"] == "enterprise"
    assert energy_row["Budget"] == BUDGET_TCE
    assert energy_row["Actual to date"] == pytest.approx(YTD, rel=1e-9)
    assert energy_row["Plan to date"] == pytest.approx(PLAN_YTD, rel=1e-9)
    assert energy_row["Year-end projection"] == pytest.approx(PROJECTED, rel=1e-9)
    assert energy_row["Projected gap"] == pytest.approx(PROJECTED - BUDGET_TCE, rel=1e-9)
    assert energy_row["Method"] == "last year's shape"
    assert energy_row["Off target"] == "yes"
    co2_row = next(x for x in records if x["Indicator"] == "CO2 total")
    assert co2_row["Plan to date"] is None
    assert co2_row["Off target"] == "no"


def _zone_copy(zone: tuple[Path, Registry], folder: Path, registry: str, **files: str) -> Registry:
    """The zone's store beside another registry (and files): same meters, same readings."""
    folder.mkdir()
    shutil.copy(zone[0] / "park.db", folder / "park.db")
    (folder / "registry.toml").write_text(registry, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return registry_mod.load(folder / "registry.toml")


def _gather(folder: Path, reg: Registry) -> tuple[dualcontrol.DualControl | None, list[str]]:
    store = _open(folder, reg)
    try:
        return dualcontrol.gather(store, reg, "en", "z1", "zone", "z1", dt.date(2026, 7, 1))
    finally:
        store.close()


def test_a_missing_value_added_is_said_with_the_file_and_the_command(
    zone: tuple[Path, Registry], tmp_path: Path
) -> None:
    folder = tmp_path / "z"
    facts = FACTS_HEADER + "2025,e1,,,40000,,,,\n"  # no value added for 2026
    reg = _zone_copy(zone, folder, REGISTRY, **{"targets.toml": TARGETS, "facts.csv": facts})
    dc, notes = _gather(folder, reg)
    assert dc is not None
    (note,) = notes
    assert note.startswith("Dual-control targets, E1: value added for 2026 is missing")
    assert "smartpark import facts FILE" in note
    row = next(r for r in dc.progress.rows if r.measure == "energy_intensity")
    assert (row.actual_ytd, row.projection, row.gap) == (None, None, None)
    cells = dualcontrol.section(reg, "en", dc).tables[0].rows
    intensity = next(c for c in cells if c[1] == "Energy per value added")
    assert (intensity[5], intensity[9]) == ("no data", "no data")  # never a zero


def test_a_missing_targets_file_is_a_note_and_no_file_named_is_nothing(
    zone: tuple[Path, Registry], tmp_path: Path
) -> None:
    reg = _zone_copy(zone, tmp_path / "named", REGISTRY)  # names targets.toml, not there
    dc, notes = _gather(tmp_path / "named", reg)
    assert dc is None
    (note,) = notes
    assert "cannot read dual-control targets" in note
    assert str(tmp_path / "named" / "targets.toml") in note
    assert "`smartpark import targets FILE`" in note
    unnamed = REGISTRY.replace('dual_control = "targets.toml"\n', "")
    reg = _zone_copy(zone, tmp_path / "unnamed", unnamed)
    assert _gather(tmp_path / "unnamed", reg) == (None, [])


def test_no_target_of_the_year_is_a_note(zone: tuple[Path, Registry], tmp_path: Path) -> None:
    reg = _zone_copy(
        zone, tmp_path / "z", REGISTRY, **{"targets.toml": TARGETS.replace("2026", "2027")}
    )
    dc, notes = _gather(tmp_path / "z", reg)
    assert dc is None
    assert notes == [
        f"Dual-control targets: {tmp_path / 'z' / 'targets.toml'} has no target for 2026 of "
        "this scope, its parks or its enterprises; add [[target]] tables "
        "(docs/dualcontrol.md) or import them with `smartpark import targets FILE`."
    ]


def test_stored_plan_rows_do_not_make_a_month_stored(
    zone: tuple[Path, Registry], tmp_path: Path
) -> None:
    """``targets --write`` stores the plan as month rows: a month with only those is not
    a stored month, so the report still computes it from the readings."""
    reg = _zone_copy(zone, tmp_path / "z", REGISTRY, **{"targets.toml": TARGETS})
    store = _open(tmp_path / "z", reg)
    try:
        written = write_plan(store, reg, run(store, reg, year=2026, as_of=dt.date(2026, 7, 1)))
        assert written == 36  # three targets with an energy budget, 12 months each
        june_start = periods.local_midnight_ms(dt.date(2026, 6, 1), TZ)
        (row,) = store.read_kpis(june_start, june_start + 1, "park", "month", kpis=[PLAN_KPI])
        assert row.value == pytest.approx(BUDGET_TCE * 30 / 365)  # flat: by days
        report = monthly.build(store, reg, monthly.Request("2026-06", now_ms=JULY_2, lang="en"))
    finally:
        store.close()
    assert report.source == "readings"
    assert report.values["energy_tce"] == pytest.approx(energy(2026, 6), rel=1e-9)
