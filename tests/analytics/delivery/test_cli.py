"""``smartpark schedule`` as an operator runs it: real processes on the real clock, a real
SMTP server that refuses the first message, a restarted service."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

from smartpark.analytics.delivery.due import WEEKDAYS
from smartpark.analytics.delivery.state import DeliveryState
from smartpark.testing.servers import free_port
from tests.analytics.delivery.conftest import PASSWORD, USER
from tests.analytics.delivery.smtp_server import Certificate, SmtpServer

REGISTRY = """
[zone.z]
name = "Zone"
timezone = "Asia/Shanghai"
[park.p1]
zone = "z"
name = "Park 1"
[enterprise.e1]
park = "p1"
name = "E1"
[enterprise.e2]
park = "p1"
name = "E2"
[gateway.g1]
park = "p1"
[meter.e1-power]
enterprise = "e1"
gateway = "g1"
quantity = "active_power"
"""

SCHEDULES = """
[smtp.main]
host = "127.0.0.1"
port = {port}
user = "{user}"
password_env = "SCHEDULE_TEST_SMTP_PASSWORD"
from = "Park reports <{user}>"
ca_file = "{ca}"

[recipient.e1]
scope = "enterprise:e1"
email = "energy@e1.example"

[recipient.e2]
scope = "enterprise:e2"
email = ["energy@e2.example", "boss@e2.example"]

# due at 00:00 today (Asia/Shanghai): a first run sends it (it fell due within a day)
[schedule.weekly]
kind = "weekly_summary"
scope = "recipient"
weekday = "{weekday}"
at = "00:00"
lang = "en"
recipients = ["e1", "e2"]
"""


def setup(tmp_path: Path, smtp: SmtpServer, certificate: Certificate) -> list[str]:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).weekday()
    (tmp_path / "registry.toml").write_text(REGISTRY)
    (tmp_path / "schedules.toml").write_text(
        SCHEDULES.format(port=smtp.port, user=USER, ca=certificate.cert, weekday=WEEKDAYS[today])
    )
    return [
        "schedule",
        "--config",
        str(tmp_path / "schedules.toml"),
        "--registry",
        str(tmp_path / "registry.toml"),
        "--store",
        f"sqlite:///{tmp_path / 'park.db'}",
    ]


def env() -> dict[str, str]:
    return {**os.environ, "SCHEDULE_TEST_SMTP_PASSWORD": PASSWORD}


def smartpark(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartpark", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def test_check_prints_what_would_be_sent_when_and_changes_nothing(tmp_path, smtp, certificate):
    args = setup(tmp_path, smtp, certificate)
    # no password needed to check the file
    checked = smartpark(*args, "--check")
    assert checked.returncode == 0, checked.stderr
    out = checked.stdout
    assert "schedules.toml: 1 schedule(s), 2 recipient(s), valid" in out
    assert "schedule weekly: weekly_summary of each recipient's own scope" in out
    assert "to e2 (enterprise:e2) by e-mail via main (127.0.0.1:" in out
    assert "--once would send 20" in out
    assert "to e1, e2" in out
    assert out.count("  next: ") == 3
    assert not (tmp_path / "park.schedule.db").exists()
    assert smtp.data_commands == 0


def test_once_twice_sends_one_mail_per_recipient(tmp_path, smtp, certificate):
    args = setup(tmp_path, smtp, certificate)
    first = smartpark(*args, "--once", env=env())
    assert first.returncode == 0, first.stderr
    assert "planned=2 skipped=0 sent=2 failed=0" in first.stdout
    again = smartpark(*args, "--once", env=env())
    assert again.returncode == 0, again.stderr
    assert "planned=0 skipped=0 sent=0 failed=0 dead=0 waiting=0" in again.stdout
    assert sorted(tuple(sorted(m.rcpt_tos)) for m in smtp.accepted) == [
        ("boss@e2.example", "energy@e2.example"),
        ("energy@e1.example",),
    ]
    for output in (first.stdout, first.stderr, again.stdout, again.stderr):
        assert PASSWORD not in output
    status = smartpark("schedule", "status", "--store", f"sqlite:///{tmp_path / 'park.db'}")
    assert status.returncode == 0, status.stderr
    assert "weekly" in status.stdout
    assert "pending and dead" not in status.stdout


def test_follow_retries_a_refusal_stops_on_sigterm_and_a_restart_sends_nothing_twice(
    tmp_path, smtp, certificate
):
    args = setup(tmp_path, smtp, certificate)
    smtp.refuse.append("451 4.3.0 Try again later")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smartpark",
            *args,
            "--follow",
            "--interval",
            "1",
            "--metrics-port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + 60
        while len(smtp.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp.accepted) == 2, "the refused mail was not retried"
        metrics, sent = (
            "",
            'smartpark_schedule_attempts_total{outcome="sent",schedule="weekly"} 2.0',
        )
        while sent not in metrics and time.monotonic() < deadline:  # recorded after the send
            time.sleep(0.2)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                metrics = r.read().decode()
        assert sent in metrics
        assert 'smartpark_schedule_attempts_total{outcome="failed",schedule="weekly"} 1.0' in (
            metrics
        )
        assert 'smartpark_schedule_planned_total{schedule="weekly"} 2.0' in metrics
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "schedule_stopping" in err
    assert "smtp_451" in err
    assert PASSWORD not in out + err

    # a restart, as a service manager does it: nothing is sent twice
    again = subprocess.Popen(
        [sys.executable, "-m", "smartpark", *args, "--follow", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + 60
        while "schedule_cycle" not in _read_some(again) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # and another cycle
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
    finally:
        if again.poll() is None:
            again.kill()
            again.communicate()
    assert again.returncode == 0
    assert len(smtp.accepted) == 2
    with DeliveryState(tmp_path / "park.schedule.db") as st:
        assert sorted((d.recipient, d.status, d.attempts) for d in st.deliveries()) == [
            ("e1", "sent", 2),
            ("e2", "sent", 1),
        ]


_SEEN: dict[int, str] = {}


def _read_some(proc: subprocess.Popen[str]) -> str:
    """What the process logged so far, without blocking (it keeps running)."""
    import selectors

    assert proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    while sel.select(timeout=0):
        line = proc.stderr.readline()
        if not line:
            break
        _SEEN[proc.pid] = _SEEN.get(proc.pid, "") + line
    sel.close()
    return _SEEN.get(proc.pid, "")


def test_a_recipient_outside_the_scope_stops_the_command_with_the_path(tmp_path, smtp, certificate):
    args = setup(tmp_path, smtp, certificate)
    text = (tmp_path / "schedules.toml").read_text()
    text = text.replace('scope = "recipient"', 'scope = "enterprise:e2"')
    (tmp_path / "schedules.toml").write_text(text)
    result = smartpark(*args, "--once", env=env())
    assert result.returncode == 1
    said = " ".join(result.stderr.split())  # the console wraps long lines
    assert "schedules.toml: 1 error(s)" in said
    assert (
        "schedule.weekly.recipients: recipient 'e1' (enterprise:e1) may not receive the weekly "
        "summary of enterprise:e2: it is outside the recipient's scope"
    ) in said
    assert smtp.data_commands == 0
    usage = smartpark(*args)
    assert usage.returncode == 2
    assert "exactly one of --once, --follow, --check" in usage.stderr
