"""prompt_strategies: the prompt-strategy plugin axis, its registry, and the strategies themselves.

* ``TaskFamily``, the contract a task family implements (data, questions, answers, scores), is defined
  in the bottom layer (``summeval_tasks.contract``) and re-exported here.
* ``hookspecs``: the plugin hooks (``summeval_task_families``, ``summeval_strategies``,
  ``summeval_filters``); ``hookimpl``.
* ``strategy``: ``PromptStrategy``, the base class every strategy implements; ``StrategyOptions``, the
  frozen dataclass a strategy's options subclass (``GenerationOptions`` adds ``max_gen_toks``), with
  fields made by ``option``.
* ``builtin``: answer_only, answer_only_mc, fewshot, cot, cot_fewshot, self_consistency, active_prompt,
  instruct; ``exemplars``: the seeded exemplar choice and exemplar files.
* ``registry``: finds plugins (built-ins, entry points, ``$SUMMEVAL_PLUGINS``); every pair's task name.
* ``active_prompt``: uncertainty-based exemplar selection (scoring, ranking, rationales).

This layer imports nothing of lm-eval: the task class, the filters and the generated task folder are in
``summeval.lm_eval``. Imports stay light.
"""

from prompt_strategies.hookspecs import hookimpl
from prompt_strategies.strategy import (
    GenerationOptions,
    PromptStrategy,
    StrategyError,
    StrategyOptions,
    TaskContext,
    option,
)
from summeval_tasks.contract import FamilyError, TaskFamily

__all__ = [
    "FamilyError",
    "GenerationOptions",
    "PromptStrategy",
    "StrategyError",
    "StrategyOptions",
    "TaskContext",
    "TaskFamily",
    "hookimpl",
    "option",
]
