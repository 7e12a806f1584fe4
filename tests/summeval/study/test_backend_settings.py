"""What a study hands each backend for a model (``summeval.training.adapters.adapter_rank``,
``summeval.study.backends.backend_settings``): the adapter's rank, HF and vLLM settings with and without an
adapter, vLLM's ``max_lora_rank``; and that lm-eval's own HF and vLLM model classes accept every setting we
pass.

lm-eval's vLLM model cannot be imported here (vLLM is not installed), so the arguments our settings
produce are checked against its source, parsed with ``ast``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

from summeval.study.backends import backend_settings
from summeval.study.plan import ModelSpec, StudyConfigError
from summeval.training.adapters import adapter_rank

# --- backend_settings -----------------------------------------------------------------------------------


def _adapter(folder: Path, rank: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = {"r": rank, "lora_alpha": 2 * rank, "peft_type": "LORA", "target_modules": ["q_proj", "v_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_adapter_rank(tmp_path):
    assert adapter_rank(_adapter(tmp_path / "a", 32)) == 32
    assert adapter_rank(_adapter(tmp_path / "b", 8)) == 8


def test_hf_settings_with_an_adapter(tmp_path):
    adapter = _adapter(tmp_path / "adapter", 32)
    model_args = {"dtype": "bfloat16", "revision": "abc123", "trust_remote_code": True}
    spec = ModelSpec(name="tuned", pretrained="org/model", backend="hf", model_args=model_args)
    name, args, extra = backend_settings(spec, "/models/model", adapter, batch_size=4, device="cuda")
    assert name == "hf"
    assert args == {"pretrained": "/models/model", **model_args, "peft": str(adapter)}
    assert extra == {"batch_size": 4, "device": "cuda"}
    assert dict(spec.model_args) == model_args  # not changed in place


def test_hf_settings_without_an_adapter():
    spec = ModelSpec(name="base", pretrained="org/model", model_args={"dtype": "float32"})
    name, args, extra = backend_settings(spec, "org/model", None, batch_size="auto", device=None)
    assert (name, args, extra) == (
        "hf",
        {"pretrained": "org/model", "dtype": "float32"},
        {"batch_size": "auto", "device": None},
    )


VLLM_ARGS = {"tensor_parallel_size": 2, "data_parallel_size": 2, "gpu_memory_utilization": 0.8}


def test_vllm_settings_with_a_rank_32_adapter(tmp_path):
    adapter = _adapter(tmp_path / "adapter", 32)
    spec = ModelSpec(name="tuned", pretrained="org/model", backend="vllm", model_args=VLLM_ARGS)
    name, args, extra = backend_settings(spec, "org/model", adapter, batch_size="auto", device="cuda", seed=5)
    assert name == "vllm"
    assert args == {
        "pretrained": "org/model",
        **VLLM_ARGS,
        "lora_local_path": str(adapter),
        "max_lora_rank": 32,
        "seed": 5,  # vLLM samples with its own seed: the study's
    }
    assert "peft" not in args
    assert extra == {"batch_size": "auto", "device": "cuda"}


def test_vllm_settings_without_an_adapter():
    spec = ModelSpec(name="base", pretrained="org/model", backend="vllm", model_args=VLLM_ARGS)
    _, args, _ = backend_settings(spec, "org/model", None, batch_size=8, device=None)
    assert args == {"pretrained": "org/model", **VLLM_ARGS, "seed": 1234}
    configured = ModelSpec(name="base", pretrained="m", backend="vllm", model_args={"seed": 3})
    assert backend_settings(configured, "m", None, batch_size=8, device=None, seed=9)[1]["seed"] == 3


@pytest.mark.parametrize("configured", [32, 64])
def test_vllm_keeps_a_configured_max_lora_rank_at_least_the_adapters(tmp_path, configured):
    adapter = _adapter(tmp_path / "adapter", 32)
    spec = ModelSpec(
        name="tuned", pretrained="m", backend="vllm", model_args={**VLLM_ARGS, "max_lora_rank": configured}
    )
    _, args, _ = backend_settings(spec, "m", adapter, batch_size=1, device=None)
    assert args["max_lora_rank"] == configured
    assert args["lora_local_path"] == str(adapter)


def test_vllm_max_lora_rank_below_the_adapters_is_refused(tmp_path):
    adapter = _adapter(tmp_path / "adapter", 32)
    spec = ModelSpec(name="tuned", pretrained="m", backend="vllm", model_args={"max_lora_rank": 16})
    with pytest.raises(StudyConfigError, match=r"models\.tuned\.model_args\.max_lora_rank: 16 .* rank 32"):
        backend_settings(spec, "m", adapter, batch_size=1, device=None)


# --- what lm-eval's models accept (read from their source: vLLM is not installed here) -------------------


def _lm_eval_source(relative: str) -> ast.Module:
    spec = importlib.util.find_spec("lm_eval")
    assert spec is not None and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _init_of(module: ast.Module, class_name: str) -> ast.FunctionDef:
    for node in ast.walk(module):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    return item
    raise AssertionError(f"no {class_name}.__init__ in lm-eval's source")


def _parameters(init: ast.FunctionDef) -> tuple[set[str], str | None]:
    """Named parameters of a function, and the name of its ``**kwargs`` (None without one)."""
    arguments = init.args
    named = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
    return named - {"self"}, arguments.kwarg.arg if arguments.kwarg else None


def _vllm_keys(tmp_path: Path) -> set[str]:
    adapter = _adapter(tmp_path / "adapter", 32)
    spec = ModelSpec(name="tuned", pretrained="m", backend="vllm", model_args=VLLM_ARGS)
    _, args, extra = backend_settings(spec, "m", adapter, batch_size="auto", device="cuda")
    return set(args) | set(extra)


def test_vllm_model_accepts_our_settings(tmp_path):
    keys = _vllm_keys(tmp_path)
    assert keys == {
        "pretrained",
        "lora_local_path",
        "max_lora_rank",
        "tensor_parallel_size",
        "data_parallel_size",
        "gpu_memory_utilization",
        "batch_size",
        "device",
        "seed",
    }
    init = _init_of(_lm_eval_source("models/vllm_causallms.py"), "VLLM")
    named, kwargs = _parameters(init)
    # The study's own arguments are named parameters of VLLM.__init__ ...
    assert {
        "pretrained",
        "lora_local_path",
        "max_lora_rank",
        "tensor_parallel_size",
        "data_parallel_size",
        "seed",
    } <= named
    assert "batch_size" in named
    # ... the rest (device, vLLM engine settings such as gpu_memory_utilization) go through **kwargs.
    rest = keys - named
    assert rest == {"device", "gpu_memory_utilization"}, rest
    assert kwargs is not None, "VLLM.__init__ takes no **kwargs: device and gpu_memory_utilization would fail"

    # device: VLLM drops it from kwargs (with a warning), so passing it is harmless.
    def names_kwargs(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == kwargs

    drops_device = any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "pop"
        and names_kwargs(node.func.value)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "device"
        for node in ast.walk(init)
    )
    assert drops_device, "VLLM.__init__ no longer drops device from its kwargs; vllm.LLM would get it"
    # gpu_memory_utilization and the other kwargs reach vllm.LLM through self.model_args.update(kwargs).
    forwards_kwargs = any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "update"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "model_args"
        and any(names_kwargs(arg) for arg in node.args)
        for node in ast.walk(init)
    )
    assert forwards_kwargs, "VLLM.__init__ no longer passes its kwargs on to vllm.LLM"


def test_hf_model_accepts_our_settings(tmp_path):
    adapter = _adapter(tmp_path / "adapter", 32)
    spec = ModelSpec(name="tuned", pretrained="m", backend="hf", model_args={"dtype": "bfloat16"})
    _, args, extra = backend_settings(spec, "m", adapter, batch_size=2, device="cpu")
    keys = set(args) | set(extra)
    assert keys == {"pretrained", "peft", "batch_size", "device", "dtype"}
    named, _ = _parameters(_init_of(_lm_eval_source("models/huggingface.py"), "HFLM"))
    assert keys <= named, keys - named
