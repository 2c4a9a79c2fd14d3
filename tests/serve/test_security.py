"""Bad tokens, scope escalation, injection, oversized input, rate limits, no secret logged."""

from __future__ import annotations

import csv
import dataclasses
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smartpark.core.cells import FORMULA_STARTS
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from tests.serve.conftest import (
    DEMO_DAY,
    NEXT_DAY,
    PASSWORD,
    Demo,
    Server,
    start_server,
)

KPI = f"/api/v1/kpi?scope=park&id=petrochem&period=day&from={DEMO_DAY}&to={NEXT_DAY}"
FORBIDDEN = {"error": "forbidden", "detail": "not in your scope (or no such id)"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer"}, "missing"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed"),
        ({"Authorization": "Bearer not-a-token"}, "malformed"),
        ({"Authorization": "Bearer spt_" + "A" * 43}, "unknown"),
        ({"Authorization": "Bearer spt_' OR '1'='1"}, "malformed"),
    ],
)
def test_bad_tokens_are_401(server: Server, headers: dict[str, str], reason: str) -> None:
    r = server.get(KPI, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == "unauthorized"


def test_expired_and_revoked_tokens_are_401(server: Server, demo: Demo) -> None:
    for label in ("expired", "revoked"):
        r = server.get(KPI, demo.tokens[label])
        assert r.status_code == 401
        assert label in r.json()["detail"]


def test_token_in_the_query_is_not_accepted(server: Server, demo: Demo) -> None:
    r = server.get(KPI + "&token=" + demo.tokens["admin"])
    assert r.status_code == 401 or r.status_code == 400
    assert server.get(KPI + "&token=x", demo.tokens["petrochem"]).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "scope=park&id=new-materials",  # another park
        "scope=zone&id=lanzhou-new-area",  # the park's zone
        "scope=enterprise&id=alu-a",  # an enterprise of another park
        "scope=park&id=no-such-park",  # unknown: the same answer
        "scope=enterprise&id=no-such-enterprise",
    ],
)
def test_outside_the_scope_is_403_like_unknown(server: Server, demo: Demo, query: str) -> None:
    r = server.get(f"/api/v1/kpi?{query}&period=day", demo.tokens["petrochem"])
    assert r.status_code == 403
    assert r.json() == FORBIDDEN


def test_enterprise_inside_the_park_is_allowed(server: Server, demo: Demo) -> None:
    r = server.get("/api/v1/kpi?scope=enterprise&id=chem-a&period=day", demo.tokens["petrochem"])
    assert r.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "scope=park&id=petrochem&id=new-materials",  # repeated id
        "scope=park&scope=zone&id=petrochem",
        "scope=park&id=petrochem&park=new-materials",  # unknown parameter
        "scope=admin&id=petrochem",
        "scope=park&id=../new-materials",
        "scope=park&id=petrochem%00",
        "scope=park&id=Petrochem",
        "scope=park&id=petrochem' OR '1'='1",
        "scope=park&id=petrochem%22 OR 1=1 --",
        'scope=park&id=petrochem&kpi=co2" OR "a"="a',
        "scope=park&id=petrochem&kpi=x;DROP TABLE kpi",
        "scope=park&id=petrochem&period=hour; DROP MEASUREMENT kpi",
        "scope=park&id=petrochem&from=2026-12-01' or 1=1",
        "scope=park&id=petrochem&to=now()",
        "scope=park&id=petrochem&from=2026-12-02&to=2026-12-01",
        "scope=park&id=petrochem&period=hour&from=2020-01-01&to=2026-01-01",
        "scope=park&id=" + "a" * 65,
    ],
)
def test_bad_parameters_are_400_before_any_query(server: Server, demo: Demo, query: str) -> None:
    r = server.get(f"/api/v1/kpi?{query}", demo.tokens["petrochem"])
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "bad_request"
    assert "DROP" not in r.text  # the value sent is not echoed back


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/freshness?at=1 OR 1=1",
        "/api/v1/freshness?window_h=1e9",
        "/api/v1/alerts?state=firing' --",
        "/api/v1/landuse?year=2024;DROP",
        "/api/v1/registry?scope=zone",
    ],
)
def test_other_endpoints_reject_bad_parameters(server: Server, demo: Demo, path: str) -> None:
    assert server.get(path, demo.tokens["petrochem"]).status_code == 400


def test_the_store_is_intact_after_the_injections(server: Server, demo: Demo) -> None:
    assert server.get(KPI, demo.tokens["petrochem"]).json()["rows"]


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1899-12", "2200-01"])
def test_a_month_outside_the_calendar_is_400_not_a_server_error(
    server: Server, demo: Demo, month: str
) -> None:
    """Years 1900-2199 (as land use's): the report and the web view's month bounds of
    year 0 or after 9999-12 cannot be computed."""
    for fmt in ("html", "xlsx"):
        path = f"/api/v1/report?month={month}&scope=park&id=petrochem&format={fmt}"
        r = server.get(path, demo.tokens["petrochem"])
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("month:")
    login = httpx.post(
        server.url + "/login", data={"user": "petro-user", "password": PASSWORD}, timeout=30
    )
    with httpx.Client(base_url=server.url, cookies=login.cookies, timeout=60) as client:
        for path in (
            f"/view/park/petrochem?month={month}",
            f"/report/park/petrochem?month={month}",
        ):
            assert client.get(path).status_code == 400, path
    assert server.get(KPI, demo.tokens["petrochem"]).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../../etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/api/v1/../../access.db",
        "/api/v1/kpi/..%2f..%2ftokens",
    ],
)
def test_path_traversal_finds_nothing(server: Server, demo: Demo, path: str) -> None:
    r = server.get(path, demo.tokens["admin"])
    assert r.status_code in (400, 404)
    assert "root:" not in r.text


def test_oversized_requests(server: Server, demo: Demo) -> None:
    long = server.get(KPI + "&kpi=" + "x" * 5000, demo.tokens["petrochem"])
    assert long.status_code == 414
    body = httpx.post(server.url + "/login", content=b"x" * 100_000, timeout=10)
    assert body.status_code == 413
    # a request line far beyond anything sensible: refused by the server, which lives on
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/kpi?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(100)
    assert reply.startswith(b"HTTP/1.1 4")
    assert server.get(KPI, demo.tokens["petrochem"]).status_code == 200


def test_malformed_http_is_refused(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x00garbage\r\n\r\n")
        reply = sock.recv(100)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")


@pytest.fixture(scope="module")
def limited(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(demo, tmp_path_factory.mktemp("limited"), "--rate", "1", "--burst", "3")


def test_rate_limit_per_token(limited: Server, demo: Demo) -> None:
    codes = [limited.get("/api/v1/whoami", demo.tokens["chem-a"]).status_code for _ in range(6)]
    assert codes[:3] == [200, 200, 200]
    assert 429 in codes[3:]
    r = limited.get("/api/v1/whoami", demo.tokens["chem-a"])
    if r.status_code == 429:
        assert int(r.headers["retry-after"]) >= 1
    # another token has its own bucket
    assert limited.get("/api/v1/whoami", demo.tokens["materials"]).status_code == 200


def test_secrets_never_logged(server: Server, demo: Demo) -> None:
    text = Path(server.log).read_text(encoding="utf-8", errors="replace")
    assert "refused" in text  # the bad-token tests above were logged
    for token in demo.tokens.values():
        assert token not in text
        assert token[4:20] not in text


FORMULAS = ('=HYPERLINK("http://x")', "@SUM(1+1)", "-1+1|cmd", "+1+1", "\t=1+1", "\r=1+1")


@pytest.fixture(scope="module")
def formulas(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server whose access file holds an admin token (yielded with the server), then
    tokens named like formulas; a file of its own, so the shared one stays as it was."""
    workdir = tmp_path_factory.mktemp("formulas")
    access = AccessStore(workdir / "access.db")
    _, admin = access.create_token(Grant("admin", None), "admin")
    for name in FORMULAS:
        access.create_token(Grant("read", "park:petrochem"), name)
    access.close()
    for server in start_server(dataclasses.replace(demo, access=workdir / "access.db"), workdir):
        yield server, admin


def test_no_csv_cell_is_a_formula(formulas: tuple[Server, str]) -> None:
    """OWASP "CSV Injection": a token named ``=HYPERLINK(...)`` is listed as text."""
    server, admin = formulas
    r = server.get("/api/v1/tokens", admin, headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    listed = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [t["name"] for t in listed] == ["admin", *("'" + name for name in FORMULAS)]
    assert all(t["id"].isdigit() and t["created_ms"].isdigit() for t in listed)
    for cell in (c for row in rows for c in row if c.startswith(FORMULA_STARTS)):
        float(cell)  # only a number may start like a formula
    as_json = server.get("/api/v1/tokens", admin).json()["tokens"]
    assert [t["name"] for t in as_json] == ["admin", *FORMULAS]  # JSON keeps them as named
