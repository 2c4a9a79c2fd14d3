"""Signatures (known answers computed with openssl) and each channel's format over real HTTP."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from smartpark.analytics.alerts import channels, signing
from smartpark.analytics.alerts.delivery import Deliverer
from smartpark.analytics.alerts.rules import Channel
from smartpark.analytics.alerts.state import AlertState
from tests.analytics.alerts.receiver import Receiver

# printf '1764000000.{"rule":"x"}' | openssl dgst -sha256 -hmac 'topsecret'
KNOWN_SIGNATURE = "sha256=e1c57f638dbe38cf09d16e6fb36ccbb17102bd70e4255a9fd318a40f7afb6deb"


def test_signature_known_answer() -> None:
    assert signing.sign("topsecret", 1764000000, b'{"rule":"x"}') == KNOWN_SIGNATURE
    assert signing.headers("topsecret", 1764000000, b'{"rule":"x"}') == {
        "X-Smartpark-Timestamp": "1764000000",
        "X-Smartpark-Signature": KNOWN_SIGNATURE,
    }


def test_verify_accepts_the_signed_body_and_refuses_any_tampering() -> None:
    body = b'{"rule":"x"}'
    ok = signing.verify("topsecret", "1764000000", KNOWN_SIGNATURE, body, now_s=1764000010)
    assert ok.ok
    assert ok.reason == "ok"
    tampered = signing.verify("topsecret", "1764000000", KNOWN_SIGNATURE, b'{"rule":"y"}')
    assert (tampered.ok, tampered.reason) == (False, "bad_signature")
    other_ts = signing.verify("topsecret", "1764000001", KNOWN_SIGNATURE, body)
    assert other_ts.reason == "bad_signature"
    wrong_secret = signing.verify("topsecreT", "1764000000", KNOWN_SIGNATURE, body)
    assert wrong_secret.reason == "bad_signature"
    stale = signing.verify("topsecret", "1764000000", KNOWN_SIGNATURE, body, now_s=1764009999)
    assert stale.reason == "stale_timestamp"
    no_window = signing.verify(
        "topsecret", "1764000000", KNOWN_SIGNATURE, body, now_s=1764009999, max_age_s=0
    )
    assert no_window.ok
    assert signing.verify("topsecret", "17640e5", KNOWN_SIGNATURE, body).reason == "bad_timestamp"


def test_dingtalk_and_feishu_signatures_known_answers() -> None:
    # printf '1764000000123\nSECtopsecret' | openssl dgst -sha256 -hmac SECtopsecret -binary
    # | base64
    assert (
        signing.dingtalk_sign("SECtopsecret", 1764000000123)
        == "tBqkZ57teO8TGBMg3vj/WnMKtjuZrLMDfjuuSl/aBTg="
    )
    # printf '' | openssl dgst -sha256 -hmac "$(printf '1764000000\nfeishu-secret')" -binary
    assert (
        signing.feishu_sign("feishu-secret", 1764000000)
        == "bawp1QohUKo4zWjDLixyPpNrgP17wAwVBH+FAFNgDt8="
    )


def event(k: int, state: str = "firing") -> dict[str, Any]:
    return {
        "rule": "stale",
        "state": state,
        "severity": "warning",
        "scope": "meter",
        "id": f"m-{k:03d}",
        "value": 12.5,
        "threshold": 5.0,
        "unit": "min",
        "starts_at": "2026-11-20T01:04:00+08:00",
        "ends_at": None,
        "fingerprint": f"fp{k:03d}",
        "park": "p2",
    }


def deliver(tmp_path: Path, channel: Channel, events: list[dict[str, Any]]) -> tuple[Any, Any]:
    with AlertState(tmp_path / "state.db") as state:
        state.enqueue(channel.id, events, 1_000)
        report = Deliverer(state, {channel.id: channel}).deliver_due(1_764_000_000_123)
        return report, (state.pending() or [None])[0]


def test_dingtalk_signed_robot(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b'{"errcode":0,"errmsg":"ok"}'
    channel = Channel("ops", "dingtalk", receiver.url + "?access_token=tok", "SECtopsecret")
    report, _ = deliver(tmp_path, channel, [event(1)])
    assert report.delivered == 1
    got = receiver.requests[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(got.path).query)
    assert query == {
        "access_token": ["tok"],
        "timestamp": ["1764000000123"],
        "sign": ["tBqkZ57teO8TGBMg3vj/WnMKtjuZrLMDfjuuSl/aBTg="],
    }
    body = got.json()
    assert body["msgtype"] == "markdown"
    assert "[FIRING] warning stale" in body["markdown"]["title"]
    assert "m-001" in body["markdown"]["text"]


def test_dingtalk_refusal_in_a_200_is_a_failure(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b'{"errcode":310000,"errmsg":"sign not match"}'
    channel = Channel("ops", "dingtalk", receiver.url, "SECx")
    report, pending = deliver(tmp_path, channel, [event(1)])
    assert report.failed == 1
    assert pending.reason == "dingtalk_error_310000: sign not match"


def test_wecom_markdown_is_cut_to_4096_bytes(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b'{"errcode":0,"errmsg":"ok"}'
    channel = Channel("wx", "wecom", receiver.url + "?key=KEY", None)
    report, _ = deliver(tmp_path, channel, [event(k) for k in range(300)])
    assert report.delivered == 1
    body = receiver.requests[0].json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert len(content.encode()) <= channels.WECOM_MAX_BYTES
    assert "(300 alerts)" in content


def test_feishu_signed_text(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b'{"code":0,"msg":"success"}'
    channel = Channel("fs", "feishu", receiver.url, "feishu-secret")
    report, _ = deliver(tmp_path, channel, [event(1)])
    assert report.delivered == 1
    body = receiver.requests[0].json()
    assert body["timestamp"] == "1764000000"
    assert body["sign"] == "bawp1QohUKo4zWjDLixyPpNrgP17wAwVBH+FAFNgDt8="
    assert body["msg_type"] == "text"
    assert "m-001" in body["content"]["text"]


def test_feishu_refusal(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}'
    channel = Channel("fs", "feishu", receiver.url, "feishu-secret")
    report, pending = deliver(tmp_path, channel, [event(1)])
    assert report.failed == 1
    assert pending.reason.startswith("feishu_error_19021")


def test_slack_text_lists_at_most_twenty_alerts(tmp_path: Path, receiver: Receiver) -> None:
    receiver.answer = b"ok"
    channel = Channel("sl", "slack", receiver.url, None)
    report, _ = deliver(tmp_path, channel, [event(k) for k in range(25)])
    assert report.delivered == 1
    text = receiver.requests[0].json()["text"]
    assert text.count("• ") == 21
    assert "... and 5 more" in text


def test_webhook_group_body_keeps_the_documented_fields(tmp_path: Path, receiver: Receiver) -> None:
    channel = Channel("hook", "webhook", receiver.url, "topsecret")
    report, _ = deliver(tmp_path, channel, [event(1), event(2)])
    assert report.delivered == 1
    got = receiver.requests[0]
    body = got.json()
    assert set(channels.BODY_FIELDS) <= set(body)
    assert (body["scope"], body["id"], body["value"], body["unit"]) == ("park", "p2", 2, "alerts")
    assert [a["id"] for a in body["alerts"]] == ["m-001", "m-002"]
    assert all("park" not in a for a in body["alerts"])
    assert signing.verify(
        "topsecret",
        got.headers["X-Smartpark-Timestamp"],
        got.headers["X-Smartpark-Signature"],
        got.body,
    ).ok
    assert json.loads(got.body) == body


def test_rate_limit_holds_messages_back(tmp_path: Path, receiver: Receiver) -> None:
    channel = Channel("hook", "webhook", receiver.url, "topsecret", rate_per_minute=2)
    with AlertState(tmp_path / "state.db") as state:
        for k in range(5):
            state.enqueue("hook", [event(k)], 0)
        deliverer = Deliverer(state, {"hook": channel})
        first = deliverer.deliver_due(10_000)
        assert (first.delivered, first.waiting) == (2, 3)
        assert deliverer.deliver_due(20_000).delivered == 0
        assert deliverer.deliver_due(75_000).delivered == 2
        assert deliverer.deliver_due(140_000).delivered == 1
    assert [r.json()["id"] for r in receiver.requests] == [f"m-{k:03d}" for k in range(5)]


def test_a_delivered_alert_is_never_sent_again(tmp_path: Path, receiver: Receiver) -> None:
    channel = Channel("hook", "webhook", receiver.url, "topsecret")
    with AlertState(tmp_path / "state.db") as state:
        state.enqueue("hook", [event(1)], 0)
        deliverer = Deliverer(state, {"hook": channel})
        assert deliverer.deliver_due(1_000).delivered == 1
        # The same alert and state queued again (say, by a bug): dropped, not re-sent.
        state.enqueue("hook", [event(1), event(2)], 2_000)
        state.enqueue("hook", [event(1)], 2_000)
        deliverer.deliver_due(3_000)
        assert state.pending() == []
    assert [r.json().get("id") for r in receiver.requests] == ["m-001", "m-002"]
