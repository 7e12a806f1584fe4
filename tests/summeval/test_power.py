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


def test_rouge_differences_use_their_own_spread():
    a = [0.30, 0.25, 0.41, 0.33, 0.28, 0.36, 0.22, 0.39, 0.31, 0.27]
    b = [0.34, 0.27, 0.43, 0.39, 0.27, 0.41, 0.25, 0.40, 0.36, 0.30]
    power = power_of(a, b, binary=False, m=2)
    sd = statistics.stdev([y - x for x, y in zip(a, b, strict=True)])
    assert paired_t_power(10, power.detectable, sd) == pytest.approx(0.8, abs=1e-6)
    assert paired_t_power(10, power.detectable_holm, sd, 0.025) == pytest.approx(0.8, abs=1e-6)
    observed = statistics.fmean([y - x for x, y in zip(a, b, strict=True)])
    assert (
        paired_t_power(power.items_needed, observed, sd)
        >= 0.8
        > paired_t_power(power.items_needed - 1, observed, sd)
    )


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
