"""The ``smartpark alerts`` commands as calls: status of a state file, webhook verification."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from smartpark.analytics.alerts import job, signing
from smartpark.analytics.alerts.state import Active, AlertState
from smartpark.core.errors import ConfigError
from tests.analytics.alerts.conftest import SECRET


def test_status_counts_the_outbox_per_channel_and_lists_dead_letters(tmp_path: Path) -> None:
    path = tmp_path / "park.alerts.db"  # where run() keeps it for sqlite:///.../park.db
    with AlertState(path) as st:
        with st.transaction():
            st.put_active([Active("nox", "meter", "e1-nox", "firing", 0, 120.0, 100.0, "fp1")])
            st.enqueue("hook", [{"fingerprint": "fp1", "state": "firing"}], 0)
            st.enqueue("hook", [{"fingerprint": "fp2", "state": "firing"}], 0)
            st.enqueue("bot", [{"fingerprint": "fp1", "state": "firing"}], 0)
        first, second, _ = st.pending()
        st.mark_failed(first, 1, "http_503", 2, dead=True)
        st.mark_delivered(second, 3)

    report = job.status(f"sqlite:///{tmp_path / 'park.db'}")

    assert report.path == path
    assert [(a.rule, a.id, a.status) for a in report.active] == [("nox", "e1-nox", "firing")]
    assert list(report.outbox) == ["bot", "hook"]  # sorted by channel
    assert report.outbox["hook"] == {"delivered": 1, "dead": 1}
    assert report.outbox["bot"] == {"pending": 1}
    assert [(m.channel, m.reason) for m in report.dead] == [("hook", "http_503")]
    titles = [t.title for t in job.status_tables(report)]
    assert titles == [f"{path}: active alerts", "outbox (messages)", "dead letters"]


def test_status_without_a_state_file_says_to_run_once_first(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        job.status("influxdb://127.0.0.1:8086/park", tmp_path / "none.db")
    assert err.value.problems == ["no alert state file here (has `alerts --once` run?)"]


def test_verify_webhook_reads_the_secret_file_and_the_body(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(SECRET + "\n")  # the trailing newline is not the secret
    body = b'{"rule":"nox","state":"firing"}'
    ts = int(time.time())
    sig = signing.sign(SECRET, ts, body)
    (tmp_path / "body.json").write_bytes(body)

    by_file = job.verify_webhook(tmp_path / "secret", str(ts), sig, tmp_path / "body.json")
    by_stream = job.verify_webhook(tmp_path / "secret", str(ts), sig, stdin=io.BytesIO(body))
    tampered = job.verify_webhook(tmp_path / "secret", str(ts), sig, stdin=io.BytesIO(b"{}"))

    assert (by_file.ok, by_stream.ok) == (True, True)
    assert (tampered.ok, tampered.reason) == (False, "bad_signature")


def test_verify_webhook_refuses_an_empty_secret_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("  \n")
    with pytest.raises(ConfigError) as err:
        job.verify_webhook(tmp_path / "secret", "1", "sha256=x", stdin=io.BytesIO(b""))
    assert (err.value.source, err.value.problems) == (
        str(tmp_path / "secret"),
        ["secret file is empty"],
    )
