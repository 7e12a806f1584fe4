"""The comparison report (``summeval.report.compare``): a Markdown row per strategy (a column per ROUGE metric
for tweetsumm), three files written and no temporary ones, the chart of the family's metric, and a report
written before the last strategy says it is incomplete."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from support import PNG_MAGIC, ROUGE, SPORTS, TWEETSUMM

from summeval.report.analysis import StrategyResult
from summeval.report.compare import results_markdown, write_report


def _cells(mean: float, low: float, high: float, n: int = 2) -> dict[str, float]:
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": n}


# ----------------------------------------------------------------------------- the report


ROWS = [
    StrategyResult(
        "answer_only",
        "sports_understanding_answer_only",
        "answer",
        10,
        {
            "acc": _cells(0.5, 0.2366, 0.7634),
            "invalid": _cells(0.1, 0.0179, 0.4042),
            "acc_two_stage": _cells(0.6, 0.2624, 0.8784),
            "agree_two_stage": _cells(0.5, 0.1871, 0.8129),
        },
    ),
    StrategyResult(
        "self_consistency",
        "sports_understanding_self_consistency",
        "maj@5",
        10,
        {
            "acc": _cells(1.0, 0.72, 1.0),
            "invalid": _cells(0.0, 0.0, 0.2775),
            "acc_two_stage": _cells(1.0, 0.72, 1.0),
            "agree_two_stage": _cells(1.0, 0.72, 1.0),
        },
    ),
]
TWEETSUMM_ROWS = [
    StrategyResult(
        "answer_only",
        "tweetsumm_answer_only",
        "answer",
        8,
        {m: _cells(0.4 - i / 10, 0.35 - i / 10, 0.45 - i / 10) for i, m in enumerate(ROUGE)},
    ),
]


def test_results_markdown_has_a_row_per_strategy():
    text = results_markdown(ROWS, SPORTS, "hf pretrained=x ")
    assert text.startswith("# Compare: sports_understanding\n\nModel: hf pretrained=x\n")
    assert "Task family: sports_understanding" in text
    assert "| strategy | filter | n | acc [95% interval] | invalid [95% interval] |" in text
    assert "| answer_only | answer | 10 | 0.500 [0.237, 0.763] | 0.100 [0.018, 0.404] |" in text
    assert "| self_consistency | maj@5 | 10 | 1.000 [0.720, 1.000] | 0.000 [0.000, 0.278] |" in text
    assert "Clopper–Pearson" in text and "Wilson" not in text and "bootstrap" not in text


def test_results_markdown_of_tweetsumm_has_a_column_per_rouge_metric():
    text = results_markdown(TWEETSUMM_ROWS, TWEETSUMM)
    assert "Task family: tweetsumm" in text and "Model:" not in text
    assert "| strategy | filter | n | " + " | ".join(f"{m} [95% interval]" for m in ROUGE) + " |" in text
    assert (
        "| answer_only | answer | 8 | 0.400 [0.350, 0.450] | 0.300 [0.250, 0.350] | "
        "0.200 [0.150, 0.250] | 0.100 [0.050, 0.150] |"
    ) in text
    assert "t intervals" in text and "Clopper" not in text and "bootstrap" not in text


def _leftovers(folder) -> list[str]:
    """Staging files and folders left behind (the ownership marker is meant to stay)."""
    return [
        p.name
        for p in folder.rglob("*")
        if (p.name.startswith(".") and p.name != ".summeval-compare") or p.name.endswith(".partial")
    ]


@pytest.mark.parametrize(
    ("family", "rows", "chart"),
    [(SPORTS, ROWS, "acc.png"), (TWEETSUMM, TWEETSUMM_ROWS, "rouge1.png")],
    ids=["sports_understanding", "tweetsumm"],
)
def test_write_report_writes_four_files_and_no_temporary_ones(tmp_path, family, rows, chart):
    for _ in range(2):  # the second run replaces the first
        write_report(rows, tmp_path, family, model_description="hf pretrained=x")
    names = sorted([chart, "results.json", "results.md", "results.html"])
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert _leftovers(tmp_path) == []
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == {
        "model": "hf pretrained=x",
        "family": family.name,
        "complete": True,
        "results": [asdict(row) for row in rows],
    }
    markdown = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert markdown.startswith(results_markdown(rows, family, "hf pretrained=x"))  # the printed table,
    assert markdown.endswith(f"![{family.primary_metric} by strategy, 95% intervals]({chart})\n")  # the chart
    page = (tmp_path / "results.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and f"<h1>Compare: {family.name}</h1>" in page
    assert "data:image/png;base64," in page and f"<td class=text>{rows[0].strategy}</td>" in page
    assert (tmp_path / chart).read_bytes().startswith(PNG_MAGIC)


def test_write_report_of_sports_understanding_charts_acc(tmp_path):
    write_report(ROWS, tmp_path, SPORTS, model_description="hf pretrained=x")
    assert (tmp_path / "acc.png").is_file() and not (tmp_path / "accuracy.png").exists()
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["family"] == SPORTS.name


def test_a_report_written_before_the_last_strategy_says_it_is_incomplete(tmp_path):
    planned = [r.strategy for r in ROWS] + ["later"]
    write_report(ROWS, tmp_path, SPORTS, model_description="hf pretrained=x", planned=planned)
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["complete"] is False
    assert f"Incomplete: {len(ROWS)} of {len(planned)} strategies" in (tmp_path / "results.md").read_text()
