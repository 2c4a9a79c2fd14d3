"""Dual-control accounting (issue 25, docs/kpis.md): new renewable supplies and feedstock
energy are counted in ``energy_tce`` and left out of ``energy_target_tce``. Known
answers by hand, through SQLite and a real influxd, at every scope and from the day
level as from raw readings."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from smartpark.analytics.days import build as days_build
from smartpark.analytics.jobs import kpi_job
from smartpark.analytics.windows.rollups.build import build
from smartpark.core import registry as registry_mod
from smartpark.core.errors import ConfigError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import ReadingColumns, Store
from smartpark.store.open import open_store

from .parks import HOUR_MS, day_ms
from .test_rollups_store import store_url  # noqa: F401 (the fixture: sqlite, influxdb)

EL, GAS = 0.0001229, 0.0012143  # tce per kWh, per m3 (GB/T 2589, the default set)
# per hour: (quantity, extra keys, rate)
METERS = {
    "main": ("electricity_import", {}, 1_000.0),
    "pv-old": ("pv_generation", {}, 100.0),  # commissioned before the cut-off
    "pv-new": ("pv_generation", {"new_renewable": True}, 200.0),
    "green": ("green_electricity_import", {"new_renewable": True}, 300.0),
    "boiler-gas": ("natural_gas", {}, 50.0),
    "ammonia-gas": ("natural_gas", {"role": "feedstock"}, 400.0),
}
START, END = day_ms(2026, 11, 1), day_ms(2026, 12, 1)
HOURS = 720


def doc(**meter_extra: object) -> dict[str, object]:
    return {
        "zone": {"z": {"name": "Z"}},
        "park": {"p": {"zone": "z", "name": "P"}},
        "enterprise": {"chem": {"park": "p", "name": "Chem"}},
        "gateway": {"gw": {"park": "p"}},
        "meter": {
            f"chem-{k}": {
                "enterprise": "chem",
                "gateway": "gw",
                "quantity": q,
                "interval_s": 3600,
                **extra,
                **meter_extra.get(k, {}),  # type: ignore[dict-item]
            }
            for k, (q, extra, _) in METERS.items()
        },
    }


def readings(reg: Registry) -> ReadingColumns:
    ts = np.arange(START - 2 * HOUR_MS, END + 2 * HOUR_MS + 1, HOUR_MS, dtype=np.int64)
    hours = (ts - ts[0]) / HOUR_MS
    code = reg.meter_code
    return ReadingColumns(
        np.concatenate([np.full(ts.size, code[f"chem-{k}"], np.int32) for k in METERS]),
        np.concatenate([ts] * len(METERS)),
        np.concatenate([rate * hours for _, _, rate in METERS.values()]),
    )


@pytest.fixture
def stored(store_url: str) -> Iterator[tuple[Store, Registry]]:  # noqa: F811
    reg = registry_mod.from_dict(doc())
    store = open_store(parse_store_url(store_url), reg)
    try:
        store.write(readings(reg))
        yield store, reg
    finally:
        store.close()


def test_exclusions_by_hand_at_every_scope(stored: tuple[Store, Registry]) -> None:
    store, reg = stored
    # November, 720 h. Electricity: import 1,000 + PV 100 + 200 + green 300 = 1,600 kWh/h;
    # gas 50 + 400 m3/h. energy_tce = 720 x (1,600 x 0.0001229 + 450 x 0.0012143).
    full = HOURS * (1_600 * EL + 450 * GAS)
    new_renewable = HOURS * (200 + 300) * EL  # the new PV and the green import
    feedstock = HOURS * 400 * GAS  # the ammonia plant's gas
    assert full == pytest.approx(535.014)  # 720 x (0.19664 + 0.546435)
    assert new_renewable == pytest.approx(44.244)
    assert feedstock == pytest.approx(349.7184)
    build(store, reg, START - HOUR_MS, END + HOUR_MS)
    days_build.build(store, reg, START, END)
    for use_rollups in (True, False):
        job = kpi_job(store, reg, START, END, ["month"], write=False, use_rollups=use_rollups)
        for scope, ident in (("enterprise", "chem"), ("park", "p"), ("zone", "z")):
            got = {
                k: job.table.value(scope, ident, "month", START, k)
                for k in ("energy_tce", "new_renewable_tce", "feedstock_tce", "energy_target_tce")
            }
            assert got["energy_tce"] == pytest.approx(full)
            assert got["new_renewable_tce"] == pytest.approx(new_renewable)
            assert got["feedstock_tce"] == pytest.approx(feedstock)
            assert got["energy_target_tce"] == pytest.approx(full - new_renewable - feedstock)
            assert got["energy_target_tce"] == pytest.approx(141.0516)
    # Written and read back like every KPI.
    kpi_job(store, reg, START, END, ["month"], write=True)
    rows = store.read_kpis(START, END, "enterprise", "month", kpis=["energy_target_tce"])
    assert [(r.id, round(r.value, 4)) for r in rows] == [("chem", 141.0516)]


def test_without_flags_the_target_total_is_the_full_total(tmp_path: object) -> None:
    plain = {k: {"new_renewable": False, "role": "boundary"} for k in METERS}
    reg = registry_mod.from_dict(doc(**plain))
    store = open_store(parse_store_url("sqlite:///:memory:"), reg)
    try:
        store.write(readings(reg))
        job = kpi_job(store, reg, START, END, ["month"], write=False, use_rollups=False)
        v = lambda kpi: job.table.value("enterprise", "chem", "month", START, kpi)  # noqa: E731
        assert v("energy_target_tce") == v("energy_tce")
        assert v("new_renewable_tce") == 0 == v("feedstock_tce")
    finally:
        store.close()


@pytest.mark.parametrize(
    ("meter", "extra", "message"),
    [
        ("main", {"new_renewable": True}, "meter.chem-main.new_renewable: only renewable"),
        ("main", {"role": "feedstock"}, "meter.chem-main.role: a feedstock meter measures"),
        ("pv-new", {"new_renewable": "yes"}, "meter.chem-pv-new.new_renewable: must be true"),
        ("boiler-gas", {"role": "raw"}, "meter.chem-boiler-gas.role: must be one of"),
    ],
)
def test_flags_are_checked_with_their_path(
    meter: str, extra: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        registry_mod.from_dict(doc(**{meter: extra}))
    assert message in str(err.value)
