"""One cell on a loaded model, saved to the store: what ``summeval study`` does for each cell, in its own
process (``summeval.study.run``) or in a Ray worker (``summeval.study.ray_executor``), so a cell's record,
samples and integrity check are the same whichever ran it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from summeval.study.evaluation import run_cell
from summeval.study.exemplars import exemplars_for
from summeval.study.inputs import Inputs, versions
from summeval.study.keys import cell_options, cell_settings, selects_exemplars
from summeval.study.plan import Cell, StudyConfig
from summeval.study.store import write_cell


def run_and_save(
    config: StudyConfig, cell: Cell, lm: Any, inputs: Inputs, out: Path, adapter_print: Any
) -> dict[str, Any]:
    """Evaluate ``cell`` on ``lm`` (its active-prompt exemplars selected first when it reads them and
    they are not saved yet) and save it in ``out``'s cell store; return its record."""
    from summeval.lm_eval.shared_prefix import fallbacks

    fallbacks(lm).clear()
    exemplars, selection_seconds = (None, 0.0)
    if selects_exemplars(cell, cell_options(config, cell)):
        exemplars, selection_seconds = exemplars_for(config, cell, lm, inputs, out, adapter_print)
    settings = cell_settings(config, cell, inputs, adapter_print)
    record, samples, csv_text = run_cell(config, cell, lm, settings, exemplars, inputs)
    record["selection_seconds"] = round(selection_seconds, 2)
    record["environment"] = environment(lm)
    if "shared_prefix" in settings:
        record["shared_prefix_fallbacks"] = list(fallbacks(lm))
    write_cell(out, cell, record, samples, csv_text)
    return record


def one_progress_display(lm: Any) -> None:
    """Turn off the model's own per-request bars (on this instance only): the study's bar is the display."""
    import inspect

    for method in ("generate_until", "loglikelihood", "loglikelihood_rolling"):
        bound = getattr(lm, method, None)
        if bound is not None and "disable_tqdm" in inspect.signature(bound).parameters:
            setattr(lm, method, functools.partial(bound, disable_tqdm=True))


def empty_cuda_cache() -> None:
    """Give the GPU memory of a released model back (nothing without a GPU)."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def environment(lm: Any) -> dict[str, Any]:
    """Where a cell ran: package versions, hardware, and the base model's resolved revision if known."""
    from summeval.report.provenance import hardware

    model = getattr(lm, "_model", None)
    config = getattr(model, "config", None)
    return {
        "versions": versions(),
        "hardware": hardware(),
        "model_revision": getattr(config, "_commit_hash", None),
    }
