"""The plugin contracts: the hooks a package implements to contribute task families and prompt strategies.

A plugin is any module or object with functions marked ``@prompt_strategies.hookimpl`` and named like
the hooks below. Plugins are found three ways (see ``registry.py``):

* the built-ins (``summeval_tasks.tweetsumm.family``, ``summeval_tasks.sports.family``,
  ``prompt_strategies.builtin``), registered through these same hooks;
* installed packages that declare an entry point, in the group ``summeval.families`` for families and
  ``summeval.strategies`` for strategies (one module may implement both hooks)::

      [project.entry-points."summeval.strategies"]
      my_strategies = "my_package.strategies"

* modules named in the environment variable ``SUMMEVAL_PLUGINS`` (comma-separated import
  paths), for plugins that are not installed, e.g. a test module.

This module imports only the family contract (``summeval_tasks.contract``, which also defines the
``hookimpl`` marker so that families in the bottom layer can use it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from prompt_strategies.strategy import PromptStrategy
    from summeval_tasks.contract import TaskFamily

from summeval_tasks.contract import PROJECT, hookimpl

ENTRY_POINT_GROUP = "summeval.strategies"
FAMILY_ENTRY_POINT_GROUP = "summeval.families"
ENTRY_POINT_GROUPS = (FAMILY_ENTRY_POINT_GROUP, ENTRY_POINT_GROUP)

hookspec = pluggy.HookspecMarker(PROJECT)
__all__ = ["ENTRY_POINT_GROUPS", "PROJECT", "hookimpl", "hookspec"]


@hookspec
def summeval_task_families() -> Sequence[TaskFamily]:
    """Return the task families this plugin contributes.

    Each is a ``summeval_tasks.contract.TaskFamily`` instance: its ``name`` (an identifier, unique
    across plugins; its tasks are ``<name>_<strategy>`` for every strategy that applies to it), how
    its docs load, how a question and an exemplar read, how an answer is read back, scored, reduced
    over K samples and measured for uncertainty. See ``TaskFamily`` for the contract of each member.
    Called once per process; the result is cached.
    """


@hookspec
def summeval_strategies() -> Sequence[PromptStrategy]:
    """Return the prompt strategies this plugin contributes.

    Each is a ``PromptStrategy`` instance: its ``name`` (unique across all plugins; it runs as the lm-eval
    task ``<family>_<name>`` on every family it ``applies_to``), how it chooses exemplars and builds
    prompts through the family contract, its generation settings (output type, sampling, repeats) and
    its filter pipeline. See ``PromptStrategy`` for the contract of each method. Called once per
    process; the result is cached.
    """


@hookspec
def summeval_filters() -> Mapping[str, type]:
    """Return lm-eval filter classes this plugin contributes, keyed by the name task YAML uses.

    Each class subclasses ``lm_eval.api.filter.Filter``. They are added to lm-eval's filter registry
    (``lm_eval.api.registry.register_filter``) before any strategy task is built, so a strategy's
    ``filter_list`` and any task YAML can name them exactly like lm-eval's own ``take_first`` or
    ``majority_vote``. A name already registered by lm-eval or another plugin is an error.
    """
