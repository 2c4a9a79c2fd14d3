"""Back-pressure at the socket: stop reading from the broker while our buffer is full.

aiomqtt reads the socket whenever it is readable and puts every message into an
unbounded ``asyncio.Queue`` (a bounded one would *drop* messages with a warning). The
broker's in-flight window is no reliable bound either: mosquitto 2.0.11 was measured
here sending several times its client's MQTT 5 *Receive Maximum* when replaying a
session's queued messages. So the bound is enforced on our side:

- aiomqtt is given our queue class (its public ``queue_type`` parameter); when the
  queue holds ``high`` messages, :class:`ReadFlow` removes the socket's reader from the
  event loop, so nothing more is read: the kernel's receive buffer fills, TCP flow
  control stops the broker, and the broker keeps the messages (that is its job);
- when the consumer has taken the queue down to ``low``, the reader is put back.

Putting the reader back means registering a callback that does what aiomqtt's does
(``paho.loop_read()`` until the TLS layer has nothing pending; an exception marks the
client disconnected): that reaches two private attributes of aiomqtt 2.5.1,
``Client._client`` (the paho client, as in :mod:`ingest.ack`) and
``Client._disconnected``, which is why it lives in this one small, tested module.

Caveat: while reading is paused the client cannot read the broker's PINGRESP either;
paho closes a connection that misses one for a keepalive period, and the subscriber
then reconnects (un-acknowledged messages are redelivered, nothing is lost). Keep
``keepalive_s`` above the store's expected stalls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt

from smartpark.ingest.metrics import IngestMetrics


class ReadFlow:
    """Pauses and resumes reading of the current aiomqtt client's socket."""

    def __init__(self, high: int, low: int | None = None, metrics: IngestMetrics | None = None):
        if high < 1:
            raise ValueError("high watermark must be >= 1")
        self.high = high
        self.low = high // 2 if low is None else low
        self.metrics = metrics
        self.paused = False
        self.pauses = 0
        self.queue: asyncio.Queue[aiomqtt.Message] | None = None  # the client's buffer
        self._client: aiomqtt.Client | None = None
        self._fd: int | None = None

    def queue_type(self) -> type[asyncio.Queue[aiomqtt.Message]]:
        """The queue class to give aiomqtt (``Client(queue_type=...)``)."""
        flow = self

        class FlowQueue(asyncio.Queue[aiomqtt.Message]):
            def __init__(self, maxsize: int = 0) -> None:
                super().__init__(maxsize)
                flow.queue = self

            def put_nowait(self, item: aiomqtt.Message) -> None:
                super().put_nowait(item)
                if self.qsize() >= flow.high:
                    flow.pause()

            def get_nowait(self) -> aiomqtt.Message:
                item = super().get_nowait()
                if flow.paused and self.qsize() <= flow.low:
                    flow.resume()
                return item

        return FlowQueue

    def take_nowait(self) -> aiomqtt.Message | None:
        """The next buffered message without waiting (None when there is none).

        Draining this way skips aiomqtt's per-message task of ``Client.messages``.
        """
        if self.queue is None or self.queue.empty():
            return None
        return self.queue.get_nowait()

    def attach(self, client: aiomqtt.Client) -> None:
        """Follow ``client`` (a new connection): nothing is paused yet."""
        self._client = client
        self.paused = False
        self._fd = None

    def pause(self) -> None:
        if self.paused or self._client is None:
            return
        sock = _paho(self._client).socket()
        if sock is None:
            return
        self._fd = sock.fileno()
        asyncio.get_running_loop().remove_reader(self._fd)
        self.paused = True
        self.pauses += 1
        if self.metrics is not None:
            self.metrics.read_pauses.inc()

    def resume(self) -> None:
        if not self.paused or self._client is None:
            return
        self.paused = False
        paho = _paho(self._client)
        sock = paho.socket()
        if sock is None or sock.fileno() != self._fd:  # closed meanwhile: nothing to resume
            return
        client = self._client

        def read() -> None:  # what aiomqtt's reader callback does
            try:
                while True:
                    paho.loop_read()
                    pending = getattr(paho.socket(), "pending", None)
                    if pending is not None and pending() > 0:
                        continue
                    break
            except Exception as exc:
                disconnected: asyncio.Future[None] = client._disconnected
                if not disconnected.done():
                    disconnected.set_exception(exc)

        asyncio.get_running_loop().add_reader(sock.fileno(), read)


def _paho(client: aiomqtt.Client) -> Any:
    return client._client
