"""Socket-level back-pressure against a real mosquitto: the client buffer stays bounded."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import pytest

from smartpark.ingest.ack import ManualAck
from smartpark.ingest.flow import ReadFlow
from smartpark.testing.mqtt import Publisher
from smartpark.testing.servers import Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(60)]


def test_reading_pauses_at_the_high_watermark_and_resumes(mosquitto: Mosquitto) -> None:
    topic = f"smartpark/test/{uuid.uuid4().hex}"
    flow = ReadFlow(high=50, low=10)
    acker = ManualAck()
    total = 400
    payload = b"x" * 2_000

    async def scenario() -> None:
        client = aiomqtt.Client(
            mosquitto.host,
            mosquitto.port,
            identifier=f"flow-{uuid.uuid4().hex[:8]}",
            queue_type=flow.queue_type(),
        )
        flow.attach(client)
        acker.attach(client)
        async with client:
            await client.subscribe(topic, qos=1)
            with Publisher(mosquitto) as pub:
                await asyncio.to_thread(pub.publish, topic, [payload] * total)
            # Nobody consumes: reading stops at the watermark, the broker keeps the rest.
            async with asyncio.timeout(10):
                while not flow.paused:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)
            assert len(client.messages) == 50
            assert flow.pauses == 1
            # Consuming resumes reading; every message arrives exactly once.
            got = 0
            async with asyncio.timeout(30):
                async for message in client.messages:
                    assert message.payload == payload
                    acker.ack([acker.token(message)])
                    got += 1
                    if got == total:
                        break
            assert got == total
            assert flow.pauses > 1  # paused again on the way (the publisher ran ahead)
            assert len(client.messages) == 0

    asyncio.run(scenario())


def test_watermarks_are_validated() -> None:
    with pytest.raises(ValueError, match="high watermark"):
        ReadFlow(high=0)
    assert ReadFlow(high=10).low == 5
