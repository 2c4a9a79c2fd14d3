"""The /metrics and /healthz endpoint, on loopback."""

from __future__ import annotations

import asyncio

import httpx

from smartpark.ingest.metrics import IngestMetrics, MetricsServer


def test_healthz_reports_the_reason_and_metrics_render() -> None:
    metrics = IngestMetrics()
    metrics.readings_rejected.labels("g1", "bad_id").inc(3)
    problem: list[str | None] = ["store failing for 12 s: StoreError: connection refused"]

    async def scenario() -> None:
        server = MetricsServer(metrics, lambda: problem[0])
        await server.start()
        try:
            assert server.host == "127.0.0.1"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
                sick = await http.get("/healthz")
                problem[0] = None
                well = await http.get("/healthz")
                text = (await http.get("/metrics?x=1")).text
                post = await http.post("/metrics")
                head = await http.head("/healthz")
        finally:
            await server.close()
        assert (sick.status_code, sick.text) == (
            503,
            "store failing for 12 s: StoreError: connection refused\n",
        )
        assert (well.status_code, well.text) == (200, "ok\n")
        assert 'smartpark_ingest_readings_rejected_total{gateway="g1",reason="bad_id"} 3.0' in text
        assert post.status_code == 405
        assert (head.status_code, head.content) == (200, b"")

    asyncio.run(scenario())
