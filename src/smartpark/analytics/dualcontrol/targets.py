"""A zone's dual-control targets file (docs/dualcontrol.md, "The targets file").

The zone names it in the registry (``dual_control = "targets.toml"``, relative to the
registry file). It holds ``[[target]]`` tables, one per scope and year::

    [[target]]
    scope = "enterprise"        # enterprise, park, zone or region
    id = "chem-a"
    year = 2026
    energy_tce = 12000          # annual budget, tce (target accounting: energy_target_tce)
    energy_intensity = 0.35     # tce per 10,000 CNY of industrial value added
    co2_t = 25000               # tCO2
    co2_intensity = 0.8         # tCO2 per 10,000 CNY of value added
    renewable_share_min = 10    # %
    profile = "last_year"       # or "flat"; or plan = [12 monthly budgets, tce]

:func:`load` checks the whole file with :class:`~smartpark.core.tomlcheck.Checker` and
raises one :class:`~smartpark.core.errors.ConfigError` with every problem and its path
(``target[2].energy_tce: must be >= 0, got -5``; ``target[N]`` is the N-th table, from
1). The rules of one target's scope, id and budgets are the functions below, which the
sheet importer (:mod:`smartpark.analytics.dualcontrol.targets_import`) applies too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from smartpark.analytics.landuse.facts import zone_enterprises
from smartpark.core.errors import AnalyticsError
from smartpark.core.registry import Registry
from smartpark.core.tomlcheck import Checker, read_toml

TargetScope = Literal["enterprise", "park", "zone", "region"]
SCOPES: Final[tuple[TargetScope, ...]] = get_args(TargetScope)
Profile = Literal["last_year", "flat"]
PROFILES: Final[tuple[Profile, ...]] = get_args(Profile)
# The budgets a target may set, with their units.
BUDGETS: Final[Mapping[str, str]] = {
    "energy_tce": "tce",
    "energy_intensity": "tce/10k CNY",
    "co2_t": "tCO2",
    "co2_intensity": "tCO2/10k CNY",
    "renewable_share_min": "%",
}
INTENSITIES: Final = ("energy_intensity", "co2_intensity")
YEARS: Final = (2000, 2200)
PLAN_TOLERANCE: Final = 0.005  # a plan sums to energy_tce within 0.5 %
_KEYS: Final = frozenset({"scope", "id", "year", "plan", "profile", *BUDGETS})


@dataclass(frozen=True, slots=True)
class Target:
    """One scope's budgets for one year; a budget not set is absent from ``budgets``.
    ``plan``: the 12 monthly energy budgets given (tce), else None and ``profile``."""

    scope: TargetScope
    id: str
    year: int
    budgets: Mapping[str, float]
    plan: tuple[float, ...] | None = None
    profile: Profile = "last_year"

    @property
    def key(self) -> tuple[TargetScope, str, int]:
        return (self.scope, self.id, self.year)


@dataclass(frozen=True)
class Targets:
    """A zone's validated targets, in the order of the file."""

    source: str
    zone: str
    targets: tuple[Target, ...]

    def of_year(self, year: int) -> list[Target]:
        return [t for t in self.targets if t.year == year]


def targets_path(registry: Registry, zone: str) -> Path:
    """The targets file the zone names, relative to the registry file."""
    name = registry.zones[zone].dual_control
    if not name:
        raise AnalyticsError(
            f"zone {zone!r} names no dual-control targets file: set dual_control = "
            f'"targets.toml" under [zone.{zone}] in {registry.source} (docs/dualcontrol.md)'
        )
    return Path(registry.source).parent / name


def load(path: str | Path, registry: Registry, zone: str) -> Targets:
    """Load and check a targets file of ``zone``; ``ConfigError`` lists every problem."""
    return parse(read_toml(path, "dual-control targets"), registry, zone, str(path))


def parse(data: Mapping[str, Any], registry: Registry, zone: str, source: str) -> Targets:
    """Check a parsed targets document (see :func:`load`)."""
    check = Checker()
    check.keys("", data, {"target"})
    raw = data.get("target", [])
    if not isinstance(raw, list):
        check.error("target", "must be an array of tables ([[target]])")
        raw = []
    ids = zone_scope_ids(registry, zone)
    seen: dict[tuple[TargetScope, str, int], int] = {}
    out: list[Target] = []
    for n, table in enumerate(raw, start=1):
        path = f"target[{n}]"
        if not isinstance(table, dict):
            check.error(path, "must be a table ([[target]])")
            continue
        key, target = _target(check, path, table, ids)
        first = seen.setdefault(key, n) if key is not None else n
        if first != n and key is not None:
            check.error(
                path,
                f"duplicate target for {key[0]} {key[1]!r} in {key[2]} (first in "
                f"target[{first}]): keep one of the two",
            )
        elif target is not None:
            out.append(target)
    check.done(source)
    return Targets(source, zone, tuple(out))


def _target(
    check: Checker, path: str, t: Mapping[str, Any], ids: Mapping[str, Sequence[str]]
) -> tuple[tuple[TargetScope, str, int] | None, Target | None]:
    """The table's (scope, id, year) when they are good, and the target when all is."""
    before = len(check.problems)
    check.keys(path, t, set(_KEYS))
    scope = check.value(path, t, "scope", str, required=True, choices=SCOPES)
    ident = check.value(path, t, "id", str, required=True)
    year = check.value(path, t, "year", int, required=True, minimum=YEARS[0], maximum=YEARS[1])
    if scope is not None and ident is not None:
        problem = id_problem(ids, scope, ident)
        if problem:
            check.error(f"{path}.id", problem)
            ident = None
    budgets: dict[str, float] = {}
    for key in BUDGETS:
        value = check.value(path, t, key, (int, float), minimum=0)
        if value is None:
            continue
        problem = budget_problem(scope, key, float(value))
        if problem:
            check.error(f"{path}.{key}", problem)
        else:
            budgets[key] = float(value)
    if not budgets and len(check.problems) == before:
        check.error(path, f"sets no budget: give one of {', '.join(BUDGETS)}")
    profile = check.value(path, t, "profile", str, "last_year", choices=PROFILES)
    plan = _plan(check, path, t, budgets.get("energy_tce"))
    if plan is not None and "profile" in t:
        check.error(f"{path}.profile", "give either plan (12 months) or profile, not both")
    found: tuple[TargetScope, str, int] | None = None
    if scope is not None and ident is not None and year is not None:
        found = (scope, ident, year)
    if len(check.problems) != before:
        return found, None
    return found, Target(scope, ident, year, budgets, plan, profile)


def _plan(
    check: Checker, path: str, t: Mapping[str, Any], energy: float | None
) -> tuple[float, ...] | None:
    if "plan" not in t:
        return None
    where = f"{path}.plan"
    raw = t["plan"]
    numbers = isinstance(raw, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in raw
    )
    if not numbers or len(raw) != 12:
        check.error(where, f"must be a list of 12 monthly budgets in tce, got {raw!r}")
        return None
    plan = tuple(float(v) for v in raw)
    bad = [i for i, v in enumerate(plan, start=1) if not math.isfinite(v) or v < 0]
    if bad:
        check.error(
            where, f"month {bad[0]}: must be a finite number >= 0, got {plan[bad[0] - 1]!r}"
        )
        return None
    if energy is None:
        check.error(where, "a monthly plan needs the annual budget energy_tce")
        return None
    problem = plan_problem(plan, energy)
    if problem:
        check.error(where, problem)
        return None
    return plan


def plan_problem(plan: Sequence[float], energy: float) -> str | None:
    """Why ``plan`` does not fit the annual budget ``energy``, or None."""
    total = math.fsum(plan)
    if abs(total - energy) > PLAN_TOLERANCE * energy:
        return (
            f"the 12 months sum to {total:g} tce, not energy_tce = {energy:g} (within "
            f"{PLAN_TOLERANCE:.1%}): correct the months or the budget"
        )
    return None


def zone_scope_ids(registry: Registry, zone: str) -> dict[str, tuple[str, ...]]:
    """The ids a zone's targets may name, per scope: its enterprises and parks, itself,
    and the regions that count one of its parks."""
    parks = tuple(p for p in registry.park_ids if registry.parks[p].zone == zone)
    regions = {r for p in parks for r in registry.regions_of_park(p)}
    return {
        "enterprise": zone_enterprises(registry, zone),
        "park": parks,
        "zone": (zone,),
        "region": tuple(r for r in registry.region_ids if r in regions),
    }


def id_problem(ids: Mapping[str, Sequence[str]], scope: str, ident: str) -> str | None:
    """Why ``ident`` is no target id at ``scope`` of the zone (``ids``), or None."""
    known = ids[scope]
    if ident in known:
        return None
    listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    return f"no {scope} {ident!r} in this zone (known: {listed or 'none'})"


def budget_problem(scope: str | None, key: str, value: float) -> str | None:
    """Why ``value`` cannot be budget ``key`` of a ``scope`` target (it is finite and
    >= 0 already), or None."""
    if key == "renewable_share_min" and value > 100:
        return f"must be a percentage within [0, 100], got {value:g}"
    if key in INTENSITIES and scope == "region":
        return (
            "intensities per value added are set for enterprises, parks and zones; a "
            "region takes energy_tce, co2_t and renewable_share_min (docs/dualcontrol.md)"
        )
    return None
