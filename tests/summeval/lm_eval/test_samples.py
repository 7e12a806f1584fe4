"""lm-eval's logged samples read once (``summeval.lm_eval.samples``): the logged shape of generated, repeated
and multiple-choice samples, each sample's answer, the samples CSV (a column per ROUGE metric for tweetsumm),
and the per-strategy result rows with their intervals built from them (``summeval.report.analysis``)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from support import ROUGE, SPORTS, TWEETSUMM

from summeval.lm_eval.samples import item_scores, sample_answer, sample_rows, samples_csv
from summeval.report.analysis import score_summaries
from summeval.stats import mean_interval, rate_interval
from summeval_tasks.tweetsumm.rouge import rouge_scores

CSV_COLUMNS = [
    "id", "prompt", "target", "model_output", "answer", "two_stage_answer",
    "acc", "invalid", "acc_two_stage", "agree_two_stage",
]  # fmt: skip
TWEETSUMM_CSV_COLUMNS = ["id", "prompt", "target", "model_output", "answer", *ROUGE]


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


def _summaries(family, samples, seed: int = 0):
    """Each metric's mean and interval over logged ``samples``, as a study cell's report row has them."""
    return score_summaries(family, item_scores(sample_rows(samples, family), family), seed)


def test_the_summaries_of_sports_have_clopper_pearson_intervals_for_accuracy_and_invalid_rate():
    metrics = _summaries(SPORTS, ANSWER_ONLY)
    assert list(metrics) == ["acc", "invalid", "acc_two_stage", "agree_two_stage"]
    # one of two right, the other invalid
    assert metrics["acc"] == _cells(0.5, *rate_interval(1, 2))
    assert metrics["invalid"] == _cells(0.5, *rate_interval(1, 2))
    assert _summaries(SPORTS, MULTIPLE_CHOICE) == {  # a multiple-choice answer is its own two-stage answer
        "acc": _cells(1.0, *rate_interval(2, 2)),
        "invalid": _cells(0.0, *rate_interval(0, 2)),
        "acc_two_stage": _cells(1.0, *rate_interval(2, 2)),
        "agree_two_stage": _cells(1.0, *rate_interval(2, 2)),
    }


def test_the_summaries_of_tweetsumm_have_t_intervals_for_each_rouge_metric():
    metrics = _summaries(TWEETSUMM, SUMMARIES, 5)
    assert list(metrics) == ROUGE
    for metric in ROUGE:
        values = [rouge_scores("The order is late.", DIALOG_0["references"])[metric], 1.0]  # doc order
        assert metrics[metric] == pytest.approx(
            {
                "mean": sum(values) / 2,
                "ci_low": mean_interval(values)[0],
                "ci_high": mean_interval(values)[1],
                "n": 2,
            }
        )


# ----------------------------------------------------------------------------- outputs cut by max_gen_toks


def _logged_generation(outputs: list[str], budget: int | None) -> dict:
    """A generated sample as lm-eval logs it: arguments as {"arg_0": ..., "arg_1": ...}, K outputs."""
    settings = {"until": ["\n\n"], "do_sample": False, **({"max_gen_toks": budget} if budget else {})}
    return {
        "doc_id": 0,
        "arguments": {"gen_args_0": {"arg_0": "Q: ...", "arg_1": settings}},
        "resps": [outputs],
    }


def test_an_output_as_long_as_its_budget_was_cut_one_that_stopped_short_was_not():
    from summeval.lm_eval.samples import TRUNCATION_SLACK, truncated_share

    words = lambda text: len(text.split())  # noqa: E731 - a tokenizer that counts words, for hand-counting
    assert truncated_share(_logged_generation(["one two three four five six"], 6), words, 256) == 1.0
    assert truncated_share(_logged_generation(["one two"], 6), words, 256) == 0.0
    # within the slack (re-encoding can merge a token or two): 6 - 2 = 4 words count as cut, 3 do not
    assert TRUNCATION_SLACK == 2
    assert truncated_share(_logged_generation(["a b c d"], 6), words, 256) == 1.0
    assert truncated_share(_logged_generation(["a b c"], 6), words, 256) == 0.0
    # K sampled outputs: the share of them; no max_gen_toks in the settings: the model's default
    assert (
        truncated_share(_logged_generation(["a b c d e f", "a", "a b c d e f", "a b"], 6), words, 256) == 0.5
    )
    assert truncated_share(_logged_generation(["a b c d e f"], None), words, 6) == 1.0
    assert truncated_share(_logged_generation(["a b c d e f"], None), words, 256) == 0.0
    # multiple choice: one request per choice, log-likelihoods, no budget
    choice = {
        "doc_id": 0,
        "arguments": [("Q", " plausible"), ("Q", " implausible")],
        "resps": [[(-1.0, True)]],
    }
    assert truncated_share(choice, words, 256) is None
