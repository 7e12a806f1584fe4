"""How a study builds each model on its backend: lm-eval's model name and arguments (``backend_settings``),
the device, and on vLLM's CPU build its environment and KV-cache check; then the model itself
(``load_model``). Nothing here loads a model but ``load_model``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summeval.study.plan import ModelSpec, StudyConfig, StudyConfigError
from summeval.training.adapters import adapter_rank
from summeval_tasks.util.bounds import DEFAULT_SEED

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


def chat_template_missing(pretrained: str) -> bool:
    """Whether the local model folder ``pretrained`` has no chat template (none in
    ``tokenizer_config.json``, no ``chat_template.jinja`` / ``.json``). False when it is not a local
    folder: a hub model's tokenizer is checked when it loads."""
    import json

    folder = Path(pretrained).expanduser()
    if not folder.is_dir():
        return False
    if any((folder / name).is_file() for name in ("chat_template.jinja", "chat_template.json")):
        return False
    try:
        settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        settings = {}
    return not (isinstance(settings, dict) and settings.get("chat_template"))


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
