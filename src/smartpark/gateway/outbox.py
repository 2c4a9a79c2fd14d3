"""The durable outbox (docs/architecture.md): every reading is on disk before anything is published.

One SQLite database in WAL mode with ``synchronous=FULL``: a batch returned by
:meth:`Outbox.add` has been fsynced, so neither SIGKILL nor a power cut loses it. Rows are
deleted only by :meth:`Outbox.delete_ranges`, which the publisher calls after the broker's
PUBACK for the message that carried them. Ids grow forever (``AUTOINCREMENT``), so "oldest
first" is "lowest id first" and a message's readings are one id range.

The outbox is bounded by ``max_bytes`` (the pages its rows use). When an insert goes over,
the oldest readings are dropped down to 90 % of the bound: counted (``dropped`` in the
``meta`` table, kept across restarts) and logged as a warning, never silently.

Not thread-safe: one thread (the gateway's event loop) owns the connection.
"""

from __future__ import annotations

import fcntl
import json
import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from smartpark.core.contract import Reading
from smartpark.core.errors import OutboxError
from smartpark.core.logs import get_logger
from smartpark.gateway.readings import ReadingBatch

MIB: Final = 1024 * 1024
DEFAULT_MAX_BYTES: Final = 512 * MIB
MIN_MAX_BYTES: Final = 64 * 1024
_DROP_TO: Final = 0.9  # after an overflow, drop down to this fraction of the bound

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    meter TEXT NOT NULL,
    quantity TEXT NOT NULL,
    unit TEXT NOT NULL,
    UNIQUE (meter, quantity, unit)
);
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
"""

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Fetched:
    """Readings of one id range, oldest first, ready for :func:`smartpark.core.contract.encode`."""

    first_id: int
    last_id: int
    readings: list[Reading]

    def __len__(self) -> int:
        return len(self.readings)


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """What ``smartpark gateway status`` shows, read from the database file."""

    queued: int
    oldest_ts: int | None
    dropped: int
    used_bytes: int
    status: dict[str, Any]


class Outbox:
    """A bounded, durable FIFO of readings in SQLite (see the module docstring)."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < MIN_MAX_BYTES:
            raise ValueError(f"outbox max_bytes must be >= {MIN_MAX_BYTES}, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock_exclusively(self.path.with_name(self.path.name + ".lock"))
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._page_size: int = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._load_series()
            self._count: int = self._db.execute("SELECT count(*) FROM readings").fetchone()[0]
            self.dropped: int = int(self.get_meta("dropped", 0))
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from None

    def _load_series(self) -> None:
        self._series: dict[tuple[str, str, str], int] = {}
        self._series_by_id: dict[int, tuple[str, str, str]] = {}
        for sid, meter, quantity, unit in self._db.execute(
            "SELECT id, meter, quantity, unit FROM series"
        ):
            self._series[(meter, quantity, unit)] = sid
            self._series_by_id[sid] = (meter, quantity, unit)

    # -- writing -----------------------------------------------------------------------

    def add(self, batch: ReadingBatch, **meta: Any) -> int:
        """Commit ``batch`` durably in one transaction; return the number of readings dropped.

        When the outbox goes over its bound, the oldest readings are dropped in the same
        transaction (counted and logged). ``meta`` values (e.g. a CSV replay's progress)
        are saved in the same transaction.
        """
        n = len(batch)
        if n == 0 and not meta:
            return 0
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            sids = self._series_ids(batch)  # new series in the same transaction (one fsync)
            rows = zip(sids.tolist(), batch.ts.tolist(), batch.value.tolist(), strict=True)
            db.executemany("INSERT INTO readings (series, ts, value) VALUES (?, ?, ?)", rows)
            self._count += n
            dropped = self._enforce_bound()
            for key, value in meta.items():
                self._set_meta(key, value)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._count = db.execute("SELECT count(*) FROM readings").fetchone()[0]
            self._load_series()  # series added by the rolled-back transaction are gone
            raise
        return dropped

    def delete_ranges(self, ranges: Sequence[tuple[int, int]], **meta: int) -> int:
        """Delete the readings whose ids fall in the inclusive ``ranges`` (one transaction).

        ``meta`` values (e.g. the payload ``seq``) are saved in the same transaction.
        Returns the number of rows deleted.
        """
        if not ranges and not meta:
            return 0
        db = self._db
        before = db.total_changes
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM readings WHERE id BETWEEN ? AND ?", ranges)
            deleted = db.total_changes - before
            for key, value in meta.items():
                self._set_meta(key, value)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._count -= deleted
        return deleted

    def _series_ids(self, batch: ReadingBatch) -> np.ndarray[Any, np.dtype[np.int64]]:
        keys = zip(batch.meter.tolist(), batch.quantity.tolist(), batch.unit.tolist(), strict=True)
        # Distinct series of the batch: a few per poll, so the dict work is per series.
        distinct: dict[tuple[str, str, str], int] = {}
        inverse = np.fromiter(
            (distinct.setdefault(k, len(distinct)) for k in keys), dtype=np.int64, count=len(batch)
        )
        ids = np.empty(len(distinct), dtype=np.int64)
        for i, key in enumerate(distinct):
            sid = self._series.get(key)
            if sid is None:
                cur = self._db.execute(
                    "INSERT INTO series (meter, quantity, unit) VALUES (?, ?, ?)", key
                )
                sid = int(cur.lastrowid or 0)
                self._series[key] = sid
                self._series_by_id[sid] = key
            ids[i] = sid
        return ids[inverse]

    def _enforce_bound(self) -> int:
        used = self._used_bytes()
        if used <= self.max_bytes or self._count == 0:
            return 0
        per_row = used / self._count
        n = min(self._count, math.ceil((used - _DROP_TO * self.max_bytes) / per_row))
        before = self._db.total_changes
        self._db.execute(
            "DELETE FROM readings WHERE id IN (SELECT id FROM readings ORDER BY id LIMIT ?)", (n,)
        )
        dropped = self._db.total_changes - before
        self._count -= dropped
        self.dropped += dropped
        self._set_meta("dropped", self.dropped)
        log.warning(
            "outbox_full_dropped_oldest",
            dropped=dropped,
            dropped_total=self.dropped,
            max_bytes=self.max_bytes,
            used_bytes=used,
        )
        return dropped

    # -- reading -----------------------------------------------------------------------

    def fetch(self, after_id: int, limit: int, upto_id: int | None = None) -> Fetched | None:
        """Up to ``limit`` readings with ``after_id < id <= upto_id``, oldest first."""
        if upto_id is None:
            upto_id = 2**63 - 1
        rows = self._db.execute(
            "SELECT id, series, ts, value FROM readings WHERE id > ? AND id <= ? "
            "ORDER BY id LIMIT ?",
            (after_id, upto_id, limit),
        ).fetchall()
        if not rows:
            return None
        by_id = self._series_by_id
        readings = []
        for _, sid, ts, value in rows:
            meter, quantity, unit = by_id[sid]
            readings.append(Reading(meter, quantity, ts, value, unit))
        return Fetched(rows[0][0], rows[-1][0], readings)

    def id_bounds(self) -> tuple[int, int]:
        """(lowest id - 1, highest id ever assigned): every queued id is in between."""
        low = self._db.execute("SELECT min(id) FROM readings").fetchone()[0]
        high = self._db.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'readings'"
        ).fetchone()
        high_id = int(high[0]) if high else 0
        return (int(low) - 1 if low is not None else high_id), high_id

    @property
    def count(self) -> int:
        """Readings queued (not yet acknowledged by the broker)."""
        return self._count

    def oldest_ts(self) -> int | None:
        row = self._db.execute("SELECT ts FROM readings ORDER BY id LIMIT 1").fetchone()
        return int(row[0]) if row else None

    def _used_bytes(self) -> int:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return int((pages - free) * self._page_size)

    # -- meta --------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def _set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def save_status(self, status: dict[str, Any]) -> None:
        """Store the service's counters (shown by ``smartpark gateway status``)."""
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('status', ?)",
            (json.dumps(status, sort_keys=True),),
        )

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # releases the lock (so does the kernel when a process dies)

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lock_exclusively(path: Path) -> IO[bytes]:
    """Hold an exclusive lock on ``path``: two gateways on one outbox would send twice."""
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise OutboxError(f"outbox {path.with_suffix('')} is in use by another process") from None
    return handle


def read_status(path: str | Path) -> OutboxStatus:
    """Read an outbox's queue and the service's last saved counters, without writing."""
    path = Path(path)
    if not path.exists():
        raise OutboxError(f"no outbox at {path}")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot open outbox {path}: {exc}") from None
    try:
        queued = db.execute("SELECT count(*) FROM readings").fetchone()[0]
        oldest = db.execute("SELECT ts FROM readings ORDER BY id LIMIT 1").fetchone()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    except sqlite3.Error as exc:
        raise OutboxError(f"{path} is not a smartpark outbox: {exc}") from None
    finally:
        db.close()
    status = json.loads(meta["status"]) if "status" in meta else {}
    return OutboxStatus(
        queued=int(queued),
        oldest_ts=int(oldest[0]) if oldest else None,
        dropped=int(meta.get("dropped", 0)),
        used_bytes=int((pages - free) * size),
        status=status,
    )
