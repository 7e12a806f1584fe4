"""``summeval compare`` (a one-model plan, ``summeval.study.compare``): the strategies it resolves from
``--strategies``, and the command on tiny models (a llama, a T5, tweetsumm's ROUGE, active-prompt's
exemplars chosen first), its bad input exit 2 before the model loads, a seeded sample of items."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from support import PNG_MAGIC, SPORTS, TWEETSUMM

from prompt_strategies import StrategyError
from prompt_strategies.builtin import BUILTIN_STRATEGIES
from prompt_strategies.exemplars import read_exemplar_file
from prompt_strategies.registry import get_family, task_name
from summeval import cli
from summeval.lm_eval.runner import sampled_items
from summeval.stats import rate_interval
from summeval.study.compare import resolve_strategies


def resolve_strategy_names(spec: str, family: str) -> list[str]:
    """The names of the strategies ``--strategies spec`` resolves to on ``family``."""
    return [s.name for s in resolve_strategies(spec, get_family(family))]


# ----------------------------------------------------------------------------- strategy names


def test_all_lists_every_strategy_that_applies_to_the_family():
    names = resolve_strategy_names("all", "sports_understanding")
    sports = [s.name for s in BUILTIN_STRATEGIES if s.applies_to(SPORTS)]
    assert "instruct" not in sports  # sports_understanding has no instruction format
    assert sports == names[: len(sports)]
    assert resolve_strategy_names(" all ", "sports_understanding") == names
    tweetsumm = resolve_strategy_names("all", "tweetsumm")
    assert tweetsumm[:5] == ["answer_only", "fewshot", "self_consistency", "active_prompt", "instruct"]


def test_a_comma_separated_list_is_kept_in_order():
    names = resolve_strategy_names("cot, answer_only,,fewshot", "sports_understanding")
    assert names == ["cot", "answer_only", "fewshot"]
    assert resolve_strategy_names("instruct,fewshot", "tweetsumm") == ["instruct", "fewshot"]


def test_an_unknown_strategy_is_an_error_naming_the_known_ones():
    with pytest.raises(StrategyError, match="unknown strategy 'nope'") as raised:
        resolve_strategy_names("answer_only,nope", "sports_understanding")
    for strategy in BUILTIN_STRATEGIES:
        assert strategy.name in str(raised.value)
    with pytest.raises(StrategyError, match="no strategies given"):
        resolve_strategy_names(" , ", "sports_understanding")


def test_a_strategy_that_does_not_apply_to_the_family_is_an_error_naming_those_that_do():
    with pytest.raises(
        StrategyError, match="strategy 'cot' does not apply to the tweetsumm family"
    ) as raised:
        resolve_strategy_names("answer_only,cot", "tweetsumm")
    assert "answer_only, fewshot, self_consistency, active_prompt, instruct" in str(raised.value)
    with pytest.raises(StrategyError, match="'instruct' does not apply to the sports_understanding family"):
        resolve_strategy_names("instruct", "sports_understanding")
    with pytest.raises(StrategyError, match="unknown task family 'nope'"):
        resolve_strategy_names("all", "nope")


def _leftovers(folder) -> list[str]:
    """Staging files and folders left behind (the ownership marker is meant to stay)."""
    return [
        p.name
        for p in folder.rglob("*")
        if (p.name.startswith(".") and p.name != ".summeval-study") or p.name.endswith(".partial")
    ]


# ----------------------------------------------------------------------------- the command end to end


def _compare_command(
    model_args: str, out, strategies: str, options: str | None = None, task: str | None = None
) -> list[str]:
    command = ["compare", "--model-args", model_args, "--device", "cpu", "--data", "sample", "--limit", "2"]
    command += ["--strategies", strategies, "--out", str(out), "--no-progress"]
    command += ["--task", task] if task is not None else []
    return command + (["--options", options] if options is not None else [])


def _check_report(
    out, names: list[str], filters: list[str], family=SPORTS
) -> dict[str, list[dict[str, str]]]:
    """The study report compare wrote in ``out`` is complete and agrees with itself and with lm-eval's own
    results: a cell per strategy of the one model, each strategy compared with the first."""
    lines = (out / "report.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"# Study: compare-{family.name}"
    tasks = [task_name(name, family.name) for name in names]
    for task, filter_name in zip(tasks, filters, strict=True):
        assert any(line.startswith(f"| model | {task} | {filter_name} | 2 of ") for line in lines), task
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] is True
    results = report["results"]
    expected = [(name, filter_name, 2) for name, filter_name in zip(names, filters, strict=True)]
    assert [(r["strategy"], r["filter"], r["n"]) for r in results] == expected
    assert [r["family"] for r in results] == [family.name] * len(names)
    assert list(dict.fromkeys(c["label"] for c in report["comparisons"])) == [
        f"{name} vs {names[0]}" for name in names[1:]
    ]
    chart = out / "charts" / f"{family.name}_{family.primary_metric}.png"
    assert chart.read_bytes().startswith(PNG_MAGIC)
    assert _leftovers(out) == []
    rows_by_strategy = {}
    for result, task in zip(results, tasks, strict=True):
        name = result["strategy"]
        assert (result["task"], result["cell"]) == (task, f"model/{task}")
        text = (out / "samples" / f"model__{task}.csv").read_text(encoding="utf-8")
        reader = csv.DictReader(io.StringIO(text))
        two_stage = ["two_stage_answer"] if family.two_stage else []
        assert reader.fieldnames == [
            "id",
            "prompt",
            "target",
            "model_output",
            "answer",
            *two_stage,
            *family.reported_metrics,
        ]
        rows = list(reader)
        assert len(rows) == 2
        assert set(family.reported_metrics) <= set(result["metrics"])
        for metric in family.reported_metrics:
            values = [float(row[metric]) for row in rows]
            # the CSV has 6 decimals
            assert result["metrics"][metric]["mean"] == pytest.approx(sum(values) / 2, abs=1e-6)
        if family is SPORTS:
            for row in rows:
                assert row["target"] in ("plausible", "implausible")
                assert row["answer"] in ("plausible", "implausible", "invalid")
                assert row["acc"] == str(int(row["answer"] == row["target"]))
                assert row["invalid"] == str(int(row["answer"] == "invalid"))
            correct = sum(int(row["acc"]) for row in rows)
            acc = result["metrics"]["acc"]
            assert (acc["ci_low"], acc["ci_high"]) == pytest.approx(rate_interval(correct, 2))
        cell = json.loads((out / "cells" / "model" / task / "cell.json").read_text(encoding="utf-8"))
        for metric in family.metrics:
            reported = cell["lm_eval"]["results"][f"{metric},{result['filter']}"]
            assert reported == pytest.approx(result["metrics"][metric]["mean"])
        rows_by_strategy[name] = rows
    ids = {tuple(row["id"] for row in rows) for rows in rows_by_strategy.values()}
    assert len(ids) == 1  # every strategy saw the same items
    return rows_by_strategy


def test_compare_reports_the_samples_a_stopping_rule_drew(tiny_llama, tmp_path, offline, capsys):
    """A random tiny llama reads as invalid every time: two alike after the first round, 2 of 4."""
    out = tmp_path / "report"
    options = '{"self_consistency": {"samples": 4, "max_gen_toks": 6, "stop": "window", "window": 2}}'
    assert cli.main(_compare_command(f"pretrained={tiny_llama}", out, "self_consistency", options)) == 0
    record = json.loads(next(out.rglob("cell.json")).read_text())
    assert record["samples_drawn"] == [2, 2]
    for row in _check_report(out, ["self_consistency"], ["maj@4"])["self_consistency"]:
        assert len(json.loads(row["model_output"])) == 2
    report = (out / "report.md").read_text()
    assert "samples per item" in report and "| 2.0 (2–2 of 4) |" in report


def test_compare_on_a_tiny_llama(tiny_llama, tmp_path, offline, capsys):
    out = tmp_path / "report"
    names = ["answer_only", "answer_only_mc", "self_consistency"]
    options = '{"self_consistency": {"samples": 2, "max_gen_toks": 8}}'
    assert cli.main(_compare_command(f"pretrained={tiny_llama}", out, ",".join(names), options)) == 0
    rows = _check_report(out, names, ["answer", "none", "maj@2"])
    assert all(row["prompt"].endswith("Answer plausible or implausible.\nA:") for row in rows["answer_only"])
    assert all(
        re.fullmatch(r"plausible: -?\d+\.\d{3}; implausible: -?\d+\.\d{3}", row["model_output"])
        for row in rows["answer_only_mc"]
    )
    for row in rows["self_consistency"]:
        assert len(json.loads(row["model_output"])) == 2
        assert row["prompt"].count("So the answer is") == 3  # the three shipped exemplars
    printed = capsys.readouterr().out
    assert "| model | sports_understanding_self_consistency | maj@2 | 2 of " in printed
    assert f"report: {out / 'report.md'}" in printed
    started = time.monotonic()  # a rerun into the same folder runs nothing: every cell is cached
    assert cli.main(_compare_command(f"pretrained={tiny_llama}", out, ",".join(names), options)) == 0
    assert "3 finished before, 0 to run" in capsys.readouterr().out and time.monotonic() - started < 60


def test_compare_on_a_tiny_t5(tiny_t5, tmp_path, offline):
    out = tmp_path / "report"
    options = '{"cot": {"max_gen_toks": 4}, "fewshot": {"max_gen_toks": 4, "k": 2}}'
    model_args = f"pretrained={tiny_t5},backend=seq2seq"
    assert cli.main(_compare_command(model_args, out, "cot,fewshot", options)) == 0
    rows = _check_report(out, ["cot", "fewshot"], ["answer", "answer"])
    assert all(row["prompt"].endswith("A: Let's think step by step.") for row in rows["cot"])
    assert all(row["prompt"].count("\nA: ") == 2 for row in rows["fewshot"])  # k=2 labelled exemplars
    models = json.loads((out / "report.json").read_text(encoding="utf-8"))["provenance"]["models"]
    assert (models["model"]["backend"], models["model"]["model_args"]) == ("hf", {"backend": "seq2seq"})


def test_compare_on_tweetsumm_reports_rouge(tiny_llama, tmp_path, offline, capsys):
    from summeval_tasks.tweetsumm.rouge import consensus_summary

    out = tmp_path / "report"
    names = ["answer_only", "self_consistency"]
    options = '{"answer_only": {"max_gen_toks": 6}, "self_consistency": {"samples": 3, "max_gen_toks": 6}}'
    command = _compare_command(f"pretrained={tiny_llama}", out, ",".join(names), options, task="tweetsumm")
    assert cli.main(command) == 0
    rows = _check_report(out, names, ["none", "consensus@3"], TWEETSUMM)
    for row in rows["answer_only"]:
        assert row["prompt"].endswith("\n\nSummary:")
        assert row["answer"] == TWEETSUMM.read_answer(row["model_output"])
    for row in rows["self_consistency"]:
        outputs = json.loads(row["model_output"])
        assert len(outputs) == 3
        assert row["answer"] == consensus_summary([TWEETSUMM.read_answer(o) for o in outputs])
    assert "corrected for skewness" in (out / "report.md").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "### tweetsumm: results" in printed
    assert "| model | tweetsumm_self_consistency | consensus@3 |" in printed


SPORTS_EXEMPLARS = "task_yamls/sports_understanding/cot_fewshot_exemplars.json"


@pytest.mark.parametrize(
    ("strategies", "extra", "message"),
    [
        ("nope", [], "unknown strategy 'nope'; known strategies: "),
        ("answer_only", ["--options", "not json"], "--options is not valid JSON"),
        ("answer_only", ["--options", "[1]"], "--options must be a JSON object"),
        (
            "answer_only",
            ["--options", '{"answer_only": {"bogus": 1}}'],
            "answer_only: unknown option 'bogus'",
        ),
        (
            "answer_only",
            ["--options", '{"answer_only": {"max_gen_toks": "8"}}'],
            "option 'max_gen_toks' must be a positive integer, got '8'",
        ),
        ("fewshot", ["--options", '{"fewshot": {"k": "2"}}'], "option 'k' must be int"),
        ("cot", ["--task", "tweetsumm"], "strategy 'cot' does not apply to the tweetsumm family"),
        ("instruct", [], "strategy 'instruct' does not apply to the sports_understanding family"),
        ("answer_only", ["--task", "nope"], "unknown task family 'nope'"),
        (
            "active_prompt",
            ["--task", "tweetsumm", "--active-uncertainty", "entropy"],
            "tweetsumm: unknown uncertainty metric 'entropy'; choose one of disagreement",
        ),
        (
            "active_prompt",
            ["--active-uncertainty", "spread"],
            "sports_understanding: unknown uncertainty metric 'spread'",
        ),
        (
            "active_prompt",
            ["--task", "tweetsumm", "--active-prompt-exemplars", SPORTS_EXEMPLARS],
            "holds sports_understanding exemplars; the task is a tweetsumm task",
        ),
        ("answer_only,cot,answer_only", [], "--strategies names a strategy twice"),
        ("answer_only", ["--model", "openai-completions"], "--model: 'openai-completions' is not a backend"),
        ("answer_only", ["dtype=float32"], "names no pretrained=; give the model"),
        ("answer_only", ["pretrained=/no/such/model"], "models.model.pretrained: /no/such/model"),
        ("answer_only", ["--data", "/no/such/file.json"], "/no/such/file.json"),
    ],
)
def test_compare_bad_input_is_exit_2_before_the_model_loads(
    tiny_llama, tmp_path, offline, capsys, monkeypatch, strategies, extra, message
):
    from support import REPO

    from summeval.lm_eval import runner

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a command that cannot run")

    monkeypatch.setattr(runner, "load_lm", no_model)
    monkeypatch.chdir(REPO)
    out = tmp_path / "report"
    given = extra[-1] if extra and "=" in extra[-1] and not extra[-1].startswith("{") else None
    model_args = given or f"pretrained={tiny_llama}"
    extra = extra[:-1] if given else extra
    assert cli.main(_compare_command(model_args, out, strategies) + extra) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], errors
    assert not out.exists()


def test_compare_with_active_prompt_selects_exemplars_first(tiny_llama, tmp_path, offline, capsys):
    out = tmp_path / "report"
    command = _compare_command(
        f"pretrained={tiny_llama}", out, "active_prompt", '{"active_prompt": {"max_gen_toks": 8}}'
    )
    command += ["--active-k", "2", "--active-n", "2", "--active-pool-size", "3", "--seed", "5"]
    assert cli.main(command) == 0
    [selected] = (out / "exemplars").glob("model__sports_understanding__*.json")
    exemplars = read_exemplar_file(selected, SPORTS)
    content = json.loads(selected.read_text(encoding="utf-8"))
    assert (content["k"], content["n"], content["pool_size"], content["seed"]) == (2, 2, 3, 5)
    assert content["family"] == "sports_understanding"
    rows = _check_report(out, ["active_prompt"], ["answer"])
    for row in rows["active_prompt"]:
        # the selected exemplars, in order, before the item
        shown = [row["prompt"].index(f"{e['statement']}\nA: {e['rationale']}") for e in exemplars]
        assert shown == sorted(shown)
        assert row["prompt"].endswith("\nA:")


def test_a_seeded_sample_of_items_is_fixed_by_its_seed_and_not_the_first_n():
    from prompt_strategies.registry import get_family
    from summeval.paths import UsageError

    family = get_family("sports_understanding")
    metadata = {"sports_data": "sample"}
    size = len(family.load(metadata)["validation"])
    chosen = sampled_items(size, 6, seed=1234)
    assert chosen == sampled_items(size, 6, seed=1234)
    assert chosen == sorted(set(chosen)) and len(chosen) == 6 and chosen[-1] < size
    assert chosen != list(range(6))
    assert sampled_items(size, 6, seed=7) != chosen
    assert sampled_items(size, size, seed=7) == list(range(size))
    with pytest.raises(UsageError, match=f"sample {size + 1} is larger than its validation split"):
        sampled_items(size, size + 1, seed=7, split="validation")
