"""Third-party plugins: found through $SUMMEVAL_PLUGINS, run by the real lm_eval command.

The strategy plugin is ``strategy_plugin_example.py`` beside this file: the strategy ``yes_no`` (for the
sports_understanding family) with its own filter ``yes_no_answer``, contributed through the same hooks
as the built-ins. Family plugins are made in the tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import types
from pathlib import Path

import pytest
import yaml
from support import TESTS, offline_env, read_results, run_lm_eval

import summeval
from prompt_strategies import PromptStrategy, StrategyError, StrategyOptions, hookimpl, registry
from prompt_strategies.builtin import BUILTIN_STRATEGIES
from prompt_strategies.exemplars import choose_exemplars
from summeval.lm_eval import task_dir
from summeval.lm_eval.two_stage import Verdict
from summeval_tasks.contract import TaskFamily
from summeval_tasks.sports.family import SPORTS_UNDERSTANDING
from summeval_tasks.tweetsumm.family import TWEETSUMM

PLUGIN = "strategy_plugin_example"
TASK = "sports_understanding_yes_no"


def _clear_registry_caches() -> None:
    registry.reset()


@pytest.fixture
def use_plugins(monkeypatch, tmp_path):
    """``use_plugins("a", "b")`` sets $SUMMEVAL_PLUGINS for this test; the registry is rebuilt.

    The registry's caches are cleared before, on every change, and after, so that no other test sees
    this test's plugins; generated tasks go to a fresh $SUMMEVAL_CACHE.
    """
    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(registry.PLUGINS_ENV, raising=False)

    def use(*module_names: str) -> None:
        monkeypatch.setenv(registry.PLUGINS_ENV, ",".join(module_names))
        _clear_registry_caches()

    _clear_registry_caches()
    yield use
    _clear_registry_caches()


def _plugin_module(monkeypatch, name: str, strategies=(), filters=None, families=None) -> str:
    """An importable plugin module called ``name`` contributing ``strategies``, ``filters``, ``families``."""
    module = types.ModuleType(name)
    module.summeval_strategies = hookimpl(lambda: list(strategies))
    if filters is not None:
        module.summeval_filters = hookimpl(lambda: dict(filters))
    if families is not None:
        module.summeval_task_families = hookimpl(lambda: list(families))
    monkeypatch.setitem(sys.modules, name, module)
    return name


class _Renamed(PromptStrategy):
    def __init__(self, name: str) -> None:
        self.name = name

    def prompt(self, doc, family, exemplars, options):
        return family.question(doc)


class _Riddles(TaskFamily):
    """A third-party family: riddles with one-word answers, scored by exact match."""

    description = "Riddles (a test family)."
    metrics = {"exact": True}
    primary_metric = "exact"
    exemplar_fields = ("id", "riddle", "answer")

    def __init__(self, name: str = "riddles") -> None:
        self.name = name

    def load(self, metadata):
        def docs(split, n):
            return [
                {"id": f"{split}-{i}", "riddle": f"riddle {split} {i}", "answer": f"a{i}"} for i in range(n)
            ]

        return {"train": docs("train", 6), "test": docs("test", 3)}

    def question(self, doc):
        return f"Riddle: {doc['riddle']}\nAnswer:"

    def answer_text(self, doc):
        return doc["answer"]

    def read_answer(self, text):
        return str(text or "").strip().lower()

    def score(self, doc, answer):
        return {"exact": float(answer == doc["answer"])}


# ----------------------------------------------------------------------------- the lm_eval command


@pytest.mark.slow
def test_lm_eval_runs_the_plugin_strategy_with_its_own_filter(tiny_llama, tmp_path):
    out = tmp_path / "out"
    env = offline_env(
        SUMMEVAL_PLUGINS=PLUGIN,
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
    # its own filter's answers get their second stage too (the family's labels, scored on the model)
    assert 0.0 <= scores["acc_two_stage,yes_no_answer"] <= 1.0
    assert not any(key.endswith(",answer") for key in scores), "the shared answer filter ran instead"

    from strategy_plugin_example import yes_no_label

    samples = [json.loads(line) for path in out.rglob(f"samples_{TASK}_*.jsonl") for line in path.open()]
    assert len(samples) == 3
    for sample in samples:
        assert sample["filter"] == "yes_no_answer"
        assert sample["doc"]["statement"] in sample["arguments"]["gen_args_0"]["arg_0"]
        assert "Answer yes or no: is this plausible?" in sample["arguments"]["gen_args_0"]["arg_0"]
        assert sample["filtered_resps"] == [yes_no_label(sample["resps"][0][0])]
    assert (tmp_path / "cache" / "tasks").is_dir()  # the generated tasks, plugin pairs included


# ----------------------------------------------------------------------------- in process


def test_the_example_plugin_contributes_its_strategy_and_filter(use_plugins):
    from lm_eval.api.registry import get_filter
    from strategy_plugin_example import YesNoAnswerFilter

    use_plugins(PLUGIN)
    assert set(registry.strategies()) == {s.name for s in BUILTIN_STRATEGIES} | {"yes_no"}
    assert registry.owners("strategy")["yes_no"] == PLUGIN
    sports = registry.get_family("sports_understanding")
    yes_no = registry.get_strategy("yes_no")
    assert yes_no.primary_filter(sports, yes_no.options()) == "yes_no_answer"
    assert "yes_no_answer" in task_dir.register_lm_eval_filters()
    assert get_filter("yes_no_answer") is YesNoAnswerFilter
    assert get_filter("yes_no_answer")().apply([["Yes!", "no.", "maybe"]], [{}]) == [
        ["plausible", "implausible", "invalid"]
    ]


def test_the_example_strategy_applies_to_sports_only(use_plugins):
    use_plugins(PLUGIN)
    table = registry.task_table()
    assert table[TASK] == {"family": "sports_understanding", "strategy": "yes_no", "options": {}}
    assert "tweetsumm_yes_no" not in table
    assert "yes_no" in registry.applicable_strategies(registry.get_family("sports_understanding"))
    assert "yes_no" not in registry.applicable_strategies(registry.get_family("tweetsumm"))


def test_the_builtins_are_registered_as_plugins_under_their_names(use_plugins):
    use_plugins()
    assert registry.owners("strategy")["cot"] == "summeval.builtin:prompt_strategies.builtin"
    assert registry.owners("family")["tweetsumm"] == "summeval.builtin:summeval_tasks.tweetsumm.family"
    assert (
        registry.owners("family")["sports_understanding"] == "summeval.builtin:summeval_tasks.sports.family"
    )
    assert list(registry.families().values()) == [TWEETSUMM, SPORTS_UNDERSTANDING]


def test_a_plugin_reusing_a_builtin_name_is_an_error_naming_both(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "duplicate_cot_plugin", [_Renamed("cot")]))
    with pytest.raises(StrategyError, match="strategy 'cot' is registered twice") as raised:
        registry.strategies()
    assert "summeval.builtin:prompt_strategies.builtin" in str(raised.value)
    assert "duplicate_cot_plugin" in str(raised.value)
    with pytest.raises(StrategyError, match="registered twice"):
        registry.get_strategy("fewshot")


def test_a_plugin_reusing_a_builtin_family_name_is_an_error_naming_both(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "duplicate_family_plugin", families=[_Riddles("tweetsumm")]))
    with pytest.raises(
        StrategyError,
        match="family 'tweetsumm' is registered twice: by summeval.builtin:summeval_tasks.tweetsumm.family "
        "and by duplicate_family_plugin",
    ):
        registry.families()


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


def test_a_family_name_must_be_an_identifier(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "dashed_family_plugin", families=[_Riddles("my-riddles")]))
    with pytest.raises(
        StrategyError, match=r"dashed_family_plugin: family name 'my-riddles' is not an identifier"
    ):
        registry.families()


@pytest.mark.parametrize("attribute", registry.STRATEGY_NAMING_ATTRIBUTES)
def test_a_family_that_names_strategies_is_left_out_naming_the_task_names_file(
    use_plugins, monkeypatch, capsys, attribute
):
    family = _Riddles()
    setattr(family, attribute, {})  # even empty: the attribute itself is the old contract
    use_plugins(_plugin_module(monkeypatch, "naming_plugin", families=[family]))
    assert "riddles" not in registry.families() and "tweetsumm" in registry.families()
    message = (
        f"its family riddles sets {attribute}: families name no strategy; task names, groups and "
        "metadata keys belong in prompt_strategies/task_names.yaml"
    )
    assert registry.plugin_failures()["naming_plugin"] == message
    assert f"summeval: plugin naming_plugin left out: {message}" in capsys.readouterr().err


@dataclasses.dataclass(frozen=True)
class _NotStrategyOptions:  # a dataclass, but not a StrategyOptions (Python itself refuses an unfrozen one)
    k: int = 1


class _Undecorated(StrategyOptions):
    k: int = 1  # not a field: without @dataclass the option would be dropped silently


@pytest.mark.parametrize(
    "attributes, says",
    [
        ({"defaults": {"k": 1}}, "sets defaults"),
        ({"option_ranges": {}}, "sets option_ranges"),
        ({"Options": dict}, "has Options = <class 'dict'>"),
        ({"Options": _NotStrategyOptions}, "has Options = <class"),
        ({"Options": _Undecorated}, "has Options = <class"),
    ],
)
def test_a_strategy_with_options_not_one_frozen_dataclass_is_left_out(
    use_plugins, monkeypatch, attributes, says
):
    strategy = _Renamed("old_options")
    for name, value in attributes.items():
        setattr(strategy, name, value)
    use_plugins(_plugin_module(monkeypatch, "old_options_plugin", strategies=[strategy]))
    assert "old_options" not in registry.strategies() and "cot" in registry.strategies()
    failure = registry.plugin_failures()["old_options_plugin"]
    assert failure.startswith(f"its strategy old_options {says}") and "one frozen dataclass" in failure


def test_a_strategy_may_have_an_attribute_a_family_may_not(use_plugins, monkeypatch):
    strategy = _Renamed("aliased")
    strategy.aliases = {}  # only families name no strategy; a strategy's own attributes are its business
    use_plugins(_plugin_module(monkeypatch, "aliased_plugin", [strategy]))
    assert "aliased" in registry.strategies() and "aliased_plugin" not in registry.plugin_failures()


def test_task_names_of_the_builtin_families_come_from_the_data_file_and_a_plugin_family_has_none(
    use_plugins, monkeypatch
):
    tweetsumm = registry.family_tasks(TWEETSUMM)
    assert tweetsumm.aliases["tweetsumm_one"] == ("fewshot", {"k": 1})
    assert tweetsumm.group == ("tweetsumm_zero", "tweetsumm_one", "tweetsumm_instruct")
    assert tweetsumm.metadata_options == {"tweetsumm_seed": ("fewshot", "seed")}
    assert "self_consistency" in registry.family_tasks(SPORTS_UNDERSTANDING).group_strategies
    assert not any(
        hasattr(f, a) for f in (TWEETSUMM, SPORTS_UNDERSTANDING) for a in registry.STRATEGY_NAMING_ATTRIBUTES
    )
    use_plugins(_plugin_module(monkeypatch, "riddles_plugin", families=[_Riddles()]))
    assert registry.family_tasks(registry.get_family("riddles")) == registry.FamilyTasks()


def test_a_plugin_filter_may_not_replace_an_lm_eval_filter(use_plugins, monkeypatch):
    import lm_eval.filters  # noqa: F401  (lm-eval's own filters are registered once a task is built)
    from strategy_plugin_example import YesNoAnswerFilter

    use_plugins(_plugin_module(monkeypatch, "take_first_plugin", filters={"take_first": YesNoAnswerFilter}))
    with pytest.raises(StrategyError, match="take_first_plugin: filter 'take_first' is already registered"):
        task_dir.register_lm_eval_filters()


def test_an_unimportable_plugin_module_is_named_in_one_line_and_left_out(use_plugins, capsys):
    use_plugins("no_such_strategy_plugin")
    assert set(registry.strategies()) >= {"answer_only", "fewshot", "self_consistency"}
    lines = [line for line in capsys.readouterr().err.splitlines() if "no_such_strategy_plugin" in line]
    assert lines == [
        "summeval: plugin no_such_strategy_plugin (from $SUMMEVAL_PLUGINS) left out: cannot import it: "
        "ModuleNotFoundError: No module named 'no_such_strategy_plugin'"
    ]
    assert "no_such_strategy_plugin (from $SUMMEVAL_PLUGINS)" in registry.plugin_failures()


def test_a_broken_plugin_is_named_and_lm_eval_still_starts(use_plugins, capsys):
    from lm_eval.tasks import TaskManager

    from summeval.lm_eval.startup import with_summeval_path

    use_plugins("no_such_strategy_plugin")
    with_summeval_path(None)
    TaskManager(include_path=str(TESTS / "no_tasks_here"))
    warning = capsys.readouterr().err
    assert "summeval: plugin no_such_strategy_plugin (from $SUMMEVAL_PLUGINS) left out" in warning


def test_a_broken_plugin_does_not_hide_the_builtin_tasks(use_plugins):
    from summeval.lm_eval.startup import with_summeval_path

    use_plugins()
    builtin_only = with_summeval_path(None)
    use_plugins("no_such_strategy_plugin")
    assert with_summeval_path(None) == builtin_only


def test_generated_task_dir_writes_one_yaml_per_plugin_pair(use_plugins, tmp_path):
    use_plugins()
    builtin_only = task_dir.generated_task_dir()
    assert not (builtin_only / f"{TASK}.yaml").exists()

    use_plugins(PLUGIN)
    folder = task_dir.generated_task_dir()
    assert folder != builtin_only  # keyed by content
    assert folder.is_relative_to(tmp_path / "cache" / "tasks")
    names = sorted(p.name for p in folder.iterdir())
    assert sorted(set(names) - {p.name for p in builtin_only.iterdir()}) == [f"{TASK}.yaml"]
    config = yaml.safe_load((folder / f"{TASK}.yaml").read_text(encoding="utf-8"))
    template = Path(config["include"])
    assert template.is_absolute()
    assert template == task_dir.template_path()
    assert template.is_file()
    assert config["task"] == TASK
    assert config["metadata"]["strategy"] == "yes_no"
    assert config["metadata"]["family"] == "sports_understanding"
    group = yaml.safe_load((folder / "_sports_understanding_group.yaml").read_text(encoding="utf-8"))
    assert TASK not in group["task"]  # the family fixes its group
    assert task_dir.generated_task_dir() == folder  # written once, then reused


def test_the_generated_plugin_task_loads_in_lm_eval(use_plugins):
    use_plugins(PLUGIN)
    manager = summeval.task_manager(include_defaults=False, metadata={"sports_data": "sample"})
    assert TASK in manager.all_tasks
    task = manager.load([TASK])["tasks"][TASK]
    doc = next(iter(task.eval_docs))
    assert task.doc_to_text(doc) == f"{doc['statement']}\nAnswer yes or no: is this plausible?\nAnswer:"
    assert task.config.generation_kwargs["do_sample"] is False
    assert [f["name"] for f in task.config.filter_list] == ["yes_no_answer"]
    # a plugin strategy's answers get their second stage through the same path as ours
    assert task.score(doc, [Verdict(doc["label"], doc["label"])]) == {
        "acc": 1.0,
        "invalid": 0.0,
        "acc_two_stage": 1.0,
        "agree_two_stage": 1.0,
    }


def test_a_plugin_family_gets_a_task_for_every_strategy_that_applies(use_plugins, monkeypatch):
    use_plugins(_plugin_module(monkeypatch, "riddles_plugin", families=[_Riddles()]))
    assert registry.owners("family")["riddles"] == "riddles_plugin"
    riddles = {t for t, entry in registry.task_table().items() if entry["family"] == "riddles"}
    # no reasoning, no fixed choices, no instruction format: no cot, cot_fewshot, mc or instruct
    assert riddles == {
        "riddles_answer_only",
        "riddles_fewshot",
        "riddles_self_consistency",
        "riddles_active_prompt",
    }
    group = yaml.safe_load(
        (task_dir.generated_task_dir() / "_riddles_group.yaml").read_text(encoding="utf-8")
    )
    assert group["group"] == "riddles"
    assert set(group["task"]) == riddles - {"riddles_active_prompt"}


class _Chosen(_Renamed):
    """A plugin strategy that, like active_prompt, selects its exemplars on the model first."""

    selects_exemplars = True


def test_a_plugin_strategy_that_selects_exemplars_is_left_out_of_the_group(use_plugins, monkeypatch):
    use_plugins(
        _plugin_module(monkeypatch, "chosen_plugin", strategies=[_Chosen("chosen")], families=[_Riddles()])
    )
    tasks = {t for t, entry in registry.task_table().items() if entry["family"] == "riddles"}
    assert "riddles_chosen" in tasks
    group = registry.group_members(registry.get_family("riddles"))
    assert set(group) == tasks - {"riddles_active_prompt", "riddles_chosen"}


def test_a_plugin_family_runs_in_lm_eval_with_the_builtin_strategies(use_plugins, monkeypatch):
    family = _Riddles()
    use_plugins(_plugin_module(monkeypatch, "riddles_plugin", families=[family]))
    manager = summeval.task_manager(include_defaults=False, metadata={"fewshot": {"k": 2}})
    task = manager.load(["riddles_fewshot"])["tasks"]["riddles_fewshot"]
    docs = list(task.test_docs())
    assert [d["id"] for d in docs] == ["test-0", "test-1", "test-2"]
    pool = family.load({})["train"]
    for doc in docs:
        chosen = choose_exemplars(doc, pool, 2, 1234, family.same_item)
        assert task.doc_to_text(doc) == "\n\n".join(
            [*(family.exemplar(e) for e in chosen), family.question(doc)]
        )
    assert task.config.generation_kwargs["max_gen_toks"] == family.answer_tokens
    assert [m["metric"] for m in task.config.metric_list] == ["exact"]
    assert task.score(docs[0], [" A0 "]) == {"exact": 1.0}
    assert task.score(docs[0], ["a1"]) == {"exact": 0.0}


def test_a_plugin_options_max_gen_toks_and_seed_are_bounded_without_a_range_of_their_own():
    @dataclasses.dataclass(frozen=True)
    class Loose(StrategyOptions):
        max_gen_toks: int = 4  # a plain field: no option(), no range
        seed: int = 0

    strategy = _Renamed("loose")
    strategy.Options = Loose
    with pytest.raises(
        StrategyError, match="option 'max_gen_toks' is 0; it must be at least 1 and at most 32768"
    ):
        strategy.options({"loose": {"max_gen_toks": 0}})
    with pytest.raises(StrategyError, match=r"option 'seed' is -1; it must be at least 0"):
        strategy.options({"loose": {"seed": -1}})
    assert strategy.options({"loose": {"max_gen_toks": 8, "seed": 3}}) == Loose(8, 3)
