"""``summeval compare``: Wilson intervals, strategy names, per-item CSVs from both shapes of lm-eval samples,
the report files, and the command end to end on tiny real models."""

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
from prompt_strategies.registry import task_name
from summeval import cli, compare
from summeval.compare import (
    StrategyResult,
    resolve_strategy_names,
    results_markdown,
    sample_answer,
    samples_csv,
    wilson_interval,
    write_report,
)

CSV_COLUMNS = ["id", "prompt", "target", "model_output", "extracted_answer", "correct"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# ----------------------------------------------------------------------------- Wilson interval


@pytest.mark.parametrize(
    ("correct", "n", "expected"),
    [
        # p = 0: centre = half = (z²/2n) / (1 + z²/n) = 0.19208 / 1.38416
        (0, 10, (0.0, 0.27754)),
        # p = 1/2: centre 1/2, half = 1.96 * sqrt(0.025 + 0.009604) / 1.38416
        (5, 10, (0.23659, 0.76341)),
        (10, 10, (0.72246, 1.0)),
        (1, 10, (0.01788, 0.40416)),
        (50, 100, (0.40383, 0.59617)),
    ],
)
def test_wilson_interval_matches_hand_computed_values(correct, n, expected):
    assert wilson_interval(correct, n) == pytest.approx(expected, abs=1e-5)


def test_wilson_interval_of_no_items_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_is_symmetric_and_inside_zero_one():
    for n in (1, 2, 7, 30):
        for correct in range(n + 1):
            low, high = wilson_interval(correct, n)
            assert 0.0 <= low <= correct / n <= high <= 1.0
            mirrored = wilson_interval(n - correct, n)
            assert (low, high) == pytest.approx((1 - mirrored[1], 1 - mirrored[0]))


# ----------------------------------------------------------------------------- strategy names


def test_all_lists_every_built_in_strategy():
    names = resolve_strategy_names("all")
    assert [s.name for s in BUILTIN_STRATEGIES] == names[: len(BUILTIN_STRATEGIES)]
    assert resolve_strategy_names(" all ") == names


def test_a_comma_separated_list_is_kept_in_order():
    assert resolve_strategy_names("cot, answer_only,,fewshot") == ["cot", "answer_only", "fewshot"]


def test_an_unknown_strategy_is_an_error_naming_the_known_ones():
    with pytest.raises(StrategyError, match="unknown strategy 'nope'") as raised:
        resolve_strategy_names("answer_only,nope")
    for strategy in BUILTIN_STRATEGIES:
        assert strategy.name in str(raised.value)
    with pytest.raises(StrategyError, match="no strategies given"):
        resolve_strategy_names(" , ")


# ----------------------------------------------------------------------------- samples, as lm-eval gives them

PROMPT_4 = "Q: Is it plausible?\nVirgil van Dijk cleared the ball off the line\nA:"
PROMPT_5 = "Q: Is it plausible?\nKevin De Bruyne grounded into a double play\nA:"
DOC_4 = {"id": "example-0004", "statement": "Virgil van Dijk cleared", "input": "...", "label": "plausible"}
DOC_5 = {"id": "example-0005", "statement": "De Bruyne grounded", "input": "...", "label": "implausible"}
GREEDY = {"until": ["\n\n"], "do_sample": False, "max_gen_toks": 16}
SAMPLED = {"until": ["\nQ:"], "do_sample": True, "temperature": 0.7, "max_gen_toks": 8}


def _generated(doc_id, doc, prompt, outputs, filtered, kwargs=GREEDY):
    """An in-memory sample of a generate_until task, as ``simple_evaluate(log_samples=True)`` returns it."""
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": doc["label"],
        "arguments": [(prompt, kwargs)],
        "resps": [list(outputs)],
        "filtered_resps": [filtered],
        "filter": "answer",
    }


def _multiple_choice(doc_id, doc, prompt, plausible_ll, implausible_ll):
    """An in-memory multiple_choice sample: one (log-likelihood, is_greedy) request per label."""
    pairs = [(plausible_ll, plausible_ll > implausible_ll), (implausible_ll, implausible_ll >= plausible_ll)]
    return {
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
    _generated(1, DOC_5, PROMPT_5, ["Implausible, he plays soccer."], "implausible"),
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
    assert sample_answer(convert(ANSWER_ONLY[0])) == "implausible"
    assert sample_answer(convert(ANSWER_ONLY[1])) == "invalid"
    assert sample_answer(convert(SELF_CONSISTENCY[0])) == "plausible"
    # the more likely label wins
    assert sample_answer(convert(MULTIPLE_CHOICE[0])) == "plausible"
    assert sample_answer(convert(MULTIPLE_CHOICE[1])) == "implausible"


def test_sample_answer_extracts_from_unfiltered_text():
    sample = _generated(0, DOC_4, PROMPT_4, ["x"], "Yes. It is plausible.")
    assert sample_answer(sample) == "plausible"
    assert sample_answer({**sample, "filtered_resps": []}) == "invalid"


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_a_generated_task(shape):
    convert = _logged if shape == "logged" else dict
    rows = _rows(samples_csv([convert(s) for s in ANSWER_ONLY]))
    assert rows == [  # sorted by doc_id
        {
            "id": "example-0004",
            "prompt": PROMPT_4,
            "target": "plausible",
            "model_output": "no idea",
            "extracted_answer": "invalid",
            "correct": "0",
        },
        {
            "id": "example-0005",
            "prompt": PROMPT_5,
            "target": "implausible",
            "model_output": "Implausible, he plays soccer.",
            "extracted_answer": "implausible",
            "correct": "1",
        },
    ]


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_repeated_samples_lists_every_output(shape):
    convert = _logged if shape == "logged" else dict
    (row,) = _rows(samples_csv([convert(s) for s in SELF_CONSISTENCY]))
    assert json.loads(row["model_output"]) == SELF_CONSISTENCY[0]["resps"][0]
    assert (row["extracted_answer"], row["correct"]) == ("plausible", "1")


@pytest.mark.parametrize("shape", ["in memory", "logged"])
def test_samples_csv_of_multiple_choice_shows_each_labels_log_likelihood(shape):
    convert = _logged if shape == "logged" else dict
    rows = _rows(samples_csv([convert(s) for s in MULTIPLE_CHOICE]))
    assert [row["model_output"] for row in rows] == [
        "plausible: -1.250; implausible: -2.500",
        "plausible: -0.500; implausible: -0.250",
    ]
    assert [row["target"] for row in rows] == ["plausible", "implausible"]  # the label, not lm-eval's index
    assert [(row["extracted_answer"], row["correct"]) for row in rows] == [
        ("plausible", "1"),
        ("implausible", "1"),
    ]
    assert [row["prompt"] for row in rows] == [PROMPT_4, PROMPT_5]


def test_both_shapes_give_the_same_csv():
    for samples in (ANSWER_ONLY, SELF_CONSISTENCY, MULTIPLE_CHOICE):
        assert samples_csv(samples) == samples_csv([_logged(s) for s in samples])


# ----------------------------------------------------------------------------- the report

ROWS = [
    StrategyResult("answer_only", "sports_understanding_answer_only", "answer", 10, 0.5, 0.2366, 0.7634, 0.1),
    StrategyResult("self_consistency", "sports_understanding_self_consistency", "maj@5", 10, 1.0, 0.72, 1, 0),
]


def test_results_markdown_has_a_row_per_strategy():
    text = results_markdown(ROWS, "hf pretrained=x ")
    assert text.startswith("Model: `hf pretrained=x`\n")
    assert "| answer_only | answer | 10 | 0.500 | [0.237, 0.763] | 0.100 |" in text
    assert "| self_consistency | maj@5 | 10 | 1.000 | [0.720, 1.000] | 0.000 |" in text
    assert "Wilson" in text


def _leftovers(folder) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".partial")]


def test_write_report_writes_three_files_and_no_temporary_ones(tmp_path):
    for _ in range(2):  # the second run replaces the first
        write_report(ROWS, tmp_path, model_description="hf pretrained=x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy.png", "results.json", "results.md"]
    assert _leftovers(tmp_path) == []
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == {
        "model": "hf pretrained=x",
        "complete": True,
        "results": [asdict(row) for row in ROWS],
    }
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == results_markdown(ROWS, "hf pretrained=x")
    assert (tmp_path / "accuracy.png").read_bytes().startswith(PNG_MAGIC)


def test_a_report_written_before_the_last_strategy_says_it_is_incomplete(tmp_path):
    planned = [r.strategy for r in ROWS] + ["later"]
    write_report(ROWS, tmp_path, model_description="hf pretrained=x", planned=planned)
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["complete"] is False
    assert f"Incomplete: {len(ROWS)} of {len(planned)} strategies" in (tmp_path / "results.md").read_text()


# ----------------------------------------------------------------------------- the command end to end


def _compare_command(model_args: str, out, strategies: str, options: str | None = None) -> list[str]:
    command = ["compare", "--model-args", model_args, "--device", "cpu", "--data", "sample", "--limit", "2"]
    command += ["--strategies", strategies, "--out", str(out)]
    return command + (["--options", options] if options is not None else [])


def _check_report(out, names: list[str], filters: list[str]) -> dict[str, list[dict[str, str]]]:
    """The report in ``out`` is complete and agrees with itself and with lm-eval's own results."""
    lines = (out / "results.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table[1:]] == [f"| {name}" for name in names]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
    expected = [(name, filter_name, 2) for name, filter_name in zip(names, filters, strict=True)]
    assert [(r["strategy"], r["filter"], r["n"]) for r in results] == expected
    assert (out / "accuracy.png").read_bytes().startswith(PNG_MAGIC)
    assert _leftovers(out) == []
    rows_by_strategy = {}
    for result in results:
        name = result["strategy"]
        rows = _rows((out / f"{name}.csv").read_text(encoding="utf-8"))
        assert len(rows) == 2
        for row in rows:
            assert row["target"] in ("plausible", "implausible")
            assert row["extracted_answer"] in ("plausible", "implausible", "invalid")
            assert row["correct"] == str(int(row["extracted_answer"] == row["target"]))
        correct = [int(row["correct"]) for row in rows]
        assert result["accuracy"] == pytest.approx(sum(correct) / 2)
        invalid = [row["extracted_answer"] == "invalid" for row in rows]
        assert result["invalid_rate"] == pytest.approx(sum(invalid) / 2)
        assert (result["ci_low"], result["ci_high"]) == pytest.approx(wilson_interval(sum(correct), 2))
        lm_eval = json.loads((out / "lm_eval" / f"{name}.json").read_text(encoding="utf-8"))["results"]
        assert lm_eval[task_name(name)][f"acc,{result['filter']}"] == pytest.approx(result["accuracy"])
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


@pytest.mark.parametrize(
    ("strategies", "options", "message"),
    [
        ("nope", None, "unknown strategy 'nope'; known strategies: "),
        ("answer_only", "not json", "--options is not valid JSON"),
        ("answer_only", "[1]", "--options must be a JSON object"),
        ("answer_only", '{"answer_only": {"bogus": 1}}', "answer_only: unknown option 'bogus'"),
        ("answer_only", '{"answer_only": {"max_gen_toks": "8"}}', "option 'max_gen_toks' must be int"),
    ],
)
def test_compare_bad_input_is_exit_2_before_the_model_loads(
    tmp_path, offline, capsys, monkeypatch, strategies, options, message
):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a command that cannot run")

    monkeypatch.setattr(compare, "load_lm", no_model)
    out = tmp_path / "report"
    assert cli.main(_compare_command("pretrained=unused", out, strategies, options)) == 2
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
    exemplars = read_exemplar_file(selected)
    content = json.loads(selected.read_text(encoding="utf-8"))
    assert (content["k"], content["n"], content["pool_size"], content["seed"]) == (2, 2, 3, 5)
    assert f"selecting active-prompt exemplars first → {selected}" in capsys.readouterr().out
    rows = _check_report(out, ["active_prompt"], ["answer"])
    for row in rows["active_prompt"]:
        for exemplar in exemplars:  # the selected exemplars, in order, before the item
            assert f"{exemplar['statement']}\nA: {exemplar['rationale']}" in row["prompt"]
