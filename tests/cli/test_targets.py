"""``smartpark targets`` and ``smartpark import targets`` end to end on SQLite (the job
through influxd: tests/analytics/dualcontrol/test_progress.py). Pinned dates only."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from smartpark.analytics.dualcontrol import render
from smartpark.analytics.dualcontrol.progress import run
from smartpark.cli import app
from smartpark.core import logs, registry
from smartpark.core.urls import parse_store_url
from smartpark.store.open import open_store
from tests.analytics.dualcontrol.zone import AS_OF, energy, write_readings, write_zone

TARGETS = '[[target]]\nscope = "enterprise"\nid = "e1"\nyear = 2026\nenergy_tce = 3000\n'


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    logs.configure()
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def zone(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "zone"
    reg = write_zone(folder, TARGETS, "2026,e1,,,50000,,,,\n")
    url = f"sqlite:///{tmp_path / 'park.db'}"
    store = open_store(parse_store_url(url), reg)
    try:
        write_readings(store, reg, 2025)
    finally:
        store.close()
    return folder, url


def test_json_is_the_jobs_payload(zone: tuple[Path, str]) -> None:
    folder, url = zone
    args = ["targets", "--registry", str(folder / "registry.toml"), "--store", url]
    code, out, err = invoke(*args, "--as-of", str(AS_OF), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    (row,) = doc["rows"]
    assert (row["measure"], row["projection_method"]) == ("energy_tce", "last_year_shape")
    assert row["actual_ytd"] == pytest.approx(sum(energy(2026, m) for m in range(1, 7)))
    assert (doc["as_of"], doc["ytd_end"], doc["closed_months"]) == ("2026-07-15", "2026-07-01", 6)
    reg = registry.load(folder / "registry.toml")
    store = open_store(parse_store_url(url), reg)
    try:
        assert doc == render.payload(run(store, reg, as_of=AS_OF))
    finally:
        store.close()

    code, out, err = invoke(*args, "--as-of", str(AS_OF), "--id", "e1")
    assert code == 0, err
    assert "last_year_shape" in out
    assert "2026-06" in out
    xlsx = folder / "t.xlsx"
    code, _, err = invoke(*args, "--as-of", str(AS_OF), "--format", "xlsx", "--out", str(xlsx))
    assert code == 0, err
    assert openpyxl.load_workbook(xlsx).sheetnames == ["targets", "months"]
    code, _, err = invoke(*args, "--as-of", "2025-12-31", "--year", "2026")
    assert code == 2
    assert "before 2026 began" in err


def test_import_template_fill_and_import(zone: tuple[Path, str]) -> None:
    folder, _ = zone
    at = ["--registry", str(folder / "registry.toml")]
    template = folder / "template.xlsx"
    code, _, err = invoke("import", "template", "targets", "--out", str(template), *at)
    assert code == 0, err
    book = openpyxl.load_workbook(template)
    book.worksheets[0].append(["zone", "z1", 2026, 9000, None, 20000, None, 15])
    book.save(folder / "filled.xlsx")
    code, out, err = invoke("import", "targets", str(folder / "filled.xlsx"), *at)
    assert code == 0, err + out
    assert "1 target(s) added" in out
    text = (folder / "targets.toml").read_text(encoding="utf-8")
    assert text.endswith(
        '\n[[target]]\nscope = "zone"\nid = "z1"\nyear = 2026\nenergy_tce = 9000\n'
        "co2_t = 20000\nrenewable_share_min = 15\n"
    )
    code, out, err = invoke(
        "import", "targets", str(folder / "filled.xlsx"), *at, "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["written"] is False
