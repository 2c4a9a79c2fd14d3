"""The delivery state file: one SQLite file (WAL, synchronous=FULL) beside the store.

Tables::

    cursor(schedule, until_ms)              due times planned up to here (inclusive)
    delivery(schedule, period, recipient,   one row per delivery, PRIMARY KEY
             route, scope, ..., status,     (schedule, period, recipient): planned once,
             attempts, next_ms, reason)     then pending | sent | dead

Planning a schedule's period inserts its deliveries and moves its cursor in one
transaction, so a crash keeps both or neither, and a (schedule, period, recipient) is
never planned twice. A delivery is marked ``sent`` only after the mail server or the
webhook accepted it; a crash between that answer and the commit leaves it pending and
it is sent once more on the next start (docs/schedule.md says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from smartpark.core.statefile import StateFile, beside_store

Status = Literal["pending", "sent", "dead"]
STATUSES: Final[tuple[Status, ...]] = ("pending", "sent", "dead")
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (schedule TEXT PRIMARY KEY, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS delivery (
    schedule TEXT NOT NULL, period TEXT NOT NULL, recipient TEXT NOT NULL,
    route TEXT NOT NULL, scope TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL, last_attempt_ms INTEGER,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    reason TEXT, sent_ms INTEGER,
    PRIMARY KEY (schedule, period, recipient)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_status ON delivery (status, next_ms);
"""

_COLUMNS: Final = (
    "schedule, period, recipient, route, scope, start_ms, end_ms, due_ms, created_ms, "
    "attempts, next_ms, last_attempt_ms, status, reason, sent_ms"
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One (schedule, period, recipient) and where its sending stands."""

    schedule: str
    period: str  # "2026-11", "2026-W48"
    recipient: str
    route: str  # "smtp:ID" or "channel:ID"
    scope: str  # "kind:id" of the data sent
    start_ms: int  # the period's data range
    end_ms: int
    due_ms: int
    created_ms: int
    attempts: int = 0
    next_ms: int = 0
    last_attempt_ms: int | None = None
    status: Status = "pending"
    reason: str | None = None
    sent_ms: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.schedule, self.period, self.recipient)


def default_path(store_url: str) -> Path:
    """``sqlite:///x/store.db`` → ``x/store.schedule.db``; other stores →
    ``smartpark-schedule.db``."""
    return beside_store(store_url, "schedule")


class DeliveryState(StateFile):
    """The state file. Not thread-safe; one service process owns it (``StateLock``).

    ``read_only`` opens an existing file without changing it (``--check``, ``status``).
    """

    KIND = "delivery"
    SCHEMA = _SCHEMA
    SCHEMA_VERSION = SCHEMA_VERSION

    # -- planning ----------------------------------------------------------------------

    def cursor(self, schedule: str) -> int | None:
        row = self.db.execute(
            "SELECT until_ms FROM cursor WHERE schedule = ?", (schedule,)
        ).fetchone()
        return None if row is None else int(row[0])

    def plan(self, schedule: str, until_ms: int, deliveries: Iterable[Delivery]) -> int:
        """Add ``deliveries`` (those not planned before) and move the cursor, atomically;
        how many were new."""
        new = 0
        with self.transaction():
            for d in deliveries:
                cur = self.db.execute(
                    f"INSERT OR IGNORE INTO delivery ({_COLUMNS}) "  # noqa: S608
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, 'pending', NULL, NULL)",
                    (
                        d.schedule,
                        d.period,
                        d.recipient,
                        d.route,
                        d.scope,
                        d.start_ms,
                        d.end_ms,
                        d.due_ms,
                        d.created_ms,
                        d.next_ms,
                    ),
                )
                new += cur.rowcount
            self.db.execute(
                "INSERT INTO cursor (schedule, until_ms) VALUES (?, ?) "
                "ON CONFLICT (schedule) DO UPDATE SET until_ms = excluded.until_ms",
                (schedule, until_ms),
            )
        return new

    # -- deliveries --------------------------------------------------------------------

    def deliveries(self, status: Status | None = None) -> list[Delivery]:
        """Deliveries (of ``status``), oldest due first."""
        sql = f"SELECT {_COLUMNS} FROM delivery"  # noqa: S608
        args: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        rows = self.db.execute(sql + " ORDER BY due_ms, schedule, period, recipient", args)
        return [Delivery(*r) for r in rows]

    def pending(self) -> list[Delivery]:
        return self.deliveries("pending")

    def get(self, key: tuple[str, str, str]) -> Delivery | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM delivery "  # noqa: S608
            "WHERE schedule = ? AND period = ? AND recipient = ?",
            key,
        ).fetchone()
        return None if row is None else Delivery(*row)

    def attempts_since(self, route: str, since_ms: int) -> int:
        """Deliveries of ``route`` last tried at or after ``since_ms`` (rate limits)."""
        row = self.db.execute(
            "SELECT COUNT(*) FROM delivery WHERE route = ? AND last_attempt_ms >= ?",
            (route, since_ms),
        ).fetchone()
        return int(row[0])

    def mark_sent(self, delivery: Delivery, now_ms: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE delivery SET status = 'sent', sent_ms = ?, last_attempt_ms = ?, "
                "attempts = attempts + 1, reason = NULL "
                "WHERE schedule = ? AND period = ? AND recipient = ? AND status = 'pending'",
                (now_ms, now_ms, *delivery.key),
            )

    def mark_failed(
        self, delivery: Delivery, now_ms: int, reason: str, next_ms: int, *, dead: bool
    ) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE delivery SET attempts = attempts + 1, last_attempt_ms = ?, next_ms = ?, "
                "reason = ?, status = ? "
                "WHERE schedule = ? AND period = ? AND recipient = ? AND status = 'pending'",
                (now_ms, next_ms, reason, "dead" if dead else "pending", *delivery.key),
            )

    def mark_dead(self, delivery: Delivery, now_ms: int, reason: str) -> None:
        """Give up without an attempt (its schedule or recipient left the config)."""
        with self.transaction():
            self.db.execute(
                "UPDATE delivery SET status = 'dead', reason = ?, next_ms = ? "
                "WHERE schedule = ? AND period = ? AND recipient = ? AND status = 'pending'",
                (reason, now_ms, *delivery.key),
            )
