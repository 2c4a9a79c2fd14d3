"""Manual MQTT acknowledgement: a PUBACK leaves only after the readings are durable.

Why aiomqtt plus the wrapped paho client, and not paho alone under asyncio:

- aiomqtt 2.5.1 has no public manual acknowledgement (its issue #345, draft PR #346).
  It wraps a paho-mqtt 2.x client, which has one: ``manual_ack_set(True)`` stops paho
  from sending the PUBACK after ``on_message`` (``Client._handle_publish`` checks
  ``_manual_ack`` for QoS 1), and ``ack(mid, qos)`` sends it later.
- aiomqtt keeps that paho client in ``Client._client`` and never resets its
  ``_manual_ack`` flag, so switching it on before connecting is enough: messages the
  broker replays right after CONNACK (a persistent session) are not acknowledged
  either. ``ack`` runs on the event loop thread; paho queues the packet under its own
  lock and aiomqtt's write callback sends it.
- Driving paho directly under asyncio would mean re-writing aiomqtt's socket
  integration (add_reader/add_writer, misc loop, connect in an executor, futures for
  SUBACK) for the sake of one flag. Reaching one private attribute is the smaller
  risk, and it is confined to this module: :meth:`ManualAck.attach` fails loudly if a
  future aiomqtt moves it.

Two more rules live here because they are about acknowledgement, not transport:

- An acknowledgement belongs to the connection the message came on. Message ids are
  per connection; after a reconnect the broker resends every un-acknowledged message
  and may reuse an id for a new one. Acking an old id on the new connection could
  acknowledge a message that has not been written yet, so acks of an earlier
  connection's messages are dropped (their redelivered copies get acked instead, and
  the duplicate write is harmless: the store overwrites the same point).
- QoS 0 deliveries have no acknowledgement; they are skipped.

Acknowledgements must go out in the order the messages arrived (MQTT 3.1.1 §4.6);
the pipeline acks each batch in arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt


@dataclass(frozen=True, slots=True)
class AckToken:
    """What is needed to acknowledge one received message later."""

    connection: int  # ManualAck.connection when the message arrived
    mid: int
    qos: int


class ManualAck:
    """Acknowledges messages of the current connection of one aiomqtt client.

    Call :meth:`attach` with each new :class:`aiomqtt.Client` *before* entering it
    (connecting), :meth:`token` for every received message, and :meth:`ack` once the
    message's readings are durable.
    """

    def __init__(self) -> None:
        self._paho: mqtt.Client | None = None
        self.connection = 0  # increases with every attach
        self.acked = 0
        self.dropped_stale = 0

    def attach(self, client: aiomqtt.Client) -> None:
        """Switch ``client`` to manual acknowledgement; earlier tokens become stale."""
        paho: Any = getattr(client, "_client", None)
        if not isinstance(paho, mqtt.Client) or not hasattr(paho, "manual_ack_set"):
            raise RuntimeError(
                "this aiomqtt version does not wrap a paho-mqtt >= 2.0 client in "
                "Client._client; manual acknowledgement (ingest/ack.py) must be adapted"
            )
        paho.manual_ack_set(True)
        self._paho = paho
        self.connection += 1

    def detach(self) -> None:
        """The connection is gone: every outstanding token is now stale."""
        self._paho = None
        self.connection += 1

    def token(self, message: aiomqtt.Message) -> AckToken:
        return AckToken(self.connection, message.mid, message.qos)

    def ack(self, tokens: Iterable[AckToken]) -> int:
        """Acknowledge ``tokens`` in order; returns how many PUBACKs were queued.

        Tokens of an earlier connection and QoS 0 tokens are skipped.
        """
        paho = self._paho
        sent = 0
        for token in tokens:
            if token.qos == 0:
                continue
            if paho is None or token.connection != self.connection:
                self.dropped_stale += 1
                continue
            if paho.ack(token.mid, token.qos) == mqtt.MQTT_ERR_SUCCESS:
                sent += 1
            else:  # not connected any more: the broker will redeliver
                self.dropped_stale += 1
        self.acked += sent
        return sent
