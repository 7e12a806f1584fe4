"""The ``summeval`` command: ``parser`` (every subcommand and its options) and ``handlers`` (what each
runs). Errors in the user's input end with one line, not a traceback."""

from __future__ import annotations

import sys

from summeval.cli.handlers import resolve_family
from summeval.cli.parser import batch_size, build_parser, positive_float, positive_int

__all__ = [
    "batch_size",
    "build_parser",
    "main",
    "one_line",
    "positive_float",
    "positive_int",
    "resolve_family",
]


def main(argv: list[str] | None = None) -> int:
    """Run the ``summeval`` command; errors in the user's input end with one line, not a traceback."""
    from summeval_tasks.util.errors import SummevalError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SummevalError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 2


def one_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a message that spans lines is joined)."""
    return " ".join(str(err).split())
