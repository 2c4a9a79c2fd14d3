"""End to end on real servers: paho → mosquitto → ingest → influxd, checked with InfluxQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from smartpark.core.timestamps import now_ms
from smartpark.ingest.service import Running
from smartpark.testing.mqtt import Publisher
from smartpark.testing.payloads import payload
from smartpark.testing.servers import Influxd, Mosquitto
from tests.ingest.park import park_registry, reading
from tests.ingest.service_runner import eventually, run_service, settings_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(180)]

REG = park_registry()
T1 = "smartpark/v1/p1/g1/telemetry"
T3 = "smartpark/v1/p2/g3/telemetry"


def stored(running: Running) -> float:
    value = running.metrics.registry.get_sample_value("smartpark_ingest_readings_stored_total")
    return value or 0.0


def counter(running: Running, name: str, **labels: str) -> float:
    value = running.metrics.registry.get_sample_value(f"smartpark_ingest_{name}_total", labels)
    return value or 0.0


def test_readings_reach_influxd_with_registry_tags_and_canonical_values(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, tmp_path, store=influxd.store_url(influx_db))
    t0 = now_ms() - 3_600_000
    first = payload(
        "g1",
        [
            reading("m-elec", t0, 1.5, unit="MWh"),
            reading("m-gas", t0, 2.0, unit="km3"),
            reading("m-power", t0 + 500, 3.25),  # multiplier 10 is for the analytics
        ],
    )
    second = payload("g3", [reading("m-nox", t0, 40.0, unit="ug/m3")])

    async def body(running: Running) -> None:
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, [first, first])  # a redelivery
            await asyncio.to_thread(pub.publish, T3, [second])
        await eventually(lambda: stored(running) == 7)

    run_service(settings, REG, None, body)
    rows = influxd.query(influx_db, "SELECT * FROM energy, emissions")
    got = sorted(
        (r["time"], r["meter"], r["enterprise"], r["park"], r["quantity"], r["value"]) for r in rows
    )
    assert got == [
        (t0, "m-elec", "e1", "p1", "electricity_import", 1500.0),
        (t0, "m-gas", "e1", "p1", "natural_gas", 2000.0),
        (t0, "m-nox", "e3", "p2", "nox", 0.04),
        (t0 + 500, "m-power", "e1", "p1", "active_power", 3.25),
    ]
    keys = influxd.query(influx_db, "SHOW TAG KEYS FROM energy")
    assert sorted(k["tagKey"] for k in keys) == ["enterprise", "meter", "park", "quantity"]
    measurements = influxd.query(influx_db, "SHOW MEASUREMENTS")
    # rollup_dirty: the windows each write touched, for the rollups (docs/store.md)
    assert sorted(m["name"] for m in measurements) == ["emissions", "energy", "rollup_dirty"]


BAD_IDS = ["m elec", "m,elec", 'm"elec', "m\nelec", "m=elec"]


def mixed_readings(t0: int) -> list[Any]:
    """Good readings among one of each per-reading problem."""
    return [
        reading("m-elec", t0, 1.0),  # good
        *[reading(bad, t0, 1.0) for bad in BAD_IDS],  # bad_id x5 (line-protocol injection)
        reading("m-elec", t0 + 1, "12.5"),  # string for a number: bad_reading
        reading("m-elec", t0 + 2, True),  # bool: bad_reading
        {k: v for k, v in reading("m-elec", t0 + 3, 1.0).items() if k != "unit"},  # missing
        reading("m-elec", t0 + 4, {"a": [[[[1]]]]}),  # nested object: bad_reading
        reading("m-elec", t0 + 5, 1e308, unit="GWh"),  # overflows to inf: non_finite
        reading("m-elec", 0, 1.0),  # 1970: ts_out_of_range
        reading("m-elec", 32_503_680_000_000, 1.0),  # 2999: ts_out_of_range
        reading("m-elec", t0 + 6, 1.0, unit="kWh value=666 1\nenergy,meter=x"),  # bad_unit
        reading("m-elec", t0 + 7, 1.0, quantity="electricity_import,park=evil"),  # unknown q
        reading("m-water", t0, 1.0),  # g2's meter: wrong_gateway
        reading("m-ghost", t0, 1.0),  # unknown_meter
        reading("m-gas", t0, 1.0, quantity="electricity_import", unit="kWh"),  # mismatch
        reading("m-gas", t0, 5.0),  # good
    ]


def test_hostile_payloads_are_counted_good_readings_stored_service_keeps_running(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    settings = settings_for(mosquitto, tmp_path, store=influxd.store_url(influx_db))
    t0 = now_ms() - 3_600_000
    mixed = payload("g1", mixed_readings(t0))
    envelope = {"gateway": "g1", "seq": 1, "sent_at": t0}
    whole: list[tuple[str, bytes]] = [
        (T1, b"not json at all"),
        (T1, b'{"gateway": "g1", "seq": 1, "sent_at": 1, "readings": [NaN]}'),
        (T1, b" " * (10 * 1024 * 1024)),  # 10 MB
        (T1, b'{"gateway":"g1","seq":1,"sent_at":1,"readings":[' + b"[" * 99_000),
        (T1, payload("g2", [reading("m-elec", t0, 1.0)])),  # payload gateway != topic
        (T1, json.dumps({**envelope, "readings": {"m": 1}}).encode()),  # readings not a list
        (T1, json.dumps({"gateway": "g1"}).encode()),  # envelope fields missing
        (T1, "\udcff".encode("utf-8", "surrogatepass")),  # not UTF-8
        ("smartpark/v1/p1/g 1,x=y/telemetry", payload("g 1,x=y", [])),  # bad topic id
        ("smartpark/v1/p1/g-rogue/telemetry", payload("g-rogue", [reading("m-elec", t0, 1)])),
    ]
    final = payload("g1", [reading("m-elec", t0 + 100, 42.0)])

    async def body(running: Running) -> None:
        with Publisher(mosquitto) as pub:
            for topic, data in whole:
                await asyncio.to_thread(pub.publish, topic, [data])
            await asyncio.to_thread(pub.publish, T1, [mixed])
            await asyncio.to_thread(pub.publish, T1, [final])
        await eventually(lambda: stored(running) == 3)
        await eventually(lambda: running.subscriber.acker.acked == len(whole) + 2)
        assert running.subscriber.connected

        def rejected(reason: str, gateway: str = "g1") -> float:
            return counter(running, "readings_rejected", gateway=gateway, reason=reason)

        def payloads(reason: str, gateway: str = "g1") -> float:
            return counter(running, "payloads_rejected", gateway=gateway, reason=reason)

        assert rejected("bad_id") == 5
        assert rejected("bad_reading") == 4
        assert rejected("non_finite") == 1
        assert rejected("ts_out_of_range") == 2
        assert rejected("bad_unit") == 1
        assert rejected("unknown_quantity") == 1
        assert rejected("wrong_gateway") == 1
        assert rejected("unknown_meter") == 1
        assert rejected("quantity_mismatch") == 1
        assert rejected("unknown_gateway", "unknown") == 1
        assert payloads("not_json") == 4  # garbage, NaN literal, deep nesting, bad UTF-8
        assert payloads("too_large") == 1
        assert payloads("gateway_mismatch") == 1
        assert payloads("bad_payload") == 2
        assert payloads("bad_topic", "unknown") == 1
        assert counter(running, "readings_accepted", gateway="g1") == 3

    run_service(settings, REG, None, body)
    rows = influxd.query(influx_db, "SELECT * FROM energy, water")
    assert sorted((r["time"], r["meter"], r["value"]) for r in rows) == [
        (t0, "m-elec", 1.0),
        (t0, "m-gas", 5.0),
        (t0 + 100, "m-elec", 42.0),
    ]
    meters = influxd.query(influx_db, 'SHOW TAG VALUES FROM energy WITH KEY = "meter"')
    assert sorted(m["value"] for m in meters) == ["m-elec", "m-gas"]
    shown = influxd.query(influx_db, "SHOW MEASUREMENTS")
    assert sorted(m["name"] for m in shown) == ["energy", "rollup_dirty"]


def test_store_down_loses_nothing_and_memory_stays_bounded(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    with Influxd(tmp_path / "influxd") as db:
        db.create_database("park")
        settings = settings_for(
            mosquitto,
            tmp_path,
            store=db.store_url("park"),
            queue_size=5,
            receive_maximum=20,
            batch_size=50,
            retry_max_s=0.3,
        )
        t0 = now_ms() - 3_600_000
        messages = [
            payload("g1", [reading("m-elec", t0 + i * 10 + j, float(i)) for j in range(10)], seq=i)
            for i in range(200)
        ]
        peak = {"queue": 0, "buffer": 0}

        async def body(running: Running) -> None:
            await asyncio.to_thread(db.stop)
            with Publisher(mosquitto) as pub:
                await asyncio.to_thread(pub.publish, T1, messages)
            await eventually(lambda: running.pipeline.qsize() >= 5)  # backlog
            for _ in range(100):  # 2 s of the outage, sampled
                peak["queue"] = max(peak["queue"], running.pipeline.qsize())
                peak["buffer"] = max(peak["buffer"], running.subscriber.buffered())
                await asyncio.sleep(0.02)
            assert running.pipeline.health() is not None  # /healthz says the store fails
            assert counter(running, "write_retries") >= 1
            assert stored(running) == 0
            await asyncio.to_thread(db.start)
            await eventually(lambda: stored(running) == 2_000, timeout=60)
            assert running.pipeline.health() is None

        run_service(settings, REG, None, body, timeout=120)
        assert peak["queue"] <= 5
        assert peak["buffer"] <= 20
        rows = db.query("park", "SELECT count(value), sum(value) FROM energy")
        assert (rows[0]["count"], rows[0]["sum"]) == (2_000, 10 * sum(range(200)))


def test_points_influxd_refuses_are_dead_lettered_and_acked(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    t0 = now_ms() - 3_600_000
    # Make `value` a string field of `energy` in this shard: every float point of the
    # measurement is then refused (400 field type conflict), water points are not.
    influxd.write(influx_db, f'energy,meter=legacy value="text" {t0 - 1000}')
    settings = settings_for(
        mosquitto, tmp_path, store=influxd.store_url(influx_db), batch_ms=500, batch_size=1_000
    )
    energy = payload("g1", [reading("m-elec", t0 + i, float(i)) for i in range(8)])
    water = payload("g2", [reading("m-water", t0 + i, 10.0 + i) for i in range(4)])

    async def body(running: Running) -> None:
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, [energy])
            await asyncio.to_thread(pub.publish, "smartpark/v1/p1/g2/telemetry", [water])
        await eventually(lambda: running.subscriber.acker.acked == 2)
        assert counter(running, "dead_letters") == 8
        assert counter(running, "write_rejections") >= 1
        assert stored(running) == 4

    run_service(settings, REG, None, body)
    water_rows = influxd.query(influx_db, "SELECT value FROM water")
    assert [r["value"] for r in water_rows] == [10.0, 11.0, 12.0, 13.0]
    result = subprocess.run(
        [sys.executable, "-m", "smartpark", "ingest", "dead-letters", "--file",
         str(settings.dead_letters)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "8 dead letter(s)" in result.stdout
    assert "m-elec" in result.stdout
    assert "field type conflict" in result.stdout

    # Acknowledged: the same session gets nothing again.
    async def nothing(running: Running) -> None:
        await asyncio.sleep(1.0)
        assert running.subscriber.acker.acked == 0

    run_service(settings, REG, None, nothing)


def test_long_outage_with_reading_paused_past_keepalive_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Reading paused longer than the keepalive: paho drops the connection, the service
    reconnects, the broker redelivers; in the end every reading is stored once."""
    with Influxd(tmp_path / "influxd") as db:
        db.create_database("park")
        settings = settings_for(
            mosquitto,
            tmp_path,
            store=db.store_url("park"),
            mqtt_protocol="3.1.1",  # the broker's window (100) exceeds our buffer (20)
            queue_size=5,
            receive_maximum=20,
            batch_size=50,
            keepalive_s=5,
            retry_max_s=0.5,
        )
        t0 = now_ms() - 3_600_000
        messages = [
            payload("g1", [reading("m-elec", t0 + i * 10 + j, float(i)) for j in range(10)], seq=i)
            for i in range(300)
        ]

        async def body(running: Running) -> None:
            await asyncio.to_thread(db.stop)
            with Publisher(mosquitto) as pub:
                await asyncio.to_thread(pub.publish, T1, messages)
            await eventually(lambda: running.subscriber.flow.paused)
            peak = 0
            for _ in range(600):  # 12 s outage: more than twice the keepalive
                peak = max(peak, running.subscriber.buffered())
                await asyncio.sleep(0.02)
            assert peak <= 20
            await asyncio.to_thread(db.start)

            def count() -> int:  # in the store: the stored counter also counts rewrites
                rows = db.query("park", "SELECT count(value) FROM energy")
                return int(rows[0]["count"]) if rows else 0

            await eventually(lambda: count() == 3_000, timeout=90)
            assert running.metrics.registry.get_sample_value(
                "smartpark_ingest_broker_reconnects_total"
            )  # the keepalive really dropped the connection while paused

        run_service(settings, REG, None, body, timeout=150)
        rows = db.query("park", "SELECT count(value), sum(value) FROM energy")
        assert (rows[0]["count"], rows[0]["sum"]) == (3_000, 10 * sum(range(300)))
