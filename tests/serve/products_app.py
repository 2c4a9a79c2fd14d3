"""A small registry with two products in two parks, its SQLite store holding product KPI
rows written by hand, and a real ``smartpark serve`` over them.

The numbers are chosen so that every expected figure is worked out by hand:

* ``clinker`` (cement-a, park ``cement``, GB 16780-2021 clinker, 2,000 m at a measured
  79,500 Pa): levels 100, 107 and 117 x K, K = 1.179 - 0.211 x 79,500 / 101,325;
  March 2024: 1,100 tce for 10,000 t, 110 kgce/t, level 3, 3 kgce/t above level 2.
* ``al-liquid`` (alu-a, park ``metals``, GB 21346-2022 aluminium liquid, levels 12,950,
  13,000 and 13,350 kWh/t): February 2024: 27,000,000 kWh for 2,000 t, 13,500 kWh/t,
  above the limit by 150 kWh/t; March 2024: energy and no output (no level).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from smartpark.analytics.periods import local_midnight_ms
from smartpark.core import registry
from smartpark.core.urls import parse_store_url
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from smartpark.store.base import KpiRow
from smartpark.store.open import open_store
from tests.serve.conftest import PASSWORD, Demo, Server, start_server

TZ = "Asia/Shanghai"
FEB = local_midnight_ms(dt.date(2024, 2, 1), TZ)
MAR = local_midnight_ms(dt.date(2024, 3, 1), TZ)
K = 1.179 - 0.211 * 79_500 / 101_325  # GB 16780-2021 5.3, by hand
CLINKER_LIMIT = 117 * K

REGISTRY = """
[zone.west]
name = "West Zone"
timezone = "Asia/Shanghai"

[park.cement]
zone = "west"
name = "Cement Park"
name_zh = "水泥园区"

[park.metals]
zone = "west"
name = "Metals Park"

[enterprise.cement-a]
park = "cement"
name = "Cement A"
name_zh = "水泥甲"

[enterprise.alu-a]
park = "metals"
name = "Alu A"

[park.depot]  # makes no product
zone = "west"
name = "Depot Park"

[enterprise.depot-a]
park = "depot"
name = "Depot A"

[gateway.gw-depot]
park = "depot"

[meter.depot-a-main]
enterprise = "depot-a"
gateway = "gw-depot"
quantity = "electricity_import"
role = "boundary"
interval_s = 60

[gateway.gw-cement]
park = "cement"

[gateway.gw-metals]
park = "metals"

[meter.cement-a-main]
enterprise = "cement-a"
gateway = "gw-cement"
quantity = "electricity_import"
role = "boundary"
interval_s = 60

[meter.cement-a-coal]
enterprise = "cement-a"
gateway = "gw-cement"
quantity = "coal"
role = "boundary"
interval_s = 3600

[meter.cement-a-clinker]
enterprise = "cement-a"
gateway = "gw-cement"
quantity = "product_output"
role = "boundary"
interval_s = 900

[meter.alu-a-main]
enterprise = "alu-a"
gateway = "gw-metals"
quantity = "electricity_import"
role = "boundary"
interval_s = 60

[product.clinker]
enterprise = "cement-a"
name = "Clinker line 1"
name_zh = "1号熟料线"
standard = "GB 16780-2021"
category = "clinker"
output_meter = "cement-a-clinker"
[product.clinker.inputs]
altitude_m = 2000
pressure_pa = 79500

[product.al-liquid]
enterprise = "alu-a"
name = "Potline aluminium"
name_zh = "电解铝液"
standard = "GB 21346-2022"
category = "aluminium_liquid"
"""


def rows() -> list[KpiRow]:
    """The product month rows of the store (a value with no row: no output, no grade)."""

    def month(product: str, start: int, **values: float) -> list[KpiRow]:
        return [KpiRow("product", product, "month", k, start, v) for k, v in values.items()]

    return [
        *month(
            "clinker",
            FEB,
            product_output=9_000.0,
            product_energy_tce=900.0,
            benchmark_value=100.0,
            limit_value=CLINKER_LIMIT,
            benchmark_level=1.0,
        ),
        *month(
            "clinker",
            MAR,
            product_output=10_000.0,
            product_energy_tce=1_100.0,
            unit_energy_kgce=110.0,
            benchmark_value=110.0,
            limit_value=CLINKER_LIMIT,
            benchmark_level=3.0,
            gap_to_next_level=3.0,
        ),
        *month(
            "al-liquid",
            FEB,
            product_output=2_000.0,
            product_energy_tce=3_318.3,
            product_electricity_kwh=27_000_000.0,
            benchmark_value=13_500.0,
            limit_value=13_350.0,
            benchmark_level=4.0,
            gap_to_next_level=150.0,
        ),
        *month("al-liquid", MAR, product_energy_tce=3_000.0, limit_value=13_350.0),
    ]


GRANTS = {
    "admin": Grant("admin", None),
    "zone": Grant("read", "zone:west"),
    "cement": Grant("read", "park:cement"),
    "metals": Grant("read", "park:metals"),
    "alu-a": Grant("read", "enterprise:alu-a"),
}


def served(tmp: Path) -> Iterator[tuple[Server, Demo]]:
    """A real ``smartpark serve`` over the registry and store above, with a token
    (``demo.tokens``) and a user (password :data:`PASSWORD`) per grant of :data:`GRANTS`."""
    path = tmp / "registry.toml"
    path.write_text(REGISTRY, encoding="utf-8")
    demo = Demo(tmp, tmp / "store.db", tmp / "access.db")
    store = open_store(parse_store_url(f"sqlite:///{demo.store}"), registry.load(path))
    try:
        store.write_kpis(rows())
    finally:
        store.close()
    access = AccessStore(demo.access)
    for label, grant in GRANTS.items():
        info, demo.tokens[label] = access.create_token(grant, label)
        demo.ids[label] = info.id
        access.add_user(label, PASSWORD, grant)
    access.close()
    for server in start_server(demo, tmp, "--rate", "1000", "--burst", "1000", registry=path):
        yield server, demo
