"""State files of the services that act exactly once (alerts, scheduled delivery).

One SQLite file beside the store (:func:`beside_store`), in WAL mode with
``synchronous=FULL``, whose ``meta`` table holds its schema version: a file of another
version is refused with its path rather than misread. :meth:`StateFile.transaction`
keeps all of a step or none of it, so a crash between a send and its record is the
only way a message can go twice. A subclass names its ``KIND`` and its ``SCHEMA`` (which
creates ``meta`` and its own tables) and adds what it stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self


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
        if read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        else:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(self.SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                (str(self.SCHEMA_VERSION),),
            )
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or int(row[0]) != self.SCHEMA_VERSION:
            found = "none" if row is None else row[0]
            self.db.close()
            raise RuntimeError(
                f"{self.path}: {self.KIND} state schema {found}, expected {self.SCHEMA_VERSION}"
            )

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
