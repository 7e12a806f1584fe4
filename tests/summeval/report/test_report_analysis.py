"""The report's sentences and tables say what the tests show: the unadjusted p, the Holm p, m and the
family; intervals labelled unadjusted; context (items, split, seed) beside every figure."""

from __future__ import annotations

import pytest

from summeval.report.analysis import FAMILY, verdict
from summeval.report.tables import comparisons_table, items_text
from summeval.study.plan import Cell


def result(p: float, p_holm: float, m: int = 11, **changes) -> dict:
    base = {
        "label": "zero vs one",
        "a": "m/zero",
        "b": "m/one",
        "metric": "rouge1",
        "higher_is_better": True,
        "test": "paired permutation",
        "n": 8,
        "mean_a": 0.20,
        "mean_b": 0.25,
        "difference": 0.05,
        "ci_low": 0.01,
        "ci_high": 0.09,
        "p_value": p,
        "b_better": 6,
        "a_better": 2,
        "p_holm": p_holm,
        "m": m,
        "family": FAMILY,
        "significant": p_holm < 0.05,
    }
    return {**base, **changes}


def test_a_significant_verdict_gives_both_p_values_m_and_the_unadjusted_interval():
    text = verdict(result(0.001, 0.011))
    assert text == (
        "zero vs one: significant at 5% after Holm's correction (p = 0.001 unadjusted, Holm p = 0.011 over "
        "m = 11 comparisons, n = 8): m/one scores higher rouge1 than m/zero by 0.050 (unadjusted 95% "
        "interval of B − A [+0.010, +0.090])."
    )


def test_a_difference_significant_only_before_correction_says_so():
    text = verdict(result(0.02, 0.2))
    assert text.startswith(
        "zero vs one: not significant after Holm's correction (p = 0.02 unadjusted, Holm p"
    )
    assert "could be chance once the 11 comparisons are accounted for, although it is below 5% alone" in text
    assert "unadjusted 95% interval of B − A [+0.010, +0.090]" in text


def test_a_difference_not_significant_even_alone_says_sample_size():
    text = verdict(result(0.3, 1.0, ci_low=-0.02))
    assert "could be chance at this sample size (unadjusted 95% interval of B − A [-0.020, +0.090])" in text


def test_the_comparisons_table_labels_its_intervals_unadjusted_and_names_m_and_the_family():
    table = comparisons_table([result(0.001, 0.003, m=3), result(0.2, 0.4, m=3), result(0.5, 0.5, m=3)])
    assert "B − A [95%, unadjusted]" in table.header and "p (unadjusted)" in table.header
    assert "Holm p (m = 3)" in table.header and "significant at 5% after Holm" in table.header
    assert any("family of all 3 comparisons" in note for note in table.notes)


@pytest.mark.parametrize(
    ("cell", "n", "size", "expected"),
    [
        (Cell("m", "t", "f", "s", None, 25), 25, 185, "25 of 185 validation, seeded sample"),
        (Cell("m", "t", "f", "s", 3), 3, 185, "3 of 185 validation, the first 3"),
        (Cell("m", "t", "f", "s", None), 185, 185, "185 of 185 validation, all"),
        (Cell("m", "t", "f", "s", None), 8, None, "8 of validation, all"),
    ],
)
def test_items_say_how_many_of_which_split_and_how_they_were_chosen(cell, n, size, expected):
    assert items_text(cell, n, "validation", size) == expected
