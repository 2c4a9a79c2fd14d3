"""The demo's MQTT broker when none is given: mosquitto if installed, else amqtt.

mosquitto runs as a subprocess on a free loopback port (the same harness the tests
use); on a bare machine without it, amqtt runs in-process. Both listen on 127.0.0.1
only and are stopped when the demo ends.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from smartpark.testing.servers import LOOPBACK, Mosquitto, find_mosquitto, free_port


@contextlib.asynccontextmanager
async def embedded_broker(
    workdir: Path, *, mosquitto: bool | None = None
) -> AsyncIterator[tuple[str, str]]:
    """Yield ``(broker URL, description)`` of a broker running for the block's duration.

    ``mosquitto``: True or False forces the choice; None takes mosquitto when installed.
    """
    if mosquitto if mosquitto is not None else find_mosquitto() is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        with Mosquitto(workdir) as broker:
            yield broker.url, f"mosquitto (subprocess, {broker.url})"
        return
    from amqtt.broker import Broker

    # amqtt logs every connection at INFO; the demo's progress display says enough.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    port = free_port()
    broker_amqtt = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker_amqtt.start()
    url = f"mqtt://{LOOPBACK}:{port}"
    try:
        yield url, f"amqtt (in-process, {url})"
    finally:
        await broker_amqtt.shutdown()
