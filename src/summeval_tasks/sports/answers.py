"""Answer extraction and voting: free model text → ``plausible`` / ``implausible`` / ``invalid``.

One shared, pure implementation used by every strategy's filter pipeline (see ``filters.py``). Its
agreement with a careful human reader is measured on real model outputs in
``tests/data/sports_answers.jsonl`` and on answers written in other model families' styles in
``tests/data/sports_answers_other_families.jsonl``
(``tests/summeval_tasks/sports/test_answer_corpus.py``).

Over 400 lines on purpose: about 110 of them are this docstring, the reader's spec, kept beside the code
it specifies; the language tables live in ``answer_languages``.

How a text is read (``extract_answer``). The rule behind every step: a text that holds no single clear
verdict about the statement is ``invalid``; the reader never guesses.

1. **Normalise**: Unicode compatibility forms folded (NFKC: full-width ``ｐｌａｕｓｉｂｌｅ`` and
   mathematical bold letters are plain letters, a no-break space is a space, ``…`` is ``...``); soft
   hyphens and zero-width characters (U+00AD, U+200B/C/D, U+2060, U+FEFF) removed; lower-case; straight
   quotes (``« »``, ``„ "``, curly quotes); markdown emphasis (``**``, ``__``, backticks) removed. A label
   written with a prefix is read as the word it spells: ``im-plausible`` is ``implausible``;
   ``un-plausible``, ``unplausible`` and ``non-plausible`` are ``not plausible``. Quoted JSON keys lose
   their quotes (``"is_plausible":`` is ``is plausible:``). A label cut mid-word at the very end of the
   text (``... is implaus``: at least ``plaus`` / ``implaus``) is completed: the token limit cut it, not
   the model.
2. **Other languages**: French, Spanish, German and Italian answers are glossed, phrase by phrase, into
   the English the reader reads, one table per language (``answer_languages``: ``FRENCH``, ``SPANISH``,
   ``GERMAN``, ``ITALIAN``): labels (``invraisemblable``, ``inverosímil``, ``unplausibel``,
   ``implausibile`` are ``implausible``; ``vraisemblable``, ``verosímil``, ``plausibel``, ``plausibile``
   are ``plausible``), negations (``pas``, ``no es``, ``nicht``, ``non è``: ``not``; ``peu``, ``poco``,
   ``kaum``: ``hardly``; ``nada``, ``per niente``: ``not at all``), answer words (``Réponse``,
   ``Respuesta``, ``Antwort``, ``Risposta``: ``answer``), ``or`` (``ou``, ``o``, ``oder``), ``whether``
   (``si la``, ``ob der``, ``se la``) and said uncertainty (``difficile à dire``, ``depende``, ``schwer zu
   sagen``, ``non saprei``). ``oui`` / ``sí`` / ``ja`` / ``sì`` are ``yes`` only where they stand alone
   (``Ja.``, ``Sí, ...``; never ``Ja Morant``); ``non`` / ``nein`` are ``no``. So ``Réponse :
   invraisemblable`` is ``implausible``, ``No es inverosímil`` is ``plausible`` and ``plausible o
   inverosímil`` restates the question.
3. **Key-value verdicts**: a label used as a key (at a line start or after ``{`` / ``,``) with a yes/no
   value is the verdict the value gives: ``Plausible: No``, ``Plausible: false``, ``{"plausible":
   false}``, ``{"plausible": "false"}`` are ``not plausible``; ``{"is_plausible": true}`` is
   ``plausible``; ``{"plausible": null}`` is *unclear*; a number (``Plausible: 0.5``) is a score, not a
   verdict. Other keys are read as text: ``{"answer": "no"}`` is the cue ``answer:`` (step 11).
4. **One item only**: the text is cut where the model starts a new item (a later line opening with
   ``Q:``, ``Question:`` or ``Statement:``): what follows answers another question.
5. **Options the text defines**: where the text itself lists lettered options with both meanings (``(A)
   plausible (B) implausible``, ``A) yes B) no``, ``A. Yes``, in any order, before or after the answer),
   the listing is no verdict, and a letter chosen in a conclusion (``Answer: (B)``, ``So the answer is
   (B).``, ``The correct option is (A)``) is the option's label. A letter the text does not define
   (``(C)``), or one beside a label that contradicts it (``Answer: (A) implausible`` where (A) is
   plausible), is ``invalid``. Without defined options a letter means nothing (``The answer is (A).``).
   A line opening with ``A:`` answers; it is no option.
6. **Corrections**: only what follows the last correction is read (``wait``, ``actually``, ``hold on``,
   ``on reflection``, ``on second thought``, ``let me reconsider``, ``I misread``, opening a sentence or
   clause or after ``no`` / ``oh``; and the ``but`` / ``though`` after ``at first`` / ``initially``):
   ``Plausible. Actually, no: ... Implausible.`` is ``implausible``; ``At first I thought this was
   plausible, but ... The sentence is implausible.`` is ``implausible``. The corrected verdict is
   retracted, so a correction followed by no new verdict (``Plausible. Hmm, actually, I'm not sure``, or
   a text cut off after ``wait, ...``) is ``invalid``.
7. **Sentences**: the text is split into sentences (at ``.``, ``!``, ``?`` before a space, and at line
   breaks). A sentence that ends with ``?`` is a question and states nothing.
8. **Not verdicts**, removed first: both labels joined (``plausible or implausible``,
   ``plausible/implausible``, ``"plausible" | "implausible"``: the question or the answer schema
   restated; but ``not plausible or implausible`` is *unclear*),
   a label inside ``whether`` / ``if`` / ``determine`` / ``decide`` / ``assess`` / ``evaluate`` clauses
   (``To determine whether the sentence ... is plausible, ...``), ``plausible`` describing something
   other than the statement (``a plausible answer would be: ...``, ``one plausible explanation``, a quoted
   label before a noun: ``a "plausible" sentence``), a label named as a word (``the word "implausible"
   means ...``), a label in others' words (``Someone might say "this is plausible" ...``, ``Many people
   would call it "implausible", and others "plausible"``, to the end of the clause: a ``but`` ends it)
   and a concession (``This might sound implausible ...``). A quoted label given as the answer counts
   (``My answer: "plausible"``, ``"Implausible."``).
9. **Mentions** of a label, each read at word boundaries (``implausible`` never counts as
   ``plausible``), give ``plausible``, ``implausible`` or *unclear*:

   - a negation before the label with only articles, intensifiers or a coordinated adjective between
     (``not plausible``, ``not a plausible``, ``isn't a very plausible``, ``not at all plausible``,
     ``no plausible way``, ``not a realistic or plausible``, ``far from plausible``, ``anything but
     plausible``, ``by no means plausible``, ``nothing implausible``) flips it; ``not implausible`` is
     plausible. A denial frame is a negation too: ``I wouldn't call it implausible`` and ``I wouldn't say
     it's plausible`` flip the label, ``no reason to think it's ...`` flips what follows. Negations in a
     row cancel in pairs: ``not not plausible``, ``I can't say it's not plausible`` and ``no reason to
     think it's not plausible`` are ``plausible`` (a bare ``no`` only ends such a row: ``No not
     plausible`` is not read as a double negation);
   - a negation with other words between (``not clear that it is plausible``, ``not necessarily
     plausible``), a partial negation (``not entirely plausible``: a hedge), ``neither``/``nor``,
     ``both``, comparisons (``more`` / ``less plausible``), two labels joined by ``and``, and said
     uncertainty (``not clear``, ``not sure``, ``unclear``, ``depends``, ``cannot say``, ``can't be
     sure``, ``hard to say``, ``I don't know``, ``unable to determine``) are *unclear*.
10. **Leans**: a sentence with no label whose opening clause (before ``:``, ``;``, a dash or a
    parenthesis) is nothing but a hedge that leans one way is that verdict: ``Unlikely.``, ``Highly
    improbable:``, ``Seems doubtful.``, ``Doubtful at best``, ``Not very likely.``, ``I don't think so.``,
    ``I doubt it`` and ``Probably not`` are ``implausible``; ``Very likely.``, ``It seems fairly
    likely.``, ``Most likely yes``, ``I think so, yeah.`` are ``plausible`` (so are ``Possible.`` and
    ``Impossible.``: ``implausible``). A trailing ``yes`` / ``no``
    that contradicts the hedge makes it *unclear*. ``Maybe`` and ``possible, though unlikely`` lean
    nowhere.
11. **A stated conclusion decides**: the part of a sentence after its last conclusion cue (``the answer
    is``, ``answer:``, ``the answer would be``, ``the correct option is``, ``I'd answer``, ``so``,
    ``therefore``, ``thus``, ``hence``, ``in conclusion``; cues chain: ``So the answer is no``; a cue
    that ends its line concludes with the next sentence) decides when it mentions a label, chooses a
    defined option (step 5), is a lean (step 10: ``So the answer is: unlikely``) or opens
    with ``yes`` / ``no`` (``So the answer is no.`` is ``implausible``). The *last* such conclusion
    decides: chain-of-thought text may weigh both labels before concluding. A conclusion that opens
    with a quotation is that quotation (``{"answer": "no", "reason": "... plausible ..."}``: the answer
    field decides, not the reason). A deciding conclusion that is unclear or names both labels is
    ``invalid``.
12. **No conclusion**: every mention and lean of the text counts. One label throughout (however often)
    is the answer; two labels, or any unclear mention, is ``invalid``. With no mention at all, an
    opening ``yes`` / ``yeah`` / ``yep`` / ``no`` / ``nope`` (``Yes.``, ``A: No, ...``, ``Nope.``) is the
    answer, unless both stand there (``yes no``); else ``invalid``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence

from summeval_tasks.sports.answer_languages import gloss

PLAUSIBLE = "plausible"
IMPLAUSIBLE = "implausible"
INVALID = "invalid"
LABELS = (PLAUSIBLE, IMPLAUSIBLE)
_UNCLEAR = "unclear"
_OPPOSITE = {PLAUSIBLE: IMPLAUSIBLE, IMPLAUSIBLE: PLAUSIBLE}


# --- English: labels, negations and hedges -----------------------------------------------------------

_LABEL = r"(?:im)?plausible"
# Words that may stand between a negation and the label without changing what the negation means.
# Not "entirely", "completely", "fully", "quite", "necessarily": "not entirely plausible" is a hedge.
_DEGREE = (
    r"(?:a|an|the|very|really|at\s+all|that|particularly|so|remotely|even|too|terribly|especially|overly|"
    r"seem|seems|sound|sounds|look|looks|appear|appears|to\s+be|be|being|considered|"
    r"(?:realistic|likely|possible|believable|credible|reasonable|sensible|logical|accurate|true)\s+(?:or|and))"
)
# What a denial frame is said about: "it's", "that it is", "the sentence is".
_STATEMENT = r"(?:it|this|that|the\s+(?:sentence|statement))"
_SUBJECT = rf"(?:that\s+)?{_STATEMENT}(?:'s|\s+is|\s+was)?"
# Negations that may stand before another negation and cancel it ("not not", "can't say it's not").
_LEADING_NEGATION = (
    rf"(?:(?:would|will|do|does|did|could)(?:n't|\s+not)\s+(?:call|consider)\s+{_STATEMENT}"
    rf"|(?:would|will|do|did)(?:n't|\s+not)\s+say\s+{_SUBJECT}"
    rf"|no\s+reason\s+to\s+(?:think|believe|say|suspect)\s+{_SUBJECT}"
    rf"|(?:can't|cannot|can\s+not)\s+say\s+{_SUBJECT}(?=\s+(?:not|never)\b)"
    r"|not|never|cannot|\w*n't)"
)
_NEGATION = (
    rf"(?:{_LEADING_NEGATION}|far\s+from|anything\s+but|by\s+no\s+means|in\s+no\s+way|nowhere\s+near|"
    r"no|nothing|hardly|barely|scarcely)"
)
_NEGATED = re.compile(
    rf"\b(?P<chain>(?:{_LEADING_NEGATION}(?:\s+{_DEGREE})*\s+)*{_NEGATION}(?:\s+{_DEGREE})*)\s+"
    rf"(?P<label>{_LABEL})\b"
)
_ONE_NEGATION = re.compile(rf"\b{_NEGATION}(?!\w)")
# Both labels joined ("plausible or implausible", '"plausible" | "implausible"'): the question restated,
# unless a negation comes first ("not plausible or implausible": neither, so no clear verdict).
_BOTH = re.compile(
    rf"(?P<negated>\b{_NEGATION}(?:\s+{_DEGREE})*\s+)?"
    rf"\b{_LABEL}\b\"?\s*,?\s*(?:or|/|\||versus|vs\.?)\s*(?:\w+\s+){{0,2}}?\"?{_LABEL}\b"
)
# Up to five words of one clause (a clause word such as "and" or "because" ends the scope).
_SAME_CLAUSE = (
    r"(?:\s+(?!(?:and|but|so|because|since|which|while|as|therefore|thus|hence)\b)[\w'\"-]+){0,5}?\s+"
)
_SAID_UNCERTAINTY = (
    r"not\s+(?:clear|sure|certain)|unclear|uncertain|depends|hard\s+to\s+(?:say|tell)|"
    r"difficult\s+to\s+(?:say|tell)|(?:don't|do\s+not)\s+know|unable\s+to\s+(?:say|tell|determine|decide)|"
    r"(?:cannot|can't|can\s+not|impossible\s+to)\s+(?:be\s+)?"
    r"(?:say|tell|determine|determined|decide|know|sure|certain)"
)
# A negation with other words before the label, a qualifier, a comparison, or said uncertainty: no
# clear verdict.
_QUALIFIED = re.compile(
    rf"\b(?:{_NEGATION}|neither|nor){_SAME_CLAUSE}{_LABEL}\b"
    rf"|\b(?:both|less|more|somewhat|partially|partly|half|neither|nor)\s+(?:\w+\s+)?{_LABEL}\b"
    rf"|\b{_LABEL}\s+(?:and|nor|but\s+also)\s+(?:\w+\s+){{0,2}}?{_LABEL}\b"
    rf"|\b(?:{_SAID_UNCERTAINTY})\b"
)
_REPORTED = r"(?:someone|somebody|some\s+people|people|others|many(?:\s+people)?|one)"
# Not a verdict about the statement: the question restated, "plausible" describing something else, a label
# named as a word, said in others' words, or conceded.
_NOT_A_VERDICT = re.compile(
    rf"\b(?:whether|if|determine|decide|assess|evaluate)\b[^,;:]*?\b{_LABEL}\b"
    rf"|\b(?:a|an|the|one|another|any|some|most|more)\s+(?:(?:very|more|most|less|highly)\s+)?{_LABEL}\s+"
    r"(?:answers?|explanations?|reasons?|responses?|interpretations?|options?|scenarios?|ways?|examples?|"
    r"alternatives?|versions?|readings?|guess|possibility|possibilities|outcomes?|conclusions?|contexts?|"
    r"settings?|story|stories|assumptions?|choices?)\b"
    rf"|\b(?:a|an|the)\s+\"{_LABEL}\"\s+\w+"
    rf"|\b(?:word|term|adjective)\s+\"?{_LABEL}\b\"?|\"?\b{_LABEL}\"?\s+(?:means|is\s+defined|refers\s+to)\b"
    rf"|\b{_REPORTED}\s+(?:might|may|could|would|will|often)\s+(?:say|think|call|argue|claim|find)\b"
    r"[^.;]*?(?=\s*(?:\b(?:but|however|though)\b|[.;]|$))"
    rf"|\b(?:might|may|could)\s+(?:\w+\s+)?(?:sound|seem|look|appear)\s+(?:a\s+bit\s+|somewhat\s+)?{_LABEL}\b"
)
_BARE = re.compile(rf"\b{_LABEL}\b")

# Hedges that lean one way: read where they make up a whole opening clause, or a whole conclusion.
_LEAN_WORDS = {
    "likely": PLAUSIBLE,
    "probable": PLAUSIBLE,
    "possible": PLAUSIBLE,
    "realistic": PLAUSIBLE,
    "unlikely": IMPLAUSIBLE,
    "improbable": IMPLAUSIBLE,
    "doubtful": IMPLAUSIBLE,
    "impossible": IMPLAUSIBLE,
    "unrealistic": IMPLAUSIBLE,
}
_LEAN = re.compile(
    r"(?:i\s+think\s+)?"
    r"(?:(?:it|this|that)(?:'s|\s+is|\s+seems|\s+sounds|\s+looks)\s+|(?:seems|sounds|looks)\s+)?"
    r"(?P<negation>not\s+)?"
    r"(?:(?:very|highly|fairly|quite|most|extremely|pretty|rather|so|that|too|really)\s+)?"
    rf"(?P<word>{'|'.join(_LEAN_WORDS)})(?:\s+at\s+best)?"
)
_LEAN_PHRASES = {
    r"i\s+(?:don't|do\s+not)\s+think\s+so": IMPLAUSIBLE,
    r"i\s+doubt\s+(?:it|that)": IMPLAUSIBLE,
    r"(?:probably|likely)\s+not|not\s+really": IMPLAUSIBLE,
    r"i\s+think\s+so": PLAUSIBLE,
    r"probably": PLAUSIBLE,
}
_YES_WORDS = ("yes", "yeah", "yep", "yup")
_NO_WORDS = ("no", "nope", "nah")
_YES_OR_NO = "|".join(_YES_WORDS + _NO_WORDS)
_TRAILING_YES_NO = re.compile(rf"(?P<core>.*?)(?:\s*,?\s*\b(?P<echo>{_YES_OR_NO}))?")
_CLAUSE_END = re.compile(r"\s*(?:[:;(\u2014\u2013]|\s-\s)")
_YES_NO = re.compile(rf"^\W*(?:a\s*:\s*)?(?P<word>{_YES_OR_NO})\b(?:[\s,/]*\b(?P<second>{_YES_OR_NO})\W*$)?")

# --- Conclusions, corrections, options, text layout --------------------------------------------------

_CUE_WORD = r"(?:so|therefore|thus|hence|in\s+conclusion|to\s+conclude|in\s+summary)"
_CUE = re.compile(
    rf"(?:\b{_CUE_WORD}\b\s*,?\s*)?\b(?:the\s+)?(?:final\s+|correct\s+|best\s+|right\s+)?"
    r"(?:answer|option|choice)\s*(?:is|would\s+be|:)\s*:?"
    r"|\bi(?:'d|\s+would)?\s+answer\b\s*:?"
    rf"|(?<!not\s)(?<!n't\s)\b{_CUE_WORD}\b\s*,?"
)
_CORRECTION = re.compile(
    r"(?:^|(?<=[^\w\s])|\b(?:no|oh|but|hmm|um)\b)\s*"
    r"(?:wait|hold\s+on|actually|on\s+(?:second|further)\s+thought|on\s+reflection|scratch\s+that|"
    r"let\s+me\s+(?:re-?check|reconsider|re-?think)|i\s+misread)\b"
    r"|\b(?:at\s+first|initially|my\s+(?:first|initial)\s+(?:thought|instinct|guess|answer))\b[^.;\n]*?"
    r"\b(?:but|though|however)\b"
)
# A lettered option the text defines: "(A) plausible", "A) yes", "B. No", "(A) Yes, plausible".
_OPTION = re.compile(
    r"(?<![\w(])\(?(?P<letter>[a-e])[.)][^\S\n]*"
    rf"(?P<meaning>(?:yes|no)\b(?:\s*[,-]?\s*(?:not\s+)?{_LABEL}\b)?|(?:not\s+)?{_LABEL}\b)"
)
_QUOTED_ANSWER = re.compile(r'^\s*"(?P<answer>[^"]*)"')
_CHOICE_BEFORE = re.compile(r"\b(?:answer|option|choice)\b\W*(?:(?:is|would\s+be)\W*)?$")
_CHOICE = re.compile(r"\((?P<letter>[a-e])\)|^\W*(?:option\s+)?(?P<bare>[a-e])\W*$")
_KEY_VALUE = re.compile(
    rf"(?m)(?P<key>(?:^|[{{,\[])\s*(?:is\s+)?)(?P<label>{_LABEL})\s*[:=]\s*\"?"
    r"(?P<value>yes|no|true|false|null|none|n/a|\d+(?:\.\d+)?%?)\"?(?=\s*(?:[,;.}\]]|$))"
)
_JSON_KEY = re.compile(r"\"(?P<key>[\w ]+)\"\s*:")
_LABEL_PREFIX = re.compile(r"\b(?:(?P<im>im)-|(?:un|non)-?)(?=(?:im)?plausible\b)")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"'})
_GUILLEMETS = re.compile(r"\u00ab\s*|\s*\u00bb")  # « plausible » → "plausible"
_NEW_ITEM = re.compile(r"\n\s*(?:q|question|statement)\s*:")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CUT_LABEL = re.compile(r"\b(?P<stem>(?:im)?plaus[a-z]*)$")


# --- Reading -------------------------------------------------------------------------------------------


def _key_value(match: re.Match[str]) -> str:
    label, value = match.group("label"), match.group("value")
    if value in ("yes", "true"):
        verdict = label
    elif value in ("no", "false"):
        verdict = f"not {label}"
    elif value in ("null", "none", "n/a"):
        verdict = _UNCLEAR
    else:
        verdict = ""  # a score is not a verdict
    return match.group("key") + verdict


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).lower()
    text = _GUILLEMETS.sub('"', text).translate(_QUOTES)
    text = re.sub(r"\*\*|__|`", "", text).rstrip()
    text = _LABEL_PREFIX.sub(lambda m: "im" if m.group("im") else "not ", text)
    text = _JSON_KEY.sub(lambda m: m.group("key").replace("_", " ") + ":", text)
    text = _KEY_VALUE.sub(_key_value, gloss(text))
    cut = _CUT_LABEL.search(text)  # a label the token limit cut: "... is implaus"
    if cut:
        stem = cut.group("stem")
        for label in LABELS:
            if label != stem and label.startswith(stem):
                return text[: cut.start()] + label
    return text


def _options(text: str) -> tuple[dict[str, str], str]:
    """The lettered options ``text`` defines (letter → label), and ``text`` without their listing.

    No options (and ``text`` unchanged) unless both labels are defined and no letter means two things.
    """
    options: dict[str, str] = {}
    listings = []
    for match in _OPTION.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _CHOICE_BEFORE.search(text[line_start : match.start()]):
            continue  # "Answer: (B) implausible" chooses an option, it does not define one
        meaning = match.group("meaning")
        label = _verdict(_mentions(meaning)) if _BARE.search(meaning) else _opening_yes_no(meaning)
        if label not in LABELS or options.setdefault(match.group("letter"), label) != label:
            return {}, text
        listings.append(match.span())
    if set(options.values()) != set(LABELS):
        return {}, text
    for start, end in reversed(listings):
        text = text[:start] + " " + text[end:]
    return options, text


def _after_last_correction(text: str) -> str:
    corrections = list(_CORRECTION.finditer(text))
    return text[corrections[-1].end() :] if corrections else text


def _without_non_verdicts(sentence: str) -> tuple[str, list[str]]:
    """``sentence`` with every label use that is no verdict removed, and the unclear marks it held."""
    unclear = [_UNCLEAR for m in _BOTH.finditer(sentence) if m.group("negated")]
    sentence = _BOTH.sub(" ", sentence)
    return _NOT_A_VERDICT.sub(" ", sentence), unclear


def _negated(match: re.Match[str]) -> str:
    """The verdict a label after a row of negations gives: each negation flips it."""
    label = match.group("label")
    for _ in _ONE_NEGATION.finditer(match.group("chain")):
        label = _OPPOSITE[label]
    return label


def _mentions(part: str) -> list[str]:
    """The verdicts ``part`` (a sentence, or its end, with non-verdicts removed) states."""
    found = [_negated(match) for match in _NEGATED.finditer(part)]
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


def _yes_no_label(word: str) -> str:
    return PLAUSIBLE if word in _YES_WORDS else IMPLAUSIBLE


def _opening_yes_no(part: str) -> str | None:
    match = _YES_NO.match(part)
    if not match:
        return None
    answer = _yes_no_label(match.group("word"))
    second = match.group("second")
    if second and _yes_no_label(second) != answer:
        return INVALID  # "yes no": both answers
    return answer


def _lean(clause: str) -> str | None:
    """The label a hedge leans to, where ``clause`` is nothing but that hedge; else None."""
    parts = _TRAILING_YES_NO.fullmatch(re.sub(r"^\W+|\W+$", "", clause))
    if not parts:
        return None
    core, echo = parts.group("core"), parts.group("echo")
    lean = None
    word = _LEAN.fullmatch(core)
    if word:
        lean = _LEAN_WORDS[word.group("word")]
        lean = _OPPOSITE[lean] if word.group("negation") else lean
    else:
        lean = next((label for phrase, label in _LEAN_PHRASES.items() if re.fullmatch(phrase, core)), None)
    if lean and echo and _yes_no_label(echo) != lean:
        return _UNCLEAR  # "unlikely, yes"
    return lean


def _opening_lean(sentence: str) -> list[str]:
    lean = _lean(_CLAUSE_END.split(sentence, maxsplit=1)[0])
    return [lean] if lean else []


def classify_span(span: str) -> str:
    """The label a short answer span states, or ``invalid`` when it states none, both, or none clearly."""
    span, unclear = _without_non_verdicts(_normalise(span))
    mentions = unclear + _mentions(span)
    if mentions:
        return _verdict(mentions)
    return _opening_yes_no(span) or INVALID


def _conclusion(part: str, options: Mapping[str, str]) -> str | None:
    """What the text after a conclusion cue decides, or None when it decides nothing."""
    quoted = _QUOTED_ANSWER.match(part)  # 'answer: "no", reason: "..."': the quotation is the answer
    part = quoted.group("answer") if quoted else part
    mentions = _mentions(part)
    if options:
        for choice in _CHOICE.finditer(part):
            mentions.append(options.get(choice.group("letter") or choice.group("bare"), _UNCLEAR))
    if mentions:
        return _verdict(mentions)
    lean = _lean(part)
    if lean:
        return INVALID if lean == _UNCLEAR else lean
    return _opening_yes_no(part)


def extract_answer(text: str | None) -> str:
    """Map a model output to ``plausible``, ``implausible`` or ``invalid`` (see the module docstring)."""
    if not text or not text.strip():
        return INVALID
    lowered = _NEW_ITEM.split(_normalise(text), maxsplit=1)[0]
    options, lowered = _options(lowered)
    lowered = _after_last_correction(lowered)
    conclusion: str | None = None
    every: list[str] = []
    pending = False
    for sentence in _SENTENCE_END.split(lowered):
        if not sentence.strip() or sentence.rstrip().endswith("?"):
            continue
        sentence, unclear = _without_non_verdicts(sentence)
        found = unclear + _mentions(sentence)
        every.extend(found or _opening_lean(sentence))
        cues = list(_CUE.finditer(sentence))
        part = sentence[cues[-1].end() :] if cues else (sentence if pending else None)
        pending = False
        if part is not None and not part.strip(" .:-"):
            if unclear:  # "So the answer is not plausible or implausible."
                conclusion = INVALID
            else:
                pending = True  # "So the answer is:" ends its line: the next sentence concludes
        elif part is not None:
            decided = _conclusion(part, options)
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
