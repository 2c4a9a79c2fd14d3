"""Tokens, users and sessions of ``smartpark serve``: one SQLite file of hashes.

Tables::

    token(id, name, hash UNIQUE, role, scope, created_ms, expires_ms, revoked_ms)
    user(name PRIMARY KEY, password, role, scope, created_ms)
    session(hash PRIMARY KEY, user, expires_ms)
    failure(name PRIMARY KEY, count, last_ms, locked_until_ms)

Only hashes are stored. A token is ``spt_`` + 32 random bytes (``secrets.token_urlsafe``):
with that much entropy a plain SHA-256 is the right hash (fast to check on every
request, useless to brute-force). Passwords are hashed with argon2id (argon2-cffi).
The clear token is returned once by :meth:`AccessStore.create_token` and never logged.

Logins back off: after ``FREE_FAILURES`` wrong passwords for a name (known or not, so
the lockout says nothing about which names exist) each further failure locks the name
for twice as long as the last, from ``LOCK_BASE_S`` up to ``LOCK_MAX_S``; every failure
and lock is logged with the name, never the password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from smartpark.core.errors import AccessError, OptionError
from smartpark.core.ids import is_valid_id
from smartpark.core.logs import get_logger
from smartpark.serve.scopes import Grant

TOKEN_PREFIX: Final = "spt_"  # noqa: S105 (a prefix, not a secret)
SESSION_PREFIX: Final = "sps_"
TOKEN_RE: Final = re.compile(r"sp[ts]_[A-Za-z0-9_-]{43}")
DEFAULT_FILE: Final = "smartpark-access.db"  # beside the registry
FREE_FAILURES: Final = 5
LOCK_BASE_S: Final = 30.0
LOCK_MAX_S: Final = 3600.0
SESSION_S: Final = 12 * 3600.0
MAX_PASSWORD: Final = 1024

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS token (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL, scope TEXT, created_ms INTEGER NOT NULL, expires_ms INTEGER,
    revoked_ms INTEGER
);
CREATE TABLE IF NOT EXISTS user (
    name TEXT PRIMARY KEY, password TEXT NOT NULL, role TEXT NOT NULL, scope TEXT,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS session (
    hash TEXT PRIMARY KEY, user TEXT NOT NULL, expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failure (
    name TEXT PRIMARY KEY, count INTEGER NOT NULL, last_ms INTEGER NOT NULL,
    locked_until_ms INTEGER NOT NULL
);
"""

_log = get_logger(__name__)


def default_path(registry: Path) -> Path:
    """The access file beside the registry."""
    return registry.parent / DEFAULT_FILE


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its clear value, nor its hash."""

    id: int
    name: str
    role: str
    scope: str | None
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: who (for logs and rate limits) and what grant."""

    key: str  # "token:12" or "user:alice"
    grant: Grant


class AccessStore:
    """The access file; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path, *, now: float | None = None) -> None:
        self.path = path
        self._now = now  # fixed clock for tests; None: time.time()
        self._lock = threading.Lock()
        try:
            self.db = sqlite3.connect(
                path, isolation_level=None, timeout=10.0, check_same_thread=False
            )
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OptionError(f"--tokens: cannot open {path}: {exc}") from None
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _ms(self) -> int:
        return int((self._now if self._now is not None else time.time()) * 1000)

    # -- tokens --------------------------------------------------------------------

    def create_token(
        self, grant: Grant, name: str = "", expires_s: float | None = None
    ) -> tuple[TokenInfo, str]:
        """A new token for ``grant``: its listing and the clear token (shown once)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._ms()
        expires = None if expires_s is None else now + int(expires_s * 1000)
        with self._lock:
            cur = self.db.execute(
                "INSERT INTO token (name, hash, role, scope, created_ms, expires_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, token_hash(token), grant.role, grant.scope, now, expires),
            )
        ident = int(cur.lastrowid or 0)
        _log.info("token created", token_id=ident, role=grant.role, scope=grant.scope)
        return TokenInfo(ident, name, grant.role, grant.scope, now, expires, None), token

    def tokens(self) -> list[TokenInfo]:
        with self._lock:
            rows = self.db.execute(
                "SELECT id, name, role, scope, created_ms, expires_ms, revoked_ms FROM token "
                "ORDER BY id"
            ).fetchall()
        return [TokenInfo(*r) for r in rows]

    def revoke(self, ident: int) -> bool:
        """Revoke token ``ident``; False when there is no such (unrevoked) token."""
        with self._lock:
            cur = self.db.execute(
                "UPDATE token SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
                (self._ms(), ident),
            )
        if cur.rowcount:
            _log.info("token revoked", token_id=ident)
        return cur.rowcount == 1

    def authenticate(self, token: str | None) -> Caller:
        """The caller a bearer token or session token stands for, else :class:`AccessError`."""
        if not token:
            raise AccessError("missing", "no token: send Authorization: Bearer TOKEN")
        if TOKEN_RE.fullmatch(token) is None:
            raise AccessError("malformed", "malformed token")
        now = self._ms()
        digest = token_hash(token)
        if token.startswith(SESSION_PREFIX):
            return self._session(digest, now)
        with self._lock:
            row = self.db.execute(
                "SELECT id, role, scope, expires_ms, revoked_ms FROM token WHERE hash = ?",
                (digest,),
            ).fetchone()
        if row is None:
            raise AccessError("unknown", "unknown token")
        ident, role, scope, expires, revoked = row
        if revoked is not None:
            raise AccessError("revoked", "token revoked")
        if expires is not None and expires <= now:
            raise AccessError("expired", "token expired")
        return Caller(f"token:{ident}", Grant(role, scope))

    # -- users and sessions --------------------------------------------------------

    def add_user(self, name: str, password: str, grant: Grant) -> None:
        """Add or replace user ``name`` (a slug) with an argon2 hash of ``password``."""
        if not is_valid_id(name):
            raise OptionError(f"NAME: a user name is a slug like an id, got {name!r}")
        if not 8 <= len(password) <= MAX_PASSWORD:
            raise OptionError(f"--password-file: a password has 8 to {MAX_PASSWORD} characters")
        hashed = self._hasher.hash(password)
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO user (name, password, role, scope, created_ms) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, hashed, grant.role, grant.scope, self._ms()),
            )
        _log.info("user saved", user=name, role=grant.role, scope=grant.scope)

    def login(self, name: str, password: str) -> str:
        """A session token for a right name and password, else :class:`AccessError`.

        A wrong password, an unknown name and a locked name cost the same argon2 check.
        """
        now = self._ms()
        known = is_valid_id(name) and len(password) <= MAX_PASSWORD
        with self._lock:
            row = (
                self.db.execute("SELECT password FROM user WHERE name = ?", (name,)).fetchone()
                if known
                else None
            )
            fail = self.db.execute(
                "SELECT count, locked_until_ms FROM failure WHERE name = ?", (name[:64],)
            ).fetchone()
        locked = fail is not None and fail[1] > now
        ok = self._verify(row[0] if row else self._dummy, password[:MAX_PASSWORD])
        if locked:
            _log.warning("login refused: locked", user=name[:64])
            raise AccessError("locked", "too many failed logins: try again later")
        if not ok or row is None:
            self._failed(name[:64], now, 0 if fail is None else int(fail[0]))
            raise AccessError("unknown", "wrong user name or password")
        session = SESSION_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            self.db.execute("DELETE FROM failure WHERE name = ?", (name,))
            self.db.execute("DELETE FROM session WHERE expires_ms <= ?", (now,))
            self.db.execute(
                "INSERT INTO session (hash, user, expires_ms) VALUES (?, ?, ?)",
                (token_hash(session), name, now + int(SESSION_S * 1000)),
            )
        _log.info("login", user=name)
        return session

    def logout(self, session: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM session WHERE hash = ?", (token_hash(session),))

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def _failed(self, name: str, now: int, count: int) -> None:
        count += 1
        lock_s = 0.0
        if count > FREE_FAILURES:
            lock_s = min(LOCK_BASE_S * 2 ** (count - FREE_FAILURES - 1), LOCK_MAX_S)
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO failure (name, count, last_ms, locked_until_ms) "
                "VALUES (?, ?, ?, ?)",
                (name, count, now, now + int(lock_s * 1000)),
            )
        if lock_s:
            _log.warning("login failed: locked", user=name, failures=count, lock_s=lock_s)
        else:
            _log.warning("login failed", user=name, failures=count)

    def _session(self, digest: str, now: int) -> Caller:
        with self._lock:
            row = self.db.execute(
                "SELECT u.name, u.role, u.scope, s.expires_ms FROM session s "
                "JOIN user u ON u.name = s.user WHERE s.hash = ?",
                (digest,),
            ).fetchone()
        if row is None:
            raise AccessError("unknown", "unknown session: log in again")
        name, role, scope, expires = row
        if expires <= now:
            raise AccessError("expired", "session expired: log in again")
        return Caller(f"user:{name}", Grant(role, scope))
