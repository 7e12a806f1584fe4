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
    spec = config.models[name]
    if spec.train_processes > 1:
        _train_in_processes(config, name, inputs, adapter, resume)
    else:
        finetune(inputs.recipes[name], adapter, max_steps=spec.max_steps, resume=resume)
    return adapter, time.time() - started


def _train_in_processes(config: StudyConfig, name: str, inputs: Inputs, adapter: Path, resume: bool) -> None:
    """``summeval finetune`` of model ``name``'s recipe (the study's overrides) under ``torchrun``, one
    process per ``train_processes`` (data parallelism; one GPU each on a GPU machine, gloo on CPU)."""
    import subprocess
    import sys

    from summeval.study.inputs import recipe_overrides

    spec = config.models[name]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc_per_node", str(spec.train_processes),
        "-m", "summeval.cli", "finetune", "--recipe", str(spec.recipe), "--output", str(adapter),
    ]  # fmt: skip
    for override in recipe_overrides(config, name, inputs.pretrained[name]):
        command += ["--set", override]
    command += ["--max-steps", str(spec.max_steps)] if spec.max_steps else []
    command += ["--resume"] if resume else []
    print(f"summeval study: training models.{name}'s adapter in {spec.train_processes} processes", flush=True)
    done = subprocess.run(command)  # its progress and errors go to this terminal
    if done.returncode != 0:
        raise StudyConfigError(
            f"{config.where}: models.{name}: training the adapter in {spec.train_processes} processes failed "
            f"(torchrun exited {done.returncode}; its error is above); fix it and run the study again, "
            "which resumes from the last complete checkpoint"
        )
