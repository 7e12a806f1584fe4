"""The one base of every error summeval raises about its user's input.

Each layer has its own subclass (families: ``FamilyError`` and the data errors; strategies:
``StrategyError``; the application: recipe, adapter, fine-tuning and usage errors). The message is one
line: the bad value, where it came from, and what would be right. One place prints it: the ``summeval``
command, and under ``lm_eval`` the start-up hook's exception hook (our errors only; lm-eval's own
tracebacks are left alone).
"""

from __future__ import annotations


class SummevalError(ValueError):
    """A user input summeval cannot use; ``str(err)`` is the one-line message."""
