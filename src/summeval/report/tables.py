"""The tables of a study report: results per family (beside the published figures), baselines, and
the paired comparisons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from summeval.report.analysis import correction_name, difference_text, interval_text, is_rate
from summeval.report.document import Table
from summeval.stats import ALPHA, chance_range, holm, paired_test, rate_interval
from summeval.study.plan import Cell, StudyConfig
from summeval_tasks.contract import TaskFamily


def items_text(cell: Cell, n: int, split: str, split_size: int | None) -> str:
    """How a cell's items were chosen, in a few words: ``25 of 185 validation, seeded sample``."""
    of = f"{n} of {split_size} {split}" if split_size is not None else f"{n} of {split}"
    if cell.sample is not None:
        return f"{of}, seeded sample"
    if cell.limit is not None:
        return f"{of}, the first {cell.limit}"
    return f"{of}, all"


def results_table(
    config: StudyConfig,
    family: TaskFamily,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    stale: Mapping[str, str] | None = None,
    split_size: int | None = None,
    sampled: Mapping[str, bool] | None = None,
    spreads: Mapping[str, str] | None = None,
) -> Table:
    """One row per cell of ``family``: each metric's mean and interval, the items it scored (split,
    its size, how they were chosen) and the seed of a sampled cell, beside the published figures."""
    metrics = list(family.reported_metrics)
    cells = [c for c in config.cells if c.family is family]
    published_metrics = [m for m in metrics if any(m in config.published.get(c.id, {}) for c in cells)]
    header = [
        "model",
        "task",
        "filter",
        "items",
        "seed",
        *(f"{m} [95%]" for m in metrics),
        "cut by max_gen_toks",
    ]
    with_drawn = any((records.get(c.id) or {}).get("samples_drawn") for c in cells)
    if with_drawn:
        header.append("samples per item")
    with_spread = len(config.seeds) > 1 and any((sampled or {}).get(c.id) for c in cells)
    if with_spread:
        header.append("between seeds")
    header += [f"{config.published_label}: {m}" for m in published_metrics]
    sampled, spreads = sampled or {}, spreads or {}
    seeds = ", ".join(str(s) for s in config.seeds) or str(config.seed)
    rows = []
    for cell in cells:
        record = records.get(cell.id)
        published = config.published.get(cell.id, {})
        shown_published = [f"{published[m]:.3f}" if m in published else "" for m in published_metrics]
        if record is None:
            why = f"stale: {stale[cell.id]}, rerun" if stale and cell.id in stale else "not run"
            blank = [""] * (len(metrics) + 1 + with_drawn + with_spread)
            rows.append([cell.model, cell.task, why, "", "", *blank, *shown_published])
            continue
        summary = cell_summaries[cell.id]
        rows.append(
            [
                cell.model,
                cell.task,
                record["filter"],
                items_text(cell, record["n"], family.eval_split, split_size),
                seeds if sampled.get(cell.id) else "greedy",
                *(interval_text(summary[m]) for m in metrics),
                truncated_text(record),
                *([drawn_text(record)] if with_drawn else []),
                *([spreads.get(cell.id, "greedy: one run")] if with_spread else []),
                *shown_published,
            ]
        )
    how = (
        "Clopper–Pearson (exact binomial) intervals"
        if family.choices
        else "t intervals over items, corrected for skewness (Hall 1992)"
    )
    notes = [
        f"Intervals: 95% {how}."
        + (
            f" A sampled cell ran at each of the seeds {seeds} (the same items); its figures, intervals and "
            "paired tests take all of them: each item's mean over the seeds, and a t interval over those "
            "item means (items as clusters, seeds within items; Hall's skewness correction; "
            "Clopper–Pearson when every item's mean is 0 or 1), so it holds the randomness of sampling as "
            "well as of items. "
            "'between seeds' gives the spread of the per-seed means (sd, min–max) and the interval's width "
            "against the first seed's alone (averaging the seeds makes it narrower, not wider)."
            if with_spread
            else " They cover the sampling of items only: a sampled cell (self-consistency) ran with one "
            "seed, so the spread between seeds is not in them (list several with seeds: [...])."
        ),
        f"Items: the {family.eval_split} split"
        + (f" ({split_size} items)" if split_size is not None else "")
        + f". A seeded sample draws n of them with the study's seed ({config.seed}), the same items for "
        "every cell of that size; lm-eval's limit takes the first n.",
    ]
    notes.append(
        "Cut by max_gen_toks: the share of the cell's outputs that stopped at the token budget instead of "
        "at a stop sequence or the end of text (an output is as long as the budget, within 2 tokens, "
        "counted by the model's tokenizer); such an answer may be unfinished, and one the reader cannot "
        "read counts as invalid. —: not known (multiple choice, or a cell saved before it was measured)."
    )
    if with_drawn:
        notes.append(
            "Samples per item: the mean number of samples self-consistency drew per item (min–max) "
            "before its stopping rule (stop: window or beta) stopped it, of the K its samples option "
            "allows; a cell that samples all K says K, a greedy cell 1."
        )
    if family.two_stage_metrics:
        notes.append(two_stage_note(family))
    if published_metrics:
        notes.append(
            f"{config.published_label}: the figures the original study reported, shown beside the cell that "
            "reproduces them (they have no interval: the study reported none)."
        )
    return Table(f"{family.name}: results", header, rows, notes, text_columns=5)


def drawn_text(record: Mapping[str, Any]) -> str:
    """A cell's samples per item: ``6.4 (5–20 of 20)`` where a stopping rule drew them, else K (lm-eval's
    ``repeats``) or 1."""
    drawn = record.get("samples_drawn")
    most = int(((record.get("lm_eval") or {}).get("config") or {}).get("repeats") or 1)
    if not drawn:
        return str(most)
    return f"{sum(drawn) / len(drawn):.1f} ({min(drawn)}–{max(drawn)} of {most})"


def truncated_text(record: Mapping[str, Any]) -> str:
    """A cell's share of outputs cut by ``max_gen_toks`` (``0.24 (6 of 25 items)``), or — when unknown."""
    shares = [s for s in record.get("truncated") or [] if s is not None]
    if not shares:
        return "—"
    return f"{sum(shares) / len(shares):.2f} ({sum(1 for s in shares if s > 0)} of {len(shares)} items)"


def two_stage_note(family: Any) -> str:
    """One sentence on which accuracy is which, for a family with two-stage answers."""
    primary = family.primary_metric
    return (
        f"{primary} reads the model's own words with the strict reader (an answer it cannot read is "
        f'wrong and counts in invalid); {primary}_two_stage appends "{family.answer_trigger}" to the output '
        "and takes the label the model finds most likely (never invalid; a multiple-choice cell's answer is "
        "already that); agree_two_stage is the share of items where the strict reader found a verdict and "
        "it is the "
        "two-stage one."
    )


def baseline_tables(
    config: StudyConfig,
    family: TaskFamily,
    records: Mapping[str, Any],
    split_size: int | None = None,
) -> list[Table]:
    """For a family with fixed labels: each cell tested against always answering the majority label
    (the pool split's most common one) on the same items, paired (exact McNemar, Holm over the cells);
    and the range random guessing reaches, a prediction range in a table of its own."""
    if not family.choices:
        return []
    cells = [c for c in config.cells if c.family is family and c.id in records]
    if not cells:
        return []
    docs = family.load(config.metadata(family))
    majority_text, _ = Counter(family.answer_text(d) for d in docs[family.pool_split]).most_common(1)[0]
    majority = family.read_answer(majority_text)
    evaluated = {str(d.get("id")): d for d in docs[family.eval_split]}
    metric = family.primary_metric
    tests, pairs_of = [], {}
    for cell in cells:
        record = records[cell.id]
        pairs = pairs_of[cell.id] = [
            (family.score(evaluated[i], majority)[metric], score)
            for i, score in zip(record["items"], record["scores"][metric], strict=True)
            if i in evaluated
        ]
        tests.append(
            (
                cell,
                record,
                paired_test(
                    [a for a, _ in pairs],
                    [b for _, b in pairs],
                    binary=is_rate(family, [v for pair in pairs for v in pair]),  # not a seed-combined mean
                    seed=config.seed,
                ),
            )
        )
    adjusted = holm([t.p_value for _, _, t in tests]) if tests else []
    rows = []
    for (cell, record, test), p_holm in zip(tests, adjusted, strict=True):
        correct = round(sum(a for a, _ in pairs_of[cell.id]))
        rows.append(
            [
                cell.model,
                cell.task,
                items_text(cell, record["n"], family.eval_split, split_size),
                interval_text(
                    {"mean": test.mean_a, "n": test.n, **_rate(correct, test.n)} if test.n else {"mean": None}
                ),
                "—" if test.mean_b is None else f"{test.mean_b:.3f}",
                difference_text(test.to_dict()),
                f"{test.b_better}/{test.a_better}",
                f"{test.p_value:.3g}",
                f"{p_holm:.3g}",
                "yes" if p_holm < ALPHA and test.n >= 2 else "no",
            ]
        )
    against_majority = Table(
        f"{family.name}: baselines",
        [
            "model",
            "task",
            "items",
            f"always {majority_text!r}: {metric} [95%]",
            f"cell: {metric}",
            "cell − majority [95%, unadjusted]",
            "cell>maj. / maj.>cell",
            "p (unadjusted)",
            f"Holm p (m = {len(tests)})",
            f"beats or trails the majority at {ALPHA:.0%}",
        ],
        rows,
        [
            f"Each cell against always answering {majority_text!r} (the {family.pool_split} split's most "
            "common label) on the items the cell scored, item by item: exact McNemar test on the discordant "
            "items, its dual interval of the difference, and Holm's correction over the "
            f"{len(tests)} cells of this family (a family of its own, apart from the study's comparisons). "
            "The majority's accuracy: Clopper–Pearson interval."
        ],
        text_columns=3,
    )
    chance = 1 / len(family.choices)
    ranges = []
    for n in dict.fromkeys(t.n for _, _, t in tests):
        c_low, c_high = chance_range(n, chance)
        ranges.append(
            [
                f"random guessing among {len(family.choices)} labels",
                str(n),
                f"{chance:.3f}",
                f"[{c_low:.3f}, {c_high:.3f}]",
            ]
        )
    guessing = Table(
        f"{family.name}: random guessing (a prediction range, not a confidence interval)",
        ["baseline", "n", f"expected {metric}", "95% of guessing runs score in"],
        ranges,
        [
            "The range that guessing uniformly among the labels reaches 95% of the time on n items (binomial "
            "quantiles): an accuracy inside it is one guessing could produce. It is not an interval of any "
            "model's accuracy."
        ],
    )
    return [against_majority, guessing]


def _correction_note(name: str, m: int) -> str:
    if name == "Holm":
        return (
            f"Holm's step-down correction over the family of all m = {m} tests of the study "
            "(family-wise error at 5%); "
        )
    return (
        f"Benjamini-Hochberg's step-up correction over all m = {m} tests of the study "
        "(false discovery rate at 5%: among the comparisons called significant, at most 5% are expected "
        "to be false, on average; "
        "a weaker guarantee than Holm's, with more power); "
    )


def _rate(correct: int, n: int) -> dict[str, float | None]:
    """A rate's 95% interval as ``interval_text`` reads it: none below 2 items."""
    low, high = rate_interval(correct, n) if n >= 2 else (None, None)
    return {"ci_low": low, "ci_high": high}


def _equivalence_cell(result: Mapping[str, Any]) -> str:
    equivalence = result.get("equivalence")
    if not equivalence:
        return "—"
    shown = "yes" if equivalence["equivalent"] else "no"
    return f"{shown} (±{equivalence['margin']:.3g}, adjusted p {equivalence['p_adjusted']:.3g})"


def _power_cells(power: Mapping[str, Any] | None) -> list[str]:
    if not power:
        return ["—", "—"]

    def pair(holm: Any, alone: Any, shown) -> str:
        return "—" if holm is None and alone is None else f"{shown(holm)} / {shown(alone)}"

    def number(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}"

    def items(value: Any) -> str:
        return "—" if value is None else f"{value:,}"

    return [
        pair(power["detectable_holm"], power["detectable"], number),
        pair(power["items_needed_holm"], power["items_needed"], items),
    ]


def comparisons_table(results: Sequence[Mapping[str, Any]], missing: Sequence[str] = ()) -> Table:
    name = correction_name(results[0]) if results else "Holm"
    m = results[0].get("m", len(results)) if results else 0
    equivalence = any(r.get("equivalence") for r in results)
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
            f"{r['p_adjusted']:.3g}",
            "yes" if r["significant"] else "no",
            "yes" if r.get("reachable", True) else f"no: min p {r['smallest_p']:.2g}",
            *_power_cells(r.get("power")),
            *([_equivalence_cell(r)] if equivalence else []),
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
            "B − A [95%, unadjusted]",
            "B>A / A>B",
            "test",
            "p (unadjusted)",
            f"{name} p (m = {m})",
            f"significant at {ALPHA:.0%} after {name}",
            "can be significant",
            f"detectable at 80% power: {name} / alone",
            f"items for the observed B − A: {name} / alone",
            *([f"equivalent (TOST, after {name})"] if equivalence else []),
        ],
        rows,
        text_columns=4,
        row_classes=["significant" if r["significant"] else "" for r in results],
        notes=[
            "Each test pairs the two cells item by item. Accuracy: exact McNemar test on the discordant "
            "items (scipy.stats.binomtest), and the interval dual to it (Clopper–Pearson on the discordant "
            "items, scaled by their share). ROUGE: a two-sided paired t test on the per-item differences "
            "and its interval (scipy.stats.ttest_1samp); a sampled cell run at several seeds is compared "
            "on its item means over the seeds, with the exact sign-flip test (every sign of up to 16 "
            "differences enumerated) and its interval. Each interval comes from its test, so it excludes 0 "
            "exactly when p < 0.05. "
            + _correction_note(name, m)
            + "the intervals are unadjusted (each is a 95% interval alone), so "
            "an interval can exclude 0 while the comparison is not significant after correction. "
            "Can be significant: whether any outputs at all could make the comparison significant after "
            f"{name}'s correction (its smallest attainable p, e.g. 2 × 0.5ⁿ for McNemar on n items, below "
            f"the loosest {name} threshold it could meet). "
            "Detectable: the smallest true |B − A| the same test finds with 80% power at this n, at 5% / m "
            f"(the strictest {name} threshold) and at 5% alone; items: how many would find the observed "
            "difference so (summeval.power: exact for McNemar, with the observed share of discordant items; "
            "for ROUGE, the noncentral t with the observed spread of the differences, simulated from a "
            "Pearson III with their observed skewness where they are skewed and n ≤ 200; bench/power.py "
            "checks both against simulation). —: nothing "
            "detectable at this n, no difference observed, or more than 1,000,000 items."
        ]
        + (
            [
                "Equivalent: the two one-sided tests (TOST) that B − A lies within ± the comparison's "
                "equivalence_margin (one-sided t tests on the per-item differences; the 90% interval lies "
                f"inside the margin exactly when p < 0.05), adjusted with the rest by {name}'s correction. "
                "No does not mean different: only that equivalence is not shown at this n."
            ]
            if equivalence
            else []
        )
        + (
            [
                f"Not run yet (a cell missing), so not tested: {'; '.join(missing)}. {name}'s correction "
                "above covers only the comparisons shown and will be stricter once these are added."
            ]
            if missing
            else []
        ),
    )
