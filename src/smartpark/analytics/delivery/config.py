"""The schedules file (docs/schedule.md): mail servers, webhook channels, recipients with
their scopes, and schedules, validated against the registry all at once.

::

    [smtp.main]                          [recipient.committee]
    host = "smtp.park.example"           scope = "zone:lanzhou-new-area"
    user = "reports@park.example"        email = ["committee@park.example"]
    password_env = "SMARTPARK_SMTP_PASSWORD"
    from = "Reports <reports@park.example>"

    [schedule.zone-monthly]
    kind = "monthly_report"
    scope = "zone:lanzhou-new-area"
    formats = ["pdf", "xlsx"]
    recipients = ["committee"]

:func:`load` raises one :class:`~smartpark.core.errors.ConfigError` listing every problem
with its path (``schedule.zone-monthly.recipients: recipient 'chem-a' (enterprise:chem-a)
may not receive the monthly report of zone:lanzhou-new-area``): a recipient never gets
data outside its scope. ``[channel.ID]`` tables are those of the alert rules
(:class:`~smartpark.analytics.alerts.rules.ChannelChecker`). Secrets (the SMTP password,
webhook secrets and URLs) come from an environment variable or a file, are kept out of
``repr`` and never logged.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Final, Literal, get_args

from smartpark.analytics.alerts.rules import Channel, ChannelChecker
from smartpark.analytics.delivery.due import WEEKDAYS, Cadence, parse_at
from smartpark.analytics.report import job as report_job
from smartpark.core.ids import is_valid_id
from smartpark.core.registry import LANGS, Registry
from smartpark.core.scopes import SCOPE_KINDS, covered, may_report, parse_scope
from smartpark.core.tomlcheck import read_toml

Kind = Literal["monthly_report", "weekly_summary"]
Security = Literal["starttls", "tls", "none"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
SECURITIES: Final[tuple[Security, ...]] = get_args(Security)
# What a monthly report may be attached as; each must be a format the report job writes.
REPORT_FORMATS: Final = ("pdf", "xlsx", "html")
DEFAULT_PORTS: Final[dict[Security, int]] = {"starttls": 587, "tls": 465, "none": 25}
LINK_FIELDS: Final = ("schedule", "period", "scope", "id")
RECIPIENT_SCOPE: Final = "recipient"  # a schedule's scope: each recipient's own
REPORT_SCOPES: Final = ("zone", "park", "region")  # of a monthly report
SUMMARY_SCOPES: Final = SCOPE_KINDS  # of a weekly summary: zone, park, enterprise
MAX_ADDRESSES: Final = 50


def report_formats() -> tuple[str, ...]:
    """The formats this installation's report job writes (``smartpark report --format``)."""
    return tuple(get_args(report_job.Format))


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """A mail server to send through. ``password`` is ``None`` when not resolved."""

    id: str
    host: str
    port: int
    security: Security  # starttls (required before login), tls (implicit), none
    sender: str  # the From header: "Name <address>" or an address
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None  # trust this CA instead of the system's
    timeout_s: float = 30.0
    max_attempts: int = 12


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets deliveries, limited to one ``kind:id`` scope; by e-mail or one channel."""

    id: str
    scope: str  # "zone:ID", "park:ID" or "enterprise:ID"
    emails: tuple[str, ...] = ()
    smtp: str | None = None  # the [smtp.ID] for ``emails``
    channel: str | None = None  # or the [channel.ID] (webhook)

    @property
    def route(self) -> str:
        """``smtp:ID`` or ``channel:ID``: the way out, for rate limits and status."""
        return f"smtp:{self.smtp}" if self.channel is None else f"channel:{self.channel}"


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    kind: Kind
    cadence: Cadence
    timezone: str  # of the scope (of the recipients' scopes with scope = "recipient")
    recipients: tuple[str, ...]
    scope: str | None  # "kind:id" of the data; None: each recipient's own scope
    formats: tuple[str, ...] = ()  # monthly_report attachments
    lang: str | None = None  # None: the zone's
    link: str | None = None  # a URL template with {schedule} {period} {scope} {id}

    def scope_for(self, recipient: Recipient) -> str:
        """The ``kind:id`` whose data ``recipient`` gets from this schedule."""
        return self.scope or recipient.scope


@dataclass(frozen=True)
class DeliveryConfig:
    smtp: Mapping[str, SmtpServer]
    channels: Mapping[str, Channel]
    recipients: Mapping[str, Recipient]
    schedules: Mapping[str, Schedule]
    source: str = "<schedules>"


def load(path: str | Path, registry: Registry, *, resolve_secrets: bool = True) -> DeliveryConfig:
    """Load and validate a schedules file; ``ConfigError`` lists every problem.

    With ``resolve_secrets=False`` (``--check``) the SMTP password and webhook secrets
    are not read and an unset variable naming one is not an error.
    """
    path = Path(path)
    data = read_toml(path, "schedules file")
    return from_dict(
        data, registry, source=str(path), resolve_secrets=resolve_secrets, base=path.parent
    )


def from_dict(
    data: Mapping[str, Any],
    registry: Registry,
    *,
    source: str = "<schedules>",
    resolve_secrets: bool = True,
    base: Path | None = None,
) -> DeliveryConfig:
    v = _Validator(registry, resolve_secrets, base or Path.cwd())
    for key in data:
        if key not in ("smtp", "channel", "recipient", "schedule"):
            v.error(key, f"unknown section {key!r} (expected smtp, channel, recipient, schedule)")
    smtp = {i: m for i, t in v.tables(data, "smtp").items() if (m := v.smtp(i, t)) is not None}
    channels = {
        i: c for i, t in v.tables(data, "channel").items() if (c := v.channel(i, t)) is not None
    }
    raw_smtp = data.get("smtp") if isinstance(data.get("smtp"), dict) else {}
    raw_channels = data.get("channel") if isinstance(data.get("channel"), dict) else {}
    recipients = {
        i: r
        for i, t in v.tables(data, "recipient").items()
        if (r := v.recipient(i, t, raw_smtp or {}, raw_channels or {})) is not None
    }
    raw_recipients = data.get("recipient") if isinstance(data.get("recipient"), dict) else {}
    raw_schedules = v.tables(data, "schedule")
    if not raw_schedules and "schedule" not in v.failed_sections:
        v.error("schedule", "the file defines no schedule")
    schedules = {
        i: s
        for i, t in raw_schedules.items()
        if (s := v.schedule(i, t, recipients, raw_recipients or {})) is not None
    }
    v.done(source)
    return DeliveryConfig(smtp, channels, recipients, schedules, source)


_MISSING: Final = object()


def _address(text: str) -> str | None:
    """The address of ``text`` ("Name <a@b>" or "a@b"), or None if it is not one."""
    if any(c in text for c in "\r\n"):
        return None
    _, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address):
        return None
    return address


class _Validator(ChannelChecker):
    def __init__(self, registry: Registry, resolve_secrets: bool, base: Path) -> None:
        super().__init__(resolve_secrets, base)
        self.registry = registry

    def smtp(self, ident: str, t: dict[str, Any]) -> SmtpServer | None:
        path = f"smtp.{ident}"
        before = len(self.problems)
        self.keys(
            path,
            t,
            {
                "host",
                "port",
                "security",
                "user",
                "password_env",
                "password_file",
                "from",
                "ca_file",
                "timeout_s",
                "max_attempts",
            },
        )
        host = self.string(path, t, "host", required=True)
        security = self.choice(path, t, "security", SECURITIES, "starttls")
        port = self.number(path, t, "port", minimum=1, maximum=65535, integer=True)
        user = self.string(path, t, "user")
        sender = self.string(path, t, "from", required=True)
        if sender is not None and _address(sender) is None:
            self.error(f"{path}.from", f"not an e-mail address: {sender!r}")
        password = self.source(path, t, None, "password_env", "password_file", required=False)
        has_password = "password_env" in t or "password_file" in t
        if "password_env" in t and "password_file" in t:
            self.error(f"{path}.password_env", "set password_env or password_file, not both")
        if user is not None and not has_password:
            self.error(path, "a user logs in: give password_env or password_file")
        if has_password and user is None:
            self.error(path, "a password without a user: give user")
        if user is not None and security == "none":
            # Never send a password in clear text.
            self.error(f"{path}.security", 'logging in needs "starttls" or "tls", not "none"')
        ca_file: Path | None = None
        ca = self.string(path, t, "ca_file")
        if ca is not None:
            ca_file = self.base / ca
            if not ca_file.is_file():
                self.error(f"{path}.ca_file", f"no such file: {ca_file}")
        timeout = self.number(path, t, "timeout_s", minimum=0.1, maximum=600)
        attempts = self.number(path, t, "max_attempts", minimum=1, maximum=100, integer=True)
        if len(self.problems) != before or host is None or sender is None or security is None:
            return None
        return SmtpServer(
            id=ident,
            host=host,
            port=int(port or DEFAULT_PORTS[security]),
            security=security,
            sender=sender,
            user=user,
            password=password,
            ca_file=ca_file,
            timeout_s=float(timeout or 30.0),
            max_attempts=int(attempts or 12),
        )

    def scope(self, path: str, text: Any, kinds: tuple[str, ...]) -> str | None:
        """A ``kind:id`` of one of ``kinds`` whose id is in the registry; a recipient's
        scope is read as an API token's (:func:`smartpark.core.scopes.parse_scope`)."""
        if not isinstance(text, str):
            self.error(path, f"must be a string such as 'park:ID', got {text!r}")
            return None
        kind, _, ident = text.partition(":")
        if kinds == SCOPE_KINDS:
            try:
                kind, ident = parse_scope(text)
            except ValueError as exc:
                self.error(path, str(exc))
                return None
        elif kind not in kinds or not is_valid_id(ident):
            self.error(path, f"expected {' or '.join(k + ':ID' for k in kinds)}, got {text!r}")
            return None
        known: Mapping[str, Any] = {
            "zone": self.registry.zones,
            "park": self.registry.parks,
            "enterprise": self.registry.enterprises,
            "region": self.registry.regions,
        }[kind]
        if ident not in known:
            self.error(path, f"unknown {kind} {ident!r}")
            return None
        return f"{kind}:{ident}"

    def recipient(
        self,
        ident: str,
        t: dict[str, Any],
        raw_smtp: Mapping[str, Any],
        raw_channels: Mapping[str, Any],
    ) -> Recipient | None:
        path = f"recipient.{ident}"
        before = len(self.problems)
        self.keys(path, t, {"scope", "email", "smtp", "channel"})
        scope = None
        if "scope" not in t:
            self.error(f"{path}.scope", "missing required key (zone:ID, park:ID or enterprise:ID)")
        else:
            scope = self.scope(f"{path}.scope", t["scope"], ("zone", "park", "enterprise"))
        emails = self.emails(path, t)
        smtp = self.string(path, t, "smtp")
        channel = self.string(path, t, "channel")
        if emails and channel is not None:
            self.error(path, "give email or channel, not both (make two recipients)")
        elif not emails and channel is None and "email" not in t:
            self.error(path, "give email (addresses) or channel (a [channel.ID])")
        if channel is not None and channel not in raw_channels:
            self.error(f"{path}.channel", f"unknown channel {channel!r}")
        if smtp is not None and channel is not None:
            self.error(f"{path}.smtp", "smtp goes with email, not with channel")
        if emails and smtp is None:
            if len(raw_smtp) == 1:
                smtp = next(iter(raw_smtp))
            elif not raw_smtp:
                self.error(f"{path}.email", "e-mail needs a mail server: add an [smtp.ID] table")
            else:
                self.error(f"{path}.smtp", f"missing: which of {', '.join(raw_smtp)} sends it")
        elif smtp is not None and smtp not in raw_smtp:
            self.error(f"{path}.smtp", f"unknown smtp server {smtp!r}")
        if len(self.problems) != before or scope is None:
            return None
        return Recipient(ident, scope, emails, smtp if emails else None, channel)

    def emails(self, path: str, t: Mapping[str, Any]) -> tuple[str, ...]:
        value = t.get("email")
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
            self.error(f"{path}.email", f"must be an address or a list of them, got {value!r}")
            return ()
        if len(items) > MAX_ADDRESSES:
            self.error(f"{path}.email", f"at most {MAX_ADDRESSES} addresses, got {len(items)}")
        out = []
        for item in items:
            address = _address(item)
            if address is None:
                self.error(f"{path}.email", f"not an e-mail address: {item!r}")
            else:
                out.append(item.strip())
        if len(set(out)) != len(out):
            self.error(f"{path}.email", "lists an address twice")
        return tuple(out)

    def schedule(
        self,
        ident: str,
        t: dict[str, Any],
        recipients: Mapping[str, Recipient],
        raw_recipients: Mapping[str, Any],
    ) -> Schedule | None:
        path = f"schedule.{ident}"
        before = len(self.problems)
        kind = self.choice(path, t, "kind", KINDS, _MISSING)
        common = {"kind", "scope", "recipients", "at", "lang", "link"}
        extra = {"monthly_report": {"day", "formats"}, "weekly_summary": {"weekday"}}
        self.keys(path, t, common | extra.get(kind or "", set()))
        at = self.local_time(path, t)
        cadence: Cadence | None = None
        formats: tuple[str, ...] = ()
        if kind == "monthly_report":
            day = self.number(path, t, "day", 1, minimum=1, maximum=28, integer=True)
            cadence = Cadence("month", int(day or 1), at)
            formats = self.formats(path, t)
        elif kind == "weekly_summary":
            weekday = self.choice(path, t, "weekday", WEEKDAYS, "monday")
            cadence = Cadence("week", WEEKDAYS.index(weekday or "monday"), at)
        lang = self.choice(path, t, "lang", LANGS, None) if "lang" in t else None
        link = self.link(path, t)
        names = self.recipient_refs(path, t, raw_recipients)
        scope: str | None = None
        data_kinds = REPORT_SCOPES if kind == "monthly_report" else SUMMARY_SCOPES
        if "scope" not in t:
            self.error(f"{path}.scope", 'missing required key (a kind:ID, or "recipient")')
        elif t["scope"] != RECIPIENT_SCOPE:
            scope = self.scope(f"{path}.scope", t["scope"], data_kinds)
        if len(self.problems) != before or kind is None or cadence is None:
            return None
        mine = [recipients[n] for n in names if n in recipients]
        if len(mine) != len(names):
            return None  # the recipient's own error is reported already
        self.recipients_in_scope(path, kind, scope, mine)
        timezone = self.timezone_of(path, [scope] if scope else [r.scope for r in mine])
        if len(self.problems) != before or timezone is None:
            return None
        return Schedule(ident, kind, cadence, timezone, tuple(names), scope, formats, lang, link)

    def local_time(self, path: str, t: Mapping[str, Any]) -> dt.time:
        """``at``: "HH:MM" (or a TOML local time with 0 seconds); 09:00 by default."""
        value = t.get("at", "09:00")
        if isinstance(value, dt.time) and not value.second and not value.microsecond:
            return value.replace(tzinfo=None)
        try:
            return parse_at(value if isinstance(value, str) else repr(value))
        except ValueError as exc:
            self.error(f"{path}.at", str(exc))
            return parse_at("09:00")

    def formats(self, path: str, t: Mapping[str, Any]) -> tuple[str, ...]:
        value = t.get("formats", ["pdf"])
        if not isinstance(value, list) or not value or not all(isinstance(f, str) for f in value):
            self.error(f"{path}.formats", f"must be a non-empty list of formats, got {value!r}")
            return ()
        available = report_formats()
        for fmt in value:
            if fmt not in REPORT_FORMATS:
                self.error(
                    f"{path}.formats",
                    f"unknown format {fmt!r} (one of {', '.join(REPORT_FORMATS)})",
                )
            elif fmt not in available:
                self.error(
                    f"{path}.formats",
                    f"this smartpark writes no {fmt} report yet (it writes {', '.join(available)})",
                )
        if len(set(value)) != len(value):
            self.error(f"{path}.formats", "lists a format twice")
        return tuple(value)

    def link(self, path: str, t: Mapping[str, Any]) -> str | None:
        link = self.string(path, t, "link")
        if link is None:
            return None
        if not link.startswith(("https://", "http://")):
            self.error(f"{path}.link", f"must be an http:// or https:// URL, got {link!r}")
            return None
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(link) if f is not None}
        except ValueError as exc:
            self.error(f"{path}.link", f"bad template: {exc}")
            return None
        unknown = sorted(names - set(LINK_FIELDS))
        if unknown:
            self.error(
                f"{path}.link",
                f"unknown field {{{unknown[0]}}} (known: {', '.join(LINK_FIELDS)})",
            )
            return None
        return link

    def recipient_refs(
        self, path: str, t: Mapping[str, Any], raw_recipients: Mapping[str, Any]
    ) -> list[str]:
        value = t.get("recipients", _MISSING)
        if value is _MISSING:
            self.error(f"{path}.recipients", "missing required key (a list of recipient ids)")
            return []
        if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
            self.error(
                f"{path}.recipients", f"must be a non-empty list of recipient ids, got {value!r}"
            )
            return []
        for name in value:
            if name not in raw_recipients:
                self.error(f"{path}.recipients", f"unknown recipient {name!r}")
        if len(set(value)) != len(value):
            self.error(f"{path}.recipients", "lists a recipient twice")
        return list(value)

    def recipients_in_scope(
        self, path: str, kind: Kind, scope: str | None, recipients: list[Recipient]
    ) -> None:
        """An error for each recipient that may not have the data it would be sent."""
        what = "monthly report" if kind == "monthly_report" else "weekly summary"
        for r in recipients:
            data_kind, _, data_id = (scope or r.scope).partition(":")
            if kind == "monthly_report" and scope is None and data_kind == "enterprise":
                self.error(
                    f"{path}.recipients",
                    f"recipient {r.id!r} ({r.scope}): a monthly report is of a zone or park, "
                    "not of an enterprise",
                )
                continue
            vis = covered(self.registry, r.scope)
            allowed = (
                may_report(self.registry, vis, data_kind, data_id)
                if kind == "monthly_report"
                else vis.allows(data_kind, data_id)
            )
            if not allowed:
                self.error(
                    f"{path}.recipients",
                    f"recipient {r.id!r} ({r.scope}) may not receive the {what} of "
                    f"{data_kind}:{data_id}: it is outside the recipient's scope",
                )

    def timezone_of(self, path: str, scopes: list[str]) -> str | None:
        """The one time zone of ``scopes`` (their due times are local to it)."""
        zones = {self.scope_timezone(s) for s in scopes}
        if len(zones) == 1:
            return zones.pop()
        self.error(
            f"{path}.recipients",
            f"the recipients' scopes are in different time zones ({', '.join(sorted(zones))}): "
            "split the schedule, one per time zone",
        )
        return None

    def scope_timezone(self, scope: str) -> str:
        reg = self.registry
        kind, _, ident = scope.partition(":")
        if kind == "zone":
            return reg.zones[ident].timezone
        if kind == "park":
            return reg.parks[ident].timezone
        if kind == "region":
            return reg.regions[ident].timezone
        return reg.parks[reg.enterprises[ident].park].timezone
