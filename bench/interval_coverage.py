"""Coverage and type-I error of every interval and test a report prints, at n = 8, 15, 50 and 200.

    python bench/interval_coverage.py            # about 2 minutes on one core
    python bench/interval_coverage.py --quick    # a smoke run (few replicates)
    python bench/interval_coverage.py --reps 20000 --no-fail

It calls ``summeval.stats`` itself (the functions the report calls), on simulated data:

- rates (accuracy, invalid rate): 0/1 scores at p = 0.1, 0.3, 0.5, 0.6, 0.9; coverage is exact (summed
  over the binomial distribution), the row shows the lowest over those p. Wilson's interval is measured
  beside the Clopper–Pearson one the report prints, to show why it was replaced;
- the mean ROUGE (``metric_summary``): per-item scores in [0, 1], skewed, some exactly 0, shaped like
  the embedded model's (ROUGE-1 about 0.3 ± 0.1, ROUGE-2 about 0.1 with zeros) and a harsher case
  (30% zeros); plain Student t is shown beside it for comparison;
- paired ROUGE (``paired_test``): the two systems share an item difficulty; type-I error with A and B
  exchangeable (same distribution per item), coverage of the true B − A when B is better by 0.05 or
  has fewer zeros;
- paired accuracy (``paired_test`` with 0/1 scores: exact McNemar and its dual interval): correlated
  0/1 pairs; type-I at equal accuracy (A's), coverage of the true B − A at a difference of 0.1, 0.2 and
  0.3 (the last strongly correlated: few discordant items, the case that broke the interval scaled by
  the observed discordant share alone, shown in the "observed share (not printed)" rows).

- a sampled cell at several seeds (the report's ``combined_over_seeds``): each item's scores averaged over
  S = 3 seeds (seeds within items), the interval over the item means (``metric_summary``, as the report
  picks it), and the report's paired test on the item-mean differences (the exact sign-flip test up to
  16 items, the paired t test above); on accuracy whose items differ in
  difficulty (each item's chance of a right answer drawn from Beta(3, 2)) and on ROUGE-1-like scores
  (each seed a fresh draw around the item's mean); beside each, the one-seed interval's mean width as a
  ratio (seed-combined width / one-seed width);
- equivalence (``equivalence_test``, TOST): the share of data sets declared equivalent when the true
  B − A sits exactly on the margin (type-I error, goal ≤ 0.05), on ROUGE-1-like pairs (B +0.05, the
  margin set to the true difference) and on correlated 0/1 pairs (accuracy 0.6 vs 0.7, margin 0.1);
  beside it, the power when B is drawn like A (printed in the coverage column's place, no goal).

In each paired row, coverage is measured where B differs from A, and type-I error where they do not
(the "data" column names the first; the second is the same set-up with B drawn like A).

A goal is coverage ≥ 0.94 and type-I error ≤ 0.05. Monte Carlo rows have an error (the `±` column,
one standard error): a row meets its goal unless its estimate misses by more than 1.96 standard errors
(a one-sided 2.5% test), so an exactly-5% test does not fail by chance half of the time. Exits 1 when a
goal is missed (unless ``--no-fail``); rows marked "not printed" are shown for comparison only.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
from scipy import stats as sps

from summeval import stats

SIZES = (8, 15, 50, 200)
RATES = (0.1, 0.3, 0.5, 0.6, 0.9)
COVERAGE_GOAL = 0.94
TYPE_I_GOAL = 0.05


def rouge_scores(rng: np.random.Generator, item_mean: np.ndarray, zeros: float, k: float = 20.0):
    """One system's per-item scores: Beta around each item's mean (concentration k), some exactly 0."""
    m = np.clip(item_mean, 0.005, 0.995)
    scores = rng.beta(m * k, (1 - m) * k)
    scores[rng.random(scores.shape) < zeros] = 0.0
    return scores


ROUGE_SHAPES = {
    # name: (item difficulty Beta(a, b), share of exact zeros)
    "ROUGE-1-like (mean 0.30)": ((8.0, 18.0), 0.0),
    "ROUGE-2-like (mean 0.09, 10% zeros)": ((2.0, 18.0), 0.1),
    "harsh (mean 0.10, 30% zeros)": ((1.0, 6.0), 0.3),
}


def items(rng, shape, size):
    return rng.beta(*shape, size=size)


def mean_rows(rng, reps: int) -> Iterator[tuple]:
    for name, (shape, zeros) in ROUGE_SHAPES.items():
        big = rouge_scores(rng, items(rng, shape, 2_000_000), zeros)
        truth = float(big.mean())
        for n in SIZES:
            data = rouge_scores(rng, items(rng, shape, (reps, n)), zeros)
            hits = 0
            for row in data:
                summary = stats.metric_summary(row.tolist(), binary=False)
                hits += summary["ci_low"] is not None and summary["ci_low"] <= truth <= summary["ci_high"]
            yield ("mean ROUGE: Hall-corrected t", name, n, hits / reps, reps, None, None, True)
            # plain Student t, for comparison (vectorised: mean +- t quantile * standard error)
            half = sps.t.ppf(1 - stats.ALPHA / 2, n - 1) * data.std(axis=1, ddof=1) / math.sqrt(n)
            plain = float(np.mean(np.abs(data.mean(axis=1) - truth) <= half))
            yield ("  plain t (not printed)", name, n, plain, reps, None, None, False)


PAIRED_SHAPES = {
    # name: (item difficulty, A zeros, B's shift of the item mean, B zeros)
    "ROUGE-1-like, B +0.05": ((8.0, 18.0), 0.0, 0.05, 0.0),
    "ROUGE-2-like, B fewer zeros": ((2.0, 18.0), 0.2, 0.0, 0.05),
    "harsh, B +0.05": ((1.0, 6.0), 0.3, 0.05, 0.3),
}


def paired_rows(rng, reps: int) -> Iterator[tuple]:
    for name, (shape, zeros_a, shift, zeros_b) in PAIRED_SHAPES.items():
        q = items(rng, shape, 2_000_000)
        truth = float(rouge_scores(rng, q + shift, zeros_b).mean() - rouge_scores(rng, q, zeros_a).mean())
        null_name = name.split(",")[0] + ", A and B exchangeable"
        for n in SIZES:
            q = items(rng, shape, (reps, n))
            a = rouge_scores(rng, q, zeros_a)
            b_null = rouge_scores(rng, q, zeros_a)
            b_alt = rouge_scores(rng, q + shift, zeros_b)
            rejected = sum(
                stats.paired_test(x.tolist(), y.tolist(), binary=False).p_value < stats.ALPHA
                for x, y in zip(a, b_null, strict=True)
            )
            hits = 0
            for x, y in zip(a, b_alt, strict=True):
                result = stats.paired_test(x.tolist(), y.tolist(), binary=False)
                hits += result.ci_low is not None and result.ci_low <= truth <= result.ci_high
            yield ("paired ROUGE: paired t", name, n, hits / reps, reps, rejected / reps, null_name, True)


def correlated_pairs(rng, size, p_a: float, p_b: float, rho: float = 0.5):
    """0/1 scores of A and B on the same items: a Gaussian copula with correlation rho."""
    z = rng.standard_normal(size + (2,))
    z[..., 1] = rho * z[..., 0] + math.sqrt(1 - rho * rho) * z[..., 1]
    return (z[..., 0] < sps.norm.ppf(p_a)).astype(int), (z[..., 1] < sps.norm.ppf(p_b)).astype(int)


def conditional(b_better: int, a_better: int, n: int) -> tuple[float, float]:
    """The earlier interval, for comparison: Clopper–Pearson of π scaled by the observed discordant share."""
    d = b_better + a_better
    if d == 0:
        return (0.0, 0.0)
    pi = sps.binomtest(b_better, d).proportion_ci(0.95, method="exact")
    return (d / n * (2 * pi.low - 1), d / n * (2 * pi.high - 1))


def mcnemar_rows(rng, reps: int) -> Iterator[tuple]:
    cache: dict[tuple[int, int, int], tuple] = {}

    def test(a: np.ndarray, b: np.ndarray):
        b_better, a_better = int(np.sum(b > a)), int(np.sum(a > b))
        key = (b_better, a_better, a.size)
        if key not in cache:  # only the discordant counts (and n) matter: the same items, in another order
            x = [0] * b_better + [1] * a_better + [1] * (a.size - b_better - a_better)
            y = [1] * b_better + [0] * a_better + [1] * (a.size - b_better - a_better)
            result = stats.paired_test(x, y, binary=True)
            earlier = conditional(b_better, a_better, a.size)
            cache[key] = (result.p_value, result.ci_low, result.ci_high, earlier)
        return cache[key]

    for p_a, p_b, rho in ((0.6, 0.7, 0.5), (0.5, 0.7, 0.5), (0.5, 0.8, 0.8)):
        truth = p_b - p_a
        for n in SIZES:
            a0, b0 = correlated_pairs(rng, (reps, n), p_a, p_a, rho)
            rejected = sum(test(x, y)[0] < stats.ALPHA for x, y in zip(a0, b0, strict=True))
            a1, b1 = correlated_pairs(rng, (reps, n), p_a, p_b, rho)
            hits = old_hits = 0
            for x, y in zip(a1, b1, strict=True):
                _, low, high, (old_low, old_high) = test(x, y)
                hits += low is not None and low <= truth <= high
                old_hits += old_low <= truth <= old_high
            data = f"accuracy {p_a} vs {p_b}, correlation {rho}"
            yield ("paired accuracy: exact McNemar", data, n, hits / reps, reps, rejected / reps, "", True)
            yield ("  observed share (not printed)", data, n, old_hits / reps, reps, None, "", False)


SEEDS = 3


def _combined_summary(item_means: np.ndarray) -> dict:
    values = item_means.tolist()
    return stats.metric_summary(values, binary=all(v in (0.0, 1.0) for v in values))


def _width(summary: dict) -> float | None:
    return None if summary["ci_low"] is None else summary["ci_high"] - summary["ci_low"]


def seed_rows(rng, reps: int) -> Iterator[tuple]:
    """Seed-combined intervals and paired tests; the data column ends with the width ratio."""
    shape, zeros = ROUGE_SHAPES["ROUGE-1-like (mean 0.30)"]
    kinds = {
        "accuracy, item p ~ Beta(3, 2)": (
            lambda size: rng.beta(3.0, 2.0, size=size),
            lambda p: (rng.random(p.shape) < p).astype(float),
            3.0 / 5.0,
        ),
        "ROUGE-1-like": (
            lambda size: items(rng, shape, size),
            lambda q: rouge_scores(rng, q, zeros),
            float(rouge_scores(rng, items(rng, shape, 2_000_000), zeros).mean()),
        ),
    }
    for name, (draw_items, draw_scores, truth) in kinds.items():
        for n in SIZES:
            hits = rejected = 0
            ratios = []
            for _ in range(reps):
                q = draw_items(n)
                a = np.stack([draw_scores(q) for _ in range(SEEDS)])  # seeds x items
                b = np.stack([draw_scores(q) for _ in range(SEEDS)])  # B drawn like A: exchangeable
                combined = _combined_summary(a.mean(axis=0))
                hits += combined["ci_low"] is not None and combined["ci_low"] <= truth <= combined["ci_high"]
                one = stats.metric_summary(a[0].tolist(), binary=name.startswith("accuracy"))
                if _width(combined) and _width(one):
                    ratios.append(_width(combined) / _width(one))
                test = stats.paired_test(
                    a.mean(axis=0).tolist(), b.mean(axis=0).tolist(), binary=False, exact=True
                )  # as the report tests item means over seeds: exact sign-flip up to 16 items, else paired t
                rejected += test.p_value < stats.ALPHA
            ratio = f"width ×{np.mean(ratios):.2f}" if ratios else "width —"
            yield (
                f"{SEEDS} seeds combined",
                f"{name}; {ratio}",
                n,
                hits / reps,
                reps,
                rejected / reps,
                "",
                True,
            )


def equivalence_rows(rng, reps: int) -> Iterator[tuple]:
    """(method, data, n, type-I error at the margin, reps, power when B is drawn like A, ok)."""
    shape, zeros_a, shift, zeros_b = PAIRED_SHAPES["ROUGE-1-like, B +0.05"]
    q = items(rng, shape, 2_000_000)
    margin = float(rouge_scores(rng, q + shift, zeros_b).mean() - rouge_scores(rng, q, zeros_a).mean())
    cache: dict[tuple[int, int, int], float] = {}

    def binary_p(a: np.ndarray, b: np.ndarray, margin: float) -> float:
        b_better, a_better = int(np.sum(b > a)), int(np.sum(a > b))
        key = (b_better, a_better, a.size)
        if key not in cache:  # only the discordant counts (and n) matter
            x = [0] * b_better + [1] * a_better + [1] * (a.size - b_better - a_better)
            y = [1] * b_better + [0] * a_better + [1] * (a.size - b_better - a_better)
            cache[key] = stats.equivalence_test(x, y, margin).p_value
        return cache[key]

    for n in SIZES:
        q = items(rng, shape, (reps, n))
        a = rouge_scores(rng, q, zeros_a)
        at_margin = rouge_scores(rng, q + shift, zeros_b)
        same = rouge_scores(rng, q, zeros_a)
        wrong = sum(
            stats.equivalence_test(x.tolist(), y.tolist(), margin).p_value < stats.ALPHA
            for x, y in zip(a, at_margin, strict=True)
        )
        found = sum(
            stats.equivalence_test(x.tolist(), y.tolist(), margin).p_value < stats.ALPHA
            for x, y in zip(a, same, strict=True)
        )
        yield (
            "equivalence: TOST",
            f"ROUGE-1-like, true B − A = margin {margin:.3f}",
            n,
            wrong / reps,
            reps,
            found / reps,
        )
    for n in SIZES:
        a1, b1 = correlated_pairs(rng, (reps, n), 0.6, 0.7, 0.5)
        a0, b0 = correlated_pairs(rng, (reps, n), 0.6, 0.6, 0.5)
        wrong = sum(binary_p(x, y, 0.1) < stats.ALPHA for x, y in zip(a1, b1, strict=True))
        found = sum(binary_p(x, y, 0.1) < stats.ALPHA for x, y in zip(a0, b0, strict=True))
        yield (
            "equivalence: TOST",
            "accuracy 0.6 vs 0.7, correlation 0.5, margin 0.1",
            n,
            wrong / reps,
            reps,
            found / reps,
        )


def wilson(correct: int, n: int) -> tuple[float, float]:
    """Wilson's score interval (scipy), the rate interval the report used before Clopper–Pearson."""
    ci = sps.binomtest(correct, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def rate_rows() -> Iterator[tuple]:
    methods: list[tuple[str, Callable[[int, int], tuple[float, float]], bool]] = [
        ("rate: Clopper–Pearson", stats.rate_interval, True),
        ("rate: Wilson (not printed)", wilson, False),
    ]
    for label, interval, printed in methods:
        for n in SIZES:
            bounds = [interval(k, n) for k in range(n + 1)]
            worst = (2.0, None)
            for p in RATES:
                pmf = sps.binom.pmf(np.arange(n + 1), n, p)
                cover = float(sum(w for w, (lo, hi) in zip(pmf, bounds, strict=True) if lo <= p <= hi))
                worst = min(worst, (cover, p))
            data = f"0/1 scores, lowest of 5 rates (at p = {worst[1]})"
            yield (label, data, n, worst[0], None, None, None, printed)


def met(coverage: float, reps: int | None, type_i: float | None) -> bool:
    cover_se = 0.0 if reps is None else math.sqrt(COVERAGE_GOAL * (1 - COVERAGE_GOAL) / reps)
    ok = coverage >= COVERAGE_GOAL - 1.96 * cover_se
    if type_i is not None:
        ok = ok and type_i <= TYPE_I_GOAL + 1.96 * math.sqrt(TYPE_I_GOAL * (1 - TYPE_I_GOAL) / reps)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=4000, help="Monte Carlo replicates per row (4000)")
    parser.add_argument("--quick", action="store_true", help="200 replicates: a smoke run, not a measurement")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a goal is missed")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    if args.reps < 10:
        parser.error(f"--reps {args.reps}: at least 10 replicates are needed for a coverage figure")
    reps = 200 if args.quick else args.reps
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    header = f"{'method':<32} {'data':<48} {'n':>4} {'coverage':>9} {'±':>6} {'type-I':>7} {'goal met':>9}"
    print(f"goal: coverage >= {COVERAGE_GOAL}, type-I error <= {TYPE_I_GOAL}; {reps} replicates a row")
    print(header)
    print("-" * len(header))
    failed = []
    every = (
        rate_rows(),
        mean_rows(rng, reps),
        paired_rows(rng, reps),
        mcnemar_rows(rng, reps),
        seed_rows(rng, reps),
    )
    for rows in every:
        for method, data, n, coverage, row_reps, type_i, _, printed in rows:
            se = "exact" if row_reps is None else f"{math.sqrt(coverage * (1 - coverage) / row_reps):.4f}"
            ok = met(coverage, row_reps, type_i)
            verdict = ("yes" if ok else "NO") if printed else ("(yes)" if ok else "(no)")
            shown_type_i = "" if type_i is None else f"{type_i:.4f}"
            print(f"{method:<32} {data:<48} {n:>4} {coverage:>9.4f} {se:>6} {shown_type_i:>7} {verdict:>9}")
            if printed and not ok:
                failed.append(f"{method}, {data}, n = {n}")
    header = (
        f"{'method':<32} {'data':<48} {'n':>4} {'type-I':>9} {'±':>6} {'power at B = A':>15} {'goal met':>9}"
    )
    print()
    print(
        f"equivalence: type-I error with the true B − A on the margin (goal <= {TYPE_I_GOAL}); "
        "power when B = A"
    )
    print(header)
    print("-" * len(header))
    for method, data, n, type_i, row_reps, power in equivalence_rows(rng, reps):
        se = math.sqrt(TYPE_I_GOAL * (1 - TYPE_I_GOAL) / row_reps)
        ok = type_i <= TYPE_I_GOAL + 1.96 * se
        print(
            f"{method:<32} {data:<48} {n:>4} {type_i:>9.4f} {se:>6.4f} {power:>15.4f} "
            f"{'yes' if ok else 'NO':>9}"
        )
        if not ok:
            failed.append(f"{method}, {data}, n = {n}")
    print(f"({time.perf_counter() - started:.0f} s)")
    if failed:
        print(f"goal missed: {'; '.join(failed)}", file=sys.stderr)
        return 0 if args.no_fail else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
