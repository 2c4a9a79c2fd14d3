"""Counting and logging what admission accepted and rejected.

Every rejected reading is counted (``readings_rejected{gateway, reason}``) and every
payload rejected whole too (``payloads_rejected{gateway, reason}``). Logs say why, with
the first problem of the message, but at most once per ``log_every_s`` for each
(gateway, reason): a gateway sending garbage at 1 kHz must not flood the journal. The
line then tells how many similar messages were not logged.
"""

from __future__ import annotations

import time
from typing import Any

from smartpark.core.logs import get_logger
from smartpark.ingest.metrics import IngestMetrics
from smartpark.ingest.validation import Admitted

log = get_logger("ingest.rejections")


class Accounting:
    def __init__(self, metrics: IngestMetrics, log_every_s: float = 10.0) -> None:
        self.metrics = metrics
        self.log_every_s = log_every_s
        self._last_log: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}
        self._accepted: dict[str, Any] = {}  # gateway -> labelled counter child

    def record(self, topic: str, admitted: Admitted) -> None:
        m = self.metrics
        gateway = admitted.gateway
        if admitted.payload_error is not None:
            m.payloads_rejected.labels(gateway, admitted.payload_error).inc()
            self._log(topic, admitted, admitted.payload_error)
            return
        if admitted.accepted:
            child = self._accepted.get(gateway)
            if child is None:
                child = self._accepted[gateway] = m.readings_accepted.labels(gateway)
            child.inc(admitted.accepted)
        if admitted.rejected:
            for reason, count in admitted.rejected.items():
                m.readings_rejected.labels(gateway, reason).inc(count)
            self._log(topic, admitted, next(iter(admitted.rejected)))

    def _log(self, topic: str, admitted: Admitted, reason: str) -> None:
        key = (admitted.gateway, reason)
        now = time.monotonic()
        last = self._last_log.get(key)
        if last is not None and now - last < self.log_every_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last_log[key] = now
        log.warning(
            "payload_rejected" if admitted.payload_error else "readings_rejected",
            topic=topic[:200],
            gateway=admitted.gateway,
            reasons=dict(admitted.rejected) if admitted.rejected else reason,
            accepted=admitted.accepted,
            detail=(admitted.detail or "")[:300],
            similar_not_logged=self._suppressed.pop(key, 0),
        )
