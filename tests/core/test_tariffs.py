"""Tariff files: the Gansu example loads; every kind of bad input is reported at once."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartpark.core import registry as registry_mod
from smartpark.core import tariffs
from smartpark.core.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GANSU = EXAMPLES / "tariffs-gansu.toml"


def gansu() -> dict[str, Any]:
    return tomllib.loads(GANSU.read_text(encoding="utf-8"))


def check(doc: dict[str, Any]) -> tariffs.TariffBook:
    reg = registry_mod.load(EXAMPLES / "registry.toml")
    owners = {e: ent.park for e, ent in reg.enterprises.items()}
    return tariffs.from_dict(doc, reg.parks, owners, "t.toml")


def test_example_registry_loads_the_gansu_tariffs_with_their_overrides() -> None:
    reg = registry_mod.load(EXAMPLES / "registry.toml")
    book = reg.tariffs
    assert book.tariff_for("chem-a", "petrochem", "electricity_import").id == (  # type: ignore[union-attr]
        "gansu-large-industry"
    )
    assert book.tariff_for("alu-a", "new-materials", "electricity_import").id == (  # type: ignore[union-attr]
        "gansu-large-industry-kva"
    )
    assert book.transformer_kva == {"alu-a": 6300.0}
    assert book.tariff_for("food-a", "coop-enclave", "natural_gas").id == "lanzhou-gas"  # type: ignore[union-attr]
    v = book.tariffs["gansu-large-industry"].versions[0]
    # December: 2 h sharp, 6 h peak, 8 h flat, 8 h valley; March: no sharp, 8 h peak.
    assert np.bincount(v.period_slots(dt.date(2026, 12, 7)), minlength=4).tolist() == [
        8, 24, 32, 32,
    ]  # fmt: skip
    assert np.bincount(v.period_slots(dt.date(2026, 3, 7)), minlength=4).tolist() == [
        0, 32, 32, 32,
    ]  # fmt: skip


def test_every_problem_is_reported_with_its_toml_path_at_once() -> None:
    doc = gansu()
    t = doc["tariff"]["gansu-large-industry"]
    second = copy.deepcopy(t["version"][0])
    t["version"][0]["schedule"][0]["flat"] = ["00:00-02:00", "04:00-07:00", "09:00-11:00"]
    t["version"][0]["schedule"][1]["peak"] = ["07:00-09:30", "20:00-24:00"]
    t["version"][0]["prices"]["valley"] = -0.1
    t["version"][0]["valid_to"] = dt.date(2024, 1, 1)
    second["valid_from"] = dt.date(2023, 7, 1)
    t["version"].append(second)
    gas = doc["tariff"]["lanzhou-gas"]
    gas["version"][0]["valid_to"] = dt.date(2024, 1, 1)
    gas["version"].append({"valid_from": dt.date(2024, 3, 1), "price": 3.0})
    doc["tariff"]["lanzhou-water"]["quantity"] = "water"
    with pytest.raises(ConfigError) as info:
        check(doc)
    problems = info.value.problems
    v0 = "tariff.gansu-large-industry.version[0]"
    assert problems == [
        f"{v0}.prices.valley: must be >= 0 (a price), got -0.1",
        f"{v0}.schedule[0]: the periods do not cover 24 hours: 17:00-18:00 is in no period",
        f"{v0}.schedule[1].flat[2]: 09:00 is already peak: periods overlap",
        "tariff.gansu-large-industry.version[1].valid_from: "
        "2023-07-01 overlaps the version before (valid to 2024-01-01)",
        "tariff.lanzhou-gas.version[1].valid_from: "
        "gap: no version from 2024-01-01 to 2024-03-01; start this one on 2024-01-01",
        "tariff.lanzhou-water.quantity: unknown quantity 'water' (expected one of "
        "electricity_import, natural_gas, fresh_water, steam, heat)",
    ]
    assert str(info.value).startswith("t.toml: 6 error(s)")


def test_assignments_and_capacity_need_known_ids_quantities_and_transformer_kva() -> None:
    doc = gansu()
    doc["park"]["nowhere"] = {"electricity_import": "gansu-large-industry"}
    doc["park"]["petrochem"]["coal"] = "lanzhou-gas"
    doc["park"]["petrochem"]["steam"] = "no-such-tariff"
    del doc["enterprise"]["alu-a"]["transformer_kva"]
    doc["surprise"] = {}
    with pytest.raises(ConfigError) as info:
        check(doc)
    assert info.value.problems == [
        "surprise: unknown section 'surprise' (expected one of park, enterprise, tariff)",
        "park.petrochem.steam: unknown tariff 'no-such-tariff': define it as "
        "[tariff.no-such-tariff]",
        "park.petrochem.coal: unknown quantity 'coal' (expected one of electricity_import, "
        "natural_gas, fresh_water, steam, heat)",
        "park.nowhere: unknown park 'nowhere' (not in the registry)",
        "enterprise.alu-a.transformer_kva: tariff 'gansu-large-industry-kva' charges per kVA "
        "of transformer capacity: give the enterprise's transformer_kva",
    ]


def test_schedules_must_cover_every_month_and_day_kind_once() -> None:
    doc = gansu()
    v = doc["tariff"]["gansu-general-industry"]["version"][0]
    v["schedule"][0]["months"] = list(range(1, 12))
    rest = copy.deepcopy(v["schedule"][0])
    rest["days"] = "rest_days"
    rest["months"] = [1]
    v["schedule"].append(rest)
    with pytest.raises(ConfigError) as info:
        check(doc)
    where = "tariff.gansu-general-industry.version[0]"
    assert info.value.problems == [
        f"{where}.schedule[1]: month 1 rest days already has schedule[0]",
    ]
    del v["schedule"][1]
    with pytest.raises(ConfigError) as info:
        check(doc)
    assert info.value.problems == [
        f"{where}.schedule: no schedule for month 12 workdays, month 12 rest days",
    ]


def test_workday_and_holiday_rules_pick_the_schedule_of_the_day() -> None:
    doc = gansu()
    v = doc["tariff"]["gansu-general-industry"]["version"][0]
    v["holidays"] = [dt.date(2026, 10, 1)]
    work = v["schedule"][0]
    work["days"] = "workdays"
    v["schedule"].append(
        {"months": list(range(1, 13)), "days": "rest_days", "flat": ["00:00-24:00"]}
    )
    t = check(doc).tariffs["gansu-general-industry"].versions[0]
    assert set(t.period_slots(dt.date(2026, 10, 1)).tolist()) == {2}  # holiday Thursday
    assert set(t.period_slots(dt.date(2026, 10, 3)).tolist()) == {2}  # Saturday
    assert set(t.period_slots(dt.date(2026, 10, 2)).tolist()) == {1, 2, 3}  # Friday


def test_a_span_may_wrap_past_midnight_and_must_sit_on_15_minute_marks() -> None:
    doc = gansu()
    s = doc["tariff"]["gansu-general-industry"]["version"][0]["schedule"][0]
    s["valley"] = ["23:00-04:00", "11:00-17:00"]
    s["flat"] = ["04:00-07:00", "09:00-11:00", "17:00-18:00"]
    s["peak"] = ["07:00-09:00", "18:00-23:00"]
    slots = (
        check(doc).tariffs["gansu-general-industry"].versions[0].period_slots(dt.date(2026, 5, 5))
    )
    assert slots[0] == slots[95] == tariffs.PERIOD_CODE["valley"]
    s["peak"] = ["07:00-09:10", "18:00-23:00"]
    with pytest.raises(ConfigError) as info:
        check(doc)
    assert info.value.problems[0].startswith(
        "tariff.gansu-general-industry.version[0].schedule[0].peak[0]: must be "
        '"HH:MM-HH:MM" on 15-minute marks'
    )


def test_a_zone_tariffs_file_with_errors_fails_the_registry_load(tmp_path: Path) -> None:
    text = (EXAMPLES / "registry.toml").read_text(encoding="utf-8")
    (tmp_path / "registry.toml").write_text(text, encoding="utf-8")
    (tmp_path / "facts.csv").write_text("", encoding="utf-8")
    bad = GANSU.read_text(encoding="utf-8").replace("price = 2.85", "price = -2.85")
    (tmp_path / "tariffs-gansu.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        registry_mod.load(tmp_path / "registry.toml")
    assert info.value.source == str(tmp_path / "tariffs-gansu.toml")
    assert info.value.problems == [
        "tariff.lanzhou-gas.version[0].price: must be >= 0 (a price), got -2.85"
    ]
