"""prompt_strategies: the two plugin axes (task families and prompt strategies) and how they meet in lm-eval.

* ``TaskFamily``, the contract a task family implements (data, questions, answers, scores), is defined
  in the bottom layer (``summeval_tasks.contract``) and re-exported here and by ``family``.
* ``hookspecs``: the plugin hooks (``summeval_task_families``, ``summeval_strategies``,
  ``summeval_filters``); ``hookimpl``.
* ``strategy``: ``PromptStrategy``, the base class every strategy implements.
* ``builtin``: answer_only, answer_only_mc, fewshot, cot, cot_fewshot, self_consistency, active_prompt,
  instruct; ``exemplars``: the seeded exemplar choice and exemplar files.
* ``filters``: the family's answer reading and reduction as lm-eval filters.
* ``registry``: finds plugins (built-ins, entry points, ``$SUMMEVAL_PLUGINS``); every pair's task.
* ``lm_eval_task``: ``StrategyTask``, the lm-eval task class that joins a family and a strategy.
* ``active_prompt``: uncertainty-based exemplar selection.

Imports stay light: this module is imported by lm-eval's YAML loader.
"""

from prompt_strategies.hookspecs import hookimpl
from prompt_strategies.strategy import PromptStrategy, StrategyError, TaskContext
from summeval_tasks.contract import FamilyError, TaskFamily

__all__ = ["FamilyError", "PromptStrategy", "StrategyError", "TaskContext", "TaskFamily", "hookimpl"]
