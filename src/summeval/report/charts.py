"""Bar charts of a family's headline metric with the 95% intervals as error bars (PNG)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prompt_strategies.registry import get_family
from summeval.report.analysis import StrategyResult
from summeval.study.plan import StudyConfig
from summeval_tasks.atomic import write_bytes_atomically
from summeval_tasks.contract import TaskFamily


def chart_name(family: TaskFamily) -> str:
    return f"{family.primary_metric}.png"


def write_chart(rows: Sequence[StrategyResult], path: Path, family: TaskFamily, title: str = "") -> Path:
    """A bar chart of the family's headline metric per strategy with its 95% interval as error bars (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = family.primary_metric
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.8), dpi=120)
    names = [r.strategy for r in rows]
    cells = [r.metrics[metric] for r in rows]
    # no items: no bar; fewer than 2 (or no spread): a bar without an error bar
    means = [math.nan if c["mean"] is None else c["mean"] for c in cells]
    errors = [
        [0.0 if c["ci_low"] is None else c["mean"] - c["ci_low"] for c in cells],
        [0.0 if c["ci_high"] is None else c["ci_high"] - c["mean"] for c in cells],
    ]
    bars = ax.bar(names, means, yerr=errors, capsize=4, color="#4C72B0")
    for bar, mean in zip(bars, means, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            0.02,
            "—" if math.isnan(mean) else f"{mean:.2f}",
            ha="center",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    if family.choices:
        ax.axhline(1 / len(family.choices), color="grey", linestyle="--", linewidth=0.8, label="chance")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"{metric} (95% interval)")
    ax.set_title(f"{family.name}{': ' + title if title else ''}", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return write_bytes_atomically(path, buffer.getvalue())


def charts(
    config: StudyConfig,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    out: Path,
) -> dict[str, Path]:
    """A bar chart per family of its headline metric per cell, with the 95% intervals (PNG)."""
    written = {}
    for family_name in dict.fromkeys(c.family for c in config.cells):
        family = get_family(family_name)
        rows = [
            StrategyResult(
                cell.id,
                cell.task,
                records[cell.id]["filter"],
                records[cell.id]["n"],
                cell_summaries[cell.id],
            )
            for cell in config.cells
            if cell.family == family_name and cell.id in records
        ]
        if rows:
            path = out / "charts" / f"{family_name}_{family.primary_metric}.png"
            written[family_name] = write_chart(rows, path, family, title=config.name)
    return written
