import pytest

from smartpark.core.urls import parse_broker_url, parse_store_url


def test_broker_urls():
    b = parse_broker_url("mqtt://broker.park.example")
    assert (b.host, b.port, b.tls, b.username) == ("broker.park.example", 1883, False, None)
    b = parse_broker_url("mqtts://gw-chem-a@broker:8884")
    assert (b.host, b.port, b.tls, b.username) == ("broker", 8884, True, "gw-chem-a")
    assert parse_broker_url("mqtts://h").port == 8883


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mqtt://user:secret@h", "must not carry a password"),
        ("http://h", "mqtt://"),
        ("mqtt://", "no host"),
        ("mqtt://h:99999", "invalid port"),
        ("mqtt://h/path", "no path"),
        ("", "not a URL"),
    ],
)
def test_bad_broker_urls(url, fragment):
    with pytest.raises(ValueError, match=fragment) as err:
        parse_broker_url(url)
    assert "secret" not in str(err.value)


def test_store_urls():
    s = parse_store_url("influxdb://127.0.0.1:8087/smartpark")
    assert (s.kind, s.host, s.port, s.database, s.tls) == (
        "influxdb", "127.0.0.1", 8087, "smartpark", False,
    )  # fmt: skip
    assert s.http_base == "http://127.0.0.1:8087"
    s = parse_store_url("influxdb2s://influx.example/telemetry?org=park-co")
    assert (s.kind, s.port, s.database, s.org, s.tls) == (
        "influxdb2", 8086, "telemetry", "park-co", True,
    )  # fmt: skip
    assert s.http_base == "https://influx.example:8086"
    assert parse_store_url("sqlite:///data/store.db").path == "data/store.db"
    assert parse_store_url("sqlite:////var/lib/smartpark/store.db").path == (
        "/var/lib/smartpark/store.db"
    )
    for url in ("influxdb://h:1/db", "influxdb2://h:2/b?org=o", "sqlite:///x.db"):
        assert str(parse_store_url(url)) == url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgres://h/db", "scheme"),
        ("influxdb://u:p@h/db", "credentials"),
        ("influxdb://h", "database"),
        ("influxdb2://h/bucket", "org"),
        ("influxdb://h/db?org=o", "takes no org"),
        ("influxdb://h/db?x=1", "unknown query"),
        ("sqlite://", "sqlite:///path"),
    ],
)
def test_bad_store_urls(url, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_store_url(url)
