"""Gateway presence from status messages and telemetry."""

from __future__ import annotations

from smartpark.core.topics import Topic
from smartpark.ingest.metrics import IngestMetrics
from smartpark.ingest.status import GatewayStatus
from tests.ingest.park import park_registry


def test_online_offline_and_last_seen() -> None:
    metrics = IngestMetrics()
    status = GatewayStatus(park_registry(), metrics)
    g1 = Topic("p1", "g1", "status")
    # A retained "online" replayed on subscription: state yes, sign of life no.
    assert status.status(g1, b"online", 1_000, retained=True)
    assert (status.gateways["g1"].online, status.gateways["g1"].last_seen_ms) == (True, None)
    assert status.status(g1, b"offline", 2_000)  # the Last Will
    state = status.gateways["g1"]
    assert (state.online, state.last_seen_ms, state.status_changed_ms) == (False, 2_000, 2_000)
    status.seen(Topic("p1", "g1", "telemetry"), 3_000)
    assert status.gateways["g1"].last_seen_ms == 3_000
    assert (
        metrics.registry.get_sample_value("smartpark_ingest_gateway_online", {"gateway": "g1"}) == 0
    )
    assert (
        metrics.registry.get_sample_value(
            "smartpark_ingest_gateway_last_seen_seconds", {"gateway": "g1"}
        )
        == 3.0
    )


def test_unknown_gateways_wrong_parks_and_garbage_are_ignored() -> None:
    status = GatewayStatus(park_registry(), IngestMetrics())
    assert not status.status(Topic("p1", "g-rogue", "status"), b"online", 1)
    assert not status.status(Topic("p2", "g1", "status"), b"online", 1)  # g1 is in p1
    assert not status.status(Topic("p1", "g1", "status"), b"maybe", 1)
    status.seen(Topic("p1", "g-rogue", "telemetry"), 1)
    assert status.gateways == {}
