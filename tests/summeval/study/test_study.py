"""``summeval study`` end to end: cells run through the real lm-eval, the cache, a real SIGKILL, reruns,
the report (opened in headless Chromium), and a reduced embedded study with every cell type."""

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
import yaml
from support import REPO, offline_env
from support_report import assert_no_network, measure

SPORTS = "sports_understanding"


def write_config(path: Path, tree: dict) -> Path:
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


def tiny_study(tiny_llama: Path, tiny_t5: Path, **changes) -> dict:
    """A quick study on tiny random models: greedy and sampled generation, log-likelihood, seq2seq."""
    tree = {
        "name": "tiny",
        "description": "tiny random models",
        "seed": 7,
        "limit": 3,
        "data": {"tweetsumm": "sample", SPORTS: "sample"},
        "options": {"self_consistency": {"samples": 2, "max_gen_toks": 8}, "cot": {"max_gen_toks": 8}},
        "models": {
            "llama": {"pretrained": str(tiny_llama)},
            "t5": {"pretrained": str(tiny_t5), "model_args": {"backend": "seq2seq"}},
        },
        "evaluations": [
            {"model": "llama", "tasks": ["tweetsumm_zero", "tweetsumm_one"]},
            {"model": "llama", "family": SPORTS, "strategies": ["answer_only", "cot", "self_consistency"]},
            {"model": "t5", "family": SPORTS, "strategies": ["answer_only", "answer_only_mc"]},
        ],
        "comparisons": [
            {"label": "zero vs one", "a": "llama/tweetsumm_zero", "b": "llama/tweetsumm_one"},
            {"label": "answer vs cot", "a": f"llama/{SPORTS}_answer_only", "b": f"llama/{SPORTS}_cot"},
            {"label": "llama vs t5", "a": f"llama/{SPORTS}_answer_only", "b": f"t5/{SPORTS}_answer_only"},
        ],
        "published": {"label": "published", "cells": {f"t5/{SPORTS}_answer_only": {"acc": 0.599}}},
    }
    tree.update(changes)
    return tree


def finished_cells(out: Path) -> dict[str, float]:
    """``{model/task: mtime of cell.json}`` of every complete cell folder."""
    return {
        f"{p.parent.parent.name}/{p.parent.name}": p.stat().st_mtime_ns
        for p in (out / "cells").glob("*/*/cell.json")
    }


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_llama, tiny_t5):
    """One tiny study run in this process; its folder, config path and the summary."""
    from summeval.study.config import load_study
    from summeval.study.run import run_study

    folder = tmp_path_factory.mktemp("tiny-study")
    config_path = write_config(folder / "tiny.yaml", tiny_study(tiny_llama, tiny_t5))
    out = folder / "out"
    env = offline_env()
    old = dict(os.environ)
    os.environ.update(env)
    try:
        summary = run_study(load_study(config_path), out, progress=False)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return folder, config_path, out, summary


def test_every_cell_is_saved_whole_and_the_report_is_written(tiny_run):
    _, _, out, summary = tiny_run
    assert summary["ran"] == 7 and summary["cached"] == 0
    assert len(finished_cells(out)) == 7
    for cell in (out / "cells").glob("*/*"):
        assert sorted(p.name for p in cell.iterdir()) == ["cell.json", "samples.csv", "samples.jsonl"]
        record = json.loads((cell / "cell.json").read_text())
        assert record["n"] == 3 and len(record["items"]) == 3
        # the tiny random models never write a stop sequence: every generated output runs to its budget
        multiple_choice = cell.name.endswith("_mc")
        assert record["truncated"] == ([None] * 3 if multiple_choice else [1.0] * 3), cell
        samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
        assert {s["doc_id"] for s in samples} == {0, 1, 2}
    report = (out / "report.md").read_text()
    for heading in (
        "### tweetsumm: results",
        f"### {SPORTS}: results",
        f"### {SPORTS}: baselines",
        "### Paired comparisons",
        "### Time per cell",
        "### Package versions",
    ):
        assert heading in report
    assert "| t5 | sports_understanding_answer_only |" in report
    assert "0.599" in report  # the published figure beside our cell
    assert "exact McNemar" in report and "paired t" in report
    # context beside every figure: the items (split, its size, how chosen) and the seed of a sampled cell
    assert "| llama | tweetsumm_zero | none | 3 of 8 test, the first 3 | greedy |" in report
    assert f"| llama | {SPORTS}_self_consistency | maj@2 | 3 of " in report
    assert "validation, the first 3 | 7 |" in report
    # three comparisons; each sports one on both the strict and the two-stage accuracy: five tests
    assert "| comparison | A | B | metric | n |" in report and "B − A [95%, unadjusted]" in report
    assert "| llama/sports_understanding_cot | acc_two_stage | 3 |" in report
    assert "over the family of all m = 5 tests of the study" in report
    # each sports cell against the majority baseline (paired), and guessing as a prediction range apart
    assert f"### {SPORTS}: random guessing (a prediction range, not a confidence interval)" in report
    assert "Holm p (m = 5)" in report  # the five sports cells against the majority
    assert (out / "charts" / f"{SPORTS}_acc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "samples" / "llama__tweetsumm_zero.csv").read_text().startswith("id,prompt,target")
    facts = json.loads((out / "report.json").read_text())
    assert len(facts["comparisons"]) == 5 and {c["test"] for c in facts["comparisons"]} == {
        "paired t",
        "exact McNemar",
    }
    assert facts["provenance"]["models"]["t5"]["model_args"] == {"backend": "seq2seq"}
    assert facts["provenance"]["versions"]["lm_eval"].startswith("0.4.")
    one = json.loads((out / "cells" / "llama" / "tweetsumm_one" / "cell.json").read_text())
    assert one["settings"]["options"]["seed"] == 7  # the study's seed chooses the exemplar too
    assert one["settings"]["device"] == "cpu" and one["environment"]["versions"]["summeval"]


def test_report_only_shows_cells_saved_with_other_settings_as_stale(tiny_run, tiny_llama, tiny_t5, offline):
    from summeval.cli import main

    folder, _, out, _ = tiny_run
    changed = tiny_study(tiny_llama, tiny_t5)
    changed["options"]["cot"]["max_gen_toks"] = 9
    path = write_config(folder / "stale.yaml", changed)
    before = finished_cells(out)
    assert main(["study", "--config", str(path), "--out", str(out), "--report-only"]) == 0
    report = (out / "report.md").read_text()
    assert f"| llama | {SPORTS}_cot | stale: settings changed, rerun |" in report
    assert "Not run yet (a cell missing), so not tested: answer vs cot." in report
    assert finished_cells(out) == before  # nothing ran
    assert "Written from the saved cells (--report-only)" in report and "This run: 0 s" not in report
    assert main(["study", "--config", str(folder / "tiny.yaml"), "--out", str(out), "--report-only"]) == 0


def test_the_report_numbers_are_the_cells_scores(tiny_run):
    """The table's mean is recomputed from lm-eval's per-sample log, not copied from anywhere else."""
    from prompt_strategies.registry import get_family
    from summeval.lm_eval.samples import item_scores, sample_rows

    _, _, out, _ = tiny_run
    cell = out / "cells" / "llama" / f"{SPORTS}_answer_only"
    record = json.loads((cell / "cell.json").read_text())
    samples = [json.loads(line) for line in (cell / "samples.jsonl").read_text().splitlines()]
    primary = [s for s in samples if s["filter"] == record["filter"]]
    family = get_family(SPORTS)
    assert item_scores(sample_rows(primary, family), family)["acc"] == record["scores"]["acc"]
    lm_eval_acc = record["lm_eval"]["results"][f"acc,{record['filter']}"]
    assert sum(record["scores"]["acc"]) / 3 == pytest.approx(lm_eval_acc)


def test_a_rerun_skips_finished_cells_and_reruns_only_a_changed_one(tiny_run, tiny_llama, tiny_t5, offline):
    from summeval.study.config import load_study
    from summeval.study.run import run_study

    folder, config_path, out, _ = tiny_run
    before = finished_cells(out)
    again = run_study(load_study(config_path), out, progress=False)
    assert (again["ran"], again["cached"]) == (0, 7)
    assert finished_cells(out) == before  # not rewritten

    changed = tiny_study(tiny_llama, tiny_t5)
    changed["options"]["self_consistency"]["samples"] = 3
    changed_path = write_config(folder / "changed.yaml", changed)
    summary = run_study(load_study(changed_path), out, progress=False)
    assert (summary["ran"], summary["cached"]) == (1, 6)
    after = finished_cells(out)
    assert [c for c in after if after[c] != before[c]] == [f"llama/{SPORTS}_self_consistency"]
    record = json.loads((out / "cells" / "llama" / f"{SPORTS}_self_consistency" / "cell.json").read_text())
    assert record["settings"]["options"]["samples"] == 3


def test_greedy_and_sampled_cells_rerun_to_identical_outputs_at_the_same_seed(tiny_run, offline):
    from summeval.study.config import load_study
    from summeval.study.run import run_study

    folder, config_path, _, _ = tiny_run
    first, second = folder / "rerun-1", folder / "rerun-2"  # (the shared run's folder is changed elsewhere)
    for out in (first, second):
        run_study(load_study(config_path), out, progress=False)
    for task in ("tweetsumm_zero", f"{SPORTS}_cot", f"{SPORTS}_self_consistency"):
        outputs = [
            [json.loads(line)["resps"] for line in (out / "cells" / "llama" / task / "samples.jsonl").open()]
            for out in (first, second)
        ]
        assert outputs[0] == outputs[1], task
    sampled = outputs[0][0][0]
    assert len(sampled) == 2 and sampled[0] != sampled[1]  # really sampled: two different paths


def test_shared_prefix_settings_are_in_a_sampled_cells_key_and_its_fallbacks_recorded(
    tiny_run, offline, monkeypatch
):
    """Sharing on/off and its rows per encoding change sampled outputs at one seed: flipping either
    reruns the sampled cell only; a group that falls back to plain repeats is recorded and reported."""
    from summeval.lm_eval import shared_prefix
    from summeval.study.config import load_study
    from summeval.study.run import run_study
    from summeval_tasks.util.errors import SummevalError

    folder, config_path, out, _ = tiny_run
    copy = folder / "sharing"
    shutil.copytree(out, copy)
    sampled = f"llama/{SPORTS}_self_consistency"

    def rerun() -> list[str]:
        before = finished_cells(copy)
        run_study(load_study(config_path), copy, progress=False)
        after = finished_cells(copy)
        return [c for c in after if after[c] != before[c]]

    def record() -> dict:
        return json.loads((copy / "cells" / "llama" / f"{SPORTS}_self_consistency" / "cell.json").read_text())

    assert record()["settings"]["shared_prefix"] == {"enabled": True, "chunk_rows": 16}
    assert (
        "shared_prefix"
        not in json.loads((copy / "cells" / "llama" / "tweetsumm_zero" / "cell.json").read_text())["settings"]
    )
    monkeypatch.setenv("SUMMEVAL_SHARED_PREFIX", "0")
    assert rerun() == [sampled]
    assert record()["settings"]["shared_prefix"] == {"enabled": False}
    monkeypatch.delenv("SUMMEVAL_SHARED_PREFIX")
    monkeypatch.setenv("SUMMEVAL_SHARED_PREFIX_CHUNK", "1")
    assert rerun() == [sampled]
    assert record()["settings"]["shared_prefix"] == {"enabled": True, "chunk_rows": 1}
    assert record()["shared_prefix_fallbacks"] == []

    monkeypatch.setenv("SUMMEVAL_SHARED_PREFIX_CHUNK", "2")
    working = shared_prefix._shared_model_generate

    def broken(*args, **kwargs):
        raise RuntimeError("no cache for you")

    monkeypatch.setattr(shared_prefix, "_shared_model_generate", broken)
    assert rerun() == [sampled]
    assert (
        record()["shared_prefix_fallbacks"] and "no cache for you" in record()["shared_prefix_fallbacks"][0]
    )
    report = json.loads((copy / "report.json").read_text())
    assert "fell back to plain repeats" in report["provenance"]["cells"][sampled]["sampling"]
    # the fallback is taken no more: the cell is not reused as if its samples were the shared path's
    monkeypatch.setattr(shared_prefix, "_shared_model_generate", working)
    assert rerun() == [sampled]
    assert record()["shared_prefix_fallbacks"] == []
    assert rerun() == []  # now cached

    monkeypatch.setenv("SUMMEVAL_SHARED_PREFIX_CHUNK", "lots")
    with pytest.raises(SummevalError, match="SUMMEVAL_SHARED_PREFIX_CHUNK='lots' is not a positive integer"):
        run_study(load_study(config_path), copy, progress=False)


def test_further_seeds_rerun_only_the_sampled_cells_and_the_report_gives_their_spread(
    tiny_run, tiny_llama, tiny_t5, offline
):
    from summeval.study.config import load_study
    from summeval.study.run import run_study

    folder, _, out, _ = tiny_run
    copy = folder / "seeds"
    shutil.copytree(out, copy)
    tree = tiny_study(tiny_llama, tiny_t5)
    tree.pop("seed")
    tree["seeds"] = [7, 8]  # the first is the tiny study's seed: its cells stay cached
    before = finished_cells(copy)
    summary = run_study(load_study(write_config(folder / "seeds.yaml", tree)), copy, progress=False)
    assert summary["cells"] == 8  # seven cells and one replicate: greedy cells run once
    after = finished_cells(copy)
    changed = {c for c in after if after[c] != before.get(c)}
    sampled = f"llama/{SPORTS}_self_consistency"
    # (the first seed's sampled cell may rerun too: another test leaves it saved with other settings)
    assert f"{sampled}@seed8" in changed and changed <= {sampled, f"{sampled}@seed8"}
    replicate = json.loads(
        (copy / "cells" / "llama" / f"{SPORTS}_self_consistency@seed8" / "cell.json").read_text()
    )
    first = json.loads((copy / "cells" / "llama" / f"{SPORTS}_self_consistency" / "cell.json").read_text())
    assert replicate["settings"]["seed"] == 8 and replicate["items"] == first["items"]  # same items, own seed
    report = (copy / "report.md").read_text()
    row = next(
        line for line in report.splitlines() if line.startswith(f"| llama | {SPORTS}_self_consistency |")
    )
    assert "| 7, 8 |" in row and "acc: sd " in row and "(2 seeds)" in row
    # its figures and interval take both seeds: each item's mean over them, the t interval over items
    assert "interval over the 2 seeds " in row or "no spread" in row or "(n too small)" in row
    assert "each item's mean over the seeds" in report
    assert "| llama | tweetsumm_zero | none | 3 of 8 test, the first 3 | greedy |" in report


def test_a_study_killed_mid_grid_resumes_losing_at_most_the_cell_in_progress(tmp_path, tiny_llama, tiny_t5):
    tree = tiny_study(tiny_llama, tiny_t5, limit=6)
    config_path = write_config(tmp_path / "tiny.yaml", tree)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "summeval.cli", "study", "--config", str(config_path), "--out", str(out)]
    proc = subprocess.Popen(
        [*command, "--no-progress"],
        env=offline_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 300
    while len(finished_cells(out)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the study ended before it could be killed"
    survived = finished_cells(out)
    assert 2 <= len(survived) < 7
    for cell in survived:  # every visible cell folder is whole
        folder = out / "cells" / cell
        assert sorted(p.name for p in folder.iterdir()) == ["cell.json", "samples.csv", "samples.jsonl"]
    rerun = subprocess.run(
        [*command, "--no-progress"], env=offline_env(), cwd=REPO, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"7 cells, {len(survived)} finished before, {7 - len(survived)} to run" in rerun.stdout
    after = finished_cells(out)
    assert len(after) == 7 and all(after[c] == survived[c] for c in survived)
    leftovers = [p for p in (out / "cells").glob("*/*") if p.name.startswith(".") or p.name.endswith(".new")]
    assert leftovers == []
    assert "All 7 cells finished." in (out / "report.md").read_text()


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_the_html_report_renders_its_tables_and_charts_in_headless_chromium(tiny_run, tmp_path):
    browser = chromium()
    if browser is None:
        if os.environ.get("SUMMEVAL_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from PIL import Image

    _, _, out, _ = tiny_run
    page = (out / "report.html").resolve().as_uri()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'p'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120
    ).stdout
    # two bar charts and the forest plot of the comparisons, embedded
    assert dom.count("<table>") >= 8 and dom.count('src="data:image/png;base64,') == 3
    html_text = (out / "report.html").read_text(encoding="utf-8")
    # a per-sample view per cell and sports' items every cell gets wrong, in the file; each of the three
    # comparisons item by item, A and B side by side inside the window when opened
    assert html_text.count("<details class=samples>") == 7 + 1
    assert html_text.count('<details class="samples diff">') == 3
    opened = "<script>document.querySelectorAll('details').forEach(d => d.open = true);</script>"
    sides = measure(html_text, tmp_path, extra_js=opened)["sides"]
    assert sides and all(sides), sides
    assert_no_network(html_text)
    measured = measure(html_text, tmp_path)
    assert measured["scrollWidth"] <= measured["innerWidth"] == 1280, measured
    # p, Holm p and verdict of the 3 comparisons (and of the baseline tests) inside the viewport
    assert measured["keys"] >= 9 and measured["keysVisible"] == measured["keys"], measured
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, "--window-size=1280,2400", f"--screenshot={shot}", page],
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50, "the screenshot is blank"
    # The charts' bars (#4C72B0) are drawn: the embedded PNGs decoded and were painted.
    bar_blue = sum(
        count
        for count, rgb in colours
        if max(abs(a - b) for a, b in zip(rgb, (76, 114, 176), strict=True)) < 12
    )
    assert bar_blue > 500
    # Table borders and text: many dark pixels in the upper part, where the result tables are.
    top = image.crop((0, 0, 1280, 900)).convert("L")
    assert sum(top.histogram()[:100]) > 2000


@pytest.mark.slow
def test_a_reduced_embedded_study_exercises_every_cell_type(tmp_path, offline):
    """studies/embedded.yaml cut to two items per task: base, trained adapters (r16 and r32), sampled
    self-consistency and active-prompt on both families, log-likelihood, CoT, few-shot, chat template."""
    from summeval.study.config import load_study
    from summeval.study.run import run_study

    tree = yaml.safe_load((REPO / "studies" / "embedded.yaml").read_text())
    tree["limit"] = 2
    tree["options"] = {"self_consistency": {"samples": 2}, "cot": {"max_gen_toks": 48}}
    tree["active_prompt"] = {"k": 2, "n": 1, "pool_size": 3}
    for model in tree["models"].values():
        if "recipe" in model:
            model["recipe"] = str(REPO / "studies" / model["recipe"])
            model["max_steps"] = 1
    tree["evaluations"][3]["sample"] = 2  # a seeded sample of the generated statements (offline)
    tree["evaluations"][3]["strategies"] = [
        "answer_only_mc",
        "cot_fewshot",
        "self_consistency",
        "active_prompt",
    ]
    cells = {
        f"{e['model']}/{task}"
        for e in tree["evaluations"]
        for task in e.get("tasks") or [f"{e['family']}_{s}" for s in e["strategies"]]
    }
    tree["comparisons"] = [c for c in tree["comparisons"] if {c["a"], c["b"]} <= cells]
    tree["published"]["cells"] = {k: v for k, v in tree["published"]["cells"].items() if k in cells}
    config = load_study(write_config(tmp_path / "embedded.yaml", tree))
    out = tmp_path / "out"
    summary = run_study(config, out, progress=False)
    assert summary["ran"] == len(config.cells) == 12
    assert set(summary["adapters"]) == {"smollm2-r16", "smollm2-r32"}
    for name, rank in (("smollm2-r16", 16), ("smollm2-r32", 32)):
        adapter = json.loads((out / "adapters" / name / "adapter_config.json").read_text())
        assert adapter["r"] == rank
    assert len(list((out / "exemplars").glob("*.json"))) == 2  # one selection per family
    facts = json.loads((out / "report.json").read_text())
    assert facts["complete"] is True
    assert facts["provenance"]["models"]["smollm2-r32"]["adapter"]["rank"] == 32
    tests = {c["label"]: c for c in facts["comparisons"]}
    assert tests["base vs r16"]["test"] == "paired t" and tests["base vs r16"]["n"] == 2
    report = (out / "report.md").read_text()
    assert "| smollm2-r16 | tweetsumm_instruct |" in report and "0.409" in report
    assert "consensus@2" in report and "maj@2" in report
    # where its exemplars came from, per active-prompt cell (1 selected: from the model or label only)
    sources = [line for line in report.splitlines() if "Exemplars of " in line]
    assert any("sports_understanding_active_prompt: 1 " in line for line in sources), sources
    assert any("tweetsumm_active_prompt: 1 reference" in line for line in sources), sources
    second = run_study(config, out, progress=False)
    assert second["ran"] == 0 and second["cached"] == 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"models": {"llama": {"pretrained": "/no/such/model"}}}, "models.llama.pretrained: /no/such/model"),
        (
            {"options": {"self_consistncy": {"samples": 2}}},
            "options.self_consistncy: unknown field; did you mean",
        ),
        ({"options": {"self_consistency": {"samples": 0}}}, "samples"),
        ({"data": {"tweetsumm": "/no/such/data.json", SPORTS: "sample"}}, "/no/such/data.json"),
        ({"active_prompt": {"k": 2, "n": 100}}, "n=100"),
    ],
)
def test_summeval_study_refuses_bad_input_in_one_line_before_any_model_loads(
    tmp_path, tiny_llama, tiny_t5, capsys, offline, change, message
):
    from summeval.cli import main

    tree = tiny_study(tiny_llama, tiny_t5)
    if "models" in change:
        tree["models"] = change["models"]
        tree["evaluations"] = [{"model": "llama", "tasks": ["tweetsumm_zero"]}]
        tree["comparisons"], tree["published"] = [], {}
    else:
        tree.update(change)
        if "active_prompt" in change:
            tree["evaluations"] = [{"model": "llama", "family": SPORTS, "strategies": ["active_prompt"]}]
            tree["comparisons"], tree["published"] = [], {}
    out = tmp_path / "out"
    code = main(["study", "--config", str(write_config(tmp_path / "bad.yaml", tree)), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err and message in err, err
    assert not (out / "cells").exists()  # nothing ran
