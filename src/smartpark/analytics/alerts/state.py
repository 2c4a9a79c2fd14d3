"""Durable alert state: one SQLite file (WAL, synchronous=FULL) beside the store.

Tables::

    cursor(rule, until_ms)                  evaluated up to here (exclusive), per rule
    active(rule, scope, id, status, ...)    alerts now pending or firing (or clearing)
    event(fingerprint, state, ..., body)    every firing/resolved ever produced; UNIQUE
                                            (fingerprint, state): an alert fires once,
                                            resolves once
    outbox(id, channel, events, attempts,   messages to deliver; status pending |
           next_ms, status, reason, ...)    delivered | dead (with the reason)
    sent(channel, fingerprint, state)       delivered with a 2xx: never sent again

An evaluation step commits its new cursors, active-alert changes, events and outbox
messages in one transaction, so a crash either keeps all of them or none: a restart
re-evaluates the same periods and produces the same messages, never a second copy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from smartpark.core.statefile import StateFile, beside_store

SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursor (rule TEXT PRIMARY KEY, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS active (
    rule TEXT NOT NULL, scope TEXT NOT NULL, id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'firing')),
    since_ms INTEGER NOT NULL, value REAL, threshold REAL, fingerprint TEXT NOT NULL,
    clearing_ms INTEGER,
    PRIMARY KEY (rule, scope, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL, state TEXT NOT NULL, rule TEXT NOT NULL,
    scope TEXT NOT NULL, id TEXT NOT NULL, at_ms INTEGER NOT NULL, body TEXT NOT NULL,
    UNIQUE (fingerprint, state)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, events TEXT NOT NULL, created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL,
    last_attempt_ms INTEGER, status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'dead')),
    reason TEXT, delivered_ms INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, channel, id);
CREATE TABLE IF NOT EXISTS sent (
    channel TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (channel, fingerprint, state)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Active:
    """An alert that is pending (condition true, ``for`` not yet elapsed) or firing."""

    rule: str
    scope: str
    id: str
    status: str  # "pending" | "firing"
    since_ms: int
    value: float | None
    threshold: float | None
    fingerprint: str
    clearing_ms: int | None = None  # firing, but the condition is false since then


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    channel: str
    events: list[dict[str, Any]]
    created_ms: int
    attempts: int
    next_ms: int
    status: str
    reason: str | None


def default_path(store_url: str) -> Path:
    """``sqlite:///x/store.db`` → ``x/store.alerts.db``; other stores → ``smartpark-alerts.db``."""
    return beside_store(store_url, "alerts")


class AlertState(StateFile):
    """The alert state file. Not thread-safe; one evaluator process owns it."""

    KIND = "alert"
    SCHEMA = _SCHEMA
    SCHEMA_VERSION = SCHEMA_VERSION

    # -- evaluation state --------------------------------------------------------------

    def cursor(self, rule: str) -> int | None:
        row = self.db.execute("SELECT until_ms FROM cursor WHERE rule = ?", (rule,)).fetchone()
        return None if row is None else int(row[0])

    def set_cursor(self, rule: str, until_ms: int) -> None:
        self.db.execute(
            "INSERT INTO cursor (rule, until_ms) VALUES (?, ?) "
            "ON CONFLICT (rule) DO UPDATE SET until_ms = excluded.until_ms",
            (rule, until_ms),
        )

    def active(self, rule: str) -> dict[tuple[str, str], Active]:
        rows = self.db.execute(
            "SELECT rule, scope, id, status, since_ms, value, threshold, fingerprint, "
            "clearing_ms FROM active WHERE rule = ?",
            (rule,),
        )
        return {(r[1], r[2]): Active(*r) for r in rows}

    def all_active(self) -> list[Active]:
        rows = self.db.execute(
            "SELECT rule, scope, id, status, since_ms, value, threshold, fingerprint, "
            "clearing_ms FROM active ORDER BY rule, scope, id"
        )
        return [Active(*r) for r in rows]

    def put_active(self, alerts: Iterable[Active]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO active "
            "(rule, scope, id, status, since_ms, value, threshold, fingerprint, clearing_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    a.rule,
                    a.scope,
                    a.id,
                    a.status,
                    a.since_ms,
                    a.value,
                    a.threshold,
                    a.fingerprint,
                    a.clearing_ms,
                )
                for a in alerts
            ],
        )

    def drop_active(self, rule: str, keys: Iterable[tuple[str, str]]) -> None:
        self.db.executemany(
            "DELETE FROM active WHERE rule = ? AND scope = ? AND id = ?",
            [(rule, scope, ident) for scope, ident in keys],
        )

    def forget_rules_except(self, rules: Iterable[str]) -> int:
        """Drop cursors and active alerts of rules no longer in the rules file."""
        keep = list(rules)
        marks = ",".join("?" * len(keep)) or "''"
        n = self.db.execute(f"DELETE FROM active WHERE rule NOT IN ({marks})", keep).rowcount  # noqa: S608
        self.db.execute(f"DELETE FROM cursor WHERE rule NOT IN ({marks})", keep)  # noqa: S608
        return int(n)

    def record_event(self, event: dict[str, Any], at_ms: int) -> bool:
        """Store a firing/resolved event; ``False`` if this fingerprint and state exist."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO event (fingerprint, state, rule, scope, id, at_ms, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event["fingerprint"],
                event["state"],
                event["rule"],
                event["scope"],
                event["id"],
                at_ms,
                json.dumps(event, sort_keys=True),
            ),
        )
        return cur.rowcount == 1

    def events(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT body FROM event ORDER BY seq")
        return [json.loads(r[0]) for r in rows]

    # -- outbox ------------------------------------------------------------------------

    def enqueue(self, channel: str, events: list[dict[str, Any]], now_ms: int) -> int:
        cur = self.db.execute(
            "INSERT INTO outbox (channel, events, created_ms, next_ms) VALUES (?, ?, ?, ?)",
            (channel, json.dumps(events, sort_keys=True), now_ms, now_ms),
        )
        return int(cur.lastrowid or 0)

    def pending(self, channel: str | None = None) -> list[OutboxMessage]:
        return self._messages("pending", channel)

    def dead(self) -> list[OutboxMessage]:
        return self._messages("dead", None)

    def delivered(self) -> list[OutboxMessage]:
        return self._messages("delivered", None)

    def _messages(self, status: str, channel: str | None) -> list[OutboxMessage]:
        sql = (
            "SELECT id, channel, events, created_ms, attempts, next_ms, status, reason "
            "FROM outbox WHERE status = ?"
        )
        args: tuple[Any, ...] = (status,)
        if channel is not None:
            sql += " AND channel = ?"
            args = (status, channel)
        rows = self.db.execute(sql + " ORDER BY id", args)
        return [
            OutboxMessage(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows
        ]

    def attempts_since(self, channel: str, since_ms: int) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM outbox WHERE channel = ? AND last_attempt_ms >= ?",
            (channel, since_ms),
        ).fetchone()
        return int(row[0])

    def already_sent(self, channel: str, fingerprint: str, state: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sent WHERE channel = ? AND fingerprint = ? AND state = ?",
            (channel, fingerprint, state),
        ).fetchone()
        return row is not None

    def mark_delivered(self, message: OutboxMessage, now_ms: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE outbox SET status = 'delivered', delivered_ms = ?, last_attempt_ms = ?, "
                "attempts = attempts + 1, reason = NULL WHERE id = ?",
                (now_ms, now_ms, message.id),
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO sent (channel, fingerprint, state) VALUES (?, ?, ?)",
                [(message.channel, e["fingerprint"], e["state"]) for e in message.events],
            )

    def mark_failed(
        self, message: OutboxMessage, now_ms: int, reason: str, next_ms: int, dead: bool
    ) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_ms = ?, next_ms = ?, "
                "reason = ?, status = ? WHERE id = ?",
                (now_ms, next_ms, reason, "dead" if dead else "pending", message.id),
            )

    def drop_sent_members(self, message: OutboxMessage) -> OutboxMessage:
        """``message`` without the events this channel already has (a 2xx was seen)."""
        keep = [
            e
            for e in message.events
            if not self.already_sent(message.channel, e["fingerprint"], e["state"])
        ]
        if len(keep) == len(message.events):
            return message
        return OutboxMessage(
            message.id,
            message.channel,
            keep,
            message.created_ms,
            message.attempts,
            message.next_ms,
            message.status,
            message.reason,
        )
