"""Moved to ``summeval.lm_eval.task`` (lm-eval is touched only in ``summeval.lm_eval``); this name is kept
so that task YAML and code written for earlier versions keep working (StrategyTask, strategy_options,
read_result, SHARED_PREFIX_TASKS). Resolved on first use, so that importing the strategy layer never
imports lm-eval."""

from __future__ import annotations

import importlib
from typing import Any

_TARGET = "summeval.lm_eval.task"


def __getattr__(name: str) -> Any:
    return getattr(importlib.import_module(_TARGET), name)
