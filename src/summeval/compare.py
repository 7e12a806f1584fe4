"""The old import path of ``summeval compare``'s code, kept working.

The command now lives in ``summeval.study.compare`` (a one-model study), its files in
``summeval.report.compare``, the per-item reading of lm-eval's samples in ``summeval.lm_eval.samples`` and
the active-prompt selection in ``summeval.study.selection`` (one ``Selection`` of settings instead of
keyword arguments). The names below are those this module had; the two selection functions keep their
keyword-argument signatures."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prompt_strategies.registry import EXEMPLARS_KEY
from summeval.lm_eval.runner import evaluate_task, sampled_items, seed_everything
from summeval.lm_eval.samples import item_scores, sample_answer, samples_csv
from summeval.report.analysis import StrategyResult, interval_text, is_rate, result_row, score_summaries
from summeval.report.charts import chart_name, write_chart
from summeval.report.compare import results_markdown, write_report
from summeval.stats import BOOTSTRAP_RESAMPLES, bootstrap_interval, metric_summary, wilson_interval
from summeval.study import compare as _compare
from summeval.study.compare import load_lm, resolve_strategy_names
from summeval.study.selection import Selection, chat_formatter, check_selection, select_to_file

ACTIVE_PROMPT = "active_prompt"

__all__ = [
    "ACTIVE_PROMPT",
    "BOOTSTRAP_RESAMPLES",
    "EXEMPLARS_KEY",
    "StrategyResult",
    "bootstrap_interval",
    "chart_name",
    "chat_formatter",
    "evaluate_task",
    "interval_text",
    "is_rate",
    "item_scores",
    "load_lm",
    "metric_summary",
    "resolve_strategy_names",
    "result_row",
    "results_markdown",
    "run_compare",
    "sample_answer",
    "sampled_items",
    "samples_csv",
    "score_summaries",
    "seed_everything",
    "select_active_prompt_exemplars",
    "selection_inputs",
    "wilson_interval",
    "write_chart",
    "write_report",
]


def _selection(metric: str | None = None, **settings: Any) -> Selection:
    return Selection(uncertainty=metric, **settings)


def selection_inputs(
    *, family: str = "sports_understanding", data: str | None, seed: int, **settings: Any
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """``check_selection`` with the settings as keyword arguments (``metric`` is ``uncertainty``)."""
    return check_selection(family, data, _selection(**settings), seed)


def select_active_prompt_exemplars(
    lm: Any,
    *,
    family: str = "sports_understanding",
    data: str | None,
    out: Path,
    seed: int,
    apply_chat_template: bool = False,
    model_description: str = "",
    **settings: Any,
) -> dict[str, Any]:
    """``select_to_file`` with the settings as keyword arguments (``metric`` is ``uncertainty``)."""
    return select_to_file(
        lm,
        family_name=family,
        data=data,
        selection=_selection(**settings),
        seed=seed,
        out=out,
        apply_chat_template=apply_chat_template,
        model_description=model_description,
    )


def run_compare(*, selection: Mapping[str, Any] | None = None, **arguments: Any) -> list[StrategyResult]:
    """``summeval.study.compare.run_compare`` with the selection as a mapping (``metric``, ``seed``
    ignored: the comparison's seed is used)."""
    settings = {k: v for k, v in (selection or {}).items() if k != "seed"}
    return _compare.run_compare(selection=_selection(**settings), **arguments)
