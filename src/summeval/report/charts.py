"""Charts of a study (PNG): per family, its headline metric per cell with the 95% intervals, and one
forest plot of every comparison's B − A with its interval and a zero line.

Accuracy is drawn as bars on its full 0–1 axis with the chance line: its scale is known, bars start at 0
honestly, and the distance to chance is the point. ROUGE (no fixed choices) is drawn as points with
error bars on an axis scaled to the intervals, so differences of a few hundredths stay visible; bars on
a cut axis would exaggerate them."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from summeval.report.analysis import StrategyResult, correction_name
from summeval.study.plan import StudyConfig
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.files import write_bytes_atomically


def write_chart(
    rows: Sequence[StrategyResult],
    path: Path,
    family: TaskFamily,
    title: str = "",
    *,
    within: Path | None = None,
) -> Path:
    """A bar chart of the family's headline metric per strategy with its 95% interval as error bars (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = family.primary_metric
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.8), dpi=120)
    names = [r.strategy for r in rows]
    cells = [r.metrics[metric] for r in rows]
    # no items: no mark ("—"); fewer than 2 (or no spread): a mark without an error bar
    means = [math.nan if c["mean"] is None else c["mean"] for c in cells]
    lows = [m if c.get("ci_low") is None else c["ci_low"] for m, c in zip(means, cells, strict=True)]
    highs = [m if c.get("ci_high") is None else c["ci_high"] for m, c in zip(means, cells, strict=True)]
    errors = [
        [0.0 if math.isnan(m) else m - lo for m, lo in zip(means, lows, strict=True)],
        [0.0 if math.isnan(m) else h - m for m, h in zip(means, highs, strict=True)],
    ]
    if family.choices:
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
        ax.axhline(1 / len(family.choices), color="grey", linestyle="--", linewidth=0.8, label="chance")
        ax.legend(loc="upper right", fontsize=7)
        ax.set_ylim(0, 1)
    else:
        ax.errorbar(names, means, yerr=errors, fmt="o", capsize=4, color="#4C72B0", markersize=6)
        for i, mean in enumerate(means):
            if not math.isnan(mean):  # an empty cell has no mark
                ax.annotate(f"{mean:.3f}", (i, mean), xytext=(6, 0), textcoords="offset points", fontsize=8)
        ax.set_ylim(*data_limits(lows, highs))
        ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_ylabel(f"{metric} (95% interval)")
    ax.set_title(f"{family.name}{': ' + title if title else ''}", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return write_bytes_atomically(path, buffer.getvalue(), within=within)


def data_limits(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float]:
    """An axis range around the intervals (a tenth of their span as margin, within 0–1)."""
    finite_lows = [v for v in lows if math.isfinite(v)]
    finite_highs = [v for v in highs if math.isfinite(v)]
    if not finite_lows or not finite_highs:
        return (0.0, 1.0)
    low, high = min(finite_lows), max(finite_highs)
    margin = max((high - low) * 0.1, 0.01)
    return max(0.0, low - margin), min(1.0, high + margin)


def write_forest(
    comparisons: Sequence[Mapping[str, Any]], path: Path, *, within: Path | None = None
) -> Path | None:
    """One forest plot: a row per comparison, its B − A with the 95% interval (unadjusted), a zero line;
    significant ones (after the study's correction) filled and starred. Comparisons without an interval
    (n too small) are left out; None when none is left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [c for c in comparisons if c.get("ci_low") is not None and c.get("ci_high") is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4), dpi=120)
    for y, row in enumerate(reversed(rows)):
        significant = bool(row.get("significant"))
        ax.errorbar(
            [row["difference"]],
            [y],
            xerr=[[row["difference"] - row["ci_low"]], [row["ci_high"] - row["difference"]]],
            fmt="D" if significant else "o",
            color="#C44E52" if significant else "#4C72B0",
            markerfacecolor=None if significant else "white",
            capsize=3,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    star = "\u2605 "
    labels = [
        f"{star if r.get('significant') else ''}{r['label']} ({r['metric']}, n={r['n']})"
        for r in reversed(rows)
    ]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    name = correction_name(rows[0])
    ax.set_xlabel(f"B \u2212 A (95% interval, unadjusted; \u2605 significant after {name})", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return write_bytes_atomically(path, buffer.getvalue(), within=within)


def charts(
    config: StudyConfig,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    out: Path,
) -> dict[str, Path]:
    """A bar chart per family of its headline metric per cell, with the 95% intervals (PNG)."""
    written = {}
    for family in config.families():
        rows = [
            StrategyResult(
                cell.id,
                cell.task,
                records[cell.id]["filter"],
                records[cell.id]["n"],
                cell_summaries[cell.id],
            )
            for cell in config.cells
            if cell.family is family and cell.id in records
        ]
        if rows:
            path = out / "charts" / f"{family.name}_{family.primary_metric}.png"
            written[family.name] = write_chart(rows, path, family, title=config.name, within=out)
    return written
