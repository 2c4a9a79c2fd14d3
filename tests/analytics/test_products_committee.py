"""The committee's view of the products (analytics/products/committee.py): output per
level per park, zone and category, the above-limit list and the missing output, with
answers computed by hand from the KPI values given."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.kpis.table import KpiBlock, KpiTable
from smartpark.analytics.products import committee as cm
from smartpark.core import registry as registry_mod
from smartpark.core.registry import Registry

from .parks import day_ms

TZ = "Asia/Shanghai"


def _registry() -> Registry:
    """Zone z1: park p1 with three clinker lines, park p2 with a fourth (metered output),
    two aluminium smelters and a carbide furnace (entered output)."""
    ents = {"c1": "p1", "c2": "p1", "c3": "p1", "c4": "p2", "a1": "p2", "a2": "p2", "k1": "p2"}
    meters: dict[str, Any] = {
        f"{e}-kwh": {"enterprise": e, "quantity": "electricity_import", "gateway": f"g-{p}"}
        for e, p in ents.items()
    }
    meters["c4-out"] = {"enterprise": "c4", "quantity": "product_output", "gateway": "g-p2"}
    clinker = {"standard": "GB 16780-2021", "category": "clinker", "inputs": {"altitude_m": 0.0}}
    aluminium = {"standard": "GB 21346-2022", "category": "aluminium_liquid"}
    products: dict[str, Any] = {
        f"clinker-{k}": {"enterprise": f"c{k}", "name": f"Clinker {k}", **clinker}
        for k in range(1, 5)
    }
    products["clinker-4"]["output_meter"] = "c4-out"
    products["alu-1"] = {"enterprise": "a1", "name": "Aluminium 1", **aluminium}
    products["alu-2"] = {"enterprise": "a2", "name": "Aluminium 2", **aluminium}
    products["carbide"] = {
        "enterprise": "k1",
        "name": "Carbide",
        "standard": "GB 21343-2023",
        "category": "calcium_carbide",
    }
    doc = {
        "zone": {"z1": {"name": "Z1", "timezone": TZ}},
        "park": {p: {"zone": "z1", "name": p.upper()} for p in ("p1", "p2")},
        "enterprise": {e: {"park": p, "name": e.upper()} for e, p in ents.items()},
        "gateway": {f"g-{p}": {"park": p} for p in ("p1", "p2")},
        "meter": meters,
        "product": products,
    }
    return registry_mod.from_dict(doc)


def _kpis(
    output: float, tce: float, value: float, level: float, gap: float, limit: float
) -> dict[str, float]:
    return {
        "product_output": output,
        "product_energy_tce": tce,
        "benchmark_value": value,
        "benchmark_level": level,
        "gap_to_next_level": gap,
        "limit_value": limit,
    }


NAN = math.nan
# clinker: levels 100 / 107 / 117 kgce/t; aluminium liquid: 12 950 / 13 000 / 13 350 kWh/t
VALUES = {
    "clinker-1": _kpis(100.0, 9.8, 98.0, 1.0, NAN, 117.0),
    "clinker-2": _kpis(300.0, 33.6, 112.0, 3.0, 5.0, 117.0),
    "clinker-3": _kpis(600.0, 75.0, 125.0, 4.0, 8.0, 117.0),
    # metered output 0 with energy used: no output, check the meter
    "clinker-4": _kpis(0.0, 12.0, NAN, NAN, NAN, 117.0),
    "alu-1": _kpis(1000.0, 1659.15, 13500.0, 4.0, 150.0, 13350.0),
    # output known, energy not (no readings): ungraded
    "alu-2": _kpis(500.0, NAN, NAN, NAN, NAN, 13350.0),
    # energy used, no output entered
    "carbide": _kpis(NAN, 80.0, NAN, NAN, NAN, 940.0),
}


def test_output_per_level_is_summed_per_park_zone_and_category_with_shares() -> None:
    reg = _registry()
    c = cm.committee(reg, VALUES)
    standing = {g.product: g.standing for g in c.grades}
    assert standing == {
        "alu-1": "above_limit",
        "alu-2": "ungraded",
        "carbide": "no_output",
        "clinker-1": "level_1",
        "clinker-2": "level_3",
        "clinker-3": "above_limit",
        "clinker-4": "no_output",
    }
    assert [g.level for g in c.grades if g.product.startswith("clinker")] == [1, 3, 4, None]
    shares = {(s.scope, s.id, s.category): s for s in c.shares}
    # the zone first, then its parks, per category (sorted by standard and category)
    assert list(shares) == [
        ("zone", "z1", "clinker"),
        ("park", "p1", "clinker"),
        ("park", "p2", "clinker"),
        ("zone", "z1", "calcium_carbide"),  # GB 21343-2023
        ("park", "p2", "calcium_carbide"),
        ("zone", "z1", "aluminium_liquid"),  # GB 21346-2022
        ("park", "p2", "aluminium_liquid"),
    ]
    zone = shares["zone", "z1", "clinker"]
    # graded output 100 + 300 + 600 = 1000 t: 10 %, 0 %, 30 %, 60 %
    assert zone.graded_output == 1000.0
    assert dict(zone.output) == {
        "level_1": 100.0,
        "level_2": 0.0,
        "level_3": 300.0,
        "above_limit": 600.0,
        "ungraded": 0.0,
    }
    assert dict(zone.share) == {
        "level_1": 10.0,
        "level_2": 0.0,
        "level_3": 30.0,
        "above_limit": 60.0,
    }
    assert zone.products == {
        "level_1": 1, "level_2": 0, "level_3": 1, "above_limit": 1, "ungraded": 0, "no_output": 1,
    }  # fmt: skip
    assert zone.unit == "t"
    assert dict(shares["park", "p1", "clinker"].share) == dict(zone.share)
    p2 = shares["park", "p2", "clinker"]  # only the line without output: nothing graded
    assert p2.graded_output == 0.0
    assert all(math.isnan(v) for v in p2.share.values())
    assert p2.products["no_output"] == 1
    alu = shares["zone", "z1", "aluminium_liquid"]
    # 1000 t above the limit is all of the graded output; the 500 t ungraded beside it
    assert alu.share["above_limit"] == 100.0
    assert alu.output["ungraded"] == 500.0
    assert shares["park", "p2", "calcium_carbide"].products["no_output"] == 1


def test_the_above_limit_list_names_the_enterprise_and_its_excess_furthest_first() -> None:
    c = cm.committee(_registry(), VALUES)
    # clinker-3: 125 - 117 = 8 kgce/t (6.8 % over); alu-1: 13 500 - 13 350 = 150 kWh/t (1.1 %)
    assert c.above_limit == (
        cm.AboveLimit("c3", "clinker-3", "p1", 125.0, 117.0, 8.0, "kgce/t"),
        cm.AboveLimit("a1", "alu-1", "p2", 13500.0, 13350.0, 150.0, "kWh/t"),
    )


def test_missing_output_says_how_to_supply_it_entered_or_metered() -> None:
    c = cm.committee(_registry(), VALUES)
    assert c.missing_output == (  # in the order of the products' ids
        cm.MissingOutput("carbide", "k1", 80.0, None),
        cm.MissingOutput("clinker-4", "c4", 12.0, "c4-out"),
    )
    hints = {m.product: m.hint for m in c.missing_output}
    assert hints["carbide"] == "import it: smartpark import output FILE"
    assert hints["clinker-4"] == "check output meter c4-out (its readings of the period)"
    # alu-2 has output and no energy: ungraded, but no output is missing
    assert "alu-2" not in hints


def test_a_product_without_kpis_has_no_output_and_its_corrected_limit() -> None:
    reg = _registry()
    c = cm.committee(reg, {}, ["clinker-1", "carbide"])
    assert [g.standing for g in c.grades] == ["no_output", "no_output"]
    assert [g.limit_value for g in c.grades] == [117.0, 940.0]
    assert c.above_limit == ()
    assert c.missing_output == ()


def _block(
    period: str, starts: list[int], ids: list[str], values: dict[str, list[list[float]]]
) -> KpiBlock:
    return KpiBlock(
        scope="product",
        period=period,  # type: ignore[arg-type]
        timezone=TZ,
        ids=tuple(ids),
        starts=np.array(starts, np.int64),
        ends=np.array([*starts[1:], starts[-1] + 1], np.int64),
        values={k: np.array(v, np.float64) for k, v in values.items()},
        factors_versions=tuple("v" for _ in ids),
    )


def test_the_period_is_picked_from_the_tables_product_blocks_by_its_first_day() -> None:
    reg = _registry()
    nov, dec, jan = day_ms(2026, 11, 1), day_ms(2026, 12, 1), day_ms(2027, 1, 1)
    months = _block(
        "month",
        [nov, dec],
        ["clinker-1", "alu-1"],
        {
            "product_output": [[100.0, 200.0], [1000.0, 900.0]],
            "benchmark_level": [[1.0, 2.0], [4.0, 3.0]],
            "benchmark_value": [[99.0, 105.0], [13400.0, 13300.0]],
            "limit_value": [[117.0, 117.0], [13350.0, 13350.0]],
        },
    )
    year = _block(
        "year",
        [day_ms(2026, 1, 1), jan],
        ["clinker-1"],
        {"product_output": [[5000.0, 0.0]], "benchmark_level": [[2.0, NAN]]},
    )
    park = KpiBlock(  # another scope: ignored
        "park", "month", TZ, ("p1",), np.array([dec], np.int64), np.array([jan], np.int64),
        {"product_output": np.array([[1.0]])}, ("v",),
    )  # fmt: skip
    table = KpiTable((park, months, year))
    assert cm.values_of(table, "month", dt.date(2026, 12, 1))["alu-1"]["benchmark_value"] == 13300.0
    c = cm.of_table(reg, table, "month", dt.date(2026, 12, 1), ["clinker-1", "alu-1"])
    assert [g.standing for g in c.grades] == ["level_2", "level_3"]
    assert c.above_limit == ()
    nov_c = cm.of_table(reg, table, "month", dt.date(2026, 11, 1), ["clinker-1", "alu-1"])
    assert [a.product for a in nov_c.above_limit] == ["alu-1"]
    assert nov_c.above_limit[0].excess == 50.0
    y = cm.of_table(reg, table, "year", dt.date(2026, 1, 1), ["clinker-1"])
    assert y.grades[0].standing == "level_2"
    assert y.shares[0].share["level_2"] == 100.0
    assert y.shares[0].output["level_2"] == 5000.0
    assert cm.values_of(table, "year", dt.date(2025, 1, 1)) == {}
    with pytest.raises(KeyError):
        cm.committee(reg, {}, ["no-such-product"])
