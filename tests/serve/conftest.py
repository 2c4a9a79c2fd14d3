"""A real ``smartpark serve`` (uvicorn in a subprocess on a free loopback port) over a
SQLite store filled by ``smartpark demo --start DEMO_DAY --days 1``, with real tokens and
alert state.

Every date the serve tests expect is derived from :data:`DEMO_DAY`, never from the wall
clock: ``SMARTPARK_TEST_DEMO_DAY=2025-12-01 pytest tests/serve`` runs them on a demo day a
year earlier (docs/testing.md).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from smartpark.analytics.alerts.state import Active, AlertState
from smartpark.analytics.periods import local_midnight_ms
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from smartpark.testing.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "src" / "smartpark" / "examples" / "registry.toml"
MONTHLY = ROOT / "src" / "smartpark" / "examples" / "monthly-energy.csv"
TIMEZONE = "Asia/Shanghai"  # the example zone's
# The one simulated day (local, UTC+8); every expected date below follows from it.
DEMO_DAY = os.environ.get("SMARTPARK_TEST_DEMO_DAY", "2026-12-01")
NEXT_DAY = (dt.date.fromisoformat(DEMO_DAY) + dt.timedelta(days=1)).isoformat()
DEMO_MONTH = DEMO_DAY[:7]
DAY_START_MS = local_midnight_ms(dt.date.fromisoformat(DEMO_DAY), TIMEZONE)
DAY_END_MS = DAY_START_MS + 86_400_000
PASSWORD = "correct horse battery"


@dataclass
class Demo:
    dir: Path
    store: Path
    access: Path
    tokens: dict[str, str] = field(default_factory=dict)  # label -> clear token
    ids: dict[str, int] = field(default_factory=dict)  # label -> token id


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("serve-demo")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "smartpark",
            "demo",
            "--start",
            DEMO_DAY,
            "--days",
            "1",
            "--out",
            str(out / "d"),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    store = out / "d" / "store.db"
    with AlertState(store.with_name("store.alerts.db")) as st:
        st.put_active(
            [
                Active("co2-high", "park", "petrochem", "firing", DAY_START_MS, 3.1, 0.2, "fp1"),
                Active(
                    "co2-high", "park", "new-materials", "firing", DAY_START_MS, 2.0, 0.2, "fp2"
                ),
                Active("stale", "meter", "chem-a-main", "pending", DAY_START_MS, None, None, "fp3"),
            ]
        )
    d = Demo(out / "d", store, out / "access.db")
    access = AccessStore(d.access)
    grants = {
        "admin": Grant("admin", None),
        "zone": Grant("read", "zone:lanzhou-new-area"),
        "petrochem": Grant("read", "park:petrochem"),
        "materials": Grant("read", "park:new-materials"),
        "chem-a": Grant("read", "enterprise:chem-a"),
        "revoked": Grant("read", "park:petrochem"),
    }
    for label, grant in grants.items():
        info, token = access.create_token(grant, label)
        d.tokens[label], d.ids[label] = token, info.id
    access.revoke(d.ids["revoked"])
    access.close()
    expired = AccessStore(d.access, now=time.time() - 7200)
    info, d.tokens["expired"] = expired.create_token(Grant("read", "park:petrochem"), "old", 60)
    expired.add_user("petro-user", PASSWORD, Grant("read", "park:petrochem"))
    expired.add_user("victim", PASSWORD, Grant("read", "park:new-materials"))
    expired.add_user("zone-user", PASSWORD, Grant("read", "zone:lanzhou-new-area"))
    expired.add_user("admin-user", PASSWORD, Grant("admin", None))
    expired.add_user("chem-user", PASSWORD, Grant("read", "enterprise:chem-a"))
    expired.close()
    return d


@dataclass
class Server:
    url: str
    log: Path

    def get(self, path: str, token: str | None = None, **kw: object) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[call-overload]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.get(self.url + path, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


def start_server(
    demo: Demo, workdir: Path, *extra: str, registry: Path = REGISTRY
) -> Iterator[Server]:
    port = free_port()
    log = workdir / f"serve-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "smartpark",
        "serve",
        "--registry",
        str(registry),
        "--store",
        f"sqlite:///{demo.store}",
        "--tokens",
        str(demo.access),
        "--landuse-monthly",
        str(MONTHLY),
        "--port",
        str(port),
        *extra,
    ]
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            return httpx.get(url + "/openapi.json", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=30, what="smartpark serve", details=log.read_text)
        yield Server(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(
        demo, tmp_path_factory.mktemp("serve"), "--rate", "1000", "--burst", "1000"
    )
