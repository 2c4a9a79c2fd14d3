"""``Running.counts()``: what the service says it took in equals what the store holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartpark.core.timestamps import now_ms
from smartpark.core.urls import parse_store_url
from smartpark.ingest.metrics import IngestCounts
from smartpark.ingest.service import Running
from smartpark.store import open_store
from smartpark.testing.mqtt import Publisher
from smartpark.testing.payloads import payload
from smartpark.testing.servers import Mosquitto
from tests.ingest.park import park_registry, reading
from tests.ingest.service_runner import eventually, run_service, settings_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]

REG = park_registry()
T1 = "smartpark/v1/p1/g1/telemetry"


def test_counts_report_what_was_stored_and_what_was_rejected(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = open_store(parse_store_url(f"sqlite:///{tmp_path / 'store.db'}"), REG)
    t0 = now_ms() - 60_000
    good = [
        payload("g1", [reading("m-elec", t0 + i * 10 + j, float(j)) for j in range(10)], seq=i)
        for i in range(4)
    ]
    mixed = payload(
        "g1",
        [
            reading("m-gas", t0, 2.0),
            reading("m-water", t0, 2.0),  # g2's meter: wrong_gateway
            reading("m-ghost", t0, 1.0),  # unknown_meter
        ],
        seq=9,
    )
    seen: list[IngestCounts] = []

    async def body(running: Running) -> None:
        assert running.counts() == IngestCounts(0, 0, 0, 0, 0)
        with Publisher(mosquitto) as pub:
            await asyncio.to_thread(pub.publish, T1, [*good, mixed, b"not json"])
        await eventually(lambda: running.subscriber.acker.acked >= 6)
        await eventually(lambda: running.counts().stored >= 41)
        seen.append(running.counts())

    try:
        run_service(settings_for(mosquitto, tmp_path), REG, store, body)
        in_store = len(store.read(t0 - 1, t0 + 1_000))
    finally:
        store.close()
    assert seen == [
        IngestCounts(accepted=41, rejected=2, payloads_rejected=1, stored=41, dead_letters=0)
    ]
    assert in_store == seen[0].stored
