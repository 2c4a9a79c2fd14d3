"""Register readings read by hand, imported from a sheet (``smartpark import readings``,
docs/import.md).

A row (meter, time, value, unit) enters the way an MQTT reading enters (docs/ingest.md):

- the meter must be a registry meter (``bad_id``, ``unknown_meter``: the reasons of
  :mod:`smartpark.ingest.validation`) inside the importer's scope (``out_of_scope``); its
  quantity is the meter's;
- :func:`smartpark.core.contract.check_readings` then applies the wire contract to every
  row, as :func:`~smartpark.core.contract.decode` does to a payload's readings: the unit
  must be one the quantity accepts and is converted to the canonical unit, the value must
  be finite, the time inside the accepted window (2000-01-01 to 24 h after now);
- the good rows are written with ``Store.write`` in batches of :data:`BATCH` (each write
  durable when it returns, and marking its rollup windows dirty, as every ingest write
  does); readings the store refuses as bad data are bisected out and kept in the
  dead-letter file with the store's reason (:class:`~smartpark.ingest.deadletter.DeadLetters`),
  as ingest keeps them, and reported as ``store_rejected``.

What the sheet itself adds, each a rejected row with its cell and reason: an empty
required cell (``missing``), a formula (``formula``: never evaluated), an error cell, a
value that is not a number, a time in no accepted form (``bad_ts``; forms in
:func:`smartpark.core.sheets.cell_time`; a time without offset is local to the meter's
park), and the same meter and time on two rows (``duplicate``). Rows that pass are
stored, unless ``all_or_nothing`` and any row was rejected: then nothing is. A re-import
of the same sheet writes the same points (store key: meter and time), so it changes
nothing; a corrected value overwrites the old one.

Memory: the rows stream from the file; what is kept until the write is 24 bytes per good
row (meter code, time, value, row number; about 100 bytes at the peak, with the copies
made to sort and write them), at most :data:`~smartpark.core.sheets.MAX_ROWS` rows, and
the first :data:`~smartpark.core.sheets.MAX_LISTED_ERRORS` row errors.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Generic, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from smartpark.core import contract, quantities
from smartpark.core.errors import CellError, StoreError, StoreRejectedError
from smartpark.core.ids import is_valid_id
from smartpark.core.logs import get_logger
from smartpark.core.registry import Meter, Registry
from smartpark.core.scopes import option_scope
from smartpark.core.sheets import (
    MAX_ROWS,
    Cell,
    Field,
    ImportReport,
    Row,
    RowError,
    SheetReader,
    cell_number,
    cell_text,
    cell_time,
    in_column,
    local_ms,
    open_sheet,
    shown,
    unit_spelling,
)
from smartpark.core.template import Template, TemplateColumn
from smartpark.core.timestamps import format_rfc3339
from smartpark.ingest.deadletter import DeadLetters
from smartpark.ingest.validation import UNKNOWN_METER
from smartpark.store.base import ReadingColumns, Store

log = get_logger("ingest.importer")
_T = TypeVar("_T")
_K = TypeVar("_K")
_MEMO_MAX: Final = 65_536
_NOTHING: Final = object()

KIND: Final = "readings"
BATCH: Final = 10_000  # rows checked, and readings written, at a time
WRITE_ATTEMPTS: Final = 5  # a store that fails this often in a row stops the import
OUT_OF_SCOPE: Final = "out_of_scope"
DUPLICATE: Final = "duplicate"
STORE_REJECTED: Final = "store_rejected"

METER = Field(
    "meter",
    "meter",
    "表计编号",
    ("meter id", "meter_id", "表计", "表号", "仪表编号", "计量表", "计量器具编号"),
)
TIME = Field(
    "time", "time", "抄表时间", ("timestamp", "ts", "datetime", "date", "时间", "日期", "读数时间")
)
VALUE = Field(
    "value", "value", "读数", ("reading", "register", "数值", "表底数", "示数", "表示数", "止码")
)
UNIT = Field("unit", "unit", "单位", ("units", "计量单位"))
FIELDS: Final = (METER, TIME, VALUE, UNIT)

# The contract's field -> the sheet's column.
_COLUMN_OF: Final = {
    "meter": "meter",
    "quantity": "meter",
    "unit": "unit",
    "value": "value",
    "ts": "time",
    "reading": "value",
}


@dataclass
class _Good:
    """Readings that passed every check, in chunks, with their row numbers."""

    meter: list[npt.NDArray[np.int32]] = field(default_factory=list)
    ts: list[npt.NDArray[np.int64]] = field(default_factory=list)
    value: list[npt.NDArray[np.float64]] = field(default_factory=list)
    row: list[npt.NDArray[np.int64]] = field(default_factory=list)

    def columns(self) -> tuple[ReadingColumns, npt.NDArray[np.int64]]:
        """All of them as one set of columns (the chunks are let go)."""
        if not self.meter:
            return ReadingColumns.empty(), np.zeros(0, np.int64)
        out = (
            ReadingColumns(
                np.concatenate(self.meter), np.concatenate(self.ts), np.concatenate(self.value)
            ),
            np.concatenate(self.row),
        )
        self.meter, self.ts, self.value, self.row = [], [], [], []
        return out


def check_scope(registry: Registry, scope: str | None) -> frozenset[str] | None:
    """The meter ids ``scope`` (``enterprise:ID``, ``park:ID``, ``zone:ID``) lets an import
    write; None: every meter. :class:`OptionError` for a malformed or unknown scope."""
    visible = option_scope(registry, scope)
    return None if visible is None else visible.ids["meter"]


def unit_of(text: str, quantity: str) -> str:
    """The contract's spelling of the unit ``text`` for ``quantity``
    (:func:`~smartpark.core.sheets.unit_spelling`); otherwise ``text`` unchanged (the
    contract then rejects it, naming the accepted units)."""
    return unit_spelling(text, tuple(quantities.BY_NAME[quantity].units))


class _Rows:
    """Turns sheet rows into contract readings, chunk by chunk, and keeps the good ones."""

    def __init__(
        self,
        registry: Registry,
        reader: SheetReader,
        report: ImportReport,
        allowed: frozenset[str] | None,
        now_ms: int | None,
    ) -> None:
        self.reg = registry
        self.reader = reader
        self.report = report
        self.allowed = allowed
        self.now_ms = now_ms
        self.good = _Good()
        self.zones: dict[str, str] = {}
        self.local_zones: set[str] = set()
        self._readings: list[contract.Reading] = []
        self._rows: list[Row] = []
        # Sheets repeat their meters, units and reading times row after row.
        self._meter = _Memo(self._check_meter)
        self._time = _Memo(self._check_time)
        self._unit = _Memo(self._check_unit)

    def zone_of(self, meter: str) -> str:
        """The time zone of ``meter``'s park (its local times are read there)."""
        zone = self.zones.get(meter)
        if zone is None:
            zone = self.zones[meter] = self.reg.parks[self.reg.park_of_meter(meter)].timezone
        return zone

    def take(self, row: Row) -> None:
        try:
            reading = self._reading(row)
        except CellError as exc:
            self.reject(row, exc.column, exc.reason, exc.detail)
            return
        self._readings.append(reading)
        self._rows.append(row)
        if len(self._readings) >= BATCH:
            self.flush()

    def _reading(self, row: Row) -> contract.Reading:
        cells = row.cells
        meter = self._meter(cells["meter"])
        ts = self._time((cells["time"], self.zone_of(meter.id)))
        raw = cells["value"]
        value = raw if type(raw) is float else in_column(cell_number, "value", raw)
        unit = self._unit((cells["unit"], meter.quantity))
        return contract.Reading(meter.id, meter.quantity, ts, value, unit)

    def _check_meter(self, raw: Cell) -> Meter:
        meter_id = in_column(cell_text, "meter", raw)
        if not is_valid_id(meter_id):
            raise CellError("bad_id", f"invalid meter id {shown(meter_id, 40)!r}", "meter")
        meter = self.reg.meters.get(meter_id)
        if meter is None:
            raise CellError(
                UNKNOWN_METER,
                f"meter {meter_id!r} is not in the registry {self.reg.source}: check the id "
                "(`smartpark import template readings` lists them)",
                "meter",
            )
        if self.allowed is not None and meter_id not in self.allowed:
            raise CellError(
                OUT_OF_SCOPE,
                f"meter {meter_id!r} (enterprise {meter.enterprise}) is outside this import's "
                "--scope: import it with a scope that covers it",
                "meter",
            )
        return meter

    def _check_time(self, key: tuple[Cell, str]) -> int:
        raw, zone = key
        when = in_column(lambda v: cell_time(v, self.reader.epoch), "time", raw)
        if isinstance(when, int):
            return when
        self.local_zones.add(zone)
        return in_column(lambda _: local_ms(when, ZoneInfo(zone)), "time", raw)

    def _check_unit(self, key: tuple[Cell, str]) -> str:
        raw, quantity = key
        return unit_of(in_column(cell_text, "unit", raw), quantity)

    def flush(self) -> None:
        """The wire contract's checks on the pending rows; keep what passes."""
        readings, rows = self._readings, self._rows
        self._readings, self._rows = [], []
        if not readings:
            return
        cols = contract.check_readings(readings, now=self.now_ms)
        ok = np.ones(len(readings), np.bool_)
        for rej in cols.rejects:
            ok[rej.index] = False
            column = _COLUMN_OF.get(rej.field, "value")
            detail = rej.detail
            if rej.reason == contract.BAD_UNIT:
                units = quantities.BY_NAME[readings[rej.index].quantity].units
                detail += f"; give one of {', '.join(units)}"
            elif rej.reason == contract.TS_OUT_OF_RANGE:
                reading = readings[rej.index]
                detail = self._out_of_range(reading, rows[rej.index].cells.get("time"))
            self.reject(rows[rej.index], column, rej.reason, detail)
        codes = np.array([self.reg.meter_code[m] for m in cols.meters], np.int32)
        self.good.meter.append(codes[cols.meter_idx] if len(cols) else np.zeros(0, np.int32))
        self.good.ts.append(cols.ts)
        self.good.value.append(cols.value)
        self.good.row.append(np.array([r.number for r in rows], np.int64)[ok])

    def _out_of_range(self, reading: contract.Reading, raw: Cell) -> str:
        """What to fix in a time outside the contract's window, said as the park's local
        time (the contract's own detail names epoch milliseconds)."""
        zone = self.zone_of(reading.meter)
        try:
            when = dt.datetime.fromtimestamp(int(reading.ts) / 1000, ZoneInfo(zone))
            read_as = f"read as {when:%Y-%m-%d %H:%M} ({zone}): "
        except (OverflowError, ValueError, OSError):  # beyond the years datetime holds
            read_as = ""
        detail = (
            f"{read_as}a reading's time must lie between 2000-01-01 and 24 hours after now; "
            "check the date"
        )
        if (isinstance(raw, int | float) and not isinstance(raw, bool)) or _is_serial(raw):
            detail += (
                " (a plain number is read as an Excel date serial: days since "
                f"{self.reader.epoch:%Y-%m-%d})"
            )
        return detail

    def reject(self, row: Row, column: str, reason: str, detail: str) -> None:
        self.report.reject(
            RowError(
                row=row.number,
                column=column,
                cell=self.reader.cell_ref(column, row.number),
                value=shown(row.cells.get(column)),
                reason=reason,
                detail=detail,
            )
        )


class _Memo(Generic[_K, _T]):
    """A pure check of a cell, its results remembered (an error as its reason, detail
    and column); forgets everything past :data:`_MEMO_MAX` entries (bounded memory)."""

    def __init__(self, check: Callable[[_K], _T]) -> None:
        self._check = check
        self._seen: dict[_K, _T] = {}
        self._failed: dict[_K, tuple[str, str, str]] = {}

    def __call__(self, key: _K) -> _T:
        hit = self._seen.get(key, _NOTHING)
        if hit is not _NOTHING:
            return hit  # type: ignore[return-value]
        failed = self._failed.get(key)
        if failed is not None:
            raise CellError(*failed)
        if len(self._seen) + len(self._failed) >= _MEMO_MAX:
            self._seen.clear()
            self._failed.clear()
        try:
            value = self._seen[key] = self._check(key)
        except CellError as exc:
            self._failed[key] = (exc.reason, exc.detail, exc.column)
            raise
        return value


def _is_serial(value: Cell) -> bool:
    """Text holding a plain number (``cell_time`` reads it as an Excel date serial)."""
    if not isinstance(value, str):
        return False
    try:
        cell_number(value)
    except CellError:
        return False
    return True


def import_readings(
    path: str | Path,
    registry: Registry,
    store: Store,
    *,
    dead_letters: str | Path,
    scope: str | None = None,
    all_or_nothing: bool = False,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    now_ms: int | None = None,
) -> ImportReport:
    """Import the register readings of ``path`` (CSV or .xlsx) into ``store``; see the
    module docstring. A file that cannot be read as a sheet is a
    :class:`~smartpark.core.errors.SheetError` (nothing stored); a store that keeps
    failing is a :class:`~smartpark.core.errors.StoreError` naming how much was stored."""
    allowed = check_scope(registry, scope)
    report = ImportReport(KIND, str(path), all_or_nothing=all_or_nothing)
    started = time.monotonic()
    with open_sheet(path, FIELDS, sheet=sheet, max_rows=max_rows) as reader:
        report.found(reader)
        rows = _Rows(registry, reader, report, allowed, now_ms)
        for row in reader.rows():
            report.rows += 1
            rows.take(row)
        rows.flush()
    good, row_of = rows.good.columns()
    good, row_of = _drop_duplicates(good, row_of, registry, rows)
    if rows.local_zones:
        report.notes.append(
            "times without an offset were read as local time of the meter's park: "
            + ", ".join(sorted(rows.local_zones))
        )
    if report.rows == 0:
        report.notes.append("the sheet has a header but no data rows: nothing to store")
    elif all_or_nothing and report.rejected:
        report.notes.append(
            f"nothing stored: --all-or-nothing and {report.rejected:,} row(s) rejected; fix "
            "them and import the file again"
        )
    else:
        _store(good, row_of, registry, store, Path(dead_letters), report)
    report.errors.sort(key=lambda e: e.row)
    log.info(
        "sheet_imported",
        kind=KIND,
        file=str(path),
        rows=report.rows,
        stored=report.stored,
        rejected=report.rejected,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


def _drop_duplicates(
    good: ReadingColumns, row_of: npt.NDArray[np.int64], registry: Registry, rows: _Rows
) -> tuple[ReadingColumns, npt.NDArray[np.int64]]:
    """Reject each row that repeats an earlier row's meter and time (one point in the store:
    which value is meant?)."""
    if len(good) < 2:
        return good, row_of
    order = np.lexsort((row_of, good.ts, good.meter))
    meter, ts = good.meter[order], good.ts[order]
    repeat = np.zeros(len(good), np.bool_)
    repeat[1:] = (meter[1:] == meter[:-1]) & (ts[1:] == ts[:-1])
    if not repeat.any():
        return good, row_of
    # each repeat's run starts at the last position that is no repeat
    run_start = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(good))))
    first_row = row_of[order][run_start]
    for k in np.flatnonzero(repeat).tolist():
        i = int(order[k])
        number = int(row_of[i])
        meter_id = registry.meter_ids[int(good.meter[i])]
        rows.report.reject(
            RowError(
                row=number,
                column="time",
                cell=rows.reader.cell_ref("time", number),
                value=f"{meter_id} @ {format_rfc3339(int(good.ts[i]))}",
                reason=DUPLICATE,
                detail=f"meter {meter_id!r} has a reading at this time in row "
                f"{int(first_row[k])} too: keep one of the two rows",
            )
        )
    keep = np.ones(len(good), np.bool_)
    keep[order[repeat]] = False
    return good.take(keep), row_of[keep]


def _store(
    good: ReadingColumns,
    row_of: npt.NDArray[np.int64],
    registry: Registry,
    store: Store,
    dead_path: Path,
    report: ImportReport,
) -> None:
    """Write ``good`` time-major in batches; bisect what the store refuses into the
    dead-letter file."""
    order = np.lexsort((good.meter, good.ts))
    good, row_of = good.take(order), row_of[order]
    writer = _Writer(store, registry, dead_path, report, len(good))
    try:
        for lo in range(0, len(good), BATCH):
            part = np.arange(lo, min(lo + BATCH, len(good)))
            writer.write(good.take(part), row_of[part])
    finally:
        writer.close()


class _Writer:
    def __init__(
        self, store: Store, registry: Registry, dead_path: Path, report: ImportReport, total: int
    ) -> None:
        self.store = store
        self.registry = registry
        self.dead_path = dead_path
        self.report = report
        self.total = total
        self._dead: DeadLetters | None = None

    def write(self, readings: ReadingColumns, rows: npt.NDArray[np.int64]) -> None:
        attempt = 0
        while True:
            try:
                self.store.write(readings)
            except StoreRejectedError as exc:
                self._bisect(readings, rows, exc)
                return
            except StoreError as exc:
                attempt += 1
                if attempt >= WRITE_ATTEMPTS:
                    raise StoreError(
                        f"the store failed {attempt} times in a row ({exc}); "
                        f"{self.report.stored:,} of {self.total:,} readings were stored: run "
                        "the same import again when the store is back (a re-import "
                        "overwrites the same points)"
                    ) from exc
                delay = min(8.0, 0.5 * 2 ** (attempt - 1))
                log.warning("store_write_failed", attempt=attempt, error=str(exc)[:300])
                time.sleep(delay)
                continue
            self.report.stored += len(readings)
            return

    def _bisect(
        self, readings: ReadingColumns, rows: npt.NDArray[np.int64], exc: StoreRejectedError
    ) -> None:
        n = len(readings)
        if n == 1:
            self._dead_letter(readings, int(rows[0]), str(exc))
            return
        half = np.arange(n) < n // 2
        self.write(readings.take(half), rows[half])
        self.write(readings.take(~half), rows[~half])

    def _dead_letter(self, reading: ReadingColumns, row: int, reason: str) -> None:
        if self._dead is None:
            self._dead = DeadLetters(self.dead_path, self.registry)
            self.report.dead_letter_file = str(self.dead_path)
        self._dead.add(reading, reason)
        self.report.dead_lettered += 1
        meter_id = self.registry.meter_ids[int(reading.meter[0])]
        self.report.reject(
            RowError(
                row=row,
                column="value",
                cell=f"row {row}",
                value=f"{meter_id} @ {format_rfc3339(int(reading.ts[0]))} = {reading.value[0]!r}",
                reason=STORE_REJECTED,
                detail=f"the store refused it ({shown(reason, 200)}); kept in the dead-letter "
                f"file {self.dead_path} (`smartpark ingest dead-letters --file ...`)",
            )
        )
        log.warning("dead_lettered", points=1, reason=reason[:300], row=row)

    def close(self) -> None:
        if self._dead is not None:
            self._dead.close()


# -- the template -------------------------------------------------------------------------


def _meters_for(registry: Registry, allowed: frozenset[str] | None) -> list[str]:
    """Meters a template offers: those read by hand first, then the others, each by id."""
    ids = [m for m in registry.meter_ids if allowed is None or m in allowed]
    return sorted(ids, key=lambda m: (not registry.meters[m].manual, m))


def readings_template(registry: Registry, scope: str | None = None) -> Template:
    """The fill-in workbook of ``smartpark import template readings``."""
    meters = _meters_for(registry, check_scope(registry, scope))
    units: dict[str, None] = {}
    reference: list[list[str]] = []
    for m in meters:
        meter = registry.meters[m]
        q = quantities.BY_NAME[meter.quantity]
        units.update(dict.fromkeys(q.units))
        park = registry.parks[registry.park_of_meter(m)]
        reference.append(
            [
                m,
                meter.name,
                meter.enterprise,
                park.id,
                q.name,
                q.canonical_unit,
                ", ".join(q.units),
                "手工 by hand" if meter.manual else f"网关 gateway {meter.gateway}",
                park.timezone,
            ]
        )
    zones = sorted({registry.parks[registry.park_of_meter(m)].timezone for m in meters})
    lines = [
        "手工抄表读数导入模板 · Register readings read by hand",
        "",
        "每行一个读数：表计编号、抄表时间、表底读数（累计值，不是用量）、单位。"
        "One reading per row: the meter, when it was read, the register value (the "
        "cumulative reading, not a consumption) and its unit.",
        "时间 Time: 2026-03-01 08:00 (本地时间：该表所在园区的时区 local time of the meter's "
        f"park: {', '.join(zones) or 'Asia/Shanghai'}), 日期单元格 a date cell, or RFC 3339 "
        "with an offset (2026-03-01T08:00:00+08:00).",
        "单位 Unit: 从列表中选择该表计量的单位（见“表计 meters”表）；数值会换算为标准单位。"
        "Choose a unit the meter's quantity accepts (sheet 'meters'); values are converted "
        "to its canonical unit.",
        "不要使用公式、合并单元格。No formulas (enter values), no merged cells.",
        "同一表计同一时间只填一行；重复导入同一文件不会重复计数。One row per meter and time; "
        "importing the same file again changes nothing, a corrected value replaces the old one.",
        "导入 Import: smartpark import readings FILE.xlsx --registry registry.toml --store URL",
    ]
    return Template(
        sheet="读数 readings",
        columns=(
            TemplateColumn(
                METER, 28, "meters", prompt="从列表选择表计 Choose the meter from the list"
            ),
            TemplateColumn(
                TIME,
                20,
                num_format="yyyy-mm-dd hh:mm",
                prompt="2026-03-01 08:00 本地时间 local time (the meter's park)",
            ),
            TemplateColumn(VALUE, 16, prompt="表底累计读数 the register value (cumulative)"),
            TemplateColumn(UNIT, 12, "units", prompt="单位 unit, e.g. kWh, m3"),
        ),
        lists={"meters": meters, "units": list(units)},
        instructions=lines,
        reference_sheet="表计 meters",
        reference_header=(
            "表计编号 meter",
            "名称 name",
            "企业 enterprise",
            "园区 park",
            "计量 quantity",
            "标准单位 canonical unit",
            "可用单位 accepted units",
            "抄读 read by",
            "时区 time zone",
        ),
        reference_rows=reference,
    )
