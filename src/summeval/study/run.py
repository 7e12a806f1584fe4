"""Running a study: every cell that is not cached, then the report (``run_study``); the report again
from the saved cells (``rebuild_report``)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from summeval.lm_eval.runner import released
from summeval.study.adapters import ensure_adapter
from summeval.study.backends import load_model
from summeval.study.inputs import adapter_fingerprint, check_inputs
from summeval.study.keys import (
    adapter_prints,
    all_cells,
    study_keys,
)
from summeval.study.plan import StudyConfig, StudyConfigError
from summeval.study.store import CELL_FILE, cached, cell_states, clean_interrupted, rerun_reason
from summeval.study.worker import empty_cuda_cache, one_progress_display, run_and_save

STUDY_MARKER = ".summeval-study"
"""The file ``summeval study`` writes into an ``--out`` folder it created; only such a folder (or an
empty one) is written into."""
STUDY_LOCK = f"{STUDY_MARKER}.lock"
"""The lock file of an ``--out`` folder while a study (or ``--report-only``) writes into it."""
_STUDY_LAYOUT = {"cells", "adapters", "exemplars", "charts", "samples", "report", "summeval-study"}


def _earlier_study_folder(path: Path) -> bool:
    """A study folder written before the marker existed: saved cells, and nothing but a study's layout."""
    return any((path / "cells").glob(f"*/*/{CELL_FILE}")) and all(
        p.name.lstrip(".").split(".")[0] in _STUDY_LAYOUT for p in path.iterdir()
    )


def check_study_folder(config: StudyConfig, out: Path) -> None:
    """``out`` may take this study's outputs (writes nothing): a new or empty folder, or one this study
    created; not one another process is writing now."""
    from summeval.paths import output_folder
    from summeval_tasks.util.files import check_output_folder

    output_folder(out, "--out")
    check_output_folder(
        out, STUDY_MARKER, {"study": config.name}, f"{_command(config)}: --out", adopt=_earlier_study_folder
    )


def study_folder(config: StudyConfig, out: Path) -> contextlib.AbstractContextManager[None]:
    """Create (or reuse) ``out`` as this study's folder and hold its lock while the block runs."""
    from summeval_tasks.util.files import output_folder_held

    return output_folder_held(out, STUDY_MARKER, {"study": config.name}, f"{_command(config)}: --out")


def _command(config: StudyConfig) -> str:
    """The command running ``config``, as its messages name it: ``summeval study`` or compare's."""
    return config.origin or "summeval study"


def run_study(config: StudyConfig, out: Path, *, progress: bool = True) -> dict[str, Any]:
    """Run every cell that is not cached, then write the report; return a summary of what ran.

    ``out`` must be new, empty, or this study's own folder (``check_study_folder``); one process at a
    time writes into it (a second one is refused, naming the first one's pid). SIGTERM stops it
    cleanly: finished cells are kept and a rerun resumes."""
    from summeval_tasks.util.files import terminate_cleanly

    check_study_folder(config, out)
    if config.executor == "ray":
        from summeval.study.ray_executor import import_ray

        import_ray()  # not installed: one line now, before anything is checked or loaded
    inputs = check_inputs(config, out)
    with study_folder(config, out), terminate_cleanly(f"summeval study {config.name}"):
        return _run_cells(config, out, inputs, progress)


def _run_cells(config: StudyConfig, out: Path, inputs: Any, progress: bool) -> dict[str, Any]:
    from summeval.lm_eval.runner import quiet_per_task_notice
    from summeval.report.study import write_study_report

    wall_started = time.time()
    clean_interrupted(out)

    prints = adapter_prints(config, inputs)
    keys = study_keys(config, inputs, prints)
    quiet_per_task_notice()
    cells_to_run = all_cells(config)
    to_run = [c for c in cells_to_run if not cached(out, c, keys[c.id])]
    skipped = len(cells_to_run) - len(to_run)
    replicates = len(cells_to_run) - len(config.cells)
    print(
        f"summeval study {config.name}: {len(config.cells)} cells"
        + (f" and {replicates} replicates at further seeds" if replicates else "")
        + f", {skipped} finished before, "
        f"{len(to_run)} to run → {out}",
        flush=True,
    )
    for cell in to_run:
        problem = rerun_reason(out, cell, keys[cell.id])
        if problem not in (None, "not run"):
            print(f"summeval study: {cell.id} is stale ({problem}): running it again", flush=True)
    timings: dict[str, Any] = {"models": {}, "adapters": {}, "selection": {}}
    failed: dict[str, str] = {}
    if config.executor == "ray" and to_run:
        from summeval.study.ray_executor import run_on_ray

        ran = run_on_ray(config, out, inputs, to_run, address=config.ray_address, progress=progress)
        timings["adapters"].update(ran.adapters)
        timings["selection"].update(
            {c: r["selection_seconds"] for c, r in ran.done.items() if r.get("selection_seconds")}
        )
        timings["ray"] = {
            "resources": ran.resources,
            "cells": {
                c: {k: r[k] for k in ("node", "pid", "started", "ended")}
                for c, r in ran.done.items()
                if not r["cached"]
            },
        }
        failed = ran.failed
        prints = adapter_prints(config, inputs)  # adapters trained in the workers
    else:
        prints = _run_here(config, out, inputs, to_run, prints, timings, progress)
    timings["wall_seconds"] = round(time.time() - wall_started, 2)
    report = write_study_report(
        config, out, inputs=inputs, keys=study_keys(config, inputs, prints), timings=timings, failed=failed
    )
    return {
        "cells": len(cells_to_run),
        "cached": skipped,
        "ran": len(to_run) - len(failed),
        "failed": failed,
        "report": report,
        **timings,
    }


def _run_here(
    config: StudyConfig,
    out: Path,
    inputs: Any,
    to_run: list[Any],
    prints: dict[str, Any],
    timings: dict[str, Any],
    progress: bool,
) -> dict[str, Any]:
    """Run ``to_run`` one after the other in this process (each model loaded once, its adapter trained
    first when missing); return the adapters' fingerprints after training."""
    import gc

    from tqdm import tqdm

    keys = study_keys(config, inputs, prints)
    bar = tqdm(total=len(to_run), desc="study", unit="cell", disable=not progress or not to_run)
    for model_name in dict.fromkeys(c.model for c in to_run):
        spec = config.models[model_name]
        adapter, train_seconds = ensure_adapter(config, model_name, inputs, out)
        if adapter is not None:
            if train_seconds:
                timings["adapters"][model_name] = round(train_seconds, 2)
            prints[model_name] = adapter_fingerprint(adapter)
            keys = study_keys(config, inputs, prints)
        cells = [c for c in to_run if c.model == model_name and not cached(out, c, keys[c.id])]
        bar.update(len([c for c in to_run if c.model == model_name]) - len(cells))
        if not cells:
            continue
        bar.set_postfix_str(f"loading {model_name}")
        started = time.time()
        with released(
            load_model(spec, inputs.pretrained[model_name], adapter, config, inputs.devices[model_name])
        ) as lm:
            if progress:
                one_progress_display(lm)
            timings["models"][model_name] = round(time.time() - started, 2)
            for cell in cells:
                bar.set_postfix_str(cell.id)
                record = run_and_save(config, cell, lm, inputs, out, prints.get(model_name))
                if record["selection_seconds"]:
                    timings["selection"][cell.id] = record["selection_seconds"]
                bar.update(1)
                seconds = record["seconds"] + record["selection_seconds"]
                bar.write(f"summeval study: {cell.id} done in {seconds:.0f} s")
        del lm  # released (a vLLM engine stopped) when the block ended, however it ended
        gc.collect()
        empty_cuda_cache()
    bar.close()
    return prints


def rebuild_report(config: StudyConfig, out: Path) -> Path:
    """Write the report from the saved cells, loading no model; cells that are not intact or were saved
    with other settings than the config gives now are listed on stdout as stale, and not reported."""
    from summeval.report.study import write_study_report

    check_study_folder(config, out)  # not ours, or in use by a running study (named by its pid): say so
    if not (out / "cells").is_dir():
        raise StudyConfigError(f"--report-only: {out} holds no study cells; run the study first")
    inputs = check_inputs(config, out)
    keys = study_keys(config, inputs, adapter_prints(config, inputs))
    with study_folder(config, out):
        for cell_id, state in cell_states(config, out, keys).items():
            if state not in ("current", "not run"):
                print(f"summeval study: {cell_id} is stale ({state}): not reported; run the study to redo it")
        return write_study_report(config, out, inputs=inputs, keys=keys)
