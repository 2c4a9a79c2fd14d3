"""The web view's "Unit-product energy" section: each product of the page's scope in its
latest month ended by the page's period, read from the stored KPI rows
(tests/serve/products_app.py has the numbers and how they were worked out).

The months are in 2024: they have ended whatever today is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import PASSWORD, Demo, Server
from tests.serve.products_app import served


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Demo]]:
    yield from served(Path(tmp_path_factory.mktemp("products-web")))


def page(server: Server, user: str, path: str, status: int = 200) -> str:
    login = httpx.post(server.url + "/login", data={"user": user, "password": PASSWORD}, timeout=30)
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=30) as client:
        r = client.get(path)
    assert r.status_code == status, r.text[:300]
    return r.text


def products(html: str) -> dict[str, list[str]]:
    """Product id -> the cells of its row in the section's table."""
    if 'id="products"' not in html:
        return {}
    table = html.split('id="products"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-product="([^"]+)">(.*?)</tr>', table, re.S)
    return {
        p: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for p, row in rows
    }


def test_a_zone_page_grades_each_product_in_its_latest_month(app: tuple[Server, Demo]) -> None:
    server, _ = app
    html = page(server, "zone", "/view/zone/west?month=2024-03&lang=en")
    assert "Unit-product energy against the limit standards" in html
    got = products(html)
    # product, enterprise, standard, month, output, energy, graded, limit, level, gap
    assert got["clinker"] == [
        "Clinker line 1",
        "Cement A",
        "GB 16780-2021 clinker *",
        "2024-03",
        "10,000 t",
        "1,100 tce",
        "110 kgce/t",
        "118.6 kgce/t",  # 117 x K at 2,000 m and 79,500 Pa
        "level 3",
        "3 kgce/t",
    ]
    # March: energy and no output, so no graded value and no level; the page says how
    assert got["al-liquid"][3:] == [
        "2024-03",
        "–",
        "3,000 tce",
        "–",
        "13,350 kWh/t",
        "no output",
        "–",
    ]
    assert "smartpark import output FILE" in html
    assert "secondary source" in html  # the levels' source is not checked yet


def test_a_month_page_shows_that_month_and_above_the_limit_in_red(
    app: tuple[Server, Demo],
) -> None:
    server, _ = app
    html = page(server, "metals", "/view/park/metals?month=2024-02&lang=en")
    (row,) = products(html).values()
    assert row[3:] == [
        "2024-02",
        "2,000 t",
        "3,318 tce",
        "13,500 kWh/t",
        "13,350 kWh/t",
        "above the limit",
        "150 kWh/t",
    ]
    assert '<td class="misses">above the limit</td>' in html
    assert "smartpark import output" not in html  # February has its output


def test_a_day_page_shows_the_month_before_the_one_in_progress(app: tuple[Server, Demo]) -> None:
    server, _ = app
    # on 2024-03-15 March has not ended: February is the latest month
    html = page(server, "cement", "/view/park/cement?day=2024-03-15&lang=en")
    assert products(html)["clinker"][3:5] == ["2024-02", "9,000 t"]
    assert products(html)["clinker"][8:] == ["level 1", "–"]  # level 1: no next level


def test_a_park_user_sees_only_the_products_of_its_park(app: tuple[Server, Demo]) -> None:
    server, _ = app
    cement = page(server, "cement", "/view/park/cement?month=2024-03&lang=zh")
    assert list(products(cement)) == ["clinker"]
    assert "单位产品能耗对标" in cement
    assert products(cement)["clinker"][:4] == [
        "1号熟料线",
        "水泥甲",
        "GB 16780-2021 熟料 *",
        "2024-03",
    ]
    assert products(cement)["clinker"][8] == "3级"
    assert "电解铝液" not in cement
    assert "al-liquid" not in cement
    page(server, "cement", "/view/park/metals?month=2024-03", status=403)
    enterprise = page(server, "alu-a", "/view/enterprise/alu-a?month=2024-03&lang=en")
    assert list(products(enterprise)) == ["al-liquid"]


def test_before_any_stored_month_a_product_says_so(app: tuple[Server, Demo]) -> None:
    server, _ = app
    html = page(server, "admin", "/view/park/cement?month=2023-01&lang=en")
    assert products(html)["clinker"][3:] == ["", "–", "–", "–", "–", "no month stored", "–"]
    assert "smartpark import output" in html


def test_a_scope_without_products_has_no_section(app: tuple[Server, Demo]) -> None:
    server, _ = app
    html = page(server, "admin", "/view/park/depot?month=2024-03&lang=en")
    assert "Unit-product energy" not in html
    assert 'id="products"' not in html
