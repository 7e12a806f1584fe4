"""The figures of a report, computed from per-item scores: each metric's mean with its 95% interval
(Clopper–Pearson for rates, Hall's skewness-corrected t otherwise), and the paired comparisons (with the
equivalence tests a comparison asks for) under the study's correction, Holm's or Benjamini-Hochberg's.
``summeval compare`` and ``summeval study`` both summarise through ``score_summaries``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from summeval.power import MOST_ITEMS, power_of
from summeval.stats import (
    ALPHA,
    CORRECTIONS,
    StatisticsError,
    adjusted_p,
    equivalence_test,
    metric_summary,
    paired_test,
    reachable,
    smallest_attainable_p,
)
from summeval.study.plan import Cell, StudyConfig
from summeval_tasks.contract import TaskFamily


@dataclass
class StrategyResult:
    """One row of the comparison table: each metric's mean over the items and its 95% interval."""

    strategy: str
    task: str
    filter: str
    n: int
    metrics: dict[str, dict[str, float | int | None]]
    """``{metric: {"mean", "ci_low", "ci_high", "n"}}`` (``metric_summary``) in the family's metric order."""

    def mean(self, metric: str) -> float:
        return self.metrics[metric]["mean"]


def is_rate(family: TaskFamily, values: Sequence[float]) -> bool:
    """Whether per-item scores are a proportion (accuracy, invalid rate): 0/1 scores of a family with
    fixed labels; never ROUGE."""
    return bool(family.choices) and all(v in (0.0, 1.0) for v in values)


def score_summaries(
    family: TaskFamily, scores: Mapping[str, Sequence[float]], seed: int = 0
) -> dict[str, dict[str, float]]:
    """Each metric's ``metric_summary`` of per-item ``scores`` (Clopper–Pearson for rates, t otherwise)."""
    summaries = {}
    for metric, values in scores.items():
        try:
            summaries[metric] = metric_summary(values, binary=is_rate(family, values), seed=seed)
        except StatisticsError as err:
            raise StatisticsError(f"{metric}: {err}") from err
    return summaries


def interval_text(summary: Mapping[str, float | None]) -> str:
    """``mean [low, high]`` to three places, as every table shows a figure; ``—`` for no items, and
    ``mean (n too small)`` or ``mean (no spread)`` where ``metric_summary`` gives no interval."""
    if summary["mean"] is None:
        return "—"
    if summary["ci_low"] is None:
        return f"{summary['mean']:.3f} ({'n too small' if summary.get('n', 0) < 2 else 'no spread'})"
    return f"{summary['mean']:.3f} [{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def difference_text(result: Mapping[str, Any]) -> str:
    """A paired comparison's ``B − A [low, high]``, signed; ``—`` for no items, and ``(n too small)`` or
    ``(no spread)`` where ``paired_test`` gives no interval."""
    if result["difference"] is None:
        return "—"
    if result["ci_low"] is None:
        return f"{result['difference']:+.3f} ({'n too small' if result['n'] < 2 else 'no spread'})"
    return f"{result['difference']:+.3f} [{result['ci_low']:+.3f}, {result['ci_high']:+.3f}]"


def summaries(cell: Cell, record: Mapping[str, Any], seed: int) -> dict[str, dict[str, float]]:
    """Each metric's mean and 95% interval over the cell's saved per-item scores."""
    try:
        return score_summaries(cell.family, record["scores"], seed)
    except StatisticsError as err:
        raise StatisticsError(f"cell {cell.id}: {err}") from err


def compared_metrics(family: TaskFamily) -> list[str]:
    """The metrics a comparison tests: the family's headline metric, and the headline metric of its
    two-stage answers where it has them."""
    return [family.primary_metric, *[m for m in family.two_stage_metrics if m != "agree_two_stage"]]


def comparison_results(config: StudyConfig, records: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each comparison of the config whose two cells finished: a paired test of each compared metric
    (``compared_metrics``) on the items both scored, and the equivalence test (TOST) where the comparison
    sets a margin; every p-value adjusted by the study's correction over all of these tests (m)."""
    results, paired = [], []
    for comparison in config.comparisons:
        if comparison.a not in records or comparison.b not in records:
            continue
        cell = config.cell(comparison.a)
        family = cell.family
        a, b = records[comparison.a], records[comparison.b]
        for metric in compared_metrics(family):
            by_item_b = dict(zip(b["items"], b["scores"][metric], strict=True))
            pairs = [
                (x, by_item_b[i])
                for i, x in zip(a["items"], a["scores"][metric], strict=True)
                if i in by_item_b
            ]
            binary = is_rate(family, [v for pair in pairs for v in pair])
            paired.append(([p[0] for p in pairs], [p[1] for p in pairs], binary))
            over_seeds = bool(a.get("seeds_combined") or b.get("seeds_combined"))  # item means: exact test
            test = paired_test(*paired[-1][:2], binary=binary, seed=config.seed, exact=over_seeds)
            margin = comparison.equivalence_margin
            equivalence = None if margin is None else equivalence_test(*paired[-1][:2], margin).to_dict()
            results.append(
                {
                    "label": comparison.label,
                    "a": comparison.a,
                    "b": comparison.b,
                    "metric": metric,
                    "higher_is_better": family.reported_metrics[metric],
                    **test.to_dict(),
                    "equivalence": equivalence,
                }
            )
    # One family of tests: every difference test, then every equivalence test.
    tests = [*results, *[r["equivalence"] for r in results if r["equivalence"]]]
    m = len(tests)
    smallest = [smallest_attainable_p(t.get("test") in EXACT_TESTS, t["n"]) for t in tests]
    correction = config.correction
    for tested, p_adjusted, p_min, (can, threshold) in zip(
        tests,
        adjusted_p([t["p_value"] for t in tests], correction),
        smallest,
        reachable(smallest, correction),
        strict=True,
    ):
        tested.update(p_adjusted=p_adjusted, smallest_p=p_min, reachable=can, best_threshold=threshold)
    for result, (a_scores, b_scores, binary) in zip(results, paired, strict=True):
        result["power"] = power_of(a_scores, b_scores, binary, m).to_dict()
        result["correction"] = correction
        result["m"] = m
        result["family"] = FAMILY
        result["significant"] = result["p_adjusted"] < ALPHA
        if result["equivalence"]:
            result["equivalence"]["equivalent"] = result["equivalence"]["p_adjusted"] < ALPHA
        result["verdict"] = verdict(result)
    return results


def correction_name(result: Mapping[str, Any]) -> str:
    """The correction a comparison's adjusted p comes from, as the report names it (``Holm``)."""
    return CORRECTIONS[result.get("correction", "holm")]


def unreachable_banner(results: Sequence[Mapping[str, Any]]) -> str | None:
    """A sentence for the top of the comparisons when no outcome at all could make any of them
    significant after the study's correction (every smallest attainable p at or above alpha / m)."""
    if not results or any(r["reachable"] for r in results):
        return None
    m = results[0].get("m", len(results))  # every test the correction covers, equivalence tests included
    lowest = min(r["smallest_p"] for r in results)
    return (
        f"No comparison can be significant at these sample sizes: the smallest p any outputs could give "
        f"({lowest:.2g}) is at or above {correction_name(results[0])}'s first threshold "
        f"({ALPHA:.0%} / {m} = {ALPHA / m:.2g}). "
        "Score more items, or test fewer comparisons, before reading these tests."
    )


FAMILY = "all comparisons of the study"
EXACT_TESTS = ("exact McNemar", "exact sign-flip")
"""The tests whose smallest p on n items is ``2 * 0.5**n`` (every item one way)."""
"""The family of tests the study's correction covers (Holm: the family-wise error rate; Benjamini-Hochberg:
the false discovery rate): every comparison's test and equivalence test."""


def verdict(result: Mapping[str, Any]) -> str:
    """One sentence: is the difference real at this sample size, after correcting for the m tests of the
    family? It gives the unadjusted p, the adjusted p, m, and the (unadjusted) interval; then what the
    comparison could detect, and its equivalence test where it has one."""
    if result["n"] < 2:
        return f"{result['label']}: not tested: {result['n']} paired item(s), a test needs at least 2."
    direction = "higher" if result["difference"] > 0 else "lower"
    interval = (
        f"unadjusted 95% interval of B − A [{result['ci_low']:+.3f}, {result['ci_high']:+.3f}]"
        if result["ci_low"] is not None
        else "no interval: the differences do not vary"
    )
    name = correction_name(result)
    tested = (
        f"p = {result['p_value']:.3g} unadjusted, {name} p = {result['p_adjusted']:.3g} "
        f"over m = {result['m']} tests, n = {result['n']}"
    )
    if result["significant"]:
        return (
            f"{result['label']}: significant at {ALPHA:.0%} after {name}'s correction ({tested}): "
            f"{result['b']} scores {direction} {result['metric']} than {result['a']} by "
            f"{abs(result['difference']):.3f} ({interval})."
            + power_sentence(result)
            + equivalence_sentence(result)
        )
    return _not_significant(result, tested, interval) + power_sentence(result) + equivalence_sentence(result)


def equivalence_words(result: Mapping[str, Any]) -> str:
    """The equivalence verdict in a few words: ``equivalent within ±0.020``, ``not shown equivalent
    within ±0.020``; '' without an equivalence test."""
    equivalence = result.get("equivalence")
    if not equivalence:
        return ""
    shown = "equivalent" if equivalence.get("equivalent") else "not shown equivalent"
    return f"{shown} within ±{equivalence['margin']:.3g}"


def equivalence_sentence(result: Mapping[str, Any]) -> str:
    """The equivalence test's verdict (TOST), after the comparison's sentence; '' without one."""
    equivalence = result.get("equivalence")
    if not equivalence:
        return ""
    interval = (
        f"90% interval of B − A [{equivalence['ci90_low']:+.3f}, {equivalence['ci90_high']:+.3f}]"
        if equivalence["ci90_low"] is not None
        else "no interval: fewer than 2 items"
    )
    return (
        f" Equivalence (two one-sided tests): {equivalence_words(result)} at {ALPHA:.0%} after "
        f"{correction_name(result)}'s correction (TOST p = {equivalence['p_value']:.3g}, adjusted "
        f"{equivalence['p_adjusted']:.3g}; {interval})."
    )


def power_sentence(result: Mapping[str, Any]) -> str:
    """What the comparison could detect and how many items would detect what it observed (``Power``),
    as a sentence that follows the verdict; empty when no power was computed."""
    power = result.get("power")
    if not power:
        return ""
    name = correction_name(result)
    if power["detectable_holm"] is None and power["detectable"] is None:
        could = f" At n = {power['n']} no difference is detectable with 80% power" + (
            f" ({power['why']})" if power["why"] else ""
        )
    else:
        could = (
            f" At n = {power['n']} it detects with 80% power a true difference of "
            f"{_or_none(power['detectable_holm'])} after {name}'s correction "
            f"({_or_none(power['detectable'])} alone)"
        )
    if power["items_needed_holm"] is None and power["items_needed"] is None:
        items = (
            "; no difference was observed to size a study for"
            if result["difference"] == 0
            else (f"; more than {MOST_ITEMS:,} items would be needed to detect the observed one")
        )
    else:
        items = (
            f"; about {_items(power['items_needed_holm'])} items would detect the observed "
            f"{abs(result['difference']):.3f} after {name}'s correction "
            f"({_items(power['items_needed'])} alone)"
        )
    return could + items + "."


def _or_none(value: float | None) -> str:
    return "none in reach" if value is None else f"{value:.3f}"


def _items(value: int | None) -> str:
    return f"more than {MOST_ITEMS:,}" if value is None else f"{value:,}"


def _not_significant(result: Mapping[str, Any], tested: str, interval: str) -> str:
    unadjusted_only = result["p_value"] < ALPHA
    name = correction_name(result)
    reach = (
        ""
        if result.get("reachable", True)
        else f"; no outcome could be significant here: the smallest attainable p at n = {result['n']} "
        f"({result['smallest_p']:.2g}) is above the loosest {name} threshold it could meet "
        f"({result['best_threshold']:.2g})"
    )
    return (
        f"{result['label']}: not significant after {name}'s correction ({tested}): the "
        f"{abs(result['difference']):.3f} difference in {result['metric']} could be chance"
        + (
            f" once the {result['m']} tests are accounted for, although it is below {ALPHA:.0%} alone"
            if unadjusted_only
            else " at this sample size"
        )
        + f" ({interval}){reach}."
    )


def comparisons_not_run(config: StudyConfig, records: Mapping[str, Any]) -> list[str]:
    return [c.label for c in config.comparisons if c.a not in records or c.b not in records]
