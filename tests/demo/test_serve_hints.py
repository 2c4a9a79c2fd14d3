"""The commands ``smartpark demo`` prints at its end open the web view and the API on the
demo's store: run as printed (plus a password file and a free port) against a real
``smartpark serve``."""

from __future__ import annotations

import datetime as dt
import re
import shlex
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from smartpark.testing.servers import free_port, wait_until

SMARTPARK = [sys.executable, "-m", "smartpark"]


def printed_commands(stdout: str) -> dict[str, list[str]]:
    """The printed ``smartpark ...`` commands after the web view hint, by subcommand."""
    tail = stdout[stdout.index("web view and API on this store") :]
    found: dict[str, list[str]] = {}
    for line in tail.splitlines()[1:]:
        words = shlex.split(line.partition("smartpark ")[2])
        if words:
            found[" ".join(words[:2]) if words[0] == "tokens" else words[0]] = words
    return found


def run(words: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMARTPARK, *words, *extra], capture_output=True, text=True, timeout=60, check=True
    )


def test_the_printed_commands_serve_the_demo_store(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = subprocess.run(
        [*SMARTPARK, "demo", "--start", "2026-11-19", "--days", "1", "--speed", "40000",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    commands = printed_commands(demo.stdout)
    assert set(commands) == {"tokens user", "serve", "tokens create"}, demo.stdout[-2000:]
    assert f"sqlite:///{(out / 'store.db').resolve()}" in commands["serve"]

    password = tmp_path / "pw.txt"
    password.write_text("demo password 1\n", encoding="utf-8")
    run(commands["tokens user"], "--password-file", str(password))
    token = run(commands["tokens create"]).stdout.strip().splitlines()[-1]  # after the log line
    assert re.fullmatch(r"spt_[A-Za-z0-9_-]{43}", token)

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*SMARTPARK, *commands["serve"], "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(url + "/login", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30, what="smartpark serve", details=log.read_text)
        kpi = httpx.get(
            url + "/api/v1/kpi",
            params={"scope": "park", "id": "petrochem", "period": "day"},  # the last 31 days
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert kpi.status_code == 200, kpi.text
        rows = [r for r in kpi.json()["rows"] if r["kpi"] == "energy_tce"]
        assert len(rows) == 1, rows  # the demo's one day
        assert rows[0]["value"] > 0
        day = dt.datetime.fromisoformat(rows[0]["start"]).astimezone(ZoneInfo("Asia/Shanghai"))
        with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as web:
            home = web.post("/login", data={"user": "demo", "password": "demo password 1"})
            assert home.status_code == 200, home.text[:500]
            assert home.url.path == "/view/zone/lanzhou-new-area"
            page = web.get("/view/park/petrochem", params={"month": day.strftime("%Y-%m")})
            assert page.status_code == 200
            assert "Fine Chemicals Park" in page.text
            assert "energy_tce" in page.text  # the summary of the demo's day
    finally:
        proc.terminate()
        proc.wait(10)
