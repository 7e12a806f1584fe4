"""Self-consistency that stops sampling an item when its stopping rule says so
(``prompt_strategies.stopping``): lm-eval asks for K repeats of every item at once; here they are drawn
in rounds.

lm-eval's evaluator hands the model's ``generate_until`` each request ``repeats`` times (the same
``Instance`` object K times). While lm-eval's ``evaluate`` runs one of our tasks whose strategy stops
adaptively (:func:`drawing_in_rounds`, entered by ``two_stage.patch_evaluate``), that model's
``generate_until`` is wrapped for the duration, on that one model object: the requests our tasks marked
with a rule (:func:`mark_stopping`) go out round by round, each round one call with every unfinished
item's next samples, so a backend batches them as before (hf, seq2seq with its shared prompt encoding,
vLLM); every other request goes out with the first round, untouched. The repeats an item did not need
come back as :data:`NOT_DRAWN`, and :func:`drop_not_drawn` takes them out of each instance's responses
before any filter reads them: the logged samples hold the outputs drawn, and their number is the
``samples`` metric.

Rounds are drawn in a fixed order (item order, then round), so a rerun at the same seed draws the same
samples.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

STOPPING_ATTRIBUTE = "summeval_stopping"
"""The attribute of each request one of our adaptive tasks built: ``(rule, family)``."""
SAMPLES_METRIC = "samples"
"""The per-item metric of an adaptive self-consistency task: the samples drawn."""


class _NotDrawn(str):
    """A repeat the stopping rule did not draw (told apart by its type, never by its text)."""


NOT_DRAWN = _NotDrawn("")


def mark_stopping(requests: Sequence[Any], rule: Any, family: Any) -> None:
    """Mark ``requests`` (lm-eval ``Instance`` objects of one of our tasks) to be drawn in rounds."""
    for request in requests:
        setattr(request, STOPPING_ATTRIBUTE, (rule, family))


def generate_in_rounds(generate: Any, requests: Sequence[Any], disable_tqdm: bool = False) -> list[Any]:
    """``generate(requests, disable_tqdm)`` (a model's ``generate_until``) over ``requests``, the marked
    ones in rounds: the outputs in request order, :data:`NOT_DRAWN` where an item stopped first."""
    results: list[Any] = [None] * len(requests)
    items: dict[int, list[int]] = {}  # one item: the positions of its repeats (the same Instance)
    rest = []
    for position, request in enumerate(requests):
        if getattr(request, STOPPING_ATTRIBUTE, None) is None:
            rest.append(position)
        else:
            items.setdefault(id(request), []).append(position)
    marks = {key: getattr(requests[positions[0]], STOPPING_ATTRIBUTE) for key, positions in items.items()}
    answers: dict[int, list[Any]] = {key: [] for key in items}
    drawn: dict[int, int] = dict.fromkeys(items, 0)
    pending = list(items)
    first = True
    while pending or first:
        batch: list[int] = list(rest) if first else []
        sent: dict[int, list[int]] = {}  # each item's positions drawn in this round
        for key in pending:
            size = marks[key][0].next_round(drawn[key])
            sent[key] = items[key][drawn[key] : drawn[key] + size]
            batch.extend(sent[key])
        if not batch:
            break
        texts = generate([requests[p] for p in batch], disable_tqdm)  # a progress bar per round
        for position, text in zip(batch, texts, strict=True):
            results[position] = text
        still = []
        for key in pending:
            rule, family = marks[key]
            answers[key].extend(family.read_answer(results[p]) for p in sent[key])
            drawn[key] += len(sent[key])
            done = drawn[key] >= len(items[key]) or not sent[key] or rule.done(answers[key], family.reduce)
            if not done:
                still.append(key)
        pending, first = still, False
    if items:
        total = sum(len(positions) for positions in items.values())
        used = sum(drawn.values())
        print(
            f"summeval: self-consistency stopped early: {used} of {total} samples drawn over {len(items)} "
            f"items ({used / total:.0%}; {used / len(items):.1f} per item)",
            file=sys.stderr,
        )
    return [NOT_DRAWN if text is None else text for text in results]


def _adaptive(task: Any) -> bool:
    rule = getattr(task, "stopping_rule", None)
    return rule is not None and rule.adaptive


@contextlib.contextmanager
def drawing_in_rounds(lm: Any, tasks: Sequence[Any]) -> Iterator[None]:
    """Within: ``lm.generate_until`` draws marked requests in rounds, if one of ``tasks`` (our tasks in
    lm-eval's evaluate) stops adaptively; otherwise nothing changes."""
    if lm is None or not any(_adaptive(task) for task in tasks) or not hasattr(lm, "generate_until"):
        yield
        return
    original = lm.generate_until
    lm.generate_until = lambda requests, disable_tqdm=False: generate_in_rounds(
        original, requests, disable_tqdm
    )
    try:
        yield
    finally:
        if "generate_until" in vars(lm):
            del lm.generate_until


def drop_not_drawn(instances: Sequence[Any]) -> None:
    """Take the repeats that were not drawn out of each instance's responses (before any filter)."""
    for instance in instances:
        if any(isinstance(r, _NotDrawn) for r in instance.resps):
            instance.resps[:] = [r for r in instance.resps if not isinstance(r, _NotDrawn)]
