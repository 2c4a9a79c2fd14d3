"""``smartpark serve`` benchmark: the KPI endpoint and the web pages under 50 clients.

    .venv/bin/python bench/bench_serve.py [--clients 50] [--requests 3000] [--seconds 20]

Fills a SQLite store with ``smartpark demo --days 1`` (the example zone), makes a token
and two web users (one reading the park, one admin), starts the real server (uvicorn,
loopback, rate limit off) in a subprocess and sends requests from an httpx AsyncClient
load generator (in this process, so it shares the CPU with the server): first the
hourly KPIs of one park-day with the token, then with session cookies the park's page,
an enterprise page of that park (as the park user) and the zone's page (as the admin),
each a bounded count and time. Prints p50/p99 latency and requests/s for each; decides
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from smartpark.testing.servers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "src" / "smartpark" / "examples" / "registry.toml"
PATH = "/api/v1/kpi?scope=park&id=petrochem&period=hour&from=2026-12-01&to=2026-12-02"
PARK_PAGE = "/view/park/petrochem?month=2026-12"
ENTERPRISE_PAGE = "/view/enterprise/chem-a?month=2026-12"
ZONE_PAGE = "/view/zone/lanzhou-new-area?month=2026-12"
PASSWORD = "bench-password"


async def load(
    url: str, path: str, auth: dict[str, str], clients: int, total: int, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as c:

        async def worker() -> None:
            while len(latencies) < total and time.monotonic() < deadline:
                t0 = time.perf_counter()
                r = await c.get(path, headers=auth)
                r.raise_for_status()
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def session(url: str, user: str) -> dict[str, str]:
    """The cookie header of a fresh web session of ``user``."""
    login = httpx.post(url + "/login", data={"user": user, "password": PASSWORD})
    return {"Cookie": f"smartpark_session={login.cookies['smartpark_session']}"}


def report(what: str, lat: list[float], elapsed: float, cpu: float, clients: int) -> None:
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"{what}, {clients} clients, {len(lat)} requests in {elapsed:.1f} s")
    print(
        f"  p50 {statistics.median(lat) * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms  "
        f"{len(lat) / elapsed:.0f} requests/s  (the load generator used "
        f"{cpu / elapsed:.0%} of a core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        smartpark = [sys.executable, "-m", "smartpark"]
        subprocess.run(
            [*smartpark, "demo", "--start", "2026-12-01", "--days", "1", "--out", str(out)],
            check=True,
            capture_output=True,
        )
        access = AccessStore(Path(tmp) / "access.db")
        _, token = access.create_token(Grant("read", "park:petrochem"), "bench")
        access.add_user("bench", PASSWORD, Grant("read", "park:petrochem"))
        access.add_user("bench-admin", PASSWORD, Grant("admin", None))
        access.close()
        port = free_port()
        cmd = [
            *smartpark,
            "serve",
            "--registry",
            str(REGISTRY),
            "--store",
            f"sqlite:///{out / 'store.db'}",
            "--tokens",
            str(Path(tmp) / "access.db"),
            "--port",
            str(port),
            "--rate",
            "0",
            "--log-level",
            "warning",
        ]
        log = (Path(tmp) / "serve.log").open("wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:

            def up() -> bool:
                try:
                    return httpx.get(url + "/openapi.json", timeout=1).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up, timeout=30, what="smartpark serve")
            bearer = {"Authorization": f"Bearer {token}"}
            rows = len(httpx.get(url + PATH, headers=bearer).json()["rows"])
            park_user, admin = session(url, "bench"), session(url, "bench-admin")
            targets = (
                (f"KPI endpoint ({rows} rows a reply)", PATH, bearer),
                (f"park page {PARK_PAGE}", PARK_PAGE, park_user),
                (f"enterprise page {ENTERPRISE_PAGE}", ENTERPRISE_PAGE, park_user),
                (f"zone page {ZONE_PAGE} (admin)", ZONE_PAGE, admin),
            )
            runs = []
            for what, path, auth in targets:
                started, cpu = time.perf_counter(), time.process_time()
                lat = asyncio.run(load(url, path, auth, args.clients, args.requests, args.seconds))
                runs.append((what, lat, time.perf_counter() - started, time.process_time() - cpu))
        except httpx.HTTPError:
            print((Path(tmp) / "serve.log").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
    for what, lat, elapsed, cpu in runs:
        report(what, lat, elapsed, cpu, args.clients)


if __name__ == "__main__":
    main()
