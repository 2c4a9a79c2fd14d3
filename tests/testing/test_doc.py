"""Every Python example of docs/testing.md passes as a user runs it: a pytest file of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartpark.testing.servers import Mosquitto

pytestmark = [pytest.mark.servers, pytest.mark.timeout(180)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def examples() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_first_example_is_the_mqtt_round_trip() -> None:
    first = examples()[0]
    for name in ("Mosquitto()", "payload(", "reading(", "Publisher(", "Collector(", "assert"):
        assert name in first


def test_every_example_passes_under_pytest(tmp_path: Path, mosquitto: Mosquitto) -> None:
    # ``mosquitto`` only so that a missing binary skips here (fails under CI) as elsewhere;
    # the examples start their own brokers.
    blocks = examples()
    for i, block in enumerate(blocks, 1):
        (tmp_path / f"test_example_{i}.py").write_text(block, encoding="utf-8")
    defined = sum(len(re.findall(r"^def test_", b, re.M)) for b in blocks)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"\b(\d+) passed\b", result.stdout)
    assert passed is not None, result.stdout
    assert int(passed.group(1)) >= defined >= 5  # parametrized examples pass once per case
    for other in ("skipped", "xfail", "xpass", "warning"):
        assert other not in result.stdout, result.stdout
