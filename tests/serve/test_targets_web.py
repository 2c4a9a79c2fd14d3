"""The web view's "Dual-control targets" section: a zone, park or enterprise page shows the
targets of its scope and below it that the user sees, as of the end of the page's
period (tests/serve/targets_app.py has the zone and the numbers worked out by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smartpark.core.readable import number
from tests.analytics.dualcontrol.zone import energy
from tests.serve.conftest import PASSWORD, Demo, Server
from tests.serve.targets_app import E1_TCE, PROJECTED, YTD, YTD_DAYS, served


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    yield from served(Path(tmp_path_factory.mktemp("targets-web")))


def page(server: Server, user: str, path: str) -> str:
    login = httpx.post(server.url + "/login", data={"user": user, "password": PASSWORD}, timeout=30)
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=60) as client:
        r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    return r.text


def targets(html: str) -> dict[str, list[tuple[str, str]]]:
    """``scope:id:measure`` -> the (text, class) of each cell of its row."""
    if 'id="targets"' not in html:
        return {}
    table = html.split('id="targets"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-target="([^"]+)">(.*?)</tr>', table, re.S)
    return {
        key: [(c.strip(), css) for css, c in re.findall(r'<td class="([^"]*)">(.*?)</td>', row)]
        for key, row in rows
    }


def test_a_park_page_of_june_shows_its_park_and_enterprise_by_hand(
    app: tuple[Server, Demo],
) -> None:
    server, _ = app
    html = page(server, "p1", "/view/park/p1?month=2026-06&lang=en")
    assert "Dual-control targets" in html
    assert "As of 2026-07-01: the year to date is the closed months of 2026 (6 of 12)" in html
    got = targets(html)
    assert set(got) == {"enterprise:e1:energy_tce", "enterprise:e1:co2_t", "park:p1:energy_tce"}
    cells = got["enterprise:e1:energy_tce"]
    texts = [t for t, _ in cells]
    assert texts[:9] == [
        "E1",
        "Energy total (target accounting)",
        "tce",
        number(E1_TCE),
        number(E1_TCE * YTD_DAYS / 365),
        number(YTD),
        number(100 * YTD / E1_TCE, 1),
        number(PROJECTED),
        "run rate",
    ]
    gap_text, gap_css = cells[9]
    assert gap_text == number(PROJECTED - E1_TCE)
    assert gap_css == ("num misses" if PROJECTED > E1_TCE else "num meets")
    assert "flat" in texts[11]  # no last year: the plan is flat, and the note says so


def test_a_zone_page_in_chinese_and_what_each_user_sees(app: tuple[Server, Demo]) -> None:
    server, _ = app
    html = page(server, "zone", "/view/zone/z1?month=2026-06&lang=zh")
    assert "双控目标完成情况" in html
    got = targets(html)
    assert {k.rsplit(":", 1)[0] for k in got} == {
        "enterprise:e1",
        "park:p1",
        "zone:z1",
        "park:p2",
    }
    assert got["zone:z1:energy_tce"][8][0] == "按日均速率"
    enterprise = page(server, "e1", "/view/enterprise/e1?month=2026-06&lang=en")
    assert {k.rsplit(":", 1)[0] for k in targets(enterprise)} == {"enterprise:e1"}
    other = page(server, "p2", "/view/park/p2?month=2026-06&lang=en")
    assert set(targets(other)) == {"park:p2:co2_t"}


def test_the_period_end_is_the_as_of_day(app: tuple[Server, Demo]) -> None:
    server, _ = app
    march = page(server, "p1", "/view/park/p1?month=2026-03&lang=en")
    assert "the closed months of 2026 (3 of 12)" in march
    ytd = sum(energy(2026, m) for m in (1, 2, 3))
    assert targets(march)["park:p1:energy_tce"][5][0] == number(ytd)


def test_a_page_without_targets_below_it_has_no_section(app: tuple[Server, Demo]) -> None:
    server, _ = app
    html = page(server, "p2", "/view/enterprise/e2?month=2026-06&lang=en")
    assert 'id="targets"' not in html
    assert "Dual-control targets" not in html
