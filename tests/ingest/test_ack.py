"""Manual acknowledgement against a real mosquitto: what is not acked comes back."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from smartpark.ingest.ack import AckToken, ManualAck
from smartpark.testing.servers import Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(60)]

WAIT = 10.0


def _publish(broker: Mosquitto, topic: str, payloads: list[bytes]) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        for payload in payloads:
            info = pub.publish(topic, payload, qos=1)
            info.wait_for_publish(timeout=WAIT)
            assert info.is_published()
    finally:
        pub.disconnect()
        pub.loop_stop()


def _client(broker: Mosquitto, client_id: str, protocol: str) -> aiomqtt.Client:
    if protocol == "v5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 600
        return aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=props,
        )
    return aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V311,
        clean_session=False,
    )


async def _receive(client: aiomqtt.Client, n: int) -> list[aiomqtt.Message]:
    got: list[aiomqtt.Message] = []
    async with asyncio.timeout(WAIT):
        async for message in client.messages:
            got.append(message)
            if len(got) == n:
                break
    return got


async def _quiet(client: aiomqtt.Client, seconds: float) -> list[aiomqtt.Message]:
    """Messages arriving within ``seconds`` (expected: none)."""
    got: list[aiomqtt.Message] = []
    try:
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                got.append(message)
    except TimeoutError:
        pass
    return got


@pytest.mark.parametrize("protocol", ["v311", "v5"])
def test_unacked_message_is_redelivered_after_reconnect(
    mosquitto: Mosquitto, protocol: str
) -> None:
    topic = f"smartpark/test/{uuid.uuid4().hex}"
    client_id = f"ingest-ack-{uuid.uuid4().hex[:8]}"
    acker = ManualAck()

    async def first_session() -> list[AckToken]:
        client = _client(mosquitto, client_id, protocol)
        acker.attach(client)
        async with client:
            await client.subscribe(topic, qos=1)
            await asyncio.to_thread(_publish, mosquitto, topic, [b"one", b"two", b"three"])
            got = await _receive(client, 3)
            assert [m.payload for m in got] == [b"one", b"two", b"three"]
            tokens = [acker.token(m) for m in got]
            assert acker.ack(tokens[:1]) == 1  # only "one" is durable
            await asyncio.sleep(0.2)  # let the PUBACK leave before disconnecting
        acker.detach()
        return tokens

    async def second_session(old: list[AckToken]) -> None:
        client = _client(mosquitto, client_id, protocol)
        acker.attach(client)
        async with client:
            got = await _receive(client, 2)
            assert sorted(m.payload for m in got) == [b"three", b"two"]
            # Tokens of the first connection are stale: never acked on this one.
            assert acker.ack(old[1:]) == 0
            assert acker.ack([acker.token(m) for m in got]) == 2
            assert await _quiet(client, 1.0) == []
        acker.detach()

    async def third_session() -> None:
        client = _client(mosquitto, client_id, protocol)
        acker.attach(client)
        async with client:
            assert await _quiet(client, 1.0) == []  # everything was acked
            await client.unsubscribe(topic)
        acker.detach()

    async def scenario() -> None:
        tokens = await first_session()
        await second_session(tokens)
        await third_session()

    asyncio.run(scenario())
    assert acker.acked == 3
    assert acker.dropped_stale == 2


def test_qos0_tokens_are_skipped() -> None:
    acker = ManualAck()
    assert acker.ack([AckToken(acker.connection, 1, 0)]) == 0
    assert acker.dropped_stale == 0


def test_ack_without_a_connection_is_dropped_not_sent() -> None:
    acker = ManualAck()
    assert acker.ack([AckToken(acker.connection, 7, 1)]) == 0
    assert acker.dropped_stale == 1


def test_attach_refuses_a_client_without_a_paho_client() -> None:
    class NotAiomqtt:
        pass

    with pytest.raises(RuntimeError, match=r"Client\._client"):
        ManualAck().attach(NotAiomqtt())  # type: ignore[arg-type]
