"""``import targets``: a CSV with Chinese headers and an .xlsx, merged into the targets
file; a re-import leaves it byte for byte; bad rows named by row, cell and reason."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from smartpark.analytics.dualcontrol.targets import load
from smartpark.analytics.dualcontrol.targets_import import import_targets

from .zone import write_zone

FILE = """# the committee's targets
[[target]]
scope = "enterprise"
id = "e1"
year = 2026
energy_tce = 1200
plan = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]

# the park
[[target]]
scope = "park"
id = "p1"
year = 2026
co2_t = 5000
"""


def test_csv_round_trip_with_chinese_headers(tmp_path: Path) -> None:
    reg = write_zone(tmp_path, FILE)
    sheet = tmp_path / "targets.csv"
    sheet.write_text(
        "考核层级,考核对象编号,年份,能耗总量目标,碳排放总量目标,可再生能源占比下限\n"
        "enterprise,e1,2026,1201,3000,12\n"
        "zone,z1,2027年,9000,,\n",
        encoding="utf-8",
    )
    report = import_targets(sheet, reg)
    assert (report.rows, report.stored, report.rejected) == (2, 2, 0)
    assert (report.added, report.replaced, report.written) == (1, 1, True)
    after = (tmp_path / "targets.toml").read_text(encoding="utf-8")
    assert after.startswith("# the committee's targets\n[[target]]\n")
    assert '# the park\n[[target]]\nscope = "park"' in after
    by_key = {t.key: t for t in load(tmp_path / "targets.toml", reg, "z1").targets}
    e1 = by_key[("enterprise", "e1", 2026)]
    assert dict(e1.budgets) == {"energy_tce": 1201.0, "co2_t": 3000.0, "renewable_share_min": 12.0}
    assert e1.plan == (100.0,) * 12  # kept: 1201 is within 0.5 % of 1200
    assert dict(by_key[("zone", "z1", 2027)].budgets) == {"energy_tce": 9000.0}
    assert dict(by_key[("park", "p1", 2026)].budgets) == {"co2_t": 5000.0}

    again = import_targets(sheet, reg)  # idempotent: not even rewritten
    assert (again.unchanged, again.written) == (2, False)
    assert (tmp_path / "targets.toml").read_text(encoding="utf-8") == after


def test_xlsx_round_trip_and_bad_rows(tmp_path: Path) -> None:
    reg = write_zone(tmp_path, FILE)
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["scope", "id", "year", "energy_tce", "energy_intensity", "co2_intensity"])
    ws.append(["park", "p1", 2026, 800, 0.4, 1.1])
    ws.append(["enterprise", "e9", 2026, 10, None, None])
    ws.append(["enterprise", "e1", 2026, 2000, None, None])
    ws.append(["park", "p1", 2026, -1, None, None])
    sheet = tmp_path / "targets.xlsx"
    book.save(sheet)
    before = (tmp_path / "targets.toml").read_bytes()

    strict = import_targets(sheet, reg, all_or_nothing=True)
    assert (strict.stored, strict.written) == (0, False)
    assert (tmp_path / "targets.toml").read_bytes() == before

    report = import_targets(sheet, reg)
    assert [(e.row, e.cell, e.column, e.reason) for e in report.errors] == [
        (3, "B3", "id", "unknown_id"),
        (4, "D4", "energy_tce", "plan_mismatch"),
        (5, "D5", "energy_tce", "negative"),
    ]
    assert "sum to 1200 tce, not energy_tce = 2000" in report.errors[1].detail
    (park,) = [t for t in load(tmp_path / "targets.toml", reg, "z1").targets if t.scope == "park"]
    assert dict(park.budgets) == {
        "energy_tce": 800.0,
        "energy_intensity": 0.4,
        "co2_t": 5000.0,  # a column the sheet has not: the file's
        "co2_intensity": 1.1,
    }
