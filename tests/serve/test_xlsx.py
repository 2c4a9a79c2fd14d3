"""The API's .xlsx answers against a real ``smartpark serve``: ``Accept:`` the
spreadsheet media type wherever CSV is answered, and the monthly report as a workbook."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from smartpark.core.workbook import MEDIA_TYPE
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from tests.serve.conftest import (
    DEMO_DAY,
    DEMO_MONTH,
    NEXT_DAY,
    PASSWORD,
    Demo,
    Server,
    start_server,
)
from tests.workbooks import same, tables

XLSX = {"Accept": MEDIA_TYPE}
KPI = f"/api/v1/kpi?scope=park&id=petrochem&period=day&from={DEMO_DAY}&to={NEXT_DAY}"


def test_kpi_rows_as_a_workbook_equal_the_json(server: Server, demo: Demo) -> None:
    token = demo.tokens["petrochem"]
    r = server.get(KPI, token, headers=XLSX)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    assert r.headers["content-disposition"] == 'attachment; filename="smartpark-kpi.xlsx"'
    (sheet,) = tables(r.content).values()  # fails on any formula cell
    assert sheet.name == "kpi"
    assert sheet.lines[0] == f"smartpark API /api/v1/kpi?{KPI.split('?')[1]}"
    assert sheet.lines[1] == (
        "scope: park · id: petrochem · period: day · timezone: Asia/Shanghai · "
        "visible to: park:petrochem"
    )
    assert sheet.lines[2].startswith("Source: KPI rows in the store · Times: RFC 3339 in UTC")
    assert sheet.freeze == "A6"
    assert sheet.header == ["scope", "id", "period", "kpi", "start", "value", "unit"]
    rows = server.get(KPI, token).json()["rows"]
    assert len(sheet.rows) == len(rows) > 10
    for got, want in zip(sheet.records(), rows, strict=True):
        for key, value in want.items():
            assert same(got[key], value), key  # values numbers, start RFC 3339 text
    csv_first = server.get(KPI, token, headers={"Accept": f"text/csv, {MEDIA_TYPE}"})
    assert csv_first.headers["content-type"].startswith("text/csv")  # the first one named
    json_first = server.get(KPI, token, headers={"Accept": f"application/json, {MEDIA_TYPE}"})
    assert json_first.json()["rows"] == rows


def test_every_list_answer_comes_as_a_workbook(server: Server, demo: Demo) -> None:
    token = demo.tokens["zone"]
    for path, first in [
        ("/api/v1/kpis", "kpi"),
        ("/api/v1/alerts?state=active", "rule"),
        (f"/api/v1/freshness?at={NEXT_DAY}T00:00:00%2B08:00", "kind"),
        ("/api/v1/landuse?year=2025", "year"),
    ]:
        r = server.get(path, token, headers=XLSX)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"] == MEDIA_TYPE
        (sheet,) = tables(r.content).values()
        assert sheet.header[0] == first, path
        assert sheet.rows, path
        assert "visible to: zone:lanzhou-new-area" in sheet.lines[1]


@pytest.fixture(scope="module")
def formulas(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server whose access file holds an admin token and tokens named like formulas."""
    workdir = tmp_path_factory.mktemp("xlsx-formulas")
    access = AccessStore(workdir / "access.db")
    _, admin = access.create_token(Grant("admin", None), "admin")
    for name in ('=HYPERLINK("http://x")', "-1+1|cmd", "@SUM(1+1)"):
        access.create_token(Grant("read", "park:petrochem"), name)
    access.close()
    for server in start_server(dataclasses.replace(demo, access=workdir / "access.db"), workdir):
        yield server, admin


def test_a_token_named_like_a_formula_is_text_with_a_quote(formulas: tuple[Server, str]) -> None:
    server, admin = formulas
    r = server.get("/api/v1/tokens", admin, headers=XLSX)
    assert r.status_code == 200
    (sheet,) = tables(r.content).values()  # fails on any formula cell
    assert sheet.column("name") == [
        "admin",
        '\'=HYPERLINK("http://x")',
        "'-1+1|cmd",
        "'@SUM(1+1)",
    ]
    assert all(isinstance(i, int) for i in sheet.column("id"))
    assert all(isinstance(ms, int) for ms in sheet.column("created_ms"))
    assert "visible to: all" in sheet.lines[1]


def test_the_monthly_report_as_a_workbook_over_the_api_and_the_web_view(
    server: Server, demo: Demo
) -> None:
    path = f"/api/v1/report?month={DEMO_MONTH}&scope=park&id=petrochem&format=xlsx&lang=en"
    r = server.get(path, demo.tokens["petrochem"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MEDIA_TYPE
    assert r.headers["content-disposition"] == (
        f'attachment; filename="monthly-report-park-petrochem-{DEMO_MONTH}.xlsx"'
    )
    books = tables(r.content)
    assert list(books)[:2] in (
        ["Missing data", "Key indicators"],
        ["Data complete", "Key indicators"],
    )
    head = books["Key indicators"]
    assert head.lines[0] == f"Fine Chemicals Park (精细化工园区) · Monthly report {DEMO_MONTH}"
    assert head.lines[1].startswith("Scope: park petrochem")
    energy = head.records()[0]
    assert energy["Indicator"] == "Energy consumption"  # energy_tce, headed for people
    assert isinstance(energy["Value"], float)
    assert energy["Value"] > 0
    other = server.get(path.replace("petrochem", "new-materials"), demo.tokens["petrochem"])
    assert other.status_code == 403

    login = httpx.post(
        server.url + "/login", data={"user": "petro-user", "password": PASSWORD}, timeout=30
    )
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=60) as client:
        page = client.get(f"/view/park/petrochem?month={DEMO_MONTH}&lang=zh")
        link = f"/report/park/petrochem?month={DEMO_MONTH}&amp;format=xlsx&amp;lang=zh"
        assert link in page.text
        web = client.get(link.replace("&amp;", "&"))
    assert web.status_code == 200
    assert web.headers["content-type"] == MEDIA_TYPE
    assert "主要指标" in tables(web.content)
