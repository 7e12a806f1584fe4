"""Every built-in strategy as an lm-eval task (``summeval.lm_eval.task`` / ``task_dir``), loaded by lm-eval's
own TaskManager from the generated folder: the tasks and groups resolve, each task has its strategy's settings
and options from metadata, prompts end with the doc and never show it as an exemplar, are deterministic,
draw exemplars from the family's pool; a task naming no or an unknown strategy or family is refused; scoring
of filtered and multiple-choice results; tweetsumm's strategies."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from support import TWEETSUMM

import summeval
from prompt_strategies import StrategyError
from prompt_strategies.builtin import BUILTIN_STRATEGIES
from prompt_strategies.exemplars import choose_exemplars
from prompt_strategies.registry import get_family, get_strategy, strategies, task_name, task_table
from summeval.lm_eval.task import StrategyTask, read_result
from summeval.lm_eval.task_dir import generated_task_dir, template_path
from summeval.lm_eval.two_stage import Verdict
from summeval_tasks import task_yamls_dir
from summeval_tasks.sports.answers import LABELS

TASK_DIR = generated_task_dir()
GROUP = "sports_understanding"
FAMILY = get_family(GROUP)
NAMES = [strategy.name for strategy in BUILTIN_STRATEGIES if strategy.applies_to(FAMILY)]
EXEMPLAR_DIR = task_yamls_dir() / GROUP
SHIPPED_EXEMPLARS = EXEMPLAR_DIR / "cot_fewshot_exemplars.json"
# active_prompt needs an exemplar file; the shipped chain-of-thought one has the right shape.
METADATA = {"sports_data": "sample", "active_prompt_exemplars": str(SHIPPED_EXEMPLARS)}
WITH_EXEMPLARS = {"fewshot": 3, "cot_fewshot": 3, "self_consistency": 3, "active_prompt": None}


def _manager(**metadata):
    """summeval's TaskManager without lm-eval's own tasks (fast); ``metadata`` on top of METADATA."""
    return summeval.task_manager(include_defaults=False, metadata={**METADATA, **metadata})


def _load(name: str, **metadata):
    return _manager(**metadata).load([name])["tasks"][name]


@pytest.fixture(scope="module")
def plain_manager():
    """lm-eval's own TaskManager, as ``lm_eval`` builds it: auto-registration must add our tasks."""
    from lm_eval.tasks import TaskManager

    return TaskManager(metadata=METADATA)


@pytest.fixture(scope="module")
def tasks(plain_manager):
    """Every built-in strategy task, loaded by lm-eval on the sample data."""
    return plain_manager.load([task_name(name, GROUP) for name in NAMES])["tasks"]


@pytest.fixture(scope="module")
def statements():
    from summeval_tasks.sports.source import load_statements

    return load_statements("sample")


# ----------------------------------------------------------------------------- names


def test_lm_eval_resolves_every_strategy_task_and_the_group(plain_manager):
    for manager in (plain_manager, _manager()):
        for name in NAMES:
            assert task_name(name, GROUP) in manager.all_tasks
            assert task_name(name, GROUP) in manager.all_subtasks
        assert GROUP in manager.all_groups


def test_instruct_is_the_one_builtin_strategy_that_needs_an_instruction_format():
    assert [s.name for s in BUILTIN_STRATEGIES if s.name not in NAMES] == ["instruct"]
    assert task_name("cot", "sports_understanding") == "sports_understanding_cot"
    assert task_name("cot", "tweetsumm") == "tweetsumm_cot"


def test_each_generated_task_yaml_names_a_registered_strategy_and_each_strategy_has_one():
    files = sorted(TASK_DIR.glob(f"{GROUP}_*.yaml"))
    by_strategy = {}
    for path in files:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        strategy = config["metadata"]["strategy"]
        assert config["task"] == path.stem == task_name(strategy, GROUP), path
        assert config["include"] == str(template_path()), path
        assert config["metadata"]["family"] == GROUP, path
        assert "strategy_options" not in config["metadata"], path
        by_strategy[strategy] = path
    assert set(by_strategy) == set(NAMES)
    assert set(NAMES) <= set(strategies())


def test_the_generated_folder_holds_every_task_of_the_table_and_the_groups():
    table = task_table()
    names = {p.name for p in TASK_DIR.iterdir()}
    assert names == {f"{t}.yaml" for t in table} | {
        "_sports_understanding_group.yaml",
        "_tweetsumm_group.yaml",
    }
    one = yaml.safe_load((TASK_DIR / "tweetsumm_one.yaml").read_text(encoding="utf-8"))
    assert one["metadata"] == {
        "version": 1.0,
        "family": "tweetsumm",
        "strategy": "fewshot",
        "strategy_options": {"k": 1},
    }
    assert template_path().is_file()
    assert generated_task_dir() == TASK_DIR  # written once, then reused


def test_the_group_runs_every_strategy_that_needs_no_exemplar_file():
    config = yaml.safe_load((TASK_DIR / "_sports_understanding_group.yaml").read_text(encoding="utf-8"))
    assert config["group"] == GROUP
    assert set(config["task"]) == {task_name(n, GROUP) for n in NAMES if n != "active_prompt"}
    loaded = _manager().load([GROUP])
    assert set(loaded["group_map"][GROUP]) == set(config["task"])


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("name", NAMES)
def test_the_loaded_task_has_the_strategy_settings(tasks, name):
    task = tasks[task_name(name, GROUP)]
    strategy = get_strategy(name)
    assert task.strategy is strategy
    settings = strategy.lm_eval_settings(FAMILY, strategy.options(METADATA))
    config = task.config
    assert config.output_type == settings["output_type"]
    assert config.repeats == settings.get("repeats", 1)
    assert config.generation_kwargs == settings.get("generation_kwargs")
    assert config.filter_list == settings.get("filter_list")
    pipelines = [f.name for f in task._filters]
    assert pipelines == [f["name"] for f in settings.get("filter_list", [{"name": "none"}])]
    assert strategy.primary_filter(FAMILY, strategy.options(METADATA)) in pipelines
    assert [m["metric"] for m in config.metric_list] == ["acc", "invalid", "acc_two_stage", "agree_two_stage"]


def test_the_settings_of_each_kind_of_strategy(tasks):
    mc = tasks[task_name("answer_only_mc", GROUP)]
    assert mc.config.doc_to_choice == list(LABELS)
    doc = next(iter(mc.eval_docs))
    assert mc.doc_to_target(doc) == LABELS.index(doc["label"])

    direct = tasks[task_name("answer_only", GROUP)].config.generation_kwargs
    assert direct["do_sample"] is False and direct["max_gen_toks"] == 32  # the family's answer budget
    assert direct["until"] == list(FAMILY.answer_stop)

    greedy = tasks[task_name("cot", GROUP)].config.generation_kwargs
    assert greedy["do_sample"] is False and greedy["max_gen_toks"] == 128  # its reasoning budget
    assert greedy["until"] == list(FAMILY.reasoning_stop)
    # After worked exemplars the answer ends where the exemplars do: at the blank line after it.
    for name in ("cot_fewshot", "self_consistency", "active_prompt"):
        until = tasks[task_name(name, GROUP)].config.generation_kwargs["until"]
        assert until == [*FAMILY.reasoning_stop, "\n\n"], name

    sampled = tasks[task_name("self_consistency", GROUP)].config
    assert sampled.repeats == 10
    assert sampled.generation_kwargs["do_sample"] is True
    assert sampled.generation_kwargs["temperature"] == 0.7
    assert [f["name"] for f in sampled.filter_list] == ["maj@10", "first"]
    assert sampled.generation_kwargs["max_gen_toks"] == 128
    assert sampled.filter_list[0]["filter"] == [
        {"function": "summeval_answer", "family": GROUP},
        {"function": "summeval_reduce", "family": GROUP},
        {"function": "take_first"},
    ]


def test_max_gen_toks_set_with_metadata_wins_over_the_family_budget():
    task = _load(task_name("cot", GROUP), cot={"max_gen_toks": 40})
    assert task.config.generation_kwargs["max_gen_toks"] == 40
    with pytest.raises(StrategyError, match="cot: option 'max_gen_toks' must be a positive integer, got 0"):
        get_strategy("cot").options({"cot": {"max_gen_toks": 0}})


def test_options_from_metadata_reach_the_task():
    task = _load(task_name("self_consistency", GROUP), self_consistency={"samples": 4, "temperature": 1})
    assert task.config.repeats == 4
    assert task.config.generation_kwargs["temperature"] == 1.0
    assert [f["name"] for f in task.config.filter_list] == ["maj@4", "first"]


# ----------------------------------------------------------------------------- prompts and exemplars


def _blocks(prompt: str) -> list[str]:
    return prompt.split("\n\n")


def _statement_of_block(block: str) -> str:
    return block.split("\n")[1]  # "Q: <task prefix>", "<statement>", "A: ..."


@pytest.mark.parametrize("name", NAMES)
def test_every_prompt_ends_with_the_doc_itself(tasks, name):
    task = tasks[task_name(name, GROUP)]
    for doc in task.eval_docs:
        prompt = task.doc_to_text(doc)
        assert _blocks(prompt)[-1].startswith(f"Q: {doc['input']}\n")
        assert prompt.count(doc["statement"]) == 1


@pytest.mark.parametrize("name", sorted(WITH_EXEMPLARS))
def test_exemplars_never_show_the_doc_itself(tasks, name, statements):
    task = tasks[task_name(name, GROUP)]
    docs = list(task.eval_docs)
    assert docs
    file_statements = {e["statement"] for e in json.loads(SHIPPED_EXEMPLARS.read_text())["exemplars"]}
    pool = {s.statement for s in statements["train"]} if name == "fewshot" else file_statements
    for doc in docs:
        shots = _blocks(task.doc_to_text(doc))[:-1]
        shown = [_statement_of_block(block) for block in shots]
        assert doc["statement"].lower() not in {s.lower() for s in shown}, doc["id"]
        assert set(shown) <= pool
        expected = WITH_EXEMPLARS[name] or len(file_statements - {doc["statement"]})
        assert len(shots) == expected


@pytest.mark.parametrize("name", sorted(WITH_EXEMPLARS))
def test_prompts_are_deterministic(tasks, name):
    task = tasks[task_name(name, GROUP)]
    docs = list(task.eval_docs)
    first = [task.doc_to_text(doc) for doc in docs]
    assert [task.doc_to_text(doc) for doc in reversed(docs)] == first[::-1]
    reloaded = _load(task_name(name, GROUP))
    assert [reloaded.doc_to_text(doc) for doc in reloaded.eval_docs] == first


def test_fewshot_k_is_set_with_metadata(tasks):
    three = tasks[task_name("fewshot", GROUP)]
    five = _load(task_name("fewshot", GROUP), fewshot={"k": 5})
    assert five.strategy_options.k == 5
    for doc in five.eval_docs:
        shots = _blocks(five.doc_to_text(doc))[:-1]
        assert len(shots) == 5
        assert shots[:3] == _blocks(three.doc_to_text(doc))[:-1]  # more shots keep the first ones
        assert all(block.endswith(("A: plausible", "A: implausible")) for block in shots)


def test_tasks_evaluate_the_family_split_and_draw_exemplars_from_its_pool(tasks, statements):
    task = tasks[task_name("fewshot", GROUP)]
    assert task.config.test_split == FAMILY.eval_split == "validation"
    assert [d["id"] for d in task.eval_docs] == [s.id for s in statements["validation"]]
    assert [d["id"] for d in task.strategy_context.pool] == [s.id for s in statements["train"]]


def test_fewshot_shows_the_choice_of_choose_exemplars_from_the_train_split(tasks):
    task = tasks[task_name("fewshot", GROUP)]
    pool = FAMILY.load({"sports_data": "sample"})["train"]
    for doc in task.eval_docs:
        chosen = choose_exemplars(doc, pool, 3, 1234, FAMILY.same_item)
        expected = "\n\n".join([*(FAMILY.exemplar(e) for e in chosen), FAMILY.question(doc)])
        assert task.doc_to_text(doc) == expected


def test_a_bad_option_fails_when_lm_eval_loads_the_task():
    with pytest.raises(StrategyError, match="cot: unknown option 'samples'"):
        _load(task_name("cot", GROUP), cot={"samples": 3})


def test_self_consistency_needs_a_sample():
    with pytest.raises(StrategyError, match="self_consistency: option 'samples' is 0; it must be at least 1"):
        _load(task_name("self_consistency", GROUP), self_consistency={"samples": 0})


def test_an_unknown_strategy_is_an_error_listing_the_known_ones():
    with pytest.raises(
        StrategyError, match=r"unknown strategy 'tree_of_thought'; known strategies: "
    ) as raised:
        get_strategy("tree_of_thought")
    assert all(name in str(raised.value) for name in NAMES)
    assert "$SUMMEVAL_PLUGINS" in str(raised.value)
    with pytest.raises(StrategyError, match="unknown strategy 'tree_of_thought'"):
        StrategyTask(
            config={
                "task": "sports_understanding_tot",
                "metadata": {"family": "sports_understanding", "strategy": "tree_of_thought"},
            }
        )


def test_an_unknown_family_is_an_error_listing_the_known_ones():
    with pytest.raises(StrategyError, match=r"unknown task family 'chess'; known families: ") as raised:
        get_family("chess")
    assert "sports_understanding" in str(raised.value) and "tweetsumm" in str(raised.value)
    with pytest.raises(StrategyError, match="unknown task family 'chess'"):
        StrategyTask(config={"task": "chess_cot", "metadata": {"family": "chess", "strategy": "cot"}})


def test_a_strategy_that_does_not_apply_to_the_family_is_refused():
    with pytest.raises(StrategyError, match="strategy 'cot' does not apply to the tweetsumm family"):
        StrategyTask(config={"task": "tweetsumm_cot", "metadata": {"family": "tweetsumm", "strategy": "cot"}})


def test_a_task_yaml_must_name_its_strategy():
    with pytest.raises(
        StrategyError, match="task 'sports_understanding_x': its YAML metadata names no strategy"
    ):
        StrategyTask(config={"task": "sports_understanding_x", "metadata": {"version": 1.0}})
    with pytest.raises(StrategyError, match="its YAML metadata names no family .* `summeval task-dir`"):
        StrategyTask(config={"task": "sports_understanding_x", "metadata": {"strategy": "cot"}})


# ----------------------------------------------------------------------------- scoring

DOC = {"id": "v-1", "statement": "s", "input": "i", "label": "implausible"}


@pytest.mark.parametrize(
    ("results", "acc", "invalid"),
    [
        (["implausible"], 1.0, 0.0),
        (["plausible"], 0.0, 0.0),
        (["invalid"], 0.0, 1.0),
        (["So the answer is implausible."], 1.0, 0.0),  # unfiltered text is read too
        (["hmm"], 0.0, 1.0),
        ([], 0.0, 1.0),
    ],
)
@pytest.mark.parametrize("two_stage", ["plausible", "implausible"])
def test_scoring_filtered_results(tasks, results, acc, invalid, two_stage):
    assert FAMILY.score(DOC, read_result(FAMILY, results)) == {"acc": acc, "invalid": invalid}
    # what lm-eval calls: the task's process_results, on answers that carry their second stage
    carried = [Verdict(results[0], two_stage)] if results else [Verdict("invalid", two_stage)]
    expected = {
        "acc": acc,
        "invalid": invalid,
        "acc_two_stage": float(two_stage == DOC["label"]),
        "agree_two_stage": float(not invalid and FAMILY.read_answer(carried[0]) == two_stage),
    }
    assert tasks[task_name("answer_only", GROUP)].config.process_results(DOC, carried) == expected


def test_a_generated_answer_without_its_second_stage_is_refused(tasks):
    with pytest.raises(StrategyError, match="an answer has no two-stage answer"):
        tasks[task_name("answer_only", GROUP)].config.process_results(DOC, ["implausible"])


@pytest.mark.parametrize(
    ("results", "acc"),
    [  # multiple_choice: one (log-likelihood, is_greedy) per label, in LABELS order; its own second stage
        ([(-4.0, False), (-1.5, True)], 1.0),
        ([(-0.2, True), (-3.0, False)], 0.0),
    ],
)
def test_scoring_multiple_choice_results(tasks, results, acc):
    assert FAMILY.score(DOC, read_result(FAMILY, results)) == {"acc": acc, "invalid": 0.0}
    process = tasks[task_name("answer_only_mc", GROUP)].config.process_results
    assert process(DOC, results) == {"acc": acc, "invalid": 0.0, "acc_two_stage": acc, "agree_two_stage": 1.0}


def test_the_multiple_choice_answer_follows_the_label_order():
    assert LABELS == ("plausible", "implausible")
    assert FAMILY.choices == LABELS
    assert read_result(FAMILY, [(-1.0, True), (-2.0, False)]) == "plausible"
    assert read_result(FAMILY, [(-2.0, False), (-1.0, True)]) == "implausible"


def test_self_consistency_refuses_a_temperature_of_zero():
    strategy = get_strategy("self_consistency")
    with pytest.raises(StrategyError, match="option 'temperature' is 0.0; it must be above 0"):
        strategy.options({"self_consistency": {"temperature": 0.0}})
    with pytest.raises(StrategyError, match="temperature must be above 0"):  # a subclass's own options, too
        strategy.lm_eval_settings(FAMILY, dataclasses.replace(strategy.options(), temperature=0.0))


# ----------------------------------------------------------------------------- the tweetsumm pairs

TWEETSUMM_METADATA = {"tweetsumm_data": "sample"}


def test_the_strategies_that_apply_to_tweetsumm():
    applies = [s.name for s in BUILTIN_STRATEGIES if s.applies_to(TWEETSUMM)]
    assert applies == ["answer_only", "fewshot", "self_consistency", "active_prompt", "instruct"]


def test_tweetsumm_self_consistency_samples_the_zero_shot_prompt_and_takes_the_consensus():
    task = _load("tweetsumm_self_consistency", **TWEETSUMM_METADATA)
    config = task.config
    assert config.repeats == 10
    assert config.generation_kwargs["do_sample"] is True
    assert config.generation_kwargs["max_gen_toks"] == 64
    assert config.generation_kwargs["until"] == list(TWEETSUMM.answer_stop)
    assert [f["name"] for f in config.filter_list] == ["consensus@10", "first"]
    assert config.filter_list[0]["filter"][1] == {"function": "summeval_reduce", "family": "tweetsumm"}
    assert [m["metric"] for m in config.metric_list] == list(TWEETSUMM.metrics)
    doc = next(iter(task.test_docs()))
    assert task.doc_to_text(doc) == TWEETSUMM.direct_question(doc)  # no reasoning: no exemplars


def test_tweetsumm_fewshot_shows_k_seeded_train_dialogs():
    task = _load("tweetsumm_fewshot", fewshot={"k": 2, "seed": 5}, **TWEETSUMM_METADATA)
    pool = TWEETSUMM.load(TWEETSUMM_METADATA)["train"]
    for doc in task.test_docs():
        chosen = choose_exemplars(doc, pool, 2, 5, TWEETSUMM.same_item)
        expected = "\n\n".join([*(TWEETSUMM.exemplar(e) for e in chosen), TWEETSUMM.question(doc)])
        assert task.doc_to_text(doc) == expected


def test_the_tweetsumm_reduce_filter_takes_the_consensus_summary():
    from lm_eval.api.registry import get_filter

    from summeval.lm_eval.task_dir import register_lm_eval_filters

    register_lm_eval_filters()
    samples = [["a dog barked\nCustomer: more", " the cat sat on the mat", "the cat was on the mat"]]
    answers = get_filter("summeval_answer")(family="tweetsumm").apply(samples, [{}])
    assert answers == [["a dog barked", "the cat sat on the mat", "the cat was on the mat"]]
    assert get_filter("summeval_reduce")(family="tweetsumm").apply(answers, [{}]) == [
        ["the cat sat on the mat"]
    ]
