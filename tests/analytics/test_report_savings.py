"""The monthly report's section on energy-saving projects: the known savings case
(tests/analytics/savings_case.py, 10 % less from 2025-01-01) in a park report of
2025-06 — the month's and the since-go-live savings within their uncertainty of what
the project saved, in HTML (en, zh) and the workbook; a park without projects has no
section; a project not yet live is not shown; a baseline without data is a note."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from smartpark.analytics.periods import local_midnight_ms
from smartpark.analytics.report import monthly, xlsx
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store

from . import savings_case as case

NOW = local_midnight_ms(dt.date(2025, 9, 1), case.TZ)


@pytest.fixture(scope="module")
def park(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Registry]]:
    tmp = tmp_path_factory.mktemp("report-savings")
    path = tmp / "registry.toml"
    path.write_text(case.registry_text(), "utf-8")
    reg = registry_mod.load(path)
    store = open_store(parse_store_url(f"sqlite:///{tmp / 'park.db'}"), reg)
    case.write(store, reg)
    yield store, reg
    store.close()


def report(
    store: Store, reg: Registry, month: str, ident: str = "p1", lang: str = "en"
) -> monthly.Monthly:
    request = monthly.Request(month, scope="park", id=ident, lang=lang, now_ms=NOW)
    return monthly.build(store, reg, request)


def test_the_month_and_since_go_live_within_their_uncertainty(
    park: tuple[Store, Registry], tmp_path: Path
) -> None:
    store, reg = park
    r = report(store, reg, "2025-06")
    [found] = r.savings
    known = case.known_avoided()
    m, total = found.month, found.savings.total
    assert m is not None
    assert m.month == "2025-06"
    assert abs(m.avoided - known["2025-06"]) <= m.uncertainty
    since = sum(v for k, v in known.items() if k <= "2025-06")
    assert found.savings.end == dt.date(2025, 7, 1)  # up to the end of the report month
    assert abs(total.avoided - since) <= total.uncertainty
    page = monthly.html(r)
    assert "Savings of energy-saving projects" in page
    assert "Chiller plant retrofit (冷站改造)" in page
    assert "CalTRACK daily" in page
    zh = monthly.html(report(store, reg, "2025-06", lang="zh"))
    assert "节能项目节能量" in zh
    assert "冷站改造（Chiller plant retrofit）" in zh
    out = tmp_path / "r.xlsx"
    out.write_bytes(xlsx.workbook(r))
    sheet = openpyxl.load_workbook(out, read_only=True)["Project savings"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row and row[1] == "chiller"]
    assert len(rows) == 1
    assert rows[0][4] == pytest.approx(m.avoided)
    assert rows[0][6] == pytest.approx(total.avoided)


def test_no_section_without_a_live_project(park: tuple[Store, Registry]) -> None:
    store, reg = park
    other = report(store, reg, "2025-06", ident="p2")  # p2's enterprise has no project
    assert other.savings == []
    assert "Savings of energy-saving projects" not in monthly.html(other)
    before = report(store, reg, "2024-11")  # the project goes live in 2025
    assert before.savings == []


def test_a_project_without_baseline_data_is_a_note(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(case.registry_text(), "utf-8")
    reg = registry_mod.load(path)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'empty.db'}"), reg)
    try:
        r = report(store, reg, "2025-06")
        assert r.savings == []
        notes = [n for n in r.missing if n.startswith("chiller: ")]
        assert len(notes) == 1
        assert "baseline" in notes[0]
    finally:
        store.close()
