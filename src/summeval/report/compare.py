"""The files of ``summeval compare``: ``results.md``, ``results.json`` and the chart of the headline
metric, rewritten after every strategy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from summeval.report.analysis import StrategyResult, interval_text
from summeval.report.charts import chart_name, write_chart
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.files import write_text_atomically


def results_markdown(
    rows: Sequence[StrategyResult],
    family: TaskFamily,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> str:
    lines = []
    if planned is not None and len(rows) < len(planned):
        lines += [f"**Incomplete: {len(rows)} of {len(planned)} strategies finished.**", ""]
    if model_description:
        lines += [f"Model: `{model_description.strip()}`", ""]
    lines += [f"Task family: {family.name}", ""]
    metrics = list(family.reported_metrics)
    lines += [
        "| strategy | filter | n | " + " | ".join(f"{m} [95% interval]" for m in metrics) + " |",
        "|---|---|---:|" + "---:|" * len(metrics),
    ]
    for r in rows:
        cells = [interval_text(r.metrics[m]) for m in metrics]
        lines.append(f"| {r.strategy} | {r.filter} | {r.n} | " + " | ".join(cells) + " |")
    how = (
        "95% Clopper–Pearson (exact binomial) intervals over the items"
        if family.choices
        else "95% t intervals over the items, corrected for skewness (Hall 1992)"
    )
    lines += ["", f"Intervals: {how}."]
    return "\n".join(lines) + "\n"


def write_report(
    rows: Sequence[StrategyResult],
    out: Path,
    family: TaskFamily,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> None:
    """``results.md``, ``results.json`` and the chart for ``rows`` of ``family`` (each written atomically).

    Rewritten after every strategy; until all ``planned`` strategies are done, the table says it is
    incomplete and ``results.json`` has ``"complete": false``.
    """
    complete = planned is None or len(rows) >= len(planned)
    write_text_atomically(
        out / "results.md", results_markdown(rows, family, model_description, planned), within=out
    )
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
    write_chart(rows, out / chart_name(family), family, title=model_description.strip(), within=out)
