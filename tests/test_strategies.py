"""The built-in strategies as lm-eval tasks: names, settings, prompts, exemplars, options and their errors."""

from __future__ import annotations

import json

import pytest
import yaml

import summeval
from prompt_strategies import StrategyError, TaskContext
from prompt_strategies.builtin import BUILTIN_STRATEGIES, LABEL_CHOICES
from prompt_strategies.exemplars import choose_exemplars, read_exemplar_file, write_exemplar_file
from prompt_strategies.lm_eval_task import StrategyTask, predicted_label, process_results
from prompt_strategies.registry import builtin_task_dir, get_strategy, strategies, task_name

TASK_DIR = builtin_task_dir()
GROUP = "sports_understanding"
NAMES = [strategy.name for strategy in BUILTIN_STRATEGIES]
SHIPPED_EXEMPLARS = TASK_DIR / "cot_fewshot_exemplars.json"
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
    return plain_manager.load([task_name(name) for name in NAMES])["tasks"]


@pytest.fixture(scope="module")
def statements():
    from summeval_tasks.sports import load_statements

    return load_statements("sample")


# ----------------------------------------------------------------------------- names


def test_lm_eval_resolves_every_strategy_task_and_the_group(plain_manager):
    for manager in (plain_manager, _manager()):
        for name in NAMES:
            assert task_name(name) in manager.all_tasks
            assert task_name(name) in manager.all_subtasks
        assert GROUP in manager.all_groups


def test_each_task_yaml_names_a_registered_strategy_and_each_strategy_has_one():
    files = sorted(TASK_DIR.glob(f"{GROUP}_*.yaml"))
    by_strategy = {}
    for path in files:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        strategy = config["metadata"]["strategy"]
        assert config["task"] == path.stem == task_name(strategy), path
        assert config["include"] == "_sports_understanding_template.yaml", path
        by_strategy[strategy] = path
    assert set(by_strategy) == set(NAMES)
    assert set(NAMES) <= set(strategies())


def test_the_group_runs_every_strategy_that_needs_no_exemplar_file():
    config = yaml.safe_load((TASK_DIR / "_sports_understanding.yaml").read_text(encoding="utf-8"))
    assert config["group"] == GROUP
    assert set(config["task"]) == {task_name(n) for n in NAMES if n != "active_prompt"}
    loaded = _manager().load([GROUP])
    assert set(loaded["group_map"][GROUP]) == set(config["task"])


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("name", NAMES)
def test_the_loaded_task_has_the_strategy_settings(tasks, name):
    task = tasks[task_name(name)]
    strategy = get_strategy(name)
    assert task.strategy is strategy
    settings = strategy.lm_eval_settings(strategy.options(METADATA))
    config = task.config
    assert config.output_type == settings["output_type"]
    assert config.repeats == settings.get("repeats", 1)
    assert config.generation_kwargs == settings.get("generation_kwargs")
    assert config.filter_list == settings.get("filter_list")
    pipelines = [f.name for f in task._filters]
    assert pipelines == [f["name"] for f in settings.get("filter_list", [{"name": "none"}])]
    assert strategy.primary_filter(strategy.options(METADATA)) in pipelines
    assert [m["metric"] for m in config.metric_list] == ["acc", "invalid"]


def test_the_settings_of_each_kind_of_strategy(tasks):
    mc = tasks[task_name("answer_only_mc")]
    assert mc.config.doc_to_choice == LABEL_CHOICES
    doc = next(iter(mc.validation_docs()))
    assert mc.doc_to_target(doc) == LABEL_CHOICES.index(doc["label"])

    greedy = tasks[task_name("cot")].config.generation_kwargs
    assert greedy["do_sample"] is False and greedy["max_gen_toks"] == 128

    sampled = tasks[task_name("self_consistency")].config
    assert sampled.repeats == 10
    assert sampled.generation_kwargs["do_sample"] is True
    assert sampled.generation_kwargs["temperature"] == 0.7
    assert [f["name"] for f in sampled.filter_list] == ["maj@10", "first"]


def test_options_from_metadata_reach_the_task():
    task = _load(task_name("self_consistency"), self_consistency={"samples": 4, "temperature": 1})
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
    task = tasks[task_name(name)]
    for doc in task.validation_docs():
        prompt = task.doc_to_text(doc)
        assert _blocks(prompt)[-1].startswith(f"Q: {doc['input']}\n")
        assert prompt.count(doc["statement"]) == 1


@pytest.mark.parametrize("name", sorted(WITH_EXEMPLARS))
def test_exemplars_never_show_the_doc_itself(tasks, name, statements):
    task = tasks[task_name(name)]
    docs = list(task.validation_docs())
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
    task = tasks[task_name(name)]
    docs = list(task.validation_docs())
    first = [task.doc_to_text(doc) for doc in docs]
    assert [task.doc_to_text(doc) for doc in reversed(docs)] == first[::-1]
    reloaded = _load(task_name(name))
    assert [reloaded.doc_to_text(doc) for doc in reloaded.validation_docs()] == first


def test_fewshot_k_is_set_with_metadata(tasks):
    three = tasks[task_name("fewshot")]
    five = _load(task_name("fewshot"), fewshot={"k": 5})
    assert five.strategy_options["k"] == 5
    for doc in five.validation_docs():
        shots = _blocks(five.doc_to_text(doc))[:-1]
        assert len(shots) == 5
        assert shots[:3] == _blocks(three.doc_to_text(doc))[:-1]  # more shots keep the first ones
        assert all(block.endswith(("A: plausible", "A: implausible")) for block in shots)


def test_options_may_be_given_as_a_json_string():
    assert get_strategy("fewshot").options({"fewshot": '{"k": 2}'})["k"] == 2


# ----------------------------------------------------------------------------- option errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kk": 5}, r"fewshot: unknown option 'kk' \(options: k, max_gen_toks, seed\)"),
        ({"k": "5"}, r"fewshot: option 'k' must be int, got '5'"),
        ({"k": 2.5}, r"fewshot: option 'k' must be int, got 2.5"),
        ({"k": True}, r"fewshot: option 'k' must be int, got True"),
        ("[1, 2]", r"fewshot: options must be a JSON object, got \[1, 2\]"),
        ("{k: 5}", r"fewshot: options must be a JSON object, got '\{k: 5\}'"),
    ],
)
def test_bad_options_are_errors_naming_the_option(options, message):
    with pytest.raises(StrategyError, match=message):
        get_strategy("fewshot").options({"fewshot": options})


def test_a_bad_option_fails_when_lm_eval_loads_the_task():
    with pytest.raises(StrategyError, match="cot: unknown option 'samples'"):
        _load(task_name("cot"), cot={"samples": 3})


def test_self_consistency_needs_a_sample():
    with pytest.raises(StrategyError, match="self_consistency: samples must be at least 1, got 0"):
        _load(task_name("self_consistency"), self_consistency={"samples": 0})


def test_an_unknown_strategy_is_an_error_listing_the_known_ones():
    with pytest.raises(
        StrategyError, match=r"unknown strategy 'tree_of_thought'; known strategies: "
    ) as raised:
        get_strategy("tree_of_thought")
    assert all(name in str(raised.value) for name in NAMES)
    assert "SUMMEVAL_STRATEGY_PLUGINS" in str(raised.value)
    with pytest.raises(StrategyError, match="unknown strategy 'tree_of_thought'"):
        StrategyTask(config={"task": "sports_understanding_tot", "metadata": {"strategy": "tree_of_thought"}})


def test_a_task_yaml_must_name_its_strategy():
    with pytest.raises(
        StrategyError, match="task 'sports_understanding_x': its YAML metadata names no strategy"
    ):
        StrategyTask(config={"task": "sports_understanding_x", "metadata": {"version": 1.0}})


# ----------------------------------------------------------------------------- choose_exemplars

POOL = [
    {
        "id": f"train-{i:02d}",
        "statement": f"Player {i} scored a goal",
        "input": f"Q {i}",
        "label": "plausible",
    }
    for i in range(10)
]


def test_choose_exemplars_never_picks_the_same_id_or_statement():
    doc = {"id": "train-03", "statement": "Player 5 scored  a GOAL ", "input": "Q x", "label": "plausible"}
    chosen = choose_exemplars(doc, POOL, k=8, seed=1)
    assert {e["id"] for e in chosen} == {e["id"] for e in POOL} - {"train-03", "train-05"}
    same_input = {"id": "other", "input": "q 7"}
    assert "train-07" not in {e["id"] for e in choose_exemplars(same_input, POOL, k=9, seed=1)}


def test_choose_exemplars_depends_on_seed_and_doc_only():
    doc = {"id": "validation-01", "statement": "Someone else", "input": "Q v"}
    chosen = choose_exemplars(doc, POOL, k=4, seed=7)
    assert choose_exemplars(doc, list(reversed(POOL)), k=4, seed=7) == chosen
    assert choose_exemplars(doc, POOL, k=6, seed=7)[:4] == chosen
    assert choose_exemplars(doc, POOL, k=4, seed=8) != chosen
    assert choose_exemplars(doc, POOL, k=0, seed=7) == []


def test_choose_exemplars_refuses_a_pool_too_small():
    doc = {"id": "train-00", "statement": "Player 0 scored a goal"}
    with pytest.raises(
        StrategyError, match="10 exemplars requested for 'train-00' but the training pool has only 9"
    ):
        choose_exemplars(doc, POOL, k=10, seed=1)


# ----------------------------------------------------------------------------- exemplar files


def _entry(**changes):
    entry = {
        "id": "x-1",
        "input": "Determine whether ...\nTom Brady threw a touchdown",
        "label": "plausible",
        "rationale": "Tom Brady is a football quarterback. So the answer is plausible.",
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid UTF-8 JSON"),
        ("[]", 'has no "exemplars" list'),
        ('{"description": "no exemplars"}', 'has no "exemplars" list'),
        ('{"exemplars": []}', 'has no "exemplars" list'),
        ('{"exemplars": ["just text"]}', "entry 0 is not an object"),
        (
            json.dumps({"exemplars": [_entry(), _entry(rationale=None, label=" ")]}),
            r"entry 1 has no label, rationale \(each needs id, input, label, rationale\)",
        ),
        (
            json.dumps({"exemplars": [_entry(label="maybe")]}),
            "label 'maybe' is not one of plausible, implausible",
        ),
        (
            json.dumps({"exemplars": [_entry(label="implausible")]}),
            r"entry 0: the rationale concludes 'plausible' but the label is 'implausible'; "
            r'end it with "So the answer is implausible\."',
        ),
        (
            json.dumps({"exemplars": [_entry(rationale="Tom Brady plays football.")]}),
            "the rationale concludes 'invalid' but the label is 'plausible'",
        ),
    ],
)
def test_bad_exemplar_files_are_errors_naming_the_file_and_entry(tmp_path, content, message):
    path = tmp_path / "exemplars.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StrategyError, match=message) as raised:
        read_exemplar_file(path)
    assert str(path) in str(raised.value)


def test_a_missing_exemplar_file_is_an_error(tmp_path):
    with pytest.raises(StrategyError, match=r"exemplar file .*nowhere\.json does not exist"):
        read_exemplar_file(tmp_path / "nowhere.json")


def test_the_shipped_exemplar_file_is_valid():
    entries = read_exemplar_file(SHIPPED_EXEMPLARS)
    assert len(entries) >= get_strategy("cot_fewshot").defaults["k"]
    assert {e["label"] for e in entries} == set(LABEL_CHOICES)
    assert all(e["rationale"].endswith(f"So the answer is {e['label']}.") for e in entries)


def test_written_exemplar_files_read_back(tmp_path):
    data = {"exemplars": [_entry(), _entry(id="x-2", label="implausible", rationale="So implausible.")]}
    path = write_exemplar_file(tmp_path / "sub" / "chosen.json", data)
    assert read_exemplar_file(path) == data["exemplars"]


def test_relative_exemplar_files_are_found_beside_the_task_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    context = TaskContext(config_dir=TASK_DIR)
    assert context.resolve("cot_fewshot_exemplars.json") == SHIPPED_EXEMPLARS


def test_active_prompt_without_an_exemplar_file_says_how_to_make_one():
    strategy = get_strategy("active_prompt")
    options = strategy.options({})
    doc = {"id": "v", "statement": "s", "input": "i", "label": "plausible"}
    with pytest.raises(StrategyError, match="active_prompt: no exemplar file") as raised:
        strategy.exemplars(doc, TaskContext(), options)
    assert "summeval active-prompt select" in str(raised.value)
    assert '"active_prompt_exemplars": "exemplars.json"' in str(raised.value)
    with pytest.raises(StrategyError, match="summeval active-prompt select"):
        _load(task_name("active_prompt"), active_prompt_exemplars="")


def test_active_prompt_reads_the_file_named_in_its_options(tmp_path):
    assert get_strategy("active_prompt").options({"active_prompt": {"exemplars_file": "a.json"}}) == {
        "k": -1,
        "exemplars_file": "a.json",
        "max_gen_toks": 128,
    }
    missing = tmp_path / "missing.json"
    with pytest.raises(StrategyError, match="does not exist"):
        _load(task_name("active_prompt"), active_prompt_exemplars=str(missing))


# ----------------------------------------------------------------------------- process_results

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
        # multiple_choice: one (log-likelihood, is_greedy) per label, in LABEL_CHOICES order
        ([(-4.0, False), (-1.5, True)], 1.0, 0.0),
        ([(-0.2, True), (-3.0, False)], 0.0, 0.0),
    ],
)
def test_process_results(results, acc, invalid):
    assert process_results(DOC, results) == {"acc": acc, "invalid": invalid}


def test_predicted_label_of_multiple_choice_follows_the_label_order():
    assert LABEL_CHOICES == ["plausible", "implausible"]
    assert predicted_label([(-1.0, True), (-2.0, False)]) == "plausible"
    assert predicted_label([(-2.0, False), (-1.0, True)]) == "implausible"


def test_relative_files_are_found_beside_the_yaml_then_in_the_builtin_folder(tmp_path):
    from prompt_strategies.registry import builtin_task_dir
    from prompt_strategies.strategy import TaskContext

    plugin_dir = tmp_path / "plugin_tasks"  # where a generated plugin task YAML lives
    plugin_dir.mkdir()
    context = TaskContext(config_dir=plugin_dir)
    assert context.resolve("cot_fewshot_exemplars.json") == builtin_task_dir() / "cot_fewshot_exemplars.json"
    (plugin_dir / "cot_fewshot_exemplars.json").write_text("{}")
    assert context.resolve("cot_fewshot_exemplars.json") == plugin_dir / "cot_fewshot_exemplars.json"
    with pytest.raises(StrategyError, match="not found; looked in") as raised:
        context.resolve("nowhere.json")
    assert str(plugin_dir) in str(raised.value) and str(builtin_task_dir()) in str(raised.value)


def test_self_consistency_refuses_a_temperature_of_zero():
    from prompt_strategies.registry import get_strategy

    strategy = get_strategy("self_consistency")
    with pytest.raises(StrategyError, match="temperature must be above 0"):
        strategy.lm_eval_settings(strategy.options({"self_consistency": {"temperature": 0.0}}))
