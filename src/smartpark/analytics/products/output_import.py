"""Product output imported from a sheet (``smartpark import output``, docs/import.md).

Statistics offices collect output per product and month (or day), often as .xlsx with
Chinese headers. The sheet is read by the reader every kind of period figures shares
(:mod:`smartpark.analytics.periodfigures`: periods in the product's park time zone,
``duplicate`` and ``missing_month`` across rows, all or nothing, a re-import changes
nothing); this module says what a row of output is:

- a product of the registry inside ``scope`` (else ``unknown_product``,
  ``out_of_scope``), a month or a day;
- a finite output > 0 (``non_positive``: a period without production has no row) and,
  when the sheet has a unit column, the product's unit (``吨`` for ``t``) or an empty
  cell (``bad_unit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from smartpark.analytics.periodfigures import (
    OUT_OF_SCOPE,
    PERIOD,
    FigureImportReport,
    FigureKind,
    import_figures,
)
from smartpark.core.errors import CellError
from smartpark.core.registry import Registry
from smartpark.core.scopes import option_scope
from smartpark.core.sheets import (
    MAX_ROWS,
    Cell,
    Field,
    cell_text,
    in_column,
    is_blank,
    shown,
    unit_spelling,
)
from smartpark.core.template import Template, TemplateColumn
from smartpark.store.outputs import OutputStore

KIND: Final = "output"
UNKNOWN_PRODUCT: Final = "unknown_product"
NON_POSITIVE: Final = "non_positive"
BAD_UNIT: Final = "bad_unit"

PRODUCT = Field(
    "product", "product", "产品编号", ("product id", "product_id", "产品", "产品代码", "产品 id")
)
OUTPUT = Field("output", "output", "产量", ("production", "quantity", "产品产量", "实际产量"))
UNIT = Field("unit", "unit", "单位", ("units", "计量单位"), required=False)
SHEET_FIELDS: Final = (PRODUCT, PERIOD, OUTPUT, UNIT)

OutputImportReport = FigureImportReport  # the report of an output import


def scope_products(registry: Registry, scope: str | None) -> list[str]:
    """The products ``scope`` (``enterprise:ID``, ``park:ID``, ``zone:ID``) lets an import
    write, sorted; :class:`~smartpark.core.errors.OptionError` for a bad scope."""
    visible = option_scope(registry, scope)
    return [
        p
        for p in registry.product_ids
        if visible is None or registry.products[p].enterprise in visible.ids["enterprise"]
    ]


def output_kind(registry: Registry, allowed: frozenset[str]) -> FigureKind:
    """What a row of an output sheet is, for the products ``allowed``."""

    def place(ident: str) -> str:
        product = registry.products.get(ident)
        if product is None:
            hint = (
                "check the id (`smartpark import template output` lists them)"
                if registry.products
                else "the registry defines no products: add [product.ID] tables "
                "(docs/registry.md, Products)"
            )
            raise CellError(
                UNKNOWN_PRODUCT,
                f"product {shown(ident, 40)!r} is not in the registry {registry.source}: {hint}",
            )
        park = registry.park_of_product(ident)
        if ident not in allowed:
            raise CellError(
                OUT_OF_SCOPE,
                f"product {ident!r} (enterprise {product.enterprise}, park {park}) is outside "
                "this import's --scope: import it with a scope that covers it",
            )
        return registry.parks[park].timezone

    def check_value(value: float) -> None:
        if value <= 0:
            raise CellError(
                NON_POSITIVE,
                f"output must be > 0, got {shown(value)}: a period without production has no "
                "row (leave it out; inside a monthly sheet, import the months on either side "
                "of it in separate sheets)",
            )

    def check_unit(ident: str, cells: Mapping[str, Cell]) -> None:
        if is_blank(cells.get("unit")):
            return
        text = in_column(cell_text, "unit", cells["unit"])
        product = registry.products[ident]
        if unit_spelling(text, (product.unit,)) != product.unit:
            raise CellError(
                BAD_UNIT,
                f"unit {shown(text, 40)!r} does not fit product {product.id!r}: "
                f"{product.standard} counts {product.category} in {product.unit!r}; give "
                f"{product.unit} or leave the cell empty",
                "unit",
            )

    return FigureKind(
        kind=KIND,
        id_field=PRODUCT,
        value_field=OUTPUT,
        fields=SHEET_FIELDS,
        noun="output",
        periods=("month", "day"),
        place=place,
        check_value=check_value,
        gap_hint="a month without production: import the months on either side of it in "
        "separate sheets",
        check_row=check_unit,
    )


def import_output(
    path: str | Path,
    registry: Registry,
    outputs: OutputStore,
    *,
    scope: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    now_ms: int | None = None,
) -> FigureImportReport:
    """Import the product output of ``path`` (CSV or .xlsx) into ``outputs``; see the
    module docstring. ``now_ms`` fixes the clock (a period that has not begun is
    refused). :class:`~smartpark.core.errors.OptionError` for a bad scope; a file that
    cannot be read as a sheet is a :class:`~smartpark.core.errors.SheetError` (nothing
    stored)."""
    kind = output_kind(registry, frozenset(scope_products(registry, scope)))
    report, stored = import_figures(
        path, kind, outputs, sheet=sheet, max_rows=max_rows, now_ms=now_ms
    )
    for p in sorted({r.id for r in stored}):
        meter = registry.products[p].output_meter
        if meter is not None:
            report.notes.append(
                f"product {p!r} is metered ({meter}): its KPIs take the meter's output, "
                "not these rows"
            )
    return report


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
