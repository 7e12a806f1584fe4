"""The files of ``summeval compare``: ``results.md``, ``results.json`` and the chart of the headline
metric, rewritten after every strategy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from prompt_strategies.registry import get_family
from summeval.report.analysis import StrategyResult, interval_text
from summeval.report.charts import chart_name, write_chart
from summeval_tasks.atomic import write_text_atomically
from summeval_tasks.contract import TaskFamily


def results_markdown(
    rows: Sequence[StrategyResult],
    family: TaskFamily | None = None,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> str:
    fam = family or get_family("sports_understanding")
    lines = []
    if planned is not None and len(rows) < len(planned):
        lines += [f"**Incomplete: {len(rows)} of {len(planned)} strategies finished.**", ""]
    if model_description:
        lines += [f"Model: `{model_description.strip()}`", ""]
    lines += [f"Task family: {fam.name}", ""]
    metrics = list(fam.reported_metrics)
    lines += [
        "| strategy | filter | n | " + " | ".join(f"{m} [95% interval]" for m in metrics) + " |",
        "|---|---|---:|" + "---:|" * len(metrics),
    ]
    for r in rows:
        cells = [interval_text(r.metrics[m]) for m in metrics]
        lines.append(f"| {r.strategy} | {r.filter} | {r.n} | " + " | ".join(cells) + " |")
    how = (
        "95% Clopper–Pearson (exact binomial) intervals over the items"
        if fam.choices
        else "95% t intervals over the items, corrected for skewness (Hall 1992)"
    )
    lines += ["", f"Intervals: {how}."]
    return "\n".join(lines) + "\n"


def write_report(
    rows: Sequence[StrategyResult],
    out: Path,
    family: TaskFamily | None = None,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> None:
    """``results.md``, ``results.json`` and the chart for ``rows`` (each written atomically).

    Rewritten after every strategy; until all ``planned`` strategies are done, the table says it is
    incomplete and ``results.json`` has ``"complete": false``.
    """
    fam = family or get_family("sports_understanding")
    complete = planned is None or len(rows) >= len(planned)
    write_text_atomically(out / "results.md", results_markdown(rows, fam, model_description, planned))
    write_text_atomically(
        out / "results.json",
        json.dumps(
            {
                "model": model_description.strip(),
                "family": fam.name,
                "complete": complete,
                "results": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n",
    )
    write_chart(rows, out / chart_name(fam), fam, title=model_description.strip())
