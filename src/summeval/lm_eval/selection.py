"""Active-Prompt stage one through lm-eval: ask the model ``k`` times per pool question, then rank
(``prompt_strategies.active_prompt`` scores, ranks and picks rationales). Where the family has two-stage
answers (``TaskFamily.two_stage``), each sampled output also gets its own (``two_stage.two_stage_labels``,
one ``loglikelihood`` call), so that a model-written rationale becomes an exemplar only when both readings
of it give the gold answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prompt_strategies.active_prompt import (
    FILE_FORMAT,
    SELECTION_TASK,
    GeneratingModel,
    ScoredQuestion,
    check_selection_ranges,
    choose_rationale,
    rank_by_uncertainty,
)
from prompt_strategies.strategy import StrategyError
from summeval_tasks.contract import TaskFamily


def sample_outputs(
    model: GeneratingModel,
    prompts: Sequence[str],
    docs: Sequence[Mapping[str, Any]],
    *,
    k: int,
    generation_kwargs: Mapping[str, Any],
) -> tuple[list[Any], list[list[str]]]:
    """``k`` sampled outputs per prompt, asked as lm-eval requests (one per sample, adjacent); the first
    request of each prompt and its outputs."""
    from lm_eval.api.instance import Instance

    from summeval.lm_eval.shared_prefix import mark_ours

    requests = [
        Instance(
            request_type="generate_until",
            doc=dict(doc),
            arguments=(prompt, dict(generation_kwargs)),
            idx=0,
            # Instance reads task name, doc id and repeats from ``metadata`` (a ``repeats=`` keyword is lost).
            metadata=(SELECTION_TASK, i, k),
        )
        for i, (prompt, doc) in enumerate(zip(prompts, docs, strict=True))
        for _ in range(k)
    ]
    mark_ours(requests)  # our requests: their K samples may share one encoding
    outputs = list(model.generate_until(requests))
    if len(outputs) != len(requests):
        raise StrategyError(f"the model returned {len(outputs)} outputs for {len(requests)} requests")
    return requests[::k], [outputs[i * k : (i + 1) * k] for i in range(len(prompts))]


def select_exemplars(
    model: GeneratingModel,
    pool: Sequence[Mapping[str, Any]],
    *,
    family: TaskFamily,
    prompt: Callable[[Mapping[str, Any]], str],
    k: int = 5,
    n: int = 4,
    metric: str | None = None,
    seed: int = 0,
    generation_kwargs: Mapping[str, Any],
    annotations: Mapping[str, str] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Run stage one on ``pool``; return the exemplar file's content (for ``write_exemplar_file``)."""
    metric = metric or family.uncertainty_metrics[0]
    if metric not in family.uncertainty_metrics:
        raise StrategyError(
            f"{family.name}: unknown uncertainty metric {metric!r}; "
            f"choose one of {', '.join(family.uncertainty_metrics)}"
        )
    if k < 1 or n < 1:
        raise StrategyError(f"k and n must be at least 1 (got k={k}, n={n})")
    check_selection_ranges(k=k, n=n, seed=seed, temperature=generation_kwargs.get("temperature"))
    if n > len(pool):
        raise StrategyError(f"n={n} exemplars requested from a pool of {len(pool)} questions")
    prompts = [prompt(d) for d in pool]
    asked, outputs = sample_outputs(model, prompts, pool, k=k, generation_kwargs=generation_kwargs)
    two_stage: list[list[Any] | None] = [None] * len(pool)
    if family.two_stage and family.supports_reasoning:
        from summeval.lm_eval.two_stage import two_stage_labels

        answered = list(zip(asked, prompts, prompts, outputs, strict=True))  # no exemplars to leave out
        two_stage = list(two_stage_labels(model, family, answered))
    scored = [
        ScoredQuestion(doc, outs, family, two_stage=two)
        for doc, outs, two in zip(pool, outputs, two_stage, strict=True)
    ]
    for question in scored:
        question.score = family.uncertainty(question.answers, metric)
    ranked = rank_by_uncertainty(scored, seed)
    exemplars = []
    for question in ranked[:n]:
        entry = {**question.doc}
        if family.supports_reasoning:
            rationale, source = choose_rationale(question, annotations or {})
            entry.update(rationale=rationale, rationale_source=source)
        else:
            entry["rationale_source"] = "reference"
        entry["uncertainty"] = question.score
        exemplars.append(entry)
    return {
        "format": FILE_FORMAT,
        "family": family.name,
        **(provenance or {}),
        "k": k,
        "n": n,
        "uncertainty": metric,
        "seed": seed,
        "pool_size": len(pool),
        "generation_kwargs": dict(generation_kwargs),
        "exemplars": exemplars,
        "exemplar_sources": dict(Counter(entry["rationale_source"] for entry in exemplars)),
        "ranking": [
            {
                "id": q.doc["id"],
                "uncertainty": q.score,
                "answers": dict(Counter(str(a) for a in q.answers)) if family.choices else None,
                "gold": family.answer_text(q.doc),
            }
            for q in ranked
        ],
    }
