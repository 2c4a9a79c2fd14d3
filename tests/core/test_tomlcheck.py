"""The one config checker: every problem at once, with its path, in one wording."""

from __future__ import annotations

import pytest

from smartpark.core.errors import ConfigError
from smartpark.core.tomlcheck import Checker


def test_value_reports_type_choice_range_and_missing_with_their_paths() -> None:
    c = Checker()
    data = {"batch": 5000, "level": "loud", "on": 1, "rate": "fast", "sub": {"port": 0}}
    assert c.value("", data, "batch", int, 500, minimum=1, maximum=1000) == 500
    assert c.value("", data, "level", str, "info", choices=("debug", "info")) == "info"
    assert c.value("", data, "on", bool, True) is True
    assert c.value("", data, "rate", (int, float), 1.0) == 1.0
    assert c.value("sub", data["sub"], "port", int, 502, minimum=1) == 502
    assert c.value("sub", data["sub"], "host", str, "", required=True) == ""
    assert c.value("", {"n": True}, "n", int, 3) == 3  # a bool is not an int
    assert c.problems == [
        "batch: must be within [1, 1000], got 5000",
        "level: must be one of debug, info, got 'loud'",
        "on: must be true or false, got 1",
        "rate: must be a number, got 'fast'",
        "sub.port: must be >= 1, got 0",
        "sub.host: missing required key",
        "n: must be an integer, got True",
    ]


def test_number_and_value_share_the_range_wording() -> None:
    c = Checker()
    t = {"a": 2.0, "b": -1, "c": float("nan"), "d": float("-inf")}
    assert c.number("x", t, "a", maximum=1.0) is None
    assert c.number("x", t, "b", minimum=0) is None
    assert c.number("x", t, "c") is None
    assert c.value("x", t, "d", float, 0.0) == 0.0
    assert c.number("x", t, "d", positive=True) is None
    assert c.problems == [
        "x.a: must be <= 1.0, got 2.0",
        "x.b: must be >= 0, got -1",
        "x.c: must be finite, got nan",
        "x.d: must be finite, got -inf",
        "x.d: must be finite, got -inf",
    ]


def test_unknown_keys_at_the_top_and_below_and_done_raises_them_all() -> None:
    c = Checker()
    c.keys("", {"colour": 1, "ok": 2}, {"ok"})
    c.keys("mqtt", {"portt": 1}, {"port"})
    with pytest.raises(ConfigError) as info:
        c.done("gw.toml")
    assert info.value.source == "gw.toml"
    assert info.value.problems == [
        "colour: unknown key 'colour'",
        "mqtt.portt: unknown key 'portt'",
    ]
    Checker().done("clean.toml")  # nothing found: no error
