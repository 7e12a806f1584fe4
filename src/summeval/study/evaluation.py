"""Evaluating one study cell through lm-eval (``evaluate_cell``, the one evaluation path of ``summeval
study`` and ``summeval compare``) and the record the study saves of it (``run_cell``)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summeval.study.inputs import Inputs, sha256_json
from summeval.study.plan import Cell, StudyConfig


@dataclass
class CellRun:
    """What evaluating one cell gives: lm-eval's evaluation, the primary filter's samples in doc order
    (the one scored answer per item), that filter's name, the per-item scores and the per-item CSV."""

    evaluation: dict[str, Any]
    samples: list[dict[str, Any]]
    primary: str
    scores: dict[str, list[float]]
    csv_text: str
    seconds: float
    truncated: list[float | None]
    """Per item, the share of its outputs cut by ``max_gen_toks`` (``samples.truncated_share``); None where
    not known (multiple choice, or a model without a tokenizer)."""
    drawn: list[int] | None = None
    """Per item, the samples self-consistency drew before its stopping rule stopped it (the outputs
    logged); None for a cell that does not stop early."""


def evaluate_cell(
    lm: Any,
    cell: Cell,
    metadata: Mapping[str, Any],
    *,
    apply_chat_template: bool,
    seed: int,
    items: list[int] | None = None,
    manager: Any = None,
) -> CellRun:
    """Evaluate one cell (a model on one of our tasks) and read its samples: the one evaluation path of
    ``summeval study`` (``run_cell``) and ``summeval compare``. ``manager``: an lm-eval ``TaskManager``
    made with ``metadata`` to reuse across cells (one is made when not given)."""
    from prompt_strategies.registry import task_table
    from summeval.lm_eval import task_manager
    from summeval.lm_eval.early_stop import SAMPLES_METRIC
    from summeval.lm_eval.runner import evaluate_task
    from summeval.lm_eval.samples import item_scores, sample_rows, samples_csv, truncated_share

    family = cell.family
    if manager is None:
        manager = task_manager(include_defaults=False, metadata=dict(metadata))
    started = time.time()
    evaluation, samples, primary = evaluate_task(
        lm,
        task=cell.task,
        family=family,
        strategy=cell.strategy,
        metadata=metadata,
        manager=manager,
        limit=cell.limit,
        items=items,
        apply_chat_template=apply_chat_template,
        seed=seed,
        fixed_options=task_table()[cell.task]["options"],
    )
    seconds = time.time() - started
    ordered = sorted(samples, key=lambda s: s.get("doc_id", 0))
    rows = sample_rows(ordered, family)
    scores = item_scores(rows, family)
    count = _token_counter(lm)
    budget = int(getattr(lm, "max_gen_toks", 256) or 256)
    truncated = [None if count is None else truncated_share(s, count, budget) for s in ordered]
    adaptive = f"{SAMPLES_METRIC},{primary}" in evaluation["results"].get(cell.task, {})
    drawn = [len((s.get("resps") or [[]])[0]) for s in ordered] if adaptive else None
    return CellRun(evaluation, ordered, primary, scores, samples_csv(rows, family), seconds, truncated, drawn)


def _token_counter(lm: Any) -> Callable[[str], int] | None:
    """Counts the tokens of a text with the model's Hugging Face tokenizer (lm-eval's ``hf`` and ``vllm``
    models have one); None where there is none or it does not take HF's call, so truncation is not known
    rather than the cell failing after its evaluation."""
    tokenizer = getattr(lm, "tokenizer", None)
    if not callable(tokenizer):
        return None

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    try:
        count("a")
    except Exception:
        return None
    return count


def run_cell(
    config: StudyConfig,
    cell: Cell,
    lm: Any,
    settings: Mapping[str, Any],
    exemplars: Path | None,
    inputs: Inputs,
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Evaluate one cell of the study; return its record, lm-eval's logged samples and the per-sample CSV."""
    from prompt_strategies.registry import EXEMPLARS_KEY
    from summeval.lm_eval.runner import sampled_items

    metadata = config.metadata(cell.family)
    if exemplars is not None:
        metadata[EXEMPLARS_KEY] = str(exemplars.resolve())
    items = (
        None
        if cell.sample is None
        else sampled_items(inputs.eval_sizes[cell.family.name], cell.sample, config.seed)
    )
    seed = config.seed if cell.seed is None else cell.seed  # a replicate: same items, its own seed
    run = evaluate_cell(
        lm, cell, metadata, apply_chat_template=config.apply_chat_template, seed=seed, items=items
    )
    record = {
        "key": sha256_json(settings),
        "settings": dict(settings),
        "filter": run.primary,
        "n": len(run.samples),
        "items": [str(s["doc"].get("id", s.get("doc_id"))) for s in run.samples],
        "scores": run.scores,
        "truncated": run.truncated,
        **({"samples_drawn": run.drawn} if run.drawn is not None else {}),
        "lm_eval": {
            "results": run.evaluation["results"].get(cell.task, {}),
            "config": run.evaluation.get("configs", {}).get(cell.task, {}),
        },
        "seconds": round(run.seconds, 2),
        "exemplars": str(exemplars) if exemplars else None,
        "exemplar_sources": _exemplar_sources(exemplars),
    }
    return record, run.evaluation["samples"][cell.task], run.csv_text


def _exemplar_sources(path: Path | None) -> dict[str, int] | None:
    """How many of a selected exemplar file's exemplars came from each source (``rationale_source``)."""
    if path is None:
        return None
    from prompt_strategies.exemplars import read_exemplar_file

    return dict(Counter(str(e.get("rationale_source", "given")) for e in read_exemplar_file(path)))
