"""The national limit standards of unit-product energy consumption (单位产品能源消耗限额),
as data: ``unit_energy_limits.csv`` beside this module, one row per standard, product
and level (docs/kpis.md, "Unit-product energy against the limit standards").

Each standard grades a product's unit energy (kgce per unit of output, GB/T 2589
method) or its unit electricity (kWh per unit) in three levels: level 1 the advanced
value, level 2 the value for new and expanded plants, level 3 the limit (限定值) that an
existing plant must meet. Some define a correction of the measured value before it is
graded (:data:`CORRECTIONS`: cement clinker made above an altitude).

The table is read once (:func:`table`); the registry checks a product's ``standard``,
``category`` and ``unit`` against it, the analytics grade with it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

Indicator = Literal["unit_energy", "unit_electricity"]
INDICATORS: Final[tuple[Indicator, ...]] = ("unit_energy", "unit_electricity")
LEVELS: Final = (1, 2, 3)
ABOVE_LIMIT: Final = 4  # the level of a value above level 3: the limit is not met
_FILE: Final = Path(__file__).with_name("unit_energy_limits.csv")


Levels = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Correction:
    """A correction the standard defines of its levels for a plant's conditions:
    ``inputs`` the product gives in the registry (``[product.ID.inputs]``, those in
    ``required`` must be given), ``apply`` the corrected levels."""

    name: str
    inputs: tuple[str, ...]
    required: tuple[str, ...]
    apply: Callable[[Levels, Mapping[str, float]], Levels]
    description: str


ALTITUDE_FROM_M: Final = 1500.0  # GB 16780-2021 5.3: plants above it
SEA_LEVEL_PA: Final = 101_325.0


def site_pressure_pa(altitude_m: float) -> float:
    """The standard atmosphere's pressure at ``altitude_m`` (ISO 2533, troposphere): the
    site pressure where a product's registry entry gives no measured ``pressure_pa``."""
    return float(SEA_LEVEL_PA * (1.0 - 2.25577e-5 * altitude_m) ** 5.25588)


def altitude_factor(inputs: Mapping[str, float]) -> float:
    """GB 16780-2021 5.3, formula (1): K = 1.179 - 0.211 x P / 101 325 above 1,500 m
    (P the site's atmospheric pressure, Pa), else 1."""
    altitude = inputs.get("altitude_m", 0.0)
    if altitude <= ALTITUDE_FROM_M:
        return 1.0
    pressure = inputs.get("pressure_pa", site_pressure_pa(altitude))
    return 1.179 - 0.211 * pressure / SEA_LEVEL_PA


def _altitude(levels: Levels, inputs: Mapping[str, float]) -> Levels:
    """Level 3 (only) times the altitude factor."""
    return (levels[0], levels[1], levels[2] * altitude_factor(inputs))


CLINKER_BASE_PCT: Final = 75.0
CLINKER_SLOPES: Final = (1.10, 1.15, 1.20)  # kgce/t per point of clinker, levels 1, 2, 3


def _cement(levels: Levels, inputs: Mapping[str, float]) -> Levels:
    """GB 16780-2021 5.4: each level moved by (clinker % - 75) x 1.10 / 1.15 / 1.20
    kgce/t, then level 3 times the altitude factor."""
    shift = inputs.get("clinker_pct", CLINKER_BASE_PCT) - CLINKER_BASE_PCT
    moved = tuple(v + shift * k for v, k in zip(levels, CLINKER_SLOPES, strict=True))
    return _altitude((moved[0], moved[1], moved[2]), inputs)


CORRECTIONS: Final[dict[str, Correction]] = {
    "altitude": Correction(
        "altitude",
        ("altitude_m", "pressure_pa"),
        ("altitude_m",),
        _altitude,
        "above 1,500 m, level 3 x K, K = 1.179 - 0.211 x P / 101325",
    ),
    "cement": Correction(
        "cement",
        ("clinker_pct", "altitude_m", "pressure_pa"),
        ("clinker_pct", "altitude_m"),
        _cement,
        "levels + (clinker % - 75) x 1.10 / 1.15 / 1.20; above 1,500 m, level 3 x K",
    ),
}


@dataclass(frozen=True, slots=True)
class Limit:
    """One product of one standard: its three levels and where they come from."""

    standard: str  # "GB 16780-2021"
    title_zh: str  # 水泥单位产品能源消耗限额
    category: str  # "clinker": the product as the registry names it
    category_zh: str  # 熟料
    indicator: Indicator
    indicator_zh: str  # 熟料单位产品综合能耗
    unit: str  # of the graded value: kgce/t, kWh/t
    output_unit: str  # of the product's output: t
    levels: Levels  # level 1, 2, 3 (the limit) as the table gives them; lower is better
    correction: str  # "" or a key of CORRECTIONS
    source: str  # where the numbers come from
    checked: bool  # checked against the standard's own text

    def corrected(self, inputs: Mapping[str, float]) -> Levels:
        """The levels for a plant's ``inputs`` (the table's where no correction applies)."""
        if not self.correction:
            return self.levels
        return CORRECTIONS[self.correction].apply(self.levels, inputs)


def grade(value: float, levels: Levels) -> float:
    """1, 2 or 3: the best level ``value`` meets; 4 above the limit; NaN for NaN."""
    if not math.isfinite(value):
        return math.nan
    for k, bound in enumerate(levels, start=1):
        if value <= bound:
            return float(k)
    return float(ABOVE_LIMIT)


def gap(value: float, levels: Levels) -> float:
    """How far ``value`` is above the bound of the next better level (what it must cut
    to reach it); NaN at level 1 or for NaN."""
    level = grade(value, levels)
    if not math.isfinite(level) or level == 1:
        return math.nan
    return value - levels[int(level) - 2]


@dataclass(frozen=True)
class Standards:
    """Every :class:`Limit`, keyed by (standard, category)."""

    limits: Mapping[tuple[str, str], Limit]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted({s for s, _ in self.limits}))

    def categories(self, standard: str) -> tuple[str, ...]:
        return tuple(sorted(c for s, c in self.limits if s == standard))

    def get(self, standard: str, category: str) -> Limit:
        return self.limits[(standard, category)]


_COLUMNS: Final = (
    "standard",
    "title_zh",
    "category",
    "category_zh",
    "indicator",
    "indicator_zh",
    "unit",
    "output_unit",
    "level",
    "value",
    "correction",
    "source",
    "checked",
)


def parse(text: str, source: str = str(_FILE)) -> Standards:
    """The standards of a table's text; ``ValueError`` naming the line of a bad row."""
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    grouped: dict[tuple[str, str], dict[int, dict[str, str]]] = {}
    for n, row in enumerate(rows, start=2):
        if tuple(row) != _COLUMNS:
            raise ValueError(f"{source}: columns must be {', '.join(_COLUMNS)}")
        where = f"{source}, row {n}"
        if row["indicator"] not in INDICATORS or row["correction"] not in ("", *CORRECTIONS):
            raise ValueError(f"{where}: unknown indicator or correction")
        level = int(row["level"])
        if level not in LEVELS or not math.isfinite(float(row["value"])):
            raise ValueError(f"{where}: level must be 1, 2 or 3 with a finite value")
        grouped.setdefault((row["standard"], row["category"]), {})[level] = row
    limits: dict[tuple[str, str], Limit] = {}
    for key, by_level in grouped.items():
        if sorted(by_level) != list(LEVELS):
            raise ValueError(f"{source}: {key[0]} {key[1]} needs levels 1, 2 and 3")
        first = by_level[1]
        same = ("title_zh", "category_zh", "indicator", "indicator_zh", "unit", "output_unit")
        if any(by_level[k][c] != first[c] for k in LEVELS for c in (*same, "correction")):
            raise ValueError(f"{source}: {key[0]} {key[1]}: levels differ in {', '.join(same)}")
        values = tuple(float(by_level[k]["value"]) for k in LEVELS)
        if not values[0] <= values[1] <= values[2]:
            raise ValueError(f"{source}: {key[0]} {key[1]}: levels must not decrease")
        limits[key] = Limit(
            standard=key[0],
            title_zh=first["title_zh"],
            category=key[1],
            category_zh=first["category_zh"],
            indicator=first["indicator"],  # type: ignore[arg-type]  # checked above
            indicator_zh=first["indicator_zh"],
            unit=first["unit"],
            output_unit=first["output_unit"],
            levels=(values[0], values[1], values[2]),
            correction=first["correction"],
            source=" | ".join(dict.fromkeys(by_level[k]["source"] for k in LEVELS)),
            checked=all(by_level[k]["checked"] == "yes" for k in LEVELS),
        )
    return Standards(limits)


@cache
def table() -> Standards:
    """The standards shipped with smartpark."""
    return parse(_FILE.read_text(encoding="utf-8"))
