"""``summeval finetune``: (Q)LoRA on the TweetSumm train split in the instruction format.

Layout while training: ``OUTPUT.work/`` holds the Trainer checkpoints and ``train_log.jsonl``.
When training ends, the adapter is written to a temporary folder beside ``OUTPUT`` and renamed to
``OUTPUT`` (so a folder named ``OUTPUT`` is always complete), then the work folder is removed.
``--resume`` continues from the last complete checkpoint in ``OUTPUT.work``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from summeval.adapter_io import METADATA_FILE, base_config_summary
from summeval.recipe import Recipe
from summeval_tasks.atomic import folder_written_atomically
from summeval_tasks.errors import SummevalError
from summeval_tasks.prompts import instruction_prompt

LOG_FILE = "train_log.jsonl"
_KEEP_HEAD_TOKENS = 32  # when a text is too long, keep the instruction header and cut the middle


class FinetuneError(SummevalError):
    """The run cannot start or continue; the message says what to do."""


# ----------------------------------------------------------------------------- data


def encode_example(tokenizer, doc: Mapping, max_length: int, loss_on: str) -> dict[str, Any]:
    """Token ids and labels for one doc: prompt, summary, EOS.

    With ``loss_on="summary"`` the prompt tokens get label -100 (no loss). Texts longer than
    ``max_length`` lose tokens from the middle of the prompt; the summary is always kept whole.
    """
    prompt_ids = tokenizer(instruction_prompt(doc["conversation"]), add_special_tokens=True)["input_ids"]
    summary_ids = tokenizer(doc["summary"], add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        summary_ids = [*summary_ids, tokenizer.eos_token_id]
    budget = max_length - len(summary_ids)
    if budget < _KEEP_HEAD_TOKENS + 8:
        raise FinetuneError(
            f"finetune: the summary of dialog {doc['id']} takes {len(summary_ids)} tokens, "
            f"too many for training.max_length={max_length}"
        )
    if len(prompt_ids) > budget:
        tail = budget - _KEEP_HEAD_TOKENS
        prompt_ids = prompt_ids[:_KEEP_HEAD_TOKENS] + prompt_ids[-tail:]
    input_ids = prompt_ids + summary_ids
    labels = ([-100] * len(prompt_ids) if loss_on == "summary" else list(prompt_ids)) + summary_ids
    return {"input_ids": input_ids, "labels": labels, "length": len(input_ids)}


class PadToLongest:
    """Collate variable-length examples, padding only to the longest in the batch."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(ex["input_ids"]) for ex in batch)
        input_ids, labels, attention = [], [], []
        for ex in batch:
            pad = width - len(ex["input_ids"])
            input_ids.append(list(ex["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(ex["labels"]) + [-100] * pad)
            attention.append([1] * len(ex["input_ids"]) + [0] * pad)
        return {
            "input_ids": torch.tensor(input_ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(attention),
        }


def encode_split(tokenizer, docs: Sequence[Mapping], recipe: Recipe):
    import datasets

    rows = [encode_example(tokenizer, d, recipe.training.max_length, recipe.training.loss_on) for d in docs]
    return datasets.Dataset.from_list(rows)


def data_fingerprint(dialogs: Mapping[str, Sequence]) -> str:
    """sha256 of the parsed docs: the same data gives the same hash whatever its file format."""
    import hashlib

    digest = hashlib.sha256()
    for split in sorted(dialogs):
        for dialog in dialogs[split]:
            digest.update(json.dumps([split, dialog.to_doc()], sort_keys=True).encode())
    return digest.hexdigest()


# ----------------------------------------------------------------------------- the loss


def causal_lm_loss(model, batch: Mapping[str, Any]):
    """Mean next-token cross-entropy over the labelled tokens.

    The output head runs only at positions that carry a label: with the summary-only loss most
    positions are prompt, and a 50k-word head over every position (plus its logits in memory) is a
    large share of a small model's cost. Models whose head does more than a linear map (logit
    soft-capping or scaling) take the plain ``model(**batch).loss`` path.
    """
    import torch.nn.functional as F

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config
    if getattr(config, "final_logit_softcapping", None) or hasattr(config, "logit_scale"):
        return model(**batch).loss
    hidden = base.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    labelled = labels != -100
    logits = base.get_output_embeddings()(hidden[:, :-1][labelled])
    return F.cross_entropy(logits.float(), labels[labelled])


def _loss_trainer_class():
    from transformers import Trainer

    class LabelledHeadTrainer(Trainer):
        """A Trainer whose loss is :func:`causal_lm_loss`."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = causal_lm_loss(model, inputs)
            return (loss, {"loss": loss}) if return_outputs else loss

    return LabelledHeadTrainer


# ----------------------------------------------------------------------------- model


def quantization_available() -> tuple[bool, str]:
    """Whether 4-bit loading can work here, and if not, why."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        return False, "no CUDA device"
    if importlib.util.find_spec("bitsandbytes") is None:
        return False, "bitsandbytes is not installed (pip install 'summeval[cuda]')"
    return True, ""


def compute_dtype(recipe: Recipe):
    import torch

    choice = recipe.quantization.compute_dtype
    if choice != "auto":
        return getattr(torch, choice)
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def unquantized_bytes(config, dtype) -> int:
    """Bytes of the base's weights in ``dtype``, counted on the meta device (no memory used)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    element = torch.empty((), dtype=dtype).element_size()
    return sum(p.numel() for p in model.parameters()) * element


def load_base(recipe: Recipe, use_4bit: bool):
    """Load tokenizer and base model (4-bit NF4 when ``use_4bit``) ready for LoRA."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = compute_dtype(recipe)
    kwargs: dict[str, Any] = {"revision": recipe.base_revision, "dtype": dtype}
    if use_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=recipe.quantization.quant_type,
            bnb_4bit_use_double_quant=recipe.quantization.double_quant,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    elif torch.cuda.is_available():
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    tokenizer = AutoTokenizer.from_pretrained(recipe.base_model, revision=recipe.base_revision)
    model = AutoModelForCausalLM.from_pretrained(recipe.base_model, **kwargs)
    return tokenizer, model, dtype


RUN_FILE = "summeval_run.json"


def check_scheduler(recipe: Recipe) -> None:
    """The recipe's ``training.lr_scheduler`` is one the HF Trainer knows."""
    from transformers.trainer_utils import SchedulerType

    names = [s.value for s in SchedulerType]
    if recipe.training.lr_scheduler not in names:
        raise FinetuneError(
            f"recipe {recipe.name}: training.lr_scheduler {recipe.training.lr_scheduler!r} is unknown; "
            f"choose one of {', '.join(names)}"
        )


def check_target_modules(recipe: Recipe) -> None:
    """Every ``lora.target_modules`` name is a module of the base (built on the meta device: no weights)."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM

    from summeval.adapter_io import base_model_config

    config = base_model_config(
        recipe.base_model, recipe.base_revision, "finetune: base model (base_model / --base)"
    )
    with init_empty_weights():
        skeleton = AutoModelForCausalLM.from_config(config)
    leaves = {name.rsplit(".", 1)[-1] for name, _ in skeleton.named_modules() if name}
    missing = [m for m in recipe.lora.target_modules if m not in leaves]
    if missing:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, m in skeleton.named_modules() if type(m).__name__ == "Linear"}
        )
        raise FinetuneError(
            f"recipe {recipe.name}: lora.target_modules {', '.join(missing)} match no module of "
            f"{recipe.base_model}; its linear layers are {', '.join(linear)}"
        )


def check_same_run(work_dir: Path, run: Mapping[str, Any]) -> None:
    """``--resume`` continues the interrupted run only with the same recipe, data and steps."""
    recorded_path = work_dir / RUN_FILE
    if not recorded_path.is_file():
        return  # a run from before this record existed: nothing to compare
    recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
    differences = _differences(recorded, json.loads(json.dumps(run)))
    if differences:
        raise FinetuneError(
            f"finetune: --resume would continue {work_dir} with other settings "
            f"({'; '.join(differences[:4])}); "
            "rerun with the interrupted run's settings, or remove that folder to start over"
        )


def _differences(before: Any, now: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(now)):
            out += _differences(before.get(key), now.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if before == now else [f"{where} was {before!r}, now {now!r}"]


def lora_config(recipe: Recipe):
    """The PEFT ``LoraConfig`` of a recipe."""
    from peft import LoraConfig

    return LoraConfig(
        r=recipe.lora.r,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        bias=recipe.lora.bias,
        target_modules=list(recipe.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def attach_lora(model, recipe: Recipe, quantized: bool):
    from peft import get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.training.gradient_checkpointing
        )
    elif recipe.training.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need inputs that require grad
    return get_peft_model(model, lora_config(recipe))


def stablelm_3b_4e1t_config():
    """The stablelm-3b-4e1t architecture (its published config.json), built with no download.

    For parameter counts on the meta device and for GPU benchmarks at random initialisation.
    """
    from transformers import StableLmConfig

    return StableLmConfig(
        vocab_size=50304,
        hidden_size=2560,
        intermediate_size=6912,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        partial_rotary_factor=0.25,
        use_qkv_bias=False,
        tie_word_embeddings=False,
    )


def trainable_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------- checkpoints and logs


def last_complete_checkpoint(work_dir: Path) -> Path | None:
    """The newest ``checkpoint-N`` whose ``trainer_state.json`` was written (the Trainer writes it last)."""
    complete = [
        p for p in work_dir.glob("checkpoint-*") if p.is_dir() and (p / "trainer_state.json").is_file()
    ]
    return max(complete, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)


def _trainer_callbacks(log_path: Path):
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class ProgressWithLoss(TrainerCallback):
        """One progress bar over optimiser steps, showing the latest loss."""

        bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="finetune", unit="step")

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.bar is not None and logs:
                shown = {k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "eval_loss")}
                if shown:
                    self.bar.set_postfix(shown)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()

    class JsonLinesLog(TrainerCallback):
        """Append every log (loss per step, eval loss per epoch) to ``train_log.jsonl``."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs:
                return
            record = {"step": state.global_step, "epoch": state.epoch, "time": time.time(), **logs}
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    return [ProgressWithLoss(), JsonLinesLog()]


def _deduplicated_log(log_path: Path) -> list[dict[str, Any]]:
    """The log without the steps that a resumed run repeated (the later record wins)."""
    if not log_path.is_file():
        return []
    records: dict[tuple, dict[str, Any]] = {}
    for line in log_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            kind = "eval" if "eval_loss" in record else ("train" if "loss" in record else "summary")
            records[(record["step"], kind)] = record
    return sorted(records.values(), key=lambda r: (r["step"], "eval_loss" in r))


# ----------------------------------------------------------------------------- the run


def finetune(
    recipe: Recipe,
    output: str | Path,
    *,
    max_steps: int | None = None,
    resume: bool = False,
    keep_checkpoints: bool = False,
) -> Path:
    """Train the adapter the recipe describes and save it to ``output``; return that path."""
    import torch
    from transformers import TrainingArguments, set_seed

    from summeval_tasks.tweetsumm import load_dialogs

    if max_steps is not None and max_steps < 1:
        raise FinetuneError(f"finetune: --max-steps {max_steps} is out of range; it must be at least 1")
    output = Path(output).expanduser().resolve()
    work_dir = output.with_name(output.name + ".work")
    if output.exists():
        raise FinetuneError(f"finetune: {output} already exists; choose another --output or remove it")
    checkpoint = last_complete_checkpoint(work_dir) if work_dir.is_dir() else None
    if resume and checkpoint is None:
        raise FinetuneError(f"finetune: nothing to resume: no complete checkpoint in {work_dir}")
    if not resume and work_dir.exists():
        raise FinetuneError(
            f"finetune: {work_dir} holds an interrupted run; pass --resume to continue it, "
            "or remove that folder to start over"
        )

    # Everything that can be wrong is checked before any weights load.
    check_scheduler(recipe)
    dialogs = load_dialogs(recipe.data)
    run = {"recipe": recipe.to_dict(), "data_sha256": data_fingerprint(dialogs), "max_steps": max_steps}
    if resume:
        check_same_run(work_dir, run)
    check_target_modules(recipe)

    can_quantize, why_not = quantization_available()
    use_4bit = recipe.quantization.load_in_4bit and can_quantize
    if recipe.quantization.load_in_4bit and not use_4bit:
        print(
            f"summeval: 4-bit loading unavailable ({why_not}): training a plain LoRA in full precision",
            flush=True,
        )

    set_seed(recipe.training.seed)
    tokenizer, model, dtype = load_base(recipe, use_4bit)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    footprint_loaded = int(model.get_memory_footprint())
    footprint_unquantized = unquantized_bytes(model.config, dtype)
    model = attach_lora(model, recipe, quantized=use_4bit)

    train = encode_split(tokenizer, [d.to_doc() for d in dialogs["train"]], recipe)
    validation = encode_split(tokenizer, [d.to_doc() for d in dialogs["validation"]], recipe)

    work_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        (work_dir / RUN_FILE).write_text(json.dumps(run, indent=2, sort_keys=True), encoding="utf-8")
    log_path = work_dir / LOG_FILE
    on_gpu = torch.cuda.is_available()
    t = recipe.training
    args = TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=t.epochs,
        max_steps=max_steps if max_steps else -1,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        eval_strategy="epoch" if t.eval_each_epoch else "no",
        save_strategy="steps" if t.save_steps else ("epoch" if t.save_each_epoch else "no"),
        save_steps=t.save_steps or 500,
        logging_strategy="steps",
        logging_steps=1,
        report_to=[],
        bf16=on_gpu and dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        gradient_checkpointing=t.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if t.gradient_checkpointing else None,
        train_sampling_strategy="group_by_length" if t.batching == "length_grouped" else "random",
        length_column_name="length",
        remove_unused_columns=False,
        prediction_loss_only=True,
        disable_tqdm=True,
        seed=t.seed,
        use_cpu=not on_gpu,
    )
    trainer = _loss_trainer_class()(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=validation if t.eval_each_epoch else None,
        data_collator=PadToLongest(tokenizer.pad_token_id),
        callbacks=_trainer_callbacks(log_path),
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our bar shows the loss; the log file keeps it all
    started = time.time()
    try:
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException:
        if last_complete_checkpoint(work_dir) is None:  # nothing to resume: leave nothing that blocks a rerun
            shutil.rmtree(work_dir, ignore_errors=True)
        raise
    evaluated_last_step = any(
        "eval_loss" in r and r.get("step") == trainer.state.global_step for r in trainer.state.log_history
    )
    if t.eval_each_epoch and not evaluated_last_step:  # a --max-steps run may stop mid-epoch
        trainer.evaluate()

    metadata = {
        "base_model": recipe.base_model,
        "base_revision": recipe.base_revision or _commit_hash(model),
        "base_config": base_config_summary(model.get_base_model().config),
        "recipe": recipe.to_dict(),
        "data": {"source": recipe.data, "sha256": data_fingerprint(dialogs), "train_dialogs": len(train)},
        "trainable_parameters": trainable_parameters(model),
        "quantized_4bit": use_4bit,
        "memory_footprint_bytes": {"unquantized": footprint_unquantized, "loaded": footprint_loaded},
        "train": {
            "global_step": trainer.state.global_step,
            "train_seconds_this_run": round(time.time() - started, 2),
            "train_samples_per_second": result.metrics.get("train_samples_per_second"),
            "resumed_from": checkpoint.name if checkpoint else None,
            "max_steps": max_steps,
        },
    }
    with folder_written_atomically(output) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        log = _deduplicated_log(log_path)
        (staging / LOG_FILE).write_text("".join(json.dumps(r) + "\n" for r in log), encoding="utf-8")
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    if not keep_checkpoints:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"summeval: adapter saved to {output}", file=sys.stderr)
    return output


def _commit_hash(model) -> str | None:
    return getattr(model.get_base_model().config, "_commit_hash", None)
