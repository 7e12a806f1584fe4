"""Finding strategies: the plugin manager, and what it feeds into lm-eval (filters, plugin tasks)."""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from prompt_strategies import hookspecs
from prompt_strategies.strategy import StrategyError

if TYPE_CHECKING:
    from prompt_strategies.strategy import PromptStrategy

PLUGINS_ENV = "SUMMEVAL_STRATEGY_PLUGINS"
TASK_FAMILY = "sports_understanding"


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: built-ins, entry points, then ``$SUMMEVAL_STRATEGY_PLUGINS``."""
    from prompt_strategies import builtin

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(builtin, name="summeval.builtin")
    manager.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    for module_name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise StrategyError(
                f"{PLUGINS_ENV}: cannot import strategy plugin {module_name!r}: {err}"
            ) from err
        if manager.get_plugin(module_name) is None and not manager.is_registered(module):
            manager.register(module, name=module_name)
    return manager


def _contributions(hook_name: str):
    """(plugin name, result) for each plugin implementing ``hook_name``, in registration order."""
    manager = plugin_manager()
    hook = getattr(manager.hook, hook_name)
    for impl in hook.get_hookimpls():
        yield impl.plugin_name, impl.function()


@functools.cache
def strategies() -> dict[str, PromptStrategy]:
    """Every registered strategy by name. Two plugins giving the same name is an error naming both."""
    found: dict[str, PromptStrategy] = {}
    owners: dict[str, str] = {}
    for plugin, contributed in _contributions("summeval_strategies"):
        for strategy in contributed or ():
            if not strategy.name or not strategy.name.isidentifier():
                raise StrategyError(f"plugin {plugin}: strategy name {strategy.name!r} is not an identifier")
            if strategy.name in found:
                raise StrategyError(
                    f"strategy {strategy.name!r} is registered twice: "
                    f"by {owners[strategy.name]} and by {plugin}"
                )
            found[strategy.name] = strategy
            owners[strategy.name] = plugin
    return found


def get_strategy(name: str) -> PromptStrategy:
    """The strategy called ``name``; an unknown name is an error listing the known ones."""
    known = strategies()
    if name not in known:
        raise StrategyError(
            f"unknown strategy {name!r}; known strategies: {', '.join(sorted(known))}. "
            f"Plugins come from the {hookspecs.ENTRY_POINT_GROUP!r} entry-point group or ${PLUGINS_ENV}."
        )
    return known[name]


@functools.cache
def register_lm_eval_filters() -> tuple[str, ...]:
    """Add every plugin's filters to lm-eval's filter registry (once); return their names."""
    import lm_eval.filters  # noqa: F401  (lm-eval's own filters first, so a clash is seen as one)
    from lm_eval.api.registry import filter_registry

    names: list[str] = []
    for plugin, contributed in _contributions("summeval_filters"):
        for name, filter_cls in (contributed or {}).items():
            existing = filter_registry.get(name) if name in filter_registry else None
            if existing is not None and existing is not filter_cls:
                raise StrategyError(
                    f"plugin {plugin}: filter {name!r} is already registered in lm-eval ({existing!r})"
                )
            if existing is None:
                filter_registry.register(name)(filter_cls)
            names.append(name)
    return tuple(names)


def builtin_task_dir() -> Path:
    """The folder of the built-in strategy tasks (``task_yamls/sports_understanding``)."""
    from summeval_tasks import task_yamls_dir

    return Path(task_yamls_dir()) / TASK_FAMILY


def task_name(strategy_name: str) -> str:
    return f"{TASK_FAMILY}_{strategy_name}"


def plugin_task_dir() -> Path | None:
    """A folder of generated task YAML for plugin strategies without a YAML of their own, or None.

    Each file includes the built-in template, so a plugin strategy runs on the same data, metrics and
    task class as the built-ins. The folder is keyed by the strategy names and written once.
    """
    builtin_dir = builtin_task_dir()
    missing = sorted(n for n in strategies() if not (builtin_dir / f"{task_name(n)}.yaml").is_file())
    if not missing:
        return None
    from summeval_tasks.atomic import folder_written_atomically

    key = hashlib.sha256("\n".join([str(builtin_dir), *missing]).encode()).hexdigest()[:16]
    from summeval_tasks.settings import cache_root

    cache = cache_root()
    target = cache / "plugin_tasks" / key
    if target.is_dir():
        return target
    template = builtin_dir / "_sports_understanding_template.yaml"
    with folder_written_atomically(target, keep_existing=Path.is_dir) as staging:
        for name in missing:
            (staging / f"{task_name(name)}.yaml").write_text(
                f"# Generated by summeval for the plugin strategy {name!r}.\n"
                f"include: {template}\n"
                f"task: {task_name(name)}\n"
                f"metadata:\n  version: 1.0\n  strategy: {name}\n",
                encoding="utf-8",
            )
    return target
