"""Dead letters: readings the store refused (HTTP 4xx), kept on disk with the reason.

When the store rejects a batch as bad data, the pipeline bisects it, stores the good
points and hands each refused point here. Its message is then acknowledged, so the
broker does not redeliver it forever; the point itself is not lost but kept in a small
SQLite file (WAL, ``synchronous=FULL``: committed before the acknowledgement) that an
operator reads with ``smartpark ingest dead-letters``.

Where (:func:`default_path`, unless the ``dead_letters`` setting says otherwise): beside
a SQLite store (``/data/park.db`` keeps its dead letters in ``/data/park-dead-letters.db``),
else ``dead-letters.db`` in the state directory: ``$STATE_DIRECTORY`` (set by systemd's
``StateDirectory=``), else ``$XDG_STATE_HOME/smartpark``, else
``~/.local/state/smartpark``. The path is absolute, whatever the working directory.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from smartpark.core.registry import Registry
from smartpark.core.timestamps import format_rfc3339, now_ms
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,      -- when it was dead-lettered
    meter TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL NOT NULL,         -- canonical unit, multiplier not applied
    reason TEXT NOT NULL
)
"""
MAX_REASON: Final = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    at_ms: int
    meter: str
    ts_ms: int
    value: float
    reason: str


def state_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where ingest keeps its state (see the module docstring); absolute."""
    systemd = env.get("STATE_DIRECTORY", "").split(":")[0]  # the first, when several
    if systemd:
        return Path(systemd).absolute()
    xdg = env.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec ignores a relative value
        return Path(xdg) / "smartpark"
    return Path.home() / ".local" / "state" / "smartpark"


def default_path(store: str, env: Mapping[str, str] = os.environ) -> Path:
    """The dead-letter file for the store URL ``store`` (see the module docstring)."""
    try:
        url = parse_store_url(store)
    except ValueError:  # reported as the store's problem; any absolute place does here
        url = None
    if url is not None and url.kind == "sqlite":
        db = Path(url.path).expanduser().absolute()
        return db.with_name(f"{db.stem}-dead-letters.db")
    return state_dir(env) / "dead-letters.db"


class DeadLetters:
    """The dead-letter file. Safe to call from one writer thread at a time."""

    def __init__(self, path: str | Path, registry: Registry | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._meter_ids = registry.meter_ids if registry is not None else ()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def add(self, readings: ReadingColumns, reason: str) -> int:
        """Commit ``readings`` (registry meter codes) with ``reason``; returns how many."""
        at = now_ms()
        reason = reason[:MAX_REASON]
        rows = [
            (at, self._meter_name(int(m)), int(t), float(v), reason)
            for m, t, v in zip(
                readings.meter.tolist(), readings.ts.tolist(), readings.value.tolist(), strict=True
            )
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO dead_letter (at_ms, meter, ts_ms, value, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return len(rows)

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()
        return int(n)

    def latest(self, limit: int = 50) -> list[DeadLetter]:
        """The ``limit`` most recent dead letters, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at_ms, meter, ts_ms, value, reason FROM dead_letter "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meter_name(self, code: int) -> str:
        if 0 <= code < len(self._meter_ids):
            return self._meter_ids[code]
        return f"#{code}"


def report(path: Path, limit: int) -> tuple[int, list[tuple[str, ...]]] | None:
    """``(total, rows)`` of ``smartpark ingest dead-letters``, newest first; None: no file.

    A row is (id, dead-lettered at, meter, ts, value, reason).
    """
    if not path.exists():
        return None
    dead = DeadLetters(path)
    try:
        total, latest = dead.count(), dead.latest(limit)
    finally:
        dead.close()
    rows: list[tuple[str, ...]] = [
        (
            str(d.id),
            format_rfc3339(d.at_ms),
            d.meter,
            format_rfc3339(d.ts_ms),
            repr(d.value),
            d.reason,
        )
        for d in latest
    ]
    return total, rows
