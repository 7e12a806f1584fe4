"""A study interrupted keeps what it finished (issue 19, classes 1 and 10): two studies on one ``--out``,
the second refused naming the first's pid (two real processes); a real SIGTERM mid-study and while it
trains its adapter, and a real tmpfs that fills: one line, nothing half-written that looks complete, and the
rerun resumes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time

import pytest
from support import offline_env
from support_inputs import RECIPE
from support_runs import (
    SPORTS,
    _cells_done,
    _fill,
    _nothing_looks_complete_but_whole_cells,
    _one_sigterm_line,
    _sigterm_at_first_checkpoint,
    _summeval,
    _wait_for,
    one_line_failure,
    study_tree,
    write_config,
)

from summeval import cli


@pytest.mark.slow
def test_c1_two_studies_on_one_out_the_second_is_refused_naming_the_first(tmp_path, tiny_llama):
    config = write_config(tmp_path / "study.yaml", study_tree(tiny_llama))
    out = tmp_path / "out"
    command = _summeval("study", "--config", str(config), "--out", str(out), "--no-progress")
    first = subprocess.Popen(command, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(out / ".summeval-study.lock", first)
        os.kill(first.pid, signal.SIGSTOP)  # holds the lock, mid-run, for as long as the second one takes
        second = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=300)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr.decode()[-3000:]
    assert second.returncode == 2 and "Traceback" not in second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and f"--out {out}" in lines[0], second.stderr
    assert "wait for it to finish, or choose another --out" in lines[0]
    assert "All 2 cells finished." in (out / "report.md").read_text()  # the first one was not disturbed
    assert not (out / ".summeval-study.lock").exists()


@pytest.mark.slow
def test_c10_sigterm_mid_study_keeps_whole_cells_and_the_rerun_resumes(tmp_path, tiny_llama):
    tree = study_tree(tiny_llama, limit=4)
    tree["evaluations"].append({"model": "llama", "family": SPORTS, "strategies": ["answer_only", "cot"]})
    tree["options"]["cot"] = {"max_gen_toks": 24}
    config = write_config(tmp_path / "study.yaml", tree)
    out = tmp_path / "out"
    command = _summeval("study", "--config", str(config), "--out", str(out), "--no-progress")
    proc = subprocess.Popen(
        command, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not _cells_done(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, (
        f"the study ended with {proc.returncode} before the signal: {stderr[-2000:]}"
    )
    _one_sigterm_line(stderr)
    kept = _nothing_looks_complete_but_whole_cells(out, config)
    assert 1 <= kept < 4 and not (out / ".summeval-study.lock").exists()
    rerun = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"4 cells, {kept} finished before, {4 - kept} to run" in rerun.stdout
    assert "All 4 cells finished." in (out / "report.md").read_text()


@pytest.mark.slow
def test_c10_sigterm_while_a_study_trains_its_adapter_and_the_rerun_resumes_training(tmp_path, tiny_llama):
    from summeval.training.finetune import last_complete_checkpoint

    model = {
        "pretrained": str(tiny_llama),
        "recipe": RECIPE,
        "max_steps": 10,
        "recipe_set": ["training.batch_size=2", "training.save_steps=2"],
    }
    tree = study_tree(tiny_llama, models={"llama": model})
    tree["evaluations"] = [{"model": "llama", "tasks": ["tweetsumm_instruct"]}]
    tree["options"] = {"instruct": {"max_gen_toks": 4}}
    config = write_config(tmp_path / "study.yaml", tree)
    out = tmp_path / "out"
    work = out / "adapters" / "llama.work"
    command = _summeval("study", "--config", str(config), "--out", str(out), "--no-progress")
    proc = subprocess.Popen(
        command, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _sigterm_at_first_checkpoint(proc, work)
    assert not (out / "adapters" / "llama").exists() and not (out / "adapters" / "llama.lock").exists()
    stopped_at = last_complete_checkpoint(work).name
    rerun = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    meta = json.loads((out / "adapters" / "llama" / "summeval.json").read_text())
    assert meta["train"]["resumed_from"] == stopped_at and meta["train"]["global_step"] == 10
    assert "All 1 cells finished." in (out / "report.md").read_text()


def test_c10_a_disk_that_fills_during_a_study_is_one_line_and_the_rerun_resumes(
    small_disk, tmp_path, tiny_llama, capsys, offline
):
    config = write_config(tmp_path / "study.yaml", study_tree(tiny_llama))
    out = small_disk / "out"
    filler = _fill(small_disk, leave=3 * 4096)  # the marker and the lock fit; a cell's samples do not
    users = hashlib.sha256(filler.read_bytes()).hexdigest()
    line = one_line_failure(
        ["study", "--config", str(config), "--out", str(out), "--no-progress"], capsys, model_ran=True
    )
    assert "No space left on device" in line and str(out) in line and "finished work is kept" in line, line
    assert _nothing_looks_complete_but_whole_cells(out, config) == 0
    assert not (out / "report.md").exists() and not (out / ".summeval-study.lock").exists()
    assert hashlib.sha256(filler.read_bytes()).hexdigest() == users
    filler.unlink()
    assert cli.main(["study", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    assert "All 2 cells finished." in (out / "report.md").read_text()
