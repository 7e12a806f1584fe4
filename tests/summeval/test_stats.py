"""The report's statistics against hand-computed values (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest

from summeval.stats import (
    ALPHA,
    StatisticsError,
    adjusted_p,
    benjamini_hochberg,
    chance_range,
    equivalence_test,
    holm,
    holm_reachable,
    mcnemar_exact,
    mean_interval,
    metric_summary,
    paired_t,
    paired_test,
    rate_interval,
    reachable,
    smallest_attainable_p,
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


# --- paired_t -----------------------------------------------------------------------------------------


def test_paired_t_of_three_differences():
    # Differences 1, 2, 3: mean 2, sd 1, standard error 1/sqrt(3); t = 2 * sqrt(3) = 3.4641 on 2 degrees
    # of freedom. P(|T_2| > t) = 1 - t / sqrt(2 + t^2) = 1 - 3.4641/3.7417 = 0.07418. Interval: 2 +-
    # t_2(0.975) / sqrt(3) = 2 +- 4.30265/1.73205 = 2 +- 2.48414.
    p, (low, high) = paired_t([0, 0, 0], [1, 2, 3])
    assert p == pytest.approx(1 - 2 * 3**0.5 / (2 + 12) ** 0.5)
    assert p == pytest.approx(0.07418, abs=1e-5)
    assert (low, high) == pytest.approx((2 - 2.48414, 2 + 2.48414), abs=1e-5)


def test_paired_t_of_two_differences_is_wide():
    # Differences 0.1, 0.3: mean 0.2, sd 0.1414, se 0.1; t = 2 on 1 degree of freedom: p = 1 - 2/pi *
    # atan(2) = 0.29517; interval 0.2 +- 12.7062 * 0.1.
    p, (low, high) = paired_t([0.2, 0.2], [0.3, 0.5])
    assert p == pytest.approx(0.29517, abs=1e-5)
    assert (low, high) == pytest.approx((0.2 - 1.27062, 0.2 + 1.27062), abs=1e-5)


def test_paired_t_without_spread_has_no_interval():
    # Every difference 0: nothing to test.
    assert paired_t([0.1, 0.5, 0.9], [0.1, 0.5, 0.9]) == (1.0, None)
    # 0.3 - 0.1 and 0.5 - 0.3 differ in the last bit: still no spread (t would read it as certainty,
    # p ~ 1e-16); two equal nonzero differences: the sign test's 2 * 0.5**2.
    assert paired_t([0.1, 0.3], [0.3, 0.5]) == (0.5, None)
    # Every difference +0.5 on 6 items: t is undefined; the exact sign test gives 2 * 0.5**6 = 1/32.
    assert paired_t([0, 1, 2, 0, 1, 2], [0.5, 1.5, 2.5, 0.5, 1.5, 2.5]) == (2 / 2**6, None)
    assert paired_t([0.3], [0.5]) == (1.0, None)
    assert paired_t([], []) == (1.0, None)


def _rouge_like(rng, n: int) -> list[float]:
    """Per-item scores like ROUGE-2: skewed, in [0, 1], some exactly 0."""
    scores = rng.beta(2.0, 14.0, size=n)
    scores[rng.random(n) < 0.15] = 0.0
    return scores.tolist()


def test_the_rouge_interval_excludes_zero_exactly_when_the_test_rejects():
    # Paired t: interval and p from one procedure. A grid of ROUGE-like pairs, B shifted by 0 to 0.1,
    # so that both sides of the 5% line are reached; at n = 8 t's upper quantile is 2.3646.
    numpy = pytest.importorskip("numpy")
    rejected = kept = 0
    for n in (2, 3, 8, 15, 50, 200):
        for seed in range(12):
            rng = numpy.random.default_rng([n, seed])
            a = _rouge_like(rng, n)
            b = [min(1.0, x + rng.normal(0.01 * (seed % 6), 0.05)) for x in a]
            result = paired_test(a, b, binary=False, seed=seed)
            assert result.test == "paired t"
            excludes_zero = result.ci_low > 0 or result.ci_high < 0
            assert excludes_zero == (result.p_value < ALPHA), (n, seed, result)
            assert result.ci_low < result.difference < result.ci_high
            rejected += excludes_zero
            kept += not excludes_zero
    assert rejected >= 10 and kept >= 10  # the grid reaches both answers


# --- mean_interval and rate_interval ---------------------------------------------------------------------


def test_mean_interval_of_symmetric_scores_is_student_t():
    # 0.1, 0.2, 0.3: skewness 0, so Hall's correction vanishes: 0.2 +- t_2(0.975) * 0.1/sqrt(3) = 0.2 +-
    # 4.30265 * 0.057735 = 0.2 +- 0.248414.
    assert mean_interval([0.1, 0.2, 0.3]) == pytest.approx((0.2 - 0.248414, 0.2 + 0.248414), abs=1e-6)


def test_mean_interval_of_right_skewed_scores_leans_right():
    # 0, 0, 0, 0.9: mean 0.225, sd 0.45; mean cubed deviation (3 * -0.225^3 + 0.675^3)/4 = 0.068344, over
    # sd^3 = 0.091125: skewness 0.75 > 0. The interval reaches further above the mean than below it.
    low, high = mean_interval([0.0, 0.0, 0.0, 0.9])
    assert high - 0.225 > 0.225 - low
    # Hall's g is inverted exactly: g(T) at each bound equals the t quantile.
    data = [0.0, 0.0, 0.0, 0.9]
    n, mean, sd = 4, 0.225, 0.45
    gamma = sum((x - mean) ** 3 for x in data) / n / sd**3
    t3 = 3.182446  # t_3(0.975)
    for bound, quantile in ((low, t3), (high, -t3)):
        t = n**0.5 * (mean - bound) / sd
        g = t + gamma * (t * t / 3 + 1 / 6) / n**0.5 + gamma**2 * t**3 / (27 * n)
        assert g == pytest.approx(quantile, abs=1e-5)


def test_mean_interval_is_none_without_an_interval_to_give():
    assert mean_interval([]) is None
    assert mean_interval([0.4]) is None
    assert mean_interval([0.4, 0.4, 0.4]) is None


def test_rate_interval_is_clopper_pearson():
    # 0 of 10: [0, 1 - 0.025 ** (1/10)] = [0, 0.30850]; 10 of 10: the mirror image; 5 of 10: [0.18709,
    # 0.81291] (the beta quantiles Beta(5, 6).ppf(0.025) and Beta(6, 5).ppf(0.975)).
    assert rate_interval(0, 10) == pytest.approx((0.0, 1 - 0.025**0.1))
    assert rate_interval(10, 10) == pytest.approx((0.025**0.1, 1.0))
    assert rate_interval(5, 10) == pytest.approx((0.18709, 0.81291), abs=1e-5)
    assert rate_interval(0, 0) == (0.0, 1.0)


# --- metric_summary on degenerate input ------------------------------------------------------------------


def test_an_empty_summary_has_no_mean_and_no_interval():
    for binary in (True, False):
        assert metric_summary([], binary=binary) == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}


def test_one_item_has_a_mean_but_no_interval():
    assert metric_summary([1.0], binary=True) == {"mean": 1.0, "ci_low": None, "ci_high": None, "n": 1}
    assert metric_summary([0.25], binary=False) == {"mean": 0.25, "ci_low": None, "ci_high": None, "n": 1}


def test_equal_rouge_scores_have_no_interval_but_equal_rates_do():
    # Eight zeros of ROUGE: no spread to estimate the error from; eight wrong answers: Clopper-Pearson
    # [0, 1 - 0.025 ** (1/8)] = [0, 0.36942], not [0, 0].
    assert metric_summary([0.0] * 8, binary=False) == {"mean": 0.0, "ci_low": None, "ci_high": None, "n": 8}
    rate = metric_summary([0.0] * 8, binary=True)
    assert rate["ci_low"] == 0.0
    assert rate["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 8))


def test_interval_text_says_what_is_missing():
    from summeval.report.analysis import interval_text

    assert interval_text(metric_summary([], binary=False)) == "—"
    assert interval_text(metric_summary([0.25], binary=False)) == "0.250 (n too small)"
    assert interval_text(metric_summary([0.0, 0.0], binary=False)) == "0.000 (no spread)"
    assert interval_text(metric_summary([1.0, 0.0], binary=True)) == "0.500 [0.013, 0.987]"


def test_paired_test_of_one_item_has_no_interval_and_no_test():
    for binary, a, b in ((True, [0], [1]), (False, [0.1], [0.4])):
        result = paired_test(a, b, binary=binary)
        assert (result.n, result.ci_low, result.ci_high, result.p_value) == (1, None, None, 1.0)
        assert result.difference == pytest.approx(b[0] - a[0])
    empty = paired_test([], [], binary=False)
    assert (empty.mean_a, empty.mean_b, empty.difference, empty.p_value) == (None, None, None, 1.0)


def test_a_report_of_one_or_no_items_renders():
    # n = 1 with ROUGE used to crash the report after every cell ran.
    from summeval.report.analysis import difference_text, verdict

    for a, b in (([0.1], [0.4]), ([], [])):
        result = {**paired_test(a, b, binary=False).to_dict(), "label": "x", "a": "A", "b": "B"}
        result.update(metric="rouge1", p_adjusted=1.0, significant=False)
        assert "not tested" in verdict(result)
        assert difference_text(result) == ("+0.300 (n too small)" if a else "—")


# --- smallest_attainable_p -------------------------------------------------------------------------------


def test_smallest_attainable_p_of_mcnemar_is_brute_force():
    # Every split of n paired 0/1 items into B-better, A-better and ties: the smallest p of all.
    for n in range(0, 13):
        smallest = min(
            paired_test(*_pairs(b_better, a_better, n - b_better - a_better), binary=True).p_value
            for b_better in range(n + 1)
            for a_better in range(n + 1 - b_better)
        )
        assert smallest_attainable_p(True, n) == pytest.approx(smallest), n
    assert smallest_attainable_p(True, 8) == pytest.approx(2 / 256)


def test_smallest_attainable_p_of_paired_t_is_zero_from_two_items():
    # Differences 1 and 1 + eps: t = 2 * mean / eps grows without bound, p goes to 0.
    for n in (2, 3, 8):
        ps = [paired_t([0.0] * n, [0.5] * (n - 1) + [0.5 + eps])[0] for eps in (1e-2, 1e-4, 1e-6)]
        assert ps == sorted(ps, reverse=True) and ps[-1] < 1e-3
        assert smallest_attainable_p(False, n) == 0.0
    assert smallest_attainable_p(False, 1) == smallest_attainable_p(False, 0) == 1.0
    with pytest.raises(ValueError, match="n = -1"):
        smallest_attainable_p(True, -1)


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
    # pi (B better on a discordant item), Clopper-Pearson of 0 in 4: [0, 1 - 0.025 ** (1 / 4)] = [0, 0.6024];
    # the discordant share, 99% Clopper-Pearson of 4 in 15: its upper bound is Beta(5, 11)'s 99.5% quantile.
    # Both ends of 2*pi - 1 (-1 and +0.2048) are scaled by that upper bound (the far end of each side).
    from scipy.stats import beta

    s_high = beta.ppf(0.995, 5, 11)
    assert s_high == pytest.approx(0.6273, abs=1e-4)
    assert result.ci_low == pytest.approx(-s_high)
    assert result.ci_high == pytest.approx(s_high * (2 * (1 - 0.025**0.25) - 1))


def test_the_binary_interval_without_discordant_items_is_not_zero_width():
    # 10 ties: pi is unknown ([0, 1]), the share's 99% upper bound is 1 - 0.005 ** (1/10) = 0.4113.
    result = paired_test([1] * 10, [1] * 10, binary=True)
    assert result.p_value == 1.0
    assert (result.ci_low, result.ci_high) == pytest.approx((-(1 - 0.005**0.1), 1 - 0.005**0.1))


def test_paired_test_scores_use_paired_t():
    # Differences 1, 2, 3 and a tie (0): mean 1.5, sd sqrt(5/3) = 1.29099, se 0.645497; t = 2.32379 on 3
    # degrees of freedom. For 3 degrees of freedom, with u = t/sqrt(3) = 1.34164, P(|T| > t) = 1 - 2/pi *
    # (atan(u) + u/(1 + u^2)) = 1 - 2/pi * (0.93027 + 0.47916) = 0.10272.
    result = paired_test([0, 0, 0, 5], [1, 2, 3, 5], binary=False)
    assert result.test == "paired t"
    assert result.n == 4
    assert result.mean_a == pytest.approx(1.25)
    assert result.mean_b == pytest.approx(2.75)
    assert result.difference == pytest.approx(1.5)
    assert result.b_better == 3
    assert result.a_better == 0
    u = 1.5 / (5 / 3 / 4) ** 0.5 / 3**0.5
    assert result.p_value == pytest.approx(1 - 2 / math.pi * (math.atan(u) + u / (1 + u * u)))
    assert result.p_value == pytest.approx(0.10272, abs=1e-5)
    # 1.5 +- t_3(0.975) * se = 1.5 +- 3.182446 * 0.645497
    assert (result.ci_low, result.ci_high) == pytest.approx((1.5 - 2.05426, 1.5 + 2.05426), abs=1e-5)


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
    from prompt_strategies.registry import get_family, get_strategy
    from summeval.report.analysis import summaries
    from summeval.study.plan import Cell

    cell = Cell("m", "tweetsumm_zero", get_family("tweetsumm"), get_strategy("answer_only"), None)
    scores = {
        "rouge1": [0.1, float("nan")],
        "rouge2": [0.0, 0.1],
        "rougeL": [0.1, 0.1],
        "rougeLsum": [0.1, 0.1],
    }
    with pytest.raises(StatisticsError, match=r"^cell m/tweetsumm_zero: rouge1: scores: nan is not a number"):
        summaries(cell, {"scores": scores}, seed=0)


def _holm_rejects(p_values, i, alpha=0.05):
    from summeval.stats import holm

    return holm(p_values)[i] < alpha


@pytest.mark.parametrize(
    "smallest",
    [
        [0.0078] * 4,  # the embedded study's ROUGE at n = 8 under the old permutation test (m = 11 below)
        [0.0078, 0.0],
        [0.03, 0.03, 0.0],
        [0.02, 0.0, 0.0],
        [0.0, 0.0, 0.04],
        [0.5, 0.001, 0.02],
        [1.0, 0.0],
    ],
)
def test_holm_reachable_agrees_with_brute_force_over_attainable_p_values(smallest):
    """Comparison i is reachable exactly when some p-values at or above each one's smallest make Holm
    reject it (a grid of p-values from each smallest one up; 9**m outcomes, so m stays at 4 or less)."""
    import itertools

    from summeval.stats import holm_reachable

    grids = [
        sorted({p, *(p + d for d in (1e-6, 1e-4, 1e-3, 0.004, 0.01, 0.02, 0.03, 0.05))}) for p in smallest
    ]
    for i, (can, threshold) in enumerate(holm_reachable(smallest)):
        brute = any(_holm_rejects(list(ps), i) for ps in itertools.product(*grids))
        assert can == brute, (smallest, i)
        assert 0.05 / len(smallest) <= threshold <= 0.05


def test_nothing_is_reachable_when_every_smallest_p_is_above_alpha_over_m():
    from summeval.stats import holm_reachable

    assert [r for r, _ in holm_reachable([0.0078] * 11)] == [False] * 11
    assert holm_reachable([0.0078] * 11)[0][1] == pytest.approx(0.05 / 11)


# ----------------------------------------------------------------------------- intervals


def test_metric_summary_uses_clopper_pearson_for_rates_and_t_otherwise():
    rate = metric_summary([1.0, 0.0, 1.0, 1.0], binary=True)
    assert rate["mean"] == 0.75 and rate["n"] == 4
    assert (rate["ci_low"], rate["ci_high"]) == rate_interval(3, 4)
    scores = [0.2, 0.5, 0.45, 0.7]
    summary = metric_summary(scores, binary=False, seed=3)
    assert summary["mean"] == pytest.approx(sum(scores) / 4)
    assert (summary["ci_low"], summary["ci_high"]) == mean_interval(scores)
    assert metric_summary([], binary=True) == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}


# ----------------------------------------------------------------------------- Benjamini-Hochberg, TOST


def test_benjamini_hochberg_hand_computed():
    # sorted: 0.005 (rank 1), 0.01 (2), 0.03 (3), 0.04 (4) of m = 4: p m / rank = 0.02, 0.02, 0.04, 0.04;
    # the running minimum from the top keeps them; back in input order:
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([]) == []
    assert adjusted_p([0.01, 0.04, 0.03, 0.005], "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjusted_p([0.01, 0.04, 0.03, 0.005], "holm") == holm([0.01, 0.04, 0.03, 0.005])
    with pytest.raises(ValueError, match="'bonferroni': must be one of holm, bh"):
        adjusted_p([0.5], "bonferroni")


def test_benjamini_hochberg_is_never_stricter_than_holm():
    import random

    rng = random.Random(7)
    for _ in range(200):
        p = [rng.random() ** 3 for _ in range(rng.randint(1, 9))]
        assert all(bh <= h + 1e-12 for bh, h in zip(benjamini_hochberg(p), holm(p), strict=True))


def test_bh_reachable_hand_computed():
    # m = 3 at their smallest p: 0.001 <= 0.05 / 3 (rank 1) and 0.02 <= 0.05 * 2 / 3 (rank 2), 0.5 > 0.05:
    # the first two can be significant, at the threshold 0.05 * 2 / 3.
    assert reachable([0.001, 0.02, 0.5], "bh") == [(True, pytest.approx(0.1 / 3))] * 2 + [
        (False, pytest.approx(0.1 / 3))
    ]
    assert reachable([0.2, 0.3], "bh") == [(False, 0.025), (False, 0.025)]
    assert reachable([0.001, 0.02, 0.5], "holm") == holm_reachable([0.001, 0.02, 0.5])


def test_equivalence_hand_computed():
    # differences 0.01, -0.01, 0.02, 0.00: mean 0.005, sd sqrt(5e-4 / 3) = 0.012910, se = 0.006455;
    # against -0.05: t = 0.055 / 0.006455 = 8.521 (upper tail); against +0.05: t = -0.045 / 0.006455 =
    # -6.971 (lower tail); 3 degrees of freedom; p is the larger tail.
    from scipy import stats

    a = [0.30, 0.40, 0.20, 0.50]
    b = [0.31, 0.39, 0.22, 0.50]
    se = math.sqrt(5e-4 / 3) / 2
    expected = max(stats.t.sf(0.055 / se, 3), stats.t.cdf(-0.045 / se, 3))
    result = equivalence_test(a, b, 0.05)
    assert result.p_value == pytest.approx(expected)
    half = stats.t.ppf(0.95, 3) * se
    assert (result.ci90_low, result.ci90_high) == pytest.approx((0.005 - half, 0.005 + half))
    assert result.p_value < 0.05 and -0.05 < result.ci90_low and result.ci90_high < 0.05
    narrow = equivalence_test(a, b, 0.01)  # the interval reaches past ± 0.01: not equivalent
    assert narrow.p_value > 0.05


def test_equivalence_agrees_with_its_90_percent_interval():
    import random

    rng = random.Random(3)
    for _ in range(300):
        n = rng.randint(2, 40)
        a = [rng.random() for _ in range(n)]
        b = [x + rng.gauss(0.01, 0.05) for x in a]
        margin = rng.choice([0.01, 0.02, 0.05, 0.1])
        result = equivalence_test(a, b, margin)
        inside = -margin < result.ci90_low and result.ci90_high < margin
        assert (result.p_value < 0.05) == inside


def test_equivalence_edge_cases():
    assert equivalence_test([1.0], [1.0], 0.1).p_value == 1.0
    # five differences of exactly 0.01: the sign test's 0.5 ** 5 inside the margin, 1 outside
    same = equivalence_test([0.1] * 5, [0.11] * 5, 0.05)
    assert same.p_value == pytest.approx(0.5**5) and same.ci90_low == pytest.approx(0.01)
    assert equivalence_test([0.1] * 5, [0.11] * 5, 0.005).p_value == 1.0
    with pytest.raises(ValueError, match="must be a positive number"):
        equivalence_test([0, 1], [1, 1], 0.0)
    # 0/1 scores: the differences -1, 0, 1 go through the same t tests
    a, b = _pairs(2, 2, 40)
    assert equivalence_test(a, b, 0.1).p_value < 0.05


@pytest.mark.parametrize(
    "smallest",
    [[0.001, 0.02, 0.5], [0.02, 0.0, 0.0], [0.0, 0.0, 0.04], [0.5, 0.001, 0.02], [1.0, 0.0], [0.03, 0.04]],
)
def test_bh_reachable_agrees_with_brute_force_over_attainable_p_values(smallest):
    import itertools

    grids = [sorted({p, *(min(1.0, p + d) for d in (1e-4, 0.004, 0.01, 0.02, 0.05))}) for p in smallest]
    for i, (can, _) in enumerate(reachable(smallest, "bh")):
        brute = any(benjamini_hochberg(list(ps))[i] < 0.05 for ps in itertools.product(*grids))
        assert can == brute, (smallest, i)


# ----------------------------------------------------------------------------- the exact sign-flip test


def test_sign_flip_enumerates_every_sign():
    from summeval.stats import sign_flip

    p, interval = sign_flip([0.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert p == pytest.approx(2 / 64)  # only all-plus and all-minus reach |sum| = 21
    # every shift between the smallest and the largest difference leaves one of them 0 or of the other
    # sign, and two sign patterns of 64 then reach the sum: p = 4/64 >= 5%; beyond them p = 2/64
    assert interval == pytest.approx((1.0, 6.0), abs=1e-6)
    # brute force on a small lattice: the share of the 2**7 signs whose |sum| reaches the observed one
    d = [1 / 3, 2 / 3, -1 / 3, 1.0, 1 / 3, 0.0, 2 / 3]
    sums = [abs(sum(x if (k >> i) & 1 else -x for i, x in enumerate(d))) for k in range(2**7)]
    assert sign_flip([0.0] * 7, d)[0] == pytest.approx(sum(s >= abs(sum(d)) - 1e-12 for s in sums) / 128)


def test_sign_flip_interval_excludes_zero_exactly_when_p_is_below_five_percent():
    import numpy as np

    from summeval.stats import sign_flip

    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(200):
        n = int(rng.integers(6, 17))
        a, b = rng.integers(0, 4, n) / 3, rng.integers(0, 4, n) / 3 + rng.choice([0.0, 0.34])
        p, interval = sign_flip(a.tolist(), b.tolist())
        if interval is not None:
            checked += 1
            assert (not interval[0] <= 0.0 <= interval[1]) == (p < 0.05), (p, interval)
    assert checked > 150


def test_sign_flip_has_no_interval_below_six_items_or_without_spread_and_enumerates_at_most_16():
    from summeval.stats import SIGN_FLIP_MOST_ITEMS, sign_flip

    assert sign_flip([0.0] * 5, [1.0, 2.0, 3.0, 4.0, 5.0]) == (pytest.approx(2 / 32), None)
    assert sign_flip([0.0] * 8, [0.5] * 8) == (pytest.approx(2 / 256), None)
    assert sign_flip([0.0], [1.0]) == (1.0, None)
    with pytest.raises(ValueError, match="n = 17 is above 16"):
        sign_flip([0.0] * (SIGN_FLIP_MOST_ITEMS + 1), [1.0] * (SIGN_FLIP_MOST_ITEMS + 1))


def test_paired_test_takes_the_sign_flip_only_when_asked_and_small():
    from summeval.stats import paired_test

    a, b = [0.0, 1 / 3, 2 / 3, 1.0] * 2, [1 / 3, 1 / 3, 1.0, 1.0] * 2
    assert paired_test(a, b, binary=False).test == "paired t"
    assert paired_test(a, b, binary=False, exact=True).test == "exact sign-flip"
    assert paired_test(a * 5, b * 5, binary=False, exact=True).test == "paired t"  # 40 items: t
    assert paired_test([0, 1, 1, 0], [1, 1, 1, 1], binary=True, exact=True).test == "exact McNemar"
