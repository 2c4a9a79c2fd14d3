"""Answers built from the store, kept until the store changes (issue #27).

A page of the web view costs far more to build (KPI rows, rollups, the template) than
to send, and it is the same for every request until something is written to the store.
:class:`AnswerCache` keeps the last answers built, each with the store's change token
(:meth:`~smartpark.store.base.Store.version`) read before it was built::

    cache: AnswerCache[bytes] = AnswerCache(max_entries=256)
    body = cache.get(("park", "petrochem", "2026-12", lang), store.version(), build)

An answer is reused only while ``store.version()`` still equals the token it was built
at. Where the store cannot tell (``None``: InfluxDB), it is reused for ``ttl_s``
seconds after its build began; with ``min_age_s`` an answer is reused for that long
whatever the token says (a store written every second would otherwise rebuild every
page for every request). Content that ages with the clock rather than the store
(how long ago each meter last reported) passes ``max_age_s``: it is never served older
than that, whatever the token says.

The key must hold everything else the answer depends on: the caller's visible scope
or role, the query, the language; inputs kept outside the store (files read on
request) need ``max_age_s`` too, since the token does not see them.

Concurrent requests for the same missing answer build it once: the first builds, the
others wait for its result (or its exception, raised in each of them, as
:meth:`concurrent.futures.Future.result` does). Thread-safe: the serve endpoints run
in a thread pool. Bounded: past ``max_entries`` the least recently used answer goes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["AnswerCache"]

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    version: int | None
    built_at: float  # clock() when the build began: the data is at least this old


class AnswerCache(Generic[V]):
    """Answers by key, valid while the store's change token is unchanged.

    ``hits`` counts answers served without building (kept, or shared with a build
    under way); ``misses`` counts builds.
    """

    def __init__(
        self,
        *,
        max_entries: int = 256,
        ttl_s: float = 5.0,
        min_age_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be 0 or more seconds, not {ttl_s}")
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        # Under continuous ingest the token changes every second: an answer younger than
        # this is served even so, so a page lags the store by at most min_age_s instead
        # of being rebuilt for every request.
        self.min_age_s = min_age_s
        self.hits = 0
        self.misses = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        # Builds under way, by (key, version): a request joins one only if it was asked
        # for at the same token, so an answer is never shared across a store change.
        self._building: dict[tuple[Hashable, int | None], Future[V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        key: Hashable,
        version: int | None,
        build: Callable[[], V],
        *,
        max_age_s: float | None = None,
    ) -> V:
        """The answer kept for ``key`` if still valid, else ``build()`` (kept for next time).

        ``version`` is the store's change token read *before* this call, so a write
        that lands while ``build`` reads changes it and the answer is rebuilt next
        time. ``max_age_s``: never return an answer whose build began longer ago.
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None:
                if self._valid(entry, version, now, max_age_s):
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry.value
                del self._entries[key]
            under_way = self._building.get((key, version))
            if under_way is None:
                flight: Future[V] = Future()
                self._building[(key, version)] = flight
                self.misses += 1
            else:
                self.hits += 1
        if under_way is not None:
            return under_way.result()
        try:
            value = build()
        except BaseException as exc:
            with self._lock:
                del self._building[(key, version)]
            flight.set_exception(exc)
            raise
        with self._lock:
            del self._building[(key, version)]
            kept = self._entries.get(key)
            if kept is None or kept.built_at <= now:  # never replace a newer build
                self._entries[key] = _Entry(value, version, now)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        flight.set_result(value)
        return value

    def peek(
        self, key: Hashable, version: int | None, *, max_age_s: float | None = None
    ) -> V | None:
        """The answer kept for ``key`` if still valid, else None; never builds and never
        waits for a build (the event loop may call it: a miss then goes to :meth:`get`
        in a worker thread)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not self._valid(entry, version, self._clock(), max_age_s):
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value

    def _valid(
        self, entry: _Entry[V], version: int | None, now: float, max_age_s: float | None
    ) -> bool:
        age = now - entry.built_at
        if max_age_s is not None and age >= max_age_s:
            return False
        if age < self.min_age_s:
            return True
        if version is None:
            return entry.version is None and age < self.ttl_s
        return entry.version == version

    def clear(self) -> None:
        """Forget every kept answer (builds under way still finish and are kept)."""
        with self._lock:
            self._entries.clear()
