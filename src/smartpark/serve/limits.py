"""Per-caller rate limiting (a token bucket each) and the request size limits.

A bucket holds up to ``burst`` requests and refills at ``rate`` a second; a request
that finds it empty is answered 429 with ``Retry-After``. Buckets live in memory, per
server process (a reverse proxy in front may add its own limit per address).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_QUERY: Final = 2048  # bytes of query string
MAX_PATH: Final = 512
MAX_BODY: Final = 16_384  # bytes (a login form)


@dataclass
class RateLimiter:
    rate: float  # requests per second; 0: no limit
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, t)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> float:
        """0 when ``key`` may go on, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0


class SizeLimit:
    """ASGI middleware: 414 for an oversized path or query, 413 for an oversized body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            status = 0
            if len(scope.get("query_string", b"")) > MAX_QUERY or len(scope["path"]) > MAX_PATH:
                status = 414
            for name, value in scope.get("headers", []):
                if name == b"content-length":
                    if not value.isdigit() or int(value) > MAX_BODY:
                        status = 413
                elif name == b"transfer-encoding" and scope["method"] in ("POST", "PUT"):
                    status = 411  # a body of unknown size: give Content-Length
            if status:
                await _plain(send, status)
                return
        await self.app(scope, receive, send)


async def _plain(send: Send, status: int) -> None:
    body = b'{"error":"too_large","detail":"request too large"}'
    if status == 411:
        body = b'{"error":"length_required","detail":"send Content-Length"}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
