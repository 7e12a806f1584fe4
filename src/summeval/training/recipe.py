"""Fine-tuning recipes: one dataclass per concern, read from a small YAML, saved with the adapter.

A recipe file (``adapters/tweetsumm-r16.yaml``) holds any subset of the fields below; the rest keep
their defaults. Any field can be overridden from the command line with ``--set SECTION.FIELD=VALUE``
(``--set lora.r=8``, ``--set training.learning_rate=2e-4``); values are parsed as YAML scalars and
checked against the field's type.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from summeval_tasks.util import bounds
from summeval_tasks.util.errors import SummevalError

DEFAULT_FAMILY = "tweetsumm"


class RecipeError(SummevalError):
    """A recipe file or override is invalid; the message names the field and what is allowed."""


@dataclass
class LoraSettings:
    """The LoRA adapter."""

    r: int = 16
    """Rank of the update matrices."""
    alpha: int = 8
    """Scaling numerator: the update is scaled by alpha / r."""
    dropout: float = 0.0
    """Dropout on the LoRA input."""
    bias: str = "none"
    """Which biases to train: none, all or lora_only."""
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    """Names of the linear layers that get an adapter."""


@dataclass
class QuantizationSettings:
    """How the frozen base is loaded (4-bit needs CUDA and bitsandbytes)."""

    load_in_4bit: bool = True
    """Load the base in 4 bits (QLoRA). Without CUDA or bitsandbytes, training falls back to a plain
    LoRA in full precision and says so."""
    quant_type: str = "nf4"
    """4-bit data type: nf4 or fp4."""
    double_quant: bool = True
    """Quantize the quantization constants too (saves about 0.4 bit per parameter)."""
    compute_dtype: str = "auto"
    """Dtype of the matmuls: auto (bf16 where the GPU supports it, else fp16), bfloat16, float16."""


@dataclass
class TrainingSettings:
    """The optimisation."""

    epochs: float = 5.0
    learning_rate: float = 1e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.0
    batch_size: int = 8
    """Sequences per step (per device)."""
    gradient_accumulation: int = 1
    max_length: int = 4096
    """Longer training texts are truncated from the left of the conversation, keeping the summary."""
    loss_on: str = "summary"
    """summary: loss on the target (TweetSumm's summary) tokens only; full: on the whole text, as the
    study did."""
    batching: str = "length_grouped"
    """length_grouped: batches of similar length (little padding); random: plain shuffling."""
    gradient_checkpointing: bool = True
    eval_each_epoch: bool = True
    save_each_epoch: bool = True
    save_steps: int = 0
    """Also checkpoint every N optimiser steps (0: only each epoch)."""
    seed: int = bounds.DEFAULT_SEED


@dataclass
class Recipe:
    """A fine-tuning recipe: the base model, the family and its data, and the three groups of settings."""

    name: str = "tweetsumm"
    base_model: str = "stabilityai/stablelm-3b-4e1t"
    base_revision: str | None = None
    family: str = DEFAULT_FAMILY
    """The task family whose training split is learned, in the family's training format."""
    data: str = "hub"
    """The family's data source, as its tasks take it (TweetSumm: hub, sample or a path)."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    quantization: QuantizationSettings = field(default_factory=QuantizationSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as saved with the adapter. ``family`` is left out when it is the default, so a
        recipe reads as it did before that field existed (trained adapters and study cells stay current)."""
        tree = dataclasses.asdict(self)
        if tree["family"] == DEFAULT_FAMILY:
            del tree["family"]
        return tree

    def validate(self) -> Recipe:
        """Check value ranges and choices; return self."""
        for where, value, allowed in (
            ("lora.r", self.lora.r, bounds.LORA_RANK),
            ("lora.alpha", self.lora.alpha, bounds.LORA_ALPHA),
            ("training.epochs", self.training.epochs, bounds.EPOCHS),
            ("training.learning_rate", self.training.learning_rate, bounds.LEARNING_RATE),
            ("training.batch_size", self.training.batch_size, bounds.BATCH),
            ("training.gradient_accumulation", self.training.gradient_accumulation, bounds.BATCH),
            ("training.max_length", self.training.max_length, bounds.MAX_LENGTH),
            ("training.save_steps", self.training.save_steps, bounds.SAVE_STEPS),
            ("training.seed", self.training.seed, bounds.SEED),
        ):
            if not allowed.accepts(value):
                raise RecipeError(f"recipe {self.name}: {where} must be {allowed.noun}, got {value!r}")
        bounds.check_name_length(self.name, "recipe: name", RecipeError)
        checks = [
            (0.0 <= self.lora.dropout < 1.0, "lora.dropout must be in [0, 1)"),
            (self.lora.bias in ("none", "all", "lora_only"), "lora.bias must be none, all or lora_only"),
            (bool(self.lora.target_modules), "lora.target_modules must name at least one module"),
            (self.quantization.quant_type in ("nf4", "fp4"), "quantization.quant_type must be nf4 or fp4"),
            (
                self.quantization.compute_dtype in ("auto", "bfloat16", "float16", "float32"),
                "quantization.compute_dtype must be auto, bfloat16, float16 or float32",
            ),
            (self.training.loss_on in ("summary", "full"), "training.loss_on must be summary or full"),
            (
                self.training.batching in ("length_grouped", "random"),
                "training.batching must be length_grouped or random",
            ),
            (0.0 <= self.training.warmup_ratio < 1.0, "training.warmup_ratio must be in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise RecipeError(f"recipe {self.name}: {message}")
        from prompt_strategies.registry import families

        known = families()
        if self.family not in known:
            raise RecipeError(
                f"recipe {self.name}: family {self.family!r} is unknown; known families: "
                f"{', '.join(sorted(known))}"
            )
        return self


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    kind = annotation if isinstance(annotation, type) else None
    text = kind.__name__ if kind else str(annotation).replace("typing.", "")
    if isinstance(value, str) and text in ("int", "float"):
        try:  # YAML 1.1 reads 2e-4 as a string
            value = float(value) if text == "float" else int(value)
        except ValueError:
            pass
    if value is None and "None" in text:
        return None
    if kind is bool or text == "bool":
        if isinstance(value, bool):
            return value
    elif kind is int or text == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float or text == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif "list[str]" in text:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    elif "str" in text:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise RecipeError(f"recipe: {where} must be {text}, got {value!r}")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise RecipeError(f"recipe: {where or 'the file'} must be a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RecipeError(
            f"recipe: unknown field(s) {', '.join(f'{where}{k}' for k in unknown)}; "
            f"{where.rstrip('.') or 'top-level'} fields are {', '.join(sorted(known))}"
        )
    kwargs = {}
    for name, value in data.items():
        annotation = hints[name]
        if dataclasses.is_dataclass(annotation):
            kwargs[name] = _build(annotation, value, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(value, annotation, f"{where}{name}")
    return cls(**kwargs)


def _set_override(tree: dict[str, Any], assignment: str) -> None:
    from summeval_tasks.util.yaml_files import load_yaml_text

    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"recipe: override {assignment!r} must look like section.field=value")
    parts = key.strip().split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise RecipeError(f"recipe: override {assignment!r}: {part} is not a section")
    node[parts[-1]] = (
        load_yaml_text(raw, RecipeError, f"recipe: override {key.strip()}") if raw.strip() else ""
    )


def load_recipe(path: str | Path | None = None, overrides: list[str] | None = None) -> Recipe:
    """Read a recipe YAML (or start from the defaults), apply ``--set`` overrides, validate."""
    from summeval_tasks.util.yaml_files import load_yaml_file

    tree: dict[str, Any] = {}
    if path is not None:
        from summeval_tasks.util.source_files import path_kind

        path = Path(path)
        kind = path_kind(path)
        if kind == "missing":
            raise RecipeError(f"recipe: cannot read {path}: it does not exist")
        if kind != "a file":
            raise RecipeError(f"recipe: cannot read {path}: it is {kind}; give a recipe YAML file")
        tree = load_yaml_file(path, RecipeError, "recipe") or {}
        if not isinstance(tree, dict):
            raise RecipeError(f"recipe: {path} must hold a mapping of fields")
        tree.setdefault("name", path.stem)
    for assignment in overrides or []:
        _set_override(tree, assignment)
    return _build(Recipe, tree, "").validate()
