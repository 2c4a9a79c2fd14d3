"""The [hj212] table: the sample config, defaults, and errors that name their TOML path."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from smartpark.core import registry
from smartpark.core.tomlcheck import Checker, read_toml
from smartpark.gateway.hj212 import Hj212Config, parse_hj212
from smartpark.gateway.hj212.codes import CODES

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "smartpark" / "examples"


def parse(text: str) -> tuple[Hj212Config | None, list[str]]:
    checker = Checker()
    config = parse_hj212(checker, tomllib.loads(text).get("hj212"), "hj212")
    return config, checker.problems


def test_sample_config_parses_and_feeds_registry_meters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTPARK_HJ212_OUTFALL_PW", "654321")
    checker = Checker()
    config = parse_hj212(checker, read_toml(EXAMPLES / "gateway-hj212.toml", "config")["hj212"])
    assert checker.problems == []
    assert config is not None
    assert (config.host, config.port, config.max_invalid_bytes) == ("127.0.0.1", 9212, 8192)
    boiler = config.loggers["010000A8900016F000169DC0"]
    outfall = config.loggers["010000A8900016F000169DC1"]
    assert boiler.pw == "123456"
    assert outfall.pw == "654321"
    assert "654321" not in repr(outfall)
    assert outfall.unit("B01") == "L/s"
    reg = registry.load(EXAMPLES / "registry.toml")
    for logger in config.loggers.values():
        for code, meter in logger.meters.items():
            assert reg.meters[meter].quantity == CODES[code].quantity, (code, meter)
            assert reg.meters[meter].gateway == "gw-chem-a"


def test_defaults_are_safe() -> None:
    config, problems = parse('[hj212.logger.MN1]\npw = "1"\nmeters = { a21026 = "m-so2" }\n')
    assert problems == []
    assert config is not None
    assert config.host == "127.0.0.1"
    assert config.max_connections == 64
    assert config.idle_timeout_s == 300.0
    assert config.store_commands == {"2011"}
    assert config.store_flags == {"N", "T"}
    assert config.timezone == "Asia/Shanghai"
    assert config.meters == ["m-so2"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[hj212]\nport = 70000\n", "hj212.port: must be within [0, 65535]"),
        ('[hj212]\ntimezone = "Mars/Base"\n', "hj212.timezone: unknown time zone"),
        ("[hj212]\nmax_invalid_bytes = 100\n", "hj212.max_invalid_bytes: must be within"),
        ("[hj212]\nidle_timeout_s = 0\n", "hj212.idle_timeout_s: must be > 0"),
        ('[hj212]\nstore_commands = ["2099"]\n', "hj212.store_commands: unknown value '2099'"),
        ('[hj212]\nstore_flags = ["X"]\n', "hj212.store_flags: unknown value 'X'"),
        ("[hj212]\nlisten = 1\n", "hj212.listen: unknown key"),
        ('[hj212.logger."M N"]\npw = "1"\n', "hj212.logger.M N: MN 'M N' must be 1-24"),
        (
            '[hj212.logger.MN1]\nmeters = { a21026 = "x" }\n',
            "hj212.logger.MN1: set exactly one of pw or pw_secret",
        ),
        (
            '[hj212.logger.MN1]\npw = "1"\npw_secret = "X"\nmeters = { a21026 = "x" }\n',
            "hj212.logger.MN1: set exactly one of pw or pw_secret",
        ),
        (
            '[hj212.logger.MN1]\npw_secret = "NOT_SET_HERE"\nmeters = { a21026 = "x" }\n',
            "hj212.logger.MN1.pw_secret: secret not set: export SMARTPARK_NOT_SET_HERE",
        ),
        ('[hj212.logger.MN1]\npw = "1"\n', "hj212.logger.MN1.meters: must be a table"),
        (
            '[hj212.logger.MN1]\npw = "1"\nmeters = { a99999 = "x" }\n',
            "hj212.logger.MN1.meters.a99999: unknown pollutant code 'a99999' (known: ",
        ),
        (
            '[hj212.logger.MN1]\npw = "1"\nmeters = { a21026 = "Bad Id" }\n',
            "hj212.logger.MN1.meters.a21026: invalid meter id 'Bad Id'",
        ),
        (
            '[hj212.logger.MN1]\npw = "1"\nmeters = { a21026 = "x", "02" = "x" }\n',
            "hj212.logger.MN1.meters.02: meter 'x' is already fed by MN1.a21026",
        ),
        (
            '[hj212.logger.MN1]\npw = "1"\nmeters = { a21026 = "x" }\nunits = { a21026 = "kg" }\n',
            "hj212.logger.MN1.units.a21026: unit 'kg' not accepted for so2",
        ),
        (
            '[hj212.logger.MN1]\npw = "1"\nmeters = { a21026 = "x" }\n'
            'units = { a00000 = "m3/h" }\n',
            "hj212.logger.MN1.units.a00000: code 'a00000' is not in this logger's meters",
        ),
    ],
)
def test_errors_name_their_path(text: str, problem: str) -> None:
    config, problems = parse(text)
    assert config is None
    assert any(p.startswith(problem) for p in problems), problems


def test_every_problem_at_once() -> None:
    text = '[hj212]\nport = -1\nmax_connections = 0\n[hj212.logger.MN1]\npw = ""\n'
    config, problems = parse(text)
    assert config is None
    assert len(problems) == 4, problems  # port, max_connections, pw, meters


def test_unit_override_is_used() -> None:
    text = '[hj212.logger.MN1]\npw = "1"\nmeters = { B02 = "f" }\nunits = { B02 = "m3/h" }\n'
    config, problems = parse(text)
    assert problems == []
    assert config is not None
    assert config.loggers["MN1"].unit("B02") == "m3/h"


def test_not_a_table() -> None:
    checker = Checker()
    bad: Any = 3
    assert parse_hj212(checker, bad) is None
    assert checker.problems == ["hj212: must be a table ([hj212])"]
