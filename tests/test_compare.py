"""``summeval compare``: the rate and mean intervals, strategy names per family, per-item CSVs from both
shapes of lm-eval samples, the report files (sports_understanding and tweetsumm), and the command end to
end on tiny real models."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict

import pytest

from prompt_strategies import StrategyError
from prompt_strategies.builtin import BUILTIN_STRATEGIES
from prompt_strategies.exemplars import read_exemplar_file
from prompt_strategies.registry import get_family, task_name
from summeval import cli
from summeval.lm_eval.runner import sampled_items
from summeval.lm_eval.samples import sample_answer, sample_rows, samples_csv
from summeval.report.analysis import StrategyResult, result_row
from summeval.report.compare import results_markdown, write_report
from summeval.stats import mean_interval, metric_summary, rate_interval
from summeval.study import compare as study_compare
from summeval.study.compare import resolve_strategy_names
from summeval_tasks.tweetsumm.rouge import rouge_scores

SPORTS = get_family("sports_understanding")
TWEETSUMM = get_family("tweetsumm")
CSV_COLUMNS = [
    "id", "prompt", "target", "model_output", "answer", "two_stage_answer",
    "acc", "invalid", "acc_two_stage", "agree_two_stage",
]  # fmt: skip
ROUGE = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
TWEETSUMM_CSV_COLUMNS = ["id", "prompt", "target", "model_output", "answer", *ROUGE]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# ----------------------------------------------------------------------------- intervals


def test_metric_summary_uses_clopper_pearson_for_rates_and_t_otherwise():
    rate = metric_summary([1.0, 0.0, 1.0, 1.0], binary=True)
    assert rate["mean"] == 0.75 and rate["n"] == 4
    assert (rate["ci_low"], rate["ci_high"]) == rate_interval(3, 4)
    scores = [0.2, 0.5, 0.45, 0.7]
    summary = metric_summary(scores, binary=False, seed=3)
    assert summary["mean"] == pytest.approx(sum(scores) / 4)
    assert (summary["ci_low"], summary["ci_high"]) == mean_interval(scores)
    assert metric_summary([], binary=True) == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}


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


# ----------------------------------------------------------------------------- samples, as lm-eval gives them

PROMPT_4 = "Q: Is it plausible?\nVirgil van Dijk cleared the ball off the line\nA:"
PROMPT_5 = "Q: Is it plausible?\nKevin De Bruyne grounded into a double play\nA:"
DOC_4 = {"id": "example-0004", "statement": "Virgil van Dijk cleared", "input": "...", "label": "plausible"}
DOC_5 = {"id": "example-0005", "statement": "De Bruyne grounded", "input": "...", "label": "implausible"}
GREEDY = {"until": ["\n\n"], "do_sample": False, "max_gen_toks": 16}
SAMPLED = {"until": ["\nQ:"], "do_sample": True, "temperature": 0.7, "max_gen_toks": 8}


def _generated(doc_id, doc, prompt, outputs, filtered, kwargs=GREEDY, two_stage="plausible"):
    """An in-memory sample of a generate_until task, as ``simple_evaluate(log_samples=True)`` returns it:
    the filtered answer carries its two-stage answer, and the per-item metrics are logged beside it."""
    from summeval.lm_eval.two_stage import Verdict

    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": doc["label"],
        "arguments": [(prompt, kwargs)],
        "resps": [list(outputs)],
        "filtered_resps": [Verdict(filtered, two_stage)],
        "filter": "answer",
        **SPORTS.score(doc, filtered),
        **SPORTS.score_two_stage(doc, filtered, two_stage),
    }


def _multiple_choice(doc_id, doc, prompt, plausible_ll, implausible_ll):
    """An in-memory multiple_choice sample: one (log-likelihood, is_greedy) request per label."""
    pairs = [(plausible_ll, plausible_ll > implausible_ll), (implausible_ll, implausible_ll >= plausible_ll)]
    answer = "plausible" if plausible_ll > implausible_ll else "implausible"
    return {
        **SPORTS.score(doc, answer),
        **SPORTS.score_two_stage(doc, answer, answer),
        "doc_id": doc_id,
        "doc": doc,
        "target": ["plausible", "implausible"].index(doc["label"]),
        "arguments": [(prompt, " plausible"), (prompt, " implausible")],
        "resps": [[pair] for pair in pairs],
        "filtered_resps": pairs,
        "filter": "none",
    }


def _logged(sample):
    """``sample`` as lm-eval's ``--log_samples`` JSONL holds it (see EvaluationTracker.save_results_samples):
    arguments as {"gen_args_i": {"arg_j": ...}}, responses stringified, target a string."""
    from lm_eval.utils import handle_non_serializable, sanitize_list

    logged = dict(sample)
    logged["arguments"] = {
        f"gen_args_{i}": {f"arg_{j}": value for j, value in enumerate(arg)}
        for i, arg in enumerate(sample["arguments"])
    }
    logged["resps"] = sanitize_list(sample["resps"])
    logged["filtered_resps"] = sanitize_list(sample["filtered_resps"])
    logged["target"] = str(sample["target"])
    return json.loads(json.dumps(logged, default=handle_non_serializable))


ANSWER_ONLY = [
    _generated(1, DOC_5, PROMPT_5, ["Implausible, he plays soccer."], "implausible", two_stage="implausible"),
    _generated(0, DOC_4, PROMPT_4, ["no idea"], "invalid"),
]
SELF_CONSISTENCY = [
    _generated(
        0,
        DOC_4,
        PROMPT_4,
        ["He is a defender. So the answer is plausible.", "So the answer is implausible."],
        "plausible",
        SAMPLED,
    ),
]
MULTIPLE_CHOICE = [
    _multiple_choice(0, DOC_4, PROMPT_4, -1.25, -2.5),
    _multiple_choice(1, DOC_5, PROMPT_5, -0.5, -0.25),
]


def csv_of(samples, family) -> str:
    """The per-item CSV of logged samples, as a cell writes it."""
    return samples_csv(sample_rows(samples, family), family)


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == CSV_COLUMNS
    return list(reader)


def test_the_logged_shape_is_what_lm_eval_writes():
    logged = _logged(MULTIPLE_CHOICE[0])
    assert logged["arguments"] == {
        "gen_args_0": {"arg_0": PROMPT_4, "arg_1": " plausible"},
        "gen_args_1": {"arg_0": PROMPT_4, "arg_1": " implausible"},
    }
    assert logged["filtered_resps"] == [["-1.25", "True"], ["-2.5", "False"]]
    assert logged["resps"] == [[["-1.25", "True"]], [["-2.5", "False"]]]


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_sample_answer_reads_generated_and_multiple_choice_samples(shape):
    convert = _logged if shape == "logged" else dict
    assert sample_answer(convert(ANSWER_ONLY[0]), SPORTS) == "implausible"
    assert sample_answer(convert(ANSWER_ONLY[1]), SPORTS) == "invalid"
    assert sample_answer(convert(SELF_CONSISTENCY[0]), SPORTS) == "plausible"
    # the more likely label wins
    assert sample_answer(convert(MULTIPLE_CHOICE[0]), SPORTS) == "plausible"
    assert sample_answer(convert(MULTIPLE_CHOICE[1]), SPORTS) == "implausible"


def test_sample_answer_extracts_from_unfiltered_text():
    sample = _generated(0, DOC_4, PROMPT_4, ["x"], "Yes. It is plausible.")
    assert sample_answer(sample, SPORTS) == "plausible"
    assert sample_answer({**sample, "filtered_resps": []}, SPORTS) == "invalid"


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_a_generated_task(shape):
    convert = _logged if shape == "logged" else dict
    rows = _rows(csv_of([convert(s) for s in ANSWER_ONLY], SPORTS))
    in_memory = shape == "in memory"  # a logged sample keeps the two-stage scores, not the answer
    assert rows == [  # sorted by doc_id
        {
            "id": "example-0004",
            "prompt": PROMPT_4,
            "target": "plausible",
            "model_output": "no idea",
            "answer": "invalid",
            "two_stage_answer": "plausible" if in_memory else "",
            "acc": "0",
            "invalid": "1",
            "acc_two_stage": "1",
            "agree_two_stage": "0",
        },
        {
            "id": "example-0005",
            "prompt": PROMPT_5,
            "target": "implausible",
            "model_output": "Implausible, he plays soccer.",
            "answer": "implausible",
            "two_stage_answer": "implausible" if in_memory else "",
            "acc": "1",
            "invalid": "0",
            "acc_two_stage": "1",
            "agree_two_stage": "1",
        },
    ]


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_repeated_samples_lists_every_output(shape):
    convert = _logged if shape == "logged" else dict
    (row,) = _rows(csv_of([convert(s) for s in SELF_CONSISTENCY], SPORTS))
    assert json.loads(row["model_output"]) == SELF_CONSISTENCY[0]["resps"][0]
    assert (row["answer"], row["acc"], row["invalid"]) == ("plausible", "1", "0")


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_multiple_choice_shows_each_labels_log_likelihood(shape):
    convert = _logged if shape == "logged" else dict
    rows = _rows(csv_of([convert(s) for s in MULTIPLE_CHOICE], SPORTS))
    assert [row["model_output"] for row in rows] == [
        "plausible: -1.250; implausible: -2.500",
        "plausible: -0.500; implausible: -0.250",
    ]
    assert [row["target"] for row in rows] == ["plausible", "implausible"]  # the label, not lm-eval's index
    assert [(row["answer"], row["acc"], row["invalid"]) for row in rows] == [
        ("plausible", "1", "0"),
        ("implausible", "1", "0"),
    ]
    assert [row["prompt"] for row in rows] == [PROMPT_4, PROMPT_5]


def test_both_shapes_give_the_same_csv():
    def scores_only(text):  # a logged generated sample keeps its two-stage scores, not the answer itself
        return [{k: v for k, v in row.items() if k != "two_stage_answer"} for row in _rows(text)]

    for samples in (ANSWER_ONLY, SELF_CONSISTENCY):
        assert scores_only(csv_of(samples, SPORTS)) == scores_only(
            csv_of([_logged(s) for s in samples], SPORTS)
        )
    assert csv_of(MULTIPLE_CHOICE, SPORTS) == csv_of([_logged(s) for s in MULTIPLE_CHOICE], SPORTS)
    assert csv_of(SUMMARIES, TWEETSUMM) == csv_of([_logged(s) for s in SUMMARIES], TWEETSUMM)


# ----------------------------------------------------------------------------- tweetsumm samples

DIALOG_0 = {
    "id": "d0",
    "conversation": "Customer: my order is late\nAgent: sorry, checking",
    "references": ["Agent checks the late order.", "Customer's order is late; agent checks."],
    "summary": "Agent checks the late order.",
}
DIALOG_1 = {
    "id": "d1",
    "conversation": "Customer: refund please\nAgent: done",
    "references": ["Agent refunds the customer."],
    "summary": "Agent refunds the customer.",
}
SUMMARY_KWARGS = {"until": list(TWEETSUMM.answer_stop), "do_sample": False, "max_gen_toks": 64}


def _summary(doc_id, doc, outputs, filtered):
    """An in-memory sample of a tweetsumm generate_until task."""
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": doc["summary"],
        "arguments": [(TWEETSUMM.direct_question(doc), SUMMARY_KWARGS)],
        "resps": [list(outputs)],
        "filtered_resps": [filtered],
        "filter": "answer",
    }


SUMMARIES = [
    _summary(1, DIALOG_1, [" Agent refunds the customer.\nCustomer: thanks"], "Agent refunds the customer."),
    _summary(0, DIALOG_0, ["The order is late."], "The order is late."),
]


def test_samples_csv_of_tweetsumm_has_a_column_per_rouge_metric():
    reader = csv.DictReader(io.StringIO(csv_of(SUMMARIES, TWEETSUMM)))
    assert reader.fieldnames == TWEETSUMM_CSV_COLUMNS
    rows = list(reader)
    assert [(row["id"], row["target"], row["answer"]) for row in rows] == [
        ("d0", "Agent checks the late order.", "The order is late."),
        ("d1", "Agent refunds the customer.", "Agent refunds the customer."),
    ]
    assert rows[1]["model_output"] == " Agent refunds the customer.\nCustomer: thanks"
    assert rows[0]["prompt"] == TWEETSUMM.direct_question(DIALOG_0)
    expected = rouge_scores("The order is late.", DIALOG_0["references"])
    for metric in ROUGE:
        assert float(rows[0][metric]) == pytest.approx(expected[metric], abs=1e-6)
        assert rows[1][metric] == "1"  # a summary equal to its reference
    assert 0.0 < expected["rouge1"] < 1.0


def test_sample_answer_of_tweetsumm_is_the_summary_up_to_a_stop_sequence():
    assert sample_answer(SUMMARIES[0], TWEETSUMM) == "Agent refunds the customer."
    unfiltered = {**SUMMARIES[0], "filtered_resps": ["  A summary.\nAgent: more"]}
    assert sample_answer(unfiltered, TWEETSUMM) == "A summary."
    assert sample_answer({**SUMMARIES[0], "filtered_resps": []}, TWEETSUMM) == ""


# ----------------------------------------------------------------------------- rows


def _cells(mean: float, low: float, high: float, n: int = 2) -> dict[str, float]:
    return {"mean": mean, "ci_low": low, "ci_high": high, "n": n}


def test_result_row_of_sports_has_clopper_pearson_intervals_for_accuracy_and_invalid_rate():
    row = result_row(SPORTS, "answer_only", task_name("answer_only", SPORTS.name), "answer", ANSWER_ONLY)
    assert (row.strategy, row.task, row.filter, row.n) == (
        "answer_only",
        "sports_understanding_answer_only",
        "answer",
        2,
    )
    assert list(row.metrics) == ["acc", "invalid", "acc_two_stage", "agree_two_stage"]
    # one of two right, the other invalid
    assert row.metrics["acc"] == _cells(0.5, *rate_interval(1, 2))
    assert row.metrics["invalid"] == _cells(0.5, *rate_interval(1, 2))
    assert row.mean("acc") == 0.5
    mc = result_row(
        SPORTS, "answer_only_mc", task_name("answer_only_mc", SPORTS.name), "none", MULTIPLE_CHOICE
    )
    assert mc.metrics == {  # a multiple-choice answer is its own two-stage answer
        "acc": _cells(1.0, *rate_interval(2, 2)),
        "invalid": _cells(0.0, *rate_interval(0, 2)),
        "acc_two_stage": _cells(1.0, *rate_interval(2, 2)),
        "agree_two_stage": _cells(1.0, *rate_interval(2, 2)),
    }


def test_result_row_of_tweetsumm_has_t_intervals_for_each_rouge_metric():
    row = result_row(TWEETSUMM, "answer_only", task_name("answer_only", "tweetsumm"), "answer", SUMMARIES, 5)
    assert row.task == "tweetsumm_answer_only" and row.n == 2
    assert list(row.metrics) == ROUGE
    for metric in ROUGE:
        values = [rouge_scores("The order is late.", DIALOG_0["references"])[metric], 1.0]  # doc order
        assert row.metrics[metric] == pytest.approx(
            {
                "mean": sum(values) / 2,
                "ci_low": mean_interval(values)[0],
                "ci_high": mean_interval(values)[1],
                "n": 2,
            }
        )


# ----------------------------------------------------------------------------- the report


ROWS = [
    StrategyResult(
        "answer_only",
        "sports_understanding_answer_only",
        "answer",
        10,
        {
            "acc": _cells(0.5, 0.2366, 0.7634),
            "invalid": _cells(0.1, 0.0179, 0.4042),
            "acc_two_stage": _cells(0.6, 0.2624, 0.8784),
            "agree_two_stage": _cells(0.5, 0.1871, 0.8129),
        },
    ),
    StrategyResult(
        "self_consistency",
        "sports_understanding_self_consistency",
        "maj@5",
        10,
        {
            "acc": _cells(1.0, 0.72, 1.0),
            "invalid": _cells(0.0, 0.0, 0.2775),
            "acc_two_stage": _cells(1.0, 0.72, 1.0),
            "agree_two_stage": _cells(1.0, 0.72, 1.0),
        },
    ),
]
TWEETSUMM_ROWS = [
    StrategyResult(
        "answer_only",
        "tweetsumm_answer_only",
        "answer",
        8,
        {m: _cells(0.4 - i / 10, 0.35 - i / 10, 0.45 - i / 10) for i, m in enumerate(ROUGE)},
    ),
]


def test_results_markdown_has_a_row_per_strategy():
    text = results_markdown(ROWS, SPORTS, "hf pretrained=x ")
    assert text.startswith("Model: `hf pretrained=x`\n")
    assert "Task family: sports_understanding" in text
    assert "| strategy | filter | n | acc [95% interval] | invalid [95% interval] |" in text
    assert "| answer_only | answer | 10 | 0.500 [0.237, 0.763] | 0.100 [0.018, 0.404] |" in text
    assert "| self_consistency | maj@5 | 10 | 1.000 [0.720, 1.000] | 0.000 [0.000, 0.278] |" in text
    assert "Clopper–Pearson" in text and "Wilson" not in text and "bootstrap" not in text


def test_results_markdown_of_tweetsumm_has_a_column_per_rouge_metric():
    text = results_markdown(TWEETSUMM_ROWS, TWEETSUMM)
    assert "Task family: tweetsumm" in text and "Model:" not in text
    assert "| strategy | filter | n | " + " | ".join(f"{m} [95% interval]" for m in ROUGE) + " |" in text
    assert (
        "| answer_only | answer | 8 | 0.400 [0.350, 0.450] | 0.300 [0.250, 0.350] | "
        "0.200 [0.150, 0.250] | 0.100 [0.050, 0.150] |"
    ) in text
    assert "t intervals" in text and "Clopper" not in text and "bootstrap" not in text


def _leftovers(folder) -> list[str]:
    """Staging files and folders left behind (the ownership marker is meant to stay)."""
    return [
        p.name
        for p in folder.rglob("*")
        if (p.name.startswith(".") and p.name != ".summeval-compare") or p.name.endswith(".partial")
    ]


@pytest.mark.parametrize(
    ("family", "rows", "chart"),
    [(SPORTS, ROWS, "acc.png"), (TWEETSUMM, TWEETSUMM_ROWS, "rouge1.png")],
    ids=["sports_understanding", "tweetsumm"],
)
def test_write_report_writes_three_files_and_no_temporary_ones(tmp_path, family, rows, chart):
    for _ in range(2):  # the second run replaces the first
        write_report(rows, tmp_path, family, model_description="hf pretrained=x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([chart, "results.json", "results.md"])
    assert _leftovers(tmp_path) == []
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == {
        "model": "hf pretrained=x",
        "family": family.name,
        "complete": True,
        "results": [asdict(row) for row in rows],
    }
    expected = results_markdown(rows, family, "hf pretrained=x")
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == expected
    assert (tmp_path / chart).read_bytes().startswith(PNG_MAGIC)


def test_write_report_of_sports_understanding_charts_acc(tmp_path):
    write_report(ROWS, tmp_path, SPORTS, model_description="hf pretrained=x")
    assert (tmp_path / "acc.png").is_file() and not (tmp_path / "accuracy.png").exists()
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["family"] == SPORTS.name


def test_a_report_written_before_the_last_strategy_says_it_is_incomplete(tmp_path):
    planned = [r.strategy for r in ROWS] + ["later"]
    write_report(ROWS, tmp_path, SPORTS, model_description="hf pretrained=x", planned=planned)
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["complete"] is False
    assert f"Incomplete: {len(ROWS)} of {len(planned)} strategies" in (tmp_path / "results.md").read_text()


# ----------------------------------------------------------------------------- the command end to end


def _compare_command(
    model_args: str, out, strategies: str, options: str | None = None, task: str | None = None
) -> list[str]:
    command = ["compare", "--model-args", model_args, "--device", "cpu", "--data", "sample", "--limit", "2"]
    command += ["--strategies", strategies, "--out", str(out)]
    command += ["--task", task] if task is not None else []
    return command + (["--options", options] if options is not None else [])


def _check_report(
    out, names: list[str], filters: list[str], family=SPORTS
) -> dict[str, list[dict[str, str]]]:
    """The report in ``out`` is complete and agrees with itself and with lm-eval's own results."""
    lines = (out / "results.md").read_text(encoding="utf-8").splitlines()
    assert f"Task family: {family.name}" in lines
    table = [line for line in lines if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table[1:]] == [f"| {name}" for name in names]
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert (report["family"], report["complete"]) == (family.name, True)
    results = report["results"]
    expected = [(name, filter_name, 2) for name, filter_name in zip(names, filters, strict=True)]
    assert [(r["strategy"], r["filter"], r["n"]) for r in results] == expected
    assert (out / f"{family.primary_metric}.png").read_bytes().startswith(PNG_MAGIC)
    assert not (out / "accuracy.png").exists()
    assert _leftovers(out) == []
    rows_by_strategy = {}
    for result in results:
        name = result["strategy"]
        assert result["task"] == task_name(name, family.name)
        text = (out / f"{name}.csv").read_text(encoding="utf-8")
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
        assert list(result["metrics"]) == list(family.reported_metrics)
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
        lm_eval = json.loads((out / "lm_eval" / f"{name}.json").read_text(encoding="utf-8"))["results"]
        for metric in family.metrics:
            reported = lm_eval[task_name(name, family.name)][f"{metric},{result['filter']}"]
            assert reported == pytest.approx(result["metrics"][metric]["mean"])
        rows_by_strategy[name] = rows
    ids = {tuple(row["id"] for row in rows) for rows in rows_by_strategy.values()}
    assert len(ids) == 1  # every strategy saw the same items
    return rows_by_strategy


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
    assert "| self_consistency | maj@2 | 2 |" in printed and f"written to {out}/" in printed


def test_compare_on_a_tiny_t5(tiny_t5, tmp_path, offline):
    out = tmp_path / "report"
    options = '{"cot": {"max_gen_toks": 4}, "fewshot": {"max_gen_toks": 4, "k": 2}}'
    model_args = f"pretrained={tiny_t5},backend=seq2seq"
    assert cli.main(_compare_command(model_args, out, "cot,fewshot", options)) == 0
    rows = _check_report(out, ["cot", "fewshot"], ["answer", "answer"])
    assert all(row["prompt"].endswith("A: Let's think step by step.") for row in rows["cot"])
    assert all(row["prompt"].count("\nA: ") == 2 for row in rows["fewshot"])  # k=2 labelled exemplars
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["model"] == f"hf {model_args}"


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
    assert "corrected for skewness" in (out / "results.md").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "Task family: tweetsumm" in printed and "| self_consistency | consensus@3 | 2 |" in printed


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
    ],
)
def test_compare_bad_input_is_exit_2_before_the_model_loads(
    tmp_path, offline, capsys, monkeypatch, strategies, extra, message
):
    from support import REPO

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a command that cannot run")

    monkeypatch.setattr(study_compare, "load_lm", no_model)
    monkeypatch.chdir(REPO)
    out = tmp_path / "report"
    assert cli.main(_compare_command("pretrained=unused", out, strategies) + extra) == 2
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
    selected = out / "active_prompt_exemplars.json"
    exemplars = read_exemplar_file(selected, SPORTS)
    content = json.loads(selected.read_text(encoding="utf-8"))
    assert (content["k"], content["n"], content["pool_size"], content["seed"]) == (2, 2, 3, 5)
    assert content["family"] == "sports_understanding"
    assert f"selecting active-prompt exemplars first → {selected}" in capsys.readouterr().out
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
