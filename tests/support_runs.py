"""Helpers for the tests that run a study or a training and check that nothing of the user's is lost: a small
study config, file hashes to compare, a failure that must be one line, the ``summeval`` command as a
subprocess, and what an interrupted run may leave behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from summeval import cli

SPORTS = "sports_understanding"


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path → digest): the user's files, to compare."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def study_tree(pretrained: Path | str, **changes) -> dict:
    """Two quick cells: a generated summary and a log-likelihood choice, two items each."""
    tree = {
        "name": "tiny",
        "seed": 7,
        "limit": 2,
        "data": {"tweetsumm": "sample", SPORTS: "sample"},
        "options": {"answer_only": {"max_gen_toks": 4}},
        "models": {"llama": {"pretrained": str(pretrained)}},
        "evaluations": [
            {"model": "llama", "tasks": ["tweetsumm_zero"]},
            {"model": "llama", "family": SPORTS, "strategies": ["answer_only_mc"]},
        ],
    }
    tree.update(changes)
    return tree


def write_config(path: Path, tree: dict) -> Path:
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


def one_line_failure(argv: list[str], capsys, *, model_ran: bool = False) -> str:
    """Run ``summeval ARGV`` in this process; assert it failed with one line and no traceback; return it.

    ``model_ran``: the failure comes after a model ran (a full disk), so its progress bars are on stderr
    too: then exactly one ``error:`` line."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code not in (0, None), f"exit {code}: {err}"
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    if model_ran:  # a progress bar may end without a newline: our line then follows it
        lines = [line[line.index("error: ") :] for line in lines if "error: " in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the first process ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _summeval(*args: str) -> list[str]:
    return [sys.executable, "-m", "summeval.cli", *args]


def _cells_done(out: Path) -> list[Path]:
    return sorted(p.parent for p in (out / "cells").glob("*/*/cell.json")) if (out / "cells").is_dir() else []


def _nothing_looks_complete_but_whole_cells(out: Path, config_path: Path) -> int:
    """Every visible cell is intact, nothing hidden (staging) is left, no report claims a finished study."""
    from summeval.study.config import load_study
    from summeval.study.store import cell_problem

    config = load_study(config_path)
    done = 0
    for cell in config.cells:
        problem = cell_problem(out, cell)
        assert problem in (None, "not run"), (cell.id, problem)
        done += problem is None
    hidden = [p for p in out.rglob(".*") if p.name not in (".summeval-study",)]
    assert hidden == [], hidden
    if (out / "report.md").exists():
        assert "All" not in (out / "report.md").read_text().splitlines()[2]
    return done


def _one_sigterm_line(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    ours = [line for line in stderr.splitlines() if "SIGTERM" in line]
    assert len(ours) == 1 and "finished work is kept, run the same command again to resume" in ours[0], stderr


def _sigterm_at_first_checkpoint(proc: subprocess.Popen, work: Path) -> None:
    """Once the training in ``proc`` has a complete checkpoint in ``work``, SIGTERM it: it exits 143 with
    one line and no traceback."""
    from summeval.training.finetune import last_complete_checkpoint

    deadline = time.monotonic() + 300
    while (not work.is_dir() or last_complete_checkpoint(work) is None) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    _one_sigterm_line(stderr)


def _fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes with a file of the user's; return it."""
    filler = disk / "users-big-file"
    stat = os.statvfs(disk)
    filler.write_bytes(b"u" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler
