"""Adapters a study trains itself: trained once from their recipe when missing, resumed when a
training was interrupted. An adapter trained with other settings is never deleted: ``check_inputs``
refuses it (inside ``--out`` as outside), saying how to proceed."""

from __future__ import annotations

import time
from pathlib import Path

from summeval.study.inputs import Inputs, adapter_current
from summeval.study.plan import StudyConfig, StudyConfigError


def ensure_adapter(config: StudyConfig, name: str, inputs: Inputs, out: Path) -> tuple[Path | None, float]:
    """The model's adapter folder, trained from its recipe first when missing (resumed from the last
    complete checkpoint of an interrupted training inside ``out``); and the training seconds."""
    from summeval.training.finetune import finetune, last_complete_checkpoint, work_folder

    adapter = inputs.adapters.get(name)
    if adapter is None:
        return None, 0.0
    if adapter_current(config, name, inputs):
        return adapter, 0.0
    if (adapter / "adapter_config.json").exists():  # check_inputs refused it; never deleted here
        raise StudyConfigError(
            f"{config.where}: models.{name}.adapter: {adapter} was trained with other settings; "
            "remove it to retrain, or point adapter elsewhere"
        )
    started = time.time()
    work = work_folder(adapter)
    resume = work.is_dir() and last_complete_checkpoint(work) is not None  # checked by check_inputs
    finetune(inputs.recipes[name], adapter, max_steps=config.models[name].max_steps, resume=resume)
    return adapter, time.time() - started
