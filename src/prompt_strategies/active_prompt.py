"""Active-Prompt (Diao et al.), stage one: choose few-shot exemplars by the model's uncertainty (any family).

For each question of a pool (by default the train split), the model answers ``k`` times, sampled: with
zero-shot chain of thought where the family reasons, else with the family's direct prompt. Each
question's uncertainty over its ``k`` read answers is the family's (``TaskFamily.uncertainty``):
sports_understanding has ``disagreement`` (distinct answers / k), ``entropy`` and ``variance``;
tweetsumm has ``disagreement`` = 1 - mean pairwise ROUGE-L among the k summaries.

Questions are ranked most uncertain first; ties are broken by a hash of (seed, question id), so the
ranking is reproducible. The top ``n`` become the exemplars. Where the family reasons they get
rationales: from an annotation file when it has one for the question (``annotation``), else the first
sampled chain of thought that reached the gold answer (``model``): read by the strict reader *and*, where
the family has two-stage answers, by its own second stage (a rationale the model itself would finish with
another label would teach that label), else only the conclusion ``So the answer is <answer>.``
(``label_only``). Elsewhere the exemplar's answer is its gold answer (``reference``: for tweetsumm, the
reference summary). The exemplar file records the family, how it was made, how many exemplars came from
each source (``exemplar_sources``) and every pool question's score; the ``active_prompt`` strategy reads
it.

The model is asked through lm-eval (``summeval.lm_eval.selection.select_exemplars``); this module holds
the parts that need no model: scoring, ranking, rationales, annotations, the pool.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from prompt_strategies.strategy import StrategyError
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util import bounds

# 3: a model rationale is checked by its own two-stage answer; 4: one that ends in its own conclusion
# ("So the answer is X.") is read at its own trigger.
FILE_FORMAT = "summeval-active-prompt/4"
# The task name of selection requests: summeval's own, so their samples share one prompt encoding.
SELECTION_TASK = "summeval_active_prompt_select"
_CONCLUSION = "the answer is"
SELECTION_RANGES = {
    "k": bounds.SAMPLES,
    "n": bounds.ITEMS,
    "pool_size": bounds.ITEMS,
    "temperature": bounds.TEMPERATURE,
    "max_gen_toks": bounds.MAX_GEN_TOKS,
    "seed": bounds.SEED,
}
"""The range of each selection setting; ``check_selection_ranges`` checks them at every entry point."""


def check_selection_ranges(**settings: Any) -> None:
    """Each given selection setting (``k=5, seed=0``...; None: unset) is in its ``SELECTION_RANGES`` range."""
    for key, value in settings.items():
        if value is not None:
            SELECTION_RANGES[key].check(value, f"active-prompt selection: {key}", StrategyError)


class GeneratingModel(Protocol):
    """What selection needs of a model: lm-eval's ``LM.generate_until`` (e.g. ``HFLM``)."""

    def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]: ...


@dataclass
class ScoredQuestion:
    """A pool question with its sampled outputs, their extracted answers, their two-stage answers (None
    where the family has none) and its uncertainty."""

    doc: Mapping[str, Any]
    outputs: list[str]
    family: TaskFamily
    answers: list[Any] = field(init=False)
    score: float = 0.0
    two_stage: list[Any] | None = None

    def __post_init__(self) -> None:
        self.answers = [self.family.read_answer(o) for o in self.outputs]


def rank_by_uncertainty(scored: Sequence[ScoredQuestion], seed: int) -> list[ScoredQuestion]:
    """Most uncertain first; equal scores in an order fixed by (seed, question id)."""

    def tie_break(q: ScoredQuestion) -> bytes:
        return hashlib.sha256(f"{seed}:{q.doc['id']}".encode()).digest()

    return sorted(scored, key=lambda q: (-round(q.score, 12), tie_break(q)))


def read_annotations(path: str | Path) -> dict[str, str]:
    """Hand-written rationales: a JSON object ``{id or statement: rationale}`` or a list of objects
    with ``rationale`` and ``id`` or ``statement``. Keys are matched case- and space-insensitively."""
    from summeval_tasks.util.source_files import check_regular_file

    path = Path(path)
    if not path.exists():
        raise StrategyError(f"annotation file {path} does not exist")
    check_regular_file(path, StrategyError, "annotation file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StrategyError(f"annotation file {path} is not valid UTF-8 JSON: {err}") from err
    if isinstance(data, dict) and isinstance(data.get("exemplars"), list):
        data = data["exemplars"]
    pairs: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list):
        for i, entry in enumerate(data):
            entry = entry if isinstance(entry, dict) else {}
            keys = [entry[k] for k in ("id", "statement") if entry.get(k)]
            if not keys:
                raise StrategyError(f"annotation file {path}, entry {i} has no id or statement")
            pairs.extend((key, entry.get("rationale")) for key in keys)
    else:
        raise StrategyError(f"annotation file {path} must hold a JSON object or list")
    annotations = {}
    for key, rationale in pairs:
        if not isinstance(rationale, str) or not rationale.strip():
            raise StrategyError(f"annotation file {path}: the rationale for {key!r} is empty or not text")
        annotations[_key(key)] = rationale.strip()
    return annotations


def with_conclusion(rationale: str, answer: str, read_answer: Callable[[str], Any]) -> str:
    """``rationale`` ending in ``So the answer is <answer>.`` (added when it states no conclusion)."""
    text = " ".join(rationale.split())
    if _CONCLUSION in text.lower() and read_answer(text) == answer:
        return text
    return f"{text} So the answer is {answer}.".strip()


def choose_rationale(question: ScoredQuestion, annotations: Mapping[str, str]) -> tuple[str, str]:
    """(rationale, source) for a selected question; see the module docstring for the order."""
    doc, family = question.doc, question.family
    label = family.answer_text(doc)
    no_answer = family.read_answer("")
    for key in (doc.get("id"), doc.get("statement")):
        if key and _key(key) in annotations:
            rationale = annotations[_key(key)]
            concluded = family.read_answer(rationale)
            if concluded not in (label, no_answer):  # one that states no answer gets the conclusion added
                raise StrategyError(
                    f"annotation for {doc['id']!r} concludes {concluded!r}, but the answer is {label!r}"
                )
            return with_conclusion(rationale, label, family.read_answer), "annotation"
    two_stage = question.two_stage or [label] * len(question.outputs)
    for output, answer, two in zip(question.outputs, question.answers, two_stage, strict=True):
        if answer == label and two == label and output.strip():
            return with_conclusion(output, label, family.read_answer), "model"
    return f"So the answer is {label}.", "label_only"


def choose_pool(docs: Sequence[Mapping[str, Any]], size: int | None, seed: int) -> list[Mapping[str, Any]]:
    """All of ``docs``, or a seeded random ``size`` of them (in their original order)."""
    if size is None or size >= len(docs):
        return list(docs)
    if size < 1:
        raise StrategyError(f"pool size must be at least 1, got {size}")
    keep = set(random.Random(seed).sample(range(len(docs)), size))
    return [doc for i, doc in enumerate(docs) if i in keep]


def _key(text: str) -> str:
    return " ".join(str(text).lower().split())
