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

from summeval_tasks.errors import SummevalError

METADATA_FILE = "summeval.json"
ALLOW_MISMATCH_ENV = "SUMMEVAL_ALLOW_BASE_MISMATCH"
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
    """``summeval.json`` of an adapter folder, or what ``adapter_config.json`` tells for others."""
    folder = Path(adapter).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise AdapterError(
            f"adapter: {folder} is not a PEFT adapter folder (no adapter_config.json); "
            "pass the folder that `summeval finetune --output` wrote"
        )
    ours = folder / METADATA_FILE
    if ours.is_file():
        try:
            return json.loads(ours.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise AdapterError(f"adapter: {ours} is not valid JSON: {err}") from err
    config_path = folder / "adapter_config.json"
    try:
        peft_config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AdapterError(
            f"adapter: {config_path} is not a readable JSON file ({err}); re-save the adapter"
        ) from err
    if not isinstance(peft_config, dict):
        raise AdapterError(
            f"adapter: {config_path} holds a JSON {type(peft_config).__name__}; expected an object"
        )
    return {"base_model": peft_config.get("base_model_name_or_path"), "base_config": None}


def base_model_config(base: str, revision: str | None = None, what: str = "base model"):
    """The transformers config of ``base`` (a folder or a hub name), or a one-line error naming it.

    A hub name with the Hub out of reach fails at once instead of retrying for a minute."""
    from summeval_tasks.hub import hub_offline, hub_unreachable_reason

    local = Path(base).expanduser()
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
    from summeval_tasks.settings import env_flag

    return env_flag(ALLOW_MISMATCH_ENV)


def check_base_matches(adapter: str | Path, pretrained: str, revision: str | None = None) -> None:
    """Refuse an adapter whose recorded base does not fit ``pretrained``.

    - Same name or same local folder: fine.
    - Different architecture (model type or any layer shape differs): ``AdapterError``, unless
      ``SUMMEVAL_ALLOW_BASE_MISMATCH=1``, which turns it into a warning.
    - Different name, same architecture (a local copy, or another fine-tune of the same base): a
      warning that names both.
    """
    meta = read_adapter_metadata(adapter)
    recorded = meta.get("base_model")
    if _same_reference(recorded, pretrained):
        return
    recorded_shape = meta.get("base_config")
    if recorded_shape:
        actual_shape = base_config_summary(base_model_config(pretrained, revision, "pretrained="))
        differing = {
            k: (recorded_shape.get(k), actual_shape.get(k))
            for k in _SHAPE_FIELDS
            if recorded_shape.get(k) != actual_shape.get(k)
        }
        if differing:
            detail = ", ".join(f"{k} {r} vs {a}" for k, (r, a) in differing.items())
            message = (
                f"adapter {adapter} was trained on {recorded}, which does not fit pretrained={pretrained} "
                f"({detail}). Use pretrained={recorded}, or set {ALLOW_MISMATCH_ENV}=1 to load it anyway."
            )
            if not _allowed():
                raise AdapterError(message)
            print(f"summeval: warning: {message}", file=sys.stderr)
            return
    print(
        f"summeval: warning: adapter {adapter} records base {recorded}, but pretrained={pretrained}; "
        "their architectures match, so loading goes on",
        file=sys.stderr,
    )


def merge_adapter(adapter: str | Path, out: str | Path, base: str | None = None) -> Path:
    """Merge an adapter into its base and save a plain model folder (safetensors) at ``out``.

    The base is the one recorded in ``summeval.json`` unless ``base`` is given (checked as for
    lm-eval). The folder is written under a temporary name and renamed when complete.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from summeval_tasks.atomic import folder_written_atomically

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
