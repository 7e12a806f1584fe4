"""A study's cells: what a cell's outputs depend on (its settings and their key), the cell store
(``OUT/cells/<model>/<task>/``, written under a temporary name then renamed), and running one cell."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summeval.study.inputs import (
    Inputs,
    adapter_current,
    adapter_fingerprint,
    file_sha256,
    sha256_json,
    versions,
)
from summeval.study.plan import Cell, StudyConfig
from summeval_tasks.util.files import folder_written_atomically

CELL_FILE = "cell.json"


SAMPLES_FILE = "samples.jsonl"


CSV_FILE = "samples.csv"


CELL_FORMAT = 5
"""Bumped when what a cell folder holds changes: older cells are then re-run (2: the integrity record;
3: two-stage answers; 4: their second stage without the strategy's exemplars; 5: an output's own
conclusion scored after the prompt as sent, exemplars included)."""


def cell_settings(
    config: StudyConfig, cell: Cell, inputs: Inputs, adapter: dict[str, str] | None
) -> dict[str, Any]:
    """Everything a cell's outputs depend on; its sha256 is the cell's cache key."""
    from prompt_strategies.registry import get_family, get_strategy

    spec = config.models[cell.model]
    options = cell_options(config, cell)
    settings = {
        "format": CELL_FORMAT,
        "cell": {"model": cell.model, "task": cell.task, "limit": cell.limit, "sample": cell.sample},
        "family": cell.family,
        "strategy": cell.strategy,
        "options": dict(options),
        "model": {
            "backend": spec.backend,
            "model_args": dict(spec.model_args),
            "fingerprint": inputs.model_fingerprints[cell.model],
        },
        "adapter": adapter,
        "recipe": inputs.recipes[cell.model].to_dict() if cell.model in inputs.recipes else None,
        "max_steps": spec.max_steps,
        "data_sha256": inputs.data_hashes[cell.family],
        "seed": config.seed if cell.seed is None else cell.seed,
        "apply_chat_template": config.apply_chat_template,
        "batch_size": config.batch_size,
        "device": inputs.devices[cell.model],
        "files": _option_files(options),
        "versions": {k: v for k, v in versions().items() if k in ("summeval", "lm_eval")},
    }
    strategy = get_strategy(cell.strategy)
    selects = strategy.selects_exemplars and not options.get("exemplars_file")
    if selects:
        settings["selection"] = dict(config.selection)
    if spec.backend == "hf" and (selects or samples_outputs(strategy, get_family(cell.family), options)):
        settings["shared_prefix"] = _sharing(config.batch_size)
    return settings


def samples_outputs(strategy: Any, family: Any, options: Mapping[str, Any]) -> bool:
    """Whether a strategy samples its outputs (``do_sample``): then the seed, and how samples share a
    prompt encoding, change them."""
    generation = strategy.lm_eval_settings(family, options).get("generation_kwargs") or {}
    return generation.get("do_sample") is True


def sampled_cells(config: StudyConfig) -> dict[str, bool]:
    """Cell id → whether the cell samples its outputs (then its seed matters; greedy cells run once)."""
    from prompt_strategies.registry import get_family, get_strategy

    return {
        c.id: samples_outputs(get_strategy(c.strategy), get_family(c.family), cell_options(config, c))
        for c in config.cells
    }


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


def cell_options(config: StudyConfig, cell: Cell) -> dict[str, Any]:
    """The cell's strategy options: the study's, with the task alias's own (``tweetsumm_one``: k=1)."""
    from prompt_strategies.registry import get_strategy, task_table

    metadata = config.metadata(cell.family)
    fixed = task_table()[cell.task]["options"]
    return dict(
        get_strategy(cell.strategy).options(
            {**metadata, cell.strategy: {**metadata.get(cell.strategy, {}), **fixed}}
        )
    )


def _sharing(batch_size: Any) -> dict[str, Any]:
    """Shared-prefix sampling on or off and its rows per encoding (``SUMMEVAL_SHARED_PREFIX*``): at one
    seed they change sampled outputs, so they are part of a sampled cell's key."""
    from summeval.lm_eval.shared_prefix import sharing_settings
    from summeval.study.plan import StudyConfigError

    try:
        return sharing_settings(batch_size)
    except ValueError as err:
        raise StudyConfigError(f"environment: {err}") from err


def _option_files(options: Mapping[str, Any]) -> dict[str, str]:
    """sha256 of the files a cell's options name (exemplar files), so an edited file reruns the cell."""
    files = {}
    for name, value in options.items():
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


def cell_dir(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.model / cell.folder


INTEGRITY = "integrity"
"""The field of ``cell.json`` holding the sha256 of its other fields and of each file beside it."""


def _record_digest(record: Mapping[str, Any]) -> str:
    return sha256_json({k: v for k, v in record.items() if k != INTEGRITY})


def cell_problem(out: Path, cell: Cell) -> str | None:
    """Why the saved cell cannot be trusted (``cell.json`` truncated or malformed, a file deleted, or
    anything changed since it was written: each file's sha256 is recorded in ``cell.json``), or None
    when it is intact. A cell never saved is ``"not run"``."""
    folder = cell_dir(out, cell)
    path = folder / CELL_FILE
    if not path.is_file():
        return "not run" if not folder.exists() else f"{CELL_FILE} is missing"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"{CELL_FILE} is truncated or not valid JSON"
    if not isinstance(record, dict):
        return f"{CELL_FILE} holds a JSON {type(record).__name__}, not a cell record"
    if not isinstance(record.get(INTEGRITY), dict):
        return f"{CELL_FILE} holds no integrity record"
    recorded = record[INTEGRITY]
    if recorded.get(CELL_FILE) != _record_digest(record):
        return f"{CELL_FILE} was changed after it was written (its scores or settings)"
    for name in (CSV_FILE, SAMPLES_FILE):
        if not (folder / name).is_file():
            return f"{name} is missing"
        if file_sha256(folder / name) != recorded.get(name):
            return f"{name} was changed after it was written"
    return None


def read_cell(out: Path, cell: Cell) -> dict[str, Any] | None:
    """The saved record of ``cell``, or None when it was never finished or is not intact
    (``cell_problem``)."""
    if cell_problem(out, cell) is not None:
        return None
    return json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))


def read_cell_samples(out: Path, cell: Cell, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """lm-eval's logged samples of a finished cell under the filter its record reports (its one scored
    answer per item), as logged (``sample_rows`` puts them in doc order)."""
    lines = (cell_dir(out, cell) / SAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    samples = [json.loads(line) for line in lines if line.strip()]
    return [s for s in samples if s.get("filter") == record["filter"]]


def cell_states(config: StudyConfig, out: Path, keys: Mapping[str, str | None] | None) -> dict[str, str]:
    """Each cell's state: ``"current"`` (intact, saved with the settings ``keys`` give now, or any
    intact cell without ``keys``), ``"not run"``, or why it is stale (its files not intact, or
    ``"settings changed"``). A stale cell is rerun, and never reported."""
    states = {}
    for cell in all_cells(config):
        problem = cell_problem(out, cell)
        if problem is None and keys is not None:
            record = json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))
            if record.get("key") != keys.get(cell.id):
                problem = "settings changed"
        states[cell.id] = problem or "current"
    return states


def rerun_reason(out: Path, cell: Cell, key: str | None) -> str | None:
    """Why ``cell`` runs again (``"not run"``, its files not intact, ``"settings changed"``, or a
    shared-prefix fallback taken when it last ran: some of its samples came from the plain path, which
    differs from the shared one at one seed), or None when its saved record can be reused as it is."""
    problem = cell_problem(out, cell)
    if problem is not None:
        return problem
    record = json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))
    if key is None:
        return "its adapter is trained first"
    if record.get("key") != key:
        return "settings changed"
    fallbacks = record.get("shared_prefix_fallbacks") or []
    if fallbacks:
        return f"{len(fallbacks)} group(s) of its samples fell back to plain repeats when it last ran"
    return None


def cached(out: Path, cell: Cell, key: str | None) -> bool:
    return rerun_reason(out, cell, key) is None


def write_cell(
    out: Path, cell: Cell, record: Mapping[str, Any], samples: list[dict[str, Any]], csv_text: str
) -> None:
    """Save a finished cell: all three files appear together, or none does. ``cell.json`` records the
    sha256 of each file and of its own fields, so a cell changed or cut short later is seen as stale."""
    with folder_written_atomically(cell_dir(out, cell), replace=True) as staging:
        (staging / SAMPLES_FILE).write_text(
            "".join(json.dumps(s, default=str, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
        )
        (staging / CSV_FILE).write_text(csv_text, encoding="utf-8")
        saved = json.loads(json.dumps(dict(record), default=str))  # the record as it reads back
        saved[INTEGRITY] = {
            CELL_FILE: _record_digest(saved),
            CSV_FILE: file_sha256(staging / CSV_FILE),
            SAMPLES_FILE: file_sha256(staging / SAMPLES_FILE),
        }
        (staging / CELL_FILE).write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")


def clean_interrupted(out: Path) -> None:
    """Remove what a killed run left half-way: temporary cell folders (never complete cells)."""
    cells = out / "cells"
    if not cells.is_dir():
        return
    for model_dir in cells.iterdir():
        if model_dir.is_dir():
            for leftover in model_dir.iterdir():
                if leftover.name.startswith("."):
                    shutil.rmtree(leftover, ignore_errors=True)


@dataclass
class CellRun:
    """What evaluating one cell gives: lm-eval's evaluation, the primary filter's samples in doc order
    (the one scored answer per item), that filter's name, the per-item scores and the per-item CSV."""

    evaluation: dict[str, Any]
    samples: list[dict[str, Any]]
    primary: str
    scores: dict[str, list[float]]
    csv_text: str
    seconds: float


def evaluate_cell(
    lm: Any,
    cell: Cell,
    metadata: Mapping[str, Any],
    *,
    apply_chat_template: bool,
    seed: int,
    items: list[int] | None = None,
    manager: Any = None,
) -> CellRun:
    """Evaluate one cell (a model on one of our tasks) and read its samples: the one evaluation path of
    ``summeval study`` (``run_cell``) and ``summeval compare``. ``manager``: an lm-eval ``TaskManager``
    made with ``metadata`` to reuse across cells (one is made when not given)."""
    from prompt_strategies.registry import get_family, task_table
    from summeval.lm_eval import task_manager
    from summeval.lm_eval.runner import evaluate_task
    from summeval.lm_eval.samples import item_scores, sample_rows, samples_csv

    family = get_family(cell.family)
    if manager is None:
        manager = task_manager(include_defaults=False, metadata=dict(metadata))
    started = time.time()
    evaluation, samples, primary = evaluate_task(
        lm,
        task=cell.task,
        family=family,
        strategy_name=cell.strategy,
        metadata=metadata,
        manager=manager,
        limit=cell.limit,
        items=items,
        apply_chat_template=apply_chat_template,
        seed=seed,
        fixed_options=task_table()[cell.task]["options"],
    )
    seconds = time.time() - started
    ordered = sorted(samples, key=lambda s: s.get("doc_id", 0))
    rows = sample_rows(ordered, family)
    scores = item_scores(rows, family)
    return CellRun(evaluation, ordered, primary, scores, samples_csv(rows, family), seconds)


def run_cell(
    config: StudyConfig,
    cell: Cell,
    lm: Any,
    settings: Mapping[str, Any],
    exemplars: Path | None,
    inputs: Inputs,
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Evaluate one cell of the study; return its record, lm-eval's logged samples and the per-sample CSV."""
    from prompt_strategies.registry import EXEMPLARS_KEY
    from summeval.lm_eval.runner import sampled_items

    metadata = config.metadata(cell.family)
    if exemplars is not None:
        metadata[EXEMPLARS_KEY] = str(exemplars.resolve())
    items = (
        None
        if cell.sample is None
        else sampled_items(inputs.eval_sizes[cell.family], cell.sample, config.seed)
    )
    seed = config.seed if cell.seed is None else cell.seed  # a replicate: same items, its own seed
    run = evaluate_cell(
        lm, cell, metadata, apply_chat_template=config.apply_chat_template, seed=seed, items=items
    )
    record = {
        "key": sha256_json(settings),
        "settings": dict(settings),
        "filter": run.primary,
        "n": len(run.samples),
        "items": [str(s["doc"].get("id", s.get("doc_id"))) for s in run.samples],
        "scores": run.scores,
        "lm_eval": {
            "results": run.evaluation["results"].get(cell.task, {}),
            "config": run.evaluation.get("configs", {}).get(cell.task, {}),
        },
        "seconds": round(run.seconds, 2),
        "exemplars": str(exemplars) if exemplars else None,
        "exemplar_sources": _exemplar_sources(exemplars),
    }
    return record, run.evaluation["samples"][cell.task], run.csv_text


def _exemplar_sources(path: Path | None) -> dict[str, int] | None:
    """How many of a selected exemplar file's exemplars came from each source (``rationale_source``)."""
    if path is None:
        return None
    from prompt_strategies.exemplars import read_exemplar_file

    return dict(Counter(str(e.get("rationale_source", "given")) for e in read_exemplar_file(path)))
