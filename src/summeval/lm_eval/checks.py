"""Checks of what ``lm_eval --metadata`` gives our tasks, run before any model loads.

lm-eval builds its ``TaskManager`` (with the metadata) before it loads the model, and our tasks only
after: so the start-up hook runs :func:`check_metadata` when the ``TaskManager`` is made. It checks only
what is ours: strategy options (names, types, ranges), the families' data sources and seed keys, the
active-prompt exemplar file, and keys that look like a misspelling of one of ours.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from prompt_strategies.registry import EXEMPLARS_KEY
from prompt_strategies.strategy import StrategyError


def check_metadata(metadata: Mapping[str, Any] | None, *, lenient: bool = False) -> None:
    """Raise a one-line ``SummevalError`` for the first bad value of ours in ``metadata``.

    ``lenient`` is for the ``TaskManager`` of any lm-eval run, ours or not (its metadata also holds the
    model args): a key that looks like a misspelling of ours is a one-line warning, not an error (our
    tasks refuse it when they are built), and a strategy name whose value is not an options object is
    left alone (it may be another package's model argument)."""
    if not metadata:
        return
    from summeval_tasks.util.settings import check_device, check_dtype

    # model args merged in: what torch would misread (a device it runs on the CPU unremarked). Not in a
    # lenient check: that one runs for every lm-eval run, and lm-eval's own tasks must behave as without us.
    if not lenient and metadata.get("dtype") is not None:
        check_dtype(metadata["dtype"], "--model_args dtype")
    if not lenient and metadata.get("device") is not None:
        check_device(metadata["device"], "--model_args device")
    from prompt_strategies.registry import (
        families,
        family_tasks,
        get_strategy,
        misspelled_key,
        misspelling_message,
        strategies,
    )

    for name, strategy in strategies().items():
        if name in metadata:
            value = metadata[name]
            looks_like_options = isinstance(value, Mapping) or (
                isinstance(value, str) and value.lstrip()[:1] == "{"
            )
            if looks_like_options or not lenient:
                strategy.given_options(metadata)
    misspelled = misspelled_key(metadata)
    if misspelled:
        if not lenient:
            raise StrategyError(misspelling_message(*misspelled))
        print(f"summeval: warning: {misspelling_message(*misspelled)}", file=sys.stderr)
    for family in families().values():
        for key, (strategy_name, option) in family_tasks(family).metadata_options.items():
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
        _check_exemplar_file(str(exemplars))


def _check_exemplar_file(path: str) -> None:
    from pathlib import Path

    from prompt_strategies.exemplars import read_exemplar_file

    file = Path(path).expanduser()
    if not file.exists():
        raise StrategyError(f"--metadata {EXEMPLARS_KEY}={path!r}: no such file")
    read_exemplar_file(file)  # checked for the family the file was made for
