"""The reports of ``summeval study`` and ``summeval compare``, built from per-item scores.

One module per job:

* ``document``: the document model (headings, paragraphs, lists, figures, tables) and its two
  renderers, Markdown and one self-contained HTML page;
* ``analysis``: each metric's mean and 95% interval, the paired comparisons with Holm's correction;
* ``tables``, ``charts``, ``provenance``: the parts of a study report;
* ``study``: a study's report from its saved cells; ``compare``: the files of ``summeval compare``.

The names of the old single module ``summeval.report`` are re-exported here.
"""

from __future__ import annotations

from summeval.report.analysis import (
    StrategyResult,
    comparison_results,
    comparisons_not_run,
    interval_text,
    is_rate,
    result_row,
    score_summaries,
    summaries,
    verdict,
)
from summeval.report.charts import charts, write_chart
from summeval.report.document import Document, Table, to_html, to_markdown
from summeval.report.provenance import hardware, provenance, provenance_tables
from summeval.report.study import load_records, write_study_report
from summeval.report.tables import baseline_tables, comparisons_table, results_table

__all__ = [
    "Document",
    "StrategyResult",
    "Table",
    "baseline_tables",
    "charts",
    "comparison_results",
    "comparisons_not_run",
    "comparisons_table",
    "hardware",
    "interval_text",
    "is_rate",
    "load_records",
    "provenance",
    "provenance_tables",
    "result_row",
    "results_table",
    "score_summaries",
    "summaries",
    "to_html",
    "to_markdown",
    "verdict",
    "write_chart",
    "write_study_report",
]
