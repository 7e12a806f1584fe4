"""Adapters a study trains itself: trained once from their recipe when missing or stale."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from summeval.study.inputs import Inputs, adapter_current
from summeval.study.plan import StudyConfig


def ensure_adapter(config: StudyConfig, name: str, inputs: Inputs, out: Path) -> tuple[Path | None, float]:
    """The model's adapter folder, trained from its recipe first when missing; and the training seconds."""
    from summeval.training.finetune import finetune

    adapter = inputs.adapters.get(name)
    if adapter is None:
        return None, 0.0
    if adapter_current(config, name, inputs):
        return adapter, 0.0
    if (adapter / "adapter_config.json").is_file():  # ours (checked up front), with other settings: retrain
        shutil.rmtree(adapter)
    started = time.time()
    stale_work = adapter.with_name(adapter.name + ".work")
    if stale_work.exists() and adapter.resolve().is_relative_to(out.resolve()):
        shutil.rmtree(stale_work)  # an interrupted training of ours: start it over
    finetune(inputs.recipes[name], adapter, max_steps=config.models[name].max_steps)
    return adapter, time.time() - started
