"""``summeval finetune``: (Q)LoRA on a family's training split in its training format (the family
contract's ``training_example``; TweetSumm's is the instruction format that ``tweetsumm_instruct`` evaluates).

Layout while training: ``OUTPUT.work/`` holds the Trainer checkpoints and ``train_log.jsonl``.
When training ends, the adapter is written to a temporary folder beside ``OUTPUT`` and renamed to
``OUTPUT`` (so a folder named ``OUTPUT`` is always complete), then the work folder is removed.
``--resume`` continues from the last complete checkpoint in ``OUTPUT.work``.

On several GPUs, ``torchrun --nproc_per_node N -m summeval.cli finetune ...`` (or ``accelerate launch``)
trains with data parallelism through the HF Trainer: one process per GPU, each ``training.batch_size``
items a step; the main process alone holds the lock, writes the run record, the checkpoints (the
Trainer's rule) and the adapter.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from summeval.training.adapters import METADATA_FILE, base_config_summary
from summeval.training.checks import (
    RUN_FILE,
    FinetuneError,
    check_same_run,
    check_scheduler,
    check_target_modules,
    check_training_data,
    quantization_available,
)
from summeval.training.encoding import PadToLongest, data_fingerprint, encode_split, loss_trainer_class
from summeval.training.recipe import Recipe
from summeval_tasks.util.files import folder_written_atomically

LOG_FILE = "train_log.jsonl"


# ----------------------------------------------------------------------------- model


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
    """The newest ``checkpoint-N`` whose ``trainer_state.json`` is whole and says step N.

    The Trainer writes that file last, but not atomically: a run stopped while writing it leaves an
    empty or cut file, so the file is read, not merely found (a checkpoint is trusted by its content)."""
    complete = [p for p in work_dir.glob("checkpoint-*") if _checkpoint_step(p) is not None]
    return max(complete, key=_checkpoint_step, default=None)


def _checkpoint_step(folder: Path) -> int | None:
    """N for a real folder ``checkpoint-N`` whose trainer state parses and records step N, else None."""
    number = folder.name.removeprefix("checkpoint-")
    if folder.is_symlink() or not folder.is_dir() or not number.isdigit():
        return None
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    step = state.get("global_step") if isinstance(state, dict) else None
    return int(number) if step == int(number) else None


def _trainer_callbacks(log_path: Path):
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class ProgressWithLoss(TrainerCallback):
        """One progress bar over optimiser steps, showing the latest loss."""

        bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(
                total=state.max_steps,
                initial=state.global_step,
                desc="finetune",
                unit="step",
                disable=not state.is_world_process_zero,
            )

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
            if not logs or not state.is_world_process_zero:
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
    """Train the adapter the recipe describes and save it to ``output``; return that path.

    One process at a time trains ``output``: a second one is refused, naming the first one's pid (the
    lock ``OUTPUT.lock`` exists while training runs). SIGTERM stops the run cleanly (the last complete
    checkpoint is kept for ``resume``), and a disk that fills is one line (``DiskFull``)."""
    from summeval_tasks.util import bounds
    from summeval_tasks.util.files import exclusive_lock, terminate_cleanly

    if max_steps is not None:  # the same range as the command line's and a study's
        bounds.STEPS.check(max_steps, "finetune: --max-steps", FinetuneError)
    output = Path(output).expanduser().resolve()
    advice = "wait for it to finish, or choose another --output"
    rank, _ = launched_processes()
    lock = (
        exclusive_lock(adapter_lock(output), f"finetune: {output}", advice)
        if rank == 0  # under torchrun the main process holds it for all
        else contextlib.nullcontext()
    )
    with lock, terminate_cleanly("finetune"):
        return _train(recipe, output, max_steps=max_steps, resume=resume, keep_checkpoints=keep_checkpoints)


def launched_processes() -> tuple[int, int]:
    """This process's rank and the number of processes when launched by ``torchrun`` or ``accelerate
    launch`` (``RANK`` and ``WORLD_SIZE``), else ``(0, 1)``: one process per GPU trains with data
    parallelism through the HF Trainer; the main process (rank 0) alone writes the adapter."""
    import os

    def number(name: str, default: int) -> int:
        value = os.environ.get(name, "")
        return int(value) if value.isdigit() else default

    return number("RANK", 0), max(1, number("WORLD_SIZE", 1))


def adapter_lock(output: Path) -> Path:
    """The lock file held while ``output`` is being trained (beside it)."""
    return output.with_name(output.name + ".lock")


def work_folder(output: Path) -> Path:
    """Where the Trainer's checkpoints of ``output`` are kept while it trains (beside it)."""
    return output.with_name(output.name + ".work")


def planned_run(recipe: Recipe, max_steps: int | None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The family, its loaded docs (checked for training) and the run record (recipe, data hash, steps)
    that ``resume`` must match."""
    from prompt_strategies.registry import get_family

    family = get_family(recipe.family)
    docs = family.load({family.data_key: recipe.data})
    check_training_data(family, docs, recipe)
    run = {"recipe": recipe.to_dict(), "data_sha256": data_fingerprint(docs), "max_steps": max_steps}
    return family, docs, run


def _train(
    recipe: Recipe, output: Path, *, max_steps: int | None, resume: bool, keep_checkpoints: bool
) -> Path:
    import torch
    from accelerate import PartialState
    from transformers import TrainingArguments, set_seed

    from summeval_tasks.util.files import disk_full, ran_out_of_space

    # One process, or those torchrun started (joins their group: gloo on CPU, nccl on GPUs); the Trainer
    # uses the same state. Its barrier is a no-op in one process.
    processes = PartialState()
    work_dir = work_folder(output)
    for path in (output, work_dir):  # a planted link would send checkpoints or the adapter elsewhere
        if path.is_symlink():
            from summeval_tasks.util.files import link_message

            raise FinetuneError(f"finetune: {link_message(path)}")
    if output.exists():
        raise FinetuneError(f"finetune: {output} already exists; choose another --output or remove it")
    checkpoint = last_complete_checkpoint(work_dir) if work_dir.is_dir() else None
    if resume and checkpoint is None:
        raise FinetuneError(
            f"finetune: nothing to resume: no complete checkpoint in {work_dir}; run without --resume to "
            "start over"
        )
    if not resume and work_dir.exists():
        if checkpoint is not None:
            raise FinetuneError(
                f"finetune: {work_dir} holds an interrupted run; pass --resume to continue it, "
                "or remove that folder to start over"
            )
        # stopped before its first complete checkpoint: nothing in it can be resumed, so start over
        processes.wait_for_everyone()  # every process has looked at it before the main one removes it
        if processes.is_main_process:
            print(
                f"summeval: {work_dir} holds an interrupted run with no complete checkpoint; starting over",
                file=sys.stderr,
                flush=True,
            )
            shutil.rmtree(work_dir)

    # Everything that can be wrong is checked before any weights load.
    check_scheduler(recipe)
    family, docs, run = planned_run(recipe, max_steps)
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

    train_split, validation_split = family.training_splits
    train = encode_split(tokenizer, family, docs[train_split], recipe)
    validation = encode_split(tokenizer, family, docs[validation_split], recipe)

    processes.wait_for_everyone()
    if processes.is_main_process:
        work_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            (work_dir / RUN_FILE).write_text(json.dumps(run, indent=2, sort_keys=True), encoding="utf-8")
    processes.wait_for_everyone()
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
        ddp_find_unused_parameters=False,  # data parallel: every LoRA weight takes part in each step
    )
    trainer = loss_trainer_class()(
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
    except BaseException as err:
        full = ran_out_of_space(err, work_dir)  # asked before the cleanup below frees space again
        # nothing to resume: leave nothing that blocks a rerun
        if processes.is_main_process and last_complete_checkpoint(work_dir) is None:
            shutil.rmtree(work_dir, ignore_errors=True)
        if full:
            raise disk_full(err, work_dir) from err
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
        # "train_dialogs" keeps its name from before families: it counts the training split's items
        "data": {"source": recipe.data, "sha256": data_fingerprint(docs), "train_dialogs": len(train)},
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
    if processes.is_main_process:  # one adapter, written by the main process
        metadata["train"]["processes"] = processes.num_processes
        with folder_written_atomically(output) as staging:
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
            log = _deduplicated_log(log_path)
            (staging / LOG_FILE).write_text("".join(json.dumps(r) + "\n" for r in log), encoding="utf-8")
            (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        if not keep_checkpoints:
            shutil.rmtree(work_dir, ignore_errors=True)
        print(f"summeval: adapter saved to {output}", file=sys.stderr)
    processes.wait_for_everyone()
    return output


def _commit_hash(model) -> str | None:
    return getattr(model.get_base_model().config, "_commit_hash", None)
