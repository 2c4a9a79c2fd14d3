"""Value added (工业增加值) per enterprise and month imported from a sheet (``smartpark
import value-added``, docs/import.md "Value added").

Statistics offices report each enterprise's industrial value added per month, in 万元
(10k CNY). The sheet is read by the reader every kind of period figures shares
(:mod:`smartpark.analytics.periodfigures`: months in the enterprise's park time zone,
``duplicate`` and ``missing_month`` across rows, all or nothing, a re-import changes
nothing, a corrected sheet replaces its months); this module says what a row is:

- an enterprise of the registry inside ``scope`` (else ``unknown_enterprise``,
  ``out_of_scope``) and a month (a day is a ``bad_period``);
- a finite value added in 10k CNY: 0 and negative values are figures too (a loss can
  make value added negative), so only ``non_finite`` is refused.

The KPIs per value added (docs/kpis.md) and the dual-control targets
(docs/dualcontrol.md) read the stored months (``store.value_added``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Final

from smartpark.analytics.landuse.facts import UNKNOWN_ENTERPRISE
from smartpark.analytics.landuse.facts_import import ENTERPRISE, VALUE_ADDED
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
from smartpark.core.sheets import MAX_ROWS, shown
from smartpark.core.template import Template, TemplateColumn
from smartpark.store.outputs import OutputStore

KIND: Final = "value_added"
SHEET_FIELDS: Final = (ENTERPRISE, PERIOD, VALUE_ADDED)


def scope_enterprises(registry: Registry, scope: str | None) -> list[str]:
    """The enterprises ``scope`` (``enterprise:ID``, ``park:ID``, ``zone:ID``) lets an
    import write, sorted; :class:`~smartpark.core.errors.OptionError` for a bad scope."""
    visible = option_scope(registry, scope)
    return [
        e
        for e in sorted(registry.enterprise_ids)
        if visible is None or e in visible.ids["enterprise"]
    ]


def value_added_kind(registry: Registry, allowed: frozenset[str]) -> FigureKind:
    """What a row of a value-added sheet is, for the enterprises ``allowed``."""

    def place(ident: str) -> str:
        enterprise = registry.enterprises.get(ident)
        if enterprise is None:
            raise CellError(
                UNKNOWN_ENTERPRISE,
                f"enterprise {shown(ident, 40)!r} is not in the registry {registry.source}: "
                "check the id (`smartpark import template value-added` lists them)",
            )
        if ident not in allowed:
            raise CellError(
                OUT_OF_SCOPE,
                f"enterprise {ident!r} (park {enterprise.park}) is outside this import's "
                "--scope: import it with a scope that covers it",
            )
        return registry.parks[enterprise.park].timezone

    def any_finite(value: float) -> None:
        """Every finite value added is a figure: 0, or below 0 after a loss."""

    return FigureKind(
        kind=KIND,
        id_field=ENTERPRISE,
        value_field=VALUE_ADDED,
        fields=SHEET_FIELDS,
        noun="value added",
        periods=("month",),
        place=place,
        check_value=any_finite,
        gap_hint="a month without value added has a row too: 0, or negative after a loss",
    )


def import_value_added(
    path: str | Path,
    registry: Registry,
    store: OutputStore,
    *,
    scope: str | None = None,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
    now_ms: int | None = None,
) -> FigureImportReport:
    """Import the monthly value added of ``path`` (CSV or .xlsx) into ``store`` (a
    store's ``value_added``); see the module docstring. ``now_ms`` fixes the clock (a
    month that has not begun is refused). :class:`~smartpark.core.errors.OptionError`
    for a bad scope; a file that cannot be read as a sheet is a
    :class:`~smartpark.core.errors.SheetError` (nothing stored)."""
    kind = value_added_kind(registry, frozenset(scope_enterprises(registry, scope)))
    report, _ = import_figures(path, kind, store, sheet=sheet, max_rows=max_rows, now_ms=now_ms)
    return report


def value_added_template(registry: Registry, scope: str | None = None) -> Template:
    """The fill-in workbook of ``smartpark import template value-added``: the registry's
    enterprises (within ``scope``) as a drop-down, a sheet listing them with their parks."""
    enterprises = scope_enterprises(registry, scope)
    reference = []
    for e in enterprises:
        ent = registry.enterprises[e]
        park = registry.parks[ent.park]
        reference.append([e, ent.name, ent.name_zh, park.id, park.timezone])
    zones = sorted({registry.parks[registry.enterprises[e].park].timezone for e in enterprises})
    lines = [
        "工业增加值月度导入模板 · Industrial value added per enterprise and month",
        "",
        "每行一家企业一个月的工业增加值：企业编号（从列表选择）、月份、工业增加值（万元）。One "
        "row per enterprise and month: the enterprise (choose from the list), the month and "
        "its value added in 万元 (10k CNY).",
        "月份 Month: 2026-11 (或 or 2026年11月); 按企业所在园区的时区 in the time zone of the "
        f"enterprise's park ({', '.join(zones) or 'Asia/Shanghai'}).",
        "工业增加值 Value added: 万元 (10k CNY); 可以为零或负数（亏损），不能为空。May be 0 or "
        "negative (a loss), never empty.",
        "首月与末月之间不能缺月。No month may be skipped between an enterprise's first and "
        "last month.",
        "不要使用公式、合并单元格。No formulas (enter values), no merged cells.",
        "有任何一行被拒绝时，整张表都不导入；同一企业同一月份只填一行。重复导入同一文件不会改变"
        "任何内容，更正后的表格替换原有的月份。If any row is rejected nothing of the sheet is "
        "stored; one row per enterprise and month; importing the same file again changes "
        "nothing, a corrected sheet replaces its months.",
        "导入 Import: smartpark import value-added FILE.xlsx --registry registry.toml --store URL",
    ]
    return Template(
        sheet="工业增加值 value added",
        columns=(
            TemplateColumn(
                ENTERPRISE, 24, "enterprises", prompt="从列表选择企业 Choose the enterprise"
            ),
            TemplateColumn(
                PERIOD, 16, num_format="@", prompt="月份 month 2026-11 (园区本地 the park's)"
            ),
            TemplateColumn(
                replace(VALUE_ADDED, en=f"{VALUE_ADDED.en} (万元)"),
                18,
                prompt="工业增加值 value added, 万元 (10k CNY), 可为负 may be < 0",
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
            "时区 time zone",
        ),
        reference_rows=reference,
    )
