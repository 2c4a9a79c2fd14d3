"""Pollutants per stack: an enterprise's stacks add up to its KPIs (simulated example data)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from smartpark.analytics.days.stacks import stack_totals
from smartpark.analytics.kpis.compute import compute_kpis
from smartpark.core import registry as registry_mod
from smartpark.core.registry import POLLUTANTS
from smartpark.gateway.drivers.simulator import sim_meters, simulate
from smartpark.store.base import ReadingColumns

EXAMPLE = Path(registry_mod.__file__).parents[1] / "examples" / "registry.toml"
DAY_MS = 86_400_000
START = 1_793_462_400_000  # 2026-11-01T00:00 in Asia/Shanghai
END = START + 2 * DAY_MS


# A second stack at chem-a (no O2 gauge: concentrations already at reference O2) and a
# pollutant meter on no stack, so an enterprise has several emission points.
MORE = """
[meter.chem-a-kiln-so2]
enterprise = "chem-a"
gateway = "gw-chem-a"
quantity = "so2"
interval_s = 60
stack = "kiln"

[meter.chem-a-kiln-flow]
enterprise = "chem-a"
gateway = "gw-chem-a"
quantity = "flue_gas_flow"
interval_s = 60
stack = "kiln"

[meter.chem-a-loose-nox]
enterprise = "chem-a"
gateway = "gw-chem-a"
quantity = "nox"
interval_s = 60
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[registry_mod.Registry, ReadingColumns]:
    here = tmp_path_factory.mktemp("reg") / "examples"
    shutil.copytree(EXAMPLE.parent, here)  # the registry's tariff and facts files beside it
    path = here / "registry.toml"
    path.write_text(EXAMPLE.read_text() + MORE)
    reg = registry_mod.load(path)
    batch = simulate(sim_meters(reg, reg.meter_ids, seed=3), START - 600_000, END + 600_000)
    code = reg.meter_code
    meter = np.array([code[m] for m in batch.meter.tolist()], np.int32)
    return reg, ReadingColumns(meter, batch.ts, batch.value)


@pytest.mark.parametrize("use_dense", [True, False])
def test_the_stacks_of_an_enterprise_sum_to_its_pollutant_kpis(data, use_dense):
    reg, cols = data
    stacks = stack_totals(reg, cols, START, END, use_dense=use_dense)
    table = compute_kpis(reg, cols, START, END, ["day"], ["enterprise"], use_dense=use_dense)
    points = list(zip(stacks.enterprise, stacks.stack, strict=True))
    assert [s for e, s in points if e == "chem-a"] == ["", "boiler", "kiln"]
    kiln = points.index(("chem-a", "kiln"))
    assert stacks.kg["so2"][kiln] > 0
    assert np.isnan(stacks.kg["nox"][kiln])
    assert (stacks.readings > 0).all()
    checked = 0
    for ent in sorted(set(stacks.enterprise)):
        rows = np.array([e == ent for e in stacks.enterprise])
        for p in POLLUTANTS:
            for kpi, per_stack in (
                (f"{p}_kg", stacks.kg[p]),
                (f"{p}_exceed_h", stacks.exceed_h[p]),
            ):
                days = [
                    table.value("enterprise", ent, "day", d, kpi) for d in (START, START + DAY_MS)
                ]
                assert np.nansum(per_stack[rows]) == pytest.approx(sum(days), rel=1e-9, abs=1e-9)
                checked += 1
    assert checked >= 6
    assert np.nansum(stacks.kg["so2"]) > 0


def test_a_range_without_readings_has_no_readings_per_stack(data):
    reg, _ = data
    stacks = stack_totals(reg, ReadingColumns.empty(), START, END)
    assert stacks.enterprise
    assert not stacks.readings.any()
    assert np.nansum(stacks.kg["nox"]) == 0.0
