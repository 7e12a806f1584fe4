"""The real ``lm_eval`` command on our tasks: a tiny random llama (fast) and the embedded SmolLM2."""

from __future__ import annotations

import json

import pytest
from conftest import read_results, run_lm_eval

SAMPLE = json.dumps({"tweetsumm_data": "sample"})
METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def test_lm_eval_runs_all_tasks_on_a_tiny_random_llama(tiny_llama, tmp_path):
    proc = run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={tiny_llama},dtype=float32",
            "--tasks", "tweetsumm",
            "--metadata", SAMPLE,
            "--limit", "2",
            "--gen_kwargs", "max_gen_toks=8",
            "--log_samples",
            "--output_path", str(tmp_path),
        ]
    )  # fmt: skip
    results = read_results(tmp_path)
    for task in ("tweetsumm_zero", "tweetsumm_one", "tweetsumm_instruct"):
        for metric in METRICS:
            value = results[task][f"{metric},none"]
            assert 0.0 <= value <= 1.0
            assert f"{metric}_stderr,none" in results[task]
    assert "rouge1" in proc.stdout  # lm-eval printed its table
    samples = sorted(tmp_path.rglob("samples_tweetsumm_one_*.jsonl"))
    doc = json.loads(samples[0].read_text().splitlines()[0])["doc"]
    assert doc["exemplar_id"] != doc["id"]


@pytest.mark.slow
def test_embedded_smollm2_summarises_the_sample_data(embedded_model, tmp_path):
    """The README's main command, on the embedded model: real summaries, ROUGE-1 above 0.05."""
    proc = run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={embedded_model}",
            "--tasks", "tweetsumm_zero,tweetsumm_one",
            "--apply_chat_template",
            "--metadata", SAMPLE,
            "--output_path", str(tmp_path),
        ]
    )  # fmt: skip
    results = read_results(tmp_path)
    print(proc.stdout)
    for task in ("tweetsumm_zero", "tweetsumm_one"):
        assert results[task]["rouge1,none"] > 0.05, results[task]
        assert results[task]["rouge1,none"] >= results[task]["rouge2,none"]
