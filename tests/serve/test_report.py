"""The monthly report over the API and the web view, against a real server."""

from __future__ import annotations

import httpx

from smartpark.analytics.kpis.catalogue import KPIS
from tests.serve.conftest import DEMO_MONTH, PASSWORD, Demo, Server

MONTH = DEMO_MONTH  # the month of the demo's day
FORBIDDEN = {"error": "forbidden", "detail": "not in your scope (or no such id)"}


def _report(scope: str, ident: str, fmt: str = "html", lang: str = "en") -> str:
    return f"/api/v1/report?month={MONTH}&scope={scope}&id={ident}&format={fmt}&lang={lang}"


def test_a_park_gets_its_parks_html_report(server: Server, demo: Demo) -> None:
    r = server.get(_report("park", "petrochem"), demo.tokens["petrochem"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text.startswith("<!doctype html>")
    assert "Fine Chemicals Park" in r.text
    assert MONTH in r.text
    assert "script-src" not in r.headers["content-security-policy"]  # no script at all
    zh = server.get(_report("park", "petrochem", lang="zh"), demo.tokens["petrochem"])
    assert zh.status_code == 200
    assert "精细化工园区" in zh.text


def test_the_pdf_report_is_a_pdf(server: Server, demo: Demo) -> None:
    r = server.get(_report("park", "petrochem", "pdf"), demo.tokens["petrochem"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert len(r.content) > 10_000


def test_anothers_report_is_the_same_403_as_an_unknown_id(server: Server, demo: Demo) -> None:
    token = demo.tokens["petrochem"]
    answers = [
        server.get(_report(scope, ident), token)
        for scope, ident in [
            ("park", "new-materials"),
            ("park", "no-such-park"),
            ("zone", "lanzhou-new-area"),  # the zone's totals include other parks
            ("region", "gaolan-county"),  # counts new-materials and the enclave
            ("region", "no-such-region"),
        ]
    ]
    for r in answers:
        assert r.status_code == 403
        assert r.json() == FORBIDDEN
    assert len({r.content for r in answers}) == 1
    ent = server.get(_report("park", "petrochem"), demo.tokens["chem-a"])
    assert ent.status_code == 403
    assert ent.json() == FORBIDDEN


def test_a_zone_gets_its_zone_and_region_reports(server: Server, demo: Demo) -> None:
    zone = server.get(_report("zone", "lanzhou-new-area"), demo.tokens["zone"])
    assert zone.status_code == 200
    assert "Lanzhou New Area" in zone.text
    region = server.get(_report("region", "gaolan-county"), demo.tokens["zone"])
    assert region.status_code == 200
    assert "Gaolan County" in region.text


def test_bad_parameters_are_400_naming_them(server: Server, demo: Demo) -> None:
    token = demo.tokens["petrochem"]
    for month in ("2026-13", "2026-1", "12-2026", "2026-12-01"):
        path = f"/api/v1/report?month={month}&scope=park&id=petrochem"
        r = server.get(path, token)
        assert r.status_code == 400
        assert r.json()["detail"].startswith("month:")
    bad_id = server.get(f"/api/v1/report?month={MONTH}&scope=park&id=..%2Fetc", token)
    assert bad_id.status_code == 400
    assert bad_id.json()["detail"].startswith("id:")
    for extra in ("&scope=enterprise", "&format=docx", "&lang=fr"):
        r = server.get(f"/api/v1/report?month={MONTH}&id=petrochem&scope=park{extra}", token)
        assert r.status_code == 400
    twice = server.get(_report("park", "petrochem") + "&id=new-materials", token)
    assert twice.status_code == 400
    assert server.get(_report("park", "petrochem")).status_code == 401


def test_the_web_view_links_its_report(server: Server) -> None:
    login = httpx.post(
        server.url + "/login", data={"user": "petro-user", "password": PASSWORD}, timeout=30
    )
    assert login.status_code == 303
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=60) as client:
        page = client.get(f"/view/park/petrochem?month={MONTH}&lang=zh")
        assert page.status_code == 200
        link = f"/report/park/petrochem?month={MONTH}&amp;format=html&amp;lang=zh"
        assert link in page.text
        r = client.get(link.replace("&amp;", "&"))
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert "精细化工园区" in r.text
        other = client.get(f"/report/park/new-materials?month={MONTH}")
        unknown = client.get(f"/report/park/no-such-park?month={MONTH}")
        assert other.status_code == unknown.status_code == 403
        assert other.text == unknown.text
        assert "new-materials" not in other.text


def test_the_chinese_page_names_kpis_from_the_catalogue(server: Server) -> None:
    login = httpx.post(
        server.url + "/login", data={"user": "petro-user", "password": PASSWORD}, timeout=30
    )
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=30) as client:
        zh = client.get(f"/view/park/petrochem?month={MONTH}&lang=zh").text
        en = client.get(f"/view/park/petrochem?month={MONTH}&lang=en").text
    card = '<div class="card {}" data-kpi="energy_tce"><span class="label">{}</span>'
    assert card.format("", KPIS["energy_tce"].zh) in zh
    assert card.format("", "Energy consumption") in en  # the English label
    for page in (zh, en):  # the machine name only in an attribute, never shown
        assert ">energy_tce<" not in page


def test_a_month_that_has_not_begun_is_400_naming_the_month(server: Server, demo: Demo) -> None:
    for fmt in ("html", "xlsx", "pdf"):
        path = f"/api/v1/report?month=2199-12&scope=park&id=petrochem&format={fmt}"
        r = server.get(path, demo.tokens["petrochem"])
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("month: 2199-12 has not begun")
