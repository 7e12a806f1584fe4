"""Fine-tuning throughput: the study's set-up against summeval's, same model, data and machine.

- study:    batch size 1, loss on the full text, samples in random order (no length grouping)
- summeval: batch size B (default 8), loss on the summary only with the output head run only at
            summary positions (``finetune.causal_lm_loss``), length-grouped batches

Both train LoRA (the recipe's rank and modules, gradient checkpointing as the recipe says) for the
same number of optimiser steps after one warm-up step, and count the real (non-padding) tokens that
went through the model. Prints tokens/s and samples/s of each and the ratio summeval / study.

Run here:   python bench/finetune_throughput.py                 (embedded SmolLM2, sample data, CPU)
On a GPU:   python bench/finetune_throughput.py --model stablelm-3b-4e1t-random --load-in-4bit
            (the stablelm-3b-4e1t architecture at random initialisation: real shapes and cost)
"""

from __future__ import annotations

import argparse
import time

import torch


def build_model(name: str, load_in_4bit: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == "embedded":
        from summeval.training.embedded_model import embedded_model_path

        name = str(embedded_model_path())
    if name == "stablelm-3b-4e1t-random":
        import tempfile

        from summeval.training.embedded_model import embedded_model_path
        from summeval.training.finetune import stablelm_3b_4e1t_config

        tokenizer = AutoTokenizer.from_pretrained(str(embedded_model_path()))  # any BPE tokenizer will do
        config = stablelm_3b_4e1t_config()
        config.vocab_size = max(config.vocab_size, len(tokenizer))
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        # saved once so that it loads like real weights (in 4 bits when asked)
        name = tempfile.mkdtemp(prefix="stablelm-3b-4e1t-random-")
        model.save_pretrained(name)
        tokenizer.save_pretrained(name)
        del model
    kwargs = {}
    if load_in_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
        )
        kwargs["device_map"] = {"": 0}
    elif torch.cuda.is_available():
        kwargs["device_map"] = {"": 0}
        kwargs["dtype"] = torch.bfloat16
    return AutoTokenizer.from_pretrained(name), AutoModelForCausalLM.from_pretrained(name, **kwargs)


def batches(dataset, batch_size: int, length_grouped: bool, seed: int):
    from transformers.trainer_pt_utils import LengthGroupedSampler

    generator = torch.Generator().manual_seed(seed)
    if length_grouped:
        sampler = LengthGroupedSampler(batch_size, lengths=dataset["length"], generator=generator)
    else:
        sampler = torch.utils.data.RandomSampler(dataset, generator=generator)
    order = list(sampler)
    while True:
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield [dataset[i] for i in order[start : start + batch_size]]


def run(setup: str, args, tokenizer, base_model, family, docs) -> dict:
    from peft import get_peft_model

    from summeval.training.encoding import PadToLongest, causal_lm_loss, encode_split
    from summeval.training.finetune import lora_config
    from summeval.training.recipe import load_recipe

    study = setup == "study"
    recipe = load_recipe(
        args.recipe,
        [
            f"training.batch_size={1 if study else args.batch_size}",
            f"training.loss_on={'full' if study else 'summary'}",
            f"training.max_length={args.max_length}",
        ],
    )
    model = get_peft_model(base_model, lora_config(recipe))
    if recipe.training.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    dataset = encode_split(tokenizer, family, docs, recipe)
    collate = PadToLongest(
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    stream = batches(dataset, recipe.training.batch_size, length_grouped=not study, seed=0)
    device = next(model.parameters()).device
    tokens = samples = 0
    for step in range(args.steps + 1):
        if step == 1:  # step 0 warms up kernels and allocators; time the rest
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        rows = next(stream)
        batch = {k: v.to(device) for k, v in collate(rows).items()}
        # the study: the stock loss, head over every position; ours: head over labelled positions only
        loss = model(**batch).loss if study else causal_lm_loss(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= 1:
            tokens += int(batch["attention_mask"].sum())
            samples += len(rows)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    model.unload()  # give the base back without LoRA layers for the next set-up
    return {
        "setup": setup,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "samples_per_s": samples / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="embedded", help="embedded, stablelm-3b-4e1t-random, or a model folder"
    )
    parser.add_argument("--recipe", default="adapters/tweetsumm-r16.yaml")
    parser.add_argument("--data", default="sample", help="TweetSumm source (default sample)")
    parser.add_argument("--steps", type=int, default=8, help="timed optimiser steps per set-up")
    parser.add_argument("--batch-size", type=int, default=8, help="summeval's batch size")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--load-in-4bit", action="store_true")
    args = parser.parse_args()

    from prompt_strategies.registry import get_family

    torch.manual_seed(0)
    family = get_family("tweetsumm")
    docs = family.load({family.data_key: args.data})[family.training_splits[0]]
    tokenizer, model = build_model(args.model, args.load_in_4bit)
    results = [run(setup, args, tokenizer, model, family, docs) for setup in ("study", "summeval")]
    device = (
        "cuda: " + torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(f"model {args.model}, {args.steps} steps each, {device}")
    print(f"{'setup':<10} {'tokens/s':>10} {'samples/s':>10} {'seconds':>8}")
    for r in results:
        print(f"{r['setup']:<10} {r['tokens_per_s']:>10.1f} {r['samples_per_s']:>10.2f} {r['seconds']:>8.1f}")
    study, ours = results
    print(f"ratio summeval/study: tokens/s {ours['tokens_per_s'] / study['tokens_per_s']:.2f}x, "
          f"samples/s {ours['samples_per_s'] / study['samples_per_s']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
