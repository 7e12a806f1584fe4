"""The other languages the sports answer reader reads (``summeval_tasks.sports.answers``, rule 2 of its
docstring): one table per language of the phrases glossed into the English the reader reads, and
:func:`gloss`, which applies them all. Adding a language is adding a table here and to ``LANGUAGES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class _Language:
    """How one language words an answer, as phrases glossed into the English the reader reads."""

    name: str
    # Labels, negations, cue and uncertainty phrases: glossed wherever they stand.
    phrases: Mapping[str, str]
    # Yes / no: glossed only standing alone, before punctuation or the end ("Ja." but not "Ja Morant").
    answers: Mapping[str, str]


FRENCH = _Language(
    name="French",
    phrases={
        "invraisemblable": "implausible",
        "vraisemblable": "plausible",
        "peu": "hardly",
        "pas du tout": "not at all",
        "pas": "not",
        "non": "no",
        "très": "very",
        "est": "is",
        "réponse": "answer",
        "ou": "or",
        "si la": "whether the",
        "si le": "whether the",
        "si c'est": "whether it is",
        "donc": "so",
        "difficile à dire": "hard to say",
        "je ne sais pas": "i don't know",
        "dépend": "depends",
    },
    answers={"oui": "yes"},
)
SPANISH = _Language(
    name="Spanish",
    phrases={
        "inverosímil": "implausible",
        "inverosimil": "implausible",
        "verosímil": "plausible",
        "verosimil": "plausible",
        "poco": "hardly",
        "nada": "not at all",
        "para nada": "not at all",
        "no es": "is not",
        "es": "is",
        "muy": "very",
        "respuesta": "answer",
        "o": "or",
        "si la": "whether the",
        "si el": "whether the",
        "si es": "whether it is",
        "por lo tanto": "therefore",
        "así que": "so",
        "difícil de decir": "hard to say",
        "no sé": "i don't know",
        "depende": "depends",
    },
    answers={"sí": "yes"},
)
GERMAN = _Language(
    name="German",
    phrases={
        "unplausibel": "implausible",
        "plausibel": "plausible",
        "unwahrscheinlich": "unlikely",
        "wahrscheinlich": "likely",
        "nicht": "not",
        "überhaupt nicht": "not at all",
        "keineswegs": "by no means",
        "kaum": "hardly",
        "nein": "no",
        "sehr": "very",
        "ist": "is",
        "antwort": "answer",
        "oder": "or",
        "ob der": "whether the",
        "ob die": "whether the",
        "ob das": "whether the",
        "ob es": "whether it",
        "daher": "therefore",
        "schwer zu sagen": "hard to say",
        "ich weiß es nicht": "i don't know",
        "weiß nicht": "i don't know",
        "hängt davon ab": "depends",
    },
    answers={"ja": "yes"},
)
ITALIAN = _Language(
    name="Italian",
    phrases={
        "implausibile": "implausible",
        "plausibile": "plausible",
        "improbabile": "improbable",
        "non è": "is not",
        "non": "no",
        "è": "is",
        "poco": "hardly",
        "per niente": "not at all",
        "per nulla": "not at all",
        "molto": "very",
        "risposta": "answer",
        "o": "or",
        "oppure": "or",
        "se la": "whether the",
        "se il": "whether the",
        "se è": "whether it is",
        "quindi": "so",
        "difficile da dire": "hard to say",
        "non saprei": "i don't know",
        "non lo so": "i don't know",
        "dipende": "depends",
    },
    answers={"sì": "yes"},
)
LANGUAGES = (FRENCH, SPANISH, GERMAN, ITALIAN)


def _merged(tables: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """One phrase table from several; a phrase two languages gloss differently is a mistake."""
    merged: dict[str, str] = {}
    for table in tables:
        for phrase, gloss in table.items():
            if merged.setdefault(phrase, gloss) != gloss:
                raise ValueError(f"{phrase!r} is glossed both {merged[phrase]!r} and {gloss!r}")
    return merged


def _alternation(phrases: Mapping[str, str]) -> str:
    """The phrases as one regex alternation, longest first, any whitespace between their words."""
    ordered = sorted(phrases, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


_GLOSSES = _merged([language.phrases for language in LANGUAGES])
_ANSWER_GLOSSES = _merged([language.answers for language in LANGUAGES])
_WORD_START, _WORD_END = r"(?<![\w'-])", r"(?![\w'-])"
_GLOSS = re.compile(rf"{_WORD_START}(?:{_alternation(_GLOSSES)}){_WORD_END}")
_ANSWER_GLOSS = re.compile(rf"{_WORD_START}(?:{_alternation(_ANSWER_GLOSSES)})(?=\s*(?:[^\w\s]|$))")


def gloss(text: str) -> str:
    """``text`` (normalised) with every phrase of the language tables glossed into English."""
    text = _GLOSS.sub(lambda m: _GLOSSES[" ".join(m.group(0).split())], text)
    return _ANSWER_GLOSS.sub(lambda m: _ANSWER_GLOSSES[m.group(0)], text)
