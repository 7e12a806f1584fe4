"""A study's inputs, checked and fingerprinted before any model loads: package versions, model and
adapter fingerprints, data hashes, backends and devices (``check_inputs``; how each backend builds its
model is ``summeval.study.backends``)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summeval.study.backends import (
    backend_settings,
    chat_template_missing,
    check_vllm_kv_cache,
    resolve_device,
    vllm_cpu_build,
)
from summeval.study.plan import EMBEDDED, ModelSpec, StudyConfig, StudyConfigError
from summeval_tasks.util.files import file_sha256

if TYPE_CHECKING:
    from prompt_strategies.strategy import PromptStrategy
    from summeval_tasks.contract import TaskFamily


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
    eval_sizes: dict[str, int] = field(default_factory=dict)
    """Family → the number of docs in its evaluated split (a cell's ``sample`` is drawn from them)."""


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


def resolve_pretrained(spec: ModelSpec) -> str:
    if spec.pretrained == EMBEDDED:
        from summeval.training.embedded_model import embedded_model_path

        return str(embedded_model_path())
    return spec.pretrained


def check_family_inputs(
    family: TaskFamily, strategies: Sequence[PromptStrategy], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``summeval study`` and ``summeval compare`` both check of a family before any model loads:
    each strategy's options in ``metadata`` (unknown names, types, ranges) and the family's data source
    (loaded). Returns the loaded docs by split."""
    for strategy in strategies:
        strategy.options(metadata)
    return family.load(metadata)


def check_inputs(config: StudyConfig, out: Path) -> Inputs:
    """Everything a cell needs, checked before any model loads: backends installed, models and recipes
    readable, strategy options valid, data loadable, adapters present or trainable."""
    import importlib.util

    from prompt_strategies.strategy import StrategyError
    from summeval.lm_eval.checks import check_metadata
    from summeval.training.adapters import base_model_config
    from summeval.training.recipe import load_recipe

    for spec in config.models.values():
        if spec.backend == "vllm" and importlib.util.find_spec("vllm") is None:
            raise StudyConfigError(
                f"{config.where}: models.{spec.name}.backend: vllm is not installed "
                "(pip install vllm on a GPU machine, or the README's vLLM on CPU install), or use backend: hf"
            )
    data_hashes: dict[str, str] = {}
    eval_sizes: dict[str, int] = {}
    for family in sorted(config.families(), key=lambda f: f.name):
        family_name = family.name
        metadata = config.metadata(family)
        try:
            check_metadata(metadata)
            strategies = [c.strategy for c in config.cells if c.family is family]
            docs = check_family_inputs(family, strategies, metadata)
        except StrategyError as err:
            raise StudyConfigError(f"{config.where}: options: {err}") from err
        _check_exemplar_files(config, family, strategies, metadata)
        data_hashes[family_name] = sha256_json({split: list(items) for split, items in docs.items()})
        available = eval_sizes[family_name] = len(docs.get(family.eval_split, []))
        for cell in config.cells:
            if cell.family is family and cell.sample is not None and cell.sample > available:
                raise StudyConfigError(
                    f"{config.where}: {cell.id}: sample {cell.sample} is larger than the "
                    f"{family.eval_split} split of {family_name} ({available} items)"
                )
    selecting = {c.family for c in config.cells if c.strategy.selects_exemplars}
    if selecting:
        from summeval.study.selection import Selection, check_selection

        for family in sorted(selecting, key=lambda f: f.name):
            check_selection(family, config.data.get(family.name), Selection.of(config.selection), config.seed)
    used = {c.model for c in config.cells}
    pretrained = {name: resolve_pretrained(config.models[name]) for name in used}
    for name, path in pretrained.items():  # a missing folder, or a hub name offline, fails now
        if config.apply_chat_template and chat_template_missing(path):
            raise StudyConfigError(
                f"{config.where}: apply_chat_template: true, but models.{name} ({path}) has no "
                "chat template (tokenizer_config.json sets none); set apply_chat_template: false, or use "
                "a model with one"
            )
        model_config = base_model_config(
            path,
            revision=config.models[name].model_args.get("revision"),
            what=f"{config.where}: models.{name}.pretrained:",
        )
        if config.models[name].backend == "vllm" and vllm_cpu_build():
            import os

            check_vllm_kv_cache(
                config.models[name], model_config, os.environ, f"{config.where}: models.{name}"
            )
    recipes: dict[str, Any] = {}
    adapters: dict[str, Path] = {}
    for name in used:
        spec = config.models[name]
        if spec.recipe is not None:
            from summeval_tasks.util.source_files import path_kind

            kind = path_kind(spec.recipe)
            if kind != "a file":
                raise StudyConfigError(
                    f"{config.where}: models.{name}.recipe: {spec.recipe} "
                    + ("does not exist" if kind == "missing" else f"is {kind}; give a recipe YAML file")
                )
            recipes[name] = load_recipe(spec.recipe, recipe_overrides(config, name, pretrained[name]))
        adapter = spec.adapter or (out / "adapters" / name if spec.recipe is not None else None)
        if adapter is not None:
            adapters[name] = adapter
            if not (adapter / "adapter_config.json").is_file() and spec.recipe is None:
                raise StudyConfigError(
                    f"{config.where}: models.{name}.adapter: {adapter} is not an adapter folder "
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
    inputs = Inputs(pretrained, fingerprints, data_hashes, recipes, adapters, devices, eval_sizes)
    _check_adapters(config, out, inputs)
    return inputs


def recipe_overrides(config: StudyConfig, name: str, pretrained: str) -> list[str]:
    """The ``--set`` overrides that make model ``name``'s recipe the study's: its base, the study's seed,
    the study's TweetSumm data, then the model's ``recipe_set``."""
    overrides = [f"base_model={pretrained}", f"training.seed={config.seed}"]
    if "tweetsumm" in config.data:
        overrides.append(f"data={config.data['tweetsumm']}")
    return [*overrides, *config.models[name].recipe_set]


def _check_exemplar_files(
    config: StudyConfig, family: TaskFamily, strategies: Sequence[PromptStrategy], metadata: Mapping[str, Any]
) -> None:
    """An exemplar file given for a strategy that selects its exemplars (active-prompt's
    ``exemplars_file``) reads as one of ``family``'s, before any model loads."""
    from prompt_strategies.exemplars import read_exemplar_file
    from prompt_strategies.strategy import StrategyError

    for strategy in dict.fromkeys(strategies):
        given = getattr(strategy.options(metadata), "exemplars_file", "")
        if strategy.selects_exemplars and given:
            try:
                read_exemplar_file(Path(given), family)
            except StrategyError as err:
                raise StudyConfigError(f"{config.where}: options: {strategy.name}: {err}") from err


def _check_adapters(config: StudyConfig, out: Path, inputs: Inputs) -> None:
    """Adapters that will be trained can be (scheduler, target modules; an interrupted training inside
    ``out`` resumes only with the same settings, none outside ``out``; not being trained by another
    process now); trained ones fit their backend (vLLM's ``max_lora_rank``) and their recipe. An
    adapter trained with other settings is refused, never deleted (inside ``out`` as outside)."""
    from summeval.training.checks import (
        FinetuneError,
        check_same_run,
        check_scheduler,
        check_target_modules,
    )
    from summeval.training.finetune import (
        adapter_lock,
        last_complete_checkpoint,
        planned_run,
        work_folder,
    )
    from summeval_tasks.util.files import OutputInUse, in_use_message, lock_holder

    ours = out.resolve()
    for name, adapter in inputs.adapters.items():
        spec = config.models[name]
        at = f"{config.where}: models.{name}.adapter"
        trained = (adapter / "adapter_config.json").is_file()
        current = adapter_current(config, name, inputs)
        if trained:
            backend_settings(spec, inputs.pretrained[name], adapter, batch_size=1, device=None)
            # it must fit the base: vLLM's engine would crash on a misfit, HF only after loading the base
            if current:
                _check_adapter_base(at, adapter, inputs.pretrained[name], spec)
        if name not in inputs.recipes or current:
            continue
        holder = lock_holder(adapter_lock(adapter))
        if holder is not None:
            raise OutputInUse(
                in_use_message(f"{at}: {adapter}", adapter_lock(adapter), holder, "wait for it to finish")
            )
        if trained:
            raise StudyConfigError(
                f"{at}: {adapter} was trained with other settings than models.{name}.recipe now gives; "
                "remove it to retrain (summeval deletes no adapter it did not train in this run), "
                "or point adapter elsewhere"
            )
        work = work_folder(adapter)
        outside = not adapter.resolve().is_relative_to(ours)
        if work.exists() and outside:
            raise StudyConfigError(
                f"{at}: {work} holds an interrupted training; remove it (or resume it with summeval "
                f"finetune --resume) before the study trains {adapter}"
            )
        if work.exists():
            if last_complete_checkpoint(work) is None:
                raise StudyConfigError(
                    f"{at}: {work} holds an interrupted training with no complete checkpoint to resume; "
                    "remove that folder to train the adapter from the start"
                )
            try:
                check_same_run(work, planned_run(inputs.recipes[name], spec.max_steps)[2])
            except FinetuneError as err:
                raise StudyConfigError(f"{at}: {err}") from err
        check_scheduler(inputs.recipes[name])
        check_target_modules(inputs.recipes[name])


def _check_adapter_base(at: str, adapter: Path, pretrained: str, spec: ModelSpec) -> None:
    """A trained adapter that does not fit its model's base is one line before any cell runs, on every
    backend (lm-eval's ``hf`` model checks ``peft=`` itself; vLLM's LoRA would fail inside the engine)."""
    from summeval.training.adapters import AdapterError, check_base_matches

    try:
        check_base_matches(adapter, pretrained, spec.model_args.get("revision"))
    except AdapterError as err:
        raise StudyConfigError(f"{at}: {err}") from err


def adapter_current(config: StudyConfig, name: str, inputs: Inputs) -> bool:
    """Whether the model's adapter is trained, and (when it has a recipe) with the recipe's settings now."""
    from summeval.training.adapters import read_adapter_metadata

    adapter = inputs.adapters.get(name)
    if adapter is None or not (adapter / "adapter_config.json").is_file():
        return False
    recipe = inputs.recipes.get(name)
    if recipe is None:
        return True
    recorded = read_adapter_metadata(adapter)
    train = recorded.get("train") or {}
    spec = config.models[name]
    return (
        recorded.get("recipe") == recipe.to_dict()
        and train.get("max_steps") == spec.max_steps
        and train.get("processes", 1) == spec.train_processes
    )
