"""Targets imported from a sheet into a zone's targets file (``smartpark import targets``,
docs/dualcontrol.md "Importing targets").

A committee hands out budgets as a table: one row per scope, id and year, with any of
the budgets of :data:`~.targets.BUDGETS`. This module reads such a sheet on the shared
reader (:func:`smartpark.core.sheets.open_sheet`, headers in English or Chinese), checks
each row with the targets file's own rules (:mod:`.targets`: a scope, an id of the zone
at that scope, a year, budgets finite and >= 0, a share <= 100 %, no intensity for a
region, one row per scope, id and year, a budget the file's monthly plan still fits)
and merges the good rows into the targets file, as ``import facts`` merges into the
facts file (:mod:`smartpark.analytics.landuse.facts_import`):

- a row replaces the budgets of the file's ``[[target]]`` of the same scope, id and
  year: the sheet's columns are the sheet's (an empty cell removes that budget), a
  column the sheet does not have keeps the file's budget, and ``plan``/``profile`` stay.
  The table is rewritten in place (comments inside it are lost); a row the file does not
  have is added at the end (by year, scope, id); every other line stays as it is;
- importing the same sheet again leaves the file byte for byte as it was (not even
  rewritten); the merged text is loaded by the targets loader, then written whole
  (a temporary file beside it, fsynced, renamed over it); nothing is written for a
  rejected row, nothing at all with ``all_or_nothing`` when a row is rejected, and
  nothing when the file itself does not load.
"""

from __future__ import annotations

import json
import math
import re
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Final

from smartpark.analytics.dualcontrol.targets import (
    BUDGETS,
    SCOPES,
    YEARS,
    Target,
    TargetScope,
    budget_problem,
    id_problem,
    parse,
    plan_problem,
    targets_path,
    zone_scope_ids,
)
from smartpark.analytics.landuse.facts_import import (
    YEAR,
    _read,
    _write_atomic,
    import_zone,
    number_text,
)
from smartpark.core.errors import AnalyticsError, CellError, ConfigError, OptionError, OutputError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
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
    in_column,
    is_blank,
    open_sheet,
    shown,
)
from smartpark.core.template import Template, TemplateColumn

log = get_logger("analytics.dualcontrol.targets_import")

KIND: Final = "targets"
SCOPE = Field("scope", "scope", "考核层级", ("scope type", "层级", "范围", "对象类型"))
IDENT = Field("id", "id", "考核对象编号", ("scope id", "对象编号", "编号"))
AMOUNTS: Final = (
    Field("energy_tce", "energy_tce", "能耗总量目标", ("能源消费总量", "能耗总量"), False),
    Field("energy_intensity", "energy_intensity", "能耗强度目标", ("能耗强度",), False),
    Field("co2_t", "co2_t", "碳排放总量目标", ("碳排放总量", "二氧化碳排放总量"), False),
    Field("co2_intensity", "co2_intensity", "碳排放强度目标", ("碳排放强度",), False),
    Field(
        "renewable_share_min",
        "renewable_share_min",
        "可再生能源占比下限",
        ("可再生能源占比",),
        False,
    ),
)
SHEET_FIELDS: Final = (SCOPE, IDENT, YEAR, *AMOUNTS)
_UNITS_ZH: Final = {
    "energy_tce": "吨标准煤",
    "energy_intensity": "吨标准煤/万元增加值",
    "co2_t": "吨二氧化碳",
    "co2_intensity": "吨二氧化碳/万元增加值",
    "renewable_share_min": "%",
}
_HEADER = re.compile(r"\s*\[\[\s*target\s*\]\]\s*(#.*)?$")
_YEAR_TEXT = re.compile(r"(\d{4})\s*年度?")


@dataclass
class TargetsImportReport(MergeReport):
    """The report of a targets import (:class:`~smartpark.core.sheets.MergeReport`):
    merged into the targets file."""

    FILE_FIELD: ClassVar[str] = "targets_file"
    targets_file: str | None = None


def targets_target(registry: Registry, zone: str, targets: str | Path | None) -> Path:
    """The targets file an import merges into: ``targets``, else the one the zone names."""
    if targets is not None:
        return Path(targets)
    try:
        return targets_path(registry, zone)
    except AnalyticsError as exc:
        raise OptionError(f"--targets: {exc}") from None


def import_targets(
    path: str | Path,
    registry: Registry,
    *,
    targets: str | Path | None = None,
    zone: str | None = None,
    all_or_nothing: bool = False,
    sheet: str | None = None,
    max_rows: int = MAX_ROWS,
) -> TargetsImportReport:
    """Import the targets of ``path`` (CSV or .xlsx) into the zone's targets file (or
    ``targets``); see the module docstring."""
    zone_id = import_zone(registry, zone, None)
    target = targets_target(registry, zone_id, targets)
    before = _read(target)
    existing = TargetsText.of(before, target, registry, zone_id)  # refused before the sheet
    report = TargetsImportReport(
        KIND, str(path), all_or_nothing=all_or_nothing, targets_file=str(target)
    )
    started = time.monotonic()
    check = _RowCheck(registry, zone_id, existing.by_key)
    good: list[Target] = []
    with open_sheet(path, SHEET_FIELDS, sheet=sheet, max_rows=max_rows) as reader:
        report.found(reader)
        for row in reader.rows():
            report.rows += 1
            taken = check(row, frozenset(reader.columns), reader, report)
            if taken is not None:
                good.append(taken)
    if report.rows == 0:
        report.notes.append("the sheet has a header but no data rows: nothing to write")
    elif all_or_nothing and report.rejected:
        report.notes.append(
            f"nothing written: --all-or-nothing and {report.rejected:,} row(s) rejected; fix "
            "them and import the file again"
        )
    elif good:
        _merge_and_write(existing, good, target, before, registry, zone_id, report)
    else:
        report.notes.append(f"nothing written: every row was rejected ({target} as it was)")
    report.errors.sort(key=lambda e: e.row)
    log.info(
        "sheet_imported",
        kind=KIND,
        file=str(path),
        targets=str(target),
        rows=report.rows,
        stored=report.stored,
        rejected=report.rejected,
        written=report.written,
        seconds=round(time.monotonic() - started, 3),
    )
    return report


# -- one row ------------------------------------------------------------------------------


class _RowCheck:
    """The targets file's rules for a sheet's row, merged onto the file's target."""

    def __init__(
        self, registry: Registry, zone: str, existing: Mapping[tuple[str, str, int], Target]
    ) -> None:
        self.ids = zone_scope_ids(registry, zone)
        self.existing = existing
        self.seen: dict[tuple[str, str, int], int] = {}

    def __call__(
        self, row: Row, columns: frozenset[str], reader: SheetReader, report: ImportReport
    ) -> Target | None:
        """Row ``row`` as the target to write, or None with its first problem in ``report``."""
        try:
            return self._take(row, columns)
        except CellError as exc:
            report.reject(
                RowError(
                    row.number,
                    exc.column,
                    reader.cell_ref(exc.column, row.number),
                    shown(row.cells.get(exc.column)),
                    exc.reason,
                    exc.detail,
                )
            )
            return None

    def _take(self, row: Row, columns: frozenset[str]) -> Target:
        scope = in_column(cell_text, "scope", row.cells.get("scope"))
        if scope not in SCOPES:
            raise CellError("bad_scope", f"must be one of {', '.join(SCOPES)}", "scope")
        ident = in_column(cell_text, "id", row.cells.get("id"))
        problem = id_problem(self.ids, scope, ident)
        if problem:
            raise CellError("unknown_id", problem, "id")
        year = in_column(_year, "year", row.cells.get("year"))
        sheet: dict[str, float | None] = {}
        for name in BUDGETS:
            if name in columns:
                sheet[name] = in_column(_amount, name, row.cells.get(name))
                _budget(scope, name, sheet[name])
        key = (scope, ident, year)
        first = self.seen.setdefault(key, row.number)
        if first != row.number:
            raise CellError(
                "duplicate",
                f"{scope} {ident!r} in {year} is on row {first} already: keep one of the two",
                "id",
            )
        old = self.existing.get(key)
        merged = {**(old.budgets if old is not None else {}), **sheet}
        budgets = {k: v for k in BUDGETS if (v := merged.get(k)) is not None}
        if not budgets:
            raise CellError("no_budget", "the row sets no budget: fill in one", "energy_tce")
        if old is None:
            return Target(_scope(scope), ident, year, budgets)
        if old.plan is not None:
            energy = budgets.get("energy_tce")
            problem = (
                "a monthly plan needs the annual budget energy_tce"
                if energy is None
                else plan_problem(old.plan, energy)
            )
            if problem:
                raise CellError(
                    "plan_mismatch",
                    f"the targets file has a monthly plan for {scope} {ident!r} in {year}: "
                    f"{problem}",
                    "energy_tce",
                )
        return replace(old, budgets=budgets)


def _scope(text: str) -> TargetScope:
    for scope in SCOPES:
        if scope == text:
            return scope
    raise CellError("bad_scope", f"must be one of {', '.join(SCOPES)}", "scope")


def _year(cell: Cell) -> int:
    if isinstance(cell, str) and (match := _YEAR_TEXT.fullmatch(cell.strip())):
        value = float(match.group(1))
    else:
        value = cell_number(cell)
    if not value.is_integer() or not YEARS[0] <= value <= YEARS[1]:
        raise CellError("bad_year", f"must be a year from {YEARS[0]} to {YEARS[1]}")
    return int(value)


def _amount(cell: Cell) -> float | None:
    """A budget cell: None when empty (no budget), else a finite number >= 0."""
    if is_blank(cell):
        return None
    value = cell_number(cell)
    if not math.isfinite(value):
        raise CellError("non_finite", f"must be finite, got {shown(cell)}")
    if value < 0:
        raise CellError("negative", f"must be >= 0, got {shown(cell)}")
    return value


def _budget(scope: str, name: str, value: float | None) -> None:
    problem = None if value is None else budget_problem(scope, name, value)
    if problem:
        reason = "not_for_region" if scope == "region" else "out_of_range"
        raise CellError(reason, problem, name)


# -- the merge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetsText:
    """A targets file as lines, with the line span of each ``[[target]]`` table and the
    targets the loader read from it (an absent file: no lines)."""

    lines: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # [first, end) lines of each table
    targets: tuple[Target, ...]

    @property
    def by_key(self) -> dict[tuple[str, str, int], Target]:
        return {t.key: t for t in self.targets}

    @classmethod
    def of(cls, data: bytes | None, path: Path, registry: Registry, zone: str) -> TargetsText:
        if data is None:
            return cls((), (), ())
        try:
            text = data.decode("utf-8")
            doc = tomllib.loads(text)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(path), [f"cannot read targets file: {exc}"]) from None
        loaded = parse(doc, registry, zone, str(path))
        lines = tuple(text.splitlines(keepends=True))
        spans = _spans(lines)
        if len(spans) != len(loaded.targets):
            raise ConfigError(
                str(path),
                ["cannot merge into it: write every target as a [[target]] table of its own"],
            )
        return cls(lines, spans, loaded.targets)


def _spans(lines: Sequence[str]) -> tuple[tuple[int, int], ...]:
    starts = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    spans = []
    for i in starts:
        end = i + 1
        while end < len(lines) and not lines[end].lstrip().startswith("["):
            end += 1
        while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip()[:1] == "#"):
            end -= 1
        spans.append((i, end))
    return tuple(spans)


def render_target(target: Target) -> str:
    """One ``[[target]]`` table as the import writes it."""
    out = [
        "[[target]]",
        f"scope = {json.dumps(target.scope)}",
        f"id = {json.dumps(target.id)}",
        f"year = {target.year}",
    ]
    out += [f"{k} = {number_text(v)}" for k, v in target.budgets.items()]
    if target.plan is not None:
        out.append(f"plan = [{', '.join(number_text(v) for v in target.plan)}]")
    elif target.profile != "last_year":
        out.append(f"profile = {json.dumps(target.profile)}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Merged:
    data: bytes
    added: int
    replaced: int
    unchanged: int


def merge(existing: TargetsText, rows: Sequence[Target]) -> Merged:
    """``rows`` merged into ``existing`` (see the module docstring)."""
    lines = list(existing.lines)
    index = {t.key: k for k, t in enumerate(existing.targets)}
    replaced = unchanged = 0
    new: list[Target] = []
    for target in rows:
        k = index.get(target.key)
        if k is None:
            new.append(target)
        elif existing.targets[k] == target:
            unchanged += 1
        else:
            replaced += 1
            first, end = existing.spans[k]
            lines[first] = render_target(target)
            for i in range(first + 1, end):
                lines[i] = ""
    text = "".join(lines)
    order = {s: n for n, s in enumerate(SCOPES)}
    for target in sorted(new, key=lambda t: (t.year, order[t.scope], t.id)):
        if text and not text.endswith("\n"):
            text += "\n"
        text += ("\n" if text else "") + render_target(target)
    return Merged(text.encode("utf-8"), len(new), replaced, unchanged)


def _merge_and_write(
    existing: TargetsText,
    good: Sequence[Target],
    target: Path,
    before: bytes | None,
    registry: Registry,
    zone: str,
    report: TargetsImportReport,
) -> None:
    merged = merge(existing, good)
    try:  # the loader must take what is written
        parse(tomllib.loads(merged.data.decode("utf-8")), registry, zone, str(target))
    except (ConfigError, tomllib.TOMLDecodeError) as exc:
        raise AnalyticsError(
            f"{target}: the merged targets would not load ({exc}); nothing was written"
        ) from None
    report.added, report.replaced, report.unchanged = (
        merged.added,
        merged.replaced,
        merged.unchanged,
    )
    report.stored = merged.added + merged.replaced + merged.unchanged
    if merged.data == (before or b""):
        report.notes.append(
            f"targets file {target}: unchanged, every row was already there as in the sheet"
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
            f"{target}: cannot write the targets file: {exc.strerror or exc} (nothing was written)"
        ) from None
    report.written = True
    made = "created" if before is None else "updated"
    report.notes.append(
        f"targets file {target} {made}: {merged.added:,} target(s) added, "
        f"{merged.replaced:,} replaced, {merged.unchanged:,} unchanged"
    )


# -- the template -------------------------------------------------------------------------


def targets_template(registry: Registry, zone: str | None = None) -> Template:
    """The fill-in workbook of ``smartpark import template targets``: scopes and the
    zone's ids as drop-downs, headers in both languages with units."""
    zone_id = import_zone(registry, zone, None)
    ids = zone_scope_ids(registry, zone_id)
    names = {
        "enterprise": lambda i: registry.enterprises[i].name,
        "park": lambda i: registry.parks[i].name,
        "zone": lambda i: registry.zones[i].name,
        "region": lambda i: registry.regions[i].name,
    }
    reference = [[i, scope, names[scope](i)] for scope in SCOPES for i in ids[scope]]
    lines = [
        f"双控目标导入模板 · Dual-control targets per scope and year · "
        f"{registry.zones[zone_id].name}",
        "",
        "每行一个考核对象一年的目标：层级（enterprise/park/zone/region）、编号、年份，以及任意"
        "目标值。One row per scope, id and year, with any of the budgets.",
        "单位 Units: 能耗总量 吨标准煤 (tce, target accounting); 能耗强度 吨标准煤/万元工业增加值; "
        "碳排放总量 吨二氧化碳; 碳排放强度 吨二氧化碳/万元工业增加值; 可再生能源占比下限 %.",
        "空单元格：删除该项目标。An empty cell removes that budget; a column left out "
        "keeps the file's.",
        "区域（region）不设强度目标。A region takes no intensity budget.",
        "导入 Import: smartpark import targets FILE.xlsx --registry registry.toml",
    ]

    def column(field: Field, prompt: str, choices: str | None = None) -> TemplateColumn:
        unit = _UNITS_ZH.get(field.name)
        shown_field = field if unit is None else replace(field, en=f"{field.en} ({unit})")
        return TemplateColumn(shown_field, 22, choices, None, prompt)

    return Template(
        sheet="双控目标 targets",
        columns=(
            column(SCOPE, "层级 enterprise, park, zone or region", "scopes"),
            column(IDENT, "从列表选择编号 Choose the id", "ids"),
            column(YEAR, "年份 the year, e.g. 2026"),
            *(column(f, f"{f.zh} {f.en}: {_UNITS_ZH[f.name]}") for f in AMOUNTS),
        ),
        lists={"scopes": list(SCOPES), "ids": [r[0] for r in reference]},
        instructions=lines,
        reference_sheet="对象 scopes",
        reference_header=("编号 id", "层级 scope", "名称 name"),
        reference_rows=reference,
    )
