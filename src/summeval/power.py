"""Power of the report's paired tests: what a comparison could have detected, and how many items would
detect what it observed.

For each paired comparison (``summeval.stats.paired_test``), from the observed paired data:

* the **minimum detectable difference**: the smallest true difference B − A the same test would find
  with 80% power at its level, at the comparison's own number of items;
* the **items needed**: the smallest number of items at which the test would find the observed
  difference with 80% power (``None`` when no difference was observed).

Both are given at two levels: 5% alone, and 5% / m, the strictest threshold of Holm's correction over
the study's m comparisons (a p-value below it is significant after Holm whatever the other comparisons
give).

* **0/1 scores (exact McNemar)**: the power is exact. The discordant items D of n are binomial with the
  observed discordant share ψ; given D, the items where B is the better one are binomial with
  p_b / ψ; the test rejects where the exact two-sided binomial test of 1/2 does. The detectable
  difference keeps ψ at its observed value (Δ ranges over 0 to ψ; no Δ in that range is
  detectable at n when even Δ = ψ, every discordant item B's, falls short). The items needed keep both
  observed discordant rates.
* **Scores such as ROUGE (paired t)**: the power of the two-sided t test on the differences. Where the
  per-item differences are roughly symmetric, or n is above ``SIMULATED_UP_TO``, it is the noncentral t
  distribution's, with their observed standard deviation. Where they are skewed (ROUGE differences
  often are: many near 0, a few large) the noncentral t misstates the power at small n, by up to 12
  points at n = 8, so the power is simulated instead: the t test itself run on ``SIMULATIONS`` seeded
  samples of a Pearson type III distribution (a shifted gamma) with the observed standard deviation and
  skewness. The same draws serve every shift, so the power grows smoothly with the difference and
  reruns give the same figures. The detectable difference is found in the observed difference's
  direction (with skewed differences a shift one way is found more easily than the other way).

``bench/power.py`` checks both against the simulated power of ``paired_test`` itself (goal: within 3
points).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from summeval.stats import ALPHA, boundary, discordant_counts

POWER = 0.8
"""The power the detectable difference and the items needed are stated at."""
MOST_ITEMS = 1_000_000
"""The largest number of items searched: beyond it, "more than" this."""
SIMULATED_UP_TO = 200
"""Up to this many items, skewed differences have their power simulated; beyond it, the noncentral t's."""
SYMMETRIC_BELOW = 0.1
"""Differences whose skewness is smaller than this in size count as symmetric (noncentral t)."""
MOST_SKEWNESS = 6.0
"""The simulated skewness is clipped to ± this (a gamma of shape 1/9: beyond, a handful of outliers)."""
SIMULATIONS = 20_000
"""Simulated data sets per power figure: the simulation's own standard error is at most 0.0035."""
SIMULATION_SEED = 28
"""The seed of the simulated data sets (with n and the skewness): reruns give the same figures."""


def mcnemar_power(n: int, p_b: float, p_a: float, alpha: float = ALPHA) -> float:
    """The probability that the two-sided exact McNemar test (``summeval.stats.mcnemar_exact``) rejects
    at ``alpha`` (p < alpha) on ``n`` items where B alone is right with probability ``p_b`` and A alone
    with ``p_a``."""
    import numpy as np
    from scipy import stats

    share = p_b + p_a
    if n < 1 or share <= 0:
        return 0.0
    spread = math.sqrt(n * share * (1 - share)) if share < 1 else 0.0
    low = max(1, int(n * share - 10 * spread - 10))
    high = min(n, int(math.ceil(n * share + 10 * spread + 10)))
    discordant = np.arange(low, high + 1)
    weight = stats.binom.pmf(discordant, n, share)
    # the exact test rejects at k (the smaller of the two counts) when 2 * P(Bin(D, 1/2) <= k) < alpha
    k = stats.binom.ppf(alpha / 2, discordant, 0.5) - 1
    k = np.where(stats.binom.cdf(k + 1, discordant, 0.5) < alpha / 2, k + 1, k)
    q = min(1.0, p_b / share)
    reject = np.where(
        k >= 0,
        stats.binom.cdf(k, discordant, q) + stats.binom.sf(discordant - k - 1, discordant, q),
        0.0,
    )
    return float(np.clip(np.sum(weight * reject), 0.0, 1.0))


def paired_t_power(
    n: int, difference: float, sd: float, alpha: float = ALPHA, skewness: float = 0.0
) -> float:
    """The probability that the two-sided paired t test (``summeval.stats.paired_t``) rejects at
    ``alpha`` on ``n`` items whose differences have mean ``difference``, standard deviation ``sd`` and
    ``skewness``: the noncentral t's where the differences are symmetric (|skewness| <
    ``SYMMETRIC_BELOW``) or n > ``SIMULATED_UP_TO``; otherwise simulated from a Pearson type III
    distribution with those three moments (``SIMULATIONS`` seeded data sets)."""
    from scipy import stats

    if n < 2 or sd <= 0:
        return 0.0
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    if abs(skewness) >= SYMMETRIC_BELOW and n <= SIMULATED_UP_TO:
        means, spreads = _pearson3_samples(n, _skewness_key(skewness))
        t = (difference / sd + means) * math.sqrt(n) / spreads
        return float((abs(t) > critical).mean())
    shift = abs(difference) * math.sqrt(n) / sd
    return float(stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift))


def _skewness_key(skewness: float) -> float:
    """The skewness simulated: clipped to ± ``MOST_SKEWNESS`` and rounded to 0.01 (so that nearby
    observed skewnesses share their draws)."""
    return round(max(-MOST_SKEWNESS, min(MOST_SKEWNESS, skewness)), 2)


@functools.lru_cache(maxsize=64)
def _pearson3_samples(n: int, skewness: float):
    """The sample mean and standard deviation of each of ``SIMULATIONS`` data sets of ``n`` draws from
    the Pearson type III distribution with mean 0, standard deviation 1 and ``skewness`` (a gamma of
    shape 4 / skewness², centred, scaled, and mirrored for a negative skewness)."""
    import numpy as np

    shape = 4.0 / skewness**2
    rng = np.random.default_rng([SIMULATION_SEED, n, int(round(skewness * 100)) + 1000])
    means = np.empty(SIMULATIONS)
    spreads = np.empty(SIMULATIONS)
    for start in range(0, SIMULATIONS, 2000):  # in blocks: at most 2000 × n draws in memory at once
        draws = (rng.standard_gamma(shape, size=(2000, n)) - shape) / math.sqrt(shape)
        if skewness < 0:
            draws = -draws
        means[start : start + 2000] = draws.mean(axis=1)
        spreads[start : start + 2000] = draws.std(axis=1, ddof=1)
    return means, spreads


def skewness_of(differences: Sequence[float]) -> float:
    """The sample skewness of ``differences`` (``scipy.stats.skew``, bias-corrected, as the adjusted
    Fisher–Pearson G1); 0 for fewer than 3 or differences without spread."""
    import numpy as np
    from scipy import stats

    values = np.asarray(differences, dtype=float)
    if values.size < 3 or float(values.std()) <= 1e-12:
        return 0.0
    return float(stats.skew(values, bias=False))


def _smallest_n(power_at, target: float = POWER) -> int | None:
    """The smallest n >= 2 with ``power_at(n) >= target`` (doubling, then bisection: power grows with n,
    up to the exact test's small steps); None beyond ``MOST_ITEMS``."""
    high = 2
    while power_at(high) < target:
        if high >= MOST_ITEMS:
            return None
        high = min(MOST_ITEMS, high * 2)
    low = max(1, high // 2)
    while high - low > 1:
        middle = (low + high) // 2
        if power_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def _smallest_difference(
    power_at, most: float, target: float = POWER, start: float | None = None
) -> float | None:
    """The smallest d in (0, most] with ``power_at(d) >= target`` (from ``start``, doubled until it is
    reached, then bisection), or None."""
    if most <= 0:
        return None
    high = min(most, start or most)
    while power_at(high) < target:
        if high >= most:
            return None
        high = min(most, high * 2)
    return boundary(lambda d: power_at(d) >= target, high, 0.0)


def mcnemar_detectable(n: int, share: float, alpha: float = ALPHA) -> float | None:
    """The smallest B − A the exact McNemar test finds with 80% power on ``n`` items of which a share
    ``share`` are discordant (Δ in (0, share]); None when even Δ = share is not found so."""
    return _smallest_difference(lambda d: mcnemar_power(n, (share + d) / 2, (share - d) / 2, alpha), share)


def mcnemar_items(p_b: float, p_a: float, alpha: float = ALPHA) -> int | None:
    """The smallest number of items at which the exact McNemar test finds B − A = p_b − p_a with 80%
    power; None when p_b = p_a or beyond ``MOST_ITEMS``."""
    if p_b == p_a:
        return None
    return _smallest_n(lambda k: mcnemar_power(k, p_b, p_a, alpha))


def paired_t_detectable(
    n: int, sd: float, alpha: float = ALPHA, skewness: float = 0.0, direction: float = 1.0
) -> float | None:
    """The smallest |B − A| the paired t test finds with 80% power on ``n`` items whose differences have
    standard deviation ``sd`` and ``skewness``, for a difference of the sign of ``direction``."""
    sign = -1.0 if direction < 0 else 1.0
    return _smallest_difference(
        lambda d: paired_t_power(n, sign * d, sd, alpha, skewness), 1000 * sd, start=sd / 4
    )


def paired_t_items(difference: float, sd: float, alpha: float = ALPHA, skewness: float = 0.0) -> int | None:
    """The smallest number of items at which the paired t test finds ``difference`` with 80% power (the
    differences' spread ``sd`` and ``skewness``); None when it is 0 or beyond ``MOST_ITEMS``."""
    if abs(difference) <= 1e-12:
        return None
    return _smallest_n(lambda k: paired_t_power(k, difference, sd, alpha, skewness))


@dataclass(frozen=True)
class Power:
    """What a paired comparison could detect (``detectable``: the smallest true |B − A| found with 80%
    power at its n) and the items that would detect its observed difference, alone at 5% and after
    Holm's correction at m (level 5% / m). None: nothing detectable at this n, no difference observed,
    or more than ``MOST_ITEMS`` needed; ``why`` says which when it is not obvious."""

    n: int
    m: int
    detectable: float | None
    detectable_holm: float | None
    items_needed: int | None
    items_needed_holm: int | None
    why: str = ""

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def power_of(a: Sequence[float], b: Sequence[float], binary: bool, m: int = 1, alpha: float = ALPHA) -> Power:
    """The ``Power`` of the paired comparison of ``b`` with ``a`` (same items), among ``m``."""
    import statistics

    n = len(a)
    levels = (alpha, alpha / max(1, m))
    if n < 2:
        return Power(n, m, None, None, None, None, f"{n} paired item(s): no test")
    why = ""
    if binary:
        b_better, a_better = discordant_counts(a, b)
        differ = b_better + a_better
        if differ == 0:
            return Power(n, m, None, None, None, None, "no item where the two differ")
        detectable = [mcnemar_detectable(n, differ / n, level) for level in levels]
        needed = [mcnemar_items(b_better / n, a_better / n, level) for level in levels]
        if any(d is None for d in detectable):
            why = (
                f"only {differ} of the {n} items {'differs' if differ == 1 else 'differ'}: even all of them "
                "in B's favour would not be detected with 80% power at this n"
            )
    else:
        differences = [y - x for x, y in zip(a, b, strict=True)]
        sd = statistics.stdev(differences)
        if sd <= 1e-12:
            return Power(n, m, None, None, None, None, "the differences do not vary")
        mean, skewness = statistics.fmean(differences), skewness_of(differences)
        detectable = [paired_t_detectable(n, sd, level, skewness, mean) for level in levels]
        needed = [paired_t_items(mean, sd, level, skewness) for level in levels]
    return Power(n, m, detectable[0], detectable[1], needed[0], needed[1], why)
