"""Nothing of the user's is lost by a study (issue 19, classes 1, 6 and 7): ``summeval study --out`` and
``summeval compare --out`` write only into a folder they created (its marker ``.summeval-study``) or an
empty one; an adapter trained with other settings is refused, never deleted, inside ``--out`` as outside;
a bad cache root (``SUMMEVAL_CACHE`` / ``XDG_CACHE_HOME`` relative, a file, unwritable) is one line; a cell
whose files were edited, truncated or deleted is stale, listed by ``--report-only``, and rerun.

Every refusal asserts: a non-zero exit, exactly one line on stderr, no traceback, the bad value and where
it came from in the message, no model loaded (the loader raises if called), and every file of the user's
byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import offline_env
from support_inputs import RECIPE, _write_files
from support_runs import SPORTS, one_line_failure, study_tree, tree_hashes, write_config

from summeval import cli

CLASSES = {"c1": "data loss", "c6": "the cache root", "c7": "cached cells", "c10": "interrupts, full disk"}


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def case_dir(tmp_path, offline):
    """A case folder holding ``support_inputs.FILES`` (``tinybase``, ``a_file``, ...)."""
    _write_files(tmp_path)
    return tmp_path


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
        "c1-compare-out-a-study",
        {".summeval-study": json.dumps({"study": "tiny"})},
        "study 'tiny', not 'compare-sports_understanding'",
    ),
    (
        "c1-compare-out-of-another-family",
        {".summeval-study": json.dumps({"study": "compare-tweetsumm"})},
        "'compare-tweetsumm'",
    ),
    (
        "c1-compare-out-an-earlier-compare",
        {".summeval-compare": json.dumps({"compare": "sports_understanding"}), "results.json": "{}"},
        "results.json",
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [c[1:] for c in COMPARE_OUT_CASES], ids=[c[0] for c in COMPARE_OUT_CASES]
)
def test_compare_writes_only_into_a_folder_it_created(files, expected, case_dir, capsys, monkeypatch):
    from summeval.lm_eval import runner

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the bad input was refused")

    monkeypatch.setattr(runner, "load_lm", refuse)
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
            (work / "checkpoint-2" / "trainer_state.json").write_text('{"global_step": 2}')
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


# ----------------------------------------------------------------------------- class 7: cached cells


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_llama):
    """A real two-cell study on the tiny llama, run once; tests copy its folder."""
    from summeval.study.config import load_study
    from summeval.study.run import run_study

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
    from summeval.study.config import load_study
    from summeval.study.run import run_study

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


# ----------------------------------------------------------------------------- the count


def test_every_class_has_its_cases():
    ids = [c[0] for c in OUT_CASES + COMPARE_OUT_CASES + ADAPTER_CASES + CACHE_CASES + CELL_CASES]
    counts = {c: sum(i.startswith(f"{c}-") for i in ids) for c in CLASSES}
    assert counts["c1"] >= 8 and counts["c6"] >= 5 and counts["c7"] >= 6, counts


# ----------------------------------------------------------------------------- round three: links, locks

# (id, the path inside --out that is a link to a folder of someone else's)
LINK_CASES = [
    ("link-samples", "samples"),
    ("link-charts", "charts"),
    ("link-cells-model", "cells/llama"),
    ("link-exemplars", "exemplars"),
    ("link-adapters", "adapters"),
]


@pytest.mark.parametrize("inside", [c[1] for c in LINK_CASES], ids=[c[0] for c in LINK_CASES])
@pytest.mark.parametrize("report_only", [False, True], ids=["run", "report-only"])
def test_a_link_planted_in_the_study_folder_is_refused_before_anything_runs(
    inside, report_only, case_dir, capsys, no_model_loads
):
    from summeval.study.run import STUDY_MARKER

    out, elsewhere = case_dir / "out", case_dir / "elsewhere"
    (out / "cells").mkdir(parents=True)
    (out / STUDY_MARKER).write_text(json.dumps({"study": "tiny"}))
    elsewhere.mkdir()
    (out / inside).parent.mkdir(parents=True, exist_ok=True)
    (out / inside).symlink_to(elsewhere)
    config = write_config(case_dir / "study.yaml", study_tree(case_dir / "tinybase"))
    line = one_line_failure(
        ["study", "--config", str(config), "--out", str(out), *(["--report-only"] if report_only else [])],
        capsys,
    )
    assert f"{out / inside} is a symbolic link (to {elsewhere})" in line, line
    assert "remove the link" in line and list(elsewhere.iterdir()) == []


def test_a_lock_file_planted_as_a_link_is_refused_and_the_users_file_kept(case_dir, capsys, no_model_loads):
    from summeval.study.run import STUDY_MARKER

    out, precious = case_dir / "out", case_dir / "precious.txt"
    out.mkdir()
    (out / STUDY_MARKER).write_text(json.dumps({"study": "tiny"}))
    precious.write_text("the user's")
    (out / f"{STUDY_MARKER}.lock").symlink_to(precious)
    config = write_config(case_dir / "study.yaml", study_tree(case_dir / "tinybase"))
    line = one_line_failure(["study", "--config", str(config), "--out", str(out)], capsys)
    assert ".summeval-study.lock is a symbolic link" in line, line
    assert precious.read_text() == "the user's"


def test_report_only_while_the_study_runs_names_the_lock(case_dir, capsys, no_model_loads):
    from summeval.study.run import STUDY_MARKER
    from summeval_tasks.util.files import exclusive_lock

    out = case_dir / "out"
    out.mkdir()  # a study that has just started: its marker and lock, no cells yet
    (out / STUDY_MARKER).write_text(json.dumps({"study": "tiny"}))
    config = write_config(case_dir / "study.yaml", study_tree(case_dir / "tinybase"))
    with exclusive_lock(out / f"{STUDY_MARKER}.lock", "a running study", "wait"):
        line = one_line_failure(
            ["study", "--config", str(config), "--out", str(out), "--report-only"], capsys
        )
    assert f"in use by another summeval process (pid {os.getpid()}" in line, line
    assert "holds no study cells" not in line


def test_a_chat_template_the_model_lacks_is_refused_before_it_loads(case_dir, capsys, no_model_loads):
    tree = study_tree(case_dir / "tinybase", apply_chat_template=True)
    config = write_config(case_dir / "study.yaml", tree)
    line = one_line_failure(["study", "--config", str(config), "--out", str(case_dir / "out")], capsys)
    assert "apply_chat_template: true, but models.llama" in line and "has no chat template" in line, line
    assert not (case_dir / "out").exists()


def test_a_damaged_exemplar_file_of_the_study_is_selected_again_not_trusted(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import summeval.study.exemplars as study_exemplars
    from prompt_strategies.registry import get_family, get_strategy
    from summeval.study.plan import Cell

    sports = get_family(SPORTS)
    cell = Cell("llama", "sports_understanding_active_prompt", sports, get_strategy("active_prompt"), 2)
    config = SimpleNamespace(selection={}, seed=7, apply_chat_template=False, data={SPORTS: "sample"})
    inputs = SimpleNamespace(
        model_fingerprints={"llama": "m"}, data_hashes={SPORTS: "d"}, pretrained={"llama": "tiny"}
    )
    selected = []

    def select(lm, *, out, **kwargs):
        selected.append(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                {
                    "family": SPORTS,
                    "exemplars": [
                        {
                            "id": "x",
                            "input": "s",
                            "label": "plausible",
                            "rationale": "So the answer is plausible.",
                        }
                    ],
                }
            )
        )

    monkeypatch.setattr(study_exemplars, "select_to_file", select)
    path, _ = study_exemplars.exemplars_for(config, cell, None, inputs, tmp_path, None)
    assert selected == [path]
    assert study_exemplars.exemplars_for(config, cell, None, inputs, tmp_path, None)[1] == 0.0  # reused
    path.write_text('{"family": "sports_understanding", "exem')  # cut short
    study_exemplars.exemplars_for(config, cell, None, inputs, tmp_path, None)
    assert selected == [path, path] and "selecting the exemplars again" in capsys.readouterr().out
