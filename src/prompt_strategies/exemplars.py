"""Exemplars: the one seeded choice from a pool, and exemplar files.

An exemplar file (written by hand for ``cot_fewshot``, by ``summeval active-prompt select`` for
``active_prompt``) is JSON::

    {"family": "sports_understanding",
     "exemplars": [{"id": "...", "input": "...", "label": "plausible",
                    "rationale": "... So the answer is plausible.", "rationale_source": "annotation"}],
     ...any other keys (how the file was made)}

Each entry holds the doc fields its family needs to render it (``TaskFamily.exemplar_fields``) and,
for families that reason, a ``rationale``. ``family`` is required: a file is read only by the family
it names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prompt_strategies.strategy import StrategyError
from summeval_tasks.contract import FamilyError, TaskFamily
from summeval_tasks.util.files import write_text_atomically


def choose_exemplars(
    doc: Mapping[str, Any],
    pool: Sequence[Mapping[str, Any]],
    k: int,
    seed: int,
    same_item: Callable[[Mapping[str, Any], Mapping[str, Any]], bool],
) -> list:
    """``k`` exemplars for ``doc`` from ``pool``, never ``doc`` itself (``same_item``).

    The walk starts at ``sha256(seed:doc id) mod len(pool)`` and takes the next ``k`` pool entries that
    are not the item, wrapping around: the choice depends only on the seed, the doc and the pool, not on
    which other docs are evaluated (``--limit``) or their order. (For k=1 this is exactly the choice of
    the original ``tweetsumm_one``.)
    """
    if k <= 0:
        return []
    if not pool:
        raise StrategyError(f"{k} exemplars requested for {doc.get('id')!r} but the exemplar pool is empty")
    digest = hashlib.sha256(f"{seed}:{doc.get('id')}".encode()).digest()
    start = int.from_bytes(digest[:8], "big") % len(pool)
    chosen = []
    for offset in range(len(pool)):
        candidate = pool[(start + offset) % len(pool)]
        if not same_item(candidate, doc):
            chosen.append(candidate)
            if len(chosen) == k:
                return chosen
    raise StrategyError(
        f"{k} exemplars requested for {doc.get('id')!r} but the exemplar pool has only "
        f"{len(chosen)} other items"
    )


def read_exemplar_file(path: str | Path, family: TaskFamily | None = None) -> list[dict[str, Any]]:
    """The exemplars of an exemplar file for ``family`` (None: the family the file names), validated;
    errors name the file and the entry."""
    from summeval_tasks.util.source_files import check_regular_file

    path = Path(path)
    if not path.exists():
        raise StrategyError(f"exemplar file {path} does not exist")
    check_regular_file(path, StrategyError, "exemplar file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StrategyError(f"exemplar file {path} is not valid UTF-8 JSON: {err}") from err
    entries = data.get("exemplars") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise StrategyError(f'exemplar file {path} has no "exemplars" list')
    made_for = data.get("family")
    if not isinstance(made_for, str) or not made_for:
        example = family.name if family is not None else "<family name>"
        raise StrategyError(
            f'exemplar file {path} names no family; add "family": "{example}" (the family whose '
            "exemplars it holds)"
        )
    if family is None:
        from prompt_strategies.registry import get_family

        family = get_family(made_for)
    if made_for != family.name:
        raise StrategyError(
            f"exemplar file {path} holds {made_for} exemplars; the task is a {family.name} task "
            f"(select exemplars with --task {family.name})"
        )
    for i, entry in enumerate(entries):
        where = f"exemplar file {path}, entry {i}"
        if not isinstance(entry, dict):
            raise StrategyError(f"{where} is not an object")
        try:
            family.check_exemplar(entry, where)
        except FamilyError as err:
            raise StrategyError(str(err)) from err
        if family.supports_reasoning and not isinstance(entry.get("rationale"), str):
            raise StrategyError(f"{where} has no rationale (a {family.name} exemplar needs one)")
    return entries


def write_exemplar_file(path: str | Path, data: Mapping[str, Any], *, within: Path | None = None) -> Path:
    """Write an exemplar file (JSON) through a temporary file and a rename: never half-written (nor
    through a link inside ``within``, the folder summeval writes that holds it)."""
    return write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", within=within)
