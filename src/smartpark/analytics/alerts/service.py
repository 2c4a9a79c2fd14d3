"""The alerts process: ``once`` (catch up, deliver, exit), ``follow`` (loop) or ``dry_run``.

``follow`` evaluates every ``interval_s`` (and sooner when a retry falls due), and stops
cleanly on SIGTERM or SIGINT: the step in progress commits or rolls back whole, the
loop exits, the state file is closed.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Literal, TextIO

from smartpark.analytics.alerts import rules as rules_mod
from smartpark.analytics.alerts.conditions import RegistryArrays
from smartpark.analytics.alerts.delivery import Deliverer, DeliveryReport
from smartpark.analytics.alerts.evaluate import Evaluator, RunReport
from smartpark.analytics.alerts.state import AlertState
from smartpark.core.errors import SmartparkError, StateBusyError
from smartpark.core.logs import get_logger
from smartpark.core.registry import Registry
from smartpark.store.base import Store

Mode = Literal["once", "follow", "dry_run"]
log = get_logger("analytics.alerts.service")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def copy_state(path: Path, into: Path) -> Path:
    """A consistent copy of the state file (SQLite backup), for a dry run to scribble on."""
    target = into / "alerts-dry-run.db"
    if path.exists():
        src = sqlite3.connect(path)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return target


class StateLock:
    """An exclusive lock on ``<state>.lock``: one process per state file.

    Two alerts processes on one state file would not duplicate alerts (events are
    unique per fingerprint and state) but could both send the same pending message;
    ``smartpark schedule`` holds its state file the same way.
    """

    def __init__(self, state_path: Path, command: str = "smartpark alerts") -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SmartparkError(
                f"{self.path}: cannot open the lock file: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise StateBusyError(
                f"{state_path}: another `{command}` process is using this state file"
            ) from None

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


_Lock = StateLock


def cycle(
    evaluator: Evaluator, deliverer: Deliverer, clock: Callable[[], int] = now_ms
) -> tuple[RunReport, DeliveryReport]:
    """Evaluate every rule up to now, then deliver what is due."""
    run = evaluator.run_once(clock())
    delivered = deliverer.deliver_due(clock())
    return run, delivered


def serve(
    registry: Registry,
    ruleset: rules_mod.RuleSet,
    store: Store,
    state_path: Path,
    mode: Mode,
    *,
    interval_s: float = 60.0,
    out: TextIO,
    stop: threading.Event | None = None,
    max_cycles: int | None = None,
) -> None:
    """Run the alerts process in ``mode`` until done (once, dry run) or stopped (follow)."""
    arrays = RegistryArrays(registry)
    tmp: tempfile.TemporaryDirectory[str] | None = None
    path = state_path
    lock: StateLock | None = None
    if mode == "dry_run":
        tmp = tempfile.TemporaryDirectory(prefix="smartpark-alerts-")
        path = copy_state(state_path, Path(tmp.name))
    else:
        lock = StateLock(state_path)
    stop = stop or threading.Event()
    previous = install_signal_handlers(stop) if mode == "follow" else {}
    try:
        with AlertState(path) as state:
            evaluator = Evaluator(arrays, ruleset, store, state)
            deliverer = Deliverer(state, ruleset.channels, dry_run=mode == "dry_run", out=out)
            try:
                cycles = 0
                while True:
                    if mode != "follow":
                        run, sent = cycle(evaluator, deliverer)
                        log.info("alerts_cycle", evaluation=str(run), delivery=str(sent))
                        print(f"alerts: {run}; delivery: {sent}", file=out)
                        return
                    try:
                        run, sent = cycle(evaluator, deliverer)
                        log.info("alerts_cycle", evaluation=str(run), delivery=str(sent))
                    except Exception as exc:
                        # A store that is down, a locked file: the service keeps going and
                        # the next cycle catches up from the committed cursors.
                        log.error("alerts_cycle_failed", error=type(exc).__name__, detail=str(exc))
                    cycles += 1
                    if max_cycles is not None and cycles >= max_cycles:
                        return
                    wait_s = interval_s
                    due = deliverer.next_due_ms()
                    if due is not None:
                        wait_s = min(wait_s, max(1.0, (due - now_ms()) / 1000))
                    if stop.wait(wait_s):
                        log.info("alerts_stopping", reason="signal")
                        return
            finally:
                deliverer.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if lock is not None:
            lock.release()
        if tmp is not None:
            tmp.cleanup()


_Handler = Callable[[int, FrameType | None], object] | int | None


def install_signal_handlers(stop: threading.Event) -> dict[int, _Handler]:
    """SIGTERM and SIGINT set ``stop`` (main thread only); the handlers they replace."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, _Handler] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, lambda *_: stop.set())
    return previous


__all__ = [
    "Mode",
    "StateBusyError",
    "StateLock",
    "copy_state",
    "cycle",
    "install_signal_handlers",
    "serve",
]
