"""``smartpark alerts`` as a user runs it: real processes, real store file, real receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from smartpark.analytics.alerts import signing
from smartpark.analytics.alerts.state import AlertState
from smartpark.cli import app
from smartpark.core import registry
from smartpark.store.sqlite import SqliteStore
from tests.analytics.alerts.conftest import HOUR, SECRET, minutes, readings
from tests.analytics.alerts.receiver import Receiver

REGISTRY = """
[zone.z]
name = "Zone"
[park.p1]
zone = "z"
name = "Park 1"
[park.p1.limits]
nox = 100.0
[enterprise.e1]
park = "p1"
name = "E1"
[gateway.g1]
park = "p1"
[meter.e1-nox]
enterprise = "e1"
gateway = "g1"
quantity = "nox"
"""

RULES = """
[channel.hook]
kind = "webhook"
url = "{url}"
secret_file = "hook.secret"

[rule.nox]
kind = "pollutant_limit"
quantity = "nox"
severity = "critical"
channels = ["hook"]
"""


def setup_park(tmp_path: Path, receiver: Receiver) -> tuple[list[str], int]:
    """Files for a park whose NOx exceeded in the hour before last; the common arguments."""
    (tmp_path / "registry.toml").write_text(REGISTRY)
    (tmp_path / "rules.toml").write_text(RULES.format(url=receiver.url))
    (tmp_path / "hook.secret").write_text(SECRET)
    reg = registry.load(tmp_path / "registry.toml")
    hour = time.time_ns() // 1_000_000 // HOUR * HOUR
    ts = minutes(hour - 4 * HOUR, hour)
    nox = np.where((ts >= hour - 2 * HOUR) & (ts < hour - HOUR), 150.0, 50.0)
    with SqliteStore(tmp_path / "park.db", reg) as store:
        store.write(readings(reg, "e1-nox", ts, nox))
    args = [
        "alerts",
        "--rules",
        str(tmp_path / "rules.toml"),
        "--registry",
        str(tmp_path / "registry.toml"),
        "--store",
        f"sqlite:///{tmp_path / 'park.db'}",
    ]
    return args, hour


def smartpark(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def test_dry_run_prints_and_changes_nothing_then_once_sends(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        args, _ = setup_park(tmp_path, receiver)
        # The URL comes from the environment and carries a key, as robot URLs do.
        rules = (tmp_path / "rules.toml").read_text()
        rules = rules.replace(f'url = "{receiver.url}"', 'url_env = "HOOK_URL"')
        (tmp_path / "rules.toml").write_text(rules)
        env = {**os.environ, "HOOK_URL": receiver.url + "?key=VERY-SECRET-KEY"}
        dry = smartpark(*args, "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.count("--- would POST to channel hook (webhook)") == 2
        assert '"state":"firing"' in dry.stdout
        assert '"state":"resolved"' in dry.stdout
        assert receiver.url not in dry.stdout  # URLs are redacted to scheme and host
        assert receiver.requests == []
        assert not (tmp_path / "park.alerts.db").exists()

        once = smartpark(*args, "--once", env=env)
        assert once.returncode == 0, once.stderr
        assert receiver.requests[0].path == "/hook?key=VERY-SECRET-KEY"
        for secret in ("VERY-SECRET-KEY", SECRET):
            for output in (dry.stdout, dry.stderr, once.stdout, once.stderr):
                assert secret not in output
        assert "firing=1 resolved=1 messages=2" in once.stdout
        assert [r.json()["state"] for r in receiver.accepted] == ["firing", "resolved"]
        assert receiver.accepted[0].json()["value"] == 150.0
        # The state lives beside the store; a second run sends nothing more.
        assert (tmp_path / "park.alerts.db").exists()
        again = smartpark(*args, "--once", env=env)
        assert again.returncode == 0, again.stderr
        assert "firing=0 resolved=0 messages=0" in again.stdout
        assert len(receiver.requests) == 2
    finally:
        receiver.stop()


def test_follow_delivers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        args, _ = setup_park(tmp_path, receiver)
        state = tmp_path / "elsewhere.db"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smartpark",
                *args,
                "--follow",
                "--interval",
                "1",
                "--state",
                str(state),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while len(receiver.accepted) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(receiver.accepted) == 2, "no delivery within 30 s"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "alerts_stopping" in err
        assert [r.json()["state"] for r in receiver.accepted] == ["firing", "resolved"]
        with AlertState(state) as st:
            assert st.pending() == []
            assert len(st.delivered()) == 2
    finally:
        receiver.stop()


def test_invalid_rules_file_exits_1_listing_every_error(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    (tmp_path / "rules.toml").write_text(
        '[rule.a]\nkind = "stale_meter"\nchannels = ["x"]\n[rule.b]\nkind = "nope"\n'
    )
    result = CliRunner().invoke(
        app,
        [
            "alerts",
            "--rules",
            str(tmp_path / "rules.toml"),
            "--registry",
            str(tmp_path / "registry.toml"),
            "--store",
            f"sqlite:///{tmp_path / 'park.db'}",
            "--once",
        ],
    )
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    for line in (
        "4 error(s)",
        "rule.a.channels: unknown channel 'x'",
        "rule.a.intervals: missing required key",
        "rule.b.kind: must be one of",
        "rule.b.channels: missing required key",
    ):
        assert line in output, output


def test_mode_is_required(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["alerts", "--rules", str(tmp_path / "r.toml")])
    assert result.exit_code == 2


def test_verify_command_accepts_a_signed_body_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    body = json.dumps({"rule": "nox", "state": "firing"}).encode()
    ts = int(time.time())
    sig = signing.sign(SECRET, ts, body)
    (tmp_path / "body.json").write_bytes(body)
    runner = CliRunner()
    base = ["alerts", "verify", "--secret-file", str(secret_file), "--timestamp", str(ts)]
    ok = runner.invoke(app, [*base, "--signature", sig, "--body", str(tmp_path / "body.json")])
    assert ok.exit_code == 0
    assert "signature ok" in ok.output
    via_stdin = runner.invoke(app, [*base, "--signature", sig], input=body)
    assert via_stdin.exit_code == 0
    tampered = runner.invoke(app, [*base, "--signature", sig], input=body.replace(b"nox", b"so2"))
    assert tampered.exit_code == 1
    assert "bad_signature" in tampered.output
    old = runner.invoke(
        app,
        [
            "alerts",
            "verify",
            "--secret-file",
            str(secret_file),
            "--timestamp",
            str(ts - 3600),
            "--signature",
            signing.sign(SECRET, ts - 3600, body),
        ],
        input=body,
    )
    assert old.exit_code == 1
    assert "stale_timestamp" in old.output


def test_status_shows_active_alerts_and_dead_letters(tmp_path: Path) -> None:
    from smartpark.analytics.alerts.state import Active

    path = tmp_path / "alerts.db"
    with AlertState(path) as st:
        with st.transaction():
            st.put_active([Active("nox", "meter", "e1-nox", "firing", 0, 120.0, 100.0, "fp1")])
            st.enqueue("hook", [{"fingerprint": "fp1", "state": "firing"}], 0)
        (message,) = st.pending()
        st.mark_failed(message, 1, "http_503", 2, dead=True)
    result = CliRunner().invoke(app, ["alerts", "status", "--state", str(path)])
    assert result.exit_code == 0, result.output
    for text in ("e1-nox", "firing", "1970-01-01T00:00:00+00:00", "http_503", "dead letters"):
        assert text in result.output
    missing = CliRunner().invoke(app, ["alerts", "status", "--state", str(tmp_path / "no.db")])
    assert missing.exit_code == 1
