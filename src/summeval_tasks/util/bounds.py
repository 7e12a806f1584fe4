"""The ranges of summeval's numeric settings: one ``Range`` per kind of number, each with a sane ceiling.

Every entry point (``lm_eval --metadata``, a study config, a recipe, the ``summeval`` command line,
the library) checks a number against the range named here, before any model loads: a count of a
billion samples, an infinite learning rate or a seed numpy cannot take is refused in one line instead
of growing for hours or failing after the weights are in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from summeval_tasks.util.errors import SummevalError


class BoundsError(SummevalError):
    """A number outside its range, or a name too long for a file name; the message names both."""


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high``: integers only (``integer``), or finite floats (``low`` itself
    excluded when ``low_open``)."""

    low: float
    high: float
    integer: bool = True
    low_open: bool = False
    note: str = ""
    """Added to the description, e.g. why the floor is what it is."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    @property
    def right(self) -> str:
        """What would be right, e.g. ``at least 1 and at most 1000 (an integer)``."""
        low, high = _number(self.low), _number(self.high)
        kind = "an integer" if self.integer else "a number"
        text = f"{'above' if self.low_open else 'at least'} {low} and at most {high} ({kind}"
        return f"{text}; {self.note})" if self.note else f"{text})"

    @property
    def noun(self) -> str:
        """What would be right, as a noun: ``a positive integer at most 4096`` (for ``X must be ...``)."""
        if self.integer and self.low == 1:
            return f"a positive integer at most {_number(self.high)}"
        return self.right

    def check(self, value: Any, where: str, error: type[Exception] = BoundsError) -> Any:
        """``value`` when it is in range, else ``error("<where> is <value>; it must be <right>")``."""
        if not self.accepts(value):
            raise error(f"{where} is {value!r}; it must be {self.right}")
        return value


def _number(value: float) -> str:
    if float(value).is_integer():
        value = int(value)
        return f"2**{value.bit_length()} - 1" if value > 10**9 and (value + 1) & value == 0 else str(value)
    return repr(value)


SAMPLES = Range(1, 1000)
"""Answers sampled per item (self-consistency's samples, active-prompt's k)."""
EXEMPLARS = Range(1, 256)
"""Exemplars in one prompt (fewshot's k)."""
ITEMS = Range(1, 10_000_000)
"""Items of a split (limit, sample, a pool size, the exemplars kept)."""
MAX_GEN_TOKS = Range(1, 32_768)
"""Tokens generated per answer."""
TEMPERATURE = Range(0, 100, integer=False, low_open=True, note="sampling; 0.7 is the papers'")
SEED = Range(0, 2**32 - 1, note="numpy and torch take seeds below 2**32")
DEFAULT_SEED = 1234
"""The seed of every seeded choice a user does not seed: exemplars, samples, selection, training."""
EQUIVALENCE_MARGIN = Range(0, 1, integer=False, low_open=True, note="in the metric's units: 0.02 is 2 points")
"""A comparison's equivalence margin (TOST): B and A are equivalent when B - A lies within ± it."""
STEPS = Range(1, 1_000_000_000)
PROCESSES = Range(1, 1024, note="training processes: one per GPU")
"""Optimiser steps."""
LORA_RANK = Range(1, 4096)
LORA_ALPHA = Range(1, 65_536)
LEARNING_RATE = Range(0, 1, integer=False, low_open=True)
EPOCHS = Range(0, 10_000, integer=False, low_open=True)
BATCH = Range(1, 65_536)
"""Sequences per step, or steps accumulated."""
MAX_LENGTH = Range(32, 1_048_576)
"""Tokens of one training text."""
SAVE_STEPS = Range(0, 1_000_000_000, note="0: only each epoch")
FRACTION = Range(0, 0.999, integer=False)
"""Dropout, warm-up ratio: below 1."""

NAME_LENGTH = 64
"""Longest name of a study, model or recipe: it names folders (with task names and hashes beside it)."""


def check_name_length(name: str, where: str, error: type[Exception] = BoundsError) -> str:
    """``name`` when it has at most ``NAME_LENGTH`` characters, else ``error`` naming ``where``."""
    if len(name) > NAME_LENGTH:
        raise error(f"{where}: {check_message(name)}")
    return name


def check_message(name: str) -> str:
    """Why ``name`` is too long (see ``check_name_length``)."""
    return (
        f"{name[:20]!r}... is {len(name)} characters; it names folders, so it must be at most {NAME_LENGTH}"
    )
