"""The generated task folder under the cache root (issue 19, class 6): a bad cache root under the real
``lm_eval`` is one line and leaves lm-eval's own tasks running; a folder with a file deleted or edited is
written again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import offline_env
from support_runs import tree_hashes


def test_c6_a_bad_cache_root_under_lm_eval_is_one_line(tmp_path):
    """lm-eval runs of other tasks go on (the start-up hook must not stop them): ours are not registered,
    and one line says why."""
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("lm_eval")), "ls", "tasks"],
        env=offline_env(SUMMEVAL_CACHE="relative/cache"), capture_output=True, text=True, timeout=300,
        cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if "SUMMEVAL_CACHE" in line]
    expected = (
        "summeval: tasks not registered (SUMMEVAL_CACHE='relative/cache' is a relative path; "
        "the cache root must be absolute, e.g. /tmp/summeval)"
    )
    assert errors == [expected], proc.stderr[-3000:]
    assert "tweetsumm_zero" not in proc.stdout and not (tmp_path / "relative").exists()


def test_c6_a_generated_task_folder_with_a_file_deleted_is_written_again(tmp_path, monkeypatch):
    from lm_eval.tasks import TaskManager

    from summeval.lm_eval.task_dir import generated_task_dir

    monkeypatch.setenv("SUMMEVAL_CACHE", str(tmp_path))
    folder = generated_task_dir.__wrapped__()
    whole = tree_hashes(folder)
    (folder / "tweetsumm_zero.yaml").unlink()
    (folder / "sports_understanding_cot.yaml").write_text("task: something_else\n")
    assert generated_task_dir.__wrapped__() == folder
    assert tree_hashes(folder) == whole
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left
    tasks = TaskManager(include_path=str(folder), include_defaults=False).all_tasks
    assert "tweetsumm_zero" in tasks and "sports_understanding_cot" in tasks
