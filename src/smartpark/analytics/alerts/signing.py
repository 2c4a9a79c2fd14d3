"""Signatures: smartpark's webhook signature, and the DingTalk and Feishu robot signatures.

smartpark webhooks (docs/alerts.md) carry two headers::

    X-Smartpark-Timestamp: 1764000000                       (epoch seconds)
    X-Smartpark-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A receiver recomputes the HMAC over the exact body bytes it received and compares in
constant time (:func:`verify`); it should also refuse a timestamp too far from its own
clock so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

TIMESTAMP_HEADER: Final = "X-Smartpark-Timestamp"
SIGNATURE_HEADER: Final = "X-Smartpark-Signature"
DEFAULT_MAX_AGE_S: Final = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Smartpark-Signature`` value for ``body`` sent at ``timestamp`` (epoch s)."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(int(timestamp)), SIGNATURE_HEADER: sign(secret, timestamp, body)}


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str  # "ok", "bad_timestamp", "stale_timestamp", "bad_signature"


def verify(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    *,
    now_s: float | None = None,
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> Verdict:
    """Check a received request; ``max_age_s <= 0`` skips the replay window check."""
    text = timestamp.strip()
    if not text.isdigit() or len(text) > 12:
        return Verdict(False, "bad_timestamp")
    if max_age_s > 0 and now_s is not None and abs(now_s - int(text)) > max_age_s:
        return Verdict(False, "stale_timestamp")
    expected = sign(secret, int(text), body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8")):
        return Verdict(False, "bad_signature")
    return Verdict(True, "ok")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk signed robot: base64(HMAC-SHA256(secret, f"{ts_ms}\\n{secret}")).

    The caller URL-encodes it into the ``sign`` query parameter beside ``timestamp``
    (milliseconds; DingTalk refuses one more than an hour off).
    """
    message = f"{int(timestamp_ms)}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark custom bot: base64(HMAC-SHA256(key=f"{ts_s}\\n{secret}", msg=b"")).

    Feishu uses the string as the HMAC *key* over an empty message; ``timestamp``
    (seconds) and ``sign`` go into the JSON body.
    """
    key = f"{int(timestamp_s)}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")
