"""What ``smartpark gateway check`` and ``smartpark gateway status`` show, as table rows.

:func:`meter_rows` says how each meter of a validated configuration is read;
:func:`status_rows` turns the outbox and the status the running gateway saved there
(every 2 s) into ``(name, value)`` rows. The command line only prints them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from smartpark.core.timestamps import format_rfc3339, now_ms
from smartpark.gateway.config import GatewayConfig
from smartpark.gateway.outbox import OutboxStatus

NOT_READ: Final = "not read"
RUNNING_WITHIN_MS: Final = 10_000  # a status younger than this: the gateway is running


def meter_rows(cfg: GatewayConfig) -> list[tuple[str, str, str, str]]:
    """(meter, quantity, interval, read by) for every meter of the gateway, sorted."""
    how: dict[str, str] = {}
    for ep in cfg.endpoints:
        for r in ep.reads:
            how[r.meter] = (
                f"modbus.{ep.name} unit {r.device_id} {r.function} {r.address} {r.type} "
                f"× {r.scale:g} {r.unit}"
            )
    for bus in cfg.dlt645:
        for d in bus.reads:
            how[d.meter] = (
                f"dlt645.{bus.name} meter {d.address} {d.di.name} ({d.di.code}) "
                f"× {d.scale:g} {d.di.unit}"
            )
    if cfg.hj212 is not None:
        for mn, logger in cfg.hj212.loggers.items():
            for code, meter in logger.meters.items():
                how[meter] = f"hj212 logger {mn} code {code} ({logger.unit(code)})"
    for m in cfg.simulated_meters:
        how[m] = "simulator"
    return [
        (
            meter,
            cfg.meter_quantity[meter],
            f"{cfg.registry.meters[meter].interval_s} s",
            how.get(meter, NOT_READ),
        )
        for meter in cfg.meters
    ]


def state(status: dict[str, Any], now: int) -> str:
    """Running, stopped, never ran, or killed (a stale status that still says running)."""
    updated = status.get("updated_at")
    if updated is None:
        return "never ran"
    if not status.get("running", False):
        return "stopped (last saved status)"
    if now - int(updated) < RUNNING_WITHIN_MS:
        return "running"
    return "not running: killed or crashed (last saved status)"


def status_rows(st: OutboxStatus, now: int | None = None) -> list[tuple[str, str]]:
    """The rows of ``smartpark gateway status``."""
    now = now_ms() if now is None else now
    s = st.status
    updated = s.get("updated_at")
    rows: list[tuple[str, str]] = [
        ("state", state(s, now)),
        ("status saved", format_rfc3339(int(updated)) if updated else "never"),
        ("broker connected", "yes" if s.get("connected") else "no"),
        ("readings queued", f"{st.queued:,}"),
        ("oldest queued", _age(now, st.oldest_ts)),
        ("outbox size", f"{st.used_bytes / 1024 / 1024:.1f} MiB"),
        ("dropped (outbox full)", f"{st.dropped:,}"),
        ("polled (this run)", f"{s.get('polled', 0):,}"),
        ("published (this run)", f"{s.get('published', 0):,}"),
        ("messages", f"{s.get('messages', 0):,}"),
        ("reconnects", f"{s.get('reconnects', 0):,}"),
        ("meter errors", _errors(s.get("meter_errors", {}))),
    ]
    jitter = s.get("jitter_ms")
    if jitter:
        rows.append(
            ("poll jitter p50/p99/max", "/".join(f"{jitter[k]:.0f}" for k in jitter) + " ms")
        )
    return rows


def _age(now: int, ts: int | None) -> str:
    if ts is None:
        return "-"
    return f"{dt.timedelta(seconds=max(0, (now - ts) // 1000))} ago"


def _errors(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(counts.items()))
