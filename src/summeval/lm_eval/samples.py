"""Reading lm-eval's logged samples of one of our tasks: each item's read answer, its scores under the
family's metrics, and the per-item CSV (id, prompt, target, model output, answer, each metric) that
``summeval compare`` and ``summeval study`` both write."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from prompt_strategies.registry import get_family
from summeval.lm_eval.task import read_result
from summeval_tasks.contract import TaskFamily


def sample_answer(sample: Mapping[str, Any], family: TaskFamily | None = None) -> Any:
    """The read answer of one logged lm-eval sample (generated, or the most likely choice)."""
    fam = family or get_family("sports_understanding")
    filtered = sample.get("filtered_resps")
    items = filtered if isinstance(filtered, list) else [filtered]
    if items and isinstance(items[0], (list, tuple)) and len(items[0]) == 2:  # [log-likelihood, is_greedy]
        return read_result(fam, [(float(ll), greedy) for ll, greedy in items])
    return read_result(fam, [str(items[0])] if items else [])


def _arguments(sample: Mapping[str, Any]) -> list[tuple]:
    """Each request's arguments: tuples in memory; lm-eval's logged JSON has {"arg_0": ..., ...} dicts."""
    arguments = sample.get("arguments") or []
    if isinstance(arguments, Mapping):
        arguments = list(arguments.values())
    return [tuple(a.values()) if isinstance(a, Mapping) else tuple(a) for a in arguments]


def _model_output(sample: Mapping[str, Any]) -> str:
    """The raw output: generated text (a JSON list when sampled K times), or the choices' log-likelihoods."""
    resps = sample.get("resps") or []
    if resps and resps[0] and isinstance(resps[0][0], (list, tuple)):  # one request per choice
        labels = [str(a[1]).strip() if len(a) > 1 else "" for a in _arguments(sample)]
        return "; ".join(f"{lab}: {float(r[0][0]):.3f}" for lab, r in zip(labels, resps, strict=False))
    outputs = resps[0] if resps else []
    return outputs[0] if len(outputs) == 1 else json.dumps(outputs, ensure_ascii=False)


def _prompt(sample: Mapping[str, Any]) -> str:
    arguments = _arguments(sample)
    return str(arguments[0][0]) if arguments and arguments[0] else ""


def samples_csv(samples: Sequence[Mapping[str, Any]], family: TaskFamily | None = None) -> str:
    """CSV text: id, prompt, target, model_output, answer, then each metric of the family; a row per item."""
    fam = family or get_family("sports_understanding")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "prompt", "target", "model_output", "answer", *fam.metrics])
    for sample in sorted(samples, key=lambda s: s.get("doc_id", 0)):
        answer = sample_answer(sample, fam)
        scores = fam.score(sample["doc"], answer)
        writer.writerow(
            [
                sample["doc"].get("id", sample.get("doc_id")),
                _prompt(sample),
                fam.answer_text(sample["doc"]),
                _model_output(sample),
                answer,
                *(_number(scores[m]) for m in fam.metrics),
            ]
        )
    return buffer.getvalue()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}"


def item_scores(family: TaskFamily, samples: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Each metric's per-item scores of logged samples, in doc order."""
    ordered = sorted(samples, key=lambda s: s.get("doc_id", 0))
    per_item = [family.score(s["doc"], sample_answer(s, family)) for s in ordered]
    return {m: [float(scores[m]) for scores in per_item] for m in family.metrics}
