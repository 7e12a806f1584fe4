"""The GPU measurement kit: the study's set-ups on their real architectures at random initialisation.

Four steps, each time-boxed (a budget in seconds; a sub-run that would start after its step's budget is
spent is recorded as skipped, with that reason), each through the project's own code paths:

1. finetune   ``summeval.training`` on the stablelm-3b-4e1t architecture with the TweetSumm sample
              dialogs: ``finetune()`` end to end with the r16 recipe, then r16/r32 x 4-bit NF4 QLoRA /
              unquantized LoRA x padded (``PadToLongest``) / padding-free (``DataCollatorWithFlattening``)
              x gradient checkpointing on/off, each timed over the same length-grouped batches with the
              project's loss (``causal_lm_loss``): samples/s, tokens/s, peak GPU memory, MFU; the real
              bytes of the 4-bit model. Against the study's 2.1 samples/s.
2. eval       ``tweetsumm_zero`` through ``lm_eval.simple_evaluate`` on lm-eval's ``hf`` model (built as
              ``lm_eval --model hf --model_args pretrained=...`` builds it) at batch size 1 and ``auto``:
              s/dialog and generated tokens/s. Against the study's 3.2 s/dialog.
3. self_consistency  ``<family>_self_consistency`` at K samples, summeval's shared prefix
              (``SUMMEVAL_SHARED_PREFIX=1``) against lm-eval's plain repeats (``=0``), same model and
              requests: the wall-time ratio shared/plain.
4. seq2seq    the flan-t5-large architecture (``backend=seq2seq``), sports answer-only and CoT: items/s.

``--tiny`` runs the same code on CPU with tiny configs (CI's dry run). Results: ``kit.json`` and
``kit.md`` under ``--out``, rewritten (write, then rename) after every row, so a run stopped at its
time limit keeps what it measured. Figures at random initialisation measure cost, not quality: the
models generate to their token limit.

Run it with ``bench/gpu/run.sh`` (which installs carried wheels on the GPU machine); docs/gpu.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STUDY_TRAIN_SAMPLES_PER_S = 2.1  # BRIEF: 879 dialogs x 5 epochs in 2,024 s (r16) / 2,151 s (r32)
STUDY_EVAL_S_PER_DIALOG = 3.2  # BRIEF: evaluation at batch size 1
# Dense bf16 peak by the vendor's datasheet (H100/H200 SXM); KINDS.md measured 788 TFLOP/s on an H200 here.
DATASHEET_BF16_FLOPS = {"H200": 989.4e12, "H100": 989.4e12}
STEPS = ("finetune", "eval", "self_consistency", "seq2seq")

# per mode: the budgets (seconds per step) and sizes
SETTINGS = {
    "gpu": {
        "budget": {"setup": 60, "finetune": 120, "eval": 60, "self_consistency": 45, "seq2seq": 35},
        "warmup_steps": 2,
        "timed_steps": 6,
        "batch_size": 8,
        "finetune_max_steps": 4,
        "eval_dialogs": {"1": 8, "auto": 64},
        "sc_samples": 10,
        "sc_limit": 4,
        "t5_limit": 15,
        "max_batch_size": 64,  # lm-eval's default: where batch_size auto starts its search
        "max_length": None,  # the model's own (4096 for stablelm-3b-4e1t)
        "max_gen_toks": None,  # the strategies' own: 64 for a summary, 32 for an answer, 128 for a CoT
    },
    "tiny": {
        # generous: --tiny is bounded by its sizes, and CI checks that every row ran
        "budget": {"setup": 150, "finetune": 150, "eval": 150, "self_consistency": 150, "seq2seq": 150},
        "warmup_steps": 1,
        "timed_steps": 2,
        "batch_size": 4,
        "finetune_max_steps": 1,
        "eval_dialogs": {"1": 2, "auto": 4},
        "sc_samples": 4,
        "sc_limit": 1,
        "t5_limit": 2,
        "max_batch_size": 4,  # on CPU, auto's search from 64 rows at 4096 positions runs out of memory
        "max_length": 256,  # prompts left-truncated to it; auto's search runs at it
        "max_gen_toks": 8,
    },
}


class Skip(Exception):
    """A row (or step) that cannot run here; the message is the recorded reason."""


# ----------------------------------------------------------------------------- results, written atomically


class Results:
    def __init__(self, out: Path, header: dict[str, Any]) -> None:
        self.out = out
        self.data: dict[str, Any] = {**header, "steps": {name: {"rows": []} for name in STEPS}}

    def add(self, step: str, row: dict[str, Any]) -> None:
        self.data["steps"][step]["rows"].append(row)
        self.write()
        figures = {k: v for k, v in row.items() if k not in ("name", "status")}
        print(f"kit: {step}: {row['name']}: {row['status']} {json.dumps(figures, default=str)}", flush=True)

    def set(self, step: str, **fields: Any) -> None:
        self.data["steps"][step].update(fields)
        self.write()

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.out / "kit.json", json.dumps(self.data, indent=2, default=str) + "\n")
        _write_atomically(self.out / "kit.md", markdown(self.data))


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(data: dict[str, Any]) -> str:
    lines = [
        f"# GPU kit ({data['mode']}): {data['device']}",
        "",
        f"Started {data['started']}; torch {data['versions'].get('torch')}, transformers "
        f"{data['versions'].get('transformers')}, peft {data['versions'].get('peft')}, lm-eval "
        f"{data['versions'].get('lm_eval')}, bitsandbytes {data['versions'].get('bitsandbytes')}. "
        "Random initialisation: the figures measure cost, not quality.",
    ]
    for step in STEPS:
        info = data["steps"][step]
        rows = info["rows"]
        lines += ["", f"## {step}", ""]
        if info.get("note"):
            lines += [info["note"], ""]
        if not rows:
            lines.append(f"(no rows: {info.get('status', 'not run')})")
            continue
        keys = ["name", "status"]
        for row in rows:
            keys += [k for k in row if k not in keys]
        lines.append("| " + " | ".join(keys) + " |")
        lines.append("|" + "---|" * len(keys))
        for row in rows:
            lines.append("| " + " | ".join(_fmt(row.get(k)).replace("|", "/") for k in keys) + " |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- device, tokenizer, models


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        import torch

        self.args = args
        self.tiny = args.tiny
        self.settings = SETTINGS["tiny" if args.tiny else "gpu"]
        self.cuda = torch.cuda.is_available() and not args.tiny
        self.device = "cuda" if self.cuda else "cpu"
        self.dtype = torch.bfloat16 if self.cuda else torch.float32
        self.dtype_name = "bfloat16" if self.cuda else "float32"
        self.work = Path(tempfile.mkdtemp(prefix="summeval-gpu-kit-"))
        self.deadline: float = 0.0
        self.cache: dict[str, Any] = {}
        self.tokenizer = None
        self.stablelm_dir: Path | None = None
        self.t5_dir: Path | None = None

    def device_name(self) -> str:
        import torch

        if self.cuda:
            return f"cuda: {torch.cuda.get_device_name(0)}"
        return f"cpu: {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"

    def peak_flops(self) -> float | None:
        if not self.cuda:
            return None
        name = self.device_name()
        return next((v for k, v in DATASHEET_BF16_FLOPS.items() if k in name), None)

    def start_budget(self, step: str) -> float:
        seconds = self.settings["budget"][step] * self.args.budget_scale
        self.deadline = time.monotonic() + seconds
        return seconds

    def check_budget(self, step: str) -> None:
        if time.monotonic() > self.deadline:
            raise Skip(f"skipped: the {step} step's budget of {self.settings['budget'][step]:.0f} s is spent")

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()


def find_tokenizer(explicit: str | None) -> tuple[Path, str]:
    """A tokenizer folder (no hub): ``--tokenizer``, the carried one, or the embedded SmolLM2's."""
    if explicit:
        return Path(explicit), "--tokenizer"
    carried = HERE / "wheels" / "tokenizer"
    if (carried / "tokenizer.json").is_file():
        return carried, "carried (SmolLM2-135M-Instruct's, bench/gpu/wheels/tokenizer)"
    from summeval.training.embedded_model import embedded_model_path

    return embedded_model_path(), "the embedded SmolLM2-135M-Instruct's"


def stablelm_config(ctx: Context, tokenizer):
    from summeval.training.finetune import stablelm_3b_4e1t_config

    config = stablelm_3b_4e1t_config()
    if ctx.tiny:
        config.hidden_size, config.intermediate_size = 64, 128
        config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads = 2, 4, 4
        config.max_position_embeddings = 512  # lm-eval's max_length: batch_size auto searches at it
    config.vocab_size = max(config.vocab_size, len(tokenizer))
    return _with_token_ids(config, tokenizer)


def flan_t5_large_config(ctx: Context, tokenizer):
    """google/flan-t5-large's architecture (its published config.json), built with no download."""
    from transformers import T5Config

    sizes = {
        "d_model": 1024,
        "d_kv": 64,
        "d_ff": 2816,
        "num_layers": 24,
        "num_decoder_layers": 24,
        "num_heads": 16,
    }
    if ctx.tiny:
        sizes = {
            "d_model": 64,
            "d_kv": 16,
            "d_ff": 128,
            "num_layers": 2,
            "num_decoder_layers": 2,
            "num_heads": 4,
        }
    config = T5Config(
        vocab_size=max(32128, len(tokenizer)),
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        relative_attention_num_buckets=32,
        layer_norm_epsilon=1e-6,
        **sizes,
    )
    config = _with_token_ids(config, tokenizer)
    if config.pad_token_id == config.eos_token_id:  # T5 starts decoding at pad: it must not be EOS
        config.pad_token_id = 0 if config.eos_token_id != 0 else 1
    config.decoder_start_token_id = config.pad_token_id
    return config


def _with_token_ids(config, tokenizer):
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    return config


def save_random_model(ctx: Context, config, seq2seq: bool, name: str) -> Path:
    """A model at random initialisation (seeded), built on the device and saved like real weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    torch.manual_seed(0)
    cls = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    with torch.device(ctx.device):
        model = cls.from_config(config, dtype=ctx.dtype)
    folder = ctx.work / name
    model.save_pretrained(folder)
    ctx.tokenizer.save_pretrained(folder)
    del model
    if ctx.cuda:
        torch.cuda.empty_cache()
    return folder


def setup(ctx: Context, results: Results) -> None:
    from transformers import AutoTokenizer

    ctx.start_budget("setup")
    folder, origin = find_tokenizer(ctx.args.tokenizer)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    ctx.tokenizer = tokenizer
    started = time.monotonic()
    ctx.stablelm_dir = save_random_model(
        ctx, stablelm_config(ctx, tokenizer), False, "stablelm-3b-4e1t-random"
    )
    stablelm_s = time.monotonic() - started
    started = time.monotonic()
    ctx.t5_dir = save_random_model(ctx, flan_t5_large_config(ctx, tokenizer), True, "flan-t5-large-random")
    results.data["setup"] = {
        "tokenizer": f"{origin}: {len(tokenizer)} tokens",
        "stablelm_build_and_save_s": round(stablelm_s, 1),
        "t5_build_and_save_s": round(time.monotonic() - started, 1),
        "architectures": "tiny stablelm / t5 configs" if ctx.tiny else "stablelm-3b-4e1t, flan-t5-large",
    }
    results.write()


# ----------------------------------------------------------------------------- step 1: fine-tuning


def _recipe(ctx: Context, rank_file: str, overrides: list[str]):
    from summeval.training.recipe import load_recipe

    s = ctx.settings
    return load_recipe(
        ROOT / "adapters" / rank_file,
        [
            f"base_model={ctx.stablelm_dir}",
            "data=sample",
            f"training.batch_size={s['batch_size']}",
            "training.eval_each_epoch=false",
            "training.save_each_epoch=false",
            *overrides,
        ],
    )


def train_docs():
    from prompt_strategies.registry import get_family

    family = get_family("tweetsumm")
    docs = family.load({family.data_key: "sample"})
    return family, docs[family.training_splits[0]]


def length_grouped_batches(dataset, batch_size: int):
    """The recipe's ``batching: length_grouped`` order (the Trainer's sampler), seeded, cycled."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    sampler = LengthGroupedSampler(
        batch_size, lengths=list(dataset["length"]), generator=torch.Generator().manual_seed(0)
    )
    order = list(sampler)
    while True:
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield [dataset[i] for i in order[start : start + batch_size]]


def training_flops(config, lengths: list[int], labelled: int) -> float:
    """Model FLOPs of one LoRA step on a frozen base (MFU's numerator; recomputation not counted).

    Per real token, the decoder's linear layers cost 2N forward and 2N backward (input gradients only:
    the base is frozen); attention 4·d per (query, key) pair forward, twice that backward, over the
    causal pairs of each sequence (padding and cross-sequence pairs are not model work); the output head
    2·V·d forward and as much backward, at labelled positions only (``causal_lm_loss``). LoRA's own
    weight gradients (under 1% of N) are left out."""
    layers, d = config.num_hidden_layers, config.hidden_size
    inter, vocab = config.intermediate_size, config.vocab_size
    kv = d * config.num_key_value_heads // config.num_attention_heads
    per_layer = d * d * 2 + d * kv * 2 + 3 * d * inter  # q, o, k, v, gate/up/down
    linear = sum(lengths) * 2 * layers * per_layer * 2
    attention = sum(n * (n + 1) / 2 for n in lengths) * layers * 4 * d * 3
    head = labelled * 2 * vocab * d * 2
    return linear + attention + head


def measure_training(ctx: Context, base, recipe, quantized: bool, packed: bool) -> dict[str, Any]:
    import torch
    from transformers import DataCollatorWithFlattening

    from summeval.training.encoding import PadToLongest, causal_lm_loss, encode_split
    from summeval.training.finetune import attach_lora, trainable_parameters

    gc = recipe.training.gradient_checkpointing
    model = attach_lora(base, recipe, quantized=quantized)
    if gc:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.get_base_model().gradient_checkpointing_disable()
    model.train()
    family, docs = train_docs()
    dataset = encode_split(ctx.tokenizer, family, docs, recipe)
    collate = (
        DataCollatorWithFlattening(return_position_ids=True, separator_id=-100)
        if packed
        else PadToLongest(ctx.tokenizer.pad_token_id)
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    stream = length_grouped_batches(dataset, recipe.training.batch_size)
    autocast = (
        torch.autocast("cuda", dtype=ctx.dtype) if ctx.cuda else contextlib.nullcontext()
    )  # as the Trainer's bf16=True
    s = ctx.settings
    tokens = samples = labelled = padded_positions = 0
    flops = 0.0
    if ctx.cuda:
        torch.cuda.reset_peak_memory_stats()
    for step in range(s["warmup_steps"] + s["timed_steps"]):
        if step == s["warmup_steps"]:
            ctx.sync()
            start = time.perf_counter()
        rows = next(stream)
        batch = {k: v.to(ctx.device) for k, v in collate(rows).items() if hasattr(v, "to")}
        with autocast:
            loss = causal_lm_loss(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= s["warmup_steps"]:
            lengths = [len(r["input_ids"]) for r in rows]
            tokens += sum(lengths)
            samples += len(rows)
            padded_positions += batch["input_ids"].numel()
            n_labelled = int((batch["labels"][:, 1:] != -100).sum())
            labelled += n_labelled
            flops += training_flops(model.get_base_model().config, lengths, n_labelled)
    ctx.sync()
    seconds = time.perf_counter() - start
    final_loss = loss.detach().item()
    if final_loss != final_loss:
        raise RuntimeError(f"the loss is {final_loss}")
    peak = torch.cuda.max_memory_allocated() if ctx.cuda else None
    trainable = trainable_parameters(model)
    model.unload()  # the base without LoRA layers, for the next row
    peak_flops = ctx.peak_flops()
    return {
        "samples_per_s": samples / seconds,
        "tokens_per_s": tokens / seconds,
        "vs_study_2.1": samples / seconds / STUDY_TRAIN_SAMPLES_PER_S,
        "peak_gpu_gib": peak / 2**30 if peak is not None else None,
        "mfu": flops / seconds / peak_flops if peak_flops else None,
        "tflops": flops / seconds / 1e12,
        "padding_share": 1 - tokens / padded_positions,
        "trainable_params": trainable,
        "timed_steps": s["timed_steps"],
        "seconds": seconds,
        "final_loss": final_loss,
    }


def step_finetune(ctx: Context, results: Results) -> None:
    import torch

    from summeval.training.checks import quantization_available
    from summeval.training.finetune import finetune, load_base, unquantized_bytes

    s = ctx.settings
    can_4bit, why_not = quantization_available()
    if ctx.tiny:
        can_4bit, why_not = False, "--tiny runs on CPU"
    note = (
        f"batch size {s['batch_size']}, {s['warmup_steps']} warm-up + {s['timed_steps']} timed steps per row "
        "on the TweetSumm sample's train dialogs (length-grouped, summary-only loss); MFU against the "
        "datasheet dense bf16 peak (989 TFLOP/s), model FLOPs only."
    )
    results.set("finetune", note=note)

    # (0) the real command path: finetune() with the shipped r16 recipe, a few steps
    ctx.check_budget("finetune")
    recipe = _recipe(ctx, "tweetsumm-r16.yaml", [])
    out = ctx.work / "adapter-r16"
    started = time.monotonic()
    if ctx.cuda:
        torch.cuda.reset_peak_memory_stats()
    finetune(recipe, out, max_steps=s["finetune_max_steps"])
    meta = json.loads((out / "summeval.json").read_text(encoding="utf-8"))
    results.add(
        "finetune",
        {
            "name": "finetune() r16 recipe as shipped",
            "status": "ok",
            "quantized_4bit": meta["quantized_4bit"],
            "steps": meta["train"]["global_step"],
            "samples_per_s": meta["train"]["train_samples_per_second"],
            "seconds_with_load": time.monotonic() - started,
            "trainable_params": meta["trainable_parameters"],
            "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if ctx.cuda else None,
            "adapter_saved": (out / "adapter_model.safetensors").is_file(),
        },
    )

    attention = "sdpa"
    if ctx.cuda:
        import importlib.util

        if importlib.util.find_spec("flash_attn") is not None:
            attention = "flash_attention_2"
    for quantized in (True, False):
        kind = "nf4-qlora" if quantized else f"{ctx.dtype_name}-lora"
        combos = [(r, p, g) for r in (16, 32) for p in (False, True) for g in (True, False)]
        if quantized and not can_4bit:
            for r, p, g in combos:
                results.add(
                    "finetune", _row_name(kind, r, p, g, attention) | {"status": f"skipped: {why_not}"}
                )
            continue
        try:
            ctx.check_budget("finetune")
        except Skip as skip:
            for r, p, g in combos:
                results.add("finetune", _row_name(kind, r, p, g, attention) | {"status": str(skip)})
            continue
        load_recipe = _recipe(
            ctx, "tweetsumm-r16.yaml", [f"quantization.load_in_4bit={str(quantized).lower()}"]
        )
        before = torch.cuda.memory_allocated() if ctx.cuda else 0
        _, base, dtype = load_base(load_recipe, quantized)
        loaded = {
            "memory_footprint_bytes": int(base.get_memory_footprint()),
            "gpu_bytes_allocated": torch.cuda.memory_allocated() - before if ctx.cuda else None,
            "unquantized_bytes": unquantized_bytes(base.config, dtype),
        }
        results.add("finetune", {"name": f"{kind} base model bytes", "status": "ok", **loaded})
        if ctx.cuda and attention != "sdpa":
            base.set_attn_implementation(attention)
        for r, p, g in combos:
            row = _row_name(kind, r, p, g, base.config._attn_implementation)
            try:
                ctx.check_budget("finetune")
                recipe = _recipe(
                    ctx,
                    f"tweetsumm-r{r}.yaml",
                    [f"training.gradient_checkpointing={str(g).lower()}"],
                )
                row |= {"status": "ok", **measure_training(ctx, base, recipe, quantized, p)}
            except Skip as skip:
                row["status"] = str(skip)
            except Exception as err:  # one failed set-up (out of memory, a kernel) leaves the others running
                row["status"] = f"failed: {type(err).__name__}: {' '.join(str(err).split())[:300]}"
                if ctx.cuda:
                    torch.cuda.empty_cache()
            results.add("finetune", row)
        del base
        if ctx.cuda:
            torch.cuda.empty_cache()


def _row_name(kind: str, rank: int, packed: bool, gc: bool, attention: str) -> dict[str, Any]:
    batching = f"padding-free ({attention})" if packed else "padded"
    return {"name": f"{kind} r{rank} {batching} gc {'on' if gc else 'off'}"}


# ----------------------------------------------------------------------------- lm-eval helpers


def tweetsumm_test_copies(ctx: Context, count: int) -> Path:
    """The package's TweetSumm sample with its test dialogs repeated to ``count`` (distinct ids), as a
    local DialogStudio file: enough dialogs to fill a batch."""
    from importlib.resources import files

    sample = json.loads(
        (files("summeval_tasks.tweetsumm") / "data" / "tweetsumm_sample.json").read_text(encoding="utf-8")
    )
    tests = [v for k, v in sample.items() if k.split("--")[1] == "test"]
    data = {k: v for k, v in sample.items() if k.split("--")[1] != "test"}
    for n in range(count):
        dialog = dict(tests[n % len(tests)])
        dialog["original dialog id"] = f"{dialog['original dialog id']}-copy{n}"
        data[f"TweetSumm--test--{n + 1}"] = dialog
    path = ctx.work / f"tweetsumm-test-x{count}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@contextlib.contextmanager
def timed_generation(ctx: Context, tokenizer):
    """Time ``HFLM.generate_until`` (whatever wraps it: the shared prefix too); count its answers' tokens."""
    from lm_eval.models.huggingface import HFLM

    timed = {"seconds": 0.0, "answers": 0, "tokens": 0}
    original = HFLM.generate_until

    def generate_until(self, requests, disable_tqdm=False):
        ctx.sync()
        start = time.perf_counter()
        answers = original(self, requests, disable_tqdm)
        ctx.sync()
        timed["seconds"] += time.perf_counter() - start
        timed["answers"] += len(answers)
        timed["tokens"] += sum(len(tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers)
        return answers

    HFLM.generate_until = generate_until
    try:
        yield timed
    finally:
        HFLM.generate_until = original


def evaluate(ctx: Context, lm, task: str, limit: int, metadata: dict[str, Any], strategy: str):
    """``task`` through ``lm_eval.simple_evaluate`` with summeval's task manager, as a study cell runs it;
    in --tiny the strategy's ``max_gen_toks`` is cut to the tiny setting."""
    import lm_eval

    from summeval.lm_eval import task_manager

    metadata = dict(metadata)
    if ctx.settings["max_gen_toks"]:
        metadata[strategy] = {**metadata.get(strategy, {}), "max_gen_toks": ctx.settings["max_gen_toks"]}
    return lm_eval.simple_evaluate(
        model=lm,
        tasks=[task],
        limit=limit,
        task_manager=task_manager(include_defaults=False, metadata=metadata),
        metadata=metadata,
        random_seed=0,
        numpy_random_seed=0,
        torch_random_seed=0,
        fewshot_random_seed=0,
    )


def hf_lm(ctx: Context, folder: Path, batch_size: str, seq2seq: bool = False):
    """lm-eval's ``hf`` model, built as ``lm_eval --model hf --model_args pretrained=...`` builds it."""
    from summeval.lm_eval.runner import load_lm

    args = f"pretrained={folder},dtype={ctx.dtype_name},max_batch_size={ctx.settings['max_batch_size']}"
    args += ",backend=seq2seq" if seq2seq else ""
    if ctx.settings["max_length"]:
        args += f",max_length={ctx.settings['max_length']}"
    return load_lm("hf", args, {"batch_size": batch_size, "device": ctx.device}), args


# ----------------------------------------------------------------------------- step 2: evaluation


def step_eval(ctx: Context, results: Results) -> None:
    counts = ctx.settings["eval_dialogs"]
    data = tweetsumm_test_copies(ctx, max(counts.values()))
    results.set(
        "eval",
        note="tweetsumm_zero (max_gen_toks 64) on the package's TweetSumm sample test dialogs, repeated; "
        "seconds inside HFLM.generate_until; tokens: the answers re-encoded.",
    )
    for batch_size, count in counts.items():
        ctx.check_budget("eval")
        started = time.monotonic()
        lm, args = hf_lm(ctx, ctx.stablelm_dir, batch_size)
        load_s = time.monotonic() - started
        with timed_generation(ctx, ctx.tokenizer) as timed:
            started = time.monotonic()
            evaluation = evaluate(
                ctx, lm, "tweetsumm_zero", count, {"tweetsumm_data": str(data)}, "answer_only"
            )
            wall = time.monotonic() - started
        metrics = evaluation["results"]["tweetsumm_zero"]
        per_dialog = timed["seconds"] / timed["answers"]
        results.add(
            "eval",
            {
                "name": f"tweetsumm_zero batch_size {batch_size}",
                "status": "ok",
                "dialogs": timed["answers"],
                "s_per_dialog": per_dialog,
                "generated_tokens_per_s": timed["tokens"] / timed["seconds"],
                "tokens_per_dialog": timed["tokens"] / timed["answers"],
                "x_faster_than_study_3.2": STUDY_EVAL_S_PER_DIALOG / per_dialog,
                "evaluate_wall_s": wall,
                "load_s": load_s,
                "batch_size_used": getattr(lm, "batch_sizes", None) or getattr(lm, "batch_size", None),
                "rouge1": next((v for k, v in metrics.items() if k.startswith("rouge1")), None),
            },
        )
        ctx.cache["lm_auto" if batch_size == "auto" else "lm_1"] = lm
    ctx.cache.pop("lm_1", None)


# ----------------------------------------------------------------------------- step 3: self-consistency


def step_self_consistency(ctx: Context, results: Results) -> None:
    from summeval.lm_eval.shared_prefix import ENABLE_ENV

    s = ctx.settings
    k = s["sc_samples"]
    results.set(
        "self_consistency",
        note=f"K = {k} samples per prompt, {s['sc_limit']} prompts per family, the same lm-eval hf model "
        f"(batch_size auto) for both; {ENABLE_ENV}=0 is lm-eval's plain repeats.",
    )
    ctx.check_budget("self_consistency")
    lm = ctx.cache.get("lm_auto")
    if lm is None:
        lm, _ = hf_lm(ctx, ctx.stablelm_dir, "auto")
    tasks = {
        "tweetsumm_self_consistency": {"tweetsumm_data": "sample"},
        "sports_understanding_self_consistency": {"sports_data": "sample"},
    }
    previous = os.environ.get(ENABLE_ENV)
    try:
        for task, data in tasks.items():
            row: dict[str, Any] = {"name": f"{task} K={k}"}
            try:
                seconds = {}
                for setup, flag in (("plain", "0"), ("shared", "1")):
                    ctx.check_budget("self_consistency")
                    os.environ[ENABLE_ENV] = flag
                    with timed_generation(ctx, ctx.tokenizer) as timed:
                        evaluate(
                            ctx,
                            lm,
                            task,
                            s["sc_limit"],
                            {**data, "self_consistency": {"samples": k}},
                            "self_consistency",
                        )
                    seconds[setup] = timed["seconds"]
                    row[f"{setup}_s"] = timed["seconds"]
                    row[f"{setup}_samples"] = timed["answers"]
                row |= {"status": "ok", "wall_ratio_shared_over_plain": seconds["shared"] / seconds["plain"]}
            except Skip as skip:
                row["status"] = str(skip)
            results.add("self_consistency", row)
    finally:
        if previous is None:
            os.environ.pop(ENABLE_ENV, None)
        else:
            os.environ[ENABLE_ENV] = previous


# ----------------------------------------------------------------------------- step 4: seq2seq


def step_seq2seq(ctx: Context, results: Results) -> None:
    ctx.cache.pop("lm_auto", None)  # the decoder-only model's memory back
    if ctx.cuda:
        import torch

        torch.cuda.empty_cache()
    limit = ctx.settings["t5_limit"]
    results.set(
        "seq2seq",
        note=f"the flan-t5-large architecture (backend=seq2seq, batch_size auto), {limit} sample validation "
        "statements (the package's sports sample has 15). At random initialisation T5 repeats its start "
        "token (pad, decoded as an empty answer) up to max_gen_toks, items/s: full-length answers.",
    )
    ctx.check_budget("seq2seq")
    lm, _ = hf_lm(ctx, ctx.t5_dir, "auto", seq2seq=True)
    for strategy in ("answer_only", "cot"):
        task = f"sports_understanding_{strategy}"
        row: dict[str, Any] = {"name": task}
        try:
            ctx.check_budget("seq2seq")
            with timed_generation(ctx, ctx.tokenizer) as timed:
                evaluate(ctx, lm, task, limit, {"sports_data": "sample"}, strategy)
            row |= {
                "status": "ok",
                "items": timed["answers"],
                "items_per_s": timed["answers"] / timed["seconds"],
                "seconds": timed["seconds"],
            }
        except Skip as skip:
            row["status"] = str(skip)
        results.add("seq2seq", row)


# ----------------------------------------------------------------------------- main


def versions() -> dict[str, str | None]:
    import importlib.metadata

    found = {}
    for name in (
        "torch",
        "transformers",
        "peft",
        "accelerate",
        "lm_eval",
        "datasets",
        "bitsandbytes",
        "pyarrow",
    ):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="tiny configs on CPU, the same code (CI's dry run)"
    )
    parser.add_argument("--out", default=None, help="results folder (default $OUT, else results/gpu)")
    parser.add_argument(
        "--steps", default=",".join(STEPS), help=f"comma-separated subset of {','.join(STEPS)}"
    )
    parser.add_argument(
        "--tokenizer", default=None, help="tokenizer folder (default: carried, else embedded)"
    )
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiply every step's budget")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STEPS]
    if unknown or not chosen:
        parser.error(
            f"--steps {args.steps!r}: {', '.join(unknown) or 'empty'} is not a step; "
            f"choose from {', '.join(STEPS)}"
        )
    if args.budget_scale <= 0:
        parser.error(f"--budget-scale {args.budget_scale} must be above 0")
    args.steps = chosen
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out or os.environ.get("OUT") or ROOT / "results" / "gpu")
    import summeval.lm_eval.startup as startup  # what the installed .pth does; wheels in --target skip it

    startup.install()
    import torch

    ctx = Context(args)
    if not args.tiny and not ctx.cuda:
        print("kit: no CUDA device: run with --tiny for the CPU dry run", file=sys.stderr)
        return 2
    results = Results(
        out,
        {
            "kit": "summeval bench/gpu",
            "mode": "tiny (CPU)" if args.tiny else "gpu",
            "device": ctx.device_name(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "python": platform.python_version(),
            "versions": versions(),
            "study": {
                "train_samples_per_s": STUDY_TRAIN_SAMPLES_PER_S,
                "eval_s_per_dialog": STUDY_EVAL_S_PER_DIALOG,
            },
            "budgets_s": {k: v * args.budget_scale for k, v in ctx.settings["budget"].items()},
        },
    )
    torch.manual_seed(0)
    started = time.monotonic()
    try:
        setup(ctx, results)
    except Exception as err:
        for step in STEPS:
            results.set(step, status=f"failed in setup: {type(err).__name__}: {err}")
        traceback.print_exc()
        return 1
    runners = {
        "finetune": step_finetune,
        "eval": step_eval,
        "self_consistency": step_self_consistency,
        "seq2seq": step_seq2seq,
    }
    failed = False
    for step in STEPS:
        if step not in args.steps:
            results.set(step, status="skipped: not in --steps")
            continue
        budget = ctx.start_budget(step)
        step_started = time.monotonic()
        try:
            runners[step](ctx, results)
            status = "ok"
        except Skip as skip:
            status = str(skip)
        except Exception as err:  # recorded; the next step still runs
            failed = True
            status = f"failed: {type(err).__name__}: {' '.join(str(err).split())[:500]}"
            traceback.print_exc()
        results.set(step, status=status, seconds=round(time.monotonic() - step_started, 1), budget_s=budget)
        print(f"kit: {step}: {status} ({time.monotonic() - step_started:.0f} s)", flush=True)
    results.data["total_s"] = round(time.monotonic() - started, 1)
    results.write()
    print(f"kit: wrote {out / 'kit.json'} and {out / 'kit.md'} ({results.data['total_s']} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
