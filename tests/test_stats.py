"""The report's statistics against hand-computed values (the arithmetic is in the comments).

``wilson_interval`` and ``bootstrap_interval`` are tested in ``test_compare.py``.
"""

from __future__ import annotations

import pytest

from summeval.stats import (
    StatisticsError,
    chance_range,
    holm,
    mcnemar_exact,
    metric_summary,
    paired_difference_interval,
    paired_permutation_p,
    paired_test,
)


def _pairs(b_better: int, a_better: int, ties: int) -> tuple[list[int], list[int]]:
    """0/1 scores of A and B on the same items: B alone right, A alone right, then ties (both right)."""
    a = [0] * b_better + [1] * a_better + [1] * ties
    b = [1] * b_better + [0] * a_better + [1] * ties
    return a, b


# --- mcnemar_exact --------------------------------------------------------------------------------------


def test_mcnemar_one_against_six():
    # 7 discordant pairs, B better on 1. Under H0, X ~ Binomial(7, 1/2): P(X=k) = C(7,k)/128.
    # Two-sided: every outcome no likelier than the observed P(X=1) = 7/128, i.e. k in {0, 1, 6, 7}:
    # (1 + 7 + 7 + 1)/128 = 2*(1+7)/128 = 16/128 = 0.125.
    a, b = _pairs(b_better=1, a_better=6, ties=5)
    assert mcnemar_exact(a, b) == pytest.approx(0.125)
    assert mcnemar_exact(b, a) == pytest.approx(0.125)  # symmetric


def test_mcnemar_all_ties_is_one():
    # No discordant pair: nothing to test, p = 1.
    assert mcnemar_exact([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert mcnemar_exact([], []) == 1.0


def test_mcnemar_one_discordant_item_is_one():
    # Binomial(1, 1/2): both outcomes have probability 1/2, so p = 1/2 + 1/2 = 1.
    a, b = _pairs(b_better=1, a_better=0, ties=3)
    assert mcnemar_exact(a, b) == pytest.approx(1.0)


def test_mcnemar_zero_against_eight():
    # Binomial(8, 1/2), observed 0: P(X=0) = P(X=8) = 1/256, so p = 2/256.
    a, b = _pairs(b_better=0, a_better=8, ties=2)
    assert mcnemar_exact(a, b) == pytest.approx(2 / 256)


def test_mcnemar_differs_in_length():
    with pytest.raises(ValueError):
        mcnemar_exact([1, 0], [1])


# --- paired_permutation_p -------------------------------------------------------------------------------


def test_permutation_three_increasing_differences():
    # Differences 1, 2, 3 (mean 2). The 2**3 = 8 sign flips give means 2, 4/3, 2/3, 0, 0, -2/3, -4/3, -2:
    # only all-plus reaches >= 2, so P(greater) = 1/8 and the two-sided p is 2 * 1/8 = 0.25.
    assert paired_permutation_p([0, 0, 0], [1, 2, 3]) == pytest.approx(0.25)


def test_permutation_five_equal_differences():
    # Differences 1, 1, 1, 1, 1: of the 2**5 = 32 sign flips only all-plus reaches the observed mean 1
    # (and only all-minus reaches -1), so p = 2 * 1/32 = 2/32.
    assert paired_permutation_p([0] * 5, [1] * 5) == pytest.approx(2 / 32)


def test_permutation_mixed_signs():
    # Differences 1, -2, 3, 4: observed sum 6. Sums of the 16 sign flips +-1 +-2 +-3 +-4 that reach >= 6:
    # 1+2+3+4 = 10, -1+2+3+4 = 8, 1-2+3+4 = 6 (the observed) -- three, so P(greater) = 3/16; P(less) =
    # 14/16 (every sum but 10 and 8). Two-sided: 2 * min(3/16, 14/16) = 6/16 = 0.375.
    assert paired_permutation_p([0, 2, 0, 0], [1, 0, 3, 4]) == pytest.approx(6 / 16)


def test_permutation_is_exact_for_thirteen_items():
    # 2**13 = 8192 sign flips <= 9999 resamples: scipy enumerates them, so every seed gives the same p.
    # 13 equal differences: p = 2 * 1/8192 exactly.
    a, b = [0] * 13, [1] * 13
    assert paired_permutation_p(a, b, seed=0) == pytest.approx(2 / 2**13)
    assert paired_permutation_p(a, b, seed=1) == paired_permutation_p(a, b, seed=2)


def test_permutation_identical_inputs_is_one():
    assert paired_permutation_p([0.1, 0.5, 0.9], [0.1, 0.5, 0.9]) == 1.0
    assert paired_permutation_p([], []) == 1.0


def test_permutation_is_seeded():
    # 20 items: 2**20 flips > 9999, so this is Monte Carlo; the seed makes it repeatable.
    a = [0.1 * (i % 7) for i in range(20)]
    b = [x + (0.3 if i % 3 else -0.2) for i, x in enumerate(a)]
    first = paired_permutation_p(a, b, seed=7)
    assert first == paired_permutation_p(a, b, seed=7)
    assert 0.0 < first <= 1.0


# --- paired_difference_interval -------------------------------------------------------------------------


def test_interval_of_a_constant_difference_is_that_difference():
    # b - a = 0.5 on every item (exact in binary floating point): no spread, the interval is (0.5, 0.5).
    assert paired_difference_interval([0, 1, 2], [0.5, 1.5, 2.5]) == (0.5, 0.5)
    assert paired_difference_interval([3], [1]) == (-2.0, -2.0)
    assert paired_difference_interval([], []) == (0.0, 0.0)


def test_interval_contains_the_observed_difference():
    a = [0.2, 0.4, 0.1, 0.9, 0.5, 0.3, 0.7, 0.6, 0.2, 0.8]
    b = [0.5, 0.4, 0.3, 0.8, 0.9, 0.6, 0.7, 0.9, 0.1, 1.0]
    observed = sum(b) / len(b) - sum(a) / len(a)  # 6.2/10 - 4.7/10 = 0.15
    assert observed == pytest.approx(0.15)
    low, high = paired_difference_interval(a, b, seed=3)
    assert low < observed < high
    assert (low, high) == paired_difference_interval(a, b, seed=3)


def test_interval_of_binary_scores_contains_the_observed_difference():
    a, b = _pairs(b_better=2, a_better=6, ties=4)  # difference (2 - 6)/12 = -1/3
    low, high = paired_difference_interval(a, b, seed=0)
    assert low <= -1 / 3 <= high
    assert -1.0 <= low < high <= 1.0


# --- paired_test ----------------------------------------------------------------------------------------


def test_paired_test_binary_uses_mcnemar():
    # A right on 8 of 10 (6 alone, 2 tied), B right on 3 (1 alone, 2 tied): difference 3/10 - 8/10 = -0.5;
    # McNemar on 1 vs 6 discordant pairs: p = 0.125 (see test_mcnemar_one_against_six).
    a = [0] + [1] * 6 + [1, 1] + [0]
    b = [1] + [0] * 6 + [1, 1] + [0]
    result = paired_test(a, b, binary=True)
    assert result.test == "exact McNemar"
    assert result.n == 10
    assert result.mean_a == pytest.approx(0.8)
    assert result.mean_b == pytest.approx(0.3)
    assert result.difference == pytest.approx(-0.5)
    assert result.b_better == 1
    assert result.a_better == 6
    assert result.p_value == pytest.approx(0.125)
    assert result.ci_low <= -0.5 <= result.ci_high
    assert result.to_dict()["test"] == "exact McNemar"


def test_the_binary_interval_excludes_zero_exactly_when_mcnemar_rejects():
    # Every split of every discordant count at n = 15 and n = 100 (the grids: the percentile
    # bootstrap disagreed with the test on 13 of 135 and 29 of 860 splits).
    for n in (15, 100):
        for discordant in range(1, n + 1):
            for b_better in range(discordant + 1):
                a = [1] * (discordant - b_better) + [0] * b_better + [1] * (n - discordant)
                b = [0] * (discordant - b_better) + [1] * b_better + [1] * (n - discordant)
                result = paired_test(a, b, binary=True)
                excludes_zero = result.ci_low > 0 or result.ci_high < 0
                assert excludes_zero == (result.p_value < 0.05), (n, discordant, b_better, result)
                assert result.ci_low - 1e-12 <= result.difference <= result.ci_high + 1e-12


def test_the_binary_interval_of_zero_against_four_discordant_items_holds_zero():
    # The case: 0 vs 4 discordant of 15, p = 0.125; the percentile bootstrap printed [-0.533, -0.067].
    a = [1] * 4 + [0] * 11
    b = [0] * 15
    result = paired_test(a, b, binary=True)
    assert result.p_value == pytest.approx(0.125)
    assert result.ci_low < 0 < result.ci_high
    # Clopper-Pearson of 0 successes in 4: [0, 1 - 0.025 ** (1 / 4)]; scaled by 4/15 as 2*pi - 1.
    assert result.ci_low == pytest.approx(-4 / 15)
    assert result.ci_high == pytest.approx(4 / 15 * (2 * (1 - 0.025**0.25) - 1))


def test_paired_test_scores_use_permutation():
    # Differences 1, 2, 3 and a tie: mean_a 0, mean_b 6/4 = 1.5; p: the three nonzero differences give
    # 8 distinct flips (the tie's flip changes nothing), so 2 * 2/16 = 0.25 as in the three-item case.
    result = paired_test([0, 0, 0, 5], [1, 2, 3, 5], binary=False)
    assert result.test == "paired permutation"
    assert result.n == 4
    assert result.mean_a == pytest.approx(1.25)
    assert result.mean_b == pytest.approx(2.75)
    assert result.difference == pytest.approx(1.5)
    assert result.b_better == 3
    assert result.a_better == 0
    assert result.p_value == pytest.approx(0.25)
    assert result.ci_low <= 1.5 <= result.ci_high


def test_paired_test_is_seeded():
    a = [0.1 * (i % 7) for i in range(20)]
    b = [x + (0.3 if i % 3 else -0.2) for i, x in enumerate(a)]
    assert paired_test(a, b, binary=False, seed=5) == paired_test(a, b, binary=False, seed=5)


def test_paired_test_differs_in_length():
    with pytest.raises(ValueError, match="differ in length"):
        paired_test([1, 0, 1], [1, 0], binary=True)


# --- holm -----------------------------------------------------------------------------------------------


def test_holm_hand_computed():
    # Sorted: 0.01 (rank 0, x3 = 0.03), 0.03 (rank 1, x2 = 0.06), 0.04 (rank 2, x1 = 0.04 -> running max
    # 0.06). In the input's order: [0.03, 0.06, 0.06].
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_is_monotone_in_the_raw_order():
    raw = [0.2, 0.001, 0.04, 0.03, 0.5, 0.012]
    adjusted = holm(raw)
    by_raw = [adjusted[i] for i in sorted(range(len(raw)), key=lambda i: raw[i])]
    assert by_raw == sorted(by_raw)
    assert all(adj >= p for adj, p in zip(adjusted, raw, strict=True))


def test_holm_is_capped_at_one():
    # 0.5 x 2 = 1.0; 0.6 x 1 = 0.6 but the running max is already 1.0.
    assert holm([0.5, 0.6]) == [1.0, 1.0]
    assert holm([0.9]) == [0.9]


def test_holm_of_nothing():
    assert holm([]) == []


# --- chance_range ---------------------------------------------------------------------------------------


def test_chance_range_fifteen_coin_flips():
    # Binomial(15, 1/2), in 32768ths: P(X<=3) = 1+15+105+455 = 576 (0.0176 < 0.025), P(X<=4) = 576+1365 =
    # 1941 (0.0592 >= 0.025): the 2.5% quantile is 4. By symmetry P(X<=10) = 1 - 1941/32768 = 0.941 and
    # P(X<=11) = 1 - 576/32768 = 0.982 >= 0.975: the 97.5% quantile is 11. Range: (4/15, 11/15).
    low, high = chance_range(15, 0.5)
    assert low == pytest.approx(4 / 15)
    assert high == pytest.approx(11 / 15)


def test_chance_range_of_no_items():
    assert chance_range(0, 0.5) == (0.0, 1.0)


# --- guards ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "compute",
    [
        lambda: metric_summary([0.2, float("nan"), 0.4], binary=False),
        lambda: paired_test([0.1, 0.2], [0.3, float("nan")], binary=False),
        lambda: holm([0.01, float("nan"), 0.2]),
    ],
)
def test_a_nan_is_an_error_not_a_figure(compute):
    with pytest.raises(StatisticsError, match="nan is not a number"):
        compute()


def test_a_nan_score_names_the_cell_and_metric():
    from summeval.report.analysis import summaries
    from summeval.study.plan import Cell

    cell = Cell("m", "tweetsumm_zero", "tweetsumm", "answer_only", None)
    scores = {
        "rouge1": [0.1, float("nan")],
        "rouge2": [0.0, 0.1],
        "rougeL": [0.1, 0.1],
        "rougeLsum": [0.1, 0.1],
    }
    with pytest.raises(StatisticsError, match=r"^cell m/tweetsumm_zero: rouge1: scores: nan is not a number"):
        summaries(cell, {"scores": scores}, seed=0)
