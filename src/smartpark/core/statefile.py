"""State files of the services that act exactly once (alerts, scheduled delivery).

One SQLite file beside the store (:func:`beside_store`), in WAL mode with
``synchronous=FULL``, whose ``meta`` table holds its schema version: a file of another
version, a damaged file, a file that is not SQLite and a database holding other tables
(a store, another service's state file) are refused with a :class:`StateFileError`
naming the path, rather than misread or written into. :meth:`StateFile.transaction`
keeps all of a step or none of it, so a crash between a send and its record is the
only way a message can go twice. A subclass names its ``KIND`` and its ``SCHEMA`` (which
creates ``meta`` and its own tables) and adds what it stores.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self

from smartpark.core.errors import StateFileError


def beside_store(store_url: str, name: str) -> Path:
    """``sqlite:///x/store.db`` → ``x/store.NAME.db``; other stores → ``smartpark-NAME.db``
    in the working folder."""
    if store_url.startswith("sqlite:///"):
        store = Path(store_url.removeprefix("sqlite:///"))
        return store.with_name(f"{store.stem}.{name}.db")
    return Path(f"smartpark-{name}.db")


class StateFile:
    """One state file. Not thread-safe: one process owns it.

    ``read_only`` opens an existing file without changing it (a status command).
    """

    KIND: ClassVar[str]  # named in errors: "alert", "delivery"
    SCHEMA: ClassVar[str]  # CREATE TABLE IF NOT EXISTS ... (meta included)
    SCHEMA_VERSION: ClassVar[int]

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            self.db = self._open(read_only)
        except sqlite3.DatabaseError as exc:
            # Not SQLite, damaged, unreadable: a message with the path, not a traceback.
            raise StateFileError(
                f"{self.path}: cannot use this file as the {self.KIND} state: {exc} "
                "(restore it from a backup, or move it aside to start a new one)"
            ) from None
        try:
            self._check()
        except BaseException:
            self.db.close()
            raise

    def _open(self, read_only: bool) -> sqlite3.Connection:
        if read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # is it SQLite?
            return db
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            # Refuse a file that is not ours before changing anything in it.
            self._refuse_foreign(db)
            self._check_version(db, required=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(self.SCHEMA)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                (str(self.SCHEMA_VERSION),),
            )
        except BaseException:
            db.close()
            raise
        return db

    def _refuse_foreign(self, db: sqlite3.Connection) -> None:
        """A :class:`StateFileError` when ``db`` holds tables this kind of state file does
        not have (a store, another service's state file): never write into those."""
        mine = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", self.SCHEMA))
        tables = {
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        if tables - mine:
            raise StateFileError(
                f"{self.path}: not usable as the {self.KIND} state: it holds the tables "
                f"{', '.join(sorted(tables - mine))} (a store? another service's state?); "
                "give another path"
            )

    def _check_version(self, db: sqlite3.Connection, *, required: bool) -> None:
        """A :class:`StateFileError` for a schema version other than this one's (or none,
        when ``required``)."""
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:
            row = None  # no meta table
        if row is None:
            if required:
                raise StateFileError(
                    f"{self.path}: not usable as the {self.KIND} state: it has no schema version"
                )
            return
        if str(row[0]) != str(self.SCHEMA_VERSION):
            raise StateFileError(
                f"{self.path}: {self.KIND} state schema {row[0]}, expected {self.SCHEMA_VERSION}"
            )

    def _check(self) -> None:
        self._refuse_foreign(self.db)
        self._check_version(self.db, required=True)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


__all__ = ["StateFile", "beside_store"]
