"""MQTT topics of the wire contract (docs/contract.md).

``smartpark/v1/{park}/{gateway}/telemetry`` carries readings; ``.../status`` is retained
``online``/``offline`` (the Last Will). The ``v1`` segment versions the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from smartpark.core.errors import ContractError
from smartpark.core.ids import check_id

ROOT: Final = "smartpark/v1"
TELEMETRY_SUBSCRIPTION: Final = f"{ROOT}/+/+/telemetry"
STATUS_SUBSCRIPTION: Final = f"{ROOT}/+/+/status"
STATUS_ONLINE: Final = b"online"
STATUS_OFFLINE: Final = b"offline"

Channel = Literal["telemetry", "status"]


@dataclass(frozen=True, slots=True)
class Topic:
    park: str
    gateway: str
    channel: Channel

    def __post_init__(self) -> None:
        check_id(self.park, "topic.park")
        check_id(self.gateway, "topic.gateway")
        if self.channel not in ("telemetry", "status"):
            raise ContractError("bad_topic", "topic", f"unknown channel {self.channel!r}")

    def __str__(self) -> str:
        return f"{ROOT}/{self.park}/{self.gateway}/{self.channel}"


def telemetry_topic(park: str, gateway: str) -> str:
    return str(Topic(park, gateway, "telemetry"))


def status_topic(park: str, gateway: str) -> str:
    return str(Topic(park, gateway, "status"))


def shared_subscription(group: str) -> str:
    """MQTT 5 shared subscription so several ingest processes split the telemetry."""
    check_id(group, "group")
    return f"$share/{group}/{TELEMETRY_SUBSCRIPTION}"


def parse_topic(topic: str) -> Topic:
    """Parse a contract topic; ``ContractError(bad_topic|bad_id)`` when it is not one."""
    parts = topic.split("/")
    if (
        len(parts) != 5
        or f"{parts[0]}/{parts[1]}" != ROOT
        or parts[4] not in ("telemetry", "status")
    ):
        raise ContractError("bad_topic", "topic", f"not a smartpark v1 topic: {topic[:200]!r}")
    channel: Channel = "telemetry" if parts[4] == "telemetry" else "status"
    return Topic(parts[2], parts[3], channel)
