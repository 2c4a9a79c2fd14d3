"""How a smartpark client connects to the MQTT broker: one :class:`MqttOptions` for all.

The gateway (paho-mqtt) and ingest (aiomqtt) build the same options from a broker URL
(:func:`smartpark.core.urls.parse_broker_url`) plus TLS files and the password from
``SMARTPARK_MQTT_PASSWORD`` / ``SMARTPARK_MQTT_PASSWORD_FILE``
(:func:`smartpark.core.secrets.read_secret`). The password never shows in ``repr`` or
``str``, so options can be logged. What a client does with the connection (the
gateway's batching, ingest's persistent session) is that part's own options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from smartpark.core.secrets import read_secret
from smartpark.core.urls import BrokerUrl

Protocol = Literal["3.1.1", "5"]
PROTOCOLS: tuple[Protocol, ...] = ("3.1.1", "5")


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """Where and as whom to connect; see the module docstring."""

    host: str
    port: int
    client_id: str
    protocol: Protocol = "3.1.1"
    keepalive_s: int = 30
    tls: bool = False
    ca_file: str | None = None  # TLS: CA bundle (None: the system's)
    cert_file: str | None = None  # TLS client certificate and its key
    key_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 10.0

    @classmethod
    def from_url(
        cls,
        url: BrokerUrl,
        client_id: str,
        *,
        protocol: Protocol = "3.1.1",
        keepalive_s: int = 30,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
    ) -> MqttOptions:
        """Options for ``url``; the password is read (only) when the URL names a user."""
        return cls(
            host=url.host,
            port=url.port,
            client_id=client_id,
            protocol=protocol,
            keepalive_s=keepalive_s,
            tls=url.tls,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            username=url.username,
            password=read_secret("mqtt_password") if url.username else None,
        )
