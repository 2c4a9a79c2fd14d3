"""``python -m smartpark.gateway``: reports config errors, loads no typer/pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartpark.core.errors import ConfigError
from smartpark.gateway.service import run

ROOT = Path(__file__).parents[2]

LEAN = """
import sys
from smartpark.gateway.__main__ import main
code = main(["--config", sys.argv[1]])
heavy = sorted(m for m in ("typer", "click", "pydantic") if m in sys.modules)
print(code, heavy)
"""


def test_lean_runner_reports_config_errors_without_loading_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "gw.toml"
    bad.write_text(
        f'registry = "{ROOT / "examples" / "registry.toml"}"\ngateway = "gw-chem-a"\n'
        "batch_max = 0\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-c", LEAN, str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "1 []", result.stderr
    assert "batch_max: must be within [1, 1000], got 0" in result.stderr


def test_run_checks_the_log_level_option() -> None:
    with pytest.raises(ConfigError, match="log_level: must be one of debug, info"):
        run(ROOT / "examples" / "gateway.toml", log_level="loud")
