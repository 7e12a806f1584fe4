"""What a study cell's outputs depend on: its settings (model, adapter, data, options, seed, versions)
and their sha256, the cell's cache key; which cells sample their outputs and so run once per seed."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prompt_strategies.strategy import StrategyOptions
from summeval.study.inputs import (
    Inputs,
    adapter_current,
    adapter_fingerprint,
    file_sha256,
    sha256_json,
    versions,
)
from summeval.study.plan import Cell, StudyConfig

CELL_FORMAT = 5
"""Bumped when what a cell folder holds changes: older cells are then re-run (2: the integrity record;
3: two-stage answers; 4: their second stage without the strategy's exemplars; 5: an output's own
conclusion scored after the prompt as sent, exemplars included)."""


def cell_settings(
    config: StudyConfig, cell: Cell, inputs: Inputs, adapter: dict[str, str] | None
) -> dict[str, Any]:
    """Everything a cell's outputs depend on; its sha256 is the cell's cache key."""
    spec = config.models[cell.model]
    options = cell_options(config, cell)
    settings = {
        "format": CELL_FORMAT,
        "cell": {"model": cell.model, "task": cell.task, "limit": cell.limit, "sample": cell.sample},
        "family": cell.family.name,
        "strategy": cell.strategy.name,
        "options": dataclasses.asdict(options),
        "model": {
            "backend": spec.backend,
            "model_args": dict(spec.model_args),
            "fingerprint": inputs.model_fingerprints[cell.model],
        },
        "adapter": adapter,
        "recipe": inputs.recipes[cell.model].to_dict() if cell.model in inputs.recipes else None,
        "max_steps": spec.max_steps,
        "data_sha256": inputs.data_hashes[cell.family.name],
        "seed": config.seed if cell.seed is None else cell.seed,
        "apply_chat_template": config.apply_chat_template,
        "batch_size": config.batch_size,
        "device": inputs.devices[cell.model],
        "files": _option_files(options),
        "versions": {k: v for k, v in versions().items() if k in ("summeval", "lm_eval")},
    }
    selects = selects_exemplars(cell, options)
    if selects:
        settings["selection"] = dict(config.selection)
    if spec.backend == "hf" and (selects or samples_outputs(cell, options)):
        settings["shared_prefix"] = _sharing(config.batch_size)
    return settings


def selects_exemplars(cell: Cell, options: StrategyOptions) -> bool:
    """Whether the cell reads exemplars the study selects first (``cell_options``: active-prompt without an
    exemplar file of its own): its key then holds the selection settings, and it waits for the selection."""
    return cell.strategy.selects_exemplars and not getattr(options, "exemplars_file", "")


def samples_outputs(cell: Cell, options: StrategyOptions) -> bool:
    """Whether a cell's strategy samples its outputs (``do_sample``) with these options: then the seed,
    and how samples share a prompt encoding, change them."""
    generation = cell.strategy.lm_eval_settings(cell.family, options).get("generation_kwargs") or {}
    return generation.get("do_sample") is True


def sampled_cells(config: StudyConfig) -> dict[str, bool]:
    """Cell id → whether the cell samples its outputs (then its seed matters; greedy cells run once)."""
    return {c.id: samples_outputs(c, cell_options(config, c)) for c in config.cells}


def replicate_cells(config: StudyConfig) -> list[Cell]:
    """A sampled cell at each of the study's further ``seeds`` (same items: the sample is drawn with the
    first seed); greedy cells run once."""
    from dataclasses import replace

    sampled = sampled_cells(config)
    return [
        replace(cell, seed=seed) for cell in config.cells if sampled[cell.id] for seed in config.seeds[1:]
    ]


def all_cells(config: StudyConfig) -> list[Cell]:
    """The cells to run: the study's cells, then the replicates of its sampled ones."""
    return [*config.cells, *(replicate_cells(config) if len(config.seeds) > 1 else [])]


def cell_options(config: StudyConfig, cell: Cell) -> StrategyOptions:
    """The cell's strategy options: the study's, with the task alias's own (``tweetsumm_one``: k=1)."""
    from prompt_strategies.registry import task_table

    metadata = config.metadata(cell.family)
    fixed = task_table()[cell.task]["options"]
    name = cell.strategy.name
    return cell.strategy.options({**metadata, name: {**metadata.get(name, {}), **fixed}})


def _sharing(batch_size: Any) -> dict[str, Any]:
    """Shared-prefix sampling on or off and its rows per encoding (``SUMMEVAL_SHARED_PREFIX*``): at one
    seed they change sampled outputs, so they are part of a sampled cell's key."""
    from summeval.lm_eval.shared_prefix import sharing_settings
    from summeval.study.plan import StudyConfigError

    try:
        return sharing_settings(batch_size)
    except ValueError as err:
        raise StudyConfigError(f"environment: {err}") from err


def _option_files(options: StrategyOptions) -> dict[str, str]:
    """sha256 of the files a cell's options name (exemplar files), so an edited file reruns the cell."""
    files = {}
    for name, value in dataclasses.asdict(options).items():
        if name.endswith("_file") and isinstance(value, str) and value and Path(value).is_file():
            files[name] = file_sha256(Path(value))
    return files


def study_keys(config: StudyConfig, inputs: Inputs, prints: Mapping[str, Any]) -> dict[str, str | None]:
    """Each cell's cache key now; None for a cell whose adapter is not trained (with these settings) yet."""
    keys: dict[str, str | None] = {}
    for cell in all_cells(config):
        if cell.model in inputs.adapters and prints.get(cell.model) is None:
            keys[cell.id] = None
        else:
            keys[cell.id] = sha256_json(cell_settings(config, cell, inputs, prints.get(cell.model)))
    return keys


def adapter_prints(config: StudyConfig, inputs: Inputs) -> dict[str, Any]:
    """Each adapter's fingerprint, or None while it is missing or trained with other settings."""
    return {
        name: adapter_fingerprint(path) if adapter_current(config, name, inputs) else None
        for name, path in inputs.adapters.items()
    }
