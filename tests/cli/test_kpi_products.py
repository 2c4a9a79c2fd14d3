"""``smartpark kpi`` for products, as a user runs it: scope product, enterprise and park
with product KPIs, JSON and CSV, the errors that name the option to fix; and
``smartpark registry check`` listing the products with their corrected levels."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from tests.analytics.test_products_unit_energy import (
    month_rows,
    products_registry,
    readings,
)

REGISTRY_TOML = """
[zone.z]
name = "Z"
timezone = "Asia/Shanghai"
[park.p]
zone = "z"
name = "P"
[enterprise.cement-a]
park = "p"
name = "Cement A"
[enterprise.alu-a]
park = "p"
name = "Alu A"
[gateway.gw]
park = "p"
[meter.cement-a-el]
gateway = "gw"
interval_s = 3600
enterprise = "cement-a"
quantity = "electricity_import"
[meter.cement-a-coal]
gateway = "gw"
interval_s = 3600
enterprise = "cement-a"
quantity = "coal"
[meter.cement-a-out]
gateway = "gw"
interval_s = 3600
enterprise = "cement-a"
quantity = "product_output"
[meter.alu-a-el]
gateway = "gw"
interval_s = 3600
enterprise = "alu-a"
quantity = "electricity_import"
[product.clinker]
enterprise = "cement-a"
standard = "GB 16780-2021"
category = "clinker"
output_meter = "cement-a-out"
inputs = { altitude_m = 2100 }
[product.aluminium]
enterprise = "alu-a"
standard = "GB 21346-2022"
category = "aluminium_liquid"
unit = "t"
"""


def smartpark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    tmp = tmp_path_factory.mktemp("kpi-products")
    registry = tmp / "registry.toml"
    registry.write_text(REGISTRY_TOML, encoding="utf-8")
    reg = products_registry()
    url = f"sqlite:///{tmp / 'store.db'}"
    store = open_store(parse_store_url(url), reg)
    try:
        store.write(readings(reg))
        store.outputs.replace(month_rows(range(1, 13)))
    finally:
        store.close()
    return str(registry), url


def kpi(files: tuple[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    registry, url = files
    return smartpark(
        "kpi", "--registry", registry, "--store", url, "--from", "2026-11-01", "--to",
        "2026-12-01", "--period", "month", *args,
    )  # fmt: skip


def test_the_registry_file_is_the_one_the_known_answers_use(files: tuple[str, str]) -> None:
    import dataclasses

    from smartpark.core import registry as registry_mod

    loaded = registry_mod.load(files[0])
    assert dataclasses.replace(loaded, source="<registry>") == products_registry()
    checked = smartpark("registry", "check", files[0])
    assert checked.returncode == 0, checked.stderr
    assert "2 product(s)" in checked.stdout
    assert "product clinker (cement-a): GB 16780-2021 clinker, levels 100 / 107 / 118.814" in (
        checked.stdout
    )
    assert "output meter cement-a-out" in checked.stdout
    assert "product aluminium (alu-a): GB 21346-2022 aluminium_liquid" in checked.stdout


def test_scope_product_json_holds_the_known_answers(files: tuple[str, str]) -> None:
    result = kpi(files, "--scope", "product", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"clinker", "aluminium"}
    assert rows["clinker"]["scope"] == "product"
    assert rows["clinker"]["unit_energy_kgce"] == pytest.approx(106.7615)
    assert rows["clinker"]["benchmark_level"] == 2
    assert rows["aluminium"]["unit_electricity_kwh"] == pytest.approx(13_200)
    assert rows["aluminium"]["benchmark_level"] == 3
    assert rows["aluminium"]["gap_to_next_level"] == pytest.approx(200)


def test_product_kpis_at_enterprise_scope_show_its_products(files: tuple[str, str]) -> None:
    result = kpi(
        files, "--scope", "enterprise", "--kpi", "benchmark_value", "--kpi", "benchmark_level",
        "--format", "csv", "--park", "p",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].endswith("benchmark_value [kgce/t or kWh/t],benchmark_level [level]")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["product", "aluminium"],
        ["product", "clinker"],
    ]
    table = kpi(files, "--scope", "park")
    assert table.returncode == 0, table.stderr
    assert "energy" in table.stdout  # without product KPIs, the park's own rows


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scope", "zone", "--kpi", "unit_energy_kgce"), "use --scope product, enterprise"),
        (("--scope", "product", "--kpi", "energy_tce"), "'energy_tce' is not a product KPI"),
        (("--kpi", "unit_energy_kgcee"), "unknown KPI 'unit_energy_kgcee'"),
    ],
)
def test_wrong_selections_name_the_option(
    files: tuple[str, str], args: tuple[str, ...], message: str
) -> None:
    result = kpi(files, *args)
    assert result.returncode != 0
    assert message in result.stderr
