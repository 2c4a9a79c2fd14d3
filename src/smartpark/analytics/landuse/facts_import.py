"""Annual facts imported from a sheet into a zone's facts file (``smartpark import facts``,
docs/import.md).

Statistics offices collect the land-use facts (tax, revenue, value added, employees, R&D,
pollutant, profit) per enterprise and year, often as .xlsx, with Chinese headers. This
module reads such a sheet on the shared reader (:func:`smartpark.core.sheets.open_sheet`,
headers in English or Chinese) and merges its good rows into the facts CSV that
:mod:`smartpark.analytics.landuse.facts` loads:

- each row passes the facts file's own rules (:class:`~smartpark.analytics.landuse.facts.
  RowCheck`: a whole year, an enterprise of the registry in the zone, amounts empty or
  finite and >= 0 but ``profit``, one row per year and enterprise), plus what only a
  sheet needs: a cell it can read as a number (no formula, no error cell, no text), an
  enterprise inside ``scope``, and a plausible year (:data:`FIRST_YEAR` to the current
  year in the zone's time zone: facts are for a year that has begun). The first problem
  of a row rejects it, with its row, cell, column and reason;
- the good rows replace the file's rows of the same (year, enterprise) where they stand,
  and the others are added at the end, ordered by year and enterprise. A column the sheet
  does not have (only ``profit`` may be left out) keeps the file's cells; every other
  column is the sheet's, an empty cell meaning missing. Rows the sheet does not name are
  kept as they are. Importing the same sheet again leaves the file byte for byte as it
  was (it is not even rewritten), a corrected sheet replaces its rows;
- the merged text is loaded by the facts loader before it is written, and written whole
  (a temporary file beside it, fsynced, then ``os.replace``): a reader sees the old file
  or the new one, never half of one. The file is refused whole, and nothing imported,
  when the loader refuses it as it is; nothing is written when ``all_or_nothing`` and
  any row was rejected; nothing of a rejected row is ever written.

Facts are small (enterprises × years), so the good rows are kept until the merge.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import os
import re
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

from smartpark.analytics.landuse.facts import (
    FIELDS,
    HEADER,
    UNKNOWN_ENTERPRISE,
    FactsRow,
    Problem,
    RowCheck,
    Value,
    facts_path,
    parse,
    zone_enterprises,
    zone_of,
)
from smartpark.core.errors import (
    AnalyticsError,
    CellError,
    ConfigError,
    OptionError,
    OutputError,
)
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.core.scopes import option_scope, parse_scope
from smartpark.core.sheets import (
    MAX_ROWS,
    Cell,
    Field,
    ImportReport,
    MergeReport,
    Row,
    RowError,
    SheetReader,
    cell_number,
    cell_text,
    is_blank,
    open_sheet,
    shown,
)
from smartpark.core.template import Template, TemplateColumn

log = get_logger("analytics.landuse.facts_import")

KIND: Final = "facts"
FIRST_YEAR: Final = 2000  # the first plausible year of a sheet (the file takes 1900 on)
OUT_OF_SCOPE: Final = "out_of_scope"

YEAR = Field("year", "year", "年份", ("年度", "统计年度", "年"))
ENTERPRISE = Field(
    "enterprise",
    "enterprise",
    "企业编号",
    ("enterprise id", "enterprise_id", "企业代码", "企业id", "企业 id"),
)
TAX = Field(
    "tax",
    "tax",
    "税收",
    ("taxes", "tax paid", "税收收入", "税收总额", "实缴税金", "实缴税收", "税金", "纳税额"),
)
REVENUE = Field(
    "revenue", "revenue", "营业收入", ("sales", "turnover", "主营业务收入", "销售收入", "营收")
)
VALUE_ADDED = Field("value_added", "value_added", "工业增加值", ("value added", "va", "增加值"))
EMPLOYEES = Field(
    "employees",
    "employees",
    "从业人员",
    ("headcount", "staff", "从业人员数", "从业人员平均人数", "年平均职工人数", "职工人数"),
)
RD_SPEND = Field(
    "rd_spend",
    "rd_spend",
    "研发投入",
    ("r&d", "rd", "r&d spend", "研发经费", "研发经费支出", "研发费用"),
)
POLLUTANT = Field(
    "pollutant_t",
    "pollutant_t",
    "主要污染物排放量",
    ("pollutant", "pollutants", "污染物排放量", "排污量"),
)
PROFIT = Field("profit", "profit", "利润", ("profits", "利润总额"), required=False)
SHEET_FIELDS: Final = (
    YEAR,
    ENTERPRISE,
    TAX,
    REVENUE,
    VALUE_ADDED,
    EMPLOYEES,
    RD_SPEND,
    POLLUTANT,
    PROFIT,
)
# The unit of each amount, as the template's headers and the docs give it.
UNITS: Final[Mapping[str, tuple[str, str]]] = {  # field -> (Chinese, English)
    "tax": ("万元", "10k CNY"),
    "revenue": ("万元", "10k CNY"),
    "value_added": ("万元", "10k CNY"),
    "employees": ("人", "persons, average headcount"),
    "rd_spend": ("万元", "10k CNY"),
    "pollutant_t": ("吨", "t"),
    "profit": ("万元", "10k CNY, a loss negative"),
}
_YEAR_TEXT = re.compile(r"(\d{4})\s*年度?")  # 2025年, 2025年度


@dataclass
class FactsImportReport(MergeReport):
    """The report of a facts import (:class:`~smartpark.core.sheets.MergeReport`):
    merged into the facts file."""

    FILE_FIELD: ClassVar[str] = "facts_file"
    facts_file: str | None = None


def import_zone(registry: Registry, zone: str | None, scope: str | None) -> str:
    """The zone an import writes: ``zone``, else the zone of ``scope``, else the
    registry's only zone; :class:`OptionError` when that is no zone of the registry."""
    if zone is None and scope is not None:
        option_scope(registry, scope)  # a malformed or unknown scope, said as such
        kind, ident = parse_scope(scope)
        if kind == "zone":
            zone = ident
        elif kind == "park":
            zone = registry.parks[ident].zone
        else:
            zone = registry.parks[registry.enterprises[ident].park].zone
    try:
        return zone_of(registry, zone)
    except AnalyticsError as exc:
        raise OptionError(f"--zone: {exc}") from None


def facts_target(registry: Registry, zone: str, facts: str | Path | None) -> Path:
    """The facts file an import merges into: ``facts``, else the one the zone names."""
    if facts is not None:
        return Path(facts)
    try:
        return facts_path(registry, zone)
    except AnalyticsError as exc:
        raise OptionError(f"--facts: {exc}") from None


def import_facts(
    path: str | Path,
    registry: Registry,
    *,
    facts: str | Path | None = None,
    zone: str | None = None,
    scope: str | None = None,
    all_or_nothing: bool = False,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    today: dt.date | None = None,
) -> FactsImportReport:
    """Import the annual facts of ``path`` (CSV or .xlsx) into the zone's facts file (or
    ``facts``); see the module docstring. ``today`` fixes the current year (default: the
    clock, in the zone's time zone). :class:`OptionError` for a bad zone or scope; a file
    that cannot be read as a sheet is a :class:`~smartpark.core.errors.SheetError`, a
    facts file the loader refuses a :class:`~smartpark.core.errors.ConfigError`
    (nothing written either way)."""
    zone_id = import_zone(registry, zone, scope)
    visible = option_scope(registry, scope)
    allowed = None if visible is None else visible.ids["enterprise"]
    target = facts_target(registry, zone_id, facts)
    before = _read(target)
    existing = FactsText.of(before, target, registry, zone_id)  # refused before the sheet
    if today is None:
        today = dt.datetime.now(ZoneInfo(registry.zones[zone_id].timezone)).date()
    report = FactsImportReport(
        KIND, str(path), all_or_nothing=all_or_nothing, facts_file=str(target)
    )
    started = time.monotonic()
    check = RowCheck(registry, zone_id, years=(FIRST_YEAR, today.year), place="row")
    good: list[FactsRow] = []
    with open_sheet(path, SHEET_FIELDS, sheet=sheet, max_rows=max_rows) as reader:
        report.found(reader)
        for row in reader.rows():
            report.rows += 1
            taken = _take(row, check, registry, allowed, reader, report)
            if taken is not None:
                good.append(taken)
        columns = frozenset(report.columns)
    if report.rows == 0:
        report.notes.append("the sheet has a header but no data rows: nothing to write")
    elif all_or_nothing and report.rejected:
        report.notes.append(
            f"nothing written: --all-or-nothing and {report.rejected:,} row(s) rejected; fix "
            "them and import the file again"
        )
    elif good:
        _merge_and_write(existing, good, columns, target, before, registry, zone_id, report)
    else:
        report.notes.append(f"nothing written: every row was rejected ({target} as it was)")
    report.errors.sort(key=lambda e: e.row)
    log.info(
        "sheet_imported",
        kind=KIND,
        file=str(path),
        facts=str(target),
        rows=report.rows,
        stored=report.stored,
        rejected=report.rejected,
        written=report.written,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


# -- one row ------------------------------------------------------------------------------


def _take(
    row: Row,
    check: RowCheck,
    registry: Registry,
    allowed: frozenset[str] | None,
    reader: SheetReader,
    report: ImportReport,
) -> FactsRow | None:
    """Row ``row`` as a facts row, or None with its first problem in ``report``."""
    cells = {name: _value(name, cell) for name, cell in row.cells.items()}
    enterprise = cells.get("enterprise")
    if (
        allowed is not None
        and isinstance(enterprise, str)
        and enterprise in registry.enterprises
        and enterprise not in allowed
    ):
        problem = Problem(
            "enterprise",
            OUT_OF_SCOPE,
            f"enterprise {enterprise!r} (park {registry.enterprises[enterprise].park}) is "
            "outside this import's --scope: import it with a scope that covers it",
        )
        _reject(row, problem, reader, report)
        return None
    good, problems = check(cells, row.number)
    if problems:
        _reject(row, problems[0], reader, report)
        return None
    return good


def _value(name: str, cell: Cell) -> Value:
    """A sheet's cell as the facts rules take it: text for the enterprise, a number for
    the year and amounts, ``""`` when empty, or why it cannot be read."""
    try:
        if is_blank(cell):
            return ""
        if name == "enterprise":
            return cell_text(cell)
        if name == "year" and isinstance(cell, str):
            match = _YEAR_TEXT.fullmatch(cell.strip())
            if match:
                return float(match.group(1))
        return cell_number(cell)
    except CellError as exc:
        return Problem(name, exc.reason, exc.detail)


def _reject(row: Row, problem: Problem, reader: SheetReader, report: ImportReport) -> None:
    column = problem.column or "enterprise"  # a duplicate: the row's year and enterprise
    detail = problem.detail
    if problem.reason == UNKNOWN_ENTERPRISE:
        detail += ": check the id (`smartpark import template facts` lists them)"
    elif not problem.column:
        detail += ": keep one of the two rows"
    value = shown(row.cells.get(column))
    if not problem.column:
        value = f"{shown(row.cells.get('year'))} {shown(row.cells.get('enterprise'))}"
    report.reject(
        RowError(
            row=row.number,
            column=column,
            cell=reader.cell_ref(column, row.number),
            value=value,
            reason=problem.reason,
            detail=detail,
        )
    )


# -- the merge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FactsText:
    """A facts file as CSV rows, checked by the loader: its header, its rows (blank ones
    kept), the newline it uses and whether it starts with a BOM. An absent or empty file
    is the bare header."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    newline: str = "\n"
    bom: bool = False

    @classmethod
    def of(cls, data: bytes | None, path: Path, registry: Registry, zone: str) -> FactsText:
        if data is None:
            return cls(HEADER, ())
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(str(path), [f"cannot read facts file: {exc}"]) from None
        bom = text.startswith("\ufeff")
        text = text.removeprefix("\ufeff")
        if not text.strip():
            return cls(HEADER, (), bom=bom)
        parse(text, registry, zone, source=str(path))  # the loader's verdict, every problem
        rows = [tuple(r) for r in csv.reader(io.StringIO(text))]
        newline = "\r\n" if "\r\n" in text else "\n"
        return cls(rows[0], tuple(rows[1:]), newline, bom)

    def columns(self) -> dict[str, int]:
        return {name.strip(): i for i, name in enumerate(self.header)}

    def render(self) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=self.newline)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return (("\ufeff" if self.bom else "") + out.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class Merged:
    """The facts file after a merge, and what became of the imported rows."""

    data: bytes
    added: int
    replaced: int
    unchanged: int


def merge(existing: FactsText, rows: Sequence[FactsRow], columns: Iterable[str]) -> Merged:
    """``rows`` merged into ``existing``: each replaces the row of its (year, enterprise)
    in place, in the sheet's ``columns`` (a column the sheet lacks keeps the file's
    cell), the others added at the end by year and enterprise."""
    sheet_columns = set(columns)
    header = existing.header
    position = existing.columns()
    body = [list(r) for r in existing.rows]
    needs_profit = any(not math.isnan(r.values.get("profit", math.nan)) for r in rows)
    if "profit" not in position and needs_profit:
        header = (*header, "profit")
        position["profit"] = len(header) - 1
        body = [[*r, ""] if _is_data(r) else r for r in body]
    width = len(header)
    incoming = {(r.year, r.enterprise): r for r in rows}
    replaced = unchanged = 0
    for i, cells in enumerate(body):
        if not _is_data(cells) or len(cells) != width:
            continue
        key = (int(cells[position["year"]].strip()), cells[position["enterprise"]].strip())
        new = incoming.pop(key, None)
        if new is None:
            continue
        updated = _cells(new, position, width, sheet_columns, cells)
        if updated == cells:
            unchanged += 1
        else:
            replaced += 1
            body[i] = updated
    added = sorted(incoming.values(), key=lambda r: (r.year, r.enterprise))
    body += [_cells(r, position, width, sheet_columns, [""] * width) for r in added]
    merged = replace(existing, header=header, rows=tuple(tuple(r) for r in body))
    return Merged(merged.render(), len(added), replaced, unchanged)


def _is_data(cells: Sequence[str]) -> bool:
    return any(c.strip() for c in cells)


def _cells(
    row: FactsRow,
    position: Mapping[str, int],
    width: int,
    sheet_columns: set[str],
    old: Sequence[str],
) -> list[str]:
    """The file's cells of ``row``: the sheet's columns from the sheet, others from
    ``old``."""
    cells = list(old) + [""] * (width - len(old))
    cells[position["year"]] = str(row.year)
    cells[position["enterprise"]] = row.enterprise
    for name in FIELDS:
        if name in position and name in sheet_columns:
            cells[position[name]] = number_text(row.values.get(name, math.nan))
    return cells


def number_text(value: float) -> str:
    """A number as the facts file holds it: ``""`` for missing, a whole number without
    ``.0``, otherwise the shortest text that reads back as the same float."""
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _merge_and_write(
    existing: FactsText,
    good: Sequence[FactsRow],
    columns: frozenset[str],
    target: Path,
    before: bytes | None,
    registry: Registry,
    zone: str,
    report: FactsImportReport,
) -> None:
    merged = merge(existing, good, columns)
    try:  # the loader must take what is written (it does: the same rules, checked again)
        parse(merged.data.decode("utf-8-sig"), registry, zone, source=str(target))
    except ConfigError as exc:
        raise AnalyticsError(
            f"{target}: the merged facts would not load ({'; '.join(exc.problems[:3])}); "
            "nothing was written"
        ) from None
    report.added, report.replaced, report.unchanged = (
        merged.added,
        merged.replaced,
        merged.unchanged,
    )
    report.stored = merged.added + merged.replaced + merged.unchanged
    if merged.data == before:
        report.notes.append(
            f"facts file {target}: unchanged, every row was already there as in the sheet"
        )
        return
    if _read(target) != before:
        raise AnalyticsError(
            f"{target} changed while the sheet was read (another import or an editor?); "
            "nothing was written: import the sheet again"
        )
    try:
        _write_atomic(target, merged.data)
    except OSError as exc:
        raise OutputError(
            f"{target}: cannot write the facts file: {exc.strerror or exc} (nothing was written)"
        ) from None
    report.written = True
    made = "created" if before is None else "updated"
    report.notes.append(
        f"facts file {target} {made}: {merged.added:,} row(s) added, {merged.replaced:,} "
        f"replaced, {merged.unchanged:,} unchanged"
    )


def _read(path: Path) -> bytes | None:
    """The file's bytes, None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read facts file: {exc}"]) from None


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` as ``path``, replaced whole: a temporary file beside it, fsynced, renamed
    over it (keeping its permissions), the folder fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


# -- the template -------------------------------------------------------------------------


def facts_template(
    registry: Registry, scope: str | None = None, zone: str | None = None
) -> Template:
    """The fill-in workbook of ``smartpark import template facts``: the zone's
    enterprises (within ``scope``) as a drop-down, headers in both languages with units."""
    zone_id = import_zone(registry, zone, scope)
    visible = option_scope(registry, scope)
    enterprises = [
        e
        for e in zone_enterprises(registry, zone_id)
        if visible is None or e in visible.ids["enterprise"]
    ]
    reference = []
    for e in enterprises:
        ent = registry.enterprises[e]
        land_mu = "" if ent.land_m2 is None else number_text(round(ent.land_m2 * 15 / 10_000, 2))
        reference.append(
            [
                e,
                ent.name,
                ent.name_zh,
                ent.park,
                ent.scale or "",
                land_mu,
                "是 yes" if ent.utility else "",
            ]
        )
    zone_name = registry.zones[zone_id].name
    lines = [
        f"亩均评价年度数据导入模板 · Annual land-use facts per enterprise · {zone_name}",
        "",
        "每行一家企业一年的数据：年份、企业编号（从列表选择）、税收、营业收入、工业增加值、"
        "从业人员、研发投入、主要污染物排放量、利润。One row per enterprise and year: the "
        "year, the enterprise (choose from the list), tax, revenue, value added, employees, "
        "R&D spend, pollutant emissions and profit.",
        "单位 Units: 金额为万元 amounts in 万元 (10k CNY); 从业人员为年平均人数 employees as "
        "the average headcount; 污染物为吨 pollutant in tonnes (t).",
        "空单元格表示缺失（不是零）；只有利润可以为负（亏损）。An empty cell is missing, "
        "never zero; only profit may be negative (a loss).",
        f"年份 Year: {FIRST_YEAR} 至今年 to the current year, e.g. 2025.",
        "不要使用公式、合并单元格。No formulas (enter values), no merged cells.",
        "同一企业同一年只填一行；导入会替换年度数据文件中同一企业同一年的行，重复导入同一文件不会"
        "改变任何内容。One row per enterprise and year; an import replaces the facts file's "
        "row of the same enterprise and year, and importing the same file again changes "
        "nothing.",
        "导入 Import: smartpark import facts FILE.xlsx --registry registry.toml",
    ]

    def column(
        field: Field,
        width: float,
        prompt: str,
        choices: str | None = None,
        num_format: str | None = None,
    ) -> TemplateColumn:
        unit = UNITS.get(field.name)  # in the header: 税收 tax (万元)
        shown_field = field if unit is None else replace(field, en=f"{field.en} ({unit[0]})")
        return TemplateColumn(shown_field, width, choices, num_format, prompt)

    return Template(
        sheet="年度数据 facts",
        columns=(
            column(YEAR, 12, "年份 the year, e.g. 2025", num_format="0"),
            column(ENTERPRISE, 24, "从列表选择企业 Choose the enterprise", choices="enterprises"),
            *(
                column(f, 18, f"{f.zh} {f.en}: {UNITS[f.name][0]} ({UNITS[f.name][1]})")
                for f in (TAX, REVENUE, VALUE_ADDED, EMPLOYEES, RD_SPEND, POLLUTANT, PROFIT)
            ),
        ),
        lists={"enterprises": enterprises},
        instructions=lines,
        reference_sheet="企业 enterprises",
        reference_header=(
            "企业编号 enterprise",
            "名称 name",
            "中文名称 name (zh)",
            "园区 park",
            "规模 scale",
            "用地 land [亩 mu]",
            "公用设施 utility",
        ),
        reference_rows=reference,
    )
