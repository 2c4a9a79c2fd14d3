"""Register readings read by hand, imported from a sheet (ingest/importer.py), into a real
SQLite store and a real influxd: the same checks as MQTT readings, units converted, each
bad row named by row, column and reason, nothing stored of a refused file, idempotent,
dead letters for what the store refuses, rollups marked dirty and re-rolled.

Every date is pinned (March 2025, in the past: the contract refuses readings more than
24 h ahead of the clock); none comes from the wall clock."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from smartpark.analytics.jobs import Selection, follow_cycle, kpi_job
from smartpark.analytics.windows.rollups import build, source
from smartpark.core import contract, registry
from smartpark.core.errors import OptionError, SheetError
from smartpark.core.registry import Registry
from smartpark.core.template import write_template
from smartpark.core.urls import parse_store_url
from smartpark.ingest.deadletter import DeadLetters
from smartpark.ingest.importer import import_readings, readings_template
from smartpark.ingest.validation import Validator
from smartpark.store.base import Store
from smartpark.store.open import open_store

DOC: dict[str, Any] = {
    "zone": {"z": {"name": "Zone", "timezone": "Asia/Shanghai"}},
    "park": {"p1": {"zone": "z", "name": "Park 1"}, "p2": {"zone": "z", "name": "Park 2"}},
    "enterprise": {"e1": {"park": "p1", "name": "E1"}, "e2": {"park": "p2", "name": "E2"}},
    "gateway": {"gw1": {"park": "p1"}},
    "meter": {
        "e1-main": {"enterprise": "e1", "gateway": "gw1", "quantity": "electricity_import"},
        "e1-water": {
            "enterprise": "e1",
            "source": "manual",
            "quantity": "fresh_water",
            "interval_s": 86_400,
        },
        "e1-gas": {"enterprise": "e1", "source": "manual", "quantity": "natural_gas"},
        "e2-water": {
            "enterprise": "e2",
            "source": "manual",
            "quantity": "fresh_water",
            "interval_s": 86_400,
        },
    },
}
REG: Registry = registry.from_dict(DOC, source="test-registry.toml")
TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, no daylight saving since 1991
DAY_MS = 86_400_000


def ms(day: int, hour: int = 0) -> int:
    """Epoch ms of 2025-03-DAY HOUR:00 in Shanghai."""
    return int(dt.datetime(2025, 3, day, hour, tzinfo=TZ).timestamp() * 1000)


NOW = ms(20)  # the import's "now" for the contract's window

# The sheet: every time form, mixed units; the known answer in canonical m3 below.
ROWS: list[list[Any]] = [
    ["e1-water", dt.datetime(2025, 3, 1, 0, 0), 100.0, "m3"],  # a date cell
    ["e1-water", "2025-03-02 00:00", 112500, "L"],  # local text, litres
    ["e1-water", 45719, 130, "m³"],  # an Excel serial: 2025-03-03 00:00
    ["e1-water", "2025-03-03T16:00:00Z", 0.1335, "km3"],  # RFC 3339: 03-04 00:00 +08:00
    ["e1-gas", "2025/3/1 8:00", "1,000", "立方米"],
    ["e1-gas", "2025-03-02 08:00:00+08:00", 1.25, "Nkm3"],
]
EXPECTED = [
    ("e1-gas", ms(1, 8), 1000.0),
    ("e1-gas", ms(2, 8), 1250.0),
    ("e1-water", ms(1), 100.0),
    ("e1-water", ms(2), 112.5),
    ("e1-water", ms(3), 130.0),
    ("e1-water", ms(4), 133.5),
]


@pytest.fixture(params=["sqlite", "influxdb"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'park.db'}"
    request.applymarker(pytest.mark.servers)
    influxd = request.getfixturevalue("influxd")
    return str(influxd.store_url(request.getfixturevalue("influx_db")))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(parse_store_url(store_url), REG)
    yield opened
    opened.close()


def filled(tmp_path: Path, rows: list[list[Any]], name: str = "filled.xlsx") -> Path:
    """The registry's template, filled in with openpyxl as a person would."""
    template = write_template(tmp_path / "template.xlsx", readings_template(REG))
    book = openpyxl.load_workbook(template)
    sheet = book.worksheets[0]
    for row in rows:
        sheet.append(row)
    book.save(tmp_path / name)
    return tmp_path / name


def run(path: Path, store: Store, tmp_path: Path, **kw: Any):
    return import_readings(path, REG, store, dead_letters=tmp_path / "dead.db", now_ms=NOW, **kw)


def stored(store: Store) -> list[tuple[str, int, float]]:
    cols = store.read(ms(1) - 30 * DAY_MS, ms(20))
    return [
        (REG.meter_ids[m], t, v)
        for m, t, v in zip(cols.meter.tolist(), cols.ts.tolist(), cols.value.tolist(), strict=True)
    ]


def approx(rows: list[tuple[str, int, float]]) -> list[tuple[str, int, Any]]:
    return [(m, t, pytest.approx(v, rel=1e-12)) for m, t, v in rows]


def test_a_filled_template_is_stored_in_canonical_units(store: Store, tmp_path: Path) -> None:
    report = run(filled(tmp_path, ROWS), store, tmp_path)
    assert report.errors == []
    assert (report.rows, report.stored, report.rejected, report.exit_code) == (6, 6, 0, 0)
    assert report.sheet == "读数 readings"
    assert report.header_row == 1
    assert report.columns == {"meter": "A", "time": "B", "value": "C", "unit": "D"}
    assert "local time of the meter's park: Asia/Shanghai" in report.notes[0]
    assert stored(store) == approx(EXPECTED)


def test_a_reimport_changes_nothing_and_a_correction_overwrites(
    store: Store, tmp_path: Path
) -> None:
    sheet = filled(tmp_path, ROWS)
    run(sheet, store, tmp_path)
    first = stored(store)
    again = run(sheet, store, tmp_path)
    assert (again.stored, again.exit_code) == (6, 0)
    assert stored(store) == first  # the same points, not twice as many
    corrected = filled(tmp_path, [["e1-water", "2025-03-02 00:00", 113, "m3"]], "fix.xlsx")
    assert run(corrected, store, tmp_path).stored == 1
    assert ("e1-water", ms(2), 113.0) in stored(store)
    assert len(stored(store)) == len(EXPECTED)


BAD_ROWS: list[list[Any]] = [
    ["e1-water", "2025-03-01 00:00", 100, "m3"],  # 2: good
    ["e1-water", "2025-03-02 00:00", "=C2+12.5", "m3"],  # 3: a formula
    ["e9-water", "2025-03-02 00:00", 5, "m3"],  # 4: unknown meter
    ["e2-water", "2025-03-02 00:00", 5, "m3"],  # 5: outside --scope park:p1
    ["e1-water", "2025-03-03 00:00", 5, "kWh"],  # 6: a unit water does not take
    ["e1-water", "2025-03-04 00:00", "twelve", "m3"],  # 7: not a number
    ["e1-water", "", 5, "m3"],  # 8: no time
    ["e1-water", "03/05/2025", 5, "m3"],  # 9: a date form that is not accepted
    ["e1-water", "2099-03-05 00:00", 5, "m3"],  # 10: beyond now + 24 h
    ["e1-water", "1999-12-31 00:00", 5, "m3"],  # 11: before 2000
    ["e1-water", "2025-03-06 00:00", "1e999", "m3"],  # 12: not finite
    ["E1 Water", "2025-03-06 00:00", 5, "m3"],  # 13: not an id
    ["e1-water", "2025-03-01 00:00", 101, "m3"],  # 14: same meter and time as row 2
    ["e1-main", "2025-03-01 00:00", 7, "kWh"],  # 15: good: a gateway meter, back-filled
    [None, None, None, None],  # blank: skipped
    ["e1-gas", "2025-03-01 08:00", 5, None],  # 17: no unit
    ["e1-water", "2025-03-01", 102, "m3"],  # 18: row 2's meter and time once more
]
BAD_EXPECTED = [
    (3, "value", "C3", "=C2+12.5", "formula"),
    (4, "meter", "A4", "e9-water", "unknown_meter"),
    (5, "meter", "A5", "e2-water", "out_of_scope"),
    (6, "unit", "D6", "kWh", "bad_unit"),
    (7, "value", "C7", "twelve", "not_a_number"),
    (8, "time", "B8", "", "missing"),
    (9, "time", "B9", "03/05/2025", "bad_ts"),
    (10, "time", "B10", "2099-03-05 00:00", "ts_out_of_range"),
    (11, "time", "B11", "1999-12-31 00:00", "ts_out_of_range"),
    (12, "value", "C12", "1e999", "non_finite"),
    (13, "meter", "A13", "E1 Water", "bad_id"),
    (14, "time", "B14", "e1-water @ 2025-02-28T16:00:00.000Z", "duplicate"),
    (17, "unit", "D17", "", "missing"),
    (18, "time", "B18", "e1-water @ 2025-02-28T16:00:00.000Z", "duplicate"),
]


def test_every_bad_row_is_named_and_only_good_rows_are_stored(store: Store, tmp_path: Path) -> None:
    report = run(filled(tmp_path, BAD_ROWS), store, tmp_path, scope="park:p1")
    got = [(e.row, e.column, e.cell, e.value, e.reason) for e in report.errors]
    assert got == BAD_EXPECTED
    assert (report.rows, report.stored, report.rejected, report.exit_code) == (16, 2, 14, 1)
    details = {e.reason: e.detail for e in report.errors}
    assert "never evaluated: enter the value itself" in details["formula"]
    assert "not in the registry test-registry.toml" in details["unknown_meter"]
    assert "outside this import's --scope" in details["out_of_scope"]
    assert "unit 'kWh' not accepted for fresh_water" in details["bad_unit"]
    duplicates = [e.detail for e in report.errors if e.reason == "duplicate"]
    assert all("has a reading at this time in row 2 too" in d for d in duplicates)
    assert stored(store) == [("e1-main", ms(1), 7.0), ("e1-water", ms(1), 100.0)]


def test_all_or_nothing_stores_nothing_when_a_row_is_rejected(store: Store, tmp_path: Path) -> None:
    report = run(filled(tmp_path, BAD_ROWS), store, tmp_path, all_or_nothing=True)
    assert (report.stored, report.exit_code) == (0, 1)
    assert report.rejected == 13  # no scope here: row 5 is good
    assert "nothing stored: --all-or-nothing and 13 row(s) rejected" in report.notes[-1]
    assert stored(store) == []
    clean = run(filled(tmp_path, ROWS, "clean.xlsx"), store, tmp_path, all_or_nothing=True)
    assert (clean.stored, clean.exit_code) == (6, 0)


def test_a_csv_imports_like_the_workbook(store: Store, tmp_path: Path) -> None:
    """Chinese headers, GB18030 (what Excel in Chinese saves as CSV), serials as text."""
    lines = [
        "表计编号,抄表时间,读数,单位",
        "e1-water,2025-03-01 00:00,100,m3",
        "e1-water,2025-03-02 00:00,112500,L",
        "e1-water,45719,130,m³",
        "e1-water,2025-03-03T16:00:00Z,0.1335,km3",
        'e1-gas,2025/3/1 8:00,"1,000",立方米',
        "e1-gas,2025-03-02 08:00:00+08:00,1.25,Nkm3",
    ]
    path = tmp_path / "readings.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    report = run(path, store, tmp_path)
    assert (report.stored, report.exit_code, report.errors) == (6, 0, [])
    assert stored(store) == approx(EXPECTED)


def test_a_file_refused_whole_writes_nothing(tmp_path: Path) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'p.db'}"), REG)
    try:
        not_a_sheet = tmp_path / "photo.xlsx"
        not_a_sheet.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
        with pytest.raises(SheetError, match="not a spreadsheet"):
            run(not_a_sheet, store, tmp_path)
        bomb = tmp_path / "bomb.xlsx"
        with (
            zipfile.ZipFile(filled(tmp_path, ROWS)) as src,
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst,
        ):
            for info in src.infolist():
                if info.filename == "xl/worksheets/sheet1.xml":
                    with dst.open(info.filename, "w") as out:
                        for _ in range(30):
                            out.write(b"<row/>" * 200_000)
                else:
                    dst.writestr(info, src.read(info))
        with pytest.raises(SheetError, match="refused as a possible zip bomb"):
            run(bomb, store, tmp_path)
        merged = openpyxl.Workbook()
        merged.active.append(["meter", None, "value", "unit"])
        merged.active.append(["e1-water", "2025-03-01", 1, "m3"])
        merged.active.merge_cells("A1:B1")
        merged.save(tmp_path / "merged.xlsx")
        with pytest.raises(SheetError, match="header cells A1:B1 are merged: unmerge them"):
            run(tmp_path / "merged.xlsx", store, tmp_path)
        many = tmp_path / "many.csv"
        many.write_text("meter,time,value,unit\n" + "e1-water,2025-03-01,1,m3\n" * 4)
        with pytest.raises(SheetError, match="more than 3 data rows"):
            run(many, store, tmp_path, max_rows=3)
        with pytest.raises(OptionError, match="--scope: no park 'p9' in the registry"):
            run(many, store, tmp_path, scope="park:p9")
        with pytest.raises(OptionError, match="--scope: expected zone:ID, park:ID or"):
            run(many, store, tmp_path, scope="meter:e1-water")
        assert stored(store) == []
    finally:
        store.close()


def test_a_time_outside_the_window_says_what_it_was_read_as(tmp_path: Path) -> None:
    """The contract's own detail names epoch milliseconds; the report names the park's
    local time the cell was read as, the window, and the Excel serial a plain number is."""
    path = tmp_path / "late.csv"
    path.write_text(
        "meter,time,value,unit\n"
        "e1-water,2099-03-05 00:00,5,m3\n"  # beyond now + 24 h
        "e1-water,2026,5,m3\n"  # a year alone: Excel serial 2026, 1905-07-18
        "e1-water,9999-12-31T23:59:59-12:00,5,m3\n"  # past the years a datetime holds
    )
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'p.db'}"), REG)
    try:
        report = run(path, store, tmp_path)
        assert stored(store) == []
    finally:
        store.close()
    assert [(e.row, e.cell, e.reason) for e in report.errors] == [
        (2, "B2", "ts_out_of_range"),
        (3, "B3", "ts_out_of_range"),
        (4, "B4", "ts_out_of_range"),
    ]
    window = "a reading's time must lie between 2000-01-01 and 24 hours after now"
    late, year, far = (e.detail for e in report.errors)
    assert late == f"read as 2099-03-05 00:00 (Asia/Shanghai): {window}; check the date"
    assert year.startswith(f"read as 1905-07-18 00:00 (Asia/Shanghai): {window}")
    assert year.endswith("(a plain number is read as an Excel date serial: days since 1899-12-30)")
    assert far == f"{window}; check the date"


@pytest.mark.servers
def test_readings_the_store_refuses_are_dead_lettered(
    influxd: Any, influx_db: str, tmp_path: Path
) -> None:
    """influxd refuses a float where the shard already holds a string in that field: the
    reading goes to the dead-letter file with influxd's reason, the others are stored."""
    influxd.write(influx_db, f'water,meter=x value="text" {ms(2)}')
    store = open_store(parse_store_url(influxd.store_url(influx_db)), REG)
    try:
        rows = [
            ["e1-water", "2025-03-02 00:00", 112.5, "m3"],  # 2: water, the conflicting shard
            ["e1-gas", "2025-03-02 00:00", 5, "m3"],  # 3: energy: stored
        ]
        report = run(filled(tmp_path, rows), store, tmp_path)
    finally:
        store.close()
    assert (report.stored, report.rejected, report.dead_lettered, report.exit_code) == (1, 1, 1, 1)
    (error,) = report.errors
    assert (error.row, error.reason) == (2, "store_rejected")
    assert "field type conflict" in error.detail
    dead = DeadLetters(tmp_path / "dead.db")
    try:
        (letter,) = dead.latest()
    finally:
        dead.close()
    assert (letter.meter, letter.ts_ms, letter.value) == ("e1-water", ms(2), 112.5)
    assert "field type conflict" in letter.reason
    assert report.dead_letter_file == str(tmp_path / "dead.db")


def fresh_water(store: Store, day: int) -> float:
    start = ms(day)
    table = kpi_job(store, REG, start, start + DAY_MS, ["day"], write=False).table
    return table.value("enterprise", "e1", "day", start, "fresh_water_m3")


def test_imported_windows_are_dirty_until_a_follow_cycle_rerolls_them(
    store: Store, tmp_path: Path
) -> None:
    run(filled(tmp_path, ROWS), store, tmp_path)
    lo, hi = ms(1), ms(5)
    build.build(store, REG, lo, hi)
    assert source.coverage(store, REG, lo, hi).dirty == 0
    assert [fresh_water(store, d) for d in (1, 2, 3)] == pytest.approx([12.5, 17.5, 3.5])

    corrected = filled(tmp_path, [["e1-water", "2025-03-02 00:00", 110, "m3"]], "fix.xlsx")
    assert run(corrected, store, tmp_path).stored == 1
    assert source.coverage(store, REG, lo, hi).dirty > 0  # marked by the import's write

    follow_cycle(store, REG, Selection.check(REG, "day", "enterprise"), ms(19), ms(20), ms(20))
    assert source.coverage(store, REG, lo, hi).dirty == 0
    assert [fresh_water(store, d) for d in (1, 2, 3)] == pytest.approx([10.0, 20.0, 3.5])


def test_mqtt_readings_of_a_meter_read_by_hand_are_refused() -> None:
    payload = contract.encode(
        "gw1",
        1,
        NOW,
        [
            contract.Reading("e1-water", "fresh_water", ms(1), 100.0, "m3"),
            contract.Reading("e1-main", "electricity_import", ms(1), 5.0, "kWh"),
        ],
    )
    admitted = Validator(REG).admit("smartpark/v1/p1/gw1/telemetry", payload, now_ms=NOW)
    assert admitted.accepted == 1
    assert admitted.rejected == {"wrong_gateway": 1}
    assert "'e1-water' is read by hand (source manual), not by 'gw1'" in str(admitted.detail)


def test_a_large_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    """What an import keeps grows by the good readings' columns (24 bytes a row), not by
    the rows: 300,000 rows against 20,000, each in a process of its own, peak RSS."""

    def peak_rss_kib(rows: int) -> int:
        path = tmp_path / f"big-{rows}.csv"
        with open(path, "w") as f:
            f.write("meter,time,value,unit\n")
            start = dt.datetime(2024, 1, 1)
            for k in range(rows):
                f.write(f"e1-gas,{start + dt.timedelta(minutes=k):%Y-%m-%d %H:%M},{k / 2},m3\n")
        (tmp_path / "registry.toml").write_text(_toml(DOC))
        script = f"""
import resource
from smartpark.core import registry
from smartpark.ingest.importer import import_readings
class Counting:
    points = 0
    def write(self, readings):
        Counting.points += len(readings)
reg = registry.load({str(tmp_path / "registry.toml")!r})
report = import_readings({str(path)!r}, reg, Counting(), dead_letters={str(tmp_path)!r} + "/d.db",
                         now_ms={NOW})
assert report.stored == Counting.points == {rows}, report.as_dict()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return int(done.stdout.split()[-1])

    small, large = peak_rss_kib(20_000), peak_rss_kib(300_000)
    assert large - small < 40 * 1024, f"{small} KiB -> {large} KiB"


def _toml(doc: dict[str, Any]) -> str:
    """``doc`` (tables of tables of scalars) as TOML."""
    lines = []
    for section, tables in doc.items():
        for ident, table in tables.items():
            lines.append(f"[{section}.{ident}]")
            for key, value in table.items():
                lines.append(
                    f"{key} = {value!r}" if isinstance(value, int) else f'{key} = "{value}"'
                )
    return "\n".join(lines) + "\n"
