"""One sports_understanding statement, whatever its source: the record, its doc, its text, its split.

A doc has ``id``, ``statement`` (the bare sentence), ``input`` (the task prefix, a newline, the
statement) and ``label`` (``plausible`` or ``implausible``). Every source
(``summeval_tasks.sports.source``, ``summeval_tasks.sports.generated``) yields the splits ``train`` and
``validation``.

Splitting a task.json: an example goes to ``validation`` when
``int(sha256(normalised statement).hexdigest(), 16) % 5 == 0`` and to ``train`` otherwise, where the
normalised statement is the UTF-8 encoding of the statement with runs of whitespace collapsed to one
space, trimmed, and lower-cased. About one example in five lands in validation; the split of a statement
does not depend on the order of the file or on the other examples.

Scaffolding stripped from an input (task.json ``input`` or hub ``inputs``) to get the statement: a
leading task prefix ("Determine whether the following statement or statements are plausible or
implausible:"), a leading ``Statement:`` label, and a trailing ``Plausible/implausible?`` question;
all three are matched ignoring case and spacing. Whitespace inside the statement is then collapsed.

Invisible characters (Unicode format characters, category Cf: zero-width spaces and joiners, marks of
direction) are removed from a statement. Repeats are found by the statement's ``repeat_key``: Unicode
NFKC, case-folded, whitespace collapsed, so ``Messi`` and ``Ｍｅｓｓｉ`` are one statement.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from summeval_tasks.contract import FamilyError

TASK_PREFIX = "Determine whether the following statement or statements are plausible or implausible:"
SPLITS = ("train", "validation")
VALIDATION_RULE = (
    "an example goes to validation when int(sha256(statement, whitespace-collapsed and lower-cased)"
    ".hexdigest(), 16) % 5 == 0, else to train (about 1 in 5)"
)

_LEADING_PREFIX = re.compile(r"^\s*" + r"\s+".join(map(re.escape, TASK_PREFIX.split())) + r"\s*", re.I)
_LEADING_STATEMENT_LABEL = re.compile(r"^\s*statements?\s*:\s*", re.I)
_TRAILING_QUESTION = re.compile(r"\s*plausible\s*/\s*implausible\s*\?\s*$", re.I)


class SportsDataError(FamilyError):
    """A sports_understanding source or record is malformed; the message names the file and record."""


@dataclass(frozen=True)
class Statement:
    """One labelled statement: ``label`` is ``plausible`` or ``implausible``."""

    id: str
    statement: str
    label: str

    def to_doc(self) -> dict[str, str]:
        """The lm-eval doc: ``id``, ``statement``, ``input`` (prefix, newline, statement), ``label``."""
        return {
            "id": self.id,
            "statement": self.statement,
            "input": f"{TASK_PREFIX}\n{self.statement}",
            "label": self.label,
        }


def statement_text(raw: str) -> str:
    """The bare statement of an input: invisible characters and scaffolding stripped (see the module
    docstring), spaces collapsed."""
    text = "".join(c for c in raw if unicodedata.category(c) != "Cf")
    text = _LEADING_PREFIX.sub("", text, count=1)
    text = _LEADING_STATEMENT_LABEL.sub("", text, count=1)
    text = _TRAILING_QUESTION.sub("", text, count=1)
    return " ".join(text.split())


def normalised(statement: str) -> str:
    """The form hashed for the split: whitespace collapsed, lower-case (repeats: ``repeat_key``)."""
    return " ".join(statement.split()).lower()


def repeat_key(statement: str) -> str:
    """The form compared for repeats: NFKC, format characters removed, case-folded, spaces collapsed."""
    text = unicodedata.normalize("NFKC", statement)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.casefold().split())


def split_of(statement: str) -> str:
    """``validation`` or ``train`` for a task.json statement, by the hash rule of the module docstring."""
    digest = hashlib.sha256(normalised(statement).encode("utf-8")).hexdigest()
    return "validation" if int(digest, 16) % 5 == 0 else "train"


def split_statements(statements: Iterable[Statement], origin: str) -> dict[str, list[Statement]]:
    """``{"train": [...], "validation": [...]}`` by the hash rule of the module docstring, in the given
    order; a split left empty is an error naming ``origin``."""
    out: dict[str, list[Statement]] = {split: [] for split in SPLITS}
    for item in statements:
        out[split_of(item.statement)].append(item)
    for split in SPLITS:
        if not out[split]:
            raise SportsDataError(
                f"sports: {origin} puts none of its {sum(len(v) for v in out.values())} distinct statements "
                f"in the {split} split: {VALIDATION_RULE}. Add statements until both splits get some"
            )
    return out
