"""The files of ``summeval compare``: ``results.md`` and ``results.html`` (one ``Document``, rendered as the
study's report is), ``results.json`` and the chart of the headline metric, rewritten after every
strategy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from summeval.report.analysis import StrategyResult, interval_text
from summeval.report.charts import chart_name, write_chart
from summeval.report.document import REPORT_CSS, Document, Figures, Paragraph, Table, to_html, to_markdown
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.files import write_text_atomically


def compare_document(
    rows: Sequence[StrategyResult],
    family: TaskFamily,
    model_description: str = "",
    planned: Sequence[str] | None = None,
    chart: Path | None = None,
) -> Document:
    """Compare's results as a ``Document`` (the model the study's report is built on): whether every
    planned strategy finished, the model, a row per strategy with each metric's interval, the chart."""
    metrics = list(family.reported_metrics)
    how = (
        "95% Clopper–Pearson (exact binomial) intervals over the items"
        if family.choices
        else "95% t intervals over the items, corrected for skewness (Hall 1992)"
    )
    table = Table(
        f"{family.name}: results",
        ["strategy", "filter", "n", *(f"{m} [95% interval]" for m in metrics)],
        [[r.strategy, r.filter, str(r.n), *(interval_text(r.metrics[m]) for m in metrics)] for r in rows],
        notes=[f"Intervals: {how}."],
        text_columns=2,
    )
    incomplete = planned is not None and len(rows) < len(planned)
    return Document(f"Compare: {family.name}").add(
        Paragraph(f"Incomplete: {len(rows)} of {len(planned)} strategies finished.", strong=True)
        if incomplete and planned is not None
        else None,
        Paragraph(f"Model: {model_description.strip()}") if model_description.strip() else None,
        Paragraph(f"Task family: {family.name}"),
        table,
        Figures([(f"{family.primary_metric} by strategy, 95% intervals", chart)]) if chart else None,
    )


def results_markdown(
    rows: Sequence[StrategyResult],
    family: TaskFamily,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> str:
    """``compare_document`` as Markdown, without the chart (what ``summeval compare`` prints)."""
    return to_markdown(compare_document(rows, family, model_description, planned), Path("."))


def write_report(
    rows: Sequence[StrategyResult],
    out: Path,
    family: TaskFamily,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> None:
    """``results.md``, ``results.html``, ``results.json`` and the chart for ``rows`` of ``family`` (each
    written atomically).

    Rewritten after every strategy; until all ``planned`` strategies are done, the table says it is
    incomplete and ``results.json`` has ``"complete": false``.
    """
    complete = planned is None or len(rows) >= len(planned)
    chart = write_chart(rows, out / chart_name(family), family, title=model_description.strip(), within=out)
    document = compare_document(rows, family, model_description, planned, chart)
    write_text_atomically(out / "results.md", to_markdown(document, out), within=out)
    write_text_atomically(out / "results.html", to_html(document, REPORT_CSS), within=out)
    write_text_atomically(
        out / "results.json",
        json.dumps(
            {
                "model": model_description.strip(),
                "family": family.name,
                "complete": complete,
                "results": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n",
        within=out,
    )
