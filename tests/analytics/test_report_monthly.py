"""The monthly report on a real SQLite store: missing data said first, both languages, PDF."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from smartpark.analytics.report import job, monthly, pdf
from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store

EXAMPLE = registry_mod.__file__.replace("core/registry.py", "examples/registry.toml")


def test_a_month_without_readings_says_so_first_and_prints_no_zeros(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    store = open_store(url, reg)
    try:
        report = monthly.build(store, reg, monthly.Request("2026-11", lang="en"))
    finally:
        store.close()
    assert report.source == "readings"
    assert report.missing[0].startswith("No readings at all for this month")
    page = monthly.html(report)
    first = page.index("Missing data")
    assert first < page.index("Key indicators")
    energy_row = page[page.index("<td>Energy consumption</td>") :].split("</tr>")[0]
    assert "no data" in energy_row
    assert ">0<" not in energy_row


def test_bad_options_name_the_option(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        for request, option in (
            (monthly.Request("2026-13"), "--month"),
            (monthly.Request("0000-01"), "--month"),
            (monthly.Request("9999-12"), "--month"),
            (monthly.Request("2026-11", scope="enterprise"), "--scope"),
            (monthly.Request("2026-11", scope="park", id="nope"), "--id"),
            (monthly.Request("2026-11", lang="fr"), "--lang"),
        ):
            with pytest.raises(OptionError, match=option):
                monthly.build(store, reg, request)
    finally:
        store.close()


def test_the_pdf_of_a_park_report_renders_with_its_chinese_name(tmp_path):
    url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    written = job.run(
        Path(EXAMPLE),
        url,
        monthly.Request("2026-11", scope="park", id="petrochem", lang="zh"),
        "pdf",
        tmp_path / "r.pdf",
    )
    assert written.path.stat().st_size > 0
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(written.path),
                    str(tmp_path / "p")], check=True, timeout=120)  # fmt: skip
    assert list(tmp_path.glob("p*.png"))
    text = subprocess.run(
        ["pdftotext", str(written.path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "精细化工园区" in text
    assert "Fine Chemicals Park" in text
    assert "本月无任何读数" in text.split("\f")[0]
    assert pdf.browser()


def test_a_region_report_reads_the_regions_rows_and_its_enclave_parks(tmp_path):
    from smartpark.store.base import KpiRow

    reg = registry_mod.load(EXAMPLE)
    partner = next(r for r in reg.regions if r == "partner-city")
    start, _ = monthly.month_bounds("2026-11", reg.regions[partner].timezone)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        store.write_kpis(
            [
                KpiRow("region", partner, "month", "energy_tce", start, 12.5),
                KpiRow("region", partner, "month", "co2_total_t", start, 30.0),
                KpiRow("region", "gaolan-county", "month", "energy_tce", start, 99.0),
            ]
        )
        report = monthly.build(
            store, reg, monthly.Request("2026-11", scope="region", id=partner, lang="en")
        )
        with pytest.raises(OptionError, match="--id: give one of the registry's regions"):
            monthly.build(store, reg, monthly.Request("2026-11", scope="region", id="atlantis"))
    finally:
        store.close()
    assert report.source == "store"
    assert (report.values["energy_tce"], report.values["co2_total_t"]) == (12.5, 30.0)
    # the partner region shares in the enclave park hosted elsewhere, and only in it
    shared = {p for p in reg.parks if partner in reg.regions_of_park(p)}
    assert shared == {"coop-enclave"}
    assert {reg.enterprises[e].park for e in report.enterprises} == shared
    assert reg.regions[partner].name in monthly.html(report)


def _simulated_store(tmp_path, reg, start, end):
    from smartpark.gateway.drivers.simulator import sim_meters, simulate
    from smartpark.store.base import ReadingColumns

    batch = simulate(sim_meters(reg, reg.meter_ids, seed=5), start, end)
    meter = [reg.meter_code[m] for m in batch.meter.tolist()]
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'store.db'}"), reg)
    store.write(ReadingColumns(np.array(meter, np.int32), batch.ts, batch.value))
    return store


def test_pollutants_are_shown_per_stack_and_add_up_to_the_enterprise_kpis(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    start, _ = monthly.month_bounds("2026-11", "Asia/Shanghai")
    store = _simulated_store(tmp_path, reg, start, start + 2 * 86_400_000)
    try:
        report = monthly.build(store, reg, monthly.Request("2026-11", lang="en"))
    finally:
        store.close()
    assert report.source == "readings"
    stacks = {(s.enterprise, s.stack): s for s in report.stacks}
    assert set(stacks) == {("chem-a", "boiler"), ("chem-b", "boiler"), ("petro-utility", "boiler")}
    for (ent, _), s in stacks.items():
        assert s.readings > 0
        for kpi in monthly.POLLUTION:
            assert s.values[kpi] == pytest.approx(report.enterprises[ent][kpi], rel=1e-9, abs=1e-9)
    assert stacks["chem-a", "boiler"].values["so2_kg"] > 0
    assert not any(m.startswith("Pollutants per stack") for m in report.missing)
    page = monthly.html(report)
    section = page[page.index("Pollutants per stack") :].split("</table>")[0]
    row = section[section.index("<td>boiler</td>") :].split("</tr>")[0]
    assert "Chem A Co." in row
    assert reg.parks["petrochem"].name in row
    assert monthly._num(stacks["chem-a", "boiler"].values["so2_kg"]) in row


def test_month_rows_without_the_months_readings_say_the_stacks_are_missing(tmp_path):
    from smartpark.store.base import KpiRow

    reg = registry_mod.load(EXAMPLE)
    start, _ = monthly.month_bounds("2026-11", "Asia/Shanghai")
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        store.write_kpis(
            [
                KpiRow("zone", reg.zone_ids[0], "month", k, start, 1.0)
                for k in ("energy_tce", "completeness")
            ]
        )
        report = monthly.build(store, reg, monthly.Request("2026-11", lang="zh"))
    finally:
        store.close()
    assert report.source == "store"
    line = next(m for m in report.missing if m.startswith("分排放口污染物"))
    assert "chem-a/boiler" in line
    assert "petro-utility/boiler" in line
    section = monthly.html(report).split("分排放口污染物")[-1].split("</table>")[0]
    assert "无数据" in section
    assert ">0<" not in section


# The month in progress: the clock is pinned (Request.now_ms), never the wall clock.
DAY_MS = 86_400_000
ADDITIVE = ("energy_tce", "electricity_kwh", "co2_total_t", "fresh_water_m3")


def _day_rows(store, reg, start, end):
    """Rollups and day KPI rows written for ``[start, end)``, as `kpi --follow` leaves them."""
    from smartpark.analytics.jobs import kpi_job
    from smartpark.analytics.windows.rollups.build import build

    build(store, reg, start, end)
    kpi_job(store, reg, start, end, ("day",), write=True)
    zone = reg.zone_ids[0]
    rows = store.read_kpis(start, end, "zone", "day", ids=(zone,))
    by_day: dict[int, dict[str, float]] = {}
    for r in rows:
        by_day.setdefault(r.start_ms, {})[r.kpi] = r.value
    return by_day


def test_the_month_in_progress_shows_its_days_so_far_and_says_it_is_partial(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    start, month_end = monthly.month_bounds("2026-12", "Asia/Shanghai")
    now = start + 3 * DAY_MS + 16 * 3_600_000  # 2026-12-04 16:00 local
    # Readings up to now: three whole days and most of the fourth, which is not over.
    store = _simulated_store(tmp_path, reg, start, now)
    try:
        days = _day_rows(store, reg, start, start + 3 * DAY_MS)
        assert len(days) == 3  # day rows, and no month row in the store
        assert not store.read_kpis(start, month_end, "zone", "month")
        report = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=now))
        zh = monthly.build(store, reg, monthly.Request("2026-12", lang="zh", now_ms=now))
    finally:
        store.close()
    assert report.partial
    assert (report.start_ms, report.end_ms) == (start, start + 3 * DAY_MS)
    assert report.day_starts == sorted(days)
    assert report.missing[0] == (
        "Month in progress (partial): days 12-01 – 12-03 so far, 3 of 31 days; "
        "every value covers these days only."
    )
    assert not any(m.startswith("No readings at all") for m in report.missing)
    # no readings a year before: the same days are missing, not a month row
    assert "No readings for the same days of 2025-12 in the store: no year-on-year " in (
        " ".join(report.missing)
    )
    # The month so far is the sum of its stored days (the fourth day's readings excluded).
    for kpi in ADDITIVE:
        expected = sum(d[kpi] for d in days.values())
        assert expected > 0
        assert report.values[kpi] == pytest.approx(expected, rel=1e-9), kpi
    assert report.values["carbon_per_energy"] == pytest.approx(
        report.values["co2_total_t"] / report.values["energy_tce"], rel=1e-9
    )
    assert report.values["completeness"] >= 99.0  # of the days so far, not of 31 days
    # The zero-carbon line is annualised over the days so far.
    from smartpark.analytics.kpis import targets

    annual = targets.annualised(report.values["energy_tce"], 3 * DAY_MS)
    assert report.line == targets.carbon_per_energy_line(annual)
    page = monthly.html(report)
    assert "Month in progress (partial)" in page
    assert "month in progress: KPIs of the days so far" in page
    assert zh.missing[0].startswith(
        "本月进行中（不完整）：截至目前为 12-01 至 12-03，共 31 天中的 3 天"
    )
    assert "本月进行中" in monthly.html(zh)


def test_a_stale_month_row_of_the_month_in_progress_is_not_read_as_the_month(tmp_path):
    from smartpark.store.base import KpiRow

    reg = registry_mod.load(EXAMPLE)
    start, _ = monthly.month_bounds("2026-12", "Asia/Shanghai")
    now = start + 2 * DAY_MS + 3_600_000
    store = _simulated_store(tmp_path, reg, start, now)
    try:
        days = _day_rows(store, reg, start, start + 2 * DAY_MS)
        zone = reg.zone_ids[0]
        # A month row written on the first day (e.g. by `kpi --period month --write`).
        store.write_kpis([KpiRow("zone", zone, "month", "energy_tce", start, 1.0)])
        report = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=now))
    finally:
        store.close()
    assert report.partial
    assert report.source == "readings"
    assert report.values["energy_tce"] == pytest.approx(
        sum(d["energy_tce"] for d in days.values()), rel=1e-9
    )


def test_a_closed_month_with_day_and_month_rows_reads_the_stored_month(tmp_path):
    from smartpark.store.base import KpiRow

    reg = registry_mod.load(EXAMPLE)
    start, end = monthly.month_bounds("2026-12", "Asia/Shanghai")
    store = _simulated_store(tmp_path, reg, start, start + 2 * DAY_MS)
    try:
        _day_rows(store, reg, start, start + 2 * DAY_MS)
        zone = reg.zone_ids[0]
        store.write_kpis(
            [
                KpiRow("zone", zone, "month", "energy_tce", start, 4321.0),
                KpiRow("zone", zone, "month", "completeness", start, 6.45),
            ]
        )
        report = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=end))
    finally:
        store.close()
    assert not report.partial
    assert report.source == "store"
    assert report.values["energy_tce"] == 4321.0
    assert report.end_ms == end
    assert len(report.day_starts) == 2
    assert report.missing[0].startswith("Data for 2 of 31 days")


def test_a_closed_month_with_day_rows_and_no_month_row_is_computed(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    start, end = monthly.month_bounds("2026-12", "Asia/Shanghai")
    store = _simulated_store(tmp_path, reg, start, start + 2 * DAY_MS)
    try:
        days = _day_rows(store, reg, start, start + 2 * DAY_MS)
        # The day rows start at the month's first instant: not a month row.
        report = monthly.build(
            store, reg, monthly.Request("2026-12", lang="en", now_ms=end + 5 * DAY_MS)
        )
    finally:
        store.close()
    assert not report.partial
    assert report.source == "readings"
    assert report.values["energy_tce"] == pytest.approx(
        sum(d["energy_tce"] for d in days.values()), rel=1e-9
    )
    assert report.missing[0].startswith("Data for 2 of 31 days; days without any data: 12-03–12-31")


def test_the_month_in_progress_compares_with_the_same_days_last_year(tmp_path):
    from smartpark.gateway.drivers.simulator import sim_meters, simulate
    from smartpark.store.base import ReadingColumns

    reg = registry_mod.load(EXAMPLE)
    start, _ = monthly.month_bounds("2026-12", "Asia/Shanghai")
    ly_start, _ = monthly.month_bounds("2025-12", "Asia/Shanghai")
    now = start + 2 * DAY_MS + 9 * 3_600_000  # 2026-12-03 09:00: two days so far
    store = _simulated_store(tmp_path, reg, start, now)
    try:
        batch = simulate(sim_meters(reg, reg.meter_ids, seed=9), ly_start, ly_start + 4 * DAY_MS)
        meter = [reg.meter_code[m] for m in batch.meter.tolist()]
        store.write(ReadingColumns(np.array(meter, np.int32), batch.ts, batch.value))
        last_year_days = _day_rows(store, reg, ly_start, ly_start + 4 * DAY_MS)
        report = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=now))
        first = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=start + 1))
    finally:
        store.close()
    two_days = sorted(last_year_days)[:2]
    assert report.last_year["energy_tce"] == pytest.approx(
        sum(last_year_days[d]["energy_tce"] for d in two_days), rel=1e-9
    )
    assert not any(m.startswith("No month KPIs for 2025-12") for m in report.missing)
    # On the month's first day nothing is over yet: said, nothing computed, no error.
    assert first.partial
    assert first.end_ms == first.start_ms
    assert first.missing[0] == (
        "Month in progress (partial): its first day is not over yet, 0 of 31 days so far."
    )
    assert (
        "No readings at all for this month: every value below is empty, not zero." in first.missing
    )


def test_a_month_not_begun_is_refused_and_a_first_day_renders(tmp_path):
    reg = registry_mod.load(EXAMPLE)
    start, _ = monthly.month_bounds("2026-12", "Asia/Shanghai")
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 's.db'}"), reg)
    try:
        with pytest.raises(OptionError, match=r"--month: 2027-01 has not begun \(2026-12-01"):
            monthly.build(store, reg, monthly.Request("2027-01", now_ms=start + 1))
        first = monthly.build(store, reg, monthly.Request("2026-12", lang="en", now_ms=start + 1))
    finally:
        store.close()
    assert first.annual_tce == 0.0
    page = monthly.html(first)  # no division by the zero days so far
    assert "Month in progress (partial): its first day is not over yet" in page
    assert monthly.carbon_text(first).startswith("Zero-carbon park line")
    assert [h.kpi for h in monthly.headline(first)] == list(monthly.HEADLINE)
    from smartpark.analytics.report import xlsx

    assert xlsx.workbook(first)[:2] == b"PK"  # the workbook too


def test_a_report_that_cannot_be_written_is_an_error_naming_the_file(tmp_path):
    from smartpark.core.errors import OutputError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report's folder should be")
    url = parse_store_url(f"sqlite:///{tmp_path / 'store.db'}")
    for fmt in ("html", "pdf", "xlsx"):
        out = blocker / f"r.{fmt}"
        with pytest.raises(OutputError, match=rf"{out}: cannot write the file"):
            job.run(Path(EXAMPLE), url, monthly.Request("2026-11", lang="en"), fmt, out)
