"""The tables of a study report: results per family (beside the published figures), baselines, and
the paired comparisons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_strategies.registry import get_family
from summeval.report.analysis import interval_text
from summeval.report.document import Table
from summeval.stats import ALPHA, BOOTSTRAP_RESAMPLES, chance_range, wilson_interval
from summeval.study.plan import StudyConfig


def results_table(
    config: StudyConfig,
    family_name: str,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    stale: Mapping[str, str] | None = None,
) -> Table:
    family = get_family(family_name)
    metrics = list(family.metrics)
    cells = [c for c in config.cells if c.family == family_name]
    published_metrics = [m for m in metrics if any(m in config.published.get(c.id, {}) for c in cells)]
    header = ["model", "task", "filter", "n", *(f"{m} [95%]" for m in metrics)]
    header += [f"{config.published_label}: {m}" for m in published_metrics]
    rows = []
    for cell in cells:
        record = records.get(cell.id)
        published = config.published.get(cell.id, {})
        shown_published = [f"{published[m]:.3f}" if m in published else "" for m in published_metrics]
        if record is None:
            why = f"stale: {stale[cell.id]}, rerun" if stale and cell.id in stale else "not run"
            rows.append([cell.model, cell.task, why, "", *([""] * len(metrics)), *shown_published])
            continue
        summary = cell_summaries[cell.id]
        rows.append(
            [
                cell.model,
                cell.task,
                record["filter"],
                str(record["n"]),
                *(interval_text(summary[m]) for m in metrics),
                *shown_published,
            ]
        )
    how = (
        "Wilson score intervals"
        if family.choices
        else f"BCa bootstrap intervals over items (scipy.stats.bootstrap, {BOOTSTRAP_RESAMPLES} resamples)"
    )
    notes = [f"Intervals: 95% {how}."]
    if published_metrics:
        notes.append(
            f"{config.published_label}: the figures the original study reported, shown beside the cell that "
            "reproduces them (they have no interval: the study reported none)."
        )
    return Table(f"{family_name}: results", header, rows, notes, text_columns=3)


def baselines_table(config: StudyConfig, family_name: str, records: Mapping[str, Any]) -> Table | None:
    """Always-majority-label (the pool split's most common label) and random guessing, on the evaluated
    items."""
    family = get_family(family_name)
    if not family.choices:
        return None
    cells = [c for c in config.cells if c.family == family_name and c.id in records]
    if not cells:
        return None
    docs = family.load(config.metadata(family_name))
    pool = list(docs[family.pool_split])
    majority_text, _ = Counter(family.answer_text(d) for d in pool).most_common(1)[0]
    majority = family.read_answer(majority_text)
    evaluated = {str(d.get("id")): d for d in docs[family.eval_split]}
    rows = []
    for chosen in dict.fromkeys((c.limit, c.sample) for c in cells):
        record = records[next(c.id for c in cells if (c.limit, c.sample) == chosen)]
        items = [evaluated[i] for i in record["items"] if i in evaluated]
        n = len(items)
        correct = round(sum(family.score(d, majority)[family.primary_metric] for d in items))
        low, high = wilson_interval(correct, n)
        rows.append(
            [
                f"always {majority_text!r} (the {family.pool_split} split's majority)",
                str(n),
                f"{correct / n if n else 0:.3f} [{low:.3f}, {high:.3f}]",
            ]
        )
        chance = 1 / len(family.choices)
        c_low, c_high = chance_range(n, chance)
        rows.append(
            [
                f"random guessing among {len(family.choices)} labels",
                str(n),
                f"{chance:.3f} [{c_low:.3f}, {c_high:.3f}]",
            ]
        )
    return Table(
        f"{family_name}: baselines",
        ["baseline", "n", f"{family.primary_metric} [95%]"],
        rows,
        [
            "Majority: Wilson interval. Random: its expected accuracy, and the range that guessing reaches "
            "95% of the time on n items (binomial): an accuracy inside it is one guessing could produce."
        ],
    )


def comparisons_table(results: Sequence[Mapping[str, Any]], missing: Sequence[str] = ()) -> Table:
    rows = [
        [
            r["label"],
            r["a"],
            r["b"],
            r["metric"],
            str(r["n"]),
            f"{r['mean_a']:.3f}",
            f"{r['mean_b']:.3f}",
            f"{r['difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]",
            f"{r['b_better']}/{r['a_better']}",
            r["test"],
            f"{r['p_value']:.3g}",
            f"{r['p_holm']:.3g}",
            "yes" if r["significant"] else "no",
        ]
        for r in results
    ]
    return Table(
        "Paired comparisons",
        [
            "comparison",
            "A",
            "B",
            "metric",
            "n",
            "A",
            "B",
            "B − A [95%]",
            "B>A / A>B",
            "test",
            "p",
            "Holm p",
            f"significant at {ALPHA:.0%}",
        ],
        rows,
        text_columns=4,
        notes=[
            "Each test pairs the two cells item by item. Accuracy: exact McNemar test on the discordant "
            "items (scipy.stats.binomtest). ROUGE: a two-sided paired permutation test (random sign flips "
            "of the per-item differences; exact when n ≤ 13; scipy.stats.permutation_test). B − A, accuracy: "
            "the exact interval dual to McNemar's test (Clopper–Pearson on the discordant items, scaled by "
            "their share; it excludes 0 exactly when p < 0.05); ROUGE: paired BCa bootstrap interval. "
            "Holm's step-down correction over all comparisons of the study; the intervals are unadjusted."
        ]
        + (
            [
                f"Not run yet (a cell missing), so not tested: {'; '.join(missing)}. Holm's correction above "
                "covers only the comparisons shown and will be stricter once these are added."
            ]
            if missing
            else []
        ),
    )
