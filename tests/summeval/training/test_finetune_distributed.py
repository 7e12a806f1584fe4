"""Data-parallel fine-tuning (issue 27, item 4): ``torchrun`` starts two real training processes on CPU
(gloo); a run stopped by SIGTERM resumes under ``torchrun`` from its last complete checkpoint; the main
process alone writes the adapter and its log, which lm-eval loads and scores."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import RECIPE, adapter_results, offline_env
from support_runs import one_line_failure


def _torchrun(base: Path, adapter: Path, *extra: str) -> list[str]:
    """``summeval finetune`` under ``torchrun`` with two processes on this machine."""
    return [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "summeval.cli", "finetune", "--recipe", RECIPE, "--base", str(base), "--data", "sample",
        "--output", str(adapter), "--set", "training.batch_size=2", "--set", "training.save_steps=2",
        "--max-steps", "6", *extra,
    ]  # fmt: skip


@pytest.mark.slow
def test_two_processes_train_one_adapter_that_scores_and_a_stopped_run_resumes(tiny_llama, tmp_path):
    from summeval.training.finetune import last_complete_checkpoint

    adapter, work = tmp_path / "adapter", tmp_path / "adapter.work"
    env = offline_env(OMP_NUM_THREADS="1")
    first = subprocess.Popen(
        _torchrun(tiny_llama, adapter), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while (not work.is_dir() or last_complete_checkpoint(work) is None) and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGTERM)  # torchrun passes it to both training processes
    _, stderr = first.communicate(timeout=120)
    assert first.returncode != 0, stderr[-3000:]
    assert "stopped by SIGTERM" in stderr and not adapter.exists()
    assert not (tmp_path / "adapter.lock").exists()
    stopped_at = last_complete_checkpoint(work).name

    done = subprocess.run(
        _torchrun(tiny_llama, adapter, "--resume"), env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("summeval: adapter saved to") == 1  # written once, by the main process
    meta = json.loads((adapter / "summeval.json").read_text())
    assert meta["train"]["processes"] == 2
    assert meta["train"]["resumed_from"] == stopped_at and meta["train"]["global_step"] == 6
    log = [json.loads(line) for line in (adapter / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]  # one record a step, not one a process
    assert not work.exists() and not (tmp_path / "adapter.lock").exists()

    assert "rouge1,none" in adapter_results(tiny_llama, adapter, tmp_path / "eval")


@pytest.mark.slow
def test_a_study_trains_its_adapter_in_two_processes(tiny_llama, tmp_path, capsys, offline):
    from support_runs import study_tree, write_config

    from summeval import cli

    model = {
        "pretrained": str(tiny_llama),
        "recipe": RECIPE,
        "recipe_set": ["training.batch_size=2", "training.eval_each_epoch=false"],
        "max_steps": 2,
        "train_processes": 2,
    }
    tree = study_tree(tiny_llama, models={"tuned": model})
    tree["evaluations"] = [{"model": "tuned", "tasks": ["tweetsumm_instruct"]}]
    config = write_config(tmp_path / "study.yaml", tree)
    out = tmp_path / "out"
    argv = ["study", "--config", str(config), "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    assert "training models.tuned's adapter in 2 processes" in capsys.readouterr().out
    meta = json.loads((out / "adapters" / "tuned" / "summeval.json").read_text())
    assert (meta["train"]["processes"], meta["train"]["global_step"]) == (2, 2)
    assert cli.main(argv) == 0  # current: nothing trains or runs again
    assert "1 finished before, 0 to run" in capsys.readouterr().out
    tree["models"]["tuned"]["train_processes"] = 1  # another effective batch: another adapter
    write_config(tmp_path / "study.yaml", tree)
    line = one_line_failure(argv, capsys)
    assert "was trained with other settings" in line, line


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"train_processes": 0}, "models.tuned.train_processes: 0 is out of range"),
        ({"train_processes": 2, "recipe": None}, "models.tuned.recipe: is required with recipe_set"),
    ],
    ids=["zero", "without-recipe"],
)
def test_bad_train_processes_are_one_line(tiny_llama, tmp_path, capsys, model, expected):
    from support_runs import study_tree, write_config

    spec = {"pretrained": str(tiny_llama), "recipe": RECIPE, **model}
    spec = {k: v for k, v in spec.items() if v is not None}
    tree = study_tree(tiny_llama, models={"tuned": spec})
    tree["evaluations"] = [{"model": "tuned", "tasks": ["tweetsumm_instruct"]}]
    config = write_config(tmp_path / "study.yaml", tree)
    line = one_line_failure(["study", "--config", str(config), "--out", str(tmp_path / "out")], capsys)
    assert expected in line, line
