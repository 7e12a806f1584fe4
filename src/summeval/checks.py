"""Checks of what ``lm_eval --metadata`` gives our tasks, run before any model loads.

lm-eval builds its ``TaskManager`` (with the metadata) before it loads the model, and our tasks only
after: so the start-up hook runs :func:`check_metadata` when the ``TaskManager`` is made. It checks only
what is ours: strategy options (names, types, ranges), the families' data sources and seed keys, the
active-prompt exemplar file, and keys that look like a misspelling of one of ours.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from prompt_strategies.strategy import StrategyError

EXEMPLARS_KEY = "active_prompt_exemplars"


def our_keys() -> set[str]:
    """Every ``--metadata`` key summeval reads."""
    from prompt_strategies.registry import families, strategies

    keys = set(strategies()) | {EXEMPLARS_KEY}
    for family in families().values():
        keys |= {family.data_key, *family.metadata_options} - {""}
    return keys


def check_metadata(metadata: Mapping[str, Any] | None) -> None:
    """Raise a one-line ``SummevalError`` for the first bad value of ours in ``metadata``."""
    if not metadata:
        return
    from prompt_strategies.registry import families, get_family, get_strategy, strategies

    for name, strategy in strategies().items():
        if name in metadata:
            strategy.given_options(metadata)
    ours = our_keys()
    for key in metadata:
        if key in ours or not isinstance(key, str):
            continue
        close = difflib.get_close_matches(key, sorted(ours), n=1, cutoff=0.8)
        if close:
            raise StrategyError(
                f"--metadata key {key!r} is not one summeval reads; did you mean {close[0]!r}? "
                f"(summeval's keys: {', '.join(sorted(ours))})"
            )
    for family in families().values():
        for key, (strategy_name, option) in family.metadata_options.items():
            if metadata.get(key) is not None:
                try:
                    get_strategy(strategy_name).given_options({strategy_name: {option: metadata[key]}})
                except StrategyError as err:
                    raise StrategyError(f"--metadata {key}={metadata[key]!r} is not valid: {err}") from err
        source = metadata.get(family.data_key) if family.data_key else None
        if source is not None and str(source) != "hub":
            family.load(metadata)  # a local source is parsed now; the hub is fetched when the task loads
    exemplars = metadata.get(EXEMPLARS_KEY)
    if exemplars:
        _check_exemplar_file(str(exemplars), get_family)


def _check_exemplar_file(path: str, get_family: Any) -> None:
    import json
    from pathlib import Path

    from prompt_strategies.exemplars import LEGACY_FAMILY, read_exemplar_file

    file = Path(path).expanduser()
    if not file.is_file():
        raise StrategyError(f"--metadata {EXEMPLARS_KEY}={path!r}: no such file")
    try:
        made_for = json.loads(file.read_text(encoding="utf-8")).get("family", LEGACY_FAMILY)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        made_for = LEGACY_FAMILY  # read_exemplar_file says what is wrong with it
    read_exemplar_file(file, get_family(str(made_for)))
