"""Product output imported from a sheet (``smartpark import output``, docs/import.md).

Statistics offices collect output per product and month (or day), often as .xlsx with
Chinese headers. This module reads such a sheet on the shared reader
(:func:`smartpark.core.sheets.open_sheet`) and stores it with
:meth:`~smartpark.store.outputs.OutputStore.replace`:

- a row is a product of the registry inside ``scope``, a period (a month ``2026-11``,
  ``2026年11月``, a month cell, or a day ``2026-11-05``, a date cell:
  :func:`~smartpark.core.sheets.cell_period`) placed in the product's park time zone (a
  month row covers its local month, a day row its local day: the edges of the KPI
  periods, :func:`~smartpark.analytics.periods.local_midnight_ms`), a finite output > 0 and,
  when the sheet has a unit column, the product's unit (``吨`` for ``t``) or an empty
  cell. The first problem of a row rejects it, with its row, cell, column and reason;
- across rows: a period that overlaps an earlier row's for the same product (the same
  month twice, a day inside a month row) is a ``duplicate``, and a month missing between
  a product's first and last month row (and no day row inside it) a ``missing_month``,
  named on the row after the gap;
- **all or nothing**: when any row is rejected nothing of the sheet is stored. Else its
  rows replace the stored rows of their products they overlap, in one write: importing
  the same sheet again leaves the store as it was, a corrected sheet replaces its
  periods.

Sheets are small (products × months or days), so the good rows are kept until the write.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Final

from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.errors import CellError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Product, Registry
from smartpark.core.scopes import option_scope
from smartpark.core.sheets import (
    MAX_ROWS,
    Field,
    ImportReport,
    Period,
    Row,
    RowError,
    SheetReader,
    cell_number,
    cell_period,
    cell_text,
    in_column,
    is_blank,
    open_sheet,
    shown,
    unit_spelling,
)
from smartpark.core.template import Template, TemplateColumn
from smartpark.core.timestamps import now_ms as clock_ms
from smartpark.store.outputs import OutputRow, OutputStore

log = get_logger("analytics.products.output_import")

KIND: Final = "output"
FIRST_YEAR: Final = 2000  # the first plausible period of a sheet
UNKNOWN_PRODUCT: Final = "unknown_product"
OUT_OF_SCOPE: Final = "out_of_scope"
BAD_PERIOD: Final = "bad_period"
FUTURE: Final = "future"
NON_FINITE: Final = "non_finite"
NON_POSITIVE: Final = "non_positive"
BAD_UNIT: Final = "bad_unit"
DUPLICATE: Final = "duplicate"
MISSING_MONTH: Final = "missing_month"

PRODUCT = Field(
    "product", "product", "产品编号", ("product id", "product_id", "产品", "产品代码", "产品 id")
)
PERIOD = Field(
    "period",
    "period",
    "统计期",
    ("month", "day", "date", "月份", "日期", "统计月份", "统计期间", "期间", "年月"),
    formatted=True,
)
OUTPUT = Field("output", "output", "产量", ("production", "quantity", "产品产量", "实际产量"))
UNIT = Field("unit", "unit", "单位", ("units", "计量单位"), required=False)
SHEET_FIELDS: Final = (PRODUCT, PERIOD, OUTPUT, UNIT)


@dataclass
class OutputImportReport(ImportReport):
    """:class:`~smartpark.core.sheets.ImportReport` of an output import, with how many
    stored rows the sheet's rows ``replaced`` (a re-import replaces every row it stores)."""

    replaced: int = 0

    def as_dict(self) -> dict[str, object]:
        out = super().as_dict()
        out.pop("dead_lettered")
        out.pop("dead_letter_file")
        exit_code = out.pop("exit_code")
        out.update(replaced=self.replaced, exit_code=exit_code)
        return out


def scope_products(registry: Registry, scope: str | None) -> list[str]:
    """The products ``scope`` (``enterprise:ID``, ``park:ID``, ``zone:ID``) lets an import
    write, sorted; :class:`~smartpark.core.errors.OptionError` for a bad scope."""
    visible = option_scope(registry, scope)
    return [
        p
        for p in registry.product_ids
        if visible is None or registry.products[p].enterprise in visible.ids["enterprise"]
    ]


def import_output(
    path: str | Path,
    registry: Registry,
    outputs: OutputStore,
    *,
    scope: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    now_ms: int | None = None,
) -> OutputImportReport:
    """Import the product output of ``path`` (CSV or .xlsx) into ``outputs``; see the
    module docstring. ``now_ms`` fixes the clock (a period that has not begun is
    refused). :class:`~smartpark.core.errors.OptionError` for a bad scope; a file that
    cannot be read as a sheet is a :class:`~smartpark.core.errors.SheetError` (nothing
    stored)."""
    allowed = frozenset(scope_products(registry, scope))
    report = OutputImportReport(KIND, str(path), all_or_nothing=True)
    started = time.monotonic()
    now = clock_ms() if now_ms is None else now_ms
    with open_sheet(path, SHEET_FIELDS, sheet=sheet, max_rows=max_rows) as reader:
        report.found(reader)
        rows = _Rows(registry, reader, allowed, now, report)
        for row in reader.rows():
            report.rows += 1
            rows.take(row)
        rows.missing_months()
    if rows.zones:
        report.notes.append(
            "periods were read as local months and days of the product's park: "
            + ", ".join(sorted(rows.zones))
        )
    if report.rows == 0:
        report.notes.append("the sheet has a header but no data rows: nothing to store")
    elif report.rejected:
        report.notes.append(
            f"nothing stored: {report.rejected:,} row(s) rejected, and a sheet is stored "
            "whole or not at all; fix them and import the file again"
        )
    else:
        good = [e.output for e in rows.entries]
        report.replaced = outputs.replace(good)
        report.stored = len(good)
        report.notes.append(
            f"product output: stored {report.stored:,}, replaced {report.replaced:,} (a row "
            "replaces the stored output of its product that it overlaps)"
        )
        for p in sorted({e.output.product for e in rows.entries}):
            meter = registry.products[p].output_meter
            if meter is not None:
                report.notes.append(
                    f"product {p!r} is metered ({meter}): its KPIs take the meter's output, "
                    "not these rows"
                )
    report.errors.sort(key=lambda e: e.row)
    log.info(
        "sheet_imported",
        kind=KIND,
        file=str(path),
        rows=report.rows,
        stored=report.stored,
        replaced=report.replaced,
        rejected=report.rejected,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


@dataclass(frozen=True, slots=True)
class _Entry:
    """A good row: its number, the period's first local day, its cell as shown, the row."""

    row: int
    first_day: dt.date
    shown: str
    output: OutputRow


@dataclass
class _Taken:
    """One product's good rows so far, by month and by day."""

    months: dict[dt.date, _Entry] = field(default_factory=dict)  # first day -> row
    days: dict[dt.date, _Entry] = field(default_factory=dict)
    day_months: dict[dt.date, _Entry] = field(default_factory=dict)  # first day -> 1st day row


class _Rows:
    """Turns sheet rows into output rows and keeps the good ones, product by product."""

    def __init__(
        self,
        registry: Registry,
        reader: SheetReader,
        allowed: frozenset[str],
        now_ms: int,
        report: ImportReport,
    ) -> None:
        self.reg = registry
        self.reader = reader
        self.allowed = allowed
        self.now_ms = now_ms
        self.report = report
        self.entries: list[_Entry] = []
        self.taken: dict[str, _Taken] = {}
        self.zones: set[str] = set()

    def take(self, row: Row) -> None:
        try:
            entry = self._entry(row)
            self._check_overlap(entry)
        except CellError as exc:
            self.reject(row.number, exc.column, shown(row.cells.get(exc.column)), exc)
            return
        self.entries.append(entry)

    def _entry(self, row: Row) -> _Entry:
        cells = row.cells
        product = self._product(in_column(cell_text, "product", cells["product"]))
        zone = self.reg.parks[self.reg.park_of_product(product.id)].timezone
        raw = cells["period"]
        fmt = row.formats.get("period", "")
        kind, first = in_column(lambda v: cell_period(v, fmt, self.reader.epoch), "period", raw)
        start, end = self._edges(kind, first, zone)
        value = in_column(cell_number, "output", cells["output"])
        if not math.isfinite(value):
            raise CellError(NON_FINITE, f"{shown(value)} is not a finite number", "output")
        if value <= 0:
            raise CellError(
                NON_POSITIVE,
                f"output must be > 0, got {shown(value)}: a period without production has no "
                "row (leave it out; inside a monthly sheet, import the months on either side "
                "of it in separate sheets)",
                "output",
            )
        if not is_blank(cells.get("unit")):
            self._unit(in_column(cell_text, "unit", cells["unit"]), product)
        self.zones.add(zone)
        return _Entry(row.number, first, shown(raw), OutputRow(product.id, kind, start, end, value))

    def _product(self, ident: str) -> Product:
        product = self.reg.products.get(ident)
        if product is None:
            hint = (
                "check the id (`smartpark import template output` lists them)"
                if self.reg.products
                else "the registry defines no products: add [product.ID] tables "
                "(docs/registry.md, Products)"
            )
            raise CellError(
                UNKNOWN_PRODUCT,
                f"product {shown(ident, 40)!r} is not in the registry {self.reg.source}: {hint}",
                "product",
            )
        if ident not in self.allowed:
            raise CellError(
                OUT_OF_SCOPE,
                f"product {ident!r} (enterprise {product.enterprise}, park "
                f"{self.reg.park_of_product(ident)}) is outside this import's --scope: import "
                "it with a scope that covers it",
                "product",
            )
        return product

    def _edges(self, kind: Period, first: dt.date, zone: str) -> tuple[int, int]:
        """[start, end) epoch ms of the local month or day starting on ``first``."""
        label = f"{first:%Y-%m}" if kind == "month" else f"{first:%Y-%m-%d}"
        if first.year < FIRST_YEAR:
            raise CellError(BAD_PERIOD, f"{label} is before {FIRST_YEAR}: check the year", "period")
        start = local_midnight_ms(first, zone)  # the KPI periods' own edges
        if start > self.now_ms:  # before the end is asked for: 9999-12 has none
            raise CellError(
                FUTURE,
                f"{label} has not begun ({zone}): output is entered for a period that has begun",
                "period",
            )
        after = _next_month(first) if kind == "month" else first + dt.timedelta(days=1)
        return start, local_midnight_ms(after, zone)

    def _unit(self, text: str, product: Product) -> None:
        if unit_spelling(text, (product.unit,)) != product.unit:
            raise CellError(
                BAD_UNIT,
                f"unit {shown(text, 40)!r} does not fit product {product.id!r}: "
                f"{product.standard} counts {product.category} in {product.unit!r}; give "
                f"{product.unit} or leave the cell empty",
                "unit",
            )

    def _check_overlap(self, entry: _Entry) -> None:
        """A ``duplicate`` when ``entry`` overlaps an earlier good row of its product."""
        out = entry.output
        taken = self.taken.setdefault(out.product, _Taken())
        month = entry.first_day.replace(day=1)
        if out.period == "month":
            earlier = taken.months.get(month) or taken.day_months.get(month)
        else:
            earlier = taken.days.get(entry.first_day) or taken.months.get(month)
        if earlier is not None:
            raise CellError(
                DUPLICATE,
                f"product {out.product!r} has output for {earlier.shown} in row {earlier.row} "
                f"already, and it overlaps this {out.period}: keep one of the two rows",
                "period",
            )
        if out.period == "month":
            taken.months[month] = entry
        else:
            taken.days[entry.first_day] = entry
            taken.day_months.setdefault(month, entry)

    def missing_months(self) -> None:
        """A ``missing_month`` on the row after each gap between a product's month rows
        (a month with a day row is no gap)."""
        for product, taken in sorted(self.taken.items()):
            months = sorted(taken.months)
            for a, b in pairwise(months):
                gap = [m for m in _months_between(a, b) if m not in taken.day_months]
                if not gap:
                    continue
                named = f"{gap[0]:%Y-%m}"
                if len(gap) > 1:
                    named += f" to {gap[-1]:%Y-%m} ({len(gap)} months)"
                before, entry = taken.months[a], taken.months[b]
                detail = (
                    f"product {product!r} has no output for {named} between {a:%Y-%m} (row "
                    f"{before.row}) and {b:%Y-%m}: add the missing month (a month without "
                    "production: import the months on either side of it in separate sheets)"
                )
                self.reject(entry.row, "period", entry.shown, CellError(MISSING_MONTH, detail))

    def reject(self, number: int, column: str, value: str, exc: CellError) -> None:
        column = column or "period"
        cell = self.reader.cell_ref(column, number)
        self.report.reject(RowError(number, column, cell, value, exc.reason, exc.detail))


def _months_between(a: dt.date, b: dt.date) -> list[dt.date]:
    """The first days of the months after ``a`` and before ``b`` (first days both)."""
    out = []
    m = _next_month(a)
    while m < b:
        out.append(m)
        m = _next_month(m)
    return out


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)


# -- the template -------------------------------------------------------------------------


def output_template(registry: Registry, scope: str | None = None) -> Template:
    """The fill-in workbook of ``smartpark import template output``: the registry's
    products (within ``scope``) as a drop-down, a sheet listing them with their units."""
    products = scope_products(registry, scope)
    reference = []
    for p in products:
        pr = registry.products[p]
        park = registry.parks[registry.park_of_product(p)]
        reference.append(
            [
                p,
                pr.name,
                pr.name_zh,
                pr.enterprise,
                park.id,
                pr.unit,
                pr.standard,
                pr.category,
                f"计量 metered ({pr.output_meter})" if pr.output_meter else "填报 entered",
                park.timezone,
            ]
        )
    units = list(dict.fromkeys(registry.products[p].unit for p in products))
    zones = sorted({registry.parks[registry.park_of_product(p)].timezone for p in products})
    lines = [
        "产品产量导入模板 · Product output per month or day",
        "",
        "每行一个产品一个统计期的产量：产品编号（从列表选择）、统计期、产量、单位（可空）。One "
        "row per product and period: the product (choose from the list), the period, the "
        "output and its unit (may be left empty).",
        "统计期 Period: 月 a month 2026-11 (或 or 2026年11月), 日 a day 2026-11-05; 按产品所在"
        "园区的时区 in the time zone of the product's park "
        f"({', '.join(zones) or 'Asia/Shanghai'}). 一个月的行覆盖该月，一天的行覆盖该天。A month "
        "row covers its local month, a day row its local day.",
        "产量 Output: 大于零的数值，单位为产品的单位（见“产品 products”表，如 t 吨）。A number > 0 "
        "in the product's unit (sheet 'products', e.g. t).",
        "按月填报时，首月与末月之间不能缺月。Monthly output may not skip a month between a "
        "product's first and last month.",
        "不要使用公式、合并单元格。No formulas (enter values), no merged cells.",
        "有任何一行被拒绝时，整张表都不导入；同一产品同一统计期只填一行。重复导入同一文件不会改变"
        "任何内容，更正后的表格替换原有的统计期。If any row is rejected nothing of the sheet is "
        "stored; one row per product and period; importing the same file again changes "
        "nothing, a corrected sheet replaces its periods.",
        "导入 Import: smartpark import output FILE.xlsx --registry registry.toml --store URL",
    ]
    return Template(
        sheet="产量 output",
        columns=(
            TemplateColumn(
                PRODUCT, 26, "products", prompt="从列表选择产品 Choose the product from the list"
            ),
            TemplateColumn(
                PERIOD,
                16,
                num_format="@",
                prompt="月 month 2026-11 或 or 日 day 2026-11-05 (园区本地 the park's local time)",
            ),
            TemplateColumn(OUTPUT, 16, prompt="产量 output > 0, 产品的单位 in the product's unit"),
            TemplateColumn(UNIT, 12, "units", prompt="单位 unit (可空 may be empty), e.g. t"),
        ),
        lists={"products": products, "units": units},
        instructions=lines,
        reference_sheet="产品 products",
        reference_header=(
            "产品编号 product",
            "名称 name",
            "中文名称 name (zh)",
            "企业 enterprise",
            "园区 park",
            "单位 unit",
            "标准 standard",
            "类别 category",
            "产量来源 output from",
            "时区 time zone",
        ),
        reference_rows=reference,
    )
