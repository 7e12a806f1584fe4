"""Every strategy through the real ``lm_eval`` command: tiny random causal and seq2seq models (fast) and the
embedded SmolLM2 with an active-prompt exemplar file made by ``summeval active-prompt select``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, offline_env, read_results, run_lm_eval

from prompt_strategies.builtin import BUILTIN_STRATEGIES
from prompt_strategies.registry import get_family, task_name
from summeval_tasks.sports.answers import INVALID, LABELS

FAMILY = get_family("sports_understanding")
# Every built-in strategy that applies to the family (all but instruct: it has no instruction format).
TASKS = [task_name(s.name, FAMILY.name) for s in BUILTIN_STRATEGIES if s.applies_to(FAMILY)]
COT_EXEMPLARS = REPO / "task_yamls" / "sports_understanding" / "cot_fewshot_exemplars.json"


def _samples(output_dir: Path, task: str) -> list[dict]:
    files = sorted(output_dir.rglob(f"samples_{task}_*.jsonl"))
    assert files, f"no logged samples for {task} under {output_dir}"
    return [json.loads(line) for line in files[-1].read_text().splitlines()]


def _metadata(exemplars: Path, max_gen_toks: int) -> str:
    """--metadata for every strategy on the sample data: 3 self-consistency samples, short generations."""
    chain_of_thought = {"max_gen_toks": max_gen_toks}
    return json.dumps(
        {
            "sports_data": "sample",
            "active_prompt_exemplars": str(exemplars),
            "self_consistency": {"samples": 3, **chain_of_thought},
            "cot": chain_of_thought,
            "cot_fewshot": chain_of_thought,
            "active_prompt": chain_of_thought,
        }
    )


def _check_all_strategies(output_dir: Path, samples: int, limit: int) -> dict:
    results = read_results(output_dir)
    for task in TASKS:
        filters = [key.split(",", 1)[1] for key in results[task] if key.startswith("acc,")]
        assert filters, f"{task} reported no accuracy: {results[task]}"
        for name in filters:
            assert 0.0 <= results[task][f"acc,{name}"] <= 1.0
            assert 0.0 <= results[task][f"invalid,{name}"] <= 1.0
    assert set(k for k in results["sports_understanding_self_consistency"] if k.startswith("acc,")) == {
        f"acc,maj@{samples}",
        "acc,first",
    }
    for record in _samples(output_dir, "sports_understanding_fewshot"):
        prompt = record["arguments"]["gen_args_0"]["arg_0"]
        assert prompt.count("Q: ") == 4  # three exemplars, then the item
        assert prompt.count(record["doc"]["statement"]) == 1  # never among its own exemplars
    for record in _samples(output_dir, "sports_understanding_self_consistency"):
        assert len(record["resps"][0]) == samples
        assert record["filtered_resps"][0] in (*LABELS, INVALID)
    mc = _samples(output_dir, "sports_understanding_answer_only_mc")
    assert len(mc) == limit and all(len(r["resps"]) == 2 for r in mc)  # one log-likelihood per label
    return results


@pytest.mark.parametrize("kind", ["causal", "seq2seq"])
def test_every_strategy_runs_on_tiny_causal_and_seq2seq_models(kind, tiny_llama, tiny_t5, tmp_path):
    model = tiny_llama if kind == "causal" else tiny_t5
    run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={model},backend={kind},dtype=float32",
            "--tasks", ",".join(TASKS),
            "--metadata", _metadata(COT_EXEMPLARS, max_gen_toks=8),
            "--limit", "2",
            "--log_samples",
            "--output_path", str(tmp_path),
        ],
        env=offline_env(SUMMEVAL_CACHE=str(tmp_path / "cache")),
    )  # fmt: skip
    _check_all_strategies(tmp_path, samples=3, limit=2)


@pytest.mark.slow
def test_every_strategy_on_the_embedded_model_with_selected_active_prompt_exemplars(embedded_model, tmp_path):
    exemplars = tmp_path / "active_prompt_exemplars.json"
    select = subprocess.run(
        [
            str(Path(sys.executable).with_name("summeval")), "active-prompt", "select",
            "--model-args", f"pretrained={embedded_model}",
            "--data", "sample", "--apply-chat-template",
            "--k", "2", "--n", "2", "--pool-size", "4", "--seed", "7", "--max-gen-toks", "48",
            "--out", str(exemplars),
        ],
        capture_output=True, text=True, env=offline_env(), timeout=900, cwd=REPO,
    )  # fmt: skip
    assert select.returncode == 0, select.stderr
    chosen = json.loads(exemplars.read_text())
    assert (chosen["format"], chosen["family"]) == ("summeval-active-prompt/4", FAMILY.name)
    assert len(chosen["exemplars"]) == 2 and len(chosen["ranking"]) == 4
    assert (chosen["k"], chosen["n"], chosen["uncertainty"], chosen["seed"]) == (2, 2, "disagreement", 7)

    run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={embedded_model}",
            "--apply_chat_template",
            "--tasks", ",".join(TASKS),
            "--metadata", _metadata(exemplars, max_gen_toks=64),
            "--limit", "3",
            "--log_samples",
            "--output_path", str(tmp_path / "out"),
        ]
    )  # fmt: skip
    results = _check_all_strategies(tmp_path / "out", samples=3, limit=3)
    # The worked exemplars teach the "So the answer is X." form: SmolLM2 answers in it.
    assert results["sports_understanding_cot_fewshot"]["invalid,answer"] < 1.0
    active = _samples(tmp_path / "out", "sports_understanding_active_prompt")
    for exemplar in chosen["exemplars"]:
        assert exemplar["rationale"] in active[0]["arguments"]["gen_args_0"]["arg_0"]
