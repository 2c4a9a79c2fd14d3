"""``product_limit``: a product above its limit level, from the product KPIs in SQLite.

A clinker line (GB 16780-2021, level 1/2/3 = 100/107/117 kgce/t; at 1,000 m there is no
altitude correction) with a metered output counter and constant hourly rates, so every
month's unit energy follows by hand:

* electricity 5,500 kWh/h x 0.0001229 tce/kWh = 0.67595 tce/h
* coal 16 t/h x 0.7143 tce/t = 11.4288 tce/h; 14 t/h: 10.0002 tce/h
* clinker 100 t/h

November (16 t/h of coal): 1000 x (0.67595 + 11.4288) / 100 = 121.0475 kgce/t, above
the limit (level 4); December (14 t/h): 106.7615 kgce/t, level 2. The KPI job writes
the product rows, as ``smartpark kpi`` does; the alert evaluator reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.alerts import rules as rules_mod
from smartpark.analytics.alerts.state import AlertState
from smartpark.analytics.jobs import kpi_job
from smartpark.core.errors import ConfigError
from smartpark.core.registry import Registry, from_dict
from smartpark.store.base import ReadingColumns
from tests.analytics.alerts.conftest import HOUR, MIN, Park, park_registry
from tests.analytics.alerts.receiver import Receiver

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def local_ms(year: int, month: int, day: int = 1) -> int:
    return int(dt.datetime(year, month, day, tzinfo=SHANGHAI).timestamp() * 1000)


OCT31, NOV, DEC, JAN = (
    local_ms(2026, 10, 31),
    local_ms(2026, 11),
    local_ms(2026, 12),
    local_ms(2027, 1),
)
EL_KWH_H, COAL_T_H, CLINKER_T_H = 5_500.0, {"above": 16.0, "meets": 14.0}, 100.0
NOV_KGCE_T = 1000 * (EL_KWH_H * 0.0001229 + 16.0 * 0.7143) / CLINKER_T_H  # 121.0475
DEC_KGCE_T = 1000 * (EL_KWH_H * 0.0001229 + 14.0 * 0.7143) / CLINKER_T_H  # 106.7615


def clinker_doc() -> dict[str, Any]:
    meter = {"enterprise": "cement-a", "gateway": "gw", "interval_s": 3600}
    return {
        "zone": {"z": {"name": "Zone", "timezone": "Asia/Shanghai"}},
        "park": {"p1": {"zone": "z", "name": "Park 1"}},
        "enterprise": {"cement-a": {"park": "p1", "name": "Cement A"}},
        "gateway": {"gw": {"park": "p1"}},
        "meter": {
            "cement-a-el": {**meter, "quantity": "electricity_import"},
            "cement-a-coal": {**meter, "quantity": "coal"},
            "cement-a-out": {**meter, "quantity": "product_output"},
        },
        "product": {
            "cement-a-clinker": {
                "enterprise": "cement-a",
                "name": "Clinker",
                "standard": "GB 16780-2021",
                "category": "clinker",
                "output_meter": "cement-a-out",
                "inputs": {"altitude_m": 1000},
            }
        },
    }


def clinker_registry() -> Registry:
    return from_dict(clinker_doc())


def write_months(park: Park, rates: dict[int, tuple[float, float]]) -> None:
    """Hourly registers from 31 October to 2 January; ``rates``: from each month's start,
    (coal t/h, clinker t/h) in the hours ending after it."""
    ts = np.arange(OCT31, JAN + 24 * HOUR + 1, HOUR, dtype=np.int64)
    starts = sorted(rates)
    which = np.clip(np.searchsorted(starts, ts[1:], side="left") - 1, 0, None)
    coal_h = np.array([rates[starts[k]][0] for k in which.tolist()])
    out_h = np.array([rates[starts[k]][1] for k in which.tolist()])
    series = {
        "cement-a-el": EL_KWH_H * np.arange(ts.size, dtype=np.float64),
        "cement-a-coal": np.concatenate([[0.0], np.cumsum(coal_h)]),
        "cement-a-out": np.concatenate([[0.0], np.cumsum(out_h)]),
    }
    code = park.reg.meter_code
    park.write(
        ReadingColumns(
            np.concatenate([np.full(ts.size, code[m], np.int32) for m in series]),
            np.concatenate([ts] * len(series)),
            np.concatenate(list(series.values())),
        )
    )


def write_kpis(park: Park, start_ms: int, end_ms: int, period: Any = "month") -> None:
    """The product KPI rows, as ``smartpark kpi`` writes them after the period."""
    assert kpi_job(park.store, park.reg, start_ms, end_ms, [period], write=True).written > 0


@pytest.fixture
def clinker(tmp_path: Path, receiver: Receiver) -> Iterator[Park]:
    p = Park(tmp_path, receiver, clinker_registry())
    yield p
    p.store.close()


def after_november_then_december(
    park: Park, ruleset: rules_mod.RuleSet, state: AlertState
) -> list[tuple[str, str]]:
    """Evaluated after November's end, then after December's (catching up the month):
    (rule, state) of every event."""
    evaluator = park.evaluator(ruleset, state)
    evaluator.run_once(DEC + 15 * MIN)
    evaluator.run_once(JAN + 15 * MIN)
    return [(e["rule"], e["state"]) for e in state.events()]


RULE = {"kind": "product_limit", "severity": "critical", "channels": ["hook"]}
ABOVE, MEETS = (COAL_T_H["above"], CLINKER_T_H), (COAL_T_H["meets"], CLINKER_T_H)


def test_above_the_limit_fires_once_and_resolves_when_a_month_meets_it(clinker: Park) -> None:
    assert pytest.approx(121.0475, abs=1e-9) == NOV_KGCE_T
    assert pytest.approx(106.7615, abs=1e-9) == DEC_KGCE_T
    write_months(clinker, {NOV: ABOVE, DEC: MEETS})
    ruleset = clinker.rules({"clinker-limit": RULE})
    rule = ruleset.rules["clinker-limit"]
    assert (rule.period, rule.level) == ("month", 3)
    clinker.receiver.status = 503  # the receiver refuses at first

    write_kpis(clinker, NOV, DEC)
    after_nov = DEC + 15 * MIN
    with AlertState(clinker.state_path) as state:
        run = clinker.evaluator(ruleset, state).run_once(after_nov)
        assert (run.firing, run.resolved, run.messages) == (1, 0, 1)
        deliverer = clinker.deliverer(ruleset, state)
        assert deliverer.deliver_due(after_nov).failed == 1
        assert deliverer.deliver_due(after_nov + 10 * MIN).failed == 1
        clinker.receiver.status = 200
        assert deliverer.deliver_due(after_nov + 30 * MIN).delivered == 1
        assert deliverer.deliver_due(after_nov + 60 * MIN).delivered == 0
        # Evaluated again (a restart, the same instant): nothing new.
        assert clinker.evaluator(ruleset, state).run_once(after_nov).messages == 0

    write_kpis(clinker, DEC, JAN)
    after_dec = JAN + 15 * MIN
    with AlertState(clinker.state_path) as state:
        run = clinker.evaluator(ruleset, state).run_once(after_dec)
        assert (run.firing, run.resolved, run.messages) == (0, 1, 1)
        deliverer = clinker.deliverer(ruleset, state)
        assert deliverer.deliver_due(after_dec).delivered == 1
        assert deliverer.deliver_due(after_dec + HOUR).delivered == 0
        assert state.all_active() == []

    assert [r.status for r in clinker.receiver.requests] == [503, 503, 200, 200]
    firing, resolved = (r.json() for r in clinker.receiver.accepted)
    assert (firing["rule"], firing["state"], firing["scope"], firing["id"]) == (
        "clinker-limit",
        "firing",
        "product",
        "cement-a-clinker",
    )
    assert firing["value"] == pytest.approx(NOV_KGCE_T)
    assert (firing["threshold"], firing["unit"]) == (117.0, "kgce/t")
    assert firing["starts_at"] == "2026-11-01T00:00:00+08:00"
    assert firing["ends_at"] is None
    assert resolved["state"] == "resolved"
    assert resolved["ends_at"] == "2026-12-01T00:00:00+08:00"
    assert resolved["fingerprint"] == firing["fingerprint"]


def test_level_sets_the_line(clinker: Park) -> None:
    """``level = 1``: worse than 100 kgce/t fires; December (106.76, level 2) keeps it."""
    write_months(clinker, {NOV: ABOVE, DEC: MEETS})
    write_kpis(clinker, NOV, JAN)
    ruleset = clinker.rules({"advanced": {**RULE, "level": 1}, "limit": RULE})
    with AlertState(clinker.state_path) as state:
        events = after_november_then_december(clinker, ruleset, state)
        (active,) = state.all_active()
    assert events == [("advanced", "firing"), ("limit", "firing"), ("limit", "resolved")]
    assert (active.rule, active.id, active.status) == ("advanced", "cement-a-clinker", "firing")
    assert active.value == pytest.approx(DEC_KGCE_T)  # the latest value while firing
    assert active.threshold == 100.0


def test_a_month_without_output_neither_fires_nor_resolves(clinker: Park) -> None:
    # November above; December's counter stands still (no output: no unit value) while
    # the kiln burns coal at the above rate.
    write_months(clinker, {NOV: ABOVE, DEC: (COAL_T_H["above"], 0.0)})
    write_kpis(clinker, NOV, JAN)
    ruleset = clinker.rules({"clinker-limit": RULE})
    with AlertState(clinker.state_path) as state:
        events = after_november_then_december(clinker, ruleset, state)
        (active,) = state.all_active()
    assert events == [("clinker-limit", "firing")]
    assert active.status == "firing"
    assert active.value == pytest.approx(NOV_KGCE_T)
    rows = clinker.store.read_kpis(DEC, JAN, "product", "month", kpis=["benchmark_value"])
    assert rows == []  # missing, not 0 and not infinite


def test_a_month_without_output_does_not_fire(clinker: Park) -> None:
    write_months(clinker, {NOV: (COAL_T_H["above"], 0.0), DEC: MEETS})
    write_kpis(clinker, NOV, DEC)
    ruleset = clinker.rules({"clinker-limit": RULE})
    with AlertState(clinker.state_path) as state:
        run = clinker.evaluator(ruleset, state).run_once(DEC + 15 * MIN)
        assert (run.firing, run.steps) == (0, 4)
        assert state.events() == []


def test_daily_rule_on_metered_output(clinker: Park) -> None:
    write_months(clinker, {NOV: ABOVE, DEC: MEETS})
    write_kpis(clinker, NOV, DEC, "day")
    ruleset = clinker.rules({"daily": {**RULE, "period": "day"}})
    with AlertState(clinker.state_path) as state:
        # First run: the last 24 hours, so the day of 30 November.
        run = clinker.evaluator(ruleset, state).run_once(DEC + 15 * MIN)
        assert run.firing == 1
        (firing,) = state.events()
    assert firing["value"] == pytest.approx(NOV_KGCE_T)
    assert firing["starts_at"] == "2026-11-30T00:00:00+08:00"


def test_filters_select_products(clinker: Park) -> None:
    write_months(clinker, {NOV: ABOVE, DEC: MEETS})
    write_kpis(clinker, NOV, DEC)
    ruleset = clinker.rules(
        {
            "by-product": {**RULE, "product": ["cement-a-clinker"]},
            "by-zone": {**RULE, "zone": "z"},
            "by-enterprise": {**RULE, "enterprise": "cement-a", "park": "p1"},
        }
    )
    with AlertState(clinker.state_path) as state:
        run = clinker.evaluator(ruleset, state).run_once(DEC + 15 * MIN)
    assert run.per_rule == {"by-product": 1, "by-zone": 1, "by-enterprise": 1}


def rules_doc(**rule: Any) -> dict[str, Any]:
    return {
        "channel": {"hook": {"kind": "slack", "url": "https://hooks.example/x"}},
        "rule": {"r": {"kind": "product_limit", "channels": ["hook"], **rule}},
    }


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"product": "cement-b-clinker"}, "rule.r.product: unknown product 'cement-b-clinker'"),
        ({"level": 4}, "rule.r.level: must be 1, 2 or 3"),
        ({"level": 0}, "rule.r.level: must be 1, 2 or 3"),
        ({"level": "3"}, "rule.r.level: must be 1, 2 or 3"),
        ({"level": True}, "rule.r.level: must be 1, 2 or 3"),
        ({"period": "year"}, "rule.r.period: must be one of month, day, got 'year'"),
        ({"zone": "nowhere"}, "rule.r.zone: unknown zone 'nowhere'"),
        ({"meter": "cement-a-el"}, "rule.r.meter: a product rule applies to products, not meters"),
        ({"kpi": "energy_tce"}, "rule.r.kpi: unknown key"),
    ],
)
def test_invalid_product_rules_name_the_field(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        rules_mod.from_dict(rules_doc(**rule), clinker_registry())
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(problem)


def test_a_registry_without_products_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        rules_mod.from_dict(rules_doc(), park_registry())
    assert info.value.problems == [
        "rule.r.kind: the registry defines no products: add [product.ID] tables "
        "(docs/registry.md, Products) or drop this rule"
    ]


def test_filters_that_select_no_product_are_an_error() -> None:
    doc = rules_doc(enterprise="cement-a")
    reg = clinker_registry()
    assert rules_mod.from_dict(doc, reg).rules["r"].filters.products_of(reg) == (
        "cement-a-clinker",
    )
    with_idle = clinker_doc()
    with_idle["enterprise"]["idle"] = {"park": "p1", "name": "Idle"}
    with pytest.raises(ConfigError) as info:
        rules_mod.from_dict(rules_doc(enterprise="idle"), from_dict(with_idle))
    assert info.value.problems == [
        "rule.r: its park, zone, enterprise and product filters select no product "
        "(the registry's products: cement-a-clinker)"
    ]
