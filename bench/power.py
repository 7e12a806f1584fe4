"""The report's power figures (``summeval.power``) against the simulated power of the tests it prints.

    python bench/power.py              # a few seconds on one core
    python bench/power.py --reps 20000 --no-fail

For each case it draws ``--reps`` paired data sets, runs the report's own test on each
(``summeval.stats.mcnemar_exact`` / ``summeval.stats.paired_t``, as ``paired_test`` does), and counts
the rejections at the level (5% alone, and 5% / 3, Holm's strictest threshold at m = 3):

- paired 0/1 scores: the items where only B is right (p_b) and only A (p_a), at n = 25 to 400;
- paired ROUGE-like scores at n = 8 to 200, the per-item differences drawn from five shapes, each
  scaled to the case's spread and shifted to its mean: normal; a gamma (skewness 1.41: the Pearson type
  III family the report simulates from, so this row checks the simulation itself); a lognormal
  (skewness 1.75) and a zero-inflated exponential (30% of items exactly 0, skewness 2.24: the shape of
  ROUGE differences where two prompts often write the same summary), which are not Pearson III and so
  check the three-moment fit; and the lognormal mirrored (skewness −1.75) against a positive
  difference. The formula is given each shape's true standard deviation and skewness, as the report is
  given the observed ones;
- and at each case's minimum detectable difference (``power_of``'s, from the case's own rates or spread),
  where the simulated power must be 80%.

The goal: the formula within 3 points of the simulated power (beyond the simulation's own error: a row
misses when |formula − simulated| − 1.96 × its standard error exceeds 0.03). Exits 1 when a goal is
missed (unless ``--no-fail``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import numpy as np

from summeval.power import POWER, mcnemar_detectable, mcnemar_power, paired_t_detectable, paired_t_power
from summeval.stats import ALPHA, _mcnemar_p

GOAL = 0.03
LEVELS = {"5%": ALPHA, "5% / 3": ALPHA / 3}


def simulated_mcnemar(n: int, p_b: float, p_a: float, alpha: float, reps: int, rng) -> float:
    counts = rng.multinomial(n, [p_b, p_a, 1 - p_b - p_a], size=reps)[:, :2]
    cache: dict[tuple[int, int], float] = {}
    rejected = 0
    for b_only, a_only in counts:
        key = (int(b_only), int(a_only))
        if key not in cache:
            cache[key] = _mcnemar_p(*key)
        rejected += cache[key] < alpha
    return rejected / reps


LOGNORMAL_SIGMA = 0.5
_LOGNORMAL_MEAN = math.exp(LOGNORMAL_SIGMA**2 / 2)
_LOGNORMAL_SD = math.sqrt((math.exp(LOGNORMAL_SIGMA**2) - 1) * math.exp(LOGNORMAL_SIGMA**2))
_LOGNORMAL_SKEW = (math.exp(LOGNORMAL_SIGMA**2) + 2) * math.sqrt(math.exp(LOGNORMAL_SIGMA**2) - 1)
NONZERO = 0.7  # zero-inflated exponential: X = B × E, B ~ Bernoulli(0.7), E ~ Exp(1)
_ZI_MEAN = NONZERO
_ZI_SD = math.sqrt(2 * NONZERO - NONZERO**2)
_ZI_SKEW = (6 * NONZERO - 6 * NONZERO**2 + 2 * NONZERO**3) / _ZI_SD**3


def _lognormal(rng, size):
    return (rng.lognormal(0.0, LOGNORMAL_SIGMA, size=size) - _LOGNORMAL_MEAN) / _LOGNORMAL_SD


SHAPES = {  # name: (draws with mean 0 and standard deviation 1, their skewness)
    "normal": (lambda rng, size: rng.standard_normal(size), 0.0),
    "gamma": (lambda rng, size: (rng.standard_gamma(2.0, size=size) - 2.0) / math.sqrt(2.0), math.sqrt(2.0)),
    "lognormal": (_lognormal, _LOGNORMAL_SKEW),
    "zero-inflated": (
        lambda rng, size: ((rng.random(size) < NONZERO) * rng.standard_exponential(size) - _ZI_MEAN) / _ZI_SD,
        _ZI_SKEW,
    ),
    "lognormal mirrored": (lambda rng, size: -_lognormal(rng, size), -_LOGNORMAL_SKEW),
}


def simulated_t(n: int, difference: float, sd: float, shape: str, alpha: float, reps: int, rng) -> float:
    """The share of ``reps`` data sets on which the paired t test rejects: scipy's ``ttest_1samp`` on
    the differences, as ``summeval.stats.paired_t`` runs it (here over all data sets at once)."""
    from scipy import stats

    draws = SHAPES[shape][0](rng, (reps, n)) * sd + difference
    with warnings.catch_warnings():  # a zero-inflated data set can be all equal: no spread, p is nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return float((stats.ttest_1samp(draws, 0.0, axis=1).pvalue < alpha).mean())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=4000, help="simulated data sets per row")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a goal is missed")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.time()
    rows = []

    def row(kind: str, case: str, level_name: str, formula: float, simulated: float) -> None:
        error = math.sqrt(max(simulated * (1 - simulated), 1e-9) / args.reps)
        missed = abs(formula - simulated) - 1.96 * error > GOAL
        rows.append((kind, case, level_name, formula, simulated, error, missed))

    for n, p_b, p_a in [
        (25, 0.3, 0.05),
        (50, 0.2, 0.06),
        (100, 0.15, 0.07),
        (200, 0.12, 0.07),
        (400, 0.1, 0.07),
    ]:
        for name, level in LEVELS.items():
            formula = mcnemar_power(n, p_b, p_a, level)
            row("accuracy", f"n={n} p_b={p_b} p_a={p_a}", name, formula,
                simulated_mcnemar(n, p_b, p_a, level, args.reps, rng))  # fmt: skip
            share = p_b + p_a
            detectable = mcnemar_detectable(n, share, level)
            if detectable is not None:
                p_b_d, p_a_d = (share + detectable) / 2, (share - detectable) / 2
                row("accuracy", f"n={n} discordant {share:.2f}, at the detectable {detectable:.3f}", name,
                    POWER, simulated_mcnemar(n, p_b_d, p_a_d, level, args.reps, rng))  # fmt: skip
    for n, difference, sd in [(8, 0.08, 0.08), (25, 0.03, 0.08), (50, 0.02, 0.08), (200, 0.01, 0.08)]:
        for shape, (_, skewness) in SHAPES.items():
            for name, level in LEVELS.items():
                formula = paired_t_power(n, difference, sd, level, skewness)
                row("ROUGE", f"n={n} B−A={difference} sd={sd} {shape}", name, formula,
                    simulated_t(n, difference, sd, shape, level, args.reps, rng))  # fmt: skip
                detectable = paired_t_detectable(n, sd, level, skewness)
                row("ROUGE", f"n={n} sd={sd} {shape}, at the detectable {detectable:.3f}", name, POWER,
                    simulated_t(n, detectable, sd, shape, level, args.reps, rng))  # fmt: skip

    print(f"\nsummeval.power against simulation: {args.reps} data sets per row, seed {args.seed}\n")
    print("| scores | case | level | formula | simulated | ± | goal (within 0.03) |")
    print("|---|---|---|---:|---:|---:|---|")
    for kind, case, level_name, formula, simulated, error, missed in rows:
        print(f"| {kind} | {case} | {level_name} | {formula:.3f} | {simulated:.3f} | {error:.3f} | "
              f"{'MISSED' if missed else 'met'} |")  # fmt: skip
    missed = sum(r[-1] for r in rows)
    print(f"\n{len(rows) - missed} of {len(rows)} rows meet the goal; {time.time() - started:.0f} s")
    return 1 if missed and not args.no_fail else 0


if __name__ == "__main__":
    sys.exit(main())
