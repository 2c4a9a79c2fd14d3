"""Each KPI's labels in the catalogue: an English and a Chinese one, for headers."""

import pytest

from smartpark.analytics.kpis.catalogue import KPIS, KpiSpec


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_kpi_has_a_label_unique_within_its_language(lang: str) -> None:
    labels = {name: spec.label(lang) for name, spec in KPIS.items()}
    assert all(label.strip() == label and label for label in labels.values())
    assert all(label != name for name, label in labels.items())  # never the machine name
    shared = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    assert not shared, f"{lang} labels used by more than one KPI: {shared}"


def test_labels_are_the_readable_terms_and_the_official_chinese_ones() -> None:
    assert KPIS["energy_tce"].label("en") == "Energy consumption"
    assert KPIS["energy_tce"].label("zh") == "综合能源消费量"  # GB/T 2589
    assert KPIS["carbon_per_energy"].label("en") == "CO2 per unit of energy"
    assert KPIS["carbon_per_energy"].label("zh") == "单位能耗碳排放"
    assert KPIS["co2_scope2_t"].label("en") == "CO2, scope 2"
    assert KPIS["electricity_kwh_peak"].label("en") == "Electricity, peak hours"
    assert KPIS["so2_exceed_h"].label("en") == "SO2, hours above the limit"
    assert KPIS["energy_tce"].name == "energy_tce"  # the machine name stays the name


def test_a_spec_built_without_labels_is_labelled_by_its_name() -> None:
    bare = KpiSpec("x_kwh", "kWh", "energy", "a KPI under construction")
    assert bare.label("en") == bare.label("zh") == "x_kwh"


def test_a_label_table_missing_a_kpi_fails_at_import_naming_the_fix() -> None:
    from smartpark.analytics.kpis.catalogue import _check_complete

    with pytest.raises(RuntimeError, match=r"_EN: add 'b'; remove 'c' \(no such KPI\)"):
        _check_complete(("a", "b"), _EN={"a": "A", "c": "C"})
