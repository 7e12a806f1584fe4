"""Nothing of the user's is ever lost (issue 19, classes 1, 6, 7 and 10).

* class 1, data loss: ``summeval study --out`` writes only into a folder it created (its marker
  ``.summeval-study``) or an empty one; an adapter trained with other settings is refused, never
  deleted, inside ``--out`` as outside; one process at a time per ``--out`` and per adapter (two real
  processes: the second is refused naming the first one's pid);
* class 6, the cache root: ``SUMMEVAL_CACHE`` / ``XDG_CACHE_HOME`` relative, a file, or unwritable is one
  line; a generated task folder with a file deleted is written again;
* class 7, cached cells: each cell records the sha256 of its files; an edited, truncated, malformed or
  deleted one is stale, listed by ``--report-only``, and rerun;
* class 10, interrupts and a full disk: a real SIGTERM to a real study and a real training, and a real
  tmpfs that fills: one line, nothing half-written that looks complete, and the rerun resumes.

Every refusal asserts: a non-zero exit, exactly one line on stderr, no traceback, the bad value and
where it came from in the message, no model loaded (the loader raises if called), and every file of
the user's byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support import REPO, offline_env
from test_bad_inputs import _write_files

from summeval import cli

SPORTS = "sports_understanding"
RECIPE = str(REPO / "adapters" / "tweetsumm-r16.yaml")
CLASSES = {"c1": "data loss", "c6": "the cache root", "c7": "cached cells", "c10": "interrupts, full disk"}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def case_dir(tmp_path, offline):
    """The case folder of ``test_bad_inputs`` (its ``FILES``: ``tinybase``, ``a_file``, ...)."""
    _write_files(tmp_path)
    return tmp_path


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


@pytest.fixture
def no_model_loads(monkeypatch):
    """Loading a model or training a step fails the test: the checks must come first."""
    import summeval.study.run
    import summeval.training.finetune

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the bad input was refused")

    monkeypatch.setattr(summeval.study.run, "load_model", refuse)
    monkeypatch.setattr(summeval.training.finetune, "load_base", refuse)


def fake_trained_adapter(folder: Path, recipe_lora_r: int = 99) -> Path:
    """An adapter folder as ``summeval finetune`` leaves it, trained with another rank than the recipe's."""
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": recipe_lora_r, "peft_type": "LORA"}))
    (folder / "adapter_model.safetensors").write_bytes(b"weights of the user's adapter")
    (folder / "summeval.json").write_text(json.dumps({"recipe": {"lora": {"r": recipe_lora_r}}}))
    return folder


# ----------------------------------------------------------------------------- class 1: the --out folder

# (id, what to put in --out before the run, the text the message must contain)
OUT_CASES = [
    ("c1-out-holds-users-report", {"report.md": "# my notes", "report.html": "<p>mine</p>"}, "report.md"),
    ("c1-out-holds-users-files", {"notes.txt": "keep me", "data/x.csv": "1,2"}, "notes.txt"),
    ("c1-out-user-folder-with-cells", {"cells/readme.txt": "mine", "todo.md": "x"}, "did not write there"),
    ("c1-out-other-study", {".summeval-study": json.dumps({"study": "other"})}, "study 'other', not 'tiny'"),
    ("c1-out-marker-not-ours", {".summeval-study": "not json"}, "not summeval's"),
    ("c1-out-hidden-user-file", {".env": "SECRET=1"}, ".env"),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in OUT_CASES], ids=[c[0] for c in OUT_CASES])
@pytest.mark.parametrize("report_only", [False, True], ids=["run", "report-only"])
def test_study_writes_only_into_a_folder_it_created(
    files,
    expected,
    report_only,
    case_dir,
    capsys,
    no_model_loads,
):
    out = case_dir / "out"
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    (out / "cells").mkdir(exist_ok=True)  # --report-only needs a cells folder to get this far
    config = write_config(case_dir / "study.yaml", study_tree(case_dir / "tinybase"))
    before = tree_hashes(case_dir)
    line = one_line_failure(
        ["study", "--config", str(config), "--out", str(out), *(["--report-only"] if report_only else [])],
        capsys,
    )
    assert f"--out {out}" in line and expected in line, line
    assert "choose a new or empty folder" in line
    assert tree_hashes(case_dir) == before  # byte-identical, and nothing added (no marker, no lock)


COMPARE_OUT_CASES = [
    ("c1-compare-out-holds-users-results", {"results.md": "# mine", "notes.txt": "x"}, "notes.txt"),
    (
        "c1-compare-out-other-family",
        {".summeval-compare": json.dumps({"compare": "tweetsumm"})},
        "'tweetsumm'",
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [c[1:] for c in COMPARE_OUT_CASES], ids=[c[0] for c in COMPARE_OUT_CASES]
)
def test_compare_writes_only_into_a_folder_it_created(files, expected, case_dir, capsys, monkeypatch):
    import summeval.study.compare

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the bad input was refused")

    monkeypatch.setattr(summeval.study.compare, "load_lm", refuse)
    out = case_dir / "c"
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    before = tree_hashes(case_dir)
    line = one_line_failure(
        ["compare", "--model-args", "pretrained=unused", "--data", "sample", "--out", str(out)], capsys
    )
    assert f"summeval compare: --out {out}" in line and expected in line, line
    assert tree_hashes(case_dir) == before


def test_c1_an_empty_folder_and_an_earlier_studys_folder_are_taken(case_dir, capsys, no_model_loads):
    """The check lets these through (it is the model load that then fails here: the loader refuses)."""
    from summeval.study.config import load_study
    from summeval.study.run import STUDY_MARKER, check_study_folder

    config = load_study(write_config(case_dir / "study.yaml", study_tree(case_dir / "tinybase")))
    empty = case_dir / "empty"
    empty.mkdir()
    check_study_folder(config, empty)
    earlier = case_dir / "earlier"  # written by summeval before the marker existed
    (earlier / "cells" / "llama" / "tweetsumm_zero").mkdir(parents=True)
    (earlier / "cells" / "llama" / "tweetsumm_zero" / "cell.json").write_text("{}")
    (earlier / "report.md").write_text("# Study: tiny")
    (earlier / "charts").mkdir()
    check_study_folder(config, earlier)
    with pytest.raises(AssertionError, match="a model was loaded"):
        cli.main(["study", "--config", str(config.path), "--out", str(empty)])
    assert json.loads((empty / STUDY_MARKER).read_text())["study"] == "tiny"
    assert not (empty / ".summeval-study.lock").exists()  # released


# (id, where the adapter lives, what is there, the text the message must contain)
ADAPTER_CASES = [
    ("c1-adapter-inside-out-other-settings", "inside", "trained", "was trained with other settings"),
    ("c1-adapter-outside-out-other-settings", "outside", "trained", "was trained with other settings"),
    ("c1-adapter-inside-out-work-no-checkpoint", "inside", "work", "no complete checkpoint to resume"),
    ("c1-adapter-outside-out-work", "outside", "work", "holds an interrupted training"),
    ("c1-adapter-inside-out-work-other-run", "inside", "work-other-run", "would continue"),
]


@pytest.mark.parametrize(
    ("where", "state", "expected"), [c[1:] for c in ADAPTER_CASES], ids=[c[0] for c in ADAPTER_CASES]
)
def test_an_adapter_of_other_settings_is_refused_never_deleted(
    where,
    state,
    expected,
    case_dir,
    capsys,
    no_model_loads,
):
    from summeval.study.run import STUDY_MARKER

    out = case_dir / "out"
    out.mkdir()
    (out / STUDY_MARKER).write_text(json.dumps({"study": "tiny"}))
    adapter = out / "adapters" / "llama" if where == "inside" else case_dir / "my-adapter"
    if state == "trained":
        fake_trained_adapter(adapter)
    else:
        work = adapter.with_name(adapter.name + ".work")
        (work / "checkpoint-2").mkdir(parents=True)
        (work / "train_log.jsonl").write_text('{"step": 1, "loss": 3.0}\n')
        if state == "work-other-run":
            (work / "checkpoint-2" / "trainer_state.json").write_text("{}")
            (work / "summeval_run.json").write_text(json.dumps({"recipe": {"lora": {"r": 32}}}))
    model = {"pretrained": str(case_dir / "tinybase"), "recipe": RECIPE, "max_steps": 1}
    if where == "outside":
        model["adapter"] = str(adapter)
    tree = study_tree(case_dir / "tinybase", models={"llama": model})
    tree["evaluations"] = [{"model": "llama", "tasks": ["tweetsumm_instruct"]}]
    config = write_config(case_dir / "study.yaml", tree)
    before = tree_hashes(case_dir)
    line = one_line_failure(["study", "--config", str(config), "--out", str(out)], capsys)
    assert "models.llama.adapter" in line and expected in line, line
    assert tree_hashes(case_dir) == before


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the first process ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _summeval(*args: str) -> list[str]:
    return [sys.executable, "-m", "summeval.cli", *args]


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


# ----------------------------------------------------------------------------- class 6: the cache root


def _read_only_folder(path: Path):
    """A folder this process cannot write: a read-only tmpfs as root (root ignores modes), else 0500."""
    path.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)])
        if done.returncode != 0:
            pytest.skip("cannot mount a read-only tmpfs here")
        return lambda: subprocess.run(["umount", str(path)], check=True)
    path.chmod(0o500)
    return lambda: path.chmod(0o700)


# (id, environment with {tmp}, the text the message must contain)
CACHE_CASES = [
    (
        "c6-summeval-cache-relative",
        {"SUMMEVAL_CACHE": "rel/cache"},
        "SUMMEVAL_CACHE='rel/cache' is a relative",
    ),
    ("c6-summeval-cache-is-a-file", {"SUMMEVAL_CACHE": "{tmp}/a_file"}, "a_file is a file, not a folder"),
    (
        "c6-summeval-cache-under-a-file",
        {"SUMMEVAL_CACHE": "{tmp}/a_file/c"},
        "a_file is a file, not a folder",
    ),
    ("c6-summeval-cache-unwritable", {"SUMMEVAL_CACHE": "{tmp}/ro/cache"}, "ro is not writable"),
    ("c6-xdg-relative", {"XDG_CACHE_HOME": "cache"}, "XDG_CACHE_HOME='cache' is a relative path"),
    ("c6-xdg-is-a-file", {"XDG_CACHE_HOME": "{tmp}/a_file"}, "XDG_CACHE_HOME="),
    ("c6-xdg-unwritable", {"XDG_CACHE_HOME": "{tmp}/ro"}, "ro is not writable"),
]


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in CACHE_CASES], ids=[c[0] for c in CACHE_CASES])
@pytest.mark.parametrize("command", ["task-dir", "embedded-model"])
def test_a_bad_cache_root_is_one_line(env, expected, command, case_dir, capsys, monkeypatch):
    from summeval.lm_eval import task_dir

    undo = _read_only_folder(case_dir / "ro")
    try:
        monkeypatch.delenv("SUMMEVAL_CACHE", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value.replace("{tmp}", str(case_dir)))
        monkeypatch.chdir(case_dir)
        monkeypatch.setattr(task_dir, "generated_task_dir", task_dir.generated_task_dir.__wrapped__)
        before = tree_hashes(case_dir)
        line = one_line_failure([command], capsys)
        assert expected.replace("{tmp}", str(case_dir)) in line, line
        assert tree_hashes(case_dir) == before
    finally:
        undo()


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


# ----------------------------------------------------------------------------- class 7: cached cells


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_llama):
    """A real two-cell study on the tiny llama, run once; tests copy its folder."""
    from summeval.study import run_study
    from summeval.study.config import load_study

    folder = tmp_path_factory.mktemp("finished")
    config = write_config(folder / "study.yaml", study_tree(tiny_llama))
    old = dict(os.environ)
    os.environ.update(offline_env())
    try:
        run_study(load_study(config), folder / "out", progress=False)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return config, folder / "out"


def _cell(out: Path, task: str = "tweetsumm_zero") -> Path:
    return out / "cells" / "llama" / task


def _edit_scores(cell: Path) -> None:
    record = json.loads((cell / "cell.json").read_text())
    record["scores"] = {k: [1.0] * len(v) for k, v in record["scores"].items()}
    (cell / "cell.json").write_text(json.dumps(record, indent=2))


def _drop_integrity_and_edit(cell: Path) -> None:
    record = json.loads((cell / "cell.json").read_text())
    record.pop("integrity")
    record["scores"] = {k: [1.0] * len(v) for k, v in record["scores"].items()}
    (cell / "cell.json").write_text(json.dumps(record))


# (id, what is done to the tweetsumm_zero cell, the reason it is stale)
CELL_CASES = [
    ("c7-scores-edited", _edit_scores, "cell.json was changed after it was written"),
    ("c7-integrity-removed", _drop_integrity_and_edit, "cell.json holds no integrity record"),
    (
        "c7-cell-json-truncated",
        lambda c: (c / "cell.json").write_bytes((c / "cell.json").read_bytes()[:200]),
        "cell.json is truncated or not valid JSON",
    ),
    ("c7-cell-json-a-list", lambda c: (c / "cell.json").write_text("[1, 2]"), "cell.json holds a JSON list"),
    (
        "c7-cell-json-not-utf8",
        lambda c: (c / "cell.json").write_bytes(b"\xff\xfe{"),
        "cell.json is truncated or not",
    ),
    ("c7-cell-json-deleted", lambda c: (c / "cell.json").unlink(), "cell.json is missing"),
    ("c7-samples-csv-deleted", lambda c: (c / "samples.csv").unlink(), "samples.csv is missing"),
    (
        "c7-samples-csv-edited",
        lambda c: (c / "samples.csv").write_text("id,prompt\n1,x\n"),
        "samples.csv was changed",
    ),
    ("c7-samples-jsonl-deleted", lambda c: (c / "samples.jsonl").unlink(), "samples.jsonl is missing"),
]


@pytest.mark.parametrize(("damage", "reason"), [c[1:] for c in CELL_CASES], ids=[c[0] for c in CELL_CASES])
def test_a_damaged_cell_is_stale_listed_by_report_only_and_rerun(
    damage, reason, finished_study, tmp_path, capsys, offline, monkeypatch
):
    import summeval.study.run
    from summeval.study import run_study
    from summeval.study.config import load_study

    config_path, finished = finished_study
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    good = json.loads((_cell(out) / "cell.json").read_text())["scores"]
    damage(_cell(out))
    capsys.readouterr()

    loads = []
    real_load = summeval.study.run.load_model
    monkeypatch.setattr(
        summeval.study.run, "load_model", lambda *a, **k: loads.append(1) or real_load(*a, **k)
    )
    assert cli.main(["study", "--config", str(config_path), "--out", str(out), "--report-only"]) == 0
    printed = capsys.readouterr().out
    assert f"llama/tweetsumm_zero is stale ({reason}" in printed, printed
    assert f"{SPORTS}_answer_only_mc is stale" not in printed and not loads
    report = (out / "report.md").read_text()
    assert f"| llama | tweetsumm_zero | stale: {reason}" in report and "Incomplete: 1 of 2" in report
    assert "samples/llama__tweetsumm_zero.csv" not in report  # not linked: not reported

    summary = run_study(load_study(config_path), out, progress=False)
    assert (summary["ran"], summary["cached"]) == (1, 1) and loads == [1]
    assert f"llama/tweetsumm_zero is stale ({reason}" in capsys.readouterr().out
    assert json.loads((_cell(out) / "cell.json").read_text())["scores"] == good  # rerun, same seed
    assert "All 2 cells finished." in (out / "report.md").read_text()


# ----------------------------------------------------------------------------- class 10: SIGTERM, full disk


def _cells_done(out: Path) -> list[Path]:
    return sorted(p.parent for p in (out / "cells").glob("*/*/cell.json")) if (out / "cells").is_dir() else []


def _nothing_looks_complete_but_whole_cells(out: Path, config_path: Path) -> int:
    """Every visible cell is intact, nothing hidden (staging) is left, no report claims a finished study."""
    from summeval.study.cells import cell_problem
    from summeval.study.config import load_study

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
    deadline = time.monotonic() + 300
    while (not work.is_dir() or last_complete_checkpoint(work) is None) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    _one_sigterm_line(stderr)
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
    deadline = time.monotonic() + 300
    while (not work.is_dir() or last_complete_checkpoint(work) is None) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    _one_sigterm_line(stderr)
    assert not (out / "adapters" / "llama").exists() and not (out / "adapters" / "llama.lock").exists()
    stopped_at = last_complete_checkpoint(work).name
    rerun = subprocess.run(command, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    meta = json.loads((out / "adapters" / "llama" / "summeval.json").read_text())
    assert meta["train"]["resumed_from"] == stopped_at and meta["train"]["global_step"] == 10
    assert "All 1 cells finished." in (out / "report.md").read_text()


@pytest.fixture
def small_disk(tmp_path):
    """A real tmpfs of 1 MiB (root only; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)]).returncode
    ):
        pytest.skip("mounting a tmpfs needs root")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


def _fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes with a file of the user's; return it."""
    filler = disk / "users-big-file"
    stat = os.statvfs(disk)
    filler.write_bytes(b"u" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


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


# ----------------------------------------------------------------------------- the count


def test_every_class_has_its_cases():
    ids = [c[0] for c in OUT_CASES + COMPARE_OUT_CASES + ADAPTER_CASES + CACHE_CASES + CELL_CASES]
    counts = {c: sum(i.startswith(f"{c}-") for i in ids) for c in CLASSES}
    assert counts["c1"] >= 8 and counts["c6"] >= 5 and counts["c7"] >= 6, counts
