"""Value added for the dual-control targets (docs/dualcontrol.md, "Value added"): the
stored monthly figure where there is one, else the facts' yearly figure spread by days.

Zone z1 > park p1 > enterprise e1 (tests/analytics/dualcontrol/zone.py), Asia/Shanghai.
Facts: 36 500 (10k CNY) for 2026, so a spread month holds 100 a day (3100 in January,
2800 in February). Stored through SQLite: January 5000 and March 4000.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smartpark.analytics import periods
from smartpark.analytics.dualcontrol.valueadded import ValueAddedSource
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from smartpark.store.outputs import OutputRow

from .zone import TZ, write_zone


def month(m: int, value: float) -> OutputRow:
    start = periods.local_midnight_ms(dt.date(2026, m, 1), TZ)
    after = dt.date(2027, 1, 1) if m == 12 else dt.date(2026, m + 1, 1)
    return OutputRow("e1", "month", start, periods.local_midnight_ms(after, TZ), value)


def stored(tmp_path: Path, facts: str | None) -> ValueAddedSource:
    reg = write_zone(tmp_path / "zone", "", facts)
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'park.db'}"), reg)
    try:
        store.value_added.replace([month(1, 5000.0), month(3, 4000.0)])
        rows = store.value_added.read(month(1, 0).start_ms, month(12, 0).end_ms)
    finally:
        store.close()
    return ValueAddedSource(reg, "z1", rows)


def test_monthly_figures_are_preferred_over_the_facts(tmp_path: Path) -> None:
    va = stored(tmp_path, "2026,e1,,,36500,,,,\n").of("enterprise", "e1", 2026)
    days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    expected = [100.0 * d for d in days]
    expected[0], expected[2] = 5000.0, 4000.0
    assert va.months == pytest.approx(tuple(expected))
    # the year: 36 500 - 3100 - 3100 + 5000 + 4000
    assert va.total == pytest.approx(39_300)
    assert va.to_date(3) == pytest.approx(5000 + 2800 + 4000)
    assert va.note == ""
    # the park and the zone sum their one enterprise
    assert stored(tmp_path / "p", "2026,e1,,,36500,,,,\n").of("park", "p1", 2026) == va


def test_without_facts_only_the_stored_months_are_known(tmp_path: Path) -> None:
    va = stored(tmp_path, None).of("zone", "z1", 2026)
    assert va.months[0] == 5000.0
    assert va.months[1] is None
    assert (va.total, va.to_date(1), va.to_date(2), va.to_date(0)) == (None, 5000.0, None, None)
    assert "value added for 2026 is missing for enterprise(s) e1 (2026-02, 2026-04," in va.note
    assert "facts.csv does not exist" in va.note
    assert "smartpark import value-added FILE" in va.note


def test_facts_alone_spread_by_days(tmp_path: Path) -> None:
    reg = write_zone(tmp_path / "zone", "", "2026,e1,,,36500,,,,\n")
    va = ValueAddedSource(reg, "z1").of("enterprise", "e1", 2026)
    assert va.total == pytest.approx(36_500)
    assert va.to_date(2) == pytest.approx(5900)
