"""Navigation and the period picker of the web view, on the example registry."""

from __future__ import annotations

import datetime as dt

import pytest

from smartpark.analytics.periods import local_midnight_ms
from smartpark.core.errors import OptionError
from smartpark.core.registry import load
from smartpark.core.scopes import covered
from smartpark.serve.nav import Navigator, allows
from smartpark.serve.period import PagePeriod, parse
from tests.serve.conftest import REGISTRY, TIMEZONE

REG = load(REGISTRY)


def nav(scope: str | None, lang: str = "en") -> Navigator:
    return Navigator(REG, covered(REG, scope), lang, "month=2026-12")


def test_breadcrumb_runs_zone_region_park_enterprise_meter() -> None:
    crumbs = nav(None).breadcrumb("meter", "chem-a-main")
    assert [(c.kind, c.id) for c in crumbs] == [
        ("zone", "lanzhou-new-area"),
        ("region", "lanzhou-city"),
        ("region", "yongdeng-county"),
        ("park", "petrochem"),
        ("enterprise", "chem-a"),
        ("meter", "chem-a-main"),
    ]
    assert [c.current for c in crumbs] == [False] * 5 + [True]
    assert all(c.href.endswith("?lang=en&month=2026-12") for c in crumbs)


def test_a_park_user_sees_no_ancestor_and_no_sibling() -> None:
    n = nav("park:petrochem")
    assert [(c.kind, c.id) for c in n.breadcrumb("enterprise", "chem-a")] == [
        ("region", "yongdeng-county"),  # it counts only this park: its page is the park's
        ("park", "petrochem"),
        ("enterprise", "chem-a"),
    ]
    side = n.side("park", "petrochem")
    assert {(c.kind, c.id) for c in side if c.kind in ("zone", "park", "region")} == {
        ("park", "petrochem")
    }
    assert not allows(REG, covered(REG, "park:petrochem"), "park", "new-materials")
    assert not allows(REG, covered(REG, "park:petrochem"), "region", "gaolan-county")
    assert not allows(REG, covered(REG, "park:petrochem"), "zone", "lanzhou-new-area")
    assert n.find("materials") == []
    assert [c.id for c in n.find("Fine")] == ["petrochem", "chem-b"]


def test_the_side_list_opens_only_along_the_path() -> None:
    side = nav(None).side("enterprise", "chem-a")
    meters = [c.id for c in side if c.kind == "meter"]
    assert meters
    assert all(REG.meters[m].enterprise == "chem-a" for m in meters)
    assert [c.id for c in side if c.current] == ["chem-a"]
    # regions stay open (they group the parks); other parks are listed, closed
    assert {c.id for c in side if c.kind == "region"} >= {"gaolan-county", "yongdeng-county"}
    assert {c.id for c in side if c.kind == "park"} == {
        "petrochem",
        "new-materials",
        "coop-enclave",
    }
    assert {REG.enterprises[c.id].park for c in side if c.kind == "enterprise"} == {"petrochem"}
    depth = {c.id: c.depth for c in side}
    assert depth["lanzhou-new-area"] < depth["petrochem"] < depth["chem-a"] < depth[meters[0]]


def test_find_by_chinese_name_in_either_language() -> None:
    found = nav(None, "en").find("化工")
    assert [(c.kind, c.id) for c in found][:2] == [("park", "petrochem"), ("enterprise", "chem-a")]
    assert found[0].name == "Fine Chemicals Park"  # shown in the page's language
    assert nav(None, "zh").find("化工")[0].name == "精细化工园区"
    assert nav(None).find("   ") == []


def test_an_unknown_id_is_not_a_page() -> None:
    vis = covered(REG, None)
    assert not allows(REG, vis, "park", "nope")
    assert not allows(REG, vis, "region", "nope")
    assert not allows(REG, vis, "gateway", "gw-chem-a")  # not a page kind


def test_periods_and_their_neighbours() -> None:
    day = parse("2026-12-31", None, None, TIMEZONE, 0)
    assert (day.label, day.finer) == ("2026-12-31", "hour")
    assert day.next() == PagePeriod("day", dt.date(2027, 1, 1))
    month = parse(None, "2026-01", None, TIMEZONE, 0)
    assert month.previous() == PagePeriod("month", dt.date(2025, 12, 1))
    assert month.bounds(TIMEZONE) == (
        local_midnight_ms(dt.date(2026, 1, 1), TIMEZONE),
        local_midnight_ms(dt.date(2026, 2, 1), TIMEZONE),
    )
    year = parse(None, None, "2026", TIMEZONE, 0)
    assert (year.finer, year.as_kind("month").label, day.as_kind("year").label) == (
        "month",
        "2026-01",
        "2026",
    )
    assert PagePeriod("year", dt.date(2199, 1, 1)).next() is None
    assert PagePeriod("day", dt.date(1900, 1, 1)).previous() is None


def test_no_period_is_the_month_in_progress_of_the_given_clock() -> None:
    clock = local_midnight_ms(dt.date(2027, 3, 15), TIMEZONE)
    assert parse(None, None, None, TIMEZONE, clock) == PagePeriod("month", dt.date(2027, 3, 1))
    # 2027-03-01 00:30 local is still the 28th of February in UTC: the local month counts
    early = local_midnight_ms(dt.date(2027, 3, 1), TIMEZONE) + 30 * 60_000
    assert parse(None, None, None, TIMEZONE, early).label == "2027-03"


@pytest.mark.parametrize(
    ("day", "month", "year", "named"),
    [
        ("2026-02-30", None, None, "day"),
        (None, "2026-13", None, "month"),
        (None, "26-01", None, "month"),
        (None, None, "2200", "year"),
        (None, None, "1899", "year"),
        ("2026-01-01", "2026-01", None, "day and month"),
    ],
)
def test_a_malformed_period_names_its_parameter(
    day: str | None, month: str | None, year: str | None, named: str
) -> None:
    with pytest.raises(OptionError, match=named):
        parse(day, month, year, TIMEZONE, 0)
