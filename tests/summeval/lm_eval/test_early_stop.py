"""Self-consistency drawn in rounds until each item's stopping rule says so
(``summeval.lm_eval.early_stop``): the rounds themselves on real lm-eval requests, then the real
``lm_eval`` command on the embedded SmolLM2 (hf) and a tiny T5 (seq2seq); vLLM's is in
``tests/system/test_vllm.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance
from support import read_results, run_lm_eval

from prompt_strategies.registry import get_family
from prompt_strategies.stopping import StoppingRule
from summeval.lm_eval import early_stop

SPORTS = get_family("sports_understanding")
GEN = {"do_sample": True, "temperature": 0.7, "max_gen_toks": 8, "until": ["\n\n"]}


def _request(context: str, repeats: int, rule: StoppingRule | None) -> Instance:
    request = Instance("generate_until", doc={}, arguments=(context, GEN), idx=0, metadata=("t", 0, repeats))
    if rule is not None:
        early_stop.mark_stopping([request], rule, SPORTS)
    return request


class _Scripted:
    """A ``generate_until`` that answers each prompt from its script, in order, and records each call."""

    def __init__(self, scripts: dict[str, list[str]]) -> None:
        self.scripts = {context: iter(answers) for context, answers in scripts.items()}
        self.calls: list[list[str]] = []

    def __call__(self, requests, disable_tqdm=False):
        self.calls.append([r.args[0] for r in requests])
        return [next(self.scripts[r.args[0]]) for r in requests]


def test_rounds_draw_what_each_item_needs_and_pass_other_requests_untouched(capsys):
    rule = StoppingRule("window", most=6, window=2)
    easy, hard, other = _request("easy", 6, rule), _request("hard", 6, rule), _request("other", 3, None)
    requests = [easy] * 6 + [other] * 3 + [hard] * 6  # lm-eval's clones: each Instance `repeats` times
    generate = _Scripted(
        {
            "easy": ["So the answer is plausible."] * 6,
            "hard": ["plausible", "implausible", "plausible", "implausible", "implausible", "implausible"],
            "other": ["x", "y", "z"],
        }
    )
    results = early_stop.generate_in_rounds(generate, requests)
    # Round 1: every other request, then two of each item; the easy item stops; the hard one goes on.
    assert generate.calls == [["other"] * 3 + ["easy"] * 2 + ["hard"] * 2, ["hard"] * 2, ["hard"] * 2]
    assert results[:2] == ["So the answer is plausible."] * 2
    assert all(r is early_stop.NOT_DRAWN for r in results[2:6])
    assert results[6:9] == ["x", "y", "z"]
    assert results[9:] == [
        "plausible",
        "implausible",
        "plausible",
        "implausible",
        "implausible",
        "implausible",
    ]
    assert "8 of 12 samples drawn over 2 items" in capsys.readouterr().err


def test_the_repeats_not_drawn_leave_the_responses_before_any_filter():
    request = _request("q", 4, StoppingRule("window", most=4, window=2))
    request.resps.extend(["a", "a", early_stop.NOT_DRAWN, early_stop.NOT_DRAWN])
    early_stop.drop_not_drawn([request])
    assert request.resps == ["a", "a"]
    text_like_it = _request("q", 2, None)
    text_like_it.resps.extend(["", ""])  # an empty output is an output: told apart by type, not text
    early_stop.drop_not_drawn([text_like_it])
    assert text_like_it.resps == ["", ""]


def test_a_model_is_wrapped_only_while_an_adaptive_task_runs():
    class Model:
        def generate_until(self, requests, disable_tqdm=False):
            return ["out"] * len(requests)

    class Task:
        def __init__(self, rule):
            self.stopping_rule = rule

    lm = Model()
    with early_stop.drawing_in_rounds(lm, [Task(None), Task(StoppingRule("fixed", most=4))]):
        assert "generate_until" not in vars(lm)  # lm-eval's own path, untouched
    with early_stop.drawing_in_rounds(lm, [Task(StoppingRule("beta", most=4))]):
        assert "generate_until" in vars(lm)
        assert lm.generate_until([_request("q", 1, None)]) == ["out"]
    assert "generate_until" not in vars(lm)


def _run(model_args: str, out: Path, stopping: dict, *, limit: int = 3) -> dict:
    metadata = {"sports_data": "sample", "self_consistency": {"samples": 6, "max_gen_toks": 24, **stopping}}
    proc = run_lm_eval(
        ["--model", "hf", "--model_args", model_args, "--tasks", "sports_understanding_self_consistency",
         "--metadata", json.dumps(metadata), "--limit", str(limit), "--seed", "1234", "--log_samples",
         "--output_path", str(out)]
    )  # fmt: skip
    samples = [
        json.loads(line) for f in sorted(out.rglob("samples_*.jsonl")) for line in f.read_text().splitlines()
    ]
    first = {s["doc_id"]: s for s in samples if s["filter"] == "maj@6"}
    return {
        "results": read_results(out)["sports_understanding_self_consistency"],
        "outputs": [first[d]["resps"][0] for d in sorted(first)],
        "samples": [first[d].get("samples") for d in sorted(first)],
        "stderr": proc.stderr,
    }


@pytest.mark.slow
def test_adaptive_self_consistency_on_the_embedded_model_logs_its_samples_and_reruns_the_same(
    embedded_model, tmp_path
):
    runs = [_run(f"pretrained={embedded_model}", tmp_path / n, {"stop": "window", "window": 2}) for n in "ab"]
    first = runs[0]
    assert first["outputs"] == runs[1]["outputs"], "a rerun at the same seed drew other samples"
    # Each item logs the outputs it drew, as many as its `samples` metric, between one window and K.
    assert [len(o) for o in first["outputs"]] == first["samples"]
    assert all(2 <= n <= 6 and n % 2 == 0 for n in first["samples"])
    mean = sum(first["samples"]) / len(first["samples"])
    assert first["results"]["samples,maj@6"] == pytest.approx(mean)
    assert "self-consistency stopped early" in first["stderr"]


@pytest.mark.slow
def test_fixed_self_consistency_is_lm_eval_s_repeats_with_no_samples_metric(embedded_model, tmp_path):
    run = _run(f"pretrained={embedded_model}", tmp_path, {}, limit=1)
    assert [len(o) for o in run["outputs"]] == [6]
    assert not any(key.startswith("samples,") for key in run["results"]) and run["samples"] == [None]
    assert "stopped early" not in run["stderr"]


def test_adaptive_self_consistency_runs_on_seq2seq(tiny_t5, tmp_path):
    run = _run(f"pretrained={tiny_t5},backend=seq2seq", tmp_path, {"stop": "beta", "round_size": 3}, limit=2)
    assert [len(o) for o in run["outputs"]] == run["samples"]
    assert all(n in (3, 6) for n in run["samples"])
