"""The :class:`MeterDriver` interface every driver implements, and what a poll returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from smartpark.gateway.readings import ReadingBatch

# Reasons a meter yields no reading on a poll (the ``reason`` of :class:`MeterError`).
TIMEOUT = "timeout"  # no answer in time (after the retries)
CONNECTION = "connection"  # endpoint unreachable
DEVICE_EXCEPTION = "device_exception"  # e.g. a Modbus exception response
NON_FINITE = "non_finite"  # NaN or Inf
IMPOSSIBLE = "impossible"  # a value the quantity cannot take (negative counter, O2 > 100 %)
BAD_ROW = "bad_row"  # CSV replay: a row that cannot be read
BAD_UNIT = "bad_unit"
UNKNOWN_METER = "unknown_meter"
SKIPPED = "skipped"  # a meter that keeps failing is left out of some polls


@dataclass(frozen=True, slots=True)
class MeterError:
    """Why ``meter`` gave no reading on one poll; counted, logged with the meter id."""

    meter: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class PollResult:
    readings: ReadingBatch
    errors: list[MeterError] = field(default_factory=list)


class MeterDriver(Protocol):
    """Reads some meters. ``read`` must return within its own timeouts and never raise for a
    meter that fails: that meter is reported in :attr:`PollResult.errors` and skipped."""

    name: str

    @property
    def meters(self) -> Sequence[str]:
        """Ids of the meters this driver reads."""
        ...

    async def read(self, meters: Sequence[str], ts_ms: int) -> PollResult:
        """Read ``meters`` (a subset of :attr:`meters`) for the poll scheduled at ``ts_ms``."""
        ...

    async def close(self) -> None: ...
