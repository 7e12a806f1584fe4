"""Answer extraction and voting: free model text → ``plausible`` / ``implausible`` / ``invalid``.

One shared, pure implementation used by every strategy's filter pipeline (see ``filters.py``). Its
agreement with a careful human reader is measured on real model outputs in
``tests/data/sports_answers.jsonl`` (``tests/test_answer_corpus.py``).

How a text is read (``extract_answer``). The rule behind every step: a text that holds no single clear
verdict about the statement is ``invalid``; the reader never guesses.

1. **Normalise**: lower-case; straight quotes; markdown emphasis (``**``, ``__``, backticks) removed.
   A label cut mid-word at the very end of the text (``... is implaus``: at least ``plaus`` /
   ``implaus``) is completed: the token limit cut it, not the model.
2. **One item only**: the text is cut where the model starts a new item (a later line opening with
   ``Q:``, ``Question:`` or ``Statement:``): what follows answers another question.
3. **Sentences**: the text is split into sentences (at ``.``, ``!``, ``?`` before a space, and at line
   breaks). A sentence that ends with ``?`` is a question and states nothing.
4. **Not verdicts**, removed first: both labels joined (``plausible or implausible``,
   ``plausible/implausible``: the question restated; but ``not plausible or implausible`` is *unclear*),
   a label inside ``whether`` / ``if`` / ``determine`` / ``decide`` / ``assess`` / ``evaluate`` clauses
   (``To determine whether the sentence ... is plausible, ...``), and ``plausible`` describing something
   other than the statement (``a plausible answer would be: ...``, ``one plausible explanation``).
5. **Mentions** of a label, each read at word boundaries (``implausible`` never counts as
   ``plausible``), give ``plausible``, ``implausible`` or *unclear*:

   - a negation before the label with only articles, intensifiers or a coordinated adjective between
     (``not plausible``, ``not a plausible``, ``isn't a very plausible``, ``not at all plausible``,
     ``no plausible way``, ``not a realistic or plausible``) flips it; ``not implausible`` is plausible;
   - a negation with other words between (``not clear that it is plausible``, ``not necessarily
     plausible``), a partial negation (``not entirely plausible``: a hedge), ``neither``/``nor``,
     ``both``, comparisons (``more`` / ``less plausible``), two labels joined by ``and``, and said
     uncertainty (``not clear``, ``not sure``, ``unclear``, ``depends on``, ``cannot say``) are *unclear*.
6. **A stated conclusion decides**: the part of a sentence after its last conclusion cue (``the answer
   is``, ``answer:``, ``the answer would be``, ``so``, ``therefore``, ``thus``, ``hence``, ``in
   conclusion``; cues chain: ``So the answer is no``; a cue that ends its line concludes with the next
   sentence) decides when it mentions a label, opens with ``yes`` / ``no`` (``So the answer is no.`` is
   ``implausible``) or is one word meaning a label (``unlikely``, ``impossible``; ``likely``,
   ``possible``). The *last* such conclusion decides: chain-of-thought text may weigh both labels before
   concluding. A deciding conclusion that is unclear or names both labels is ``invalid``.
7. **No conclusion**: every mention of the text counts. One label throughout (however often) is the
   answer; two labels, or any unclear mention, is ``invalid``. With no mention at all, an opening
   ``yes`` / ``no`` (``Yes.``, ``A: No, ...``) is the answer; else ``invalid``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

PLAUSIBLE = "plausible"
IMPLAUSIBLE = "implausible"
INVALID = "invalid"
LABELS = (PLAUSIBLE, IMPLAUSIBLE)
_UNCLEAR = "unclear"

_LABEL = r"(?:im)?plausible"
# Words that may stand between a negation and the label without changing what the negation means.
# Not "entirely", "completely", "fully", "quite", "necessarily": "not entirely plausible" is a hedge.
_DEGREE = (
    r"(?:a|an|the|very|really|at\s+all|that|particularly|so|remotely|even|too|terribly|especially|overly|"
    r"seem|seems|sound|sounds|look|looks|appear|appears|to\s+be|be|considered|"
    r"(?:realistic|likely|possible|believable|credible|reasonable|sensible|logical|accurate|true)\s+(?:or|and))"
)
# "n't" ends any word (isn't, doesn't, can't, won't).
_NEGATION = r"(?:not|never|cannot|no|hardly|barely|\w*n't)"
_NEGATED = re.compile(rf"\b{_NEGATION}(?:\s+{_DEGREE})*\s+(?P<label>{_LABEL})\b")
# Both labels joined ("plausible or implausible", "plausible/implausible"): the question restated, unless
# a negation comes first ("not plausible or implausible": neither, so no clear verdict).
_BOTH = re.compile(
    rf"(?P<negated>\b{_NEGATION}(?:\s+{_DEGREE})*\s+)?"
    rf"\b{_LABEL}\s*,?\s*(?:or|/|versus|vs\.?)\s*(?:\w+\s+){{0,2}}?{_LABEL}\b"
)
# Up to five words of one clause (a clause word such as "and" or "because" ends the scope).
_SAME_CLAUSE = (
    r"(?:\s+(?!(?:and|but|so|because|since|which|while|as|therefore|thus|hence)\b)[\w'\"-]+){0,5}?\s+"
)
# A negation with other words before the label, a qualifier, a comparison, or said uncertainty: no
# clear verdict.
_QUALIFIED = re.compile(
    rf"\b(?:{_NEGATION}|neither|nor){_SAME_CLAUSE}{_LABEL}\b"
    rf"|\b(?:both|less|more|somewhat|partially|partly|half|neither|nor)\s+(?:\w+\s+)?{_LABEL}\b"
    rf"|\b{_LABEL}\s+(?:and|nor|but\s+also)\s+(?:\w+\s+){{0,2}}?{_LABEL}\b"
    r"|\b(?:not\s+(?:clear|sure|certain)|unclear|uncertain|depends\s+on|"
    r"(?:cannot|can't|can\s+not|impossible\s+to)\s+(?:be\s+)?(?:say|tell|determine|determined|decide|know))\b"
)
# Not a verdict about the statement: the question restated, or "plausible" describing something else.
_NOT_A_VERDICT = re.compile(
    rf"\b(?:whether|if|determine|decide|assess|evaluate)\b[^,;:]*?\b{_LABEL}\b"
    rf"|\b(?:a|an|the|one|another|any|some|most|more)\s+(?:(?:very|more|most|less|highly)\s+)?{_LABEL}\s+"
    r"(?:answers?|explanations?|reasons?|responses?|interpretations?|options?|scenarios?|ways?|examples?|"
    r"alternatives?|versions?|readings?|guess|possibility|possibilities|outcomes?|conclusions?|contexts?|"
    r"settings?|story|stories|assumptions?|choices?)\b"
)
# A conclusion that is one word of the same meaning: "So the answer is unlikely."
_SYNONYM = re.compile(
    r"^\W*(?:very\s+|highly\s+|quite\s+)?(?P<word>unlikely|impossible|unrealistic|likely|possible|realistic)\W*$"
)
_SYNONYMS = {
    "unlikely": IMPLAUSIBLE,
    "impossible": IMPLAUSIBLE,
    "unrealistic": IMPLAUSIBLE,
    "likely": PLAUSIBLE,
    "possible": PLAUSIBLE,
    "realistic": PLAUSIBLE,
}
_BARE = re.compile(rf"\b{_LABEL}\b")
_CUE_WORD = r"(?:so|therefore|thus|hence|in\s+conclusion|to\s+conclude|in\s+summary)"
_CUE = re.compile(
    rf"(?:\b{_CUE_WORD}\b\s*,?\s*)?\b(?:the\s+)?(?:final\s+|correct\s+)?answer\s*(?:is|would\s+be|:)\s*:?"
    rf"|(?<!not\s)(?<!n't\s)\b{_CUE_WORD}\b\s*,?"
)
_YES_NO = re.compile(r"^\W*(?:a\s*:\s*)?(?P<word>yes|no)\b")
_NEW_ITEM = re.compile(r"\n\s*(?:q|question|statement)\s*:")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CUT_LABEL = re.compile(r"\b(?P<stem>(?:im)?plaus[a-z]*)$")


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\*\*|__|`", "", text).rstrip()
    cut = _CUT_LABEL.search(text)  # a label the token limit cut: "... is implaus"
    if cut:
        stem = cut.group("stem")
        for label in LABELS:
            if label != stem and label.startswith(stem):
                return text[: cut.start()] + label
    return text


def _without_non_verdicts(sentence: str) -> tuple[str, list[str]]:
    """``sentence`` with every label use that is no verdict removed, and the unclear marks it held."""
    unclear = [_UNCLEAR for m in _BOTH.finditer(sentence) if m.group("negated")]
    sentence = _BOTH.sub(" ", sentence)
    return _NOT_A_VERDICT.sub(" ", sentence), unclear


def _mentions(part: str) -> list[str]:
    """The verdicts ``part`` (a sentence, or its end, with non-verdicts removed) states."""
    found: list[str] = []
    for match in _NEGATED.finditer(part):
        found.append(PLAUSIBLE if match.group("label") == IMPLAUSIBLE else IMPLAUSIBLE)
    part = _NEGATED.sub(" ", part)
    if _QUALIFIED.search(part):
        found.append(_UNCLEAR)
        part = _QUALIFIED.sub(" ", part)
    found.extend(m.group(0) for m in _BARE.finditer(part))
    return found


def _verdict(mentions: Sequence[str]) -> str:
    distinct = set(mentions)
    if len(distinct) == 1 and _UNCLEAR not in distinct:
        return distinct.pop()
    return INVALID


def _opening_yes_no(part: str) -> str | None:
    match = _YES_NO.match(part)
    if not match:
        return None
    return PLAUSIBLE if match.group("word") == "yes" else IMPLAUSIBLE


def classify_span(span: str) -> str:
    """The label a short answer span states, or ``invalid`` when it states none, both, or none clearly."""
    span, unclear = _without_non_verdicts(_normalise(span))
    mentions = unclear + _mentions(span)
    if mentions:
        return _verdict(mentions)
    return _opening_yes_no(span) or INVALID


def _conclusion(part: str) -> str | None:
    """What the text after a conclusion cue decides, or None when it decides nothing."""
    mentions = _mentions(part)
    if mentions:
        return _verdict(mentions)
    synonym = _SYNONYM.match(part)
    if synonym:
        return _SYNONYMS[synonym.group("word")]
    return _opening_yes_no(part)


def extract_answer(text: str | None) -> str:
    """Map a model output to ``plausible``, ``implausible`` or ``invalid`` (see the module docstring)."""
    if not text or not text.strip():
        return INVALID
    lowered = _NEW_ITEM.split(_normalise(text), maxsplit=1)[0]
    conclusion: str | None = None
    every: list[str] = []
    pending = False
    for sentence in _SENTENCE_END.split(lowered):
        if not sentence.strip() or sentence.rstrip().endswith("?"):
            continue
        sentence, unclear = _without_non_verdicts(sentence)
        every.extend(unclear + _mentions(sentence))
        cues = list(_CUE.finditer(sentence))
        part = sentence[cues[-1].end() :] if cues else (sentence if pending else None)
        pending = False
        if part is not None and not part.strip(" .:-"):
            if unclear:  # "So the answer is not plausible or implausible."
                conclusion = INVALID
            else:
                pending = True  # "So the answer is:" ends its line: the next sentence concludes
        elif part is not None:
            decided = _conclusion(part)
            conclusion = decided if decided is not None else conclusion
    if conclusion is not None:
        return conclusion
    if every:
        return _verdict(every)
    return _opening_yes_no(_without_non_verdicts(lowered)[0]) or INVALID


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
