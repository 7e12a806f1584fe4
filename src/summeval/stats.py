"""The statistics of a report: intervals of one result, paired tests of two, and a correction for many.

Every function is a pure function of per-item scores, tested against hand-computed cases. scipy does the
resampling (``scipy.stats.bootstrap``, ``permutation_test``) and the exact binomial (``binomtest``);
Holm's step-down correction is the one piece scipy lacks, and it is four lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from summeval_tasks.errors import SummevalError

BOOTSTRAP_RESAMPLES = 2000
PERMUTATION_RESAMPLES = 9999
"""Monte Carlo sign flips; scipy enumerates all 2**n when that is fewer (n <= 13): then p is exact."""
ALPHA = 0.05


class StatisticsError(SummevalError):
    """Scores or p-values no statistic can be computed from (a NaN): an error, never a figure."""


def _finite(values: Sequence[float], what: str) -> None:
    bad = next((v for v in values if not math.isfinite(float(v))), None)
    if bad is not None:
        raise StatisticsError(f"{what}: {bad!r} is not a number; every {what[:-1]} must be finite")


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for ``correct`` successes out of ``n`` (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _bootstrap(data: tuple, statistic, seed: int, paired: bool) -> tuple[float, float]:
    """scipy's seeded 95% BCa interval, percentile where BCa degenerates on tiny samples."""
    import numpy as np
    from scipy import stats

    def interval(method: str) -> tuple[float, float]:
        result = stats.bootstrap(
            data,
            statistic,
            paired=paired,
            vectorized=True,
            confidence_level=0.95,
            n_resamples=BOOTSTRAP_RESAMPLES,
            method=method,
            random_state=np.random.default_rng(seed),
        )
        return tuple(result.confidence_interval)

    low, high = interval("BCa")
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = interval("percentile")
    return (float(low), float(high))


def bootstrap_interval(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95% BCa bootstrap interval of the mean of ``values`` (scipy.stats.bootstrap, seeded).

    One value, or all equal: the interval is that value (no spread to resample)."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (0.0, 0.0)
    if data.size == 1 or np.all(data == data[0]):
        return (float(data[0]), float(data[0]))
    return _bootstrap((data,), _mean, seed, paired=False)


def _mean(x, axis=-1):
    import numpy as np

    return np.mean(x, axis=axis)


def _mean_difference(a, b, axis=-1):
    import numpy as np

    return np.mean(b, axis=axis) - np.mean(a, axis=axis)


def metric_summary(values: Sequence[float], binary: bool, seed: int = 0) -> dict[str, float]:
    """Mean and 95% interval of per-item scores: Wilson for 0/1 scores, bootstrap otherwise."""
    _finite(values, "scores")
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if binary:
        low, high = wilson_interval(round(sum(values)), n)
    else:
        low, high = bootstrap_interval(values, seed)
    return {"mean": mean, "ci_low": low, "ci_high": high}


@dataclass
class PairedTest:
    """B minus A on the same items: the difference of means, its 95% interval, and a two-sided p-value."""

    test: str
    """``exact McNemar`` (0/1 scores) or ``paired permutation`` (sign flips of the per-item differences)."""
    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    b_better: int = 0
    """Items where B scored higher than A (McNemar's discordant pairs, or the permutation's positives)."""
    a_better: int = 0

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def paired_difference_interval(a: Sequence[float], b: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """95% paired BCa bootstrap interval of mean(b) - mean(a) (items resampled together, scipy), for
    scores that are not 0/1; paired 0/1 scores take ``mcnemar_difference_interval``, dual to their test."""
    import numpy as np

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    differences = y - x
    if differences.size == 0:
        return (0.0, 0.0)
    if differences.size == 1 or np.all(differences == differences[0]):
        return (float(differences[0]), float(differences[0]))
    return _bootstrap((x, y), _mean_difference, seed, paired=True)


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


def mcnemar_difference_interval(b_better: int, a_better: int, n: int) -> tuple[float, float]:
    """95% interval of mean(b) - mean(a) for paired 0/1 scores that agrees with the exact McNemar test
    by construction: it excludes 0 exactly when ``mcnemar_exact``'s p is below 0.05.

    On the d = ``b_better + a_better`` discordant items, B is the better one with probability π; the
    exact binomial test of π = 1/2 (McNemar's) is inverted by the Clopper–Pearson interval of π
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")``), and the difference of accuracies is
    d/n · (2π - 1). The interval is conditional on d (the observed share of discordant items); with no
    discordant item it is [0, 0]."""
    from scipy import stats

    discordant = b_better + a_better
    if n == 0 or discordant == 0:
        return (0.0, 0.0)
    low, high = stats.binomtest(b_better, discordant, 0.5).proportion_ci(
        confidence_level=0.95, method="exact"
    )
    share = discordant / n
    return (share * (2 * float(low) - 1), share * (2 * float(high) - 1))


def paired_permutation_p(a: Sequence[float], b: Sequence[float], seed: int = 0) -> float:
    """Two-sided p-value of mean(b) - mean(a) under random sign flips of the per-item differences."""
    import numpy as np
    from scipy import stats

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or np.all(x == y):
        return 1.0
    result = stats.permutation_test(
        (x, y),
        _mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=PERMUTATION_RESAMPLES,
        alternative="two-sided",
        random_state=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def paired_test(a: Sequence[float], b: Sequence[float], binary: bool, seed: int = 0) -> PairedTest:
    """Compare B with A item by item: exact McNemar for 0/1 scores, a paired permutation test otherwise.

    The interval of the difference: for 0/1 scores the exact interval dual to McNemar's test
    (``mcnemar_difference_interval``: it excludes 0 exactly when p < 0.05); otherwise the paired BCa
    bootstrap."""
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} and {len(b)}")
    _finite([*a, *b], "scores")
    n = len(a)
    b_better, a_better = discordant_counts(a, b)
    if binary:
        low, high = mcnemar_difference_interval(b_better, a_better, n)
    else:
        low, high = paired_difference_interval(a, b, seed)
    p = _mcnemar_p(b_better, a_better) if binary else paired_permutation_p(a, b, seed)
    mean_a = sum(a) / n if n else 0.0
    mean_b = sum(b) / n if n else 0.0
    return PairedTest(
        test="exact McNemar" if binary else "paired permutation",
        n=n,
        mean_a=mean_a,
        mean_b=mean_b,
        difference=mean_b - mean_a,
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


def chance_range(n: int, p: float) -> tuple[float, float]:
    """The accuracy range that guessing with success probability ``p`` reaches 95% of the time on n items."""
    from scipy import stats

    if n == 0:
        return (0.0, 1.0)
    return (float(stats.binom.ppf(0.025, n, p) / n), float(stats.binom.ppf(0.975, n, p) / n))
