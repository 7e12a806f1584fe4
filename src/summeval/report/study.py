"""The report of a study: ``OUT/report.md`` and ``OUT/report.html`` (one self-contained file, charts
embedded), ``OUT/charts/*.png``, ``OUT/samples/<model>__<task>.csv`` and ``OUT/report.json``.

It is built from the saved cells only (``summeval.study``), so it can be rebuilt at any time:
* per family, each cell's metrics with 95% intervals (Wilson for accuracy and invalid rate, BCa bootstrap
  over items for ROUGE), beside the figures the original study published;
* for families with fixed labels, the always-majority-label and random-guessing baselines;
* each comparison of the config as a paired test on the same items (exact McNemar for accuracy, a
  paired permutation test for ROUGE; the difference's interval dual to McNemar for accuracy, a paired
  BCa bootstrap for ROUGE), with
  Holm's correction over all of them, and a sentence saying whether it is significant at this size;
* provenance: package versions, models and their fingerprints, adapters, data hashes, seed, hardware,
  time per cell.

The report is one ``Document`` (``summeval.report.document``), rendered to Markdown and to HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summeval.report.analysis import comparison_results, comparisons_not_run, summaries
from summeval.report.charts import charts
from summeval.report.document import (
    Bullets,
    Document,
    Figures,
    Heading,
    Links,
    Paragraph,
    to_html,
    to_markdown,
)
from summeval.report.provenance import provenance, provenance_tables
from summeval.report.tables import baselines_table, comparisons_table, results_table
from summeval.study.cells import CSV_FILE, cell_dir, cell_states, read_cell
from summeval.study.plan import StudyConfig
from summeval_tasks.atomic import write_text_atomically


def load_records(
    config: StudyConfig, out: Path, keys: Mapping[str, str | None] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The saved record of each finished cell, by cell id, and the stale cells with why (not intact,
    or saved with other settings than ``keys`` give now; those are left out of the report)."""
    records, stale = {}, {}
    for cell_id, state in cell_states(config, out, keys).items():
        if state == "current":
            records[cell_id] = read_cell(out, config.cell(cell_id))
        elif state != "not run":
            stale[cell_id] = state
    return records, stale


def write_study_report(
    config: StudyConfig,
    out: Path,
    *,
    inputs: Any = None,
    keys: Mapping[str, str | None] | None = None,
    timings: Mapping | None = None,
) -> Path:
    """Write the report files from the saved cells whose key is ``keys``' (all saved cells without
    ``keys``); return the path of ``report.md``."""
    records, stale = load_records(config, out, keys)
    cell_summaries = {c.id: summaries(c, records[c.id], config.seed) for c in config.cells if c.id in records}
    families = list(dict.fromkeys(c.family for c in config.cells))
    result_tables = [results_table(config, f, records, cell_summaries, stale) for f in families]
    baseline_tables = [t for t in (baselines_table(config, f, records) for f in families) if t]
    compared = comparison_results(config, records)
    facts = provenance(config, records, inputs, timings or {})
    chart_paths = charts(config, records, cell_summaries, out)
    for cell in config.cells:
        if cell.id in records:
            csv_text = (cell_dir(out, cell) / CSV_FILE).read_text(encoding="utf-8")
            write_text_atomically(out / "samples" / f"{cell.model}__{cell.task}.csv", csv_text)

    finished = len(records)
    status = (
        f"All {finished} cells finished."
        if finished == len(config.cells)
        else f"Incomplete: {finished} of {len(config.cells)} cells finished."
    )
    missing = comparisons_not_run(config, records)
    document = Document(f"Study: {config.name}").add(
        Paragraph(config.description.strip()),
        Paragraph(status, strong=True),
        Heading("Results"),
        *result_tables,
        *baseline_tables,
        Heading("Charts"),
        Figures(list(chart_paths.items())),
    )
    if compared or missing:
        document.add(
            Heading("Which differences are real"),
            Bullets([r["verdict"] for r in compared]),
            comparisons_table(compared, missing),
        )
    document.add(
        Heading("Per-sample outputs"),
        Links([(c.id, f"samples/{c.model}__{c.task}.csv") for c in config.cells if c.id in records]),
        Heading("Provenance"),
        *provenance_tables(facts),
    )
    write_text_atomically(out / "report.md", to_markdown(document, out))
    write_text_atomically(out / "report.html", to_html(document, _CSS))
    write_text_atomically(
        out / "report.json",
        json.dumps(
            {"complete": finished == len(config.cells), "comparisons": compared, "provenance": facts},
            indent=2,
            default=str,
        )
        + "\n",
    )
    return out / "report.md"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td { white-space: nowrap; }
th.text, td.text { text-align: left; }
th { background: #eef2f7; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { font-size: 12px; color: #555; }
"""
