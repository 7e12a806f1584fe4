"""``summeval study``: every cell of a study config through lm-eval, cached, then one report.

A cell is one model on one task. Each finished cell is saved in ``OUT/cells/<model>/<task>/`` (written
under a temporary name, then renamed): ``cell.json`` (its settings and their key, lm-eval's results, the
per-item scores, timings), ``samples.jsonl`` (lm-eval's per-sample log) and ``samples.csv``. A re-run
skips a cell whose key (the cell's settings, its data's sha256, the model's and adapter's fingerprints,
the summeval and lm-eval versions) is unchanged, so an interrupted run loses at most the cell in progress.
Adapters named by a recipe are trained first when missing (``OUT/adapters/<model>`` by default);
active-prompt exemplars are selected once per model and family (``OUT/exemplars/``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summeval.study_config import EMBEDDED, Cell, ModelSpec, StudyConfig, StudyConfigError
from summeval_tasks.atomic import folder_written_atomically

CELL_FILE = "cell.json"
SAMPLES_FILE = "samples.jsonl"
CSV_FILE = "samples.csv"
CELL_FORMAT = 1
"""Bumped when what a cell folder holds changes: older cells are then re-run."""


@dataclass
class Inputs:
    """What the cells' keys are made of, computed once before the first cell: nothing here loads a model."""

    pretrained: dict[str, str]
    """Model name → what lm-eval's ``pretrained=`` gets (the embedded model resolved to its folder)."""
    model_fingerprints: dict[str, dict[str, Any]]
    data_hashes: dict[str, str]
    """Family → sha256 of its loaded docs (every split: exemplars come from the pool)."""
    recipes: dict[str, Any]
    """Model name → its ``Recipe`` (models that train their adapter)."""
    adapters: dict[str, Path]
    """Model name → adapter folder (possibly not trained yet)."""
    devices: dict[str, str | None]
    """Model name → the device it runs on (part of the cells' keys: CPU and GPU outputs differ)."""


@functools.cache
def versions() -> dict[str, str]:
    """The versions of the packages a cell's result depends on."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in (
        "summeval",
        "lm_eval",
        "transformers",
        "torch",
        "peft",
        "datasets",
        "rouge_score",
        "scipy",
        "vllm",
    ):
        try:
            found[package] = version(package.replace("_", "-"))
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_fingerprint(pretrained: str, model_args: Mapping[str, Any]) -> dict[str, Any]:
    """What identifies a base model: a local folder's config and weight files (sha256 of each), or a hub
    id and the ``revision`` asked for."""
    folder = Path(pretrained)
    if not folder.is_dir():
        return {"id": pretrained, "revision": model_args.get("revision", "main")}
    files = sorted(
        p for p in folder.iterdir() if p.suffix in (".json", ".safetensors", ".bin", ".model", ".gguf")
    )
    return {"id": str(folder), "files": {p.name: file_sha256(p) for p in files if p.is_file()}}


def adapter_fingerprint(adapter: Path) -> dict[str, str]:
    """sha256 of an adapter's config and weights."""
    return {
        p.name: file_sha256(p)
        for p in sorted(adapter.iterdir())
        if p.suffix in (".json", ".safetensors", ".bin") and p.is_file()
    }


def adapter_rank(adapter: Path) -> int:
    """The LoRA rank ``r`` of an adapter folder (vLLM's ``max_lora_rank`` must be at least this)."""
    from summeval.adapter_io import AdapterError

    path = adapter / "adapter_config.json"
    try:
        rank = json.loads(path.read_text(encoding="utf-8"))["r"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise AdapterError(f"adapter: {path} gives no LoRA rank r ({type(err).__name__}: {err})") from err
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise AdapterError(f"adapter: {path}: r = {rank!r} is not a LoRA rank (a positive integer)")
    return rank


def resolve_pretrained(spec: ModelSpec) -> str:
    if spec.pretrained == EMBEDDED:
        from summeval.embedded_model import embedded_model_path

        return str(embedded_model_path())
    return spec.pretrained


def backend_settings(
    spec: ModelSpec,
    pretrained: str,
    adapter: Path | None,
    *,
    batch_size: int | str,
    device: str | None,
    seed: int = 1234,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The lm-eval model name, its arguments and the extra settings that build a model of the study.

    ``hf``: the adapter goes in ``peft=``. ``vllm``: through vLLM's LoRA support (``lora_local_path``),
    with ``max_lora_rank`` set from the adapter's own rank (vLLM's default, 16, refuses a rank-32
    adapter); a configured ``max_lora_rank`` below the adapter's rank is an error. vLLM samples with its
    own ``seed`` model argument: the study's seed unless ``model_args`` give one."""
    args: dict[str, Any] = {"pretrained": pretrained, **dict(spec.model_args)}
    if adapter is not None and spec.backend == "hf":
        args["peft"] = str(adapter)
    if adapter is not None and spec.backend == "vllm":
        rank = adapter_rank(adapter)
        configured = args.get("max_lora_rank")
        if configured is not None and int(configured) < rank:
            raise StudyConfigError(
                f"study config: models.{spec.name}.model_args.max_lora_rank: {configured} is below the "
                f"adapter's rank {rank} "
                f"({adapter}); raise it to at least {rank} or leave it out"
            )
        args["lora_local_path"] = str(adapter)
        args["max_lora_rank"] = int(configured) if configured is not None else rank
    if spec.backend == "vllm":
        args.setdefault("seed", seed)
    extra = {"batch_size": batch_size, "device": device}
    return spec.backend, args, extra


def resolve_device(spec: ModelSpec, config: StudyConfig) -> str | None:
    """The configured device; for hf without one, cuda when there is a GPU, else cpu."""
    if config.device is not None or spec.backend != "hf":
        return config.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(
    spec: ModelSpec, pretrained: str, adapter: Path | None, config: StudyConfig, device: str | None
) -> Any:
    """Build the lm-eval model of ``spec`` (``summeval.lm_eval.runner.load_lm``, as compare does)."""
    from summeval.lm_eval.runner import load_lm

    name, args, extra = backend_settings(
        spec, pretrained, adapter, batch_size=config.batch_size, device=device, seed=config.seed
    )
    return load_lm(name, args, extra)


def check_inputs(config: StudyConfig, out: Path) -> Inputs:
    """Everything a cell needs, checked before any model loads: backends installed, models and recipes
    readable, strategy options valid, data loadable, adapters present or trainable."""
    import importlib.util

    from prompt_strategies.registry import get_family, get_strategy
    from prompt_strategies.strategy import StrategyError
    from summeval.recipe import load_recipe

    for spec in config.models.values():
        if spec.backend == "vllm" and importlib.util.find_spec("vllm") is None:
            raise StudyConfigError(
                f"study config {config.path}: models.{spec.name}.backend: vllm is not installed "
                "(pip install vllm, on a machine with a GPU), or use backend: hf"
            )
    used = {c.model for c in config.cells}
    pretrained = {name: resolve_pretrained(config.models[name]) for name in used}
    from summeval.adapter_io import base_model_config
    from summeval.lm_eval.checks import check_metadata

    for name, path in pretrained.items():  # a missing folder, or a hub name offline, fails now
        base_model_config(
            path,
            revision=config.models[name].model_args.get("revision"),
            what=f"study config {config.path}: models.{name}.pretrained:",
        )
    data_hashes: dict[str, str] = {}
    for family_name in sorted({c.family for c in config.cells}):
        family = get_family(family_name)
        metadata = config.metadata(family_name)
        try:
            check_metadata(metadata)
            for cell in config.cells:
                if cell.family == family_name:
                    get_strategy(cell.strategy).options(metadata)  # unknown options, wrong types, ranges
        except StrategyError as err:
            raise StudyConfigError(f"study config {config.path}: options: {err}") from err
        docs = family.load(metadata)
        data_hashes[family_name] = sha256_json({split: list(items) for split, items in docs.items()})
        available = len(docs.get(family.eval_split, []))
        for cell in config.cells:
            if cell.family == family_name and cell.sample is not None and cell.sample > available:
                raise StudyConfigError(
                    f"study config {config.path}: {cell.id}: sample {cell.sample} is larger than the "
                    f"{family.eval_split} split of {family_name} ({available} items)"
                )
    if any(c.strategy == "active_prompt" for c in config.cells):
        from summeval.compare import selection_inputs

        for family_name in {c.family for c in config.cells if c.strategy == "active_prompt"}:
            selection_inputs(
                family=family_name,
                data=config.data.get(family_name),
                k=config.selection["k"],
                n=config.selection["n"],
                seed=config.seed,
                metric=config.selection["uncertainty"],
                pool_size=config.selection["pool_size"],
            )
    recipes: dict[str, Any] = {}
    adapters: dict[str, Path] = {}
    for name in used:
        spec = config.models[name]
        if spec.recipe is not None:
            if not spec.recipe.is_file():
                raise StudyConfigError(
                    f"study config {config.path}: models.{name}.recipe: {spec.recipe} does not exist"
                )
            overrides = [f"base_model={pretrained[name]}", f"training.seed={config.seed}"]
            if "tweetsumm" in config.data:
                overrides.append(f"data={config.data['tweetsumm']}")
            recipes[name] = load_recipe(spec.recipe, [*overrides, *spec.recipe_set])
        adapter = spec.adapter or (out / "adapters" / name if spec.recipe is not None else None)
        if adapter is not None:
            adapters[name] = adapter
            if not (adapter / "adapter_config.json").is_file() and spec.recipe is None:
                raise StudyConfigError(
                    f"study config {config.path}: models.{name}.adapter: {adapter} is not an adapter folder "
                    "(no adapter_config.json); train it first or give the model a recipe to train it from"
                )
    fingerprints: dict[str, dict[str, Any]] = {}
    hashed: dict[tuple[str, Any], dict[str, Any]] = {}  # models sharing a base folder hash its files once
    for name in used:
        source = (pretrained[name], config.models[name].model_args.get("revision"))
        if source not in hashed:
            hashed[source] = model_fingerprint(pretrained[name], config.models[name].model_args)
        fingerprints[name] = hashed[source]
    devices = {name: resolve_device(config.models[name], config) for name in used}
    inputs = Inputs(pretrained, fingerprints, data_hashes, recipes, adapters, devices)
    _check_adapters(config, out, inputs)
    return inputs


def _check_adapters(config: StudyConfig, out: Path, inputs: Inputs) -> None:
    """Adapters that will be trained can be (scheduler, target modules, no stale training folder outside
    ``out``); trained ones fit their backend (vLLM's ``max_lora_rank``) and, outside ``out``, their recipe."""
    from summeval.finetune import check_scheduler, check_target_modules

    ours = out.resolve()
    for name, adapter in inputs.adapters.items():
        spec = config.models[name]
        at = f"study config {config.path}: models.{name}.adapter"
        trained = (adapter / "adapter_config.json").is_file()
        if trained:
            backend_settings(spec, inputs.pretrained[name], adapter, batch_size=1, device=None)
        if name not in inputs.recipes or adapter_current(config, name, inputs):
            continue
        outside = not adapter.resolve().is_relative_to(ours)
        if trained and outside:
            raise StudyConfigError(
                f"{at}: {adapter} was trained with other settings than models.{name}.recipe now gives; "
                "remove it to retrain, or point adapter elsewhere"
            )
        work = adapter.with_name(adapter.name + ".work")
        if work.exists() and outside:
            raise StudyConfigError(
                f"{at}: {work} holds an interrupted training; remove it (or resume it with summeval "
                f"finetune --resume) before the study trains {adapter}"
            )
        check_scheduler(inputs.recipes[name])
        check_target_modules(inputs.recipes[name])


def cell_settings(
    config: StudyConfig, cell: Cell, inputs: Inputs, adapter: dict[str, str] | None
) -> dict[str, Any]:
    """Everything a cell's outputs depend on; its sha256 is the cell's cache key."""
    from prompt_strategies.registry import get_strategy, task_table

    spec = config.models[cell.model]
    metadata = config.metadata(cell.family)
    fixed = task_table()[cell.task]["options"]
    options = get_strategy(cell.strategy).options(
        {**metadata, cell.strategy: {**metadata.get(cell.strategy, {}), **fixed}}
    )
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
        "seed": config.seed,
        "apply_chat_template": config.apply_chat_template,
        "batch_size": config.batch_size,
        "device": inputs.devices[cell.model],
        "files": _option_files(options),
        "versions": {k: v for k, v in versions().items() if k in ("summeval", "lm_eval")},
    }
    if cell.strategy == "active_prompt" and not options.get("exemplars_file"):
        settings["selection"] = dict(config.selection)
    return settings


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
    for cell in config.cells:
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
    return out / "cells" / cell.model / cell.task


def read_cell(out: Path, cell: Cell) -> dict[str, Any] | None:
    """The saved record of ``cell``, or None when it was never finished (or is unreadable)."""
    path = cell_dir(out, cell) / CELL_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cached(out: Path, cell: Cell, key: str | None) -> bool:
    record = read_cell(out, cell)
    return key is not None and record is not None and record.get("key") == key


def write_cell(
    out: Path, cell: Cell, record: Mapping[str, Any], samples: list[dict[str, Any]], csv_text: str
) -> None:
    """Save a finished cell: all three files appear together, or none does."""
    with folder_written_atomically(cell_dir(out, cell), replace=True) as staging:
        (staging / SAMPLES_FILE).write_text(
            "".join(json.dumps(s, default=str, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
        )
        (staging / CSV_FILE).write_text(csv_text, encoding="utf-8")
        (staging / CELL_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


def _clean_interrupted(out: Path) -> None:
    """Remove what a killed run left half-way: temporary cell folders (never complete cells)."""
    cells = out / "cells"
    if not cells.is_dir():
        return
    for model_dir in cells.iterdir():
        if model_dir.is_dir():
            for leftover in model_dir.iterdir():
                if leftover.name.startswith("."):
                    shutil.rmtree(leftover, ignore_errors=True)


def adapter_current(config: StudyConfig, name: str, inputs: Inputs) -> bool:
    """Whether the model's adapter is trained, and (when it has a recipe) with the recipe's settings now."""
    from summeval.adapter_io import read_adapter_metadata

    adapter = inputs.adapters.get(name)
    if adapter is None or not (adapter / "adapter_config.json").is_file():
        return False
    recipe = inputs.recipes.get(name)
    if recipe is None:
        return True
    recorded = read_adapter_metadata(adapter)
    trained_steps = (recorded.get("train") or {}).get("max_steps")
    return recorded.get("recipe") == recipe.to_dict() and trained_steps == config.models[name].max_steps


def ensure_adapter(config: StudyConfig, name: str, inputs: Inputs, out: Path) -> tuple[Path | None, float]:
    """The model's adapter folder, trained from its recipe first when missing; and the training seconds."""
    from summeval.finetune import finetune

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


def exemplars_for(
    config: StudyConfig, cell: Cell, lm: Any, inputs: Inputs, out: Path, adapter_print: Any
) -> tuple[Path, float]:
    """The active-prompt exemplar file of the cell's model and family, selected with ``lm`` when missing."""
    from summeval.compare import select_active_prompt_exemplars

    key = sha256_json(
        {
            "model": inputs.model_fingerprints[cell.model],
            "adapter": adapter_print,
            "family": cell.family,
            "data": inputs.data_hashes[cell.family],
            "selection": config.selection,
            "seed": config.seed,
            "apply_chat_template": config.apply_chat_template,
        }
    )[:12]
    path = out / "exemplars" / f"{cell.model}__{cell.family}__{key}.json"
    if path.is_file():
        return path, 0.0
    started = time.time()
    selection = config.selection
    select_active_prompt_exemplars(
        lm,
        family=cell.family,
        data=config.data.get(cell.family),
        out=path,
        k=selection["k"],
        n=selection["n"],
        metric=selection["uncertainty"],
        seed=config.seed,
        pool_size=selection["pool_size"],
        temperature=selection["temperature"],
        apply_chat_template=config.apply_chat_template,
        model_description=f"{cell.model} ({inputs.pretrained[cell.model]})",
    )
    return path, time.time() - started


def run_cell(
    config: StudyConfig, cell: Cell, lm: Any, settings: Mapping[str, Any], exemplars: Path | None
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Evaluate one cell; return its record, lm-eval's logged samples and the per-sample CSV."""
    from prompt_strategies.registry import EXEMPLARS_KEY, get_family, task_table
    from summeval import task_manager
    from summeval.compare import item_scores, samples_csv
    from summeval.lm_eval.runner import evaluate_task

    family = get_family(cell.family)
    metadata = config.metadata(cell.family)
    if exemplars is not None:
        metadata[EXEMPLARS_KEY] = str(exemplars.resolve())
    manager = task_manager(include_defaults=False, metadata=metadata)
    started = time.time()
    evaluation, samples, primary = evaluate_task(
        lm,
        task=cell.task,
        family=family,
        strategy_name=cell.strategy,
        metadata=metadata,
        manager=manager,
        limit=cell.limit,
        sample=cell.sample,
        apply_chat_template=config.apply_chat_template,
        seed=config.seed,
        fixed_options=task_table()[cell.task]["options"],
    )
    seconds = time.time() - started
    ordered = sorted(samples, key=lambda s: s.get("doc_id", 0))
    record = {
        "key": sha256_json(settings),
        "settings": dict(settings),
        "filter": primary,
        "n": len(ordered),
        "items": [str(s["doc"].get("id", s.get("doc_id"))) for s in ordered],
        "scores": item_scores(family, ordered),
        "lm_eval": {
            "results": evaluation["results"].get(cell.task, {}),
            "config": evaluation.get("configs", {}).get(cell.task, {}),
        },
        "seconds": round(seconds, 2),
        "exemplars": str(exemplars) if exemplars else None,
    }
    return record, evaluation["samples"][cell.task], samples_csv(samples, family)


def run_study(config: StudyConfig, out: Path, *, progress: bool = True) -> dict[str, Any]:
    """Run every cell that is not cached, then write the report; return a summary of what ran."""
    import gc

    from tqdm import tqdm

    from summeval.lm_eval.runner import quiet_per_task_notice
    from summeval.paths import output_folder
    from summeval.report import write_study_report

    output_folder(out, "--out")
    wall_started = time.time()
    inputs = check_inputs(config, out)
    out.mkdir(parents=True, exist_ok=True)
    _clean_interrupted(out)

    prints = adapter_prints(config, inputs)
    keys = study_keys(config, inputs, prints)
    quiet_per_task_notice()
    to_run = [c for c in config.cells if not cached(out, c, keys[c.id])]
    skipped = len(config.cells) - len(to_run)
    print(
        f"summeval study {config.name}: {len(config.cells)} cells, {skipped} finished before, "
        f"{len(to_run)} to run → {out}",
        flush=True,
    )
    timings: dict[str, Any] = {"models": {}, "adapters": {}, "selection": {}}
    given_exemplars = (config.options.get("active_prompt") or {}).get("exemplars_file")
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
        lm = load_model(spec, inputs.pretrained[model_name], adapter, config, inputs.devices[model_name])
        if progress:
            _one_progress_display(lm)
        timings["models"][model_name] = round(time.time() - started, 2)
        for cell in cells:
            bar.set_postfix_str(cell.id)
            exemplars, selection_seconds = (None, 0.0)
            if cell.strategy == "active_prompt" and not given_exemplars:
                exemplars, selection_seconds = exemplars_for(
                    config, cell, lm, inputs, out, prints.get(model_name)
                )
                if selection_seconds:
                    timings["selection"][cell.id] = round(selection_seconds, 2)
            settings = cell_settings(config, cell, inputs, prints.get(model_name))
            record, samples, csv_text = run_cell(config, cell, lm, settings, exemplars)
            record["selection_seconds"] = round(selection_seconds, 2)
            record["environment"] = environment(lm)
            write_cell(out, cell, record, samples, csv_text)
            bar.update(1)
            bar.write(f"summeval study: {cell.id} done in {record['seconds'] + selection_seconds:.0f} s")
        del lm
        gc.collect()
        _empty_cuda_cache()
    bar.close()
    timings["wall_seconds"] = round(time.time() - wall_started, 2)
    report = write_study_report(
        config, out, inputs=inputs, keys=study_keys(config, inputs, prints), timings=timings
    )
    return {"cells": len(config.cells), "cached": skipped, "ran": len(to_run), "report": report, **timings}


def rebuild_report(config: StudyConfig, out: Path) -> Path:
    """Write the report from the saved cells, loading no model; cells saved with other settings than the
    config gives now are shown as stale, not reported."""
    from summeval.report import write_study_report

    if not (out / "cells").is_dir():
        raise StudyConfigError(f"--report-only: {out} holds no study cells; run the study first")
    inputs = check_inputs(config, out)
    keys = study_keys(config, inputs, adapter_prints(config, inputs))
    return write_study_report(config, out, inputs=inputs, keys=keys)


def environment(lm: Any) -> dict[str, Any]:
    """Where a cell ran: package versions, hardware, and the base model's resolved revision if known."""
    from summeval.report import hardware

    model = getattr(lm, "_model", None)
    config = getattr(model, "config", None)
    return {
        "versions": versions(),
        "hardware": hardware(),
        "model_revision": getattr(config, "_commit_hash", None),
    }


def _one_progress_display(lm: Any) -> None:
    """Turn off the model's own per-request bars (on this instance only): the study's bar is the display."""
    import functools
    import inspect

    for method in ("generate_until", "loglikelihood", "loglikelihood_rolling"):
        bound = getattr(lm, method, None)
        if bound is not None and "disable_tqdm" in inspect.signature(bound).parameters:
            setattr(lm, method, functools.partial(bound, disable_tqdm=True))


def _empty_cuda_cache() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
