"""Status and metrics of a running gateway, and CSV back-fill through the outbox."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from smartpark.cli import app
from smartpark.gateway import config as gwconfig
from smartpark.gateway.drivers.base import BAD_ROW, NON_FINITE, UNKNOWN_METER
from smartpark.gateway.drivers.csv_replay import read_chunks
from smartpark.gateway.service import Gateway
from smartpark.testing.mqtt import Collector
from smartpark.testing.servers import Mosquitto, free_port
from tests.gateway.test_gateway_e2e import until, write_config, write_registry

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

CSV = """timestamp,meter,quantity,value,unit
1767225600000,sim-steam,steam,10.5,t
2026-01-01T08:01:00+08:00,sim-steam,steam,11.0,t
1767225720000,sim-steam,steam,11500,kg
1767225600000,someone-else,steam,1,t
1767225600000,sim-steam,heat,1,GJ
not-a-time,sim-steam,steam,1,t
1767225600000,sim-steam,steam,NaN,t
1767225600000,sim-steam,steam,abc,t
1767225600000,sim-o2,o2,1,%,extra
"""


def test_csv_rows_are_parsed_checked_and_chunked(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    chunks = list(read_chunks(path, {"sim-steam": "steam", "sim-o2": "o2"}, chunk=4))
    rows = [c.rows_done for c in chunks]
    assert rows == [4, 8, 9]
    readings = [
        r
        for c in chunks
        for r in zip(
            c.readings.ts.tolist(), c.readings.value.tolist(), c.readings.unit.tolist(), strict=True
        )
    ]
    assert readings[:3] == [
        (1767225600000, 10.5, "t"),
        (1767225660000, 11.0, "t"),
        (1767225720000, 11500.0, "kg"),
    ]
    assert len(readings) == 4  # the NaN row is read; the screen rejects it later
    errors = [(e.meter, e.reason, e.detail.split(":")[0]) for c in chunks for e in c.errors]
    assert errors == [
        ("someone-else", UNKNOWN_METER, "line 5"),
        ("sim-steam", BAD_ROW, "line 6"),
        ("sim-steam", BAD_ROW, "line 7"),
        ("sim-steam", BAD_ROW, "line 9"),
        ("-", BAD_ROW, "line 10"),
    ]
    resumed = list(read_chunks(path, {"sim-steam": "steam", "sim-o2": "o2"}, skip_rows=8))
    assert [c.rows_done for c in resumed] == [9]


def test_running_gateway_exposes_metrics_status_and_backfills_csv(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.toml"
    write_registry(registry, {})
    csv = tmp_path / "history.csv"
    csv.write_text(CSV, encoding="utf-8")
    port = free_port()
    cfg_path = write_config(
        tmp_path / "gw.toml",
        registry,
        mosquitto.url,
        f'metrics_port = {port}\n[simulator]\nseed = 1\n[csv]\npath = "{csv}"\n',
    )
    cfg = gwconfig.load(cfg_path)
    collector = Collector(mosquitto.host, mosquitto.port).start()
    scraped: dict[str, float] = {}

    async def main() -> Gateway:
        gw = Gateway(cfg)
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.csv_rows_done == 9, 30, "the CSV back-fill")
            await until(lambda: gw.publisher.stats.published >= 20, 30, "publishes")
            async with httpx.AsyncClient(trust_env=False) as client:
                response = await client.get(f"http://127.0.0.1:{port}/metrics")
            for line in response.text.splitlines():
                if line.startswith("smartpark_gateway_") and " " in line:
                    name, value = line.rsplit(" ", 1)
                    scraped[name] = float(value)
        finally:
            gw.stop()
            await asyncio.wait_for(task, 30)
        return gw

    try:
        gw = asyncio.run(main())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(r["meter"] == "sim-steam" and r["unit"] == "kg" for r in collector.readings()):
                break
            time.sleep(0.05)
        backfilled = [
            (r["ts"], r["value"], r["unit"])
            for r in collector.readings()
            if r["meter"] == "sim-steam" and r["ts"] < 1767225800000
        ]
    finally:
        collector.stop()

    assert backfilled == [
        (1767225600000, 10.5, "t"),
        (1767225660000, 11.0, "t"),
        (1767225720000, 11500.0, "kg"),
    ]
    assert gw.meter_errors[UNKNOWN_METER] == 1
    assert gw.meter_errors[BAD_ROW] == 4
    assert gw.meter_errors[NON_FINITE] == 1
    assert scraped["smartpark_gateway_polled_total"] >= 20
    assert scraped["smartpark_gateway_published_total"] >= 20
    assert scraped["smartpark_gateway_connected"] == 1.0
    assert scraped['smartpark_gateway_meter_errors_total{reason="bad_row"}'] == 4
    assert "smartpark_gateway_queued" in scraped
    assert "smartpark_gateway_oldest_age_s" in scraped
    assert 'smartpark_gateway_poll_jitter_ms{stat="p99"}' in scraped

    result = CliRunner().invoke(app, ["gateway", "status", "--config", str(cfg_path)])
    assert result.exit_code == 0, result.output
    assert "readings queued" in result.output
    assert "stopped (last saved status)" in result.output
    assert f"{gw.polled:,}" in result.output
    assert "bad_row 4" in result.output
