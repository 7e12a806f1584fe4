"""The statistics of a report: intervals of one result, paired tests of two, and a correction for many.

Every function is a pure function of per-item scores, tested against hand-computed cases. Each interval
printed beside a test comes from the same procedure as the test (it excludes 0 exactly when p < 0.05),
and each covers at least 94% at n = 8, 15, 50 and 200 on realistic scores (``bench/interval_coverage.py``
measures it): Clopper–Pearson for a rate, Hall's skewness-corrected t for a mean ROUGE, exact McNemar and
its dual interval for paired 0/1 scores, the paired t test and its interval for paired ROUGE. scipy does
the distributions (``binomtest``, ``ttest_1samp``, ``stats.t``) and Benjamini-Hochberg
(``false_discovery_control``); Holm's step-down correction is the one piece scipy lacks, and it is four
lines. Equivalence within a margin is the two one-sided tests (TOST) on the per-item differences.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from summeval_tasks.util.errors import SummevalError

ALPHA = 0.05


class StatisticsError(SummevalError):
    """Scores or p-values no statistic can be computed from (a NaN): an error, never a figure."""


def _finite(values: Sequence[float], what: str) -> None:
    bad = next((v for v in values if not math.isfinite(float(v))), None)
    if bad is not None:
        raise StatisticsError(f"{what}: {bad!r} is not a number; every {what[:-1]} must be finite")


def rate_interval(correct: int, n: int) -> tuple[float, float]:
    """The 95% Clopper–Pearson (exact binomial) interval of a rate: ``correct`` successes of ``n``
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")``); it covers at least 95% at every n and
    rate, where Wilson's dips to 91–93% at n = 8 and 15. No items: [0, 1]."""
    from scipy import stats

    if n == 0:
        return (0.0, 1.0)
    low, high = stats.binomtest(correct, n).proportion_ci(confidence_level=1 - ALPHA, method="exact")
    return (float(low), float(high))


def _no_spread(values) -> bool:
    import numpy as np

    # ROUGE differences of equal scores may differ in the last bit; t would read that as certainty
    return bool(np.ptp(values) <= 1e-12)


def mean_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% interval of the mean of ``values`` (scores that are not 0/1: ROUGE): Student's t with
    Hall's (1992) transformation that removes the skewness of the t statistic.

    T = √n (m − μ)/s is read through g(T) = T + γ(T²/3 + 1/6)/√n + γ²T³/(27n), γ the sample skewness,
    g monotone with a closed-form inverse, and compared with the t quantile on n − 1 degrees of freedom
    (scipy.stats.t). Plain t covers 90.4% at n = 8 on ROUGE-2-like scores (skewed, some zeros), BCa
    bootstrap 92%; this covers ≥ 94% at n = 8, 15, 50, 200 (``bench/interval_coverage.py``) and turns
    into plain t as n grows. ``None`` where there is no interval to give: fewer than 2 values, or all
    equal (no spread to estimate the error from)."""
    import numpy as np
    from scipy import stats

    data = np.asarray(values, dtype=float)
    n = data.size
    if n < 2 or _no_spread(data):
        return None
    mean, sd = float(data.mean()), float(data.std(ddof=1))
    skew = float(np.mean((data - mean) ** 3)) / sd**3
    a = skew / math.sqrt(n)
    quantile = float(stats.t.ppf(1 - ALPHA / 2, n - 1))

    def untransformed(v: float) -> float:  # g⁻¹: g(t) = ((1 + a t/3)³ − 1)/a + a/6
        if abs(a) < 1e-9:
            return v
        return 3 / a * (float(np.cbrt(1 + a * (v - a / 6))) - 1)

    scale = sd / math.sqrt(n)
    return (mean - scale * untransformed(quantile), mean - scale * untransformed(-quantile))


def _mean(x, axis=-1):
    import numpy as np

    return np.mean(x, axis=axis)


def metric_summary(values: Sequence[float], binary: bool, seed: int = 0) -> dict[str, float | int | None]:
    """``{"mean", "ci_low", "ci_high", "n"}`` of per-item scores: the mean and its 95% interval,
    Clopper–Pearson (``rate_interval``) for 0/1 scores, ``mean_interval`` otherwise.

    Degenerate input is said, not dressed as certainty: no items gives ``mean`` None (the tables print
    ``—``); fewer than 2 items, or scores that are not 0/1 and all equal, give ``ci_low`` and ``ci_high``
    None (printed ``n too small`` / ``no spread``). ``seed`` is unused (the intervals are exact or
    closed-form); it stays for callers that pass one."""
    _finite(values, "scores")
    n = len(values)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = sum(values) / n
    interval = None
    if n >= 2:
        interval = rate_interval(round(sum(values)), n) if binary else mean_interval(values)
    low, high = interval if interval is not None else (None, None)
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": n}


@dataclass
class PairedTest:
    """B minus A on the same items: the difference of means, its 95% interval, and a two-sided p-value.

    Fewer than 2 paired items: no test (p = 1) and no interval (``ci_low``/``ci_high`` None); no items:
    the means and the difference are None too."""

    test: str
    """``exact McNemar`` (0/1 scores) or ``paired t`` (the per-item differences)."""
    n: int
    mean_a: float | None
    mean_b: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float
    b_better: int = 0
    """Items where B scored higher than A (McNemar's discordant pairs, or the positive differences)."""
    a_better: int = 0

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def discordant_counts(a: Sequence[float], b: Sequence[float]) -> tuple[int, int]:
    """Items where B scored higher than A, and items where A scored higher than B."""
    return (
        sum(1 for x, y in zip(a, b, strict=True) if y > x),
        sum(1 for x, y in zip(a, b, strict=True) if x > y),
    )


def mcnemar_exact(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided exact McNemar p-value of paired 0/1 scores: a binomial test on the discordant pairs."""
    return _mcnemar_p(*discordant_counts(a, b))


def _mcnemar_p(b_only: int, a_only: int) -> float:
    from scipy import stats

    if b_only + a_only == 0:
        return 1.0
    return float(stats.binomtest(b_only, b_only + a_only, 0.5).pvalue)


DISCORDANT_SHARE_CONFIDENCE = 0.99
"""Confidence of the discordant share's interval in ``mcnemar_difference_interval``: 0.95 x 0.99 >= 0.94."""


def mcnemar_difference_interval(b_better: int, a_better: int, n: int) -> tuple[float, float]:
    """95% interval of mean(b) - mean(a) for paired 0/1 scores that agrees with the exact McNemar test
    by construction: it excludes 0 exactly when ``mcnemar_exact``'s p is below 0.05.

    The difference of accuracies is Δ = s (2π - 1): s the share of discordant items, π the chance that B
    is the better one on a discordant item. McNemar's test of π = 1/2 is inverted by the 95%
    Clopper–Pearson interval of π on the d = ``b_better + a_better`` discordant items
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")``); s takes its own Clopper–Pearson
    interval on d of n, at ``DISCORDANT_SHARE_CONFIDENCE``; the interval is the range of s (2π - 1) over
    both. The sign of each bound is that of 2π - 1, so the duality holds; and as π's interval covers
    at least 95% whatever d, the pair covers at least 0.95 x 0.99 = 94.05% whatever the data. Scaling
    by the observed share alone (the interval conditional on d) covered 66% at n = 8 and 86% at n = 200
    when accuracies 0.5 and 0.8 were correlated 0.5, and 50-58% when correlated 0.8: the share's own
    error was left out. The price: the interval is conservative (99-100% in the bench). No discordant
    item: [-s_high, s_high], not [0, 0]."""
    from scipy import stats

    discordant = b_better + a_better
    if n == 0:
        return (-1.0, 1.0)
    pi_low, pi_high = 0.0, 1.0
    if discordant:
        pi = stats.binomtest(b_better, discordant, 0.5).proportion_ci(0.95, method="exact")
        pi_low, pi_high = float(pi.low), float(pi.high)
    share = stats.binomtest(discordant, n).proportion_ci(DISCORDANT_SHARE_CONFIDENCE, method="exact")
    s_low, s_high = float(share.low), float(share.high)
    low = (2 * pi_low - 1) * (s_high if pi_low < 0.5 else s_low)
    high = (2 * pi_high - 1) * (s_high if pi_high > 0.5 else s_low)
    return (low, high)


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float] | None]:
    """Two-sided p-value and 95% interval of mean(b) - mean(a) from one paired t test on the per-item
    differences (``scipy.stats.ttest_1samp(...).confidence_interval``), so the interval excludes 0
    exactly when p < 0.05: they are the same procedure.

    Covers ≥ 94% with type-I error ≤ 5% on ROUGE-like scores at n = 8 to 200
    (``bench/interval_coverage.py``), where the BCa bootstrap beside a sign-flip test did not. With
    fewer than 2 items, or differences without spread, t is undefined: no interval (None); p is 1
    when every difference is 0 (or n < 2) and otherwise the exact sign test's ``2 * 0.5**n`` (all n
    differences equal, of one sign)."""
    import numpy as np
    from scipy import stats

    differences = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = differences.size
    if n < 2:
        return 1.0, None
    if _no_spread(differences):
        return (1.0 if abs(float(differences[0])) <= 1e-12 else min(1.0, 2 * 0.5**n)), None
    result = stats.ttest_1samp(differences, 0.0)
    low, high = result.confidence_interval(confidence_level=1 - ALPHA)
    return float(result.pvalue), (float(low), float(high))


def boundary(holds, inside: float, outside: float, steps: int = 40) -> float:
    """Bisection between ``inside`` (where ``holds``) and ``outside`` (where it does not): the last point
    found where it holds, within ``|outside - inside| / 2**steps`` of where it stops holding (one switch
    between them assumed)."""
    for _ in range(steps):
        middle = (inside + outside) / 2
        if holds(middle):
            inside = middle
        else:
            outside = middle
    return inside


SIGN_FLIP_MOST_ITEMS = 16
"""Up to this many items ``sign_flip`` enumerates every sign (2**16 = 65,536); seed-combined comparisons
of more items take the paired t test, whose t approximation is good there."""


@functools.cache
def _signs(n: int):
    import numpy as np

    return 1.0 - 2.0 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)


def sign_flip(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float] | None]:
    """Two-sided p-value and 95% interval of mean(b) − mean(a) from the exact sign-flip (Fisher's
    randomization) test on the per-item differences, every one of the 2**n signs enumerated: valid when,
    with no difference, each item's difference is as likely positive as negative (A and B exchangeable
    within an item, as two sampled cells' item means over seeds are), whatever the scores' shape or
    lattice. The interval is every shift the test does not reject (``p >= 0.05`` for the differences
    minus it), an interval (Hartigan 1969): it excludes 0 exactly when p < 0.05.

    With fewer than 6 items no outcome reaches p < 0.05 (the smallest p is ``2 * 0.5**n``): no interval
    (None), as for differences without spread. At most ``SIGN_FLIP_MOST_ITEMS`` items."""
    import numpy as np

    differences = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = differences.size
    if n > SIGN_FLIP_MOST_ITEMS:
        raise ValueError(f"sign_flip enumerates 2**n signs; n = {n} is above {SIGN_FLIP_MOST_ITEMS}")
    if n < 2:
        return 1.0, None
    signs = _signs(n)
    scale = float(np.abs(differences).sum()) or 1.0

    def p_at(shift: float) -> float:
        x = differences - shift
        return float(np.mean(np.abs(signs @ x) >= abs(x.sum()) - 1e-9 * scale))

    p = p_at(0.0)
    if _no_spread(differences) or 2 * 0.5**n >= ALPHA:
        return p, None
    centre, width = float(differences.mean()), float(differences.max() - differences.min())

    def accepted(shift: float) -> bool:
        return p_at(shift) >= ALPHA

    # p = 1 at the mean, and p < 0.05 beyond every difference (all of one sign)
    low = boundary(accepted, centre, float(differences.min()) - width, steps=80)
    high = boundary(accepted, centre, float(differences.max()) + width, steps=80)
    return p, (low, high)


def smallest_attainable_p(binary: bool, n: int) -> float:
    """The smallest two-sided p-value ``paired_test`` can give on ``n`` paired items, whatever the scores:
    whether any outcome could be significant (after a correction, compare it with the Holm threshold).

    0/1 scores (exact McNemar), and ``binary`` for the exact sign-flip test too: every item discordant,
    all one way: ``2 * 0.5**n``, capped at 1. Other scores (paired t): 0 from n = 2 on (differences that
    barely vary push p as low as one likes);
    below 2 items no test runs: 1."""
    if n < 0:
        raise ValueError(f"smallest_attainable_p: n = {n}; a number of items is 0 or more")
    if binary:
        return min(1.0, 2 * 0.5**n)
    return 0.0 if n >= 2 else 1.0


def paired_test(
    a: Sequence[float], b: Sequence[float], binary: bool, seed: int = 0, *, exact: bool = False
) -> PairedTest:
    """Compare B with A item by item, the interval and the test from one procedure (the interval
    excludes 0 exactly when p < 0.05): exact McNemar with its dual interval
    (``mcnemar_difference_interval``) for 0/1 scores; with ``exact`` (item means over seeds, whose few
    values the t approximation misjudges at small n) and at most ``SIGN_FLIP_MOST_ITEMS`` items, the
    exact sign-flip test and its interval (``sign_flip``); the paired t test and its interval
    (``paired_t``) otherwise. ``seed`` is unused (all are exact or closed-form); it stays for callers."""
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} and {len(b)}")
    _finite([*a, *b], "scores")
    n = len(a)
    b_better, a_better = discordant_counts(a, b)
    signs = exact and not binary and n <= SIGN_FLIP_MOST_ITEMS
    if binary:
        p = _mcnemar_p(b_better, a_better)
        interval = mcnemar_difference_interval(b_better, a_better, n) if n >= 2 else None
    elif signs:
        p, interval = sign_flip(a, b)
    else:
        p, interval = paired_t(a, b)
    low, high = interval if interval is not None else (None, None)
    mean_a = sum(a) / n if n else None
    mean_b = sum(b) / n if n else None
    return PairedTest(
        test="exact McNemar" if binary else ("exact sign-flip" if signs else "paired t"),
        n=n,
        mean_a=mean_a,
        mean_b=mean_b,
        difference=mean_b - mean_a if n else None,
        ci_low=low,
        ci_high=high,
        p_value=p,
        b_better=b_better,
        a_better=a_better,
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order (family-wise error control)."""
    _finite(p_values, "p-values")
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def holm_reachable(smallest: Sequence[float], alpha: float = ALPHA) -> list[tuple[bool, float]]:
    """For each of m comparisons, given the smallest p each can attain (``smallest_attainable_p``):
    whether any outcome could make it significant after Holm's correction, and the loosest Holm
    threshold it could meet.

    The best case for comparison i: every other comparison that can be rejected before it is (the
    smallest attainable p-values first, each below its step's threshold alpha / (m - k)), so that i
    comes next and meets alpha / (m - r), r the number rejected before it. With every smallest p at or
    above alpha / m, nothing can be significant whatever the outputs."""
    m = len(smallest)
    found = []
    for i, own in enumerate(smallest):
        rejected = 0
        for other in sorted(p for j, p in enumerate(smallest) if j != i):
            if other >= alpha / (m - rejected):
                break
            rejected += 1
        threshold = alpha / (m - rejected)
        found.append((own < threshold, threshold))
    return found


CORRECTIONS = {"holm": "Holm", "bh": "Benjamini-Hochberg"}
"""A study's ``correction:`` and its name in the report: Holm's step-down (the family-wise error rate,
the default) or Benjamini-Hochberg's step-up (the false discovery rate: more power, weaker guarantee)."""


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (``scipy.stats.false_discovery_control``), in input order."""
    from scipy import stats

    _finite(p_values, "p-values")
    if not p_values:
        return []
    return [float(p) for p in stats.false_discovery_control(list(p_values), method="bh")]


def adjusted_p(p_values: Sequence[float], correction: str = "holm") -> list[float]:
    """The p-values adjusted by ``correction`` (a key of ``CORRECTIONS``): significant where below ALPHA."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction {correction!r}: must be one of {', '.join(CORRECTIONS)}")
    return holm(p_values) if correction == "holm" else benjamini_hochberg(p_values)


def reachable(
    smallest: Sequence[float], correction: str = "holm", alpha: float = ALPHA
) -> list[tuple[bool, float]]:
    """``holm_reachable``, or its Benjamini-Hochberg counterpart: every test at its smallest attainable p
    is the best case for each (a smaller p elsewhere only helps BH's step-up), so a test can be
    significant when BH at those p-values rejects it; its threshold is then alpha k / m at the largest
    rank k rejected (else alpha / m, the strictest)."""
    if correction == "holm":
        return holm_reachable(smallest, alpha)
    m = len(smallest)
    order = sorted(range(m), key=lambda i: smallest[i])
    k = max((rank + 1 for rank, i in enumerate(order) if smallest[i] < alpha * (rank + 1) / m), default=0)
    threshold = alpha * max(k, 1) / m if m else alpha
    rejected = set(order[:k])
    return [(i in rejected, threshold) for i in range(m)]


@dataclass
class Equivalence:
    """B and A equivalent within ± ``margin``? The two one-sided tests (TOST) on the per-item differences
    B − A: p is the larger of the two one-sided p-values (H0: the difference is at most −margin, or at
    least +margin), and the 90% interval of the difference lies inside ± margin exactly when p < 0.05."""

    margin: float
    n: int
    p_value: float
    ci90_low: float | None
    ci90_high: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def equivalence_test(a: Sequence[float], b: Sequence[float], margin: float) -> Equivalence:
    """TOST of mean(b) − mean(a) within ± ``margin``, by one-sided t tests on the per-item differences
    (``scipy.stats.ttest_1samp`` with ``alternative``), for ROUGE and 0/1 scores alike (for 0/1 scores the
    differences are −1, 0 and 1: the paired-proportion test with t's tails; exact McNemar has no
    equivalence form). Fewer than 2 items: p = 1. Differences without spread (all equal to d): p is the
    sign test's 0.5ⁿ when |d| < margin, else 1."""
    import numpy as np
    from scipy import stats

    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} and {len(b)}")
    if not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"equivalence margin {margin!r}: must be a positive number")
    _finite([*a, *b], "scores")
    differences = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = differences.size
    if n < 2:
        return Equivalence(margin, n, 1.0, None, None)
    if _no_spread(differences):
        inside = abs(float(differences[0])) < margin
        d = float(differences[0])
        return Equivalence(margin, n, min(1.0, 0.5**n) if inside else 1.0, d, d)
    above = stats.ttest_1samp(differences, -margin, alternative="greater")
    below = stats.ttest_1samp(differences, margin, alternative="less")
    low, high = stats.ttest_1samp(differences, 0.0).confidence_interval(confidence_level=1 - 2 * ALPHA)
    return Equivalence(margin, n, float(max(above.pvalue, below.pvalue)), float(low), float(high))


def chance_range(n: int, p: float) -> tuple[float, float]:
    """The accuracy range that guessing with success probability ``p`` reaches 95% of the time on n items."""
    from scipy import stats

    if n == 0:
        return (0.0, 1.0)
    return (float(stats.binom.ppf(0.025, n, p) / n), float(stats.binom.ppf(0.975, n, p) / n))
