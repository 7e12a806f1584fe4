"""BIG-bench sports_understanding data: raw sources -> parsed statements -> lm-eval docs.

The sources, picked by ``sports_data`` (``--metadata '{"sports_data": VALUE}'`` or the environment
variable ``SUMMEVAL_SPORTS_DATA``; the metadata wins):

* ``hub`` (default): ``tasksource/bigbench``, config ``sports_understanding``, loaded with
  ``datasets``; its own ``train`` and ``validation`` splits are kept as they are.
* a local path: a BIG-bench ``task.json`` (an object whose ``examples`` are
  ``{"input": ..., "target_scores": {"plausible": 0|1, "implausible": 0|1}}``), or a folder holding one.
* ``bigbench``: the real BIG-bench ``task.json`` (1,000 statements), fetched once from the BIG-bench
  repository and cached (``summeval_tasks.sports.bigbench_file``); split by the hash rule.
* ``generated[:COUNT[:SEED]]``: statements built the way BIG-bench built its own, from summeval's own
  vocabulary (``summeval_tasks.sports.generated``; not BIG-bench's items), split by the hash rule.
* ``sample``: 72 statements in BIG-bench's style written by the summeval authors (not BIG-bench data),
  shipped in the package as a task.json.

Every source yields the splits ``train`` and ``validation`` of ``Statement`` records
(``summeval_tasks.sports.statements``: the doc, the text of a statement, the split rule). A task.json's ids
are ``example-NNNN``, NNNN the 0-based position in ``examples``.

Repeats (one ``repeat_key``, so ``Messi`` and ``Ｍｅｓｓｉ`` are one statement): the same
statement twice with contradicting labels is an error. With the same label, in a local task.json it is
an error too, naming both records (as a TweetSumm dialog twice is: a repeat weighs one item twice); in
the published data (BIG-bench's own task.json, recognised by its sha256 however it arrives: 14 repeats in
its 1,000; ``hub``) the first is kept and the later ones are dropped with one logged warning (a repeat
adds nothing and, by the split rule, always shares its split). Hub records are checked within each
split; hub ids are ``<split>-NNNN``, NNNN the position in the split.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from summeval_tasks.sports.answers import LABELS
from summeval_tasks.sports.statements import (
    SPLITS,
    SportsDataError,
    Statement,
    repeat_key,
    split_statements,
    statement_text,
)
from summeval_tasks.util.hub import hub_offline, hub_unreachable_reason
from summeval_tasks.util.source_files import read_utf8_text

SOURCE_KEY = "sports_data"
SOURCE_ENV = "SUMMEVAL_SPORTS_DATA"
HUB_REPO = "tasksource/bigbench"
HUB_CONFIG = "sports_understanding"
SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "sports_sample.json"
SOURCE_CHOICES = (
    f"'hub' ({HUB_REPO}, config {HUB_CONFIG}, needs the Hugging Face Hub), 'bigbench' (the real "
    "BIG-bench task.json, fetched once from the BIG-bench repository), 'generated[:COUNT[:SEED]]' "
    "(statements built in BIG-bench's way from summeval's vocabulary, offline), 'sample' (the small set "
    "shipped with summeval, offline), or a local path (a BIG-bench task.json, or a folder holding one)"
)

_log = logging.getLogger(__name__)
_REPEATS_WARNED: set[tuple[str, int]] = set()  # (origin, count) already warned of in this process


# ----------------------------------------------------------------------------- record parsing


def _snippet(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _where(origin: str, record: str, text: Any = None) -> str:
    about = f" ({_snippet(text)})" if isinstance(text, str) and text.strip() else ""
    return f"sports: {record}{about} in {origin}"


def _statement_of(raw: Any, origin: str, record: str, field: str) -> str:
    if raw is None:
        raise SportsDataError(f"{_where(origin, record)} has no '{field}'; expected the statement text")
    if not isinstance(raw, str):
        raise SportsDataError(
            f"{_where(origin, record)}: '{field}' is a {type(raw).__name__}; expected a string"
        )
    statement = statement_text(raw)
    if not statement:
        raise SportsDataError(
            f"{_where(origin, record, raw)} has an empty '{field}' (nothing left once the task "
            "prefix and 'Statement:' / 'Plausible/implausible?' scaffolding are stripped)"
        )
    return statement


def _label_from_scores(scores: Any, origin: str, record: str, text: str) -> str:
    where = _where(origin, record, text)
    if scores is None:
        raise SportsDataError(
            f'{where} has no \'target_scores\'; expected {{"plausible": 0|1, "implausible": 0|1}}'
        )
    if not isinstance(scores, Mapping):
        raise SportsDataError(
            f"{where}: 'target_scores' is a {type(scores).__name__}; "
            'expected {"plausible": 0|1, "implausible": 0|1}'
        )
    unknown = [str(k) for k in scores if k not in LABELS]
    if unknown:
        raise SportsDataError(
            f"{where}: 'target_scores' has the unknown label(s) {', '.join(map(repr, unknown))}; "
            f"the labels are {' and '.join(map(repr, LABELS))}"
        )
    for label, score in scores.items():
        if not isinstance(score, (int, float)) or score not in (0, 1):
            raise SportsDataError(
                f"{where}: 'target_scores' gives {label!r} the score {score!r}; expected 0 or 1"
            )
    correct = [label for label, score in scores.items() if score == 1]
    if len(correct) != 1:
        raise SportsDataError(
            f"{where}: 'target_scores' scores {len(correct)} labels 1 ({scores!r}); "
            "exactly one of 'plausible' and 'implausible' must be 1"
        )
    return correct[0]


def _label_from_targets(record: Mapping, origin: str, where_record: str, text: str) -> str:
    where = _where(origin, where_record, text)
    targets = record.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or len(targets) != 1 or not isinstance(targets[0], str):
        raise SportsDataError(f"{where}: 'targets' is {targets!r}; expected a list of one label")
    label = targets[0].strip().lower()
    if label not in LABELS:
        raise SportsDataError(
            f"{where}: 'targets' names the unknown label {targets[0]!r}; "
            f"the labels are {' and '.join(map(repr, LABELS))}"
        )
    choices, scores = record.get("multiple_choice_targets"), record.get("multiple_choice_scores")
    if choices and scores:  # cross-check when tasksource gives both
        if not isinstance(choices, list) or not isinstance(scores, list) or len(choices) != len(scores):
            raise SportsDataError(
                f"{where}: 'multiple_choice_targets' and 'multiple_choice_scores' are not lists of one length"
            )
        scored = [str(c).strip().lower() for c, s in zip(choices, scores, strict=True) if s == 1]
        if scored != [label]:
            raise SportsDataError(
                f"{where}: 'targets' says {label!r} but 'multiple_choice_scores' marks "
                f"{scored or 'nothing'} as correct"
            )
    return label


def _without_repeats(
    parsed: Iterable[tuple[Statement, str]], origin: str, *, drop_repeats: bool = True
) -> list[Statement]:
    """Refuse contradicting repeats of a statement; drop later same-label ones (warned) when
    ``drop_repeats`` (published data), else refuse them too."""
    first: dict[str, tuple[Statement, str]] = {}
    kept = []
    repeats: list[str] = []
    for item, record in parsed:
        key = repeat_key(item.statement)
        if key in first:
            earlier, earlier_record = first[key]
            if earlier.label != item.label:
                raise SportsDataError(
                    f"{_where(origin, record, item.statement)} repeats {earlier_record} with the "
                    f"contradicting label {item.label!r} (it said {earlier.label!r}); keep one of them"
                )
            if not drop_repeats:
                raise SportsDataError(
                    f"{_where(origin, record, item.statement)} repeats {earlier_record} (the same statement, "
                    "ignoring case, spacing and invisible characters); a statement must appear once, or "
                    "it is scored twice: remove the repeat"
                )
            repeats.append(f"{record} repeats {earlier_record}")
            continue
        first[key] = (item, record)
        kept.append(item)
    if repeats and (origin, len(repeats)) not in _REPEATS_WARNED:  # one line per file, however many loads
        _REPEATS_WARNED.add((origin, len(repeats)))
        shown = "; ".join(repeats[:3]) + ("; ..." if len(repeats) > 3 else "")
        _log.warning(
            "sports: %d repeated statement(s) with the same label dropped from %s, keeping the first (%s)",
            len(repeats), origin, shown,
        )  # fmt: skip
    return kept


# ----------------------------------------------------------------------------- sources


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SportsDataError(f"sports: {path} is not valid JSON: {err}") from err


def parse_task_json(path: str | os.PathLike) -> dict[str, list[Statement]]:
    """Parse a BIG-bench sports_understanding ``task.json`` into ``{"train": [...], "validation": [...]}``.

    Splits by the hash rule of the module docstring; both splits must end up non-empty. A repeated
    statement is an error, unless the file is BIG-bench's published one (recognised by its sha256, however
    it arrived), whose same-label repeats are dropped with one warning.
    """
    from summeval_tasks.sports.bigbench_file import is_official

    path = Path(path)
    text = read_utf8_text(path, SportsDataError, "sports", "JSON")
    official = is_official(text.encode("utf-8"))
    data = _parse_json(text, path)
    if not isinstance(data, Mapping):
        raise SportsDataError(
            f"sports: {path} holds a JSON {type(data).__name__}; expected a BIG-bench task.json object "
            "with an 'examples' list"
        )
    examples = data.get("examples")
    if not isinstance(examples, list) or not examples:
        raise SportsDataError(
            f"sports: {path} has no 'examples' list (or it is empty); expected a BIG-bench task.json "
            'with "examples": [{"input": ..., "target_scores": {"plausible": 0|1, "implausible": 0|1}}, ...]'
        )
    origin = f"{path} (BIG-bench's published task.json)" if official else str(path)
    parsed = []
    for i, example in enumerate(examples):
        record = f"example {i}"
        if not isinstance(example, Mapping):
            raise SportsDataError(
                f"{_where(origin, record)} is a {type(example).__name__}; expected an object with "
                "'input' and 'target_scores'"
            )
        raw = example.get("input")
        statement = _statement_of(raw, origin, record, "input")
        label = _label_from_scores(example.get("target_scores"), origin, record, statement)
        parsed.append((Statement(f"example-{i:04d}", statement, label), record))
    return split_statements(_without_repeats(parsed, origin, drop_repeats=official), str(path))


def generated_statements(text: str) -> dict[str, list[Statement]]:
    """The statements ``generated[:COUNT[:SEED]]`` asks for (``summeval_tasks.sports.generated``), split
    by the hash rule; ids ``generated-NNNN`` in the order they were drawn."""
    from summeval_tasks.sports.generated import generate, parse_spec

    spec = parse_spec(text)
    origin = f"sports_data {spec}"
    parsed = [
        (Statement(f"generated-{i:04d}", statement, label), f"statement {i}")
        for i, (statement, label) in enumerate(generate(spec))
    ]
    return split_statements(_without_repeats(parsed, origin, drop_repeats=False), origin)


def parse_hub_records(records: Iterable[Mapping], split: str, origin: str) -> list[Statement]:
    """Parse the records of one ``tasksource/bigbench`` sports_understanding split.

    Each record has ``inputs`` (prefix, ``Statement: ...``, ``Plausible/implausible?``), ``targets``
    (one label), and optionally ``multiple_choice_targets`` / ``multiple_choice_scores`` (cross-checked)
    and ``idx``. Ids are ``<split>-NNNN`` with NNNN the record's position in the split.
    """
    parsed = []
    for n, record in enumerate(records):
        where = f"record {n} of the {split} split"
        if not isinstance(record, Mapping):
            raise SportsDataError(f"{_where(origin, where)} is a {type(record).__name__}; expected an object")
        if record.get("idx") is not None:
            where += f" (idx {record['idx']})"
        raw = record.get("inputs")
        statement = _statement_of(raw, origin, where, "inputs")
        label = _label_from_targets(record, origin, where, statement)
        parsed.append((Statement(f"{split}-{n:04d}", statement, label), where))
    return _without_repeats(parsed, origin)


def download_hub() -> dict[str, list[Statement]]:
    """Load ``tasksource/bigbench`` (``sports_understanding``) with ``datasets``: its train and validation.

    Fails fast, naming the other sources, when the Hub cannot be reached.
    """
    offline_hint = (
        f"sports: cannot load {HUB_REPO} ({HUB_CONFIG}) from the Hugging Face Hub ({{reason}}). "
        f"Choose another source with --metadata '{{{{\"{SOURCE_KEY}\": VALUE}}}}' or "
        f"{SOURCE_ENV}=VALUE, where VALUE is {SOURCE_CHOICES}."
    )
    if hub_offline():
        raise SportsDataError(offline_hint.format(reason="HF_HUB_OFFLINE is set"))
    unreachable = hub_unreachable_reason()
    if unreachable:
        raise SportsDataError(offline_hint.format(reason=unreachable))
    try:
        import datasets

        loaded = datasets.load_dataset(HUB_REPO, HUB_CONFIG)
    except Exception as err:  # any network or Hub failure: say what to do instead
        raise SportsDataError(offline_hint.format(reason=f"{type(err).__name__}: {err}")) from err
    missing = [split for split in SPLITS if split not in loaded or len(loaded[split]) == 0]
    if missing:
        raise SportsDataError(
            f"sports: {HUB_REPO} ({HUB_CONFIG}) lacks the split(s) {', '.join(missing)}; "
            f"found {', '.join(loaded) or 'none'}"
        )
    origin = f"{HUB_REPO} ({HUB_CONFIG})"
    return {split: parse_hub_records(loaded[split], split, origin) for split in SPLITS}


# ----------------------------------------------------------------------------- lm-eval entry points


def resolve_source(value: str | None = None) -> str:
    """The chosen source: ``value`` if given, else ``$SUMMEVAL_SPORTS_DATA``, else ``hub``."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise SportsDataError(
            f"sports: sports_data must be a string (a source name or a path), got {type(value).__name__} "
            f"{value!r}; choose {SOURCE_CHOICES}"
        )
    return str(value or os.environ.get(SOURCE_ENV) or "hub")


def describe_source(value: str | None = None) -> str:
    """The chosen source in words, for people (``summeval data``, a study's report): which data it is and
    whether it is BIG-bench's."""
    from summeval_tasks.sports.generated import is_spec, parse_spec

    source = resolve_source(value)
    if source == "sample":
        return "sample: 72 statements by the summeval authors in BIG-bench's style (not BIG-bench data)"
    if source == "hub":
        return f"hub: BIG-bench's statements from {HUB_REPO} ({HUB_CONFIG}), its own splits"
    if source == "bigbench":
        return "bigbench: BIG-bench's published task.json (1,000 statements, 14 repeats dropped)"
    if is_spec(source):
        return f"{source}: {parse_spec(source).describe()}"
    from summeval_tasks.sports.bigbench_file import MAX_BYTES, is_official

    path = Path(source).expanduser()
    path = path / "task.json" if path.is_dir() else path
    try:
        official = path.is_file() and is_official(path.read_bytes()[: MAX_BYTES + 1])
    except OSError:
        official = False
    if official:
        return f"{source}: BIG-bench's published task.json (recognised by its sha256; 14 repeats dropped)"
    return f"{source}: a local task.json"


def load_statements(source: str | None = None) -> dict[str, list[Statement]]:
    """Load ``{"train": [...], "validation": [...]}`` from ``hub``, ``bigbench``,
    ``generated[:COUNT[:SEED]]``, ``sample`` or a local task.json path."""
    from summeval_tasks.sports.generated import is_spec

    source = resolve_source(source)
    if source == "sample":
        return parse_task_json(SAMPLE_PATH)
    if source == "hub":
        return download_hub()
    if source == "bigbench":
        from summeval_tasks.sports.bigbench_file import bigbench_task_json

        return parse_task_json(bigbench_task_json())
    if is_spec(source):
        return generated_statements(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise SportsDataError(f"sports: data path {path} does not exist; choose {SOURCE_CHOICES}")
    if path.is_dir():
        if not (path / "task.json").exists():
            raise SportsDataError(f"sports: folder {path} holds no task.json; choose {SOURCE_CHOICES}")
        path = path / "task.json"  # not a regular file: read_utf8_text names what it is
    return parse_task_json(path)
