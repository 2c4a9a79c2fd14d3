"""Timestamps on the wire: epoch milliseconds (int) or RFC 3339 with an explicit offset.

Naive timestamps are rejected: a reading whose time zone is a guess is a reading in the
wrong hour.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

from smartpark.core.errors import ContractError

# Readings before this are certainly wrong clocks (a meter reset to 1970).
TS_MIN_MS: Final = 946_684_800_000  # 2000-01-01T00:00:00Z
# Tolerated clock skew of a gateway ahead of the ingest host.
MAX_FUTURE_MS: Final = 24 * 3600 * 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def parse_rfc3339(text: str, field: str = "ts") -> int:
    """Epoch ms of an RFC 3339 string with an explicit offset (``Z`` or ``±hh:mm``)."""
    if len(text) > 40 or "T" not in text.upper():
        raise ContractError("bad_ts", field, f"not an RFC 3339 timestamp: {text[:40]!r}")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ContractError("bad_ts", field, f"not an RFC 3339 timestamp: {text!r}") from None
    if dt.tzinfo is None:
        raise ContractError("bad_ts", field, f"timestamp {text!r} has no offset (naive)")
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // _ONE_MS


def parse_ts(value: object, field: str = "ts") -> int:
    """Epoch ms from an int (epoch ms) or an RFC 3339 string; ``ContractError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ContractError(
            "bad_ts", field, f"timestamp must be epoch ms (integer) or RFC 3339, got {value!r}"
        )
    if isinstance(value, str):
        return parse_rfc3339(value, field)
    return value


def format_rfc3339(ts_ms: int) -> str:
    """RFC 3339 in UTC with millisecond precision."""
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ONE_MS: Final = datetime(1970, 1, 1, 0, 0, 0, 1000) - datetime(1970, 1, 1)
