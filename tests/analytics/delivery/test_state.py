"""The delivery state file refuses what it cannot use, with its path and no traceback: a
damaged file, a file that is not SQLite, a store or another service's state file given
as ``--state`` (never written into), another schema version."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from smartpark.analytics.alerts.state import AlertState
from smartpark.analytics.delivery.state import DeliveryState
from smartpark.core.errors import StateFileError
from tests.analytics.delivery.conftest import EXAMPLE_REGISTRY

SCHEDULES = """
[recipient.zone]
scope = "zone:lanzhou-new-area"
email = "committee@park.example"

[smtp.main]
host = "127.0.0.1"
security = "none"
from = "reports@park.example"

[schedule.m]
kind = "monthly_report"
scope = "zone:lanzhou-new-area"
recipients = ["zone"]
"""


def _garbage(path: Path) -> Path:
    path.write_bytes(b"not a database, just bytes " * 200)
    return path


def _damaged(path: Path) -> Path:
    with DeliveryState(path) as st:
        st.plan("m", 1, [])
    data = bytearray(path.read_bytes())
    data[:16] = b"garbage garbage!"  # the SQLite header
    path.write_bytes(bytes(data))
    return path


def _store(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE readings (meter INTEGER, ts INTEGER, value REAL)")
    db.execute("INSERT INTO readings VALUES (1, 2, 3.0)")
    db.commit()
    db.close()
    return path


def _alerts(path: Path) -> Path:
    AlertState(path).close()
    return path


def _other_version(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', 'x7')")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_garbage, "cannot use this file as the delivery state: file is not a database"),
        (_damaged, "cannot use this file as the delivery state: file is not a database"),
        (_store, "not usable as the delivery state: it holds the tables readings"),
        (_alerts, "not usable as the delivery state: it holds the tables active, event"),
        (_other_version, "delivery state schema x7, expected 1"),
    ],
)
@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_no_delivery_state_is_refused_with_its_path(tmp_path, make, said, read_only):
    path = make(tmp_path / "state.db")
    before = path.read_bytes()
    with pytest.raises(StateFileError) as caught:
        DeliveryState(path, read_only=read_only)
    assert str(caught.value).startswith(f"{path}: ")
    assert said in str(caught.value)
    assert path.read_bytes() == before  # nothing written into it


def test_a_new_and_an_existing_state_file_still_open(tmp_path):
    path = tmp_path / "state.db"
    with DeliveryState(path) as st:
        st.plan("m", 5, [])
    with DeliveryState(path) as st:
        assert st.cursor("m") == 5
    with DeliveryState(path, read_only=True) as st:
        assert st.cursor("m") == 5


@pytest.mark.parametrize("command", [["--once"], ["--check"], ["status"]])
def test_the_commands_say_which_state_file_they_cannot_use(tmp_path, command):
    (tmp_path / "schedules.toml").write_text(SCHEDULES)
    state = _garbage(tmp_path / "state.db")
    args = ["status", "--state", str(state)]
    if command != ["status"]:
        args = [
            "--config", str(tmp_path / "schedules.toml"), "--registry", str(EXAMPLE_REGISTRY),
            "--store", f"sqlite:///{tmp_path / 'park.db'}", "--state", str(state), *command,
        ]  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "smartpark", "schedule", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert "Traceback" not in said
    assert f"error: {state}: cannot use this file as the delivery state" in said
