"""Answer extraction and voting: free model text → ``plausible`` / ``implausible`` / ``invalid``.

One shared, pure implementation used by every strategy's filter pipeline (see ``filters.py``).

How a text is read (``extract_answer``):

1. Lower-case it and straighten quotes.
2. If it states a conclusion (``the answer is X``, ``answer: X``, ``so X``, ``therefore X``), the *last*
   such statement that names a label decides: chain-of-thought text may weigh both labels before
   concluding. Otherwise the first non-empty line is read (models often answer, then ramble on), and
   if it names no label, the whole text.
3. The part read is classified by the labels it mentions, at word boundaries (so ``implausible`` never
   counts as ``plausible``) and with negation (``not plausible``, ``isn't plausible``, ``not very
   plausible`` count as ``implausible``; ``not implausible`` counts as ``plausible``).
   ``yes`` / ``no`` count only when they open an answer that names no label (``Yes.``, ``No, ...``);
   ``No, it is plausible`` is plausible. Restating the question
   (``plausible or implausible``, ``plausible/implausible``) names no label.
4. If it names no label, or both, the answer is ``invalid``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

PLAUSIBLE = "plausible"
IMPLAUSIBLE = "implausible"
INVALID = "invalid"
LABELS = (PLAUSIBLE, IMPLAUSIBLE)

# A final-answer statement: everything after its cue up to the end of the sentence or line.
# "so" after a negation is a hedge ("not so plausible"), not a cue.
_ANSWER_CUE = re.compile(
    r"(?:\banswer\s*(?:is|would\s+be|:)|(?<!not\s|n't\s)\bso\b|\btherefore\b|\bthus\b|\bhence\b)"
    r"\s*:?\s*(?P<span>[^\n.!?]*)"
)
_NEGATION = r"(?:not|never|isn't|is\s+not|wasn't|aren't|hardly|n't)"
_HEDGE = r"(?:\s+(?:very|quite|really|entirely|at\s+all|that|particularly|so))*"
# Order matters: negated forms are matched first and their text removed before bare labels are read.
_NEGATED_IMPLAUSIBLE = re.compile(rf"\b{_NEGATION}{_HEDGE}\s+implausible\b")
_NEGATED_PLAUSIBLE = re.compile(rf"\b{_NEGATION}{_HEDGE}\s+plausible\b")
_BARE_IMPLAUSIBLE = re.compile(r"\bimplausible\b")
_BARE_PLAUSIBLE = re.compile(r"\bplausible\b")
_LEADING_YES_NO = re.compile(r"^\W*(?:a:\s*)?(yes|no)\s*(?:[.,!;:]|$)")
# "plausible or implausible", "plausible/implausible": the question restated, not an answer.
_BOTH_LABELS = re.compile(r"\b(?:im)?plausible\s*(?:or|/)\s*(?:im)?plausible\b")


def _labels_mentioned(span: str) -> set[str]:
    found: set[str] = set()
    for pattern, label in (
        (_NEGATED_IMPLAUSIBLE, PLAUSIBLE),
        (_NEGATED_PLAUSIBLE, IMPLAUSIBLE),
        (_BARE_IMPLAUSIBLE, IMPLAUSIBLE),
        (_BARE_PLAUSIBLE, PLAUSIBLE),
    ):
        if pattern.search(span):
            found.add(label)
            span = pattern.sub(" ", span)
    return found


def classify_span(span: str) -> str:
    """The label a short answer span states, or ``invalid`` when it states none or both."""
    found = _labels_mentioned(_BOTH_LABELS.sub(" ", span))
    if len(found) == 1:
        return found.pop()
    yes_no = _LEADING_YES_NO.match(span) if not found else None
    if yes_no:
        return PLAUSIBLE if yes_no.group(1) == "yes" else IMPLAUSIBLE
    return INVALID


def extract_answer(text: str | None) -> str:
    """Map a model output to ``plausible``, ``implausible`` or ``invalid`` (see the module docstring)."""
    if not text:
        return INVALID
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    stated = [m.group("span") for m in _ANSWER_CUE.finditer(lowered)]
    for span in reversed(stated):
        answer = classify_span(span)
        if answer != INVALID:
            return answer
    lines = [line for line in lowered.splitlines() if line.strip()]
    if len(lines) > 1:
        answer = classify_span(lines[0])
        if answer != INVALID:
            return answer
    return classify_span(lowered.strip())


def majority_answer(answers: Sequence[str]) -> str:
    """The most frequent valid answer; ``invalid`` only when no answer is valid.

    Ties go to the tied answer that was sampled first, so the vote is deterministic for a given
    sample order (lm-eval keeps the order in which the repeats were generated).
    """
    valid = [a for a in answers if a != INVALID]
    if not valid:
        return INVALID
    counts = Counter(valid)
    best = max(counts.values())
    return next(a for a in valid if counts[a] == best)
