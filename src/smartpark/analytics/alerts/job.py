"""The three ``smartpark alerts`` commands as one call each, from the command's options.

* :func:`run`: load the registry and the rules, open the store, run the alerts process
  (:func:`~analytics.alerts.service.serve`) with its state file beside the store
* :func:`status`: what a state file holds (active alerts, the outbox per channel, dead
  letters), and :func:`status_tables` to show it
* :func:`verify_webhook`: check a received webhook's signature with a secret file

User documentation: ``docs/alerts.md``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, TextIO

from rich.table import Table

from smartpark.analytics.alerts import rules as rules_mod
from smartpark.analytics.alerts import signing
from smartpark.analytics.alerts.evaluate import rfc3339
from smartpark.analytics.alerts.service import Mode, serve
from smartpark.analytics.alerts.state import Active, AlertState, OutboxMessage, default_path
from smartpark.core import logs
from smartpark.core import registry as registry_mod
from smartpark.core.errors import ConfigError
from smartpark.core.settings import CommonSettings
from smartpark.store.open import open_store

RULES_FILE: Final = "rules.toml"  # the rules file's default name, beside the registry
OUTBOX_STATES: Final = ("pending", "delivered", "dead")


def run(
    settings: CommonSettings,
    mode: Mode,
    *,
    rules: Path | None = None,
    state: Path | None = None,
    interval_s: float = 60.0,
    out: TextIO,
) -> None:
    """Evaluate ``rules`` (default: ``rules.toml`` beside the registry) in ``mode``.

    The state file defaults to one beside a sqlite store (:func:`state.default_path`).
    A dry run does not resolve secrets: it sends nothing and needs none.
    """
    reg = registry_mod.load(settings.registry)
    rules_path = rules or settings.registry.parent / RULES_FILE
    ruleset = rules_mod.load(rules_path, reg, resolve_secrets=mode != "dry_run")
    logs.configure(settings.log_level)
    state_path = state or default_path(str(settings.store_url))
    store = open_store(settings.store_url, reg)
    try:
        serve(reg, ruleset, store, state_path, mode, interval_s=interval_s, out=out)
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """What one state file holds, read in one go."""

    path: Path
    active: list[Active]
    outbox: dict[str, Counter[str]]  # channel -> messages per state (OUTBOX_STATES)
    dead: list[OutboxMessage]


def status(store_url: str, state: Path | None = None) -> AlertStatus:
    """Read the state file ``state`` (default: the one :func:`run` uses for ``store_url``).

    Raises :class:`ConfigError` when there is no state file there yet.
    """
    path = state or default_path(store_url)
    if not path.exists():
        raise ConfigError(str(path), ["no alert state file here (has `alerts --once` run?)"])
    with AlertState(path) as st:
        outbox: dict[str, Counter[str]] = {}
        for name, messages in zip(
            OUTBOX_STATES, (st.pending(), st.delivered(), st.dead()), strict=True
        ):
            for m in messages:
                outbox.setdefault(m.channel, Counter())[name] += 1
        return AlertStatus(path, st.all_active(), dict(sorted(outbox.items())), st.dead())


def status_tables(report: AlertStatus) -> list[Table]:
    """The active alerts, the outbox and (if any) the dead letters, as rich tables."""
    active = Table(title=f"{report.path}: active alerts")
    for column in ("rule", "scope", "id", "status", "since (UTC)", "value", "threshold"):
        active.add_column(column)
    for a in report.active:
        active.add_row(
            a.rule,
            a.scope,
            a.id,
            a.status + (" (clearing)" if a.clearing_ms is not None else ""),
            rfc3339(a.since_ms, "UTC"),
            "-" if a.value is None else f"{a.value:.4g}",
            "-" if a.threshold is None else f"{a.threshold:.4g}",
        )
    outbox = Table(title="outbox (messages)")
    for column in ("channel", *OUTBOX_STATES):
        outbox.add_column(column, justify="right")
    for channel, counts in report.outbox.items():
        outbox.add_row(channel, *(str(counts[n]) for n in OUTBOX_STATES))
    tables = [active, outbox]
    if report.dead:
        letters = Table(title="dead letters")
        for column in ("message", "channel", "alerts", "attempts", "reason"):
            letters.add_column(column)
        for m in report.dead:
            letters.add_row(
                str(m.id), m.channel, str(len(m.events)), str(m.attempts), m.reason or ""
            )
        tables.append(letters)
    return tables


def verify_webhook(
    secret_file: Path,
    timestamp: str,
    signature: str,
    body: Path | None = None,
    *,
    max_age_s: float = signing.DEFAULT_MAX_AGE_S,
    stdin: BinaryIO | None = None,
) -> signing.Verdict:
    """Check a received webhook: the secret from ``secret_file``, the exact body bytes from
    ``body`` (default: ``stdin``, else standard input), the two header values as received.

    Raises :class:`ConfigError` when the secret file or the body cannot be read, or the
    secret file is empty.
    """
    try:
        secret = secret_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(secret_file), [f"cannot read secret file: {exc}"]) from None
    if not secret:
        raise ConfigError(str(secret_file), ["secret file is empty"])
    try:
        data = body.read_bytes() if body is not None else (stdin or sys.stdin.buffer).read()
    except OSError as exc:
        raise ConfigError(str(body), [f"cannot read body: {exc}"]) from None
    return signing.verify(
        secret, timestamp, signature, data, now_s=time.time(), max_age_s=max_age_s
    )
