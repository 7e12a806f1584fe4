"""Our tasks resolve through lm-eval's own TaskManager and CLI, with and without auto-registration."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import lm_eval_command, offline_env

import summeval
from prompt_strategies.registry import task_table
from summeval.lm_eval.task_dir import generated_task_dir

TASKS = ("tweetsumm_zero", "tweetsumm_one", "tweetsumm_instruct")
GROUP = "tweetsumm"
# Every tweetsumm task: the three above and a <family>_<strategy> task per strategy that applies.
ALL_TWEETSUMM = sorted({GROUP, *(t for t, entry in task_table().items() if entry["family"] == GROUP)})


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    return TaskManager()  # no include_path: auto-registration must supply ours


def test_auto_registered_task_manager_knows_every_name(manager):
    for name in TASKS:
        assert name in manager.all_subtasks
    assert GROUP in manager.all_groups
    for name in task_table():
        assert name in manager.all_subtasks, name
    assert "sports_understanding" in manager.all_groups


def test_the_tweetsumm_tasks_are_the_aliases_and_every_applicable_strategy():
    assert set(TASKS) < set(ALL_TWEETSUMM)
    assert {"tweetsumm_answer_only", "tweetsumm_fewshot", "tweetsumm_self_consistency"} < set(ALL_TWEETSUMM)
    # no chain of thought and no fixed choices: those strategies do not apply
    assert not {"tweetsumm_cot", "tweetsumm_cot_fewshot", "tweetsumm_answer_only_mc"} & set(ALL_TWEETSUMM)
    assert task_table()["tweetsumm_zero"] == {"family": GROUP, "strategy": "answer_only", "options": {}}
    assert task_table()["tweetsumm_one"] == {"family": GROUP, "strategy": "fewshot", "options": {"k": 1}}
    assert task_table()["tweetsumm_instruct"] == {"family": GROUP, "strategy": "instruct", "options": {}}


@pytest.mark.parametrize("name", TASKS)
def test_each_task_loads_with_sample_data(name):
    manager = summeval.task_manager(metadata={"tweetsumm_data": "sample"})
    task = manager.load([name])["tasks"][name]
    docs = list(task.test_docs())
    assert len(docs) == 8
    prompt = task.doc_to_text(docs[0])
    assert docs[0]["conversation"] in prompt
    assert task.config.generation_kwargs["max_gen_toks"] == 64
    assert task.config.generation_kwargs["do_sample"] is False
    assert [m["metric"] for m in task.config.metric_list] == ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def test_tweetsumm_one_shows_one_seeded_train_exemplar():
    from prompt_strategies.exemplars import choose_exemplars
    from prompt_strategies.registry import get_family

    family = get_family("tweetsumm")
    train = family.load({"tweetsumm_data": "sample"})["train"]
    for seed, metadata in ((1234, {}), (7, {"tweetsumm_seed": 7})):  # the default, then the user's
        manager = summeval.task_manager(
            include_defaults=False, metadata={"tweetsumm_data": "sample", **metadata}
        )
        task = manager.load(["tweetsumm_one"])["tasks"]["tweetsumm_one"]
        assert task.strategy_options.k == 1 and task.strategy_options.seed == seed
        for doc in task.test_docs():
            (exemplar,) = choose_exemplars(doc, train, 1, seed, family.same_item)
            assert task.doc_to_text(doc) == f"{family.exemplar(exemplar)}\n\n{family.question(doc)}"


def test_tweetsumm_one_refuses_another_k():
    from prompt_strategies import StrategyError

    manager = summeval.task_manager(
        include_defaults=False, metadata={"tweetsumm_data": "sample", "fewshot": {"k": 2}}
    )
    with pytest.raises(StrategyError, match="task tweetsumm_one fixes fewshot option k=1; --metadata sets 2"):
        manager.load(["tweetsumm_one"])


def test_group_expands_to_the_three_tasks():
    manager = summeval.task_manager(metadata={"tweetsumm_data": "sample"})
    assert set(manager.load([GROUP])["tasks"]) == set(TASKS)


def test_task_manager_helper_adds_our_path_once(manager):
    explicit = summeval.task_manager(include_path=str(generated_task_dir()))
    assert set(TASKS) <= set(explicit.all_subtasks)
    assert explicit.include_path.count(str(generated_task_dir())) == 1


def _in_subprocess(code: str, **env: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=offline_env(**env), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


LIST_CODE = (
    "from lm_eval.tasks import TaskManager;"
    "import summeval_tasks, sys;"
    "tm = TaskManager(include_path=sys.argv[1] if len(sys.argv) > 1 else None);"
    "print(sorted(t for t in tm.all_tasks if t.startswith('tweetsumm')))"
)


def test_switching_auto_registration_off_hides_the_tasks():
    out = _in_subprocess(LIST_CODE, SUMMEVAL_NO_AUTOREGISTER="1")
    assert out.strip() == "[]"


def test_include_path_works_with_auto_registration_off():
    code = LIST_CODE.replace("sys.argv[1] if len(sys.argv) > 1 else None", repr(str(generated_task_dir())))
    out = _in_subprocess(code, SUMMEVAL_NO_AUTOREGISTER="1")
    assert out.strip() == repr(ALL_TWEETSUMM)


def test_task_manager_helper_works_with_auto_registration_off():
    code = (
        "import summeval; tm = summeval.task_manager();"
        "print(sorted(t for t in tm.all_tasks if t.startswith('tweetsumm')))"
    )
    assert _in_subprocess(code, SUMMEVAL_NO_AUTOREGISTER="1").strip() == repr(ALL_TWEETSUMM)


def test_lm_eval_ls_tasks_lists_tasks_and_group():
    proc = subprocess.run(
        lm_eval_command() + ["ls", "tasks"], capture_output=True, text=True, env=offline_env(), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for name in ALL_TWEETSUMM:
        assert f"|{name} " in proc.stdout


def test_lm_eval_validate_resolves_our_tasks_without_include_path():
    proc = subprocess.run(
        lm_eval_command() + ["validate", "--tasks", ",".join(TASKS)],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_interpreter_start_up_stays_light():
    # The .pth hook must not import lm_eval, torch or transformers at start-up.
    heavy = ("lm_eval", "torch", "transformers", "datasets")
    code = f"import sys; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    assert _in_subprocess(code).strip() == "[]"
    assert "_LmEvalFinder" in _in_subprocess("import sys; print([type(f).__name__ for f in sys.meta_path])")


def test_switch_value_zero_keeps_auto_registration_on():
    out = _in_subprocess(LIST_CODE, SUMMEVAL_NO_AUTOREGISTER="0")
    assert out.strip() == repr(ALL_TWEETSUMM)


def test_install_after_lm_eval_was_imported_patches_at_once():
    code = (
        "import lm_eval.tasks.manager as m, summeval.lm_eval.startup as a;"
        "m.TaskManager.__init__ = m.TaskManager.__dict__['__init__'].__wrapped__;"  # undo the .pth hook
        "delattr(m.TaskManager, '_summeval_autoregistered');"
        "assert 'tweetsumm_zero' not in m.TaskManager().all_tasks;"
        "a.install(); print('tweetsumm_zero' in m.TaskManager(None, None, True, {}).all_tasks)"
    )
    assert _in_subprocess(code).strip() == "True"
