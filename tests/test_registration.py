"""Our tasks resolve through lm-eval's own TaskManager and CLI, with and without auto-registration."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import lm_eval_command, offline_env

import summeval
import summeval_tasks

TASKS = ("tweetsumm_zero", "tweetsumm_one", "tweetsumm_instruct")
GROUP = "tweetsumm"


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    return TaskManager()  # no include_path: auto-registration must supply ours


def test_auto_registered_task_manager_knows_every_name(manager):
    for name in TASKS:
        assert name in manager.all_subtasks
    assert GROUP in manager.all_groups


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


def test_group_expands_to_the_three_tasks():
    manager = summeval.task_manager(metadata={"tweetsumm_data": "sample"})
    assert set(manager.load([GROUP])["tasks"]) == set(TASKS)


def test_task_manager_helper_adds_our_path_once(manager):
    explicit = summeval.task_manager(include_path=str(summeval_tasks.task_yamls_dir()))
    assert set(TASKS) <= set(explicit.all_subtasks)
    assert explicit.include_path.count(str(summeval_tasks.task_yamls_dir())) == 1


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
    code = LIST_CODE.replace(
        "sys.argv[1] if len(sys.argv) > 1 else None", repr(str(summeval_tasks.task_yamls_dir()))
    )
    out = _in_subprocess(code, SUMMEVAL_NO_AUTOREGISTER="1")
    assert out.strip() == repr(sorted((GROUP, *TASKS)))


def test_task_manager_helper_works_with_auto_registration_off():
    code = (
        "import summeval; tm = summeval.task_manager();"
        "print(sorted(t for t in tm.all_tasks if t.startswith('tweetsumm')))"
    )
    assert _in_subprocess(code, SUMMEVAL_NO_AUTOREGISTER="1").strip() == repr(sorted((GROUP, *TASKS)))


def test_lm_eval_ls_tasks_lists_tasks_and_group():
    proc = subprocess.run(
        lm_eval_command() + ["ls", "tasks"], capture_output=True, text=True, env=offline_env(), timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for name in (GROUP, *TASKS):
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
    assert out.strip() == repr(sorted((GROUP, *TASKS)))


def test_install_after_lm_eval_was_imported_patches_at_once():
    code = (
        "import lm_eval.tasks.manager as m, summeval._autoregister as a;"
        "m.TaskManager.__init__ = m.TaskManager.__dict__['__init__'].__wrapped__;"  # undo the .pth hook
        "delattr(m.TaskManager, '_summeval_autoregistered');"
        "assert 'tweetsumm_zero' not in m.TaskManager().all_tasks;"
        "a.install(); print('tweetsumm_zero' in m.TaskManager(None, None, True, {}).all_tasks)"
    )
    assert _in_subprocess(code).strip() == "True"
