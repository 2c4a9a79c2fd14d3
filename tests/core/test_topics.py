import pytest

from smartpark.core.errors import ContractError
from smartpark.core.ids import is_valid_id
from smartpark.core.topics import (
    Topic,
    parse_topic,
    shared_subscription,
    status_topic,
    telemetry_topic,
)


def test_topic_round_trip():
    topic = telemetry_topic("petrochem", "gw-chem-a")
    assert topic == "smartpark/v1/petrochem/gw-chem-a/telemetry"
    assert parse_topic(topic) == Topic("petrochem", "gw-chem-a", "telemetry")
    assert parse_topic(status_topic("p", "g")).channel == "status"


@pytest.mark.parametrize(
    "topic",
    [
        "smartpark/v2/p/g/telemetry",
        "smartpark/v1/p/g/other",
        "smartpark/v1/p/telemetry",
        "smartpark/v1/P/g/telemetry",
        "smartpark/v1/p/g h/telemetry",
        "smartpark/v1/p/g/telemetry/extra",
        "",
    ],
)
def test_bad_topics_are_rejected(topic):
    with pytest.raises(ContractError):
        parse_topic(topic)


def test_shared_subscription():
    assert shared_subscription("smartpark-ingest") == (
        "$share/smartpark-ingest/smartpark/v1/+/+/telemetry"
    )


@pytest.mark.parametrize("ident", ["a", "gw-01", "chem_a", "0", "a" * 64])
def test_valid_ids(ident):
    assert is_valid_id(ident)


@pytest.mark.parametrize(
    "ident",
    ["", "A", "-a", "_a", "a b", "a,b", "a=b", 'a"b', "a\nb", "a/b", "a" * 65, "é", 5, None],
)
def test_invalid_ids(ident):
    assert not is_valid_id(ident)
