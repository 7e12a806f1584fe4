"""Active-prompt exemplars of a study: selected once per model and family (``OUT/exemplars/``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prompt_strategies.active_prompt import FILE_FORMAT
from summeval.study.inputs import Inputs, sha256_json
from summeval.study.plan import Cell, StudyConfig
from summeval.study.selection import Selection, select_to_file


def exemplars_for(
    config: StudyConfig, cell: Cell, lm: Any, inputs: Inputs, out: Path, adapter_print: Any
) -> tuple[Path, float]:
    """The active-prompt exemplar file of the cell's model and family, selected with ``lm`` when missing
    (or selected under another ``FILE_FORMAT``: its rules for taking a rationale changed), or when the
    saved one no longer reads as an exemplar file (cut short, edited)."""
    key = sha256_json(
        {
            "format": FILE_FORMAT,
            "model": inputs.model_fingerprints[cell.model],
            "adapter": adapter_print,
            "family": cell.family.name,
            "data": inputs.data_hashes[cell.family.name],
            "selection": config.selection,
            "seed": config.seed,
            "apply_chat_template": config.apply_chat_template,
        }
    )[:12]
    path = out / "exemplars" / f"{cell.model}__{cell.family.name}__{key}.json"
    if path.is_file():  # trusted by its content: a file that no longer reads as one is selected again
        from prompt_strategies.exemplars import read_exemplar_file
        from prompt_strategies.strategy import StrategyError

        try:
            read_exemplar_file(path, cell.family)
            return path, 0.0
        except StrategyError as err:
            print(f"summeval study: {err}; selecting the exemplars again", flush=True)
    started = time.time()
    select_to_file(
        lm,
        family=cell.family,
        data=config.data.get(cell.family.name),
        selection=Selection.of(config.selection),
        seed=config.seed,
        out=path,
        within=out,
        apply_chat_template=config.apply_chat_template,
        model_description=f"{cell.model} ({inputs.pretrained[cell.model]})",
    )
    return path, time.time() - started
