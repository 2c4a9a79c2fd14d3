"""The rules file (docs/alerts.md): channels and rules in one TOML file beside the registry.

::

    [channel.ops]                       [rule.nox-limit]
    kind = "dingtalk"                   kind = "pollutant_limit"
    url_env = "SMARTPARK_OPS_URL"       quantity = "nox"
    secret_env = "SMARTPARK_OPS_SECRET" severity = "critical"
                                        channels = ["ops"]

:func:`load` validates the whole file against the registry and raises one
:class:`~smartpark.core.errors.ConfigError` listing every problem with its path
(``rule.nox-limit.quantity: unknown pollutant 'noxx'``). Secrets are read from the
environment variable or file the channel names; they are kept out of ``repr`` and never
logged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args

from smartpark.analytics.dualcontrol import targets
from smartpark.analytics.kpis.catalogue import KPIS
from smartpark.core import quantities
from smartpark.core.errors import AnalyticsError, ConfigError
from smartpark.core.registry import POLLUTANTS, Registry
from smartpark.core.tomlcheck import Checker, read_toml

ChannelKind = Literal["webhook", "dingtalk", "wecom", "feishu", "slack"]
RuleKind = Literal[
    "pollutant_limit",
    "kpi_threshold",
    "stale_meter",
    "gateway_offline",
    "completeness",
    "rate_of_change",
    "product_limit",
    "dual_control_projection",
]
Severity = Literal["info", "warning", "critical"]
ScopeName = Literal["meter", "gateway", "enterprise", "park", "zone"]

CHANNEL_KINDS: Final[tuple[ChannelKind, ...]] = get_args(ChannelKind)
RULE_KINDS: Final[tuple[RuleKind, ...]] = get_args(RuleKind)
SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
KPI_SCOPES: Final = ("enterprise", "park", "zone")
KPI_PERIODS: Final = ("hour", "day", "month")
COMPLETENESS_SCOPES: Final = ("meter", "enterprise", "park")
PRODUCT_PERIODS: Final = ("month", "day")
# product_limit: the level a product must meet (core/standards.py), by default level 3,
# the limit (限定值).
PRODUCT_LEVELS: Final = (1, 2, 3)
# dual_control_projection: the budgets a year-end projection is compared with.
PROJECTION_BUDGETS: Final = ("energy_tce", "co2_t", "energy_intensity", "co2_intensity")

# Chat robots accept about 20 messages a minute (DingTalk and WeCom document that limit).
DEFAULT_RATE_PER_MINUTE: Final[dict[ChannelKind, int]] = {
    "webhook": 60,
    "dingtalk": 20,
    "wecom": 20,
    "feishu": 20,
    "slack": 20,
}

_DURATION_RE: Final = re.compile(r"^(\d+)(s|m|h|d)$")
_DURATION_MS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True, slots=True)
class Channel:
    """Where alerts go. ``url`` and ``secret`` are ``None`` when secrets were not resolved."""

    id: str
    kind: ChannelKind
    url: str | None = field(repr=False)  # may embed a key (WeCom, Slack): not for logs
    secret: str | None = field(repr=False)
    timeout_s: float = 10.0
    max_attempts: int = 8
    rate_per_minute: int = 60


@dataclass(frozen=True, slots=True)
class Filters:
    """Optional park/enterprise/meter (zone/product) filters; an empty set means "any"."""

    parks: frozenset[str] = frozenset()
    enterprises: frozenset[str] = frozenset()
    meters: frozenset[str] = frozenset()
    zones: frozenset[str] = frozenset()  # product_limit, dual_control_projection
    products: frozenset[str] = frozenset()  # product_limit

    def products_of(self, registry: Registry) -> tuple[str, ...]:
        """The registry's products these filters select (every filter must match)."""
        out = []
        for p in registry.product_ids:
            park = registry.park_of_product(p)
            if (
                (not self.products or p in self.products)
                and (not self.enterprises or registry.products[p].enterprise in self.enterprises)
                and (not self.parks or park in self.parks)
                and (not self.zones or registry.parks[park].zone in self.zones)
            ):
                out.append(p)
        return tuple(out)

    def target_zones(self, registry: Registry) -> tuple[str, ...]:
        """The zones whose dual-control targets file a rule watches: those named, else
        every zone that names one."""
        if self.zones:
            return tuple(z for z in registry.zone_ids if z in self.zones)
        return tuple(z for z in registry.zone_ids if registry.zones[z].dual_control)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: RuleKind
    severity: Severity
    channels: tuple[str, ...]
    for_ms: int = 0
    resolve_for_ms: int = 0  # the condition must stay false this long before resolving
    filters: Filters = Filters()
    quantity: str | None = None  # pollutant_limit, rate_of_change, stale_meter, completeness
    limit: float | None = None  # pollutant_limit: overrides the park's limit
    kpi: str | None = None  # kpi_threshold
    scope: str | None = None  # kpi_threshold, completeness
    period: str | None = None  # kpi_threshold, product_limit
    level: int | None = None  # product_limit: fires when worse than this level
    budget: str | None = None  # dual_control_projection: the budget projected
    margin: float | None = None  # dual_control_projection: % above the budget to fire
    above: float | None = None  # kpi_threshold, rate_of_change
    below: float | None = None  # kpi_threshold, rate_of_change, completeness
    target: Literal["above", "below"] | None = None  # kpi_threshold: the park's target line
    intervals: int | None = None  # stale_meter
    minutes: float | None = None  # gateway_offline


@dataclass(frozen=True)
class RuleSet:
    channels: Mapping[str, Channel]
    rules: Mapping[str, Rule]
    source: str = "<rules>"


def parse_duration(value: object) -> int:
    """Milliseconds of ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` or integer seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int) and value >= 0:
        return value * 1000
    if isinstance(value, str):
        match = _DURATION_RE.match(value.strip())
        if match:
            return int(match.group(1)) * _DURATION_MS[match.group(2)]
    raise ValueError(
        f"not a duration: {value!r} (use seconds or a string such as '90s', '15m', '2h', '1d')"
    )


def load(path: str | Path, registry: Registry, *, resolve_secrets: bool = True) -> RuleSet:
    """Load and validate a rules file; ``ConfigError`` lists every problem.

    With ``resolve_secrets=False`` (a dry run) secrets are not read and an unset URL
    variable is not an error; a URL variable that is set is still read (to show its host).
    """
    path = Path(path)
    data = read_toml(path, "rules file")
    return from_dict(
        data, registry, source=str(path), resolve_secrets=resolve_secrets, base=path.parent
    )


def from_dict(
    data: Mapping[str, Any],
    registry: Registry,
    *,
    source: str = "<rules>",
    resolve_secrets: bool = True,
    base: Path | None = None,
) -> RuleSet:
    v = _Validator(registry, resolve_secrets, base or Path.cwd())
    for key in data:
        if key not in ("channel", "rule"):
            v.error(key, f"unknown section {key!r} (expected channel or rule)")
    channels: dict[str, Channel] = {}
    for ident, table in v.tables(data, "channel").items():
        channel = v.channel(ident, table)
        if channel is not None:
            channels[ident] = channel
    rules: dict[str, Rule] = {}
    raw_rules = v.tables(data, "rule")
    if not raw_rules and "rule" not in v.failed_sections:
        v.error("rule", "the file defines no rule")
    for ident, table in raw_rules.items():
        rule = v.rule(ident, table, data.get("channel", {}))
        if rule is not None:
            rules[ident] = rule
    if v.problems:
        raise ConfigError(source, v.problems)
    return RuleSet(channels=channels, rules=rules, source=source)


_MISSING: Final = object()


class ChannelChecker(Checker):
    """A :class:`Checker` that also reads ``[channel.ID]`` tables and values given inline,
    by environment variable or by file (secrets): the alert rules and the delivery
    schedules (``analytics.delivery.config``) share it.

    With ``resolve_secrets=False`` (a dry run) secrets are not read; a relative file
    name is relative to ``base`` (the file's folder).
    """

    def __init__(self, resolve_secrets: bool, base: Path) -> None:
        super().__init__()
        self.resolve_secrets = resolve_secrets
        self.base = base

    # -- field readers (tables, keys and number come from Checker) ----------------------

    def string(
        self, path: str, t: Mapping[str, Any], key: str, required: bool = False
    ) -> str | None:
        value = t.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.error(f"{path}.{key}", "missing required key")
            return None
        if not isinstance(value, str) or not value:
            self.error(f"{path}.{key}", f"must be a non-empty string, got {value!r}")
            return None
        return value

    def choice(
        self, path: str, t: Mapping[str, Any], key: str, options: tuple[str, ...], default: Any
    ) -> Any:
        value = t.get(key, default)
        if value is _MISSING:
            self.error(f"{path}.{key}", f"missing required key (one of {', '.join(options)})")
            return None
        if value not in options:
            self.error(f"{path}.{key}", f"must be one of {', '.join(options)}, got {value!r}")
            return None
        return value

    def id_set(
        self, path: str, t: Mapping[str, Any], key: str, known: Mapping[str, Any], what: str
    ) -> frozenset[str]:
        value = t.get(key)
        if value is None:
            return frozenset()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.error(f"{path}.{key}", f"must be a {what} id or a list of them, got {value!r}")
            return frozenset()
        for item in items:
            if item not in known:
                self.error(f"{path}.{key}", f"unknown {what} {item!r}")
        return frozenset(items)

    # -- sections ----------------------------------------------------------------------

    def channel(self, ident: str, t: dict[str, Any]) -> Channel | None:
        path = f"channel.{ident}"
        before = len(self.problems)
        self.keys(
            path,
            t,
            {
                "kind",
                "url",
                "url_env",
                "secret_env",
                "secret_file",
                "timeout_s",
                "max_attempts",
                "rate_per_minute",
            },
        )
        kind = self.choice(path, t, "kind", CHANNEL_KINDS, _MISSING)
        url = self.source(path, t, "url", "url_env", None, required=True)
        if url is not None and not url.startswith(("http://", "https://")):
            # Never echo the URL: it may carry a robot key.
            self.error(f"{path}.url", "must be an http:// or https:// URL")
        if "url" in t and "url_env" in t:
            self.error(f"{path}.url", "set url or url_env, not both")
        secret = self.source(path, t, None, "secret_env", "secret_file", required=False)
        if "secret_env" in t and "secret_file" in t:
            self.error(f"{path}.secret_env", "set secret_env or secret_file, not both")
        has_secret = "secret_env" in t or "secret_file" in t
        if kind == "webhook" and not has_secret:
            self.error(f"{path}", "a webhook channel needs secret_env or secret_file (it signs)")
        if kind in ("wecom", "slack") and has_secret:
            self.error(
                f"{path}",
                f"{kind} robots are not signed (their key is in the URL): drop the secret",
            )
        timeout = self.number(path, t, "timeout_s", minimum=0.1, maximum=300)
        attempts = self.number(path, t, "max_attempts", minimum=1, maximum=100, integer=True)
        rate = self.number(path, t, "rate_per_minute", minimum=1, maximum=6000, integer=True)
        if len(self.problems) != before or kind is None:
            return None
        return Channel(
            id=ident,
            kind=kind,
            url=url,
            secret=secret,
            timeout_s=float(timeout or 10.0),
            max_attempts=int(attempts or 8),
            rate_per_minute=int(rate or DEFAULT_RATE_PER_MINUTE[kind]),
        )

    def source(
        self,
        path: str,
        t: Mapping[str, Any],
        plain: str | None,
        env: str,
        file: str | None,
        *,
        required: bool,
    ) -> str | None:
        """A value given inline, by environment variable name, or by file."""
        if plain is not None and plain in t:
            return self.string(path, t, plain)
        if env in t:
            name = self.string(path, t, env)
            if name is None:
                return None
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                self.error(f"{path}.{env}", f"not an environment variable name: {name!r}")
                return None
            is_secret = plain is None
            if is_secret and not self.resolve_secrets:
                return None
            value = os.environ.get(name)
            if not value:
                # Unresolved secrets are fine for a dry run: it shows shapes, not secrets.
                if self.resolve_secrets:
                    self.error(f"{path}.{env}", f"environment variable {name} is not set")
                return None
            return value.strip()
        if file is not None and file in t:
            name = self.string(path, t, file)
            if name is None or not self.resolve_secrets:
                return None
            file_path = self.base / name
            try:
                content = file_path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                self.error(f"{path}.{file}", f"cannot read {file_path}: {reason}")
                return None
            if not content:
                self.error(f"{path}.{file}", f"{file_path} is empty")
                return None
            return content
        if required:
            where = f"{plain} or {env}" if plain else env
            self.error(path, f"missing {where}")
        return None


class _Validator(ChannelChecker):
    def __init__(self, registry: Registry, resolve_secrets: bool, base: Path) -> None:
        super().__init__(resolve_secrets, base)
        self.registry = registry

    def rule(self, ident: str, t: dict[str, Any], raw_channels: Any) -> Rule | None:
        path = f"rule.{ident}"
        before = len(self.problems)
        kind = self.choice(path, t, "kind", RULE_KINDS, _MISSING)
        common = {
            "kind",
            "severity",
            "channels",
            "for",
            "resolve_for",
            "park",
            "enterprise",
            "meter",
        }
        extra: dict[str, set[str]] = {
            "pollutant_limit": {"quantity", "limit"},
            "kpi_threshold": {"kpi", "scope", "period", "above", "below"},
            "stale_meter": {"intervals", "quantity"},
            "gateway_offline": {"minutes"},
            "completeness": {"below", "scope", "quantity"},
            "rate_of_change": {"quantity", "above", "below"},
            "product_limit": {"period", "level", "zone", "product"},
            "dual_control_projection": {"budget", "margin", "zone"},
        }
        self.keys(path, t, common | extra.get(kind or "", set()))
        severity = self.choice(path, t, "severity", SEVERITIES, "warning")
        channels = self.channel_refs(path, t, raw_channels)
        for_ms = self.duration(path, t, "for")
        resolve_for_ms = self.duration(path, t, "resolve_for")
        reg = self.registry
        filters = Filters(
            parks=self.id_set(path, t, "park", reg.parks, "park"),
            enterprises=self.id_set(path, t, "enterprise", reg.enterprises, "enterprise"),
            meters=self.id_set(path, t, "meter", reg.meters, "meter"),
            zones=self.id_set(path, t, "zone", reg.zones, "zone"),
            products=self.id_set(path, t, "product", reg.products, "product"),
        )
        fields: dict[str, Any] = {}
        if kind == "pollutant_limit":
            q = self.string(path, t, "quantity")
            if q is not None and q not in POLLUTANTS:
                self.error(
                    f"{path}.quantity",
                    f"unknown pollutant {q!r} (expected one of {', '.join(POLLUTANTS)})",
                )
            fields.update(quantity=q, limit=self.number(path, t, "limit", minimum=0.0))
        elif kind == "kpi_threshold":
            kpi = self.string(path, t, "kpi", required=True)
            if kpi is not None and kpi not in KPIS:
                self.error(f"{path}.kpi", f"unknown KPI {kpi!r}")
            scope = self.choice(path, t, "scope", KPI_SCOPES, _MISSING)
            target = self.target(path, t, kpi, scope)
            fields.update(
                kpi=kpi,
                scope=scope,
                period=self.choice(path, t, "period", KPI_PERIODS, _MISSING),
                target=target,
                **self.bounds(
                    {k: v for k, v in t.items() if v != "target"},
                    path,
                    has_target="target" in (t.get("above"), t.get("below")),
                ),
            )
            if filters.meters:
                self.error(f"{path}.meter", "a KPI rule applies to scopes, not meters")
        elif kind == "stale_meter":
            intervals = self.number(path, t, "intervals", minimum=1, maximum=100_000, integer=True)
            if "intervals" not in t:
                self.error(f"{path}.intervals", "missing required key")
            fields.update(intervals=intervals, quantity=self.quantity(path, t))
        elif kind == "gateway_offline":
            minutes = self.number(path, t, "minutes", minimum=0.1, maximum=1e6)
            if "minutes" not in t:
                self.error(f"{path}.minutes", "missing required key")
            fields.update(minutes=minutes)
            if filters.meters:
                self.error(f"{path}.meter", "a gateway rule applies to gateways, not meters")
        elif kind == "completeness":
            below = self.number(path, t, "below", minimum=0.0, maximum=1.0)
            if "below" not in t:
                self.error(f"{path}.below", "missing required key (a fraction, e.g. 0.8)")
            fields.update(
                below=below,
                scope=self.choice(path, t, "scope", COMPLETENESS_SCOPES, "meter"),
                quantity=self.quantity(path, t),
            )
        elif kind == "rate_of_change":
            q = self.quantity(path, t)
            if "quantity" not in t:
                self.error(f"{path}.quantity", "missing required key")
            fields.update(quantity=q, **self.bounds(t, path))
        elif kind == "product_limit":
            fields.update(
                period=self.choice(path, t, "period", PRODUCT_PERIODS, "month"),
                level=self.level(path, t),
            )
            self.product_filters(path, filters, before)
        elif kind == "dual_control_projection":
            fields.update(
                budget=self.choice(path, t, "budget", PROJECTION_BUDGETS, "energy_tce"),
                margin=self.number(path, t, "margin", 0.0, minimum=0),
            )
            self.target_files(path, filters)
        if len(self.problems) != before or kind is None:
            return None
        return Rule(
            id=ident,
            kind=kind,
            severity=severity,
            channels=channels,
            for_ms=for_ms,
            resolve_for_ms=resolve_for_ms,
            filters=filters,
            **fields,
        )

    def level(self, path: str, t: Mapping[str, Any]) -> int | None:
        value = t.get("level", PRODUCT_LEVELS[-1])
        if isinstance(value, bool) or value not in PRODUCT_LEVELS:
            self.error(
                f"{path}.level",
                f"must be 1, 2 or 3 (the level a product must meet; 3, the default, is the "
                f"limit), got {value!r}",
            )
            return None
        return int(value)

    def product_filters(self, path: str, filters: Filters, before: int) -> None:
        """A product rule needs products in the registry, and filters that select one."""
        if not self.registry.products:
            self.error(
                f"{path}.kind",
                "the registry defines no products: add [product.ID] tables "
                "(docs/registry.md, Products) or drop this rule",
            )
        elif filters.meters:
            self.error(f"{path}.meter", "a product rule applies to products, not meters")
        elif len(self.problems) == before and not filters.products_of(self.registry):
            self.error(
                path,
                "its park, zone, enterprise and product filters select no product "
                f"(the registry's products: {', '.join(self.registry.product_ids)})",
            )

    def target_files(self, path: str, filters: Filters) -> None:
        """A dual-control rule watches the targets files of zones: each must load."""
        for key, chosen in (
            ("meter", filters.meters),
            ("park", filters.parks),
            ("enterprise", filters.enterprises),
        ):
            if chosen:
                self.error(
                    f"{path}.{key}",
                    "a dual-control rule watches every target of its zones' targets files: "
                    "filter with zone, or drop this key",
                )
        reg = self.registry
        zones = filters.target_zones(reg)
        if not filters.zones and not zones:
            zones = reg.zone_ids  # none names a targets file: say so for each
        where = f"{path}.zone" if filters.zones else f"{path}.kind"
        for zone in zones:
            try:
                targets.load(targets.targets_path(reg, zone), reg, zone)
            except AnalyticsError as exc:  # the zone names no targets file
                self.error(where, str(exc))
            except ConfigError as exc:
                self.error(
                    where,
                    f"the targets file of zone {zone!r} does not load: {exc.source}: "
                    + "; ".join(exc.problems),
                )

    def duration(self, path: str, t: Mapping[str, Any], key: str) -> int:
        if key not in t:
            return 0
        try:
            return parse_duration(t[key])
        except ValueError as exc:
            self.error(f"{path}.{key}", str(exc))
            return 0

    def quantity(self, path: str, t: Mapping[str, Any]) -> str | None:
        q = self.string(path, t, "quantity")
        if q is not None and q not in quantities.BY_NAME:
            self.error(f"{path}.quantity", f"unknown quantity {q!r}")
            return None
        return q

    def target(self, path: str, t: Mapping[str, Any], kpi: str | None, scope: Any) -> Any:
        """``above = "target"`` / ``below = "target"``: the line is ``[park.X.targets]``."""
        sides = [side for side in ("above", "below") if t.get(side) == "target"]
        if not sides:
            return None
        if len(sides) == 2:
            self.error(f"{path}.below", "only one of above and below can be the target")
            return None
        if scope != "park":
            self.error(f"{path}.{sides[0]}", 'a "target" line needs scope = "park"')
            return None
        if kpi is not None and not any(kpi in p.targets for p in self.registry.parks.values()):
            self.error(
                f"{path}.{sides[0]}",
                f"no park of the registry has a target for {kpi} ([park.ID.targets] {kpi} = ...)",
            )
        return sides[0]

    def bounds(
        self, t: Mapping[str, Any], path: str, *, has_target: bool = False
    ) -> dict[str, float | None]:
        above = self.number(path, t, "above")
        below = self.number(path, t, "below")
        if "above" not in t and "below" not in t and not has_target:
            self.error(path, "set above, below or both")
        if above is not None and below is not None and below >= above:
            self.error(f"{path}.below", f"must be less than above ({above}), got {below}")
        return {"above": above, "below": below}

    def channel_refs(self, path: str, t: Mapping[str, Any], raw_channels: Any) -> tuple[str, ...]:
        value = t.get("channels", _MISSING)
        if value is _MISSING:
            self.error(f"{path}.channels", "missing required key (a list of channel ids)")
            return ()
        if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
            self.error(
                f"{path}.channels", f"must be a non-empty list of channel ids, got {value!r}"
            )
            return ()
        known = raw_channels if isinstance(raw_channels, dict) else {}
        for ident in value:
            if ident not in known:
                self.error(f"{path}.channels", f"unknown channel {ident!r}")
        if len(set(value)) != len(value):
            self.error(f"{path}.channels", "lists a channel twice")
        return tuple(value)
