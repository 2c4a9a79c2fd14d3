"""The web view's words: both languages complete, every quantity and idle rule named."""

from __future__ import annotations

from smartpark.analytics.landuse.idle import RULES
from smartpark.core.quantities import QUANTITY_NAMES
from smartpark.serve.labels import LABELS, LANGS, QUANTITY_LABELS


def test_both_languages_have_the_same_words() -> None:
    assert set(LABELS["en"]) == set(LABELS["zh"])
    assert all(LABELS[lang][k].strip() for lang in LANGS for k in LABELS[lang])


def test_every_quantity_and_rule_has_a_name_in_each_language() -> None:
    for lang in LANGS:
        assert set(QUANTITY_LABELS[lang]) == set(QUANTITY_NAMES)
        assert len(set(QUANTITY_LABELS[lang].values())) == len(QUANTITY_NAMES)
        assert {f"rule_{r}" for r in RULES} <= set(LABELS[lang])
