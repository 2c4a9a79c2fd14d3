"""``dual_control_projection``: a target's year-end projection above its budget, by hand.

The zone of tests/analytics/dualcontrol/zone.py: enterprise e1 at constant hourly rates
within each month, so a month's energy (tce) is ``hours × shape × 0.24433``; 2025 and
2026 have the same hours per month. Last year (2025) is complete, so at the close of
month m of 2026 the projection is ``last_year_shape``:

    P(m) = ytd_2026(m) × (1 + rest_2025(m) / ytd_2025(m)) = ytd_2026(m) × total_2025 / ytd_2025(m)

With the shapes, P / total_2025 is 1.0525 (February), 1.0565 (March), 1.0787 (April),
1.0678 (May) and 1.0599 (June). The budget is 3,270 tce with a 2 % margin: the line,
3,335.4 tce, is 1.0702 × total_2025 (3,116.7 tce), so April's close fires and May's
resolves. Each close is evaluated an hour after the month's end (SETTLE_MS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartpark.analytics.alerts import rules as rules_mod
from smartpark.analytics.alerts.conditions import RegistryArrays
from smartpark.analytics.alerts.delivery import Deliverer
from smartpark.analytics.alerts.evaluate import Evaluator
from smartpark.analytics.alerts.projections import SETTLE_MS, month_closes
from smartpark.analytics.alerts.state import AlertState
from smartpark.core import registry as registry_mod
from smartpark.core.errors import ConfigError
from smartpark.core.registry import Registry
from smartpark.core.urls import parse_store_url
from smartpark.store.base import Store
from smartpark.store.open import open_store
from smartpark.testing.servers import Influxd
from tests.analytics.alerts.receiver import Receiver
from tests.analytics.dualcontrol.zone import REGISTRY, TZ, energy, write_readings, write_zone

MIN = 60_000
BUDGET = 3_270.0  # tce
MARGIN = 2.0  # %
LINE = BUDGET * (1 + MARGIN / 100)
TARGETS = f"""
[[target]]
scope = "enterprise"
id = "e1"
year = 2026
energy_tce = {BUDGET}

[[target]]
scope = "park"
id = "p1"
year = 2026
energy_tce = 9000
"""
RULE = {
    "kind": "dual_control_projection",
    "margin": MARGIN,
    "severity": "critical",
    "channels": ["hook"],
}
SECRET = "s3cret-for-tests"


def close_ms(year: int, month: int) -> int:
    """When the close of the month before ``year-month`` is evaluated (plus 15 minutes)."""
    midnight = dt.datetime(year, month, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(midnight.timestamp() * 1000) + SETTLE_MS + 15 * MIN


def projection(month: int) -> float:
    """P(month) of the module docstring, from the hand formula of zone.py."""
    ytd = sum(energy(2026, m) for m in range(1, month + 1))
    last = [energy(2025, m) for m in range(1, 13)]
    return ytd * (1 + sum(last[month:]) / sum(last[:month]))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


class Zone:
    """The zone's files, a store with its readings since ``first_year``, the state file."""

    def __init__(self, folder: Path, url: str, targets: str, first_year: int) -> None:
        self.folder = folder
        self.reg: Registry = write_zone(folder, targets)
        self.store: Store = open_store(parse_store_url(url), self.reg)
        write_readings(self.store, self.reg, first_year)
        self.state_path = folder / "alerts.db"
        (folder / "hook.secret").write_text(SECRET + "\n")

    def rules(self, receiver: Receiver, **rule: Any) -> rules_mod.RuleSet:
        hook = {"kind": "webhook", "url": receiver.url, "secret_file": "hook.secret"}
        doc = {"channel": {"hook": hook}, "rule": {"budget": {**RULE, **rule}}}
        return rules_mod.from_dict(doc, self.reg, base=self.folder)

    def evaluate(self, ruleset: rules_mod.RuleSet, now_ms: int) -> tuple[int, int, int]:
        """(firing, resolved, messages) of one run at ``now_ms``."""
        with AlertState(self.state_path) as state:
            run = Evaluator(RegistryArrays(self.reg), ruleset, self.store, state).run_once(now_ms)
        return (run.firing, run.resolved, run.messages)


@pytest.fixture
def zone(tmp_path: Path) -> Iterator[Zone]:
    z = Zone(tmp_path / "zone", f"sqlite:///{tmp_path / 'park.db'}", TARGETS, 2025)
    yield z
    z.store.close()


def test_the_projection_crossing_the_budget_fires_once_through_a_refusing_receiver(
    zone: Zone, receiver: Receiver
) -> None:
    total_2025 = sum(energy(2025, m) for m in range(1, 13))
    assert total_2025 == pytest.approx(12_756 * 0.24433, rel=1e-12)
    # Σ shape × hours of 2026 over 2025, February to June.
    ratios = [2980.8 / 2832, 4171.2 / 3948, 5035.2 / 4668, 5779.2 / 5412, 6499.2 / 6132]
    assert [projection(m) / total_2025 for m in (2, 3, 4, 5, 6)] == pytest.approx(ratios)
    assert projection(3) < LINE < projection(4)
    assert projection(5) < LINE
    ruleset = zone.rules(receiver)
    assert (ruleset.rules["budget"].budget, ruleset.rules["budget"].margin) == ("energy_tce", 2.0)
    receiver.status = 503  # the receiver refuses at first

    # First run: the last 24 hours hold February's close; then March's, caught up.
    assert zone.evaluate(ruleset, close_ms(2026, 3)) == (0, 0, 0)
    assert zone.evaluate(ruleset, close_ms(2026, 4)) == (0, 0, 0)
    # April's close: above the line.
    after_april = close_ms(2026, 5)
    assert zone.evaluate(ruleset, after_april) == (1, 0, 1)
    with AlertState(zone.state_path) as state:
        deliverer = Deliverer(state, ruleset.channels)
        assert deliverer.deliver_due(after_april).failed == 1
        assert deliverer.deliver_due(after_april + 10 * MIN).failed == 1
        receiver.status = 200
        assert deliverer.deliver_due(after_april + 30 * MIN).delivered == 1
        assert deliverer.deliver_due(after_april + 60 * MIN).delivered == 0
        deliverer.close()
    # Evaluated again (a restart, the same instant, or a little later): nothing new.
    assert zone.evaluate(ruleset, after_april) == (0, 0, 0)
    assert zone.evaluate(ruleset, after_april + 60 * MIN) == (0, 0, 0)

    # May's close: back within; June's: still within.
    after_may = close_ms(2026, 6)
    assert zone.evaluate(ruleset, after_may) == (0, 1, 1)
    assert zone.evaluate(ruleset, close_ms(2026, 7)) == (0, 0, 0)
    with AlertState(zone.state_path) as state:
        deliverer = Deliverer(state, ruleset.channels)
        assert deliverer.deliver_due(after_may).delivered == 1
        assert deliverer.deliver_due(after_may + 60 * MIN).delivered == 0
        deliverer.close()
        assert state.all_active() == []

    assert [r.status for r in receiver.requests] == [503, 503, 200, 200]
    firing, resolved = (r.json() for r in receiver.accepted)
    assert {k: firing[k] for k in ("rule", "state", "severity", "scope", "id", "unit")} == {
        "rule": "budget",
        "state": "firing",
        "severity": "critical",
        "scope": "enterprise",
        "id": "e1",
        "unit": "tce",
    }
    assert (firing["year"], firing["budget"], firing["method"]) == (2026, BUDGET, "last_year_shape")
    assert firing["projection"] == pytest.approx(projection(4), rel=1e-9)
    assert firing["value"] == pytest.approx(projection(4), rel=1e-9)
    assert firing["gap"] == pytest.approx(projection(4) - BUDGET, rel=1e-9)
    assert firing["threshold"] == pytest.approx(LINE, rel=1e-12)
    assert (firing["starts_at"], firing["ends_at"]) == ("2026-04-01T00:00:00+08:00", None)
    # The resolve: the month that came back within; ``value`` stays the last one firing.
    assert resolved["state"] == "resolved"
    assert resolved["fingerprint"] == firing["fingerprint"]
    assert resolved["ends_at"] == "2026-05-01T00:00:00+08:00"
    assert resolved["value"] == pytest.approx(projection(4), rel=1e-9)
    assert resolved["projection"] == pytest.approx(projection(5), rel=1e-9)
    assert resolved["gap"] == pytest.approx(projection(5) - BUDGET, rel=1e-9)


def test_the_same_close_through_a_real_influxd(
    tmp_path: Path, receiver: Receiver, influxd: Influxd, influx_db: str
) -> None:
    """April's close alone (a first run looks 24 hours back), from InfluxDB readings."""
    zone = Zone(tmp_path / "zone", influxd.store_url(influx_db), TARGETS, 2025)
    try:
        ruleset = zone.rules(receiver)
        assert zone.evaluate(ruleset, close_ms(2026, 5)) == (1, 0, 1)
        assert zone.evaluate(ruleset, close_ms(2026, 5)) == (0, 0, 0)
        with AlertState(zone.state_path) as state:
            (firing,) = state.events()
            deliverer = Deliverer(state, ruleset.channels)
            assert deliverer.deliver_due(close_ms(2026, 5)).delivered == 1
            deliverer.close()
    finally:
        zone.store.close()
    assert firing["detail"]["projection"] == pytest.approx(projection(4), rel=1e-9)
    assert (firing["scope"], firing["id"], firing["state"]) == ("enterprise", "e1", "firing")
    (received,) = receiver.accepted
    assert received.json()["fingerprint"] == firing["fingerprint"]


def test_a_year_without_a_target_has_nothing_to_exceed(tmp_path: Path, receiver: Receiver) -> None:
    """2025's budget below its actual fires at December's close (the projection of a
    past year is its actual; 2024 is incomplete, hence the run rate); January 2026 has
    no target, so the alert resolves at its close."""
    targets = '[[target]]\nscope = "enterprise"\nid = "e1"\nyear = 2025\nenergy_tce = 3000\n'
    zone = Zone(tmp_path / "zone", f"sqlite:///{tmp_path / 'park.db'}", targets, 2025)
    try:
        ruleset = zone.rules(receiver, margin=0)
        assert zone.evaluate(ruleset, close_ms(2026, 1)) == (1, 0, 1)
        assert zone.evaluate(ruleset, close_ms(2026, 2)) == (0, 1, 1)
        with AlertState(zone.state_path) as state:
            firing, resolved = state.events()
    finally:
        zone.store.close()
    total_2025 = sum(energy(2025, m) for m in range(1, 13))
    assert firing["detail"] == {
        "year": 2025,
        "budget": 3000.0,
        "projection": pytest.approx(total_2025, rel=1e-9),
        "method": "run_rate",
        "gap": pytest.approx(total_2025 - 3000, rel=1e-9),
    }
    assert firing["starts_at"] == "2025-12-01T00:00:00+08:00"
    assert resolved["ends_at"] == "2026-01-01T00:00:00+08:00"
    assert resolved["detail"] == {
        "year": 2026,
        "budget": None,
        "projection": None,
        "method": None,
        "gap": None,
    }


def test_month_closes_are_local_months() -> None:
    def ms(year: int, month: int, day: int) -> int:
        local = dt.datetime(year, month, day, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        return int(local.timestamp() * 1000)

    assert month_closes(TZ, ms(2026, 1, 15), ms(2026, 3, 1)) == [
        (ms(2026, 1, 1), ms(2026, 2, 1), dt.date(2026, 2, 1)),
        (ms(2026, 2, 1), ms(2026, 3, 1), dt.date(2026, 3, 1)),
    ]
    assert month_closes(TZ, ms(2026, 3, 1), ms(2026, 3, 31)) == []
    assert month_closes(TZ, ms(2026, 12, 31), ms(2027, 1, 1)) == [
        (ms(2026, 12, 1), ms(2027, 1, 1), dt.date(2027, 1, 1))
    ]


def registry_file(folder: Path, targets: str | None) -> Registry:
    folder.mkdir(parents=True, exist_ok=True)
    text = REGISTRY
    if targets is None:
        text = text.replace('dual_control = "targets.toml"\n', "")
    else:
        (folder / "targets.toml").write_text(targets, encoding="utf-8")
    (folder / "registry.toml").write_text(text, encoding="utf-8")
    return registry_mod.load(folder / "registry.toml")


def problems(reg: Registry, **rule: Any) -> list[str]:
    doc = {
        "channel": {"hook": {"kind": "slack", "url": "https://hooks.example/x"}},
        "rule": {"r": {"kind": "dual_control_projection", "channels": ["hook"], **rule}},
    }
    with pytest.raises(ConfigError) as info:
        rules_mod.from_dict(doc, reg)
    return info.value.problems


def test_a_zone_without_a_targets_file_is_an_error(tmp_path: Path) -> None:
    reg = registry_file(tmp_path, None)
    assert problems(reg) == [
        "rule.r.kind: zone 'z1' names no dual-control targets file: set dual_control = "
        f'"targets.toml" under [zone.z1] in {tmp_path / "registry.toml"} (docs/dualcontrol.md)'
    ]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"margin": -1}, "rule.r.margin: must be >= 0, got -1"),
        ({"margin": "5%"}, "rule.r.margin: must be a number, got '5%'"),
        (
            {"budget": "renewable_share_min"},
            "rule.r.budget: must be one of energy_tce, co2_t, energy_intensity, "
            "co2_intensity, got 'renewable_share_min'",
        ),
        ({"zone": "nowhere"}, "rule.r.zone: unknown zone 'nowhere'"),
        ({"park": "p1"}, "rule.r.park: a dual-control rule watches every target"),
        ({"meter": "e1-gas"}, "rule.r.meter: a dual-control rule watches every target"),
        ({"level": 3}, "rule.r.level: unknown key"),
    ],
)
def test_invalid_rules_name_the_field(tmp_path: Path, rule: dict[str, Any], problem: str) -> None:
    (found,) = problems(registry_file(tmp_path, TARGETS), **rule)
    assert found.startswith(problem), found


def test_a_targets_file_that_does_not_load_is_an_error(tmp_path: Path) -> None:
    bad = '[[target]]\nscope = "enterprise"\nid = "e1"\nyear = 2026\nenergy_tce = -5\n'
    reg = registry_file(tmp_path, bad)
    assert problems(reg, zone="z1") == [
        f"rule.r.zone: the targets file of zone 'z1' does not load: {tmp_path / 'targets.toml'}: "
        "target[1].energy_tce: must be >= 0, got -5"
    ]
