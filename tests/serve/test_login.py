"""Web login: a session cookie on success, backoff and a log line on brute force."""

from __future__ import annotations

from pathlib import Path

import httpx

from smartpark.serve.access import FREE_FAILURES
from tests.serve.conftest import PASSWORD, Demo, Server


def _login(server: Server, user: str, password: str) -> httpx.Response:
    return httpx.post(server.url + "/login", data={"user": user, "password": password}, timeout=30)


def test_login_sets_a_strict_httponly_cookie_and_opens_the_park(server: Server) -> None:
    r = _login(server, "petro-user", PASSWORD)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    with httpx.Client(base_url=server.url, cookies=r.cookies, timeout=30) as client:
        home = client.get("/", follow_redirects=True)
        assert home.status_code == 200
        assert "/view/park/petrochem" in str(home.url)
        assert "Content-Security-Policy" in home.headers
        other = client.get("/view/park/new-materials")
        unknown = client.get("/view/park/no-such-park")
        assert other.status_code == unknown.status_code == 403
        assert other.text == unknown.text
        # the session cookie is not an API token
        assert client.get("/api/v1/whoami").status_code == 401


def test_pages_need_a_login(server: Server) -> None:
    r = httpx.get(server.url + "/view/park/petrochem", timeout=30)
    assert r.status_code == 401
    assert 'name="password"' in r.text


def test_brute_force_locks_the_name_and_is_logged(server: Server, demo: Demo) -> None:
    for _ in range(FREE_FAILURES):
        assert _login(server, "victim", "wrong password").status_code == 401
    assert _login(server, "victim", "wrong again").status_code == 401  # this one locks
    # locked: even the right password is refused now, with the same cost
    assert _login(server, "victim", PASSWORD).status_code == 429
    # an unknown name backs off the same way (no oracle for which names exist)
    for _ in range(FREE_FAILURES + 1):
        _login(server, "nobody-here", "x")
    assert _login(server, "nobody-here", "x").status_code == 429
    log = Path(server.log).read_text(encoding="utf-8")
    assert "login failed: locked" in log
    assert any("login failed" in line and "victim" in line for line in log.splitlines())
    assert "wrong password" not in log
    assert PASSWORD not in log
