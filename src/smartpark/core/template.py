"""The fill-in templates of ``smartpark import template`` (docs/import.md): the .xlsx a
person fills in by hand and imports again.

A :class:`Template` is a data sheet whose columns are an importer's
:class:`~smartpark.core.sheets.Field` s (bilingual headers, frozen, a drop-down list
where a cell is chosen from the registry's ids, a prompt where it is typed), an
instructions sheet, an optional reference table (e.g. the meters with their units) and
the drop-down lists on a hidden sheet (Excel's limit of 255 characters for a list
written into the validation itself rules that out). It is written by the one workbook
writer, :mod:`smartpark.core.workbook`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from smartpark.core.cells import safe_cell
from smartpark.core.sheets import MAX_ROWS, Field, column_letter
from smartpark.core.workbook import write_book


@dataclass(frozen=True, slots=True)
class TemplateColumn:
    """One column of a template's data sheet: its field, width, the list its cells are
    chosen from (a key of :attr:`Template.lists`, shown as a drop-down), a number format
    and the prompt shown when a cell is selected."""

    field: Field
    width: float = 18.0
    choices: str | None = None
    num_format: str | None = None
    prompt: str = ""


@dataclass(frozen=True, slots=True)
class Template:
    """A fill-in workbook: the data sheet (bilingual headers, frozen, drop-downs), an
    instructions sheet, a reference table (e.g. the meters with their units) and the
    drop-down lists on a hidden sheet."""

    sheet: str
    columns: tuple[TemplateColumn, ...]
    lists: Mapping[str, Sequence[str]]
    instructions: Sequence[str]
    reference_sheet: str = ""
    reference_header: Sequence[str] = ()
    reference_rows: Sequence[Sequence[str]] = ()


_LISTS_SHEET: Final = "lists"


def write_template(path: Path, template: Template) -> Path:
    """Write ``template`` as an .xlsx at ``path``, replaced whole, with the one workbook
    writer's rules (:func:`~smartpark.core.workbook.write_book`): every text cell through
    :func:`~smartpark.core.cells.safe_cell`, so no cell is a formula."""
    return write_book(path, lambda book: _template(book, template), streamed=False)


def _text(ws: Any, r: int, c: int, value: str, fmt: Any = None) -> None:
    ws.write_string(r, c, str(safe_cell(value)), fmt)


def _template(book: Any, t: Template) -> None:
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    data = book.add_worksheet(t.sheet)
    info = book.add_worksheet("说明 instructions")
    ref = book.add_worksheet(t.reference_sheet) if t.reference_sheet else None
    lists = book.add_worksheet(_LISTS_SHEET)
    # The lists: one column each, on a hidden sheet (a list longer than 255 characters
    # cannot be written into the validation itself).
    where: dict[str, str] = {}
    for c, (name, items) in enumerate(t.lists.items()):
        _text(lists, 0, c, name, bold)
        for r, item in enumerate(items, start=1):
            _text(lists, r, c, item)
        letter = column_letter(c)
        where[name] = f"={_LISTS_SHEET}!${letter}$2:${letter}${max(len(items), 1) + 1}"
    lists.hide()
    # The data sheet: headers, widths, formats, drop-downs, frozen header row.
    for c, col in enumerate(t.columns):
        fmt = book.add_format({"num_format": col.num_format}) if col.num_format else None
        data.set_column(c, c, col.width, fmt)
        _text(data, 0, c, col.field.header, bold)
        options: dict[str, object] = {}
        if col.choices is not None:
            options = {
                "validate": "list",
                "source": where[col.choices],
                "error_type": "stop",
                "error_title": col.field.header[:32],
                "error_message": "Choose from the list / 请从列表中选择"[:255],
            }
        else:
            options = {"validate": "any"}
        if col.prompt:
            options["input_title"] = col.field.header[:32]
            options["input_message"] = col.prompt[:255]
        if options.get("validate") != "any" or col.prompt:
            data.data_validation(1, c, MAX_ROWS - 1, c, options)  # rows 2 to 1,048,576
    data.freeze_panes(1, 0)
    data.activate()
    # Instructions.
    info.set_column(0, 0, 110, wrap)
    for r, line in enumerate(t.instructions):
        _text(info, r, 0, line, bold if r == 0 else None)
    # The reference table.
    if ref is not None:
        for c, head in enumerate(t.reference_header):
            ref.set_column(c, c, 22)
            _text(ref, 0, c, head, bold)
        for r, row in enumerate(t.reference_rows, start=1):
            for c, value in enumerate(row):
                _text(ref, r, c, value)
        ref.freeze_panes(1, 0)
