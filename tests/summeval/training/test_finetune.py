"""summeval finetune / merge and adapters in lm-eval, on a tiny random llama (fast) and SmolLM2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import RECIPE, TWEETSUMM, adapter_results, offline_env, read_results, run_lm_eval

from summeval.training.encoding import PadToLongest, encode_example
from summeval.training.finetune import last_complete_checkpoint

SAMPLE = json.dumps({"tweetsumm_data": "sample"})


def summeval_cmd(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("summeval")), *args]


def finetune(base: Path, output: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        summeval_cmd(
            "finetune", "--recipe", RECIPE, "--base", str(base), "--data", "sample",
            "--output", str(output), "--set", "training.batch_size=4", *extra,
        ),
        capture_output=True, text=True, env=offline_env(), timeout=900,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


class WordTokenizer:
    """A stand-in with the two calls encode_example makes: words as ids."""

    eos_token_id = 0

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [len(w) for w in text.split()]}


DOC = {"id": "d1", "conversation": "Customer: hi there\nAgent: hello", "summary": "Greetings exchanged."}


def test_summary_only_loss_masks_the_prompt():
    ex = encode_example(WordTokenizer(), TWEETSUMM, DOC, max_length=4096, loss_on="summary")
    n_summary = 2 + 1  # two words and EOS
    assert ex["labels"][-n_summary:] == ex["input_ids"][-n_summary:]
    assert set(ex["labels"][:-n_summary]) == {-100}
    assert ex["length"] == len(ex["input_ids"])


def test_training_text_is_the_instruct_tasks_prompt_then_the_summary():
    """Fine-tuning builds its text from the doc (which carries no prompt wording): exactly the prompt that
    tweetsumm_instruct evaluates with, then the first reference summary and EOS."""
    from summeval_tasks.tweetsumm.prompts import instruction_prompt
    from summeval_tasks.tweetsumm.source import load_dialogs

    for dialog in load_dialogs("sample")["train"][:3]:
        doc = dialog.to_doc()
        assert "text" not in doc
        ex = encode_example(WordTokenizer(), TWEETSUMM, doc, max_length=4096, loss_on="full")
        training_text = instruction_prompt(doc["conversation"], doc["summary"])
        assert training_text == TWEETSUMM.instruction_prompt(doc) + dialog.reference_summaries[0]
        assert ex["input_ids"] == WordTokenizer()(training_text)["input_ids"] + [WordTokenizer.eos_token_id]


def test_tokens_through_the_family_are_those_fine_tuning_built_before(tiny_llama):
    """A real tokenizer, every sample doc of both training splits, both losses, cut and uncut: the same
    ids and labels as the encoding before fine-tuning went through the family contract."""
    from transformers import AutoTokenizer

    from summeval_tasks.tweetsumm.prompts import instruction_prompt

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)

    def before(doc, max_length, loss_on):  # the old encode_example, which read the doc's fields itself
        prompt_ids = tokenizer(instruction_prompt(doc["conversation"]), add_special_tokens=True)["input_ids"]
        summary_ids = tokenizer(doc["summary"], add_special_tokens=False)["input_ids"]
        if tokenizer.eos_token_id is not None:
            summary_ids = [*summary_ids, tokenizer.eos_token_id]
        budget = max_length - len(summary_ids)
        if len(prompt_ids) > budget:
            prompt_ids = prompt_ids[:32] + prompt_ids[-(budget - 32) :]
        labels = ([-100] * len(prompt_ids) if loss_on == "summary" else list(prompt_ids)) + summary_ids
        return {
            "input_ids": prompt_ids + summary_ids,
            "labels": labels,
            "length": len(prompt_ids + summary_ids),
        }

    docs = TWEETSUMM.load({TWEETSUMM.data_key: "sample"})
    for split in TWEETSUMM.training_splits:
        for doc in docs[split]:
            for max_length, loss_on in ((4096, "summary"), (4096, "full"), (96, "summary")):
                ours = encode_example(tokenizer, TWEETSUMM, doc, max_length=max_length, loss_on=loss_on)
                assert ours == before(doc, max_length, loss_on)


def test_data_fingerprint_of_the_familys_docs_is_the_hash_of_the_dialogs_as_before():
    """Resume and same-run checks compare this hash with ones recorded before fine-tuning read its data
    through the family: the family's docs must hash exactly as ``load_dialogs``' dialogs did."""
    import hashlib

    from summeval.training.encoding import data_fingerprint
    from summeval_tasks.tweetsumm.source import load_dialogs

    dialogs = load_dialogs("sample")
    before = hashlib.sha256()  # the function as it was, over the dialogs
    for split in sorted(dialogs):
        for dialog in dialogs[split]:
            before.update(json.dumps([split, dialog.to_doc()], sort_keys=True).encode())
    docs = TWEETSUMM.load({TWEETSUMM.data_key: "sample"})
    assert data_fingerprint(docs) == before.hexdigest()


def test_full_text_loss_keeps_every_label():
    ex = encode_example(WordTokenizer(), TWEETSUMM, DOC, max_length=4096, loss_on="full")
    assert ex["labels"] == ex["input_ids"]


def test_long_text_is_cut_in_the_prompt_middle_keeping_summary():
    doc = dict(DOC, conversation=" ".join(["word"] * 500))
    ex = encode_example(WordTokenizer(), TWEETSUMM, doc, max_length=64, loss_on="summary")
    assert len(ex["input_ids"]) == 64
    assert ex["input_ids"][-3:] == [len("Greetings"), len("exchanged."), 0]
    full = encode_example(WordTokenizer(), TWEETSUMM, doc, max_length=4096, loss_on="summary")
    assert ex["input_ids"][:32] == full["input_ids"][:32]  # the instruction header survives


def test_pad_to_longest_pads_only_to_the_batch_maximum():
    batch = PadToLongest(pad_token_id=9)(
        [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}, {"input_ids": [4], "labels": [4]}]
    )
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [4, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


@pytest.mark.parametrize(
    "newest_state",
    [None, "", '{"global_step": 6, "log_hist', '{"global_step": 4}', "[6]", b"\xff\xfe"],
    ids=["missing", "empty", "cut-mid-write", "another-step", "not-an-object", "not-utf8"],
)
def test_last_complete_checkpoint_trusts_a_checkpoint_by_its_state_not_by_its_file(tmp_path, newest_state):
    """A SIGTERM while the Trainer writes trainer_state.json leaves it empty or cut (CI saw it, stop 38):
    that checkpoint is not complete, the one before it is."""
    for step in (2, 4, 6):
        (tmp_path / f"checkpoint-{step}").mkdir()
    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    newest = tmp_path / "checkpoint-6" / "trainer_state.json"
    if isinstance(newest_state, bytes):
        newest.write_bytes(newest_state)
    elif newest_state is not None:
        newest.write_text(newest_state)
    assert last_complete_checkpoint(tmp_path).name == "checkpoint-4"


def test_last_complete_checkpoint_follows_no_link(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "checkpoint-8"
    elsewhere.mkdir(parents=True)
    (elsewhere / "trainer_state.json").write_text(json.dumps({"global_step": 8}))
    work = tmp_path / "work"
    (work / "checkpoint-2").mkdir(parents=True)
    (work / "checkpoint-2" / "trainer_state.json").write_text(json.dumps({"global_step": 2}))
    (work / "checkpoint-8").symlink_to(elsewhere)
    assert last_complete_checkpoint(work).name == "checkpoint-2"


def test_finetune_writes_a_complete_adapter_and_lm_eval_loads_it(tiny_llama, tmp_path):
    adapter = tmp_path / "adapter"
    proc = finetune(tiny_llama, adapter, "--max-steps", "3")
    assert proc.stdout.splitlines()[0].startswith("summeval: 4-bit loading unavailable")
    for name in ("adapter_config.json", "adapter_model.safetensors", "summeval.json", "train_log.jsonl"):
        assert (adapter / name).is_file(), name
    assert not (tmp_path / "adapter.work").exists()
    meta = json.loads((adapter / "summeval.json").read_text())
    assert meta["base_model"] == str(tiny_llama)
    assert meta["recipe"]["lora"]["r"] == 16
    assert meta["data"]["source"] == "sample" and len(meta["data"]["sha256"]) == 64
    assert meta["trainable_parameters"] == 2 * 4 * 16 * (32 + 32) - 2 * 2 * 16 * (
        32 - 16
    )  # q,o 32x32; k,v 32x16
    assert meta["memory_footprint_bytes"]["unquantized"] > 0 and meta["quantized_4bit"] is False
    log = [json.loads(line) for line in (adapter / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3]
    assert any("eval_loss" in r for r in log)

    assert "rouge1,none" in adapter_results(tiny_llama, adapter, tmp_path / "eval")  # lm-eval's plain name

    # the same folder again is refused, not overwritten
    again = finetune(tiny_llama, adapter, "--max-steps", "1", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr

    # merge: a plain model folder that lm-eval loads as pretrained=
    merged = tmp_path / "merged"
    proc = subprocess.run(
        summeval_cmd("merge", str(adapter), "--out", str(merged)),
        capture_output=True, text=True, env=offline_env(), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    run_lm_eval(
        ["--model", "hf", "--model_args", f"pretrained={merged}", "--tasks", "tweetsumm_instruct",
         "--metadata", SAMPLE, "--limit", "1", "--gen_kwargs", "max_gen_toks=4"]
    )  # fmt: skip


def test_mismatched_adapter_is_refused_by_lm_eval(tiny_llama, embedded_model, tmp_path):
    adapter = tmp_path / "adapter"
    finetune(tiny_llama, adapter, "--max-steps", "1")
    args = ["--model", "hf", "--model_args", f"pretrained={embedded_model},peft={adapter}",
            "--tasks", "tweetsumm_instruct", "--metadata", SAMPLE, "--limit", "1"]  # fmt: skip
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("lm_eval")), *args],
        capture_output=True, text=True, env=offline_env(), timeout=600,
    )  # fmt: skip
    assert proc.returncode != 0
    assert f"was trained on {tiny_llama}, which does not fit" in proc.stderr
    assert "hidden_size 32 vs 576" in proc.stderr and "SUMMEVAL_ALLOW_BASE_MISMATCH=1" in proc.stderr


def test_resume_without_a_run_is_an_error_and_a_run_stopped_before_any_checkpoint_starts_over(
    tiny_llama, tmp_path
):
    proc = finetune(tiny_llama, tmp_path / "a", "--resume", check=False)
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr
    assert "run without --resume to start over" in proc.stderr
    leftover = tmp_path / "b.work"
    leftover.mkdir()
    (leftover / "summeval_run.json").write_text("{}")  # killed before its first checkpoint
    proc = finetune(tiny_llama, tmp_path / "b", "--max-steps", "1")
    assert "no complete checkpoint; starting over" in proc.stderr
    assert (tmp_path / "b" / "adapter_config.json").is_file() and not leftover.exists()


def test_killed_run_resumes_from_its_last_checkpoint(tiny_llama, tmp_path):
    adapter = tmp_path / "adapter"
    work = tmp_path / "adapter.work"
    cmd = summeval_cmd(
        "finetune", "--recipe", RECIPE, "--base", str(tiny_llama), "--data", "sample",
        "--output", str(adapter), "--set", "training.batch_size=2", "--set", "training.save_steps=2",
        "--max-steps", "400",
    )  # fmt: skip
    proc = subprocess.Popen(cmd, env=offline_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ckpt = last_complete_checkpoint(work) if work.is_dir() else None
            if ckpt is not None and int(ckpt.name.split("-")[1]) >= 4:
                break
            assert proc.poll() is None, "finetune ended before it could be killed"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert not adapter.exists(), "a killed run must not leave an adapter folder"
    killed_at = int(last_complete_checkpoint(work).name.split("-")[1])
    assert killed_at < 400
    proc = finetune(tiny_llama, adapter, "--max-steps", "400", check=False)  # refused before any weights load
    assert proc.returncode == 2 and "holds an interrupted run; pass --resume" in proc.stderr

    finetune(tiny_llama, adapter, "--resume", "--max-steps", "400", "--set", "training.save_steps=2",
             "--set", "training.batch_size=2")  # fmt: skip
    meta = json.loads((adapter / "summeval.json").read_text())
    assert meta["train"]["resumed_from"] == f"checkpoint-{killed_at}"
    assert meta["train"]["global_step"] == 400
    steps = [json.loads(line)["step"] for line in (adapter / "train_log.jsonl").read_text().splitlines()]
    train_steps = [s for s in steps if s]
    assert sorted(set(train_steps)) == list(range(1, 401))  # every step logged once, none lost


@pytest.mark.slow
def test_offline_cycle_on_the_embedded_model(embedded_model, tmp_path):
    """Finetune SmolLM2 a few steps on the sample data, then evaluate tweetsumm_instruct with peft=."""
    adapter = tmp_path / "smollm2-lora"
    finetune(embedded_model, adapter, "--max-steps", "4", "--set", "training.max_length=512")
    meta = json.loads((adapter / "summeval.json").read_text())
    assert meta["trainable_parameters"] == 30 * 16 * (2 * (576 + 576) + 2 * (576 + 192))
    out = tmp_path / "eval"
    run_lm_eval(
        ["--model", "hf", "--model_args", f"pretrained={embedded_model},peft={adapter}",
         "--tasks", "tweetsumm_instruct", "--metadata", SAMPLE, "--limit", "3", "--output_path", str(out)]
    )  # fmt: skip
    assert 0.0 <= read_results(out)["tweetsumm_instruct"]["rouge1,none"] <= 1.0


def test_labelled_head_loss_equals_the_stock_loss(tiny_llama):
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from summeval.training.encoding import causal_lm_loss
    from summeval.training.finetune import lora_config
    from summeval.training.recipe import load_recipe

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama), lora_config(load_recipe(RECIPE)))
    ids = torch.randint(4, 100, (2, 12))
    labels = ids.clone()
    labels[:, :7] = -100  # the prompt
    labels[1, 10:] = -100  # padding
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    batch = {"input_ids": ids, "labels": labels, "attention_mask": mask}
    ours = causal_lm_loss(model, batch)
    assert ours.item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)
    ours.backward()  # gradients reach the LoRA weights through the selective head
    assert any(p.grad is not None for n, p in model.named_parameters() if "lora_" in n)
