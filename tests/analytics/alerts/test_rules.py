"""The rules file: the example loads, an invalid file lists every error with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartpark.analytics.alerts import rules
from smartpark.core import registry
from smartpark.core.errors import ConfigError
from tests.analytics.alerts.conftest import park_registry

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_example_rules_load_against_example_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = registry.load(EXAMPLES / "registry.toml")
    monkeypatch.setenv("SMARTPARK_OPS_URL", "https://oapi.dingtalk.com/robot/send?access_token=x")
    monkeypatch.setenv("SMARTPARK_OPS_SECRET", "SECabc")
    ruleset = rules.load(EXAMPLES / "rules.toml", reg, resolve_secrets=False)
    assert set(ruleset.rules) >= {"nox-limit", "carbon-day", "meter-stale", "gateway-down"}
    nox = ruleset.rules["nox-limit"]
    assert (nox.kind, nox.quantity, nox.severity, nox.channels) == (
        "pollutant_limit",
        "nox",
        "critical",
        ("ops", "audit"),
    )
    assert ruleset.rules["so2-limit-petrochem"].for_ms == 2 * 3_600_000
    assert ruleset.rules["so2-limit-petrochem"].filters.parks == frozenset({"petrochem"})


def test_secrets_come_from_env_and_files_and_stay_out_of_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_URL", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY123")
    monkeypatch.setenv("MY_SECRET", "SECsecret-value")
    (tmp_path / "audit.secret").write_text("file-secret\n")
    ruleset = rules.from_dict(
        {
            "channel": {
                "w": {"kind": "wecom", "url_env": "MY_URL"},
                "d": {"kind": "dingtalk", "url": "https://d.example/x", "secret_env": "MY_SECRET"},
                "a": {
                    "kind": "webhook",
                    "url": "https://a.example/",
                    "secret_file": "audit.secret",
                },
            },
            "rule": {
                "r": {"kind": "stale_meter", "intervals": 3, "channels": ["w", "d", "a"]},
            },
        },
        park_registry(),
        base=tmp_path,
    )
    assert "KEY123" in str(ruleset.channels["w"].url)
    assert ruleset.channels["d"].secret == "SECsecret-value"
    assert ruleset.channels["a"].secret == "file-secret"
    text = repr(ruleset)
    for secret in ("KEY123", "SECsecret-value", "file-secret"):
        assert secret not in text


BAD = """
unknown = 1

[channel.ops]
kind = "telegram"
url = "ftp://x"

[channel.hook]
kind = "webhook"
url = "https://h.example/"

[channel.noenv]
kind = "dingtalk"
url_env = "SMARTPARK_SURELY_UNSET_URL"

[rule.a]
kind = "pollutant_limit"
quantity = "noxx"
channels = ["nope"]
severity = "fatal"
for = "ten minutes"

[rule.b]
kind = "kpi_threshold"
kpi = "carbon_per_enrgy"
scope = "galaxy"
period = "day"
channels = ["hook"]

[rule.c]
kind = "stale_meter"
channels = ["hook"]
park = "atlantis"
colour = "red"

[rule.d]
kind = "completeness"
below = 1.5
channels = []

[rule.e]
kind = "gateway_offline"
minutes = "ten"
channels = ["hook"]

[rule.f]
kind = "rate_of_change"
quantity = "active_power"
above = 1.0
below = 5.0
channels = ["hook"]

[rule.Bad_Id]
kind = "stale_meter"
intervals = 1
channels = ["hook"]
"""


def test_invalid_rules_file_lists_every_error_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as info:
        rules.load(path, park_registry())
    problems = info.value.problems
    expected = [
        "unknown: unknown section",
        "channel.ops.kind: must be one of webhook, dingtalk, wecom, feishu, slack, got 'telegram'",
        "channel.ops.url: must be an http:// or https:// URL",
        "channel.hook: a webhook channel needs secret_env or secret_file",
        "channel.noenv.url_env: environment variable SMARTPARK_SURELY_UNSET_URL is not set",
        "rule.a.severity: must be one of info, warning, critical, got 'fatal'",
        "rule.a.channels: unknown channel 'nope'",
        "rule.a.for: not a duration: 'ten minutes'",
        "rule.a.quantity: unknown pollutant 'noxx'",
        "rule.b.kpi: unknown KPI 'carbon_per_enrgy'",
        "rule.b.scope: must be one of enterprise, park, zone, got 'galaxy'",
        "rule.b: set above, below or both",
        "rule.c.colour: unknown key 'colour'",
        "rule.c.park: unknown park 'atlantis'",
        "rule.c.intervals: missing required key",
        "rule.d.channels: must be a non-empty list of channel ids",
        "rule.d.below: must be within [0.0, 1.0], got 1.5",
        "rule.e.minutes: must be a number, got 'ten'",
        "rule.f.below: must be less than above (1.0), got 5.0",
        "rule.Bad_Id: invalid id 'Bad_Id'",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert len(problems) == len(expected), problems
    # The URL of a channel may hold a key: it is never echoed.
    assert not any("ftp://x" in p for p in problems)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read rules file"):
        rules.load(tmp_path / "missing.toml", park_registry())
    (tmp_path / "bad.toml").write_text("[rule\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        rules.load(tmp_path / "bad.toml", park_registry())


@pytest.mark.parametrize(
    ("text", "ms"),
    [("90s", 90_000), ("15m", 900_000), ("2h", 7_200_000), ("1d", 86_400_000), (30, 30_000)],
)
def test_durations(text: object, ms: int) -> None:
    assert rules.parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "5", "-1m", "1w", True, -3, 1.5])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        rules.parse_duration(text)


def test_target_lines_need_a_park_scope_and_a_target(tmp_path: Path) -> None:
    base = {"kind": "kpi_threshold", "period": "day", "channels": ["hook"]}
    doc = {
        "channel": {"hook": {"kind": "slack", "url": "https://hooks.example/x"}},
        "rule": {
            "ok": {**base, "kpi": "energy_tce", "scope": "park", "above": "target"},
            "ent": {**base, "kpi": "energy_tce", "scope": "enterprise", "above": "target"},
            "none": {**base, "kpi": "water_reuse_rate", "scope": "park", "below": "target"},
        },
    }
    with pytest.raises(ConfigError) as info:
        rules.from_dict(doc, park_registry(), base=tmp_path)
    assert info.value.problems == [
        'rule.ent.above: a "target" line needs scope = "park"',
        "rule.none.below: no park of the registry has a target for water_reuse_rate "
        "([park.ID.targets] water_reuse_rate = ...)",
    ]
    del doc["rule"]["ent"], doc["rule"]["none"]  # type: ignore[attr-defined]
    assert rules.from_dict(doc, park_registry(), base=tmp_path).rules["ok"].target == "above"
