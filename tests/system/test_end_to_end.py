"""The real ``lm_eval`` command on our tasks: a tiny random llama (fast) and the embedded SmolLM2."""

from __future__ import annotations

import json

import pytest
from support import read_results, run_lm_eval

from summeval_tasks.tweetsumm.prompts import zero_shot_block
from summeval_tasks.tweetsumm.source import load_dialogs

SAMPLE = json.dumps({"tweetsumm_data": "sample"})
METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# The tweetsumm tasks report under lm-eval's plain filter name, as they did before families.
FILTER = "none"


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
            value = results[task][f"{metric},{FILTER}"]
            assert 0.0 <= value <= 1.0
            assert f"{metric}_stderr,{FILTER}" in results[task]
    assert "rouge1" in proc.stdout  # lm-eval printed its table
    train = load_dialogs("sample")["train"]
    samples = sorted(tmp_path.rglob("samples_tweetsumm_one_*.jsonl"))
    records = [json.loads(line) for line in samples[0].read_text().splitlines()]
    assert len(records) == 2
    for record in records:
        doc = record["doc"]
        prompt = record["arguments"]["gen_args_0"]["arg_0"]
        question = zero_shot_block(doc["conversation"])
        assert prompt.endswith(question)
        # one worked exemplar: a train dialog with its reference summary, never the dialog itself
        exemplar = prompt[: -len(question)]
        shown = [
            d for d in train if exemplar == zero_shot_block(d.conversation, d.reference_summaries[0]) + "\n\n"
        ]
        assert len(shown) == 1 and shown[0].dialog_id != doc["id"]
        assert doc["conversation"] not in exemplar


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
        assert results[task][f"rouge1,{FILTER}"] > 0.05, results[task]
        assert results[task][f"rouge1,{FILTER}"] >= results[task][f"rouge2,{FILTER}"]
