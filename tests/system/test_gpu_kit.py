"""bench/gpu/run.sh --tiny: the GPU measurement kit's dry run on CPU, through the same code as on a GPU.

It must leave one JSON and one Markdown table, with every step run and every row either a positive
figure or a recorded reason it was skipped (the 4-bit rows: no CUDA here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support import REPO

ROOT = REPO


@pytest.mark.slow
def test_tiny_kit_runs_every_step_and_records_figures(tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, OUT=str(tmp_path / "out"), KIT_TIMEOUT="580")
    env.pop("SUMMEVAL_SHARED_PREFIX", None)
    proc = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu" / "run.sh"), "--tiny"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads((tmp_path / "out" / "kit.json").read_text(encoding="utf-8"))
    table = (tmp_path / "out" / "kit.md").read_text(encoding="utf-8")
    assert data["mode"] == "tiny (CPU)"
    steps = data["steps"]
    assert set(steps) == {"finetune", "eval", "self_consistency", "seq2seq"}
    for name, step in steps.items():
        assert step["status"] == "ok", (name, step)
        assert step["rows"], name
        assert f"## {name}" in table
        for row in step["rows"]:
            assert row["status"] == "ok" or row["status"].startswith("skipped: "), row
            assert row["name"] in table

    rows = {r["name"]: r for r in steps["finetune"]["rows"]}
    shipped = rows["finetune() r16 recipe as shipped"]
    assert shipped["adapter_saved"] is True and shipped["samples_per_s"] > 0
    assert shipped["quantized_4bit"] is False  # no CUDA: finetune() trains a plain LoRA, and says so
    four_bit = [r for n, r in rows.items() if n.startswith("nf4-qlora r")]
    assert len(four_bit) == 8 and all(r["status"] == "skipped: --tiny runs on CPU" for r in four_bit)
    lora = [r for n, r in rows.items() if n.startswith("float32-lora r")]
    assert len(lora) == 8 and all(r["status"] == "ok" for r in lora), lora
    for r in lora:
        assert r["samples_per_s"] > 0 and r["tokens_per_s"] > r["samples_per_s"] and r["tflops"] > 0
        assert r["mfu"] is None and r["peak_gpu_gib"] is None  # no GPU peak to divide by
        assert r["final_loss"] > 0
    # padding-free rows really ran without padding; padded ones had some (the sample's lengths differ)
    lora_rows = {n: r for n, r in rows.items() if n.startswith("float32-lora r")}
    assert {r["padding_share"] for n, r in lora_rows.items() if "padding-free" in n} == {0.0}
    assert all(r["padding_share"] > 0 for n, r in lora_rows.items() if " padded " in n)
    assert {r["trainable_params"] for n, r in rows.items() if n.startswith("float32-lora r32")} == {
        2 * r["trainable_params"] for n, r in rows.items() if n.startswith("float32-lora r16")
    }

    evals = {r["name"]: r for r in steps["eval"]["rows"]}
    assert set(evals) == {"tweetsumm_zero batch_size 1", "tweetsumm_zero batch_size auto"}
    for r in evals.values():
        assert r["s_per_dialog"] > 0 and r["generated_tokens_per_s"] > 0 and r["dialogs"] > 0
        assert r["x_faster_than_study_3.2"] == pytest.approx(3.2 / r["s_per_dialog"])

    for r in steps["self_consistency"]["rows"]:
        assert r["status"] == "ok", r
        assert r["plain_samples"] == r["shared_samples"] > 0  # the same requests both ways
        assert r["wall_ratio_shared_over_plain"] == pytest.approx(r["shared_s"] / r["plain_s"])

    seq2seq = {r["name"]: r for r in steps["seq2seq"]["rows"]}
    assert set(seq2seq) == {"sports_understanding_answer_only", "sports_understanding_cot"}
    assert all(r["status"] == "ok" and r["items_per_s"] > 0 and r["items"] > 0 for r in seq2seq.values())
    assert data["total_s"] > 0 and data["versions"]["lm_eval"]


def test_padding_free_loss_equals_the_padded_loss():
    """The kit's padding-free rows train with the project's loss: on the same rows, a flattened batch
    (``DataCollatorWithFlattening``: position_ids, no attention mask) gives the padded batch's loss."""
    import torch
    from transformers import AutoModelForCausalLM, DataCollatorWithFlattening, StableLmConfig

    from summeval.training.encoding import PadToLongest, causal_lm_loss

    torch.manual_seed(0)
    config = StableLmConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, partial_rotary_factor=0.25, max_position_embeddings=64,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    rows = []
    for length, prompt in ((9, 5), (17, 11), (4, 2)):
        ids = torch.randint(1, 128, (length,)).tolist()
        rows.append({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]})
    padded = causal_lm_loss(model, PadToLongest(0)(rows))
    flat_batch = DataCollatorWithFlattening(return_position_ids=True, separator_id=-100)(rows)
    assert "attention_mask" not in flat_batch and flat_batch["input_ids"].shape == (1, 30)
    flat = causal_lm_loss(model, flat_batch)
    assert torch.isclose(flat, padded, rtol=1e-5), (float(flat), float(padded))
    # and the packing matters: the same tokens with positions run on, as one sequence, give another loss
    run_on = dict(flat_batch, position_ids=torch.arange(30).unsqueeze(0))
    assert not torch.isclose(causal_lm_loss(model, run_on), padded, rtol=1e-3)
