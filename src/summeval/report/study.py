"""The report of a study: ``OUT/report.md`` and ``OUT/report.html`` (one self-contained file, charts
embedded), ``OUT/charts/*.png``, ``OUT/samples/<model>__<task>.csv`` and ``OUT/report.json``.

It is built from the saved cells only (``summeval.study``), so it can be rebuilt at any time:
* per family, each cell's metrics with 95% intervals (Clopper–Pearson for accuracy and invalid rate,
  Hall's skewness-corrected t over items for ROUGE), beside the figures the original study published;
* for families with fixed labels, the always-majority-label and random-guessing baselines;
* each comparison of the config as a paired test on the same items, with the difference's interval from
  the same procedure (exact McNemar and its dual interval for accuracy, the paired t test for ROUGE), with
  Holm's correction over all of them, and a sentence saying whether it is significant at this size;
  a forest plot of every B − A with its interval; significant rows marked;
* per comparison, its items that changed (B right and A wrong, A right and B wrong; for ROUGE the largest
  differences) with A's and B's outputs side by side, and per family with fixed labels the items every
  cell gets wrong (``summeval.report.items``);
* per cell, its items (prompt, output, answer read, scores) inside the HTML page, collapsible and
  filterable by correct / wrong / invalid, so the page needs no file beside it;
* provenance: package versions, models and their fingerprints, adapters, data hashes, seed, hardware,
  time per cell.

The report is one ``Document`` (``summeval.report.document``), rendered to Markdown and to HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summeval.lm_eval.samples import sample_rows
from summeval.report.analysis import (
    comparison_results,
    comparisons_not_run,
    score_summaries,
    summaries,
    unreachable_banner,
)
from summeval.report.charts import charts, write_forest
from summeval.report.document import (
    REPORT_CSS,
    Bullets,
    Document,
    Figures,
    Heading,
    Paragraph,
    to_html,
    to_markdown,
)
from summeval.report.items import item_diff, sample_view, wrong_everywhere
from summeval.report.provenance import provenance, provenance_tables
from summeval.report.tables import baseline_tables, comparisons_table, results_table
from summeval.study.keys import all_cells, replicate_cells, sampled_cells
from summeval.study.plan import StudyConfig
from summeval.study.store import CSV_FILE, cell_dir, cell_states, read_cell, read_cell_samples
from summeval_tasks.util.files import write_text_atomically


def load_records(
    config: StudyConfig, out: Path, keys: Mapping[str, str | None] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The saved record of each finished cell, by cell id, and the stale cells with why (not intact,
    or saved with other settings than ``keys`` give now; those are left out of the report). Replicates
    at further seeds are included, under their own ids (``model/task@seedN``)."""
    cells = {c.id: c for c in all_cells(config)}
    records, stale = {}, {}
    for cell_id, state in cell_states(config, out, keys).items():
        if state == "current":
            records[cell_id] = read_cell(out, cells[cell_id])
        elif state != "not run":
            stale[cell_id] = state
    return records, stale


def _replicate_ids(config: StudyConfig) -> dict[str, list[str]]:
    """Sampled cell id → the ids of its replicates at the study's further seeds."""
    replicates: dict[str, list[str]] = {}
    for replicate in replicate_cells(config):
        replicates.setdefault(f"{replicate.model}/{replicate.task}", []).append(replicate.id)
    return replicates


def combined_over_seeds(config: StudyConfig, records: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Sampled cell id → its record with every item's scores averaged over the seeds that ran (at least
    two), on the items every seed scored (the same items by design), in the first seed's order: its
    figures, intervals and paired tests then take all seeds, items as clusters and seeds within items (a
    t interval over the item means). ``seeds_combined`` counts the seeds; ``first_seed_scores`` keeps the
    first seed's scores of the same items."""
    if len(config.seeds) < 2:
        return {}
    combined = {}
    for cell_id, ids in _replicate_ids(config).items():
        runs = [records[i] for i in [cell_id, *ids] if i in records]
        if cell_id not in records or len(runs) < 2:
            continue
        first = records[cell_id]
        by_item = [
            {m: dict(zip(run["items"], run["scores"][m], strict=True)) for m in first["scores"]}
            for run in runs
        ]
        items = [i for i in first["items"] if all(i in run[m] for run in by_item for m in run)]
        scores = {m: [sum(run[m][i] for run in by_item) / len(runs) for i in items] for m in first["scores"]}
        combined[cell_id] = {
            **first,
            "items": items,
            "n": len(items),
            "scores": scores,
            "seeds_combined": len(runs),
            "first_seed_scores": {m: [by_item[0][m][i] for i in items] for m in first["scores"]},
        }
    return combined


def widening(cell: Any, record: Mapping[str, Any], summary: Mapping[str, Any], seed: int) -> str:
    """How much wider the headline metric's interval over all seeds is than the first seed's alone, as a
    clause for the 'between seeds' column (empty where either has no interval)."""
    metric = cell.family.primary_metric
    alone = score_summaries(cell.family, {metric: record["first_seed_scores"][metric]}, seed)[metric]
    both = summary[metric]
    if None in (alone["ci_low"], both["ci_low"]) or alone["ci_high"] == alone["ci_low"]:
        return ""
    ratio = (both["ci_high"] - both["ci_low"]) / (alone["ci_high"] - alone["ci_low"])
    return f"; interval over the {record['seeds_combined']} seeds {ratio:.2f}× the first seed's width"


def seed_spreads(config: StudyConfig, records: Mapping[str, Any]) -> dict[str, str]:
    """Sampled cell id → the spread of its primary metric between the study's seeds (``seeds: [...]``):
    the standard deviation and range of the per-seed means, over the seeds that have run."""
    import statistics

    if len(config.seeds) < 2:
        return {}
    spreads = {}
    for cell_id, ids in _replicate_ids(config).items():
        metric = config.cell(cell_id).family.primary_metric
        means = [
            sum(records[i]["scores"][metric]) / len(records[i]["scores"][metric])
            for i in [cell_id, *ids]
            if i in records and records[i]["scores"][metric]
        ]
        if len(means) < 2:
            spreads[cell_id] = f"{len(means)} of {len(config.seeds)} seeds run"
        else:
            spreads[cell_id] = (
                f"{metric}: sd {statistics.stdev(means):.3f}, {min(means):.3f}–{max(means):.3f} "
                f"({len(means)} seeds)"
            )
    return spreads


def write_study_report(
    config: StudyConfig,
    out: Path,
    *,
    inputs: Any = None,
    keys: Mapping[str, str | None] | None = None,
    timings: Mapping | None = None,
    failed: Mapping[str, str] | None = None,
) -> Path:
    """Write the report files from the saved cells whose key is ``keys``' (all saved cells without
    ``keys``); return the path of ``report.md``. ``failed``: cells that raised in this run (on Ray), by id,
    with their error: the report names them."""
    every_record, stale = load_records(config, out, keys)
    combined = combined_over_seeds(config, every_record)
    records = {c.id: combined.get(c.id, every_record[c.id]) for c in config.cells if c.id in every_record}
    cell_summaries = {c.id: summaries(c, records[c.id], config.seed) for c in config.cells if c.id in records}
    spreads = seed_spreads(config, every_record)
    for cell_id, record in combined.items():
        spreads[cell_id] += widening(config.cell(cell_id), record, cell_summaries[cell_id], config.seed)
    families = config.families()
    sizes = dict(inputs.eval_sizes) if inputs is not None else {}
    sampled = sampled_cells(config)
    result_tables = [
        results_table(
            config,
            f,
            records,
            cell_summaries,
            stale,
            sizes.get(f.name),
            sampled,
            spreads,
        )
        for f in families
    ]
    baselines = [t for f in families for t in baseline_tables(config, f, records, sizes.get(f.name))]
    compared = comparison_results(config, records)
    facts = provenance(config, every_record, inputs, timings or {})
    chart_paths = charts(config, records, cell_summaries, out)
    forest = (
        write_forest(compared, out / "charts" / "comparisons_forest.png", within=out) if compared else None
    )
    views, rows_by_cell = [], {}
    for cell in config.cells:
        if cell.id in records:
            csv_text = (cell_dir(out, cell) / CSV_FILE).read_text(encoding="utf-8")
            href = f"samples/{cell.model}__{cell.task}.csv"
            write_text_atomically(
                out / href, csv_text, within=out
            )  # the cell's CSV, copied beside the report
            first_seed = every_record[cell.id]  # the outputs shown are the first seed's
            rows_by_cell[cell.id] = sample_rows(read_cell_samples(out, cell, first_seed), cell.family)
            truncated = dict(zip(first_seed["items"], first_seed.get("truncated") or [], strict=False))
            views.append(sample_view(cell.id, cell.family, rows_by_cell[cell.id], href, truncated))
    diffs = [
        item_diff(r, rows_by_cell)
        for r in compared
        if r["metric"] == config.cell(r["a"]).family.primary_metric
    ]
    wrong = [w for f in families if (w := wrong_everywhere(f, config, rows_by_cell)) is not None]

    finished = len(records)
    status = (
        f"All {finished} cells finished."
        if finished == len(config.cells)
        else f"Incomplete: {finished} of {len(config.cells)} cells finished."
    )
    missing = comparisons_not_run(config, records)
    failures = [f"{cell_id}: {error}" for cell_id, error in sorted((failed or {}).items())]
    document = Document(f"Study: {config.name}").add(
        Paragraph(config.description.strip()),
        Paragraph(status, strong=True),
        Paragraph(
            f"{len(failures)} cell(s) failed in this run and are left out; run the study again to retry:",
            strong=True,
        )
        if failures
        else None,
        Bullets(failures) if failures else None,
        Heading("Results"),
        *result_tables,
        *baselines,
        Heading("Charts"),
        Figures(list(chart_paths.items())),
    )
    if compared or missing:
        document.add(
            Heading("Which differences are real"),
            *([Paragraph(banner, strong=True)] if (banner := unreachable_banner(compared)) else []),
            Bullets([r["verdict"] for r in compared]),
            comparisons_table(compared, missing),
            Figures([("Each comparison's B − A with its 95% interval (unadjusted)", forest)])
            if forest
            else None,
        )
    if diffs or wrong:
        document.add(
            Heading("A against B, item by item"),
            Paragraph(
                "Each comparison's items that changed: for accuracy, those B gets right and A wrong, and "
                "those A gets right and B wrong (its discordant items); for ROUGE, the largest differences. "
                "Each item shows its input and reference, then A's and B's outputs side by side. Then, per "
                "family with fixed labels, the items every cell gets wrong."
            ),
            *diffs,
            *wrong,
        )
    document.add(
        Heading("Per-sample outputs"),
        Paragraph(
            "Each cell's items: prompt, model output, the answer read and its score (the CSVs in samples/ "
            "hold the same rows)."
        ),
        *views,
        Heading("Provenance"),
        *provenance_tables(facts),
    )
    write_text_atomically(out / "report.md", to_markdown(document, out), within=out)
    write_text_atomically(out / "report.html", to_html(document, REPORT_CSS), within=out)
    results = [
        {
            "cell": cell.id,
            "model": cell.model,
            "task": cell.task,
            "family": cell.family.name,
            "strategy": cell.strategy.name,
            "filter": records[cell.id]["filter"],
            "n": records[cell.id]["n"],
            "metrics": cell_summaries[cell.id],
        }
        for cell in config.cells
        if cell.id in records
    ]
    write_text_atomically(
        out / "report.json",
        json.dumps(
            {
                "complete": finished == len(config.cells),
                "failed": dict(failed or {}),
                "results": results,
                "comparisons": compared,
                "provenance": facts,
            },
            indent=2,
            default=str,
        )
        + "\n",
        within=out,
    )
    return out / "report.md"


def results_section(report: Path) -> str:
    """The results tables of a written ``report.md`` (its ``Results`` section, charts left out): what
    ``summeval compare`` prints."""
    lines = report.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Results") if "## Results" in lines else len(lines)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()
