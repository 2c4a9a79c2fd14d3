"""A small park in a real SQLite store, a real HTTP receiver, and helpers to write readings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.analytics.alerts import rules as rules_mod
from smartpark.analytics.alerts.conditions import RegistryArrays
from smartpark.analytics.alerts.delivery import Deliverer
from smartpark.analytics.alerts.evaluate import Evaluator
from smartpark.analytics.alerts.state import AlertState
from smartpark.core.registry import Registry, from_dict
from smartpark.store.base import ReadingColumns
from smartpark.store.sqlite import SqliteStore
from tests.analytics.alerts.receiver import Receiver

# Midnight in Shanghai: local hours are whole UTC hours.
T0 = int(dt.datetime(2026, 11, 20, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)
MIN = 60_000
HOUR = 3_600_000
SECRET = "s3cret-for-tests"


def park_registry(stale_meters: int = 0) -> Registry:
    meters: dict[str, dict[str, Any]] = {
        "e1-nox": {
            "enterprise": "e1",
            "gateway": "g1",
            "quantity": "nox",
            "stack": "boiler",
            "o2_ref": 3.5,
        },
        "e1-o2": {"enterprise": "e1", "gateway": "g1", "quantity": "o2", "stack": "boiler"},
        "e1-power": {"enterprise": "e1", "gateway": "g1", "quantity": "active_power"},
        "e2-power": {"enterprise": "e2", "gateway": "g2", "quantity": "active_power"},
    }
    for k in range(stale_meters):
        meters[f"e2-flow-{k:03d}"] = {"enterprise": "e2", "gateway": "g3", "quantity": "water_flow"}
    return from_dict(
        {
            "zone": {"z": {"name": "Zone", "timezone": "Asia/Shanghai"}},
            "park": {
                "p1": {
                    "zone": "z",
                    "name": "Park 1",
                    "limits": {"nox": 100.0},
                    "targets": {"energy_tce": 10.0},
                },
                "p2": {"zone": "z", "name": "Park 2"},
            },
            "enterprise": {"e1": {"park": "p1", "name": "E1"}, "e2": {"park": "p2", "name": "E2"}},
            "gateway": {"g1": {"park": "p1"}, "g2": {"park": "p2"}, "g3": {"park": "p2"}},
            "meter": meters,
        }
    )


def readings(reg: Registry, meter: str, ts: np.ndarray, value: np.ndarray) -> ReadingColumns:
    code = reg.meter_code[meter]
    return ReadingColumns(
        np.full(ts.size, code, np.int32), ts.astype(np.int64), value.astype(np.float64)
    )


def minutes(start_ms: int, end_ms: int, step_ms: int = MIN) -> np.ndarray:
    return np.arange(start_ms, end_ms, step_ms, dtype=np.int64)


class Park:
    """Registry, store, state file, receiver and a rules file written from a dict."""

    def __init__(self, tmp: Path, receiver: Receiver, reg: Registry) -> None:
        self.tmp = tmp
        self.receiver = receiver
        self.reg = reg
        self.store = SqliteStore(tmp / "store.db", reg)
        self.state_path = tmp / "store.alerts.db"
        (tmp / "hook.secret").write_text(SECRET + "\n")

    def rules(self, rules: dict[str, dict[str, Any]], **channel: Any) -> rules_mod.RuleSet:
        hook = {"kind": "webhook", "url": self.receiver.url, "secret_file": "hook.secret"}
        hook.update(channel)
        return rules_mod.from_dict(
            {"channel": {"hook": hook}, "rule": rules}, self.reg, base=self.tmp
        )

    def write(self, cols: ReadingColumns) -> None:
        self.store.write(cols)

    def evaluator(self, ruleset: rules_mod.RuleSet, state: AlertState) -> Evaluator:
        return Evaluator(RegistryArrays(self.reg), ruleset, self.store, state)

    def deliverer(self, ruleset: rules_mod.RuleSet, state: AlertState) -> Deliverer:
        return Deliverer(state, ruleset.channels)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def park(tmp_path: Path, receiver: Receiver) -> Iterator[Park]:
    p = Park(tmp_path, receiver, park_registry())
    yield p
    p.store.close()
