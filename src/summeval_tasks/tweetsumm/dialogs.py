"""One TweetSumm dialog, whatever its source: the record (cleaned turns, abstractive reference
summaries), its lm-eval doc, and the parsers of one record in each format (``summeval_tasks.tweetsumm.source``
reads the files and the hub). Each parser's one-line errors name the format it expected and the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summeval_tasks.contract import FamilyError
from summeval_tasks.tweetsumm.cleaning import clean_text


class TweetSummDataError(FamilyError):
    """A TweetSumm source or record is malformed; the message names the file and record."""


@dataclass(frozen=True)
class Turn:
    """One cleaned turn of a conversation."""

    speaker: str  # "Customer" or "Agent"
    text: str


@dataclass(frozen=True)
class Dialog:
    """A parsed TweetSumm dialog: cleaned turns and its abstractive reference summaries."""

    dialog_id: str
    turns: tuple[Turn, ...]
    reference_summaries: tuple[str, ...]

    @property
    def conversation(self) -> str:
        """``Customer: ...`` / ``Agent: ...`` lines, one per turn."""
        return "\n".join(f"{turn.speaker}: {turn.text}" for turn in self.turns)

    def to_doc(self) -> dict[str, Any]:
        """The lm-eval doc: ``id``, ``conversation``, ``references``, ``summary`` (the first reference).

        No prompt wording: prompts, and the training text, are the family's
        (``tweetsumm.family.TweetSumm``)."""
        return {
            "id": self.dialog_id,
            "conversation": self.conversation,
            "references": list(self.reference_summaries),
            "summary": self.reference_summaries[0],
        }


# ----------------------------------------------------------------------------- record parsing


def _where(origin: str, record: str) -> str:
    return f"tweetsumm: record {record} in {origin}"


def _turns_from_texts(texts: Iterable[tuple[str, Any]], origin: str, record: str) -> tuple[Turn, ...]:
    turns = []
    for speaker, raw in texts:
        if raw is None:
            continue
        if not isinstance(raw, str):
            raise TweetSummDataError(
                f"{_where(origin, record)} has a {speaker} turn of type {type(raw).__name__}; "
                "expected a string"
            )
        text = clean_text(raw)
        if text:
            turns.append(Turn(speaker, text))
    if not turns:
        raise TweetSummDataError(f"{_where(origin, record)} has no turns with text")
    return tuple(turns)


def _references(summaries: Any, origin: str, record: str) -> tuple[str, ...]:
    if isinstance(summaries, str):
        raise TweetSummDataError(
            f"{_where(origin, record)}: abstractive_summaries is one string; expected a list of "
            'summaries, e.g. ["first summary", "second summary"] (each a string or a list of sentences)'
        )
    if not isinstance(summaries, list) or not summaries:
        raise TweetSummDataError(
            f"{_where(origin, record)} has no abstractive summaries "
            "(expected a non-empty list of summaries, each a list of sentences or a string)"
        )
    references = []
    for i, summary in enumerate(summaries):
        if isinstance(summary, str):
            sentences = [summary]
        elif isinstance(summary, list) and all(isinstance(s, str) for s in summary):
            sentences = summary
        else:
            raise TweetSummDataError(
                f"{_where(origin, record)}: abstractive summary {i} is a "
                f"{type(summary).__name__}; expected a list of sentences or a string"
            )
        text = clean_text(" ".join(sentences))
        if text:
            references.append(text)
    if not references:
        raise TweetSummDataError(f"{_where(origin, record)} has only empty abstractive summaries")
    return tuple(references)


def parse_dialogstudio_record(record: Any, origin: str, key: str) -> Dialog:
    """Parse one DialogStudio TweetSumm value (``log`` of user/system turn pairs)."""
    if not isinstance(record, Mapping):
        raise TweetSummDataError(f"{_where(origin, key)} is a {type(record).__name__}; expected an object")
    log = record.get("log")
    if not isinstance(log, list) or not log:
        raise TweetSummDataError(f"{_where(origin, key)} has no turns ('log' is missing or empty)")
    texts: list[tuple[str, Any]] = []
    for i, turn in enumerate(log):
        if not isinstance(turn, Mapping):
            raise TweetSummDataError(f"{_where(origin, key)}: turn {i} is not an object")
        texts.append(("Customer", turn.get("user utterance")))
        texts.append(("Agent", turn.get("system response")))
    info = record.get("original dialog info")
    summaries = None
    if isinstance(info, Mapping) and isinstance(info.get("summaries"), Mapping):
        summaries = info["summaries"].get("abstractive_summaries")
    dialog_id = record.get("original dialog id") or key
    return Dialog(
        dialog_id=str(dialog_id),
        turns=_turns_from_texts(texts, origin, key),
        reference_summaries=_references(summaries, origin, key),
    )


def parse_processed_record(record: Any, origin: str, index: int) -> Dialog:
    """Parse one record of TweetSumm's processed form (``dialog.turns`` with ``is_agent``)."""
    where = str(index)
    if not isinstance(record, Mapping) or not isinstance(record.get("dialog"), Mapping):
        raise TweetSummDataError(f"{_where(origin, where)} has no 'dialog' object")
    dialog = record["dialog"]
    raw_turns = dialog.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        raise TweetSummDataError(f"{_where(origin, where)} has no turns ('dialog.turns' is empty)")
    texts: list[tuple[str, Any]] = []
    for i, turn in enumerate(raw_turns):
        sentences = turn.get("sentences") if isinstance(turn, Mapping) else None
        if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
            raise TweetSummDataError(
                f"{_where(origin, where)}: turn {i} needs 'sentences', a list of strings"
            )
        texts.append(("Agent" if turn.get("is_agent") else "Customer", " ".join(sentences)))
    summaries = record.get("summaries")
    abstractive = summaries.get("abstractive_summaries") if isinstance(summaries, Mapping) else None
    return Dialog(
        dialog_id=str(dialog.get("dialog_id") or f"{Path(origin).stem}-{index}"),
        turns=_turns_from_texts(texts, origin, where),
        reference_summaries=_references(abstractive, origin, where),
    )
