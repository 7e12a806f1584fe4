"""Two-stage answers: after the model's own output, the family's answer trigger, then the label the model
finds most likely (Kojima et al. 2022, "Large Language Models are Zero-Shot Reasoners", section 3).

A family with a fixed label set (``TaskFamily.two_stage``: ``choices`` and an ``answer_trigger``) reads a
generated answer twice:

- **strict**: ``read_answer`` on the text alone (``acc``, ``invalid``); it never guesses, so an answer
  written in a form it cannot read safely is ``invalid``;
- **two-stage**: a prompt, the output (cut at its stop), the trigger (``So the answer is``; omitted when
  the output already ends in it), then the words of each label (``answer_words``: for sports
  ``plausible``/``yes`` and ``implausible``/``no``) as continuations scored by log-likelihood; the label
  whose words are most probable together (log-sum-exp) is the answer. It is never invalid. An output
  that ends in its own conclusion (``... So the answer is implausible.``) is scored at its own trigger
  after the prompt as sent: that is where the model wrote its verdict, and without the exemplars a small
  model's choice there is mostly its prior (measured: it agreed with the written verdict on 0.42 of 50
  CoT few-shot outputs). Any other output is scored after the prompt without the strategy's exemplars
  (``StrategyTask.answer_context``: they shaped the output, and every token of them would be scored
  again for an answer the model never wrote).

``StrategyTask.apply_filters`` runs the second stage once the model has answered every request, in one
call over all of a task's outputs, on whatever lm-eval model ran the task (``hf``, ``seq2seq``, ``vllm``, a
cached one): ``label_scores.loglikelihoods``, which on a decoder-only ``hf`` model encodes each output's
prompt once for all its label words, and elsewhere asks the model's ``loglikelihood``.
lm-eval gives a task no handle on its model, so :func:`patch_evaluate` wraps ``lm_eval.evaluator.evaluate``
to hand the model to *our* tasks for the duration of the call; lm-eval's own tasks see nothing of it.
Each response is replaced by an :class:`Answered` string (the same text, so logged ``resps`` are the
model's own words) carrying its two-stage label, and the answer filters pass it on as a :class:`Verdict`
(the strict answer, logged as before, carrying the two-stage one).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from summeval.lm_eval.early_stop import drawing_in_rounds
from summeval.lm_eval.label_scores import loglikelihoods

_PATCHED_FLAG = "_summeval_two_stage"
# At most this many words after the output's own last trigger make it the output's conclusion.
CONCLUSION_WORDS = 3
# The attribute of one of our tasks that holds the model while lm-eval's evaluate runs.
MODEL_ATTRIBUTE = "answer_model"


class Answered(str):
    """A model's output (the text itself) with the label of its second stage in ``two_stage``."""

    two_stage: Any = None

    def __new__(cls, text: str, two_stage: Any) -> Answered:
        value = super().__new__(cls, text)
        value.two_stage = two_stage
        return value

    def __reduce__(self):  # lm-eval's request cache pickles responses
        return (Answered, (str(self), self.two_stage))


class Verdict(str):
    """A strict read answer (the string itself) with the two-stage answer of the same output(s)."""

    two_stage: Any = None

    def __new__(cls, answer: Any, two_stage: Any) -> Verdict:
        value = super().__new__(cls, answer)
        value.two_stage = two_stage
        return value

    def __reduce__(self):
        return (Verdict, (str(self), self.two_stage))


def two_stage_of(value: Any) -> Any:
    """The two-stage answer an output or a read answer carries, or None."""
    return getattr(value, "two_stage", None)


def label_prompt(context: str, output: str, trigger: str, answer_context: str | None = None) -> str:
    """The second stage's context. An output that ends in its own conclusion (the trigger, then at most
    ``CONCLUSION_WORDS`` words, as in ``... So the answer is implausible.``) is read at its own trigger
    after the prompt as sent (``context``): the words after it are what the second stage scores, and a
    second trigger after them is text no model was shown. Any other output comes after
    ``answer_context`` (the prompt without the strategy's exemplars; ``context`` when None), then the
    trigger unless the output already ends in it (``... So the answer is``); a sentence gets a full stop
    before the trigger."""
    text = output.rstrip()
    last = ([None, *re.finditer(re.escape(trigger), text, flags=re.IGNORECASE)])[-1]
    if last is not None and len(text[last.end() :].split()) <= CONCLUSION_WORDS:
        return context + text[: last.end()]
    context = context if answer_context is None else answer_context
    if not text:
        return context + ("" if not context or context[-1].isspace() else " ") + trigger
    joiner = " " if text[-1] in ".!?:;" else ". "
    return context + text + joiner + trigger


def label_requests(
    answered: Sequence[tuple[Any, str, str, Sequence[str]]], words: Sequence[str], trigger: str
) -> list[Any]:
    """One ``loglikelihood`` request per (generated output, word): `` word`` after ``label_prompt``.
    ``answered``: (the instance that asked, its context as sent, its answer context, its outputs) per
    request."""
    from lm_eval.api.instance import Instance

    requests = []
    for instance, context, answer_context, outputs in answered:
        for output in outputs:
            prompt = label_prompt(context, str(output), trigger, answer_context)
            for word in words:
                requests.append(
                    Instance(
                        request_type="loglikelihood",
                        doc=instance.doc,
                        arguments=(prompt, f" {word}"),
                        idx=len(requests),
                        metadata=(instance.task_name, instance.doc_id, 1),
                    )
                )
    return requests


def best_label(likelihoods: Mapping[str, Sequence[float]], order: Sequence[str]) -> str:
    """The label whose words' log-likelihoods sum (as probabilities) highest; ties go to the first in
    ``order``."""
    totals = {label: _log_sum_exp(likelihoods[label]) for label in order}
    return max(order, key=totals.__getitem__)


def _log_sum_exp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def two_stage_labels(
    lm: Any, family: Any, answered: Sequence[tuple[Any, str, str, Sequence[str]]]
) -> list[list[Any]]:
    """The two-stage answer of every output: ``answered`` holds (the instance that asked, its context as
    sent, its answer context, its outputs); every label's words after every output are scored in one
    call (``label_scores.loglikelihoods``: one encoding of each prompt where the model allows it)."""
    choices = list(family.choices)
    flat = [(choice, word) for choice in choices for word in family.answer_words[choice]]
    requests = label_requests(answered, [word for _, word in flat], family.answer_trigger)
    scores = iter(loglikelihoods(lm, requests))
    labels = []
    for *_, outputs in answered:
        chosen = []
        for _ in outputs:
            likelihoods: dict[str, list[float]] = {choice: [] for choice in choices}
            for choice, _ in flat:
                likelihoods[choice].append(next(scores))
            chosen.append(family.choice_answer(choices.index(best_label(likelihoods, choices))))
        labels.append(chosen)
    return labels


def add_two_stage_answers(task: Any, family: Any, lm: Any) -> None:
    """Score every label's words after every generated output of ``task`` with ``lm`` and replace each
    output by an :class:`Answered` carrying its most likely label (``family.choice_answer``)."""
    instances = [i for i in task.instances if i.request_type == "generate_until" and i.resps]
    if not instances:
        return
    context_of = getattr(task, "answer_context", lambda doc, context: context)
    answered = [(i, i.arguments[0], context_of(i.doc, i.arguments[0]), list(i.resps)) for i in instances]
    for instance, labels in zip(instances, two_stage_labels(lm, family, answered), strict=True):
        instance.resps[:] = [Answered(str(o), label) for o, label in zip(instance.resps, labels, strict=True)]


def _our_tasks(task_dict: Any) -> Iterator[Any]:
    """Our tasks (those with a ``MODEL_ATTRIBUTE`` slot) anywhere in lm-eval's nested task dict."""
    values = task_dict.values() if isinstance(task_dict, Mapping) else [task_dict]
    for value in values:
        if isinstance(value, Mapping):
            yield from _our_tasks(value)
        elif hasattr(value, MODEL_ATTRIBUTE):
            yield value


def missing_internals(module: Any) -> list[str]:
    """What :func:`patch_evaluate` needs of ``lm_eval.evaluator`` and is missing from it."""
    evaluate = getattr(module, "evaluate", None)
    if not callable(evaluate):
        return ["lm_eval.evaluator.evaluate"]
    try:
        parameters = inspect.signature(evaluate).parameters
    except (TypeError, ValueError):
        return ["the signature of lm_eval.evaluator.evaluate"]
    return [f"evaluate({name}=...)" for name in ("lm", "task_dict") if name not in parameters]


def patch_evaluate(module: Any) -> None:
    """Wrap ``module.evaluate`` (lm-eval's ``lm_eval.evaluator``) so that each of our tasks in its
    ``task_dict`` holds ``lm`` in ``answer_model`` while it runs, and ``lm`` draws the repeats of a
    self-consistency task that stops adaptively in rounds (``early_stop.drawing_in_rounds``).
    Idempotent; raises ``RuntimeError`` naming what is missing when lm-eval no longer has what this
    needs."""
    original = module.evaluate
    if getattr(original, _PATCHED_FLAG, False):
        return
    missing = missing_internals(module)
    if missing:
        raise RuntimeError(
            f"summeval: two-stage answers need {', '.join(missing)}, which this lm-eval lacks; "
            "install the lm-eval version pyproject.toml pins"
        )
    signature = inspect.signature(original)

    @functools.wraps(original)
    def evaluate(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs).arguments
        ours = list(_our_tasks(bound.get("task_dict") or {}))
        for task in ours:
            setattr(task, MODEL_ATTRIBUTE, bound.get("lm"))
        try:
            with drawing_in_rounds(bound.get("lm"), ours):
                return original(*args, **kwargs)
        finally:
            for task in ours:
                setattr(task, MODEL_ATTRIBUTE, None)

    setattr(evaluate, _PATCHED_FLAG, True)
    module.evaluate = evaluate


def carry_two_stage(instances: Sequence[Any], family: Any) -> None:
    """Give every filtered answer that lost it (a plugin strategy's own filter returns plain strings) the
    two-stage answer of its responses: the one response's, or the family's vote over K of them."""
    for instance in instances:
        labels = [two_stage_of(r) for r in instance.resps]
        if not labels or any(label is None for label in labels):
            continue
        for name, value in instance.filtered_resps.items():
            if isinstance(value, str) and two_stage_of(value) is None:
                instance.filtered_resps[name] = Verdict(value, family.reduce(labels))
