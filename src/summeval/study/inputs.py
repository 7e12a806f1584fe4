"""A study's inputs, checked and fingerprinted before any model loads: package versions, model and
adapter fingerprints, data hashes, backends and devices (``check_inputs``)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summeval.study.plan import EMBEDDED, ModelSpec, StudyConfig, StudyConfigError
from summeval_tasks.util.bounds import DEFAULT_SEED


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
    from summeval.training.adapters import AdapterError

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
        from summeval.training.embedded_model import embedded_model_path

        return str(embedded_model_path())
    return spec.pretrained


VLLM_CPU_DEFAULTS = {"VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_CPU_OMP_THREADS_BIND": "auto"}
"""The environment vLLM's CPU build gets from a study unless it is set already: a 2 GiB KV cache (the
embedded model's 8,192-token context needs 0.35 GiB in fp32) and ``auto`` thread binding (vLLM picks
the cores, NUMA node by node)."""
SMALL_MACHINE_CPUS = 4
"""On a machine with at most this many CPUs, ``auto`` binding would hold one core back for vLLM's
scheduler process, half of a 2-core machine: a study sets ``VLLM_CPU_NUM_OF_RESERVED_CPU=0`` there.
Measured by ``bench/vllm_cpu_settings.py`` on 2 cores: 0.70 of the wall time of ``auto`` with a core
reserved (``nobind`` the same), greedy outputs identical."""


def vllm_cpu_build() -> bool:
    """Whether the installed vLLM is its CPU build (the ``vllm-cpu`` distribution)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("vllm-cpu")
    except PackageNotFoundError:
        return False
    return True


def vllm_cpu_environment(environ: Mapping[str, str], cpus: int | None = None) -> dict[str, str]:
    """The CPU build's environment settings a study adds to ``environ`` (the ones it does not set), on a
    machine of ``cpus`` CPUs (default: this one's)."""
    import os

    defaults = dict(VLLM_CPU_DEFAULTS)
    if (cpus or os.cpu_count() or 1) <= SMALL_MACHINE_CPUS:
        defaults["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
    return {key: value for key, value in defaults.items() if key not in environ}


def check_vllm_kv_cache(spec: ModelSpec, model_config: Any, environ: Mapping[str, str], what: str) -> None:
    """On vLLM's CPU build, ``VLLM_CPU_KVCACHE_SPACE`` (GiB) must hold one sequence of the model's
    context (``max_model_len``, else the config's ``max_position_embeddings``): otherwise the engine
    fails at start with a multi-process traceback. One line here instead, before the engine starts."""
    raw = environ.get("VLLM_CPU_KVCACHE_SPACE", VLLM_CPU_DEFAULTS["VLLM_CPU_KVCACHE_SPACE"])
    try:
        space = float(raw)
    except ValueError:
        space = -1.0
    if not space > 0:
        raise StudyConfigError(
            f"{what}: VLLM_CPU_KVCACHE_SPACE={raw!r} (environment) is not a size; give GiB as a positive "
            f"number, e.g. {VLLM_CPU_DEFAULTS['VLLM_CPU_KVCACHE_SPACE']}"
        )
    text = getattr(model_config, "get_text_config", lambda: model_config)()
    layers = getattr(text, "num_hidden_layers", None)
    heads = getattr(text, "num_attention_heads", None)
    if not layers or not heads:
        return  # not a decoder config we can size: vLLM decides
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    tokens = int(spec.model_args.get("max_model_len") or getattr(text, "max_position_embeddings", 0) or 0)
    dtype = str(spec.model_args.get("dtype", "bfloat16"))
    width = 4 if dtype in ("float32", "float", "fp32") else 2
    need = 2 * layers * kv_heads * head_dim * width * tokens
    if need > space * 2**30:
        raise StudyConfigError(
            f"{what}: VLLM_CPU_KVCACHE_SPACE={raw} (environment) GiB is too small for one sequence of "
            f"{tokens} tokens of this model ({need / 2**30:.2f} GiB in {dtype}); raise it to at least "
            f"{need / 2**30:.2f}, or lower models.{spec.name}.model_args.max_model_len"
        )


def backend_settings(
    spec: ModelSpec,
    pretrained: str,
    adapter: Path | None,
    *,
    batch_size: int | str,
    device: str | None,
    seed: int = DEFAULT_SEED,
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
        if vllm_cpu_build():  # no torch.compile at each engine start (about 150 s on CPU)
            args.setdefault("enforce_eager", True)
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
    if spec.backend == "vllm" and vllm_cpu_build():
        import os

        os.environ.update(vllm_cpu_environment(os.environ))
    return load_lm(name, args, extra)


def check_family_inputs(
    family_name: str, strategy_names: Sequence[str], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``summeval study`` and ``summeval compare`` both check of a family before any model loads:
    each strategy's options in ``metadata`` (unknown names, types, ranges) and the family's data source
    (loaded). Returns the loaded docs by split."""
    from prompt_strategies.registry import get_family, get_strategy

    for name in strategy_names:
        get_strategy(name).options(metadata)
    return get_family(family_name).load(metadata)


def check_inputs(config: StudyConfig, out: Path) -> Inputs:
    """Everything a cell needs, checked before any model loads: backends installed, models and recipes
    readable, strategy options valid, data loadable, adapters present or trainable."""
    import importlib.util

    from prompt_strategies.registry import get_family, get_strategy
    from prompt_strategies.strategy import StrategyError
    from summeval.training.recipe import load_recipe

    for spec in config.models.values():
        if spec.backend == "vllm" and importlib.util.find_spec("vllm") is None:
            raise StudyConfigError(
                f"study config {config.path}: models.{spec.name}.backend: vllm is not installed "
                "(pip install vllm on a GPU machine, or the README's vLLM on CPU install), or use backend: hf"
            )
    used = {c.model for c in config.cells}
    pretrained = {name: resolve_pretrained(config.models[name]) for name in used}
    from summeval.lm_eval.checks import check_metadata
    from summeval.training.adapters import base_model_config

    for name, path in pretrained.items():  # a missing folder, or a hub name offline, fails now
        model_config = base_model_config(
            path,
            revision=config.models[name].model_args.get("revision"),
            what=f"study config {config.path}: models.{name}.pretrained:",
        )
        if config.models[name].backend == "vllm" and vllm_cpu_build():
            import os

            check_vllm_kv_cache(
                config.models[name], model_config, os.environ, f"study config {config.path}: models.{name}"
            )
    data_hashes: dict[str, str] = {}
    eval_sizes: dict[str, int] = {}
    for family_name in sorted({c.family for c in config.cells}):
        family = get_family(family_name)
        metadata = config.metadata(family_name)
        try:
            check_metadata(metadata)
            docs = check_family_inputs(
                family_name, [c.strategy for c in config.cells if c.family == family_name], metadata
            )
        except StrategyError as err:
            raise StudyConfigError(f"study config {config.path}: options: {err}") from err
        data_hashes[family_name] = sha256_json({split: list(items) for split, items in docs.items()})
        available = eval_sizes[family_name] = len(docs.get(family.eval_split, []))
        for cell in config.cells:
            if cell.family == family_name and cell.sample is not None and cell.sample > available:
                raise StudyConfigError(
                    f"study config {config.path}: {cell.id}: sample {cell.sample} is larger than the "
                    f"{family.eval_split} split of {family_name} ({available} items)"
                )
    selecting = {c.family for c in config.cells if get_strategy(c.strategy).selects_exemplars}
    if selecting:
        from summeval.study.selection import Selection, check_selection

        for family_name in sorted(selecting):
            check_selection(
                family_name, config.data.get(family_name), Selection.of(config.selection), config.seed
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
    inputs = Inputs(pretrained, fingerprints, data_hashes, recipes, adapters, devices, eval_sizes)
    _check_adapters(config, out, inputs)
    return inputs


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
        at = f"study config {config.path}: models.{name}.adapter"
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
    trained_steps = (recorded.get("train") or {}).get("max_steps")
    return recorded.get("recipe") == recipe.to_dict() and trained_steps == config.models[name].max_steps
