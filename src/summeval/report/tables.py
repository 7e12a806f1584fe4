"""The tables of a study report: results per family (beside the published figures), baselines, and
the paired comparisons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_strategies.registry import get_family
from summeval.report.analysis import difference_text, interval_text
from summeval.report.document import Table
from summeval.stats import ALPHA, chance_range, rate_interval
from summeval.study.plan import StudyConfig


def results_table(
    config: StudyConfig,
    family_name: str,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    stale: set[str] = frozenset(),
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
            why = "stale: settings changed, rerun" if cell.id in stale else "not run"
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
        "Clopper–Pearson (exact binomial) intervals"
        if family.choices
        else "t intervals over items, corrected for skewness (Hall 1992)"
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
        low, high = rate_interval(correct, n)
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
            "Majority: Clopper–Pearson interval. Random: its expected accuracy, and the range that guessing "
            "reaches 95% of the time on n items (binomial): an accuracy inside it is one guessing could "
            "produce."
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
            "—" if r["mean_a"] is None else f"{r['mean_a']:.3f}",
            "—" if r["mean_b"] is None else f"{r['mean_b']:.3f}",
            difference_text(r),
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
            "items (scipy.stats.binomtest), and the interval dual to it (Clopper–Pearson on the discordant "
            "items, scaled by their share). ROUGE: a two-sided paired t test on the per-item differences "
            "and its interval (scipy.stats.ttest_1samp). Each interval comes from its test, so it excludes 0 "
            "exactly when p < 0.05. "
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
