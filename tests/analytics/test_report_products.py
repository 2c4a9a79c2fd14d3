"""The monthly report's section "Unit-product energy against the limit standards"
(单位产品能耗对标, analytics/report/products.py) on a real SQLite store: a cement clinker
line above 1,500 m with metered output, an aluminium smelter with entered output, and a
carbide furnace whose output was never entered. Hourly counters at constant rates, so
every month value is computed by hand below."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.report import monthly, pdf, xlsx
from smartpark.analytics.report.products import Products
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow
from tests.workbooks import tables

from .parks import HOUR_MS, columns

TZ = "Asia/Shanghai"
HOURS = 720  # November 2026: 30 days, no daylight saving in Shanghai
# Hourly rates: clinker line (coal t, kWh, clinker t), smelter kWh, carbide furnace kWh.
RATES = {
    "cem-coal": 15.4,
    "cem-kwh": 6000.0,
    "cem-out": 100.0,
    "alu-kwh": 19440.0,
    "carb-kwh": 9000.0,
}

# By hand, GB/T 2589 defaults 0.7143 tce/t coal and 0.0001229 tce/kWh:
CLINKER_T = 100.0 * HOURS  # 72,000 t
CLINKER_TCE = 15.4 * HOURS * 0.7143 + 6000.0 * HOURS * 0.0001229  # 7,920.1584 + 530.928
CLINKER_KGCE_T = 1000.0 * CLINKER_TCE / CLINKER_T  # 117.3762: above 117, the table's level 3
K = 1.179 - 0.211 * 80_000.0 / 101_325.0  # GB 16780-2021 5.3 at 80 kPa
CLINKER_LIMIT = 117.0 * K  # 118.45: level 3 only with the altitude correction
CLINKER_GAP = CLINKER_KGCE_T - 107.0  # 10.3762 to level 2
ALU_T = 1000.0  # entered for the month
ALU_KWH_T = 19440.0 * HOURS / ALU_T  # 13,996.8 kWh/t, above 13,350
ALU_EXCESS = ALU_KWH_T - 13350.0  # 646.8
CARBIDE_TCE = 9000.0 * HOURS * 0.0001229  # 796.392 tce and no output


def _registry(products: bool = True) -> Registry:
    ents = {"qilian": "cement-park", "longxi": "metal-park", "hexi": "metal-park"}
    meter: dict[str, dict[str, Any]] = {
        "cem-coal": {"enterprise": "qilian", "quantity": "coal"},
        "cem-kwh": {"enterprise": "qilian", "quantity": "electricity_import"},
        "cem-out": {"enterprise": "qilian", "quantity": "product_output"},
        "alu-kwh": {"enterprise": "longxi", "quantity": "electricity_import"},
        "carb-kwh": {"enterprise": "hexi", "quantity": "electricity_import"},
    }
    for m in meter.values():
        m |= {"gateway": f"g-{ents[m['enterprise']]}", "interval_s": 3600}
    doc: dict[str, Any] = {
        "zone": {"gansu": {"name": "Gansu Zone", "name_zh": "甘肃园区", "timezone": TZ}},
        "park": {
            "cement-park": {"zone": "gansu", "name": "Cement Park"},
            "metal-park": {"zone": "gansu", "name": "Metal Park"},
        },
        "enterprise": {
            "qilian": {"park": "cement-park", "name": "Qilian Cement", "name_zh": "祁连水泥"},
            "longxi": {"park": "metal-park", "name": "Longxi Aluminium", "name_zh": "陇西铝业"},
            "hexi": {"park": "metal-park", "name": "Hexi Carbide"},
        },
        "gateway": {f"g-{p}": {"park": p} for p in ("cement-park", "metal-park")},
        "meter": meter,
    }
    if products:
        doc["product"] = {
            "clinker": {
                "enterprise": "qilian",
                "name": "Clinker line 1",
                "name_zh": "熟料一线",
                "standard": "GB 16780-2021",
                "category": "clinker",
                "meters": ["cem-coal", "cem-kwh"],
                "output_meter": "cem-out",
                "inputs": {"altitude_m": 2000.0, "pressure_pa": 80_000.0},
            },
            "aluminium": {
                "enterprise": "longxi",
                "name": "Potline",
                "name_zh": "电解铝",
                "standard": "GB 21346-2022",
                "category": "aluminium_liquid",
            },
            "carbide": {
                "enterprise": "hexi",
                "name": "Carbide furnace",
                "standard": "GB 21343-2023",
                "category": "calcium_carbide",
            },
        }
    return registry_mod.from_dict(doc)


START, END = monthly.month_bounds("2026-11", TZ)


def _store(path: Path, reg: Registry) -> Store:
    """The month's hourly counters, both edges, and the smelter's entered month."""
    store = open_store(parse_store_url(f"sqlite:///{path}"), reg)
    rows = [
        (m, START + h * HOUR_MS, rate * h) for m, rate in RATES.items() for h in range(HOURS + 1)
    ]
    store.write(columns(reg, rows))
    if "aluminium" in reg.products:
        store.outputs.replace([OutputRow("aluminium", "month", START, END, ALU_T)])
    return store


def _build(store: Store, reg: Registry, **kw: Any) -> monthly.Monthly:
    return monthly.build(store, reg, monthly.Request("2026-11", now_ms=END, **kw))


Reports = dict[str, monthly.Monthly]


def _products(r: monthly.Monthly) -> Products:
    assert r.products is not None
    return r.products


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    reg = _registry()
    store = _store(tmp_path_factory.mktemp("products") / "store.db", reg)
    try:
        return {
            "en": _build(store, reg, lang="en"),
            "zh": _build(store, reg, lang="zh"),
            "park": _build(store, reg, lang="en", scope="park", id="metal-park"),
        }
    finally:
        store.close()


def _row(page: str, first_cell: str) -> list[str]:
    """The cells of the row of the table whose first cell is ``first_cell``."""
    row = page[page.index(f"<tr><td>{first_cell}</td>") :].split("</tr>")[0]
    return [c.split("</td>")[0] for c in row.split("<td>")[1:]]


def test_the_products_are_graded_with_hand_computed_values(reports: Reports) -> None:
    r = reports["en"]
    assert r.source == "readings"
    grades = {g.product: g for g in _products(r).committee.grades}
    clinker, alu, carbide = grades["clinker"], grades["aluminium"], grades["carbide"]
    assert clinker.output == pytest.approx(CLINKER_T, rel=1e-12)
    assert clinker.energy_tce == pytest.approx(CLINKER_TCE, rel=1e-9)
    assert clinker.benchmark_value == pytest.approx(CLINKER_KGCE_T, rel=1e-9)
    assert clinker.limit_value == pytest.approx(CLINKER_LIMIT, rel=1e-12)
    assert clinker.standing == "level_3"
    assert clinker.gap == pytest.approx(CLINKER_GAP, rel=1e-9)
    assert alu.output == ALU_T
    assert alu.benchmark_value == pytest.approx(ALU_KWH_T, rel=1e-9)
    assert alu.standing == "above_limit"
    assert carbide.standing == "no_output"
    assert carbide.energy_tce == pytest.approx(CARBIDE_TCE, rel=1e-9)


def test_the_html_section_shows_rows_levels_the_above_limit_list_and_missing_output(
    reports: Reports,
) -> None:
    page = monthly.html(reports["en"])
    heading = "<h2>Unit-product energy against the limit standards</h2>"
    assert heading in page
    assert page.index("<h2>Water and reuse</h2>") < page.index(heading)
    section = page[page.index(heading) :].split("<h2>")[1]
    assert _row(section, "Clinker line 1 (熟料一线)") == [
        "Clinker line 1 (熟料一线)",
        "Qilian Cement (祁连水泥)",
        "GB 16780-2021 clinker (熟料)",
        "72,000.0 t",
        "Energy per unit of product",
        "117.4 kgce/t",  # 117.3762
        "118.5 kgce/t",  # 117 x K = 118.45
        "level 3",
        "10.4 kgce/t",  # to level 2 (107)
    ]
    assert _row(section, "Potline (电解铝)") == [
        "Potline (电解铝)",
        "Longxi Aluminium (陇西铝业)",
        "GB 21346-2022 aluminium_liquid (铝液)",
        "1,000.0 t",
        "Electricity per unit of product",
        "13,996.8 kWh/t",
        "13,350.0 kWh/t",
        "above the limit",
        "646.8 kWh/t",
    ]
    carbide = _row(section, "Carbide furnace")
    assert (carbide[3], carbide[5], carbide[7]) == ("no data", "no data", "no output")
    assert carbide[6] == "940.0 kgce/t"
    # the committee: the zone's output per level, then each park's, per category
    levels = section[section.index("Output per level") :].split("</table>")[0]
    assert _row(levels, "Gansu Zone (甘肃园区)") == [
        "Gansu Zone (甘肃园区)",
        "GB 16780-2021 clinker (熟料)",
        "t",
        "0",  # a level without output: no share shown
        "0",
        "72,000.0 (100.0 %)",
        "0",
        "0",  # ungraded output
        "0",  # products without output
    ]
    assert levels.count("<tr><td>Gansu Zone (甘肃园区)</td>") == 3  # three categories
    assert "<td>1,000.0 (100.0 %)</td>" in levels  # all the aluminium above the limit
    above = section[section.index("Above the limit: to rectify or exit") :].split("</table>")[0]
    assert _row(above, "Longxi Aluminium (陇西铝业)") == [
        "Longxi Aluminium (陇西铝业)",
        "Potline (电解铝)",
        "Metal Park",
        "13,996.8 kWh/t",
        "13,350.0 kWh/t",
        "646.8 kWh/t",
    ]
    assert "Qilian Cement" not in above  # level 3 with its altitude correction
    missing = section[section.index("Output missing") :].split("</table>")[0]
    assert _row(missing, "Carbide furnace") == [
        "Carbide furnace",
        "Hexi Carbide",
        "796.4",
        "import it with `smartpark import output FILE`",
    ]


def test_the_missing_output_is_said_first_with_the_command(reports: Reports) -> None:
    note = (
        "Output missing: Carbide furnace of Hexi Carbide used 796.4 tce and has no output "
        "for the month, so it has no unit value and no level; import it with "
        "`smartpark import output FILE`."
    )
    assert note in reports["en"].missing
    page = monthly.html(reports["en"])
    assert page.index(note) < page.index("Key indicators")
    assert not any("Clinker" in m or "Potline" in m for m in reports["en"].missing)


def test_the_chinese_report_names_the_levels_as_the_standards_do(reports: Reports) -> None:
    page = monthly.html(reports["zh"])
    section = page[page.index("<h2>单位产品能耗对标</h2>") :].split("<h2>")[1]
    clinker = _row(section, "熟料一线（Clinker line 1）")
    assert clinker[2:] == [
        "GB 16780-2021 熟料",
        "72,000.0 t",
        "熟料单位产品综合能耗",
        "117.4 kgce/t",
        "118.5 kgce/t",
        "三级",
        "10.4 kgce/t",
    ]
    assert _row(section, "电解铝（Potline）")[4] == "铝液交流电耗"
    assert _row(section, "电解铝（Potline）")[7] == "超限额"
    assert _row(section, "Carbide furnace")[7] == "无产量"
    assert "超限额企业（整改或退出）" in section
    assert any(
        m.startswith("产量缺失：Hexi Carbide的Carbide furnace") for m in reports["zh"].missing
    )


def test_a_park_report_shows_its_products_and_sums_only_its_park(reports: Reports) -> None:
    r = reports["park"]
    assert [g.product for g in _products(r).committee.grades] == ["aluminium", "carbide"]
    assert {(s.scope, s.id) for s in _products(r).committee.shares} == {("park", "metal-park")}
    assert "Clinker line 1" not in monthly.html(r)


def test_the_workbook_has_the_sections_sheets_with_numbers(reports: Reports) -> None:
    books = tables(xlsx.workbook(reports["en"]))
    names = list(books)
    assert names[names.index("Water") + 1 : names.index("Pollutants")] == [
        "Unit-product energy",
        "Output per level",
        "Above the limit",
        "Output missing",
    ]
    rows = {r["Product"]: r for r in books["Unit-product energy"].records()}
    clinker = rows["Clinker line 1 (熟料一线)"]
    assert clinker["Product output"] == pytest.approx(CLINKER_T, rel=1e-12)
    assert clinker["Output unit"] == "t"
    assert clinker["Graded unit value"] == pytest.approx(CLINKER_KGCE_T, rel=1e-9)
    assert clinker["Limit (level 3)"] == pytest.approx(CLINKER_LIMIT, rel=1e-12)
    assert clinker["Gap to the next level"] == pytest.approx(CLINKER_GAP, rel=1e-9)
    assert (clinker["Unit"], clinker["Level reached"]) == ("kgce/t", "level 3")
    assert rows["Potline (电解铝)"]["Level reached"] == "above the limit"
    assert rows["Carbide furnace"]["Product output"] == "no data"
    levels = books["Output per level"].records()
    zone = levels[0]
    assert zone["Park or zone"] == "Gansu Zone (甘肃园区)"
    assert zone["level 3"] == pytest.approx(CLINKER_T, rel=1e-12)
    assert zone["level 3 %"] == 100.0
    assert zone["level 1 %"] == 0.0
    carbide = next(r for r in levels if r["Standard and product"].startswith("GB 21343"))
    assert carbide["Products without output"] == 1
    assert carbide["level 1 %"] is None  # nothing graded: no share, not 0
    (above,) = books["Above the limit"].records()
    assert above["Enterprise"] == "Longxi Aluminium (陇西铝业)"
    assert above["Excess over the limit"] == pytest.approx(ALU_EXCESS, rel=1e-9)
    (missing,) = books["Output missing"].records()
    assert missing["How to supply it"] == "import it with `smartpark import output FILE`"
    assert missing["Product energy consumption [tce]"] == pytest.approx(CARBIDE_TCE, rel=1e-9)


def test_stored_month_rows_carry_the_products_and_a_missing_one_is_said(tmp_path: Path) -> None:
    reg = _registry()
    store = _store(tmp_path / "store.db", reg)
    try:
        kpi_job(store, reg, START, END, ("day", "month"), write=True)
        stored = _build(store, reg, lang="en")
        # a month row of the zone without product rows (written before the products)
        other = _store(tmp_path / "other.db", reg)
        try:
            zone_rows = store.read_kpis(START, END, "zone", "month")
            other.write_kpis(zone_rows)
            unread = _build(other, reg, lang="en")
        finally:
            other.close()
    finally:
        store.close()
    assert stored.source == "store"
    grades = {g.product: g for g in _products(stored).committee.grades}
    assert grades["clinker"].benchmark_value == pytest.approx(CLINKER_KGCE_T, rel=1e-9)
    assert grades["aluminium"].standing == "above_limit"
    assert unread.source == "store"
    assert _products(unread).unread == ("aluminium", "carbide", "clinker")
    assert (
        "Unit-product energy: the store holds no month KPIs of aluminium, carbide, clinker; "
        "write them with `smartpark kpi --period month --from 2026-11-01 --to 2026-12-01 "
        "--write`."
    ) in unread.missing


def test_a_registry_without_products_has_no_section(tmp_path: Path) -> None:
    reg = _registry(products=False)
    store = _store(tmp_path / "store.db", reg)
    try:
        report = _build(store, reg, lang="en")
    finally:
        store.close()
    assert report.products is None
    assert "Unit-product energy" not in monthly.html(report)
    assert "Unit-product energy" not in tables(xlsx.workbook(report))


def test_the_pdf_prints_the_section_in_chinese(reports: Reports, tmp_path: Path) -> None:
    out = pdf.html_to_pdf(monthly.html(reports["zh"]), tmp_path / "r.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "单位产品能耗对标" in text
    assert "超限额企业（整改或退出）" in text
    assert "646.8" in text  # the smelter's excess over its limit
