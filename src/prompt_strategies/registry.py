"""Finding families and strategies: the plugin manager and lookups by name.

Every (family, strategy) pair the strategy ``applies_to`` is a task ``<family>_<strategy>``, plus each
family's aliases (``tweetsumm_zero``) and its group (``task_table``, ``group_members``), read from
``task_names.yaml`` beside this module (``family_tasks``): families name no strategy. What lm-eval
gets from them (generated task YAML, registered filters) is made in ``summeval.lm_eval.task_dir``: this
module imports nothing of lm-eval.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from prompt_strategies import hookspecs
from prompt_strategies.strategy import StrategyError

if TYPE_CHECKING:
    from prompt_strategies.strategy import PromptStrategy
    from summeval_tasks.contract import TaskFamily

PLUGINS_ENV = "SUMMEVAL_PLUGINS"
BUILTIN_PLUGINS = (
    "summeval_tasks.tweetsumm.family",
    "summeval_tasks.sports.family",
    "prompt_strategies.builtin",
)


_builtins_only = False


@contextlib.contextmanager
def builtins_only() -> Iterator[None]:
    """Within: only the built-in families and strategies are registered (no entry points, no
    ``$SUMMEVAL_PLUGINS``): what the start-up hook falls back to when a plugin is broken."""
    global _builtins_only
    _clear_caches()
    _builtins_only = True
    try:
        yield
    finally:
        _builtins_only = False
        _clear_caches()


_generation = 0


def generation() -> int:
    """A number that changes whenever the registered plugins may have changed (``reset``,
    ``builtins_only``): what is derived from them (lm-eval filters, the task folder) is made again."""
    return _generation


def _clear_caches() -> None:
    global _generation
    for cached in (plugin_manager, _named):
        cached.cache_clear()
    _generation += 1


def reset() -> None:
    """Forget every cached plugin, task and failure: the next call finds plugins again (after a change
    of ``$SUMMEVAL_PLUGINS``; tests)."""
    _clear_caches()
    _failures.clear()


_failures: dict[str, str] = {}


def plugin_failures() -> dict[str, str]:
    """Plugins left out of this process, with why: ``{plugin: one-line reason}``."""
    return dict(_failures)


def _left_out(plugin: str, reason: str) -> None:
    """Record a broken plugin and name it once, in one line: the built-ins and other plugins go on."""
    import sys

    reason = " ".join(reason.split())
    if _failures.get(plugin) != reason:
        _failures[plugin] = reason
        print(f"summeval: plugin {plugin} left out: {reason}", file=sys.stderr)


def _load_error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: built-ins, entry points, then ``$SUMMEVAL_PLUGINS``.

    A plugin that cannot be imported (missing, a syntax error, an error at import) is named in one line
    on stderr and left out; it never takes the built-ins down."""
    from importlib.metadata import entry_points

    from summeval_tasks.util.settings import env_list

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=f"summeval.builtin:{module_name}")
    if _builtins_only:
        return manager
    for group in hookspecs.ENTRY_POINT_GROUPS:
        for entry in entry_points(group=group):
            if manager.get_plugin(entry.name) is not None:
                continue
            try:
                plugin = entry.load()
                manager.register(plugin, name=entry.name)
            except Exception as err:
                _left_out(f"{entry.name} (entry point {entry.value} in {group})", _load_error(err))
    for module_name in env_list(PLUGINS_ENV):
        try:
            module = importlib.import_module(module_name)
            if manager.get_plugin(module_name) is None and not manager.is_registered(module):
                manager.register(module, name=module_name)
        except Exception as err:
            _left_out(f"{module_name} (from ${PLUGINS_ENV})", f"cannot import it: {_load_error(err)}")
    return manager


_EXPECTED = {
    "summeval_strategies": ("PromptStrategy", "a list of PromptStrategy instances"),
    "summeval_task_families": ("TaskFamily", "a list of TaskFamily instances"),
}


def contributions(hook_name: str) -> Iterator[tuple[str, Any]]:
    """(plugin name, result) for each plugin implementing ``hook_name``, in registration order.

    A plugin whose hook raises or returns the wrong type is named in one line and left out."""
    from prompt_strategies.strategy import PromptStrategy
    from summeval_tasks.contract import TaskFamily

    kinds = {"PromptStrategy": PromptStrategy, "TaskFamily": TaskFamily}
    hook = getattr(plugin_manager().hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order: built-ins first
        try:
            result = impl.function()
        except Exception as err:
            _left_out(impl.plugin_name, f"its {hook_name} hook raised {_load_error(err)}")
            continue
        if hook_name in _EXPECTED:
            kind, expected = _EXPECTED[hook_name]
            items = list(result) if isinstance(result, (list, tuple)) else None
            if result is not None and (items is None or not all(isinstance(i, kinds[kind]) for i in items)):
                _left_out(
                    impl.plugin_name, f"its {hook_name} hook returned {result!r:.80}; expected {expected}"
                )
                continue
            refusal = (_strategy_naming if hook_name == "summeval_task_families" else _old_options)(
                items or []
            )
            if refusal:
                _left_out(impl.plugin_name, refusal)
                continue
        elif hook_name == "summeval_filters" and result is not None and not isinstance(result, Mapping):
            _left_out(impl.plugin_name, f"its {hook_name} hook returned {result!r:.80}; expected a dict")
            continue
        yield impl.plugin_name, result


def _strategy_naming(items: Sequence[Any]) -> str:
    """Why a family among ``items`` is refused: it still sets an attribute that names strategies
    (they moved to ``task_names.yaml``); '' when none does."""
    for item in items:
        named = [attribute for attribute in STRATEGY_NAMING_ATTRIBUTES if hasattr(item, attribute)]
        if named:
            return (
                f"its family {getattr(item, 'name', '?')} sets {', '.join(named)}: families name no "
                "strategy; task names, groups and metadata keys belong in "
                f"prompt_strategies/{TASK_NAMES_FILE.name}"
            )
    return ""


def _old_options(items: Sequence[Any]) -> str:
    """Why a strategy among ``items`` is refused: its options are not one frozen ``StrategyOptions``
    dataclass (``defaults`` / ``option_ranges`` dicts are gone); '' when every one's are."""
    from prompt_strategies.strategy import StrategyOptions

    for item in items:
        options = getattr(item, "Options", None)
        old = [attribute for attribute in ("defaults", "option_ranges") if hasattr(item, attribute)]
        frozen = (  # a subclass not itself decorated would drop its fields silently
            isinstance(options, type)
            and issubclass(options, StrategyOptions)
            and "__dataclass_params__" in vars(options)
            and options.__dataclass_params__.frozen
        )
        if old or not frozen:
            what = f"sets {', '.join(old)}" if old else f"has Options = {options!r:.60}"
            return (
                f"its strategy {getattr(item, 'name', '?')} {what}: a strategy's options are one frozen "
                "dataclass, Options, subclassing prompt_strategies.StrategyOptions with fields made by "
                "prompt_strategies.option"
            )
    return ""


@functools.cache
def _named(hook_name: str, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(items by name, the plugin that gave each) of one hook; the hooks run once per process."""
    found: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for plugin, contributed in contributions(hook_name):
        for item in contributed or ():
            name = getattr(item, "name", None)
            if not isinstance(name, str) or not name.isidentifier():
                raise StrategyError(f"plugin {plugin}: {kind} name {name!r} is not an identifier")
            if name in found:
                raise StrategyError(f"{kind} {name!r} is registered twice: by {owners[name]} and by {plugin}")
            found[name] = item
            owners[name] = plugin
    return found, owners


def strategies() -> dict[str, PromptStrategy]:
    """Every registered strategy by name. Two plugins giving the same name is an error naming both."""
    return _named("summeval_strategies", "strategy")[0]


def families() -> dict[str, TaskFamily]:
    """Every registered task family by name. Two plugins giving the same name is an error naming both."""
    return _named("summeval_task_families", "family")[0]


def owners(kind: str) -> dict[str, str]:
    """Which plugin contributed each ``strategy`` or ``family``."""
    hook = "summeval_strategies" if kind == "strategy" else "summeval_task_families"
    return _named(hook, kind)[1]


def _lookup(known: dict[str, Any], name: str, kind: str, kinds: str, group: str) -> Any:
    """``known[name]``; an unknown name is an error listing the known ones and where plugins come from."""
    if name not in known:
        raise StrategyError(
            f"unknown {kind} {name!r}; known {kinds}: {', '.join(sorted(known))}. "
            f"Plugins come from the {group!r} entry-point group or ${PLUGINS_ENV}."
        )
    return known[name]


def get_strategy(name: str) -> PromptStrategy:
    """The strategy called ``name``; an unknown name is an error listing the known ones."""
    return _lookup(strategies(), name, "strategy", "strategies", hookspecs.ENTRY_POINT_GROUP)


def get_family(name: str) -> TaskFamily:
    """The family called ``name``; an unknown name is an error listing the known ones."""
    return _lookup(families(), name, "task family", "families", hookspecs.FAMILY_ENTRY_POINT_GROUP)


EXEMPLARS_KEY = "active_prompt_exemplars"


def metadata_keys() -> set[str]:
    """Every ``--metadata`` key summeval reads: strategy names, the families' data and seed keys, the
    active-prompt exemplar file."""
    keys = set(strategies()) | {EXEMPLARS_KEY}
    for family in families().values():
        keys |= {family.data_key, *family_tasks(family).metadata_options} - {""}
    return keys


def misspelled_key(metadata: Any) -> tuple[str, str] | None:
    """(key, the key of ours it is probably meant to be) for the first such key of ``metadata``, or None."""
    import difflib

    ours = metadata_keys()
    for key in metadata or {}:
        if isinstance(key, str) and key not in ours:
            close = difflib.get_close_matches(key, sorted(ours), n=1, cutoff=0.8)
            if close:
                return key, close[0]
    return None


def misspelling_message(key: str, meant: str) -> str:
    return (
        f"--metadata key {key!r} is not one summeval reads; did you mean {meant!r}? "
        f"(summeval's keys: {', '.join(sorted(metadata_keys()))})"
    )


def task_name(strategy_name: str, family_name: str) -> str:
    """The lm-eval task that runs ``strategy_name`` on ``family_name``."""
    return f"{family_name}_{strategy_name}"


def applicable_strategies(family: TaskFamily) -> list[str]:
    """The strategies that run on ``family``, in registration order."""
    return [name for name, strategy in strategies().items() if strategy.applies_to(family)]


def task_table() -> dict[str, dict[str, Any]]:
    """Every task summeval registers: ``{task: {"family", "strategy", "options"}}`` (pairs, then aliases)."""
    table: dict[str, dict[str, Any]] = {}
    for family in families().values():
        for strategy in applicable_strategies(family):
            table[task_name(strategy, family.name)] = {
                "family": family.name,
                "strategy": strategy,
                "options": {},
            }
        for alias, (strategy, options) in family_tasks(family).aliases.items():
            if not get_strategy(strategy).applies_to(family):
                raise StrategyError(
                    f"{TASK_NAMES_FILE.name}: {family.name} alias {alias} names inapplicable strategy "
                    f"{strategy}"
                )
            table[alias] = {"family": family.name, "strategy": strategy, "options": dict(options)}
    return table


def unknown_task(task: str) -> str:
    """The message for ``task`` when it is not one of ours, naming the closest task name."""
    import difflib

    close = difflib.get_close_matches(task, task_table(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{task!r} is not a summeval task{hint} (summeval strategies)"


def group_members(family: TaskFamily) -> list[str]:
    """The tasks of the group named after ``family``."""
    tasks = family_tasks(family)
    if tasks.group is not None:
        return list(tasks.group)
    chosen = tasks.group_strategies
    names = applicable_strategies(family)
    if chosen is None:
        chosen = [n for n in names if not get_strategy(n).selects_exemplars]
    return [task_name(n, family.name) for n in chosen if n in names]


TASK_NAMES_FILE = Path(__file__).with_name("task_names.yaml")
# TaskFamily attributes that named strategies before they moved to TASK_NAMES_FILE.
STRATEGY_NAMING_ATTRIBUTES = ("aliases", "group_tasks", "group_strategies", "metadata_options")


@dataclass(frozen=True)
class FamilyTasks:
    """A family's tasks beyond its ``<family>_<strategy>`` pairs, from ``task_names.yaml``."""

    aliases: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Extra task names: ``{task: (strategy, fixed options)}``, e.g. ``tweetsumm_one``."""
    group: tuple[str, ...] | None = None
    """The tasks of the ``<family>`` group; None: ``<family>_<s>`` for ``group_strategies``."""
    group_strategies: tuple[str, ...] | None = None
    """Strategies in the group; None: every applicable one but those that select their exemplars on
    the model first (active_prompt)."""
    metadata_options: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """``--metadata`` keys of the family that set a strategy option: ``{key: (strategy, option)}``."""


def family_tasks(family: TaskFamily) -> FamilyTasks:
    """``family``'s aliases, group and metadata keys (none for a family the file does not name)."""
    return _task_names().get(family.name, FamilyTasks())


@functools.cache
def _task_names() -> dict[str, FamilyTasks]:
    """``task_names.yaml`` read and checked; an error names the file and the entry."""
    from summeval_tasks.util.yaml_files import load_yaml_file

    where = TASK_NAMES_FILE.name
    tree = load_yaml_file(TASK_NAMES_FILE, StrategyError, "task names file") or {}
    allowed = {"aliases", "group", "group_strategies", "metadata_options"}
    read = {}
    for family_name, entry in tree.items():
        unknown = set(entry) - allowed
        if unknown:
            raise StrategyError(
                f"{where}: {family_name} has unknown keys {sorted(unknown)} (known: {sorted(allowed)})"
            )
        aliases = {
            task: (str(spec["strategy"]), dict(spec.get("options") or {}))
            for task, spec in (entry.get("aliases") or {}).items()
        }
        options = {
            key: (str(spec["strategy"]), str(spec["option"]))
            for key, spec in (entry.get("metadata_options") or {}).items()
        }
        group = entry.get("group")
        chosen = entry.get("group_strategies")
        read[family_name] = FamilyTasks(
            aliases=aliases,
            group=None if group is None else tuple(group),
            group_strategies=None if chosen is None else tuple(chosen),
            metadata_options=options,
        )
    return read
