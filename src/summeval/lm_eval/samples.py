"""Reading lm-eval's logged samples of one of our tasks, once, into :class:`SampleRow` objects (each item's
prompt, output, read answer and the per-sample metrics lm-eval logged), from which the per-item CSV that
``summeval compare`` and ``summeval study`` write, the per-item scores of the statistics and the report's
per-sample view are all made: nothing parses the CSV back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from summeval.lm_eval.task import read_result
from summeval_tasks.contract import TaskFamily


def sample_answer(sample: Mapping[str, Any], family: TaskFamily) -> Any:
    """The read answer of one logged lm-eval sample of ``family`` (generated, or the most likely choice)."""
    filtered = sample.get("filtered_resps")
    items = filtered if isinstance(filtered, list) else [filtered]
    if items and isinstance(items[0], (list, tuple)) and len(items[0]) == 2:  # [log-likelihood, is_greedy]
        return read_result(family, [(float(ll), greedy) for ll, greedy in items])
    return read_result(family, [str(items[0])] if items else [])


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


def sample_scores(sample: Mapping[str, Any], family: TaskFamily) -> dict[str, float]:
    """Each of the family's reported metrics for one logged sample: the value lm-eval logged with it, or
    (for samples logged without it) the family's score of its read answer. Two-stage metrics cannot be
    recomputed (they need the model): a sample without them is refused."""
    missing = [m for m in family.reported_metrics if m not in sample]
    scores = dict(family.score(sample["doc"], sample_answer(sample, family))) if missing else {}
    lost = [m for m in missing if m not in scores]
    if lost:
        doc_id = sample.get("doc_id")
        raise ValueError(
            f"logged sample {doc_id!r} has no {', '.join(lost)} (logged before two-stage answers)"
        )
    return {m: float(sample[m]) if m in sample else float(scores[m]) for m in family.reported_metrics}


TRUNCATION_SLACK = 2
"""Tokens short of ``max_gen_toks`` that still count as stopped by it: an output is measured by encoding
its text again, which can merge a token or two of what the model generated."""


def truncated_share(
    sample: Mapping[str, Any], count_tokens: Callable[[str], int], default_max_gen_toks: int
) -> float | None:
    """The share of a logged generated sample's outputs (K when sampled) that stopped at ``max_gen_toks``
    instead of at a stop sequence or the end of text: lm-eval cuts an output at its first stop sequence, so
    an output that was stopped runs short of the budget, and one the budget cut is as long as it (within
    ``TRUNCATION_SLACK`` tokens, counted by ``count_tokens``). None for a multiple-choice sample."""
    arguments = _arguments(sample)
    if not arguments or len(arguments[0]) < 2 or not isinstance(arguments[0][1], Mapping):
        return None
    budget = int(arguments[0][1].get("max_gen_toks") or default_max_gen_toks)
    outputs = (sample.get("resps") or [[]])[0]
    if not outputs or not all(isinstance(o, str) for o in outputs):
        return None
    return sum(count_tokens(o) >= budget - TRUNCATION_SLACK for o in outputs) / len(outputs)


def two_stage_answer(sample: Mapping[str, Any], family: TaskFamily) -> str:
    """The two-stage answer of a sample: the one its filtered answer carries in memory
    (``two_stage.Verdict``), a multiple-choice sample's own answer, or '' when it is not known (a logged
    generated sample keeps only its scores)."""
    from summeval.lm_eval.two_stage import two_stage_of

    filtered = sample.get("filtered_resps")
    items = filtered if isinstance(filtered, list) else [filtered]
    if items and isinstance(items[0], (list, tuple)):  # multiple choice: its choice is its two-stage answer
        return str(sample_answer(sample, family))
    two = two_stage_of(items[0]) if items else None
    return "" if two is None else str(two)


@dataclass(frozen=True)
class SampleRow:
    """One item of a cell as read from its logged sample: a row of the CSV and of the per-sample view."""

    id: str
    prompt: str
    target: str
    model_output: str
    answer: str
    """The strict reader's answer ('' when the family read none)."""
    two_stage_answer: str
    """The two-stage answer ('' when not known: a logged generated sample keeps only its scores)."""
    scores: dict[str, float]
    """Each reported metric of the family, as lm-eval logged it."""

    def score_texts(self) -> dict[str, str]:
        """The scores as the CSV writes them: 1 and 0 for whole numbers, else six decimals."""
        return {metric: _number(value) for metric, value in self.scores.items()}


def sample_rows(samples: Sequence[Mapping[str, Any]], family: TaskFamily) -> list[SampleRow]:
    """A row per logged sample of ``family`` (one filter's samples), in doc order."""
    rows = []
    for sample in sorted(samples, key=lambda s: s.get("doc_id", 0)):
        answer = sample_answer(sample, family)
        rows.append(
            SampleRow(
                id=str(sample["doc"].get("id", sample.get("doc_id"))),
                prompt=_prompt(sample),
                target=str(family.answer_text(sample["doc"])),
                model_output=_model_output(sample),
                answer="" if answer is None else str(answer),
                two_stage_answer=two_stage_answer(sample, family) if family.two_stage else "",
                scores=sample_scores(sample, family),
            )
        )
    return rows


def samples_csv(rows: Sequence[SampleRow], family: TaskFamily) -> str:
    """CSV text: id, prompt, target, model_output, answer, two_stage_answer (families with two-stage
    answers), then each reported metric of the family; a row per item."""
    two_stage = family.two_stage
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "id",
            "prompt",
            "target",
            "model_output",
            "answer",
            *(["two_stage_answer"] if two_stage else []),
            *family.reported_metrics,
        ]
    )
    for row in rows:
        texts = row.score_texts()
        writer.writerow(
            [
                row.id,
                row.prompt,
                row.target,
                row.model_output,
                row.answer,
                *([row.two_stage_answer] if two_stage else []),
                *(texts[m] for m in family.reported_metrics),
            ]
        )
    return buffer.getvalue()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}"


def item_scores(rows: Sequence[SampleRow], family: TaskFamily) -> dict[str, list[float]]:
    """Each reported metric's per-item scores of ``rows``, in their order."""
    return {m: [row.scores[m] for row in rows] for m in family.reported_metrics}
