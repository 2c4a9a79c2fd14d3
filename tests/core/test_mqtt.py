"""One MqttOptions for gateway and ingest: built from a broker URL, never shows the password."""

from __future__ import annotations

import pytest

from smartpark.core.mqtt import MqttOptions
from smartpark.core.urls import parse_broker_url

SECRET = "hunter2-s3cret"


def test_repr_and_str_never_contain_the_password() -> None:
    options = MqttOptions("broker", 8883, "gw-1", tls=True, username="gw-1", password=SECRET)
    for text in (repr(options), str(options), f"{options}", f"{options!r}", repr([options])):
        assert SECRET not in text
        assert "gw-1" in text
    assert options.password == SECRET


def test_from_url_reads_the_password_only_for_a_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTPARK_MQTT_PASSWORD", SECRET)
    monkeypatch.delenv("SMARTPARK_MQTT_PASSWORD_FILE", raising=False)
    with_user = MqttOptions.from_url(
        parse_broker_url("mqtts://ingest@broker.example"), "ingest-1", protocol="5"
    )
    assert (with_user.host, with_user.port, with_user.tls) == ("broker.example", 8883, True)
    assert (with_user.username, with_user.password) == ("ingest", SECRET)
    assert (with_user.client_id, with_user.protocol) == ("ingest-1", "5")
    assert SECRET not in repr(with_user)
    anonymous = MqttOptions.from_url(parse_broker_url("mqtt://127.0.0.1"), "gw")
    assert (anonymous.port, anonymous.username, anonymous.password) == (1883, None, None)
