"""A real ``smartpark serve`` over the dual-control test zone (tests/analytics/dualcontrol/
zone.py) with a second park, its targets file and a SQLite store of hourly readings from
2026-01-01 to 2026-07-02, with a token and a user per scope.

Zone z1 > park p1 > enterprise e1 (metered, the known monthly shape) and park p2 >
enterprise e2 (no meter). Targets of 2026: e1 (energy and CO2), p1 and z1 (energy), p2
(CO2). Without last year in the store the projection is the run rate: as of 2026-07-01
the year to date is January to June, 181 days, so a total projects to ``ytd / 181 x
365``; the plans are flat (by days), ``budget x 181 / 365`` to date.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from smartpark.core import registry
from smartpark.core.urls import parse_store_url
from smartpark.serve.access import AccessStore
from smartpark.serve.scopes import Grant
from smartpark.store.open import open_store
from tests.analytics.dualcontrol.zone import REGISTRY, energy, write_readings
from tests.serve.conftest import PASSWORD, Demo, Server, start_server

E1_TCE = 3_000.0
E1_CO2 = 12_000.0
P1_TCE = 3_500.0
Z1_TCE = 2_000.0
P2_CO2 = 100.0
YTD_DAYS = 181
YTD = sum(energy(2026, m) for m in range(1, 7))
PROJECTED = YTD / YTD_DAYS * 365

TARGETS = f"""
[[target]]
scope = "enterprise"
id = "e1"
year = 2026
energy_tce = {E1_TCE}
co2_t = {E1_CO2}

[[target]]
scope = "park"
id = "p1"
year = 2026
energy_tce = {P1_TCE}

[[target]]
scope = "zone"
id = "z1"
year = 2026
energy_tce = {Z1_TCE}

[[target]]
scope = "park"
id = "p2"
year = 2026
co2_t = {P2_CO2}
"""

SECOND_PARK = """
[park.p2]
zone = "z1"
name = "P2"
name_zh = "二园"

[enterprise.e2]
park = "p2"
name = "E2"
"""

GRANTS = {
    "admin": Grant("admin", None),
    "zone": Grant("read", "zone:z1"),
    "p1": Grant("read", "park:p1"),
    "p2": Grant("read", "park:p2"),
    "e1": Grant("read", "enterprise:e1"),
}


def served(tmp: Path) -> Iterator[tuple[Server, Demo]]:
    """A real ``smartpark serve`` over the zone above, with a token (``demo.tokens``) and a
    user (password :data:`PASSWORD`) per grant of :data:`GRANTS`."""
    path = tmp / "registry.toml"
    path.write_text(REGISTRY + SECOND_PARK, encoding="utf-8")
    (tmp / "targets.toml").write_text(TARGETS, encoding="utf-8")
    demo = Demo(tmp, tmp / "store.db", tmp / "access.db")
    reg = registry.load(path)
    store = open_store(parse_store_url(f"sqlite:///{demo.store}"), reg)
    try:
        write_readings(store, reg, 2026)
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
