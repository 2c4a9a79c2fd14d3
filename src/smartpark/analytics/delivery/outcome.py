"""The answer to one delivery attempt, whichever way it went out (mail or webhook)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outcome:
    """``ok``: the server accepted the message. Otherwise ``reason`` says why not (never
    a secret), ``permanent`` that a retry cannot help (the delivery is dead at once),
    ``retry_after_ms`` a delay the server asked for (HTTP 429 ``Retry-After``)."""

    ok: bool
    reason: str
    permanent: bool = False
    retry_after_ms: int = 0
