"""A training interrupted keeps what it finished (issue 19, classes 1 and 10): two trainings of one adapter,
the second refused naming the first's pid (two real processes); a real SIGTERM mid-training keeps the last
checkpoint and ``--resume`` continues; a real tmpfs that fills is one line and leaves no adapter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from support import offline_env
from support_inputs import RECIPE
from support_runs import _fill, _sigterm_at_first_checkpoint, _summeval, _wait_for, one_line_failure

from summeval import cli


@pytest.mark.slow
def test_c1_two_trainings_of_one_adapter_the_second_is_refused_naming_the_first(tmp_path, tiny_llama):
    adapter = tmp_path / "adapter"
    command = _summeval(
        "finetune", "--recipe", RECIPE, "--base", str(tiny_llama), "--data", "sample",
        "--output", str(adapter), "--set", "training.batch_size=4", "--max-steps", "2",
    )  # fmt: skip
    first = subprocess.Popen(command, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(tmp_path / "adapter.lock", first)
        os.kill(first.pid, signal.SIGSTOP)
        second = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=300)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr.decode()[-3000:]
    assert second.returncode == 2 and "Traceback" not in second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and str(adapter) in lines[0], second.stderr
    assert (adapter / "adapter_model.safetensors").is_file() and not (tmp_path / "adapter.lock").exists()


def _finetune_command(base: Path, adapter: Path, *extra: str) -> list[str]:
    return _summeval(
        "finetune", "--recipe", RECIPE, "--base", str(base), "--data", "sample", "--output", str(adapter),
        "--set", "training.batch_size=2", "--set", "training.save_steps=2", "--max-steps", "10", *extra,
    )  # fmt: skip


@pytest.mark.slow
def test_c10_sigterm_mid_training_keeps_the_last_checkpoint_and_resume_continues(tmp_path, tiny_llama):
    from summeval.training.finetune import last_complete_checkpoint

    adapter, work = tmp_path / "adapter", tmp_path / "adapter.work"
    proc = subprocess.Popen(
        _finetune_command(tiny_llama, adapter), env=offline_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _sigterm_at_first_checkpoint(proc, work)
    assert not adapter.exists() and not (tmp_path / "adapter.lock").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no half-saved adapter
    stopped_at = last_complete_checkpoint(work).name
    done = subprocess.run(
        _finetune_command(tiny_llama, adapter, "--resume"), env=offline_env(), capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    meta = json.loads((adapter / "summeval.json").read_text())
    assert meta["train"]["resumed_from"] == stopped_at and meta["train"]["global_step"] == 10


def test_c10_a_disk_that_fills_during_training_is_one_line_and_leaves_no_adapter(
    small_disk, tiny_llama, capsys, offline
):
    adapter = small_disk / "adapter"
    filler = _fill(small_disk, leave=16 * 4096)  # the Trainer's first checkpoint does not fit
    argv = [
        "finetune", "--recipe", RECIPE, "--base", str(tiny_llama), "--data", "sample",
        "--output", str(adapter), "--set", "training.batch_size=4", "--set", "training.save_steps=1",
        "--max-steps", "2",
    ]  # fmt: skip
    line = one_line_failure(argv, capsys, model_ran=True)
    assert "No space left on device" in line and "adapter" in line, line
    assert sorted(p.name for p in small_disk.iterdir()) == ["users-big-file"]  # no adapter, work, lock
    filler.unlink()
    assert cli.main(argv) == 0 and (adapter / "adapter_model.safetensors").is_file()
