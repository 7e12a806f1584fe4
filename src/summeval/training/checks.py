"""What is checked before any weights load: the scheduler, the family's training data, the LoRA target
modules, 4-bit support, and that ``--resume`` continues the same run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from summeval.training.recipe import Recipe
from summeval_tasks.contract import Doc, TaskFamily
from summeval_tasks.util.errors import SummevalError

RUN_FILE = "summeval_run.json"


class FinetuneError(SummevalError):
    """The run cannot start or continue; the message says what to do."""


def check_scheduler(recipe: Recipe) -> None:
    """The recipe's ``training.lr_scheduler`` is one the HF Trainer knows."""
    from transformers.trainer_utils import SchedulerType

    names = [s.value for s in SchedulerType]
    if recipe.training.lr_scheduler not in names:
        raise FinetuneError(
            f"recipe {recipe.name}: training.lr_scheduler {recipe.training.lr_scheduler!r} is unknown; "
            f"choose one of {', '.join(names)}"
        )


def check_training_data(family: TaskFamily, docs: Mapping[str, Sequence[Doc]], recipe: Recipe) -> None:
    """The loaded data has the family's training splits, and the family has a training format (its
    ``training_example`` raises ``FamilyError`` naming the family when it has none)."""
    missing = [split for split in family.training_splits if split not in docs]
    if missing:
        raise FinetuneError(
            f"recipe {recipe.name}: the {family.name} data {recipe.data!r} has no {' or '.join(missing)} "
            f"split; it has {', '.join(docs) or 'none'}, and fine-tuning needs "
            f"{' and '.join(family.training_splits)}"
        )
    for doc in docs[family.training_splits[0]][:1]:
        family.training_example(doc)


def check_target_modules(recipe: Recipe) -> None:
    """Every ``lora.target_modules`` name is a module of the base (built on the meta device: no weights)."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    from summeval.training.adapters import base_model_config

    config = base_model_config(
        recipe.base_model, recipe.base_revision, "finetune: base model (base_model / --base)"
    )
    with init_empty_weights():
        skeleton = AutoModelForCausalLM.from_config(config)
    leaves = {name.rsplit(".", 1)[-1] for name, _ in skeleton.named_modules() if name}
    missing = [m for m in recipe.lora.target_modules if m not in leaves]
    if missing:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, m in skeleton.named_modules() if type(m).__name__ == "Linear"}
        )
        raise FinetuneError(
            f"recipe {recipe.name}: lora.target_modules {', '.join(missing)} match no module of "
            f"{recipe.base_model}; its linear layers are {', '.join(linear)}"
        )


def quantization_available() -> tuple[bool, str]:
    """Whether 4-bit loading can work here, and if not, why."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        return False, "no CUDA device"
    if importlib.util.find_spec("bitsandbytes") is None:
        return False, "bitsandbytes is not installed (pip install 'summeval[cuda]')"
    return True, ""


def check_same_run(work_dir: Path, run: Mapping[str, Any]) -> None:
    """``--resume`` continues the interrupted run only with the same recipe, data and steps."""
    recorded_path = work_dir / RUN_FILE
    if not recorded_path.is_file():
        return  # a run from before this record existed: nothing to compare
    recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
    differences = _differences(recorded, json.loads(json.dumps(run)))
    if differences:
        raise FinetuneError(
            f"finetune: --resume would continue {work_dir} with other settings "
            f"({'; '.join(differences[:4])}); "
            "rerun with the interrupted run's settings, or remove that folder to start over"
        )


def _differences(before: Any, now: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(now)):
            out += _differences(before.get(key), now.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if before == now else [f"{where} was {before!r}, now {now!r}"]
