"""``summeval.power``: the power of the report's paired tests, pinned against exact enumeration and
published values (the simulation check is ``bench/power.py``)."""

from __future__ import annotations

import math
import statistics

import pytest

from summeval.power import (
    MOST_ITEMS,
    mcnemar_power,
    paired_t_items,
    paired_t_power,
    power_of,
    skewness_of,
)
from summeval.stats import _mcnemar_p


def _enumerated_mcnemar_power(n: int, p_b: float, p_a: float, alpha: float) -> float:
    """Every outcome of n items (B alone right, A alone right, neither differs), tested by the report's
    own exact McNemar p-value."""
    total = 0.0
    for b in range(n + 1):
        for a in range(n + 1 - b):
            rest = n - b - a
            log_p = math.lgamma(n + 1) - math.lgamma(b + 1) - math.lgamma(a + 1) - math.lgamma(rest + 1)
            log_p += b * math.log(p_b) + a * math.log(p_a) + rest * math.log(1 - p_b - p_a)
            if _mcnemar_p(b, a) < alpha:
                total += math.exp(log_p)
    return total


@pytest.mark.parametrize(
    ("n", "p_b", "p_a", "alpha"),
    [(12, 0.3, 0.1, 0.05), (50, 0.2, 0.05, 0.05), (60, 0.25, 0.1, 0.05 / 3), (200, 0.15, 0.1, 0.05)],
)
def test_the_mcnemar_power_is_exact(n, p_b, p_a, alpha):
    assert mcnemar_power(n, p_b, p_a, alpha) == pytest.approx(
        _enumerated_mcnemar_power(n, p_b, p_a, alpha), abs=1e-9
    )


def test_the_paired_t_power_matches_published_values():
    # Cohen's d = 1 on 10 pairs, two-sided 5%: 0.8031 (G*Power); d = 0.5 needs 34 pairs for 80%
    assert paired_t_power(10, 1.0, 1.0) == pytest.approx(0.8031, abs=5e-4)
    assert paired_t_items(0.5, 1.0) == 34
    assert paired_t_power(34, 0.5, 1.0) >= 0.8 > paired_t_power(33, 0.5, 1.0)


def test_the_detectable_difference_is_found_with_80_percent_power_at_both_levels():
    a = [1, 0, 1, 1, 0, 1, 0, 1] * 25
    b = [1, 1, 1, 1, 0, 0, 1, 1] * 25
    power = power_of(a, b, binary=True, m=3)
    share = 0.375  # 75 of the 200 items differ: 50 in B's favour, 25 in A's
    for detectable, alpha in [(power.detectable, 0.05), (power.detectable_holm, 0.05 / 3)]:
        assert mcnemar_power(200, (share + detectable) / 2, (share - detectable) / 2, alpha) == pytest.approx(
            0.8, abs=1e-6
        )
    assert power.detectable < power.detectable_holm  # the stricter level needs a larger difference
    assert mcnemar_power(power.items_needed, 0.25, 0.125) >= 0.8
    assert power.items_needed < power.items_needed_holm


def test_rouge_differences_use_their_own_spread_and_skewness():
    a = [0.30, 0.25, 0.41, 0.33, 0.28, 0.36, 0.22, 0.39, 0.31, 0.27]
    b = [0.34, 0.27, 0.43, 0.39, 0.27, 0.41, 0.25, 0.40, 0.36, 0.30]
    differences = [y - x for x, y in zip(a, b, strict=True)]
    power = power_of(a, b, binary=False, m=2)
    sd, skewness = statistics.stdev(differences), skewness_of(differences)
    assert skewness < -0.1  # these differences lean left: their power is simulated
    assert paired_t_power(10, power.detectable, sd, skewness=skewness) == pytest.approx(0.8, abs=1e-3)
    assert paired_t_power(10, power.detectable_holm, sd, 0.025, skewness) == pytest.approx(0.8, abs=1e-3)
    observed = statistics.fmean(differences)
    assert (
        paired_t_power(power.items_needed, observed, sd, skewness=skewness)
        >= 0.8
        > paired_t_power(power.items_needed - 1, observed, sd, skewness=skewness)
    )


def test_symmetric_differences_use_the_noncentral_t():
    a = [0.30, 0.25, 0.41, 0.33, 0.28, 0.36, 0.22, 0.39]
    b = [0.31, 0.27, 0.44, 0.37, 0.33, 0.38, 0.25, 0.43]  # differences 1, 2, 3, 4, 5, 2, 3, 4 (× 0.01)
    differences = [y - x for x, y in zip(a, b, strict=True)]
    assert abs(skewness_of(differences)) < 0.1
    power = power_of(a, b, binary=False)
    sd = statistics.stdev(differences)
    assert paired_t_power(8, power.detectable, sd) == pytest.approx(0.8, abs=1e-6)
    assert paired_t_power(8, power.detectable, sd, skewness=0.05) == paired_t_power(8, power.detectable, sd)


@pytest.mark.parametrize(("n", "skewness"), [(8, 2**0.5), (25, 2**0.5), (12, -1.0)])
def test_skewed_power_agrees_with_an_independent_simulation_of_the_t_test(n, skewness):
    """Against scipy's own t test on gamma draws (another seed, another generator call than the
    module's): the module's simulated power is within the two simulations' error; the noncentral t, which
    assumes symmetric differences, is not where skewness matters (n = 8)."""
    import numpy as np
    from scipy import stats

    difference, sd, reps = 0.08 * (1 if skewness > 0 else -1), 0.08, 40_000
    shape = 4 / skewness**2
    rng = np.random.default_rng(7)
    draws = (stats.gamma.rvs(shape, size=(reps, n), random_state=rng) - shape) / math.sqrt(shape)
    draws = (draws if skewness > 0 else -draws) * sd + difference
    simulated = float((stats.ttest_1samp(draws, 0.0, axis=1).pvalue < 0.05).mean())
    assert paired_t_power(n, difference, sd, skewness=skewness) == pytest.approx(simulated, abs=0.012)
    if n == 8 and skewness > 0:
        assert abs(paired_t_power(n, difference, sd) - simulated) > 0.08


def test_skewed_power_is_the_same_on_every_run():
    from summeval.power import _pearson3_samples

    first = paired_t_power(9, 0.05, 0.1, skewness=1.3)
    _pearson3_samples.cache_clear()
    assert paired_t_power(9, 0.05, 0.1, skewness=1.3) == first
    assert skewness_of([0.1, 0.1, 0.1]) == 0.0 and skewness_of([0.1, 0.2]) == 0.0


def test_what_cannot_be_sized_says_why():
    assert power_of([1, 0, 1], [1, 0, 1], binary=True).why == "no item where the two differ"
    few = power_of([1, 0] * 100, [1, 0] * 99 + [0, 0], binary=True, m=6)
    assert few.detectable is None and few.detectable_holm is None
    assert "only 1 of the 200 items differs" in few.why and few.items_needed > 200
    even = power_of([1, 0, 1, 0], [0, 1, 1, 0], binary=True)  # one each way: no difference observed
    assert even.items_needed is None and even.detectable is None
    assert power_of([0.1, 0.2], [0.2, 0.3], binary=False).why == "the differences do not vary"
    assert power_of([0.1], [0.2], binary=False).why == "1 paired item(s): no test"
    assert MOST_ITEMS == 1_000_000
