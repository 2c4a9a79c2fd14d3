"""``smartpark kpi --follow``: recompute the latest closed periods as data arrives.

Every cycle recomputes the last ``RECENT`` closed periods of the requested kind (so
late readings of a recent period are picked up) and writes them back; the write is
idempotent, so recomputing an unchanged period is harmless. The loop is bounded by an
optional cycle count and stops cleanly on SIGTERM/SIGINT (the current cycle finishes,
the store is closed by the caller).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Final

from smartpark.analytics import periods
from smartpark.analytics.periods import PeriodName
from smartpark.core.errors import AnalyticsError, SmartparkError
from smartpark.core.logs import get_logger
from smartpark.core.timestamps import now_ms

# How many closed periods each cycle recomputes, and how far back to look for them.
RECENT: Final[dict[PeriodName, int]] = {"hour": 3, "day": 2, "month": 2, "year": 1}
_LOOKBACK_MS: Final[dict[PeriodName, int]] = {
    "hour": 5 * 3_600_000,
    "day": 4 * 86_400_000,
    "month": 100 * 86_400_000,
    "year": 800 * 86_400_000,
}
_log = get_logger(__name__)


def latest_closed(timezone: str, period: PeriodName, at_ms: int, count: int) -> tuple[int, int]:
    """``(start, end)`` spanning the last ``count`` periods that ended at or before ``at_ms``."""
    bounds = periods.boundaries(timezone, period, at_ms - _LOOKBACK_MS[period], at_ms)
    if bounds.size < 2:
        raise AnalyticsError(f"no closed {period} before {at_ms} in {timezone}")
    first = max(0, bounds.size - 1 - count)
    return int(bounds[first]), int(bounds[-1])


@dataclass
class Follow:
    """Run ``cycle(start_ms, end_ms)`` every ``interval_s`` until stopped."""

    timezone: str
    period: PeriodName
    interval_s: float
    max_cycles: int | None = None
    clock: Callable[[], int] = now_ms

    def __post_init__(self) -> None:
        self.stop = threading.Event()
        self.stopped_by: str | None = None

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            # Only set flags here: logging from a signal handler can deadlock on the
            # output lock the interrupted main thread holds mid-line.
            self.stopped_by = signal.Signals(signum).name
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, cycle: Callable[[int, int], int]) -> int:
        """Run cycles; return how many ran. A failing cycle is logged, not fatal."""
        done = 0
        while not self.stop.is_set() and (self.max_cycles is None or done < self.max_cycles):
            start, end = latest_closed(
                self.timezone, self.period, self.clock(), RECENT[self.period]
            )
            try:
                points = cycle(start, end)
                _log.info("kpi_cycle", start_ms=start, end_ms=end, points=points)
            except SmartparkError as exc:
                _log.warning("kpi_cycle_failed", error=str(exc), start_ms=start, end_ms=end)
            done += 1
            if self.max_cycles is not None and done >= self.max_cycles:
                break
            self.stop.wait(self.interval_s)
        if self.stopped_by is not None:
            _log.info("kpi_follow_stopping", signal=self.stopped_by)
        return done
