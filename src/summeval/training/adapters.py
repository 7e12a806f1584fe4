"""Trained adapters: their ``summeval.json``, the base-model check, and merging.

An adapter folder is a standard PEFT adapter (``adapter_config.json``,
``adapter_model.safetensors``) plus ``summeval.json``: the base model and its revision, a summary of
the base's config, the recipe, the data source and hash, the trainable parameter count and the
memory footprint of the base.

lm-eval loads it with ``--model_args pretrained=BASE,peft=ADAPTER``. Through summeval's start-up
hook (see ``summeval.lm_eval.startup``) lm-eval's ``hf`` model first calls :func:`check_base_matches`, so an
adapter trained on another architecture is refused with a clear message before any weights load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from summeval_tasks.util.errors import SummevalError

METADATA_FILE = "summeval.json"
ALLOW_MISMATCH_ENV = "SUMMEVAL_ALLOW_BASE_MISMATCH"
ALLOW_PICKLE_ENV = "SUMMEVAL_ALLOW_PICKLE_ADAPTER"
"""Set to 1 to load an adapter whose weights are only a pickle (``adapter_model.bin``): unpickling
runs code."""
WEIGHTS_FILE = "adapter_model.safetensors"
_HEADER_LIMIT = 100 * 2**20
# The config fields that decide whether an adapter's weights fit a base model.
_SHAPE_FIELDS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
)


class AdapterError(SummevalError):
    """An adapter folder is missing, malformed, or does not fit the base model."""


def base_config_summary(config: Any) -> dict[str, Any]:
    """The shape-deciding fields of a transformers config."""
    return {name: getattr(config, name, None) for name in _SHAPE_FIELDS}


def read_adapter_metadata(adapter: str | Path) -> dict[str, Any]:
    """``summeval.json`` of an adapter folder, or what ``adapter_config.json`` tells for others
    (``base_config`` None: ``check_base_matches`` then compares the weights' shapes with the base)."""
    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise AdapterError(
            f"adapter: {folder} is not a PEFT adapter folder (no adapter_config.json); "
            "pass the folder that `summeval finetune --output` wrote"
        )
    ours = folder / METADATA_FILE
    if ours.is_file():
        meta = _json_object(ours, "re-save the adapter with summeval finetune, or remove summeval.json")
        return meta
    peft_config = read_peft_config(folder)
    return {"base_model": peft_config.get("base_model_name_or_path"), "base_config": None}


def _json_object(path: Path, fix: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as err:
        raise AdapterError(f"adapter: cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise AdapterError(f"adapter: {path} is not UTF-8 (byte {err.start}); {fix}") from err
    except json.JSONDecodeError as err:
        raise AdapterError(f"adapter: {path} is not valid JSON ({err}); {fix}") from err
    if not isinstance(data, dict):
        raise AdapterError(f"adapter: {path} holds a JSON {type(data).__name__}; expected an object; {fix}")
    return data


def read_peft_config(folder: Path) -> dict[str, Any]:
    """``adapter_config.json`` of ``folder``, checked: an object whose LoRA rank ``r`` is in range."""
    from summeval_tasks.util.bounds import LORA_RANK

    config_path = folder / "adapter_config.json"
    config = _json_object(config_path, "re-save the adapter")
    rank = config.get("r")
    if rank is not None and not LORA_RANK.accepts(rank):
        raise AdapterError(f"adapter: {config_path}: r is {rank!r}; a LoRA rank must be {LORA_RANK.right}")
    return config


def adapter_rank(adapter: Path) -> int:
    """The LoRA rank ``r`` of an adapter folder (vLLM's ``max_lora_rank`` must be at least this)."""
    path = adapter / "adapter_config.json"
    try:
        rank = json.loads(path.read_text(encoding="utf-8"))["r"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise AdapterError(f"adapter: {path} gives no LoRA rank r ({type(err).__name__}: {err})") from err
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise AdapterError(f"adapter: {path}: r = {rank!r} is not a LoRA rank (a positive integer)")
    return rank


def adapter_weights(folder: Path) -> dict[str, list[int]]:
    """The shapes of the tensors in ``adapter_model.safetensors`` (read from its header, no weights).

    A pickle-only ``adapter_model.bin`` is refused unless ``SUMMEVAL_ALLOW_PICKLE_ADAPTER=1`` (then: no
    shapes to compare, ``{}``); a truncated or malformed file is an error naming it."""
    from summeval_tasks.util.settings import env_flag

    path = folder / WEIGHTS_FILE
    if not path.is_file():
        if (folder / "adapter_model.bin").is_file():
            if env_flag(ALLOW_PICKLE_ENV):
                return {}
            raise AdapterError(
                f"adapter: {folder} holds only adapter_model.bin, a pickle (loading it can run code); "
                f"re-save it as safetensors, or set {ALLOW_PICKLE_ENV}=1 if you trust its source"
            )
        raise AdapterError(f"adapter: {folder} has no {WEIGHTS_FILE}")
    return safetensors_shapes(path)


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """``{tensor name: shape}`` of a safetensors file, its header checked against the file's size."""
    import struct

    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(8)
        if len(head) < 8:
            raise AdapterError(f"adapter: {path} is truncated ({size} bytes: not even a safetensors header)")
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, _HEADER_LIMIT):
            raise AdapterError(
                f"adapter: {path} is truncated or not safetensors (its header claims {length:,} bytes; "
                f"the file has {size:,})"
            )
        raw = stream.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AdapterError(f"adapter: {path} is not a safetensors file (its header is not JSON)") from err
    if not isinstance(header, dict):
        raise AdapterError(f"adapter: {path} is not a safetensors file (its header is not an object)")
    data_size = size - 8 - length
    shapes: dict[str, list[int]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and isinstance(shape, list)):
            raise AdapterError(f"adapter: {path}: tensor {name!r} has no shape and data offsets")
        if offsets[1] > data_size:
            raise AdapterError(
                f"adapter: {path} is truncated: tensor {name!r} ends at byte {offsets[1]:,} of the data, "
                f"which has {data_size:,}; copy the adapter again"
            )
        shapes[name] = shape
    return shapes


def base_model_config(base: str, revision: str | None = None, what: str = "base model"):
    """The transformers config of ``base`` (a folder or a hub name), or a one-line error naming it.

    A hub name with the Hub out of reach fails at once instead of retrying for a minute."""
    from summeval_tasks.util.hub import hub_offline, hub_unreachable_reason

    local = Path(base).expanduser()
    if local.exists() and not local.is_dir():
        from summeval_tasks.util.source_files import path_kind

        raise AdapterError(
            f"{what} {base} is {path_kind(local)}, not a model folder (one holding config.json) or a hub "
            "name like org/model"
        )
    if not local.exists():
        looks_like_path = base.startswith((".", "/", "~")) or base.count("/") != 1
        if looks_like_path:
            raise AdapterError(f"{what} {base}: no such folder (and not a hub name like org/model)")
        reason = "HF_HUB_OFFLINE is set" if hub_offline() else hub_unreachable_reason()
        if reason:
            raise AdapterError(
                f"{what} {base} is not a local folder and the Hugging Face Hub is out of reach ({reason}); "
                "pass a local folder (--base PATH)"
            )
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(local) if local.exists() else base, revision=revision)
    except Exception as err:
        raise AdapterError(
            f"{what} {base}: {type(err).__name__}: {' '.join(str(err).split())[:200]}"
        ) from err


def _same_reference(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def _allowed() -> bool:
    from summeval_tasks.util.settings import env_flag

    return env_flag(ALLOW_MISMATCH_ENV)


def check_base_matches(adapter: str | Path, pretrained: str, revision: str | None = None) -> None:
    """Refuse an adapter that does not fit ``pretrained``, before any weights load.

    Its weights file is checked first (safetensors, complete; a pickle only when opted in). Then:
    - Same base name or same local folder as recorded: fine.
    - ``summeval.json`` records the base's shape: a different architecture (model type or any layer
      shape) is an ``AdapterError``.
    - Otherwise (an adapter PEFT saved): every tensor of the adapter is matched against the module of
      ``pretrained`` it adapts, built on the meta device (no weights); a missing module or a shape that
      does not fit is an ``AdapterError``, as is a target module ``pretrained`` does not have.
    ``SUMMEVAL_ALLOW_BASE_MISMATCH=1`` turns a misfit into a warning. A different name whose shapes fit
    (a local copy, another fine-tune of the same base) is a warning naming both and what was compared.
    """
    folder = Path(adapter).expanduser()
    meta = read_adapter_metadata(folder)
    shapes = adapter_weights(folder)
    recorded = meta.get("base_model")
    if _same_reference(recorded, pretrained):
        return
    recorded_shape = meta.get("base_config")
    config = base_model_config(pretrained, revision, "pretrained=")
    if recorded_shape:
        actual_shape = base_config_summary(config)
        differing = [
            f"{k} {recorded_shape.get(k)} vs {actual_shape.get(k)}"
            for k in _SHAPE_FIELDS
            if recorded_shape.get(k) != actual_shape.get(k)
        ]
        compared = "their architectures match"
    else:
        differing = _misfits(read_peft_config(folder), shapes, config)
        compared = f"the shapes of its {len(shapes)} tensors fit" if shapes else "its target modules exist"
    if differing:
        message = (
            f"adapter {adapter} was trained on {recorded}, which does not fit pretrained={pretrained} "
            f"({'; '.join(differing[:3])}). Use pretrained={recorded}, or set {ALLOW_MISMATCH_ENV}=1 "
            "to load it anyway."
        )
        if not _allowed():
            raise AdapterError(message)
        print(f"summeval: warning: {message}", file=sys.stderr)
        return
    print(
        f"summeval: warning: adapter {adapter} records base {recorded}, but pretrained={pretrained}; "
        f"{compared}, so loading goes on",
        file=sys.stderr,
    )


def _misfits(peft_config: dict[str, Any], shapes: dict[str, list[int]], config: Any) -> list[str]:
    """How an adapter PEFT saved does not fit the base of ``config`` (built on the meta device)."""
    skeleton = _meta_model(config)
    modules = dict(skeleton.named_modules())
    leaves = {name.rsplit(".", 1)[-1] for name in modules if name}
    misfits = []
    targets = peft_config.get("target_modules")
    if isinstance(targets, list):
        missing = sorted(t for t in targets if isinstance(t, str) and t not in leaves)
        if missing:
            misfits.append(f"target modules {', '.join(missing)} are not modules of it")
    for name, shape in shapes.items():
        part = next((p for p in (".lora_A.", ".lora_B.") if p in name), None)
        if part is None:
            continue
        path = name.split(part)[0].removeprefix("base_model.model.")
        module = modules.get(path)
        if module is None:
            if f"it has no module {path}" not in misfits:
                misfits.append(f"it has no module {path}")
            continue
        expected = (
            getattr(module, "in_features", None)
            if part == ".lora_A."
            else getattr(module, "out_features", None)
        )
        got = shape[-1] if part == ".lora_A." else shape[0]
        if expected is not None and got != expected:
            side = "in" if part == ".lora_A." else "out"
            misfits.append(f"{path} has {expected} {side} features, the adapter's {name} {shape}")
    return misfits


def _meta_model(config: Any):
    """The model of ``config`` on the meta device (no memory for weights): causal, else seq2seq."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    with init_empty_weights():
        try:
            return AutoModelForCausalLM.from_config(config)
        except ValueError:
            return AutoModelForSeq2SeqLM.from_config(config)


def merge_adapter(adapter: str | Path, out: str | Path, base: str | None = None) -> Path:
    """Merge an adapter into its base and save a plain model folder (safetensors) at ``out``.

    The base is the one recorded in ``summeval.json`` unless ``base`` is given (checked as for
    lm-eval). The folder is written under a temporary name and renamed when complete.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from summeval_tasks.util.files import folder_written_atomically

    adapter = Path(adapter).expanduser()
    out = Path(out).expanduser().resolve()
    meta = read_adapter_metadata(adapter)
    base = base or meta.get("base_model")
    if not base:
        raise AdapterError(f"adapter: {adapter} records no base model; pass --base")
    if out.exists():
        raise AdapterError(f"merge: {out} already exists; choose another --out or remove it")
    base_model_config(base, meta.get("base_revision"), "merge: base model")  # fails fast, before weights
    check_base_matches(adapter, base, meta.get("base_revision"))
    model = AutoModelForCausalLM.from_pretrained(
        base, revision=meta.get("base_revision"), dtype=torch.float32
    )
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tokenizer_source = adapter if (adapter / "tokenizer_config.json").is_file() else base
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    with folder_written_atomically(out) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / "summeval_merged.json").write_text(
            json.dumps({"adapter": str(adapter), "base_model": base, **meta}, indent=2), encoding="utf-8"
        )
    return out
