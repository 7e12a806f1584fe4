"""Third-party strategy plugins: found through $SUMMEVAL_STRATEGY_PLUGINS, run by the real lm_eval command.

The plugin is ``strategy_plugin_example.py`` beside this file: the strategy ``yes_no`` with its own
filter ``yes_no_answer``, contributed through the same hooks as the built-ins.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

import pytest
import yaml
from conftest import offline_env, read_results, run_lm_eval

import summeval
import summeval_tasks
from prompt_strategies import PromptStrategy, StrategyError, hookimpl, registry
from prompt_strategies.builtin import BUILTIN_STRATEGIES

TESTS = Path(__file__).resolve().parent
PLUGIN = "strategy_plugin_example"
TASK = "sports_understanding_yes_no"


def _clear_registry_caches() -> None:
    for cached in (registry.plugin_manager, registry.strategies, registry.register_lm_eval_filters):
        cached.cache_clear()


@pytest.fixture
def use_plugins(monkeypatch, tmp_path):
    """``use_plugins("a", "b")`` sets $SUMMEVAL_STRATEGY_PLUGINS for this test; the registry is rebuilt.

    The registry's caches are cleared before, on every change, and after, so that no other test sees
    this test's plugins; generated plugin tasks go to a fresh $SUMMEVAL_CACHE.
    """
    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(registry.PLUGINS_ENV, raising=False)

    def use(*module_names: str) -> None:
        monkeypatch.setenv(registry.PLUGINS_ENV, ",".join(module_names))
        _clear_registry_caches()

    _clear_registry_caches()
    yield use
    _clear_registry_caches()


def _plugin_module(monkeypatch, name: str, strategies=(), filters=None) -> str:
    """An importable plugin module called ``name`` contributing ``strategies`` and ``filters``."""
    module = types.ModuleType(name)
    module.summeval_strategies = hookimpl(lambda: list(strategies))
    if filters is not None:
        module.summeval_filters = hookimpl(lambda: dict(filters))
    monkeypatch.setitem(sys.modules, name, module)
    return name


class _Renamed(PromptStrategy):
    def __init__(self, name: str) -> None:
        self.name = name

    def prompt(self, doc, exemplars, options):
        return doc["input"]


# ----------------------------------------------------------------------------- the lm_eval command


@pytest.mark.slow
def test_lm_eval_runs_the_plugin_strategy_with_its_own_filter(tiny_llama, tmp_path):
    out = tmp_path / "out"
    env = offline_env(
        SUMMEVAL_STRATEGY_PLUGINS=PLUGIN,
        PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        SUMMEVAL_CACHE=str(tmp_path / "cache"),
    )
    run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={tiny_llama}",
            "--tasks", TASK,
            "--metadata", json.dumps({"sports_data": "sample"}),
            "--limit", "3",
            "--output_path", str(out),
            "--log_samples",
        ],
        env=env,
    )  # fmt: skip

    scores = read_results(out)[TASK]
    assert 0.0 <= scores["acc,yes_no_answer"] <= 1.0
    assert 0.0 <= scores["invalid,yes_no_answer"] <= 1.0
    assert not any(key.endswith(",answer") for key in scores), "the shared answer filter ran instead"

    from strategy_plugin_example import yes_no_label

    samples = [json.loads(line) for path in out.rglob(f"samples_{TASK}_*.jsonl") for line in path.open()]
    assert len(samples) == 3
    for sample in samples:
        assert sample["filter"] == "yes_no_answer"
        assert sample["doc"]["statement"] in sample["arguments"]["gen_args_0"]["arg_0"]
        assert "Answer yes or no: is this plausible?" in sample["arguments"]["gen_args_0"]["arg_0"]
        assert sample["filtered_resps"] == [yes_no_label(sample["resps"][0][0])]
    assert (tmp_path / "cache" / "plugin_tasks").is_dir()


# ----------------------------------------------------------------------------- in process


def test_the_example_plugin_contributes_its_strategy_and_filter(use_plugins):
    from lm_eval.api.registry import get_filter
    from strategy_plugin_example import YesNoAnswerFilter

    use_plugins(PLUGIN)
    assert set(registry.strategies()) == {s.name for s in BUILTIN_STRATEGIES} | {"yes_no"}
    assert registry.get_strategy("yes_no").primary_filter({"max_gen_toks": 4}) == "yes_no_answer"
    assert "yes_no_answer" in registry.register_lm_eval_filters()
    assert get_filter("yes_no_answer") is YesNoAnswerFilter
    assert get_filter("yes_no_answer")().apply([["Yes!", "no.", "maybe"]], [{}]) == [
        ["plausible", "implausible", "invalid"]
    ]


def test_a_plugin_reusing_a_builtin_name_is_an_error_naming_both(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "duplicate_cot_plugin", [_Renamed("cot")]))
    with pytest.raises(StrategyError, match="strategy 'cot' is registered twice") as raised:
        registry.strategies()
    assert "summeval.builtin" in str(raised.value)
    assert "duplicate_cot_plugin" in str(raised.value)
    with pytest.raises(StrategyError, match="registered twice"):
        registry.get_strategy("fewshot")


def test_two_plugins_with_one_strategy_name_are_an_error(use_plugins, monkeypatch):
    first = _plugin_module(monkeypatch, "first_plugin", [_Renamed("echo")])
    second = _plugin_module(monkeypatch, "second_plugin", [_Renamed("echo")])
    use_plugins(first, second)
    with pytest.raises(StrategyError, match="strategy 'echo' is registered twice") as raised:
        registry.strategies()
    assert "first_plugin" in str(raised.value)
    assert "second_plugin" in str(raised.value)


def test_contributions_come_in_registration_order(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "late_plugin", [_Renamed("late")]))
    assert list(registry.strategies()) == [*(s.name for s in BUILTIN_STRATEGIES), "late"]
    first = _plugin_module(monkeypatch, "first_plugin", [_Renamed("echo")])
    second = _plugin_module(monkeypatch, "second_plugin", [_Renamed("echo")])
    use_plugins(first, second)
    with pytest.raises(StrategyError, match="by first_plugin and by second_plugin"):
        registry.strategies()


def test_a_strategy_name_must_be_an_identifier(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "dashed_plugin", [_Renamed("yes-no")]))
    with pytest.raises(StrategyError, match=r"dashed_plugin: strategy name 'yes-no' is not an identifier"):
        registry.strategies()


def test_a_plugin_filter_may_not_replace_an_lm_eval_filter(use_plugins, monkeypatch):
    import lm_eval.filters  # noqa: F401  (lm-eval's own filters are registered once a task is built)
    from strategy_plugin_example import YesNoAnswerFilter

    use_plugins(_plugin_module(monkeypatch, "take_first_plugin", filters={"take_first": YesNoAnswerFilter}))
    with pytest.raises(StrategyError, match="take_first_plugin: filter 'take_first' is already registered"):
        registry.register_lm_eval_filters()


def test_an_unimportable_plugin_module_is_a_clear_error(use_plugins):
    use_plugins("no_such_strategy_plugin")
    with pytest.raises(
        StrategyError,
        match=r"SUMMEVAL_STRATEGY_PLUGINS: cannot import strategy plugin 'no_such_strategy_plugin'",
    ):
        registry.strategies()


def test_a_broken_plugin_does_not_hide_the_builtin_tasks(use_plugins, capsys):
    from summeval._autoregister import with_summeval_path

    use_plugins("no_such_strategy_plugin")
    assert with_summeval_path(None) == [str(summeval_tasks.task_yamls_dir())]
    warning = capsys.readouterr().err
    assert "strategy plugin tasks not registered" in warning
    assert "no_such_strategy_plugin" in warning


def test_plugin_task_dir_writes_one_yaml_per_plugin_strategy(use_plugins, tmp_path):
    use_plugins()
    assert registry.plugin_task_dir() is None  # built-ins only: every one has its own YAML

    use_plugins(PLUGIN)
    folder = registry.plugin_task_dir()
    assert folder is not None and folder.is_relative_to(tmp_path / "cache" / "plugin_tasks")
    assert sorted(p.name for p in folder.iterdir()) == [f"{TASK}.yaml"]
    config = yaml.safe_load((folder / f"{TASK}.yaml").read_text(encoding="utf-8"))
    template = Path(config["include"])
    assert template.is_absolute()
    assert template == registry.builtin_task_dir() / "_sports_understanding_template.yaml"
    assert template.is_file()
    assert config["task"] == TASK
    assert config["metadata"]["strategy"] == "yes_no"
    assert registry.plugin_task_dir() == folder  # written once, then reused


def test_the_generated_plugin_task_loads_in_lm_eval(use_plugins):
    use_plugins(PLUGIN)
    manager = summeval.task_manager(include_defaults=False, metadata={"sports_data": "sample"})
    assert TASK in manager.all_tasks
    task = manager.load([TASK])["tasks"][TASK]
    doc = next(iter(task.validation_docs()))
    assert task.doc_to_text(doc) == f"{doc['statement']}\nAnswer yes or no: is this plausible?\nAnswer:"
    assert task.config.generation_kwargs["do_sample"] is False
    assert [f["name"] for f in task.config.filter_list] == ["yes_no_answer"]
