"""A study on a real local Ray cluster (issue 27, ``summeval.study.ray_executor``): two cells run at once and
the report and outputs equal the sequential run's; a cell that keeps failing is reported while the others
finish; a worker killed mid-cell is retried; the driver killed (or stopped with Ctrl-C) resumes from the
cache; a node that cannot see a path is one line; bad executor settings are one line before anything
loads."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import offline_env
from support_runs import SPORTS, _summeval, one_line_failure, write_config

from summeval import cli

ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "summeval[ray]")')


def _tree(pretrained: Path, **changes) -> dict:
    """Four quick cells of one model (a summary, two sports strategies and a sampled one), compared."""
    tree = {
        "name": "raytiny",
        "seed": 7,
        "limit": 3,
        "data": {"tweetsumm": "sample", SPORTS: "sample"},
        "options": {
            "answer_only": {"max_gen_toks": 4},
            "self_consistency": {"samples": 3, "max_gen_toks": 24},
        },
        "models": {"llama": {"pretrained": str(pretrained)}},
        "evaluations": [
            {"model": "llama", "tasks": ["tweetsumm_zero"]},
            {
                "model": "llama",
                "family": SPORTS,
                "strategies": ["answer_only", "answer_only_mc", "self_consistency"],
            },
        ],
        "comparisons": [
            {"a": f"llama/{SPORTS}_answer_only", "b": f"llama/{SPORTS}_self_consistency"},
        ],
    }
    tree.update(changes)
    return tree


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster of 2 CPUs in this process (the study's driver joins it)."""
    from summeval.study.ray_executor import forwarded_environment

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        configure_logging=False,
        log_to_driver=False,
        runtime_env={"env_vars": forwarded_environment(offline_env())},
    )
    yield
    ray.shutdown()


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def _outputs(out: Path) -> dict[str, list]:
    """Each cell's model outputs (lm-eval's logged responses), by cell folder."""
    return {
        str(p.parent.relative_to(out)): [json.loads(line)["resps"] for line in p.read_text().splitlines()]
        for p in sorted((out / "cells").glob("*/*/samples.jsonl"))
    }


@pytest.mark.slow
def test_cells_run_at_once_on_ray_and_match_the_sequential_run(
    ray_cluster, tiny_llama, tmp_path, capsys, offline
):
    config = write_config(tmp_path / "study.yaml", _tree(tiny_llama))
    sequential, on_ray = tmp_path / "sequential", tmp_path / "ray"
    assert cli.main(["study", "--config", str(config), "--out", str(sequential), "--no-progress"]) == 0
    argv = ["study", "--config", str(config), "--out", str(on_ray), "--executor", "ray", "--no-progress"]
    assert cli.main(argv) == 0
    assert "4 tasks on Ray (2 CPU)" in capsys.readouterr().out
    ran = _report(on_ray)["provenance"]["this_run"]["ray"]["cells"]
    assert len(ran) == 4
    spans = sorted((r["started"], r["ended"], r["pid"]) for r in ran.values())
    at_once = [(a, b) for a in spans for b in spans if a < b and b[0] < a[1] and a[2] != b[2]]
    assert at_once, f"no two cells ran at once: {spans}"
    a, b = _report(sequential), _report(on_ray)
    assert a["complete"] and b["complete"] and b["failed"] == {}
    assert a["results"] == b["results"] and a["comparisons"] == b["comparisons"]
    assert _outputs(sequential) == _outputs(on_ray)  # greedy and sampled alike, at the same seed
    for folder in ("sequential", "ray"):  # every cell's per-item CSV byte-identical
        csvs = sorted((tmp_path / folder / "samples").glob("*.csv"))
        assert len(csvs) == 4
    for csv in sorted((sequential / "samples").glob("*.csv")):
        assert csv.read_bytes() == (on_ray / "samples" / csv.name).read_bytes()
    capsys.readouterr()
    assert cli.main(argv) == 0  # cached: nothing runs again
    assert "4 finished before, 0 to run" in capsys.readouterr().out


@pytest.mark.slow
def test_a_cell_that_keeps_failing_is_reported_and_the_others_finish(
    ray_cluster, tiny_llama, tmp_path, capsys, offline
):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_llama, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")  # its config still reads
    tree = _tree(tiny_llama, name="halfbroken")
    tree["models"]["broken"] = {"pretrained": str(broken)}
    tree["evaluations"].append({"model": "broken", "family": SPORTS, "strategies": ["answer_only_mc"]})
    config = write_config(tmp_path / "study.yaml", tree)
    out = tmp_path / "out"
    argv = ["study", "--config", str(config), "--out", str(out), "--executor", "ray", "--no-progress"]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "1 cell(s) failed (the report lists them)" in captured.err
    report = _report(out)
    assert list(report["failed"]) == [f"broken/{SPORTS}_answer_only_mc"]
    assert [r["cell"] for r in report["results"]] == [
        "llama/tweetsumm_zero", f"llama/{SPORTS}_answer_only", f"llama/{SPORTS}_answer_only_mc",
        f"llama/{SPORTS}_self_consistency",
    ]  # fmt: skip
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "Incomplete: 4 of 5 cells finished." in markdown
    assert f"broken/{SPORTS}_answer_only_mc: " in markdown and "1 cell(s) failed in this run" in markdown
    assert not (out / "cells" / "broken").exists() or not list((out / "cells" / "broken").glob("*/cell.json"))


@pytest.mark.slow
def test_an_adapter_trains_and_exemplars_are_selected_before_the_cells_that_need_them(
    ray_cluster, tiny_llama, tmp_path, capsys, offline
):
    from support import RECIPE

    tree = _tree(tiny_llama, name="raytrain", limit=2, active_prompt={"k": 2, "n": 2, "pool_size": 3})
    tree["options"]["active_prompt"] = {"max_gen_toks": 8}
    tree["models"]["tuned"] = {
        "pretrained": str(tiny_llama),
        "recipe": RECIPE,
        "recipe_set": ["training.batch_size=4", "training.eval_each_epoch=false"],
        "max_steps": 2,
    }
    tree["evaluations"] = [
        {"model": "llama", "family": SPORTS, "strategies": ["answer_only", "active_prompt"]},
        {"model": "tuned", "tasks": ["tweetsumm_instruct", "tweetsumm_zero"]},
    ]
    tree.pop("comparisons")
    config = write_config(tmp_path / "study.yaml", tree)
    out = tmp_path / "out"
    argv = ["study", "--config", str(config), "--out", str(out), "--executor", "ray", "--no-progress"]
    assert cli.main(argv) == 0
    assert "6 tasks on Ray" in capsys.readouterr().out  # a training, a selection, four cells
    report = _report(out)
    assert report["complete"] and set(report["provenance"]["this_run"]["adapters"]) == {"tuned"}
    assert (out / "adapters" / "tuned" / "adapter_model.safetensors").is_file()
    assert len(list((out / "exemplars").glob(f"llama__{SPORTS}__*.json"))) == 1
    ran = report["provenance"]["this_run"]["ray"]["cells"]
    expected = {f"llama/{SPORTS}_answer_only", f"llama/{SPORTS}_active_prompt"}
    assert set(ran) == expected | {"tuned/tweetsumm_instruct", "tuned/tweetsumm_zero"}
    assert cli.main(argv[:5] + ["--no-progress"]) == 0  # the same study without Ray: all cached
    assert "4 finished before, 0 to run" in capsys.readouterr().out


def test_a_node_that_cannot_see_a_path_is_one_line(ray_cluster, tmp_path):
    from summeval.study.plan import StudyConfigError
    from summeval.study.ray_executor import check_nodes

    check_nodes([tmp_path])
    with pytest.raises(
        StudyConfigError, match=r"node [\d.]+ cannot see /no/such/models; every node must see"
    ):
        check_nodes([tmp_path, Path("/no/such/models")])


def _ray_processes(title: str) -> list[int]:
    """The pids of this machine's Ray worker processes now running ``title`` (``ray::<function>``)."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [
        int(line.split(None, 1)[0]) for line in listing.splitlines() if line.split(None, 1)[1:] == [title]
    ]


def _session_processes(session: int) -> list[int]:
    """The pids of the processes in session ``session`` now (a driver started with its own session)."""
    listing = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True).stdout
    return [int(pid) for pid, sid in (line.split() for line in listing.splitlines()) if int(sid) == session]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not reaped by its orphaned parent, does not)."""
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout
    return bool(state.strip()) and not state.strip().startswith("Z")


def _start_driver(config: Path, out: Path) -> subprocess.Popen:
    """``summeval study --executor ray`` in its own process group (it starts its own local cluster)."""
    command = _summeval(
        "study", "--config", str(config), "--out", str(out), "--executor", "ray", "--no-progress"
    )
    return subprocess.Popen(
        command, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


@pytest.mark.slow
def test_a_worker_killed_mid_cell_is_retried_elsewhere_and_the_study_finishes(tiny_llama, tmp_path):
    config = write_config(tmp_path / "study.yaml", _tree(tiny_llama))
    out = tmp_path / "out"
    driver = _start_driver(config, out)
    killed, deadline = None, time.monotonic() + 300
    while killed is None and time.monotonic() < deadline and driver.poll() is None:
        running = _ray_processes("ray::_cell_task")
        if running:
            killed = running[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = driver.communicate(timeout=600)
    assert killed is not None, f"no cell task was seen running: {stdout}{stderr}"
    assert driver.returncode == 0, stderr[-3000:]
    report = _report(out)
    assert report["complete"] and report["failed"] == {}
    pids = {r["pid"] for r in report["provenance"]["this_run"]["ray"]["cells"].values()}
    assert killed not in pids  # the killed cell finished on another worker


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "code"), [("kill", -signal.SIGKILL), ("ctrl-c", 130)], ids=["driver-killed", "ctrl-c"]
)
def test_a_stopped_driver_resumes_from_the_cache(tiny_llama, tmp_path, stop, code):
    config = write_config(tmp_path / "study.yaml", _tree(tiny_llama))
    out = tmp_path / "out"
    driver = _start_driver(config, out)
    deadline = time.monotonic() + 300
    while not list(out.glob("cells/*/*/cell.json")) and time.monotonic() < deadline:
        assert driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    workers = _session_processes(driver.pid)  # its cluster's processes (workers have their own groups)
    if stop == "kill":
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the cluster it started
    else:
        driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == code, stderr[-3000:]
    deadline = time.monotonic() + 120  # a worker mid-cell may still finish it (whole, or not at all)
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "the stopped study's workers did not stop"
    if stop == "ctrl-c":
        assert "Traceback" not in stderr
        assert "interrupted: its Ray tasks are cancelled; finished cells are kept" in stderr
    finished = len(list(out.glob("cells/*/*/cell.json")))
    assert 1 <= finished and not (out / "report.md").exists()
    again = subprocess.run(
        _summeval("study", "--config", str(config), "--out", str(out), "--executor", "ray", "--no-progress"),
        env=offline_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{finished} finished before, {4 - finished} to run" in again.stdout
    assert _report(out)["complete"]


# ----------------------------------------------------------------------------- bad settings, one line


@pytest.mark.parametrize(
    ("changes", "argv", "expected"),
    [
        ({"executor": "spark"}, [], "executor: must be one of local, ray, got str 'spark'"),
        ({}, ["--ray-address", "auto"], "--ray-address is for --executor ray"),
        ({"ray_address": 5}, [], "ray_address"),
    ],
    ids=["unknown-executor", "address-without-ray", "address-not-text"],
)
def test_bad_executor_settings_are_one_line(tiny_llama, tmp_path, capsys, changes, argv, expected):
    config = write_config(tmp_path / "study.yaml", _tree(tiny_llama, **changes))
    line = one_line_failure(["study", "--config", str(config), "--out", str(tmp_path / "out"), *argv], capsys)
    assert expected in line, line
    assert not (tmp_path / "out").exists()


def test_without_ray_installed_the_executor_is_one_line_before_anything_loads(
    tiny_llama, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    config = write_config(tmp_path / "study.yaml", _tree(tiny_llama))
    argv = ["study", "--config", str(config), "--out", str(tmp_path / "out"), "--executor", "ray"]
    line = one_line_failure(argv, capsys)
    assert 'Ray is not installed; pip install "summeval[ray]"' in line, line


def test_the_local_study_does_not_import_ray():
    code = (
        "import sys; import summeval.cli, summeval.study.run, summeval.study.ray_executor; "
        "print('ray' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=offline_env())
    assert result.stdout.strip() == "False", result.stderr
