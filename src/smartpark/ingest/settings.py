"""Settings of ``smartpark ingest``: the common options plus batching, session and retries.

Read with :func:`smartpark.core.settings.load_settings` from ``--config FILE``,
``SMARTPARK_*`` variables (``SMARTPARK_BATCH_SIZE``, ``SMARTPARK_SHARED_GROUP``, ...)
and command-line options. The MQTT password comes from ``SMARTPARK_MQTT_PASSWORD`` (or
``..._FILE``), never from here. Without a ``dead_letters`` setting the dead-letter file
is :func:`smartpark.ingest.deadletter.default_path` of the store (absolute).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from smartpark.core.ids import ID_PATTERN
from smartpark.core.settings import CommonSettings
from smartpark.core.urls import DEFAULT_STORE
from smartpark.ingest.deadletter import default_path


class IngestSettings(CommonSettings):
    # Batching: a write happens at batch_size readings or batch_ms after the first one.
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)
    batch_ms: int = Field(default=200, ge=0, le=60_000)
    # Messages waiting between subscriber and writer; when full the subscriber stops.
    queue_size: int = Field(default=1_000, ge=1, le=1_000_000)
    # MQTT session: a stable client id so the broker keeps our messages while we are down.
    client_id: str = Field(default="smartpark-ingest", min_length=1, max_length=128)
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    shared_group: str | None = Field(default=None, pattern=f"^{ID_PATTERN}$")
    receive_maximum: int = Field(default=1_000, ge=1, le=65_535)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0, le=4_294_967_295)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # Store retries: exponential backoff with full jitter between retry_base_s and max.
    retry_base_s: float = Field(default=0.2, gt=0, le=60)
    retry_max_s: float = Field(default=30.0, gt=0, le=3600)
    # On SIGTERM, how long to try to flush before leaving the rest to the broker.
    drain_timeout_s: float = Field(default=30.0, ge=0, le=3600)
    # Refused readings; the default (filled in below) depends on the store.
    dead_letters: Path

    @model_validator(mode="before")
    @classmethod
    def _default_dead_letters(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("dead_letters") is None:
            store = data.get("store", DEFAULT_STORE)
            data = {**data, "dead_letters": default_path(store if isinstance(store, str) else "")}
        return data

    @model_validator(mode="after")
    def _shared_needs_mqtt5(self) -> IngestSettings:
        if self.shared_group and self.mqtt_protocol != "5":
            raise ValueError("shared_group needs mqtt_protocol = '5' (shared subscriptions)")
        return self
