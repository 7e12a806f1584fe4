"""Task families as a plugin axis: the contract's built-ins, consensus and disagreement of summaries, every
pair registered, the user's TweetSumm tasks unchanged (pinned scores), self-consistency and active-prompt
on summaries, a third-party family through the real ``lm_eval`` command, and lm-eval's own tasks left
exactly as they are without summeval."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import TESTS, offline_env, read_results, run_lm_eval

from prompt_strategies.registry import families, get_family, group_members, task_table
from summeval_tasks.tweetsumm.rouge import (
    consensus_index,
    consensus_summary,
    pairwise_rouge_l,
    summary_disagreement,
)

# ----------------------------------------------------------------------------- consensus of summaries


def test_consensus_is_the_sample_closest_to_the_others():
    texts = [
        "the agent rebooked the flight",
        "the agent rebooked the customer flight",
        "a refund was refused",
    ]
    # ROUGE-L F: t0/t1 = LCS 5 words, P 5/5, R 5/6 -> 10/11; t0/t2 = 0; t1/t2 = 0.
    matrix = pairwise_rouge_l(texts)
    assert matrix[0][1] == pytest.approx(10 / 11)
    assert matrix[0][2] == 0.0 and matrix[1][2] == 0.0
    # means: t0 = (10/11 + 0)/2 = t1; the tie goes to the earliest
    assert consensus_index(texts) == 0
    assert consensus_summary(texts[1:]) == texts[1]  # two texts: a tie, the first wins


def test_consensus_prefers_the_majority_wording():
    texts = [
        "refund refused",
        "customer got a refund",
        "customer got a refund today",
        "customer got a refund",
    ]
    assert consensus_index(texts) == 1


def test_one_sample_is_its_own_consensus():
    assert consensus_summary(["only one"]) == "only one"
    with pytest.raises(ValueError):
        consensus_index([])


def test_summary_disagreement_is_one_minus_mean_pairwise_rouge_l():
    assert summary_disagreement(["a b c", "a b c", "a b c"]) == 0.0
    assert summary_disagreement(["a b", "c d"]) == 1.0
    # pairs: (t0, t1) 10/11, (t0, t2) 0, (t1, t2) 0 -> 1 - (10/11)/3
    texts = [
        "the agent rebooked the flight",
        "the agent rebooked the customer flight",
        "a refund was refused",
    ]
    assert summary_disagreement(texts) == pytest.approx(1 - (10 / 11) / 3)
    assert summary_disagreement(["alone"]) == 0.0


# ----------------------------------------------------------------------------- the built-in families


def test_tweetsumm_family_reads_scores_and_reduces_summaries():
    tweetsumm = get_family("tweetsumm")
    assert tweetsumm.read_answer("  The agent helped.\nCustomer: thanks") == "The agent helped."
    assert tweetsumm.read_answer(tweetsumm.read_answer(" x ")) == "x"  # idempotent
    doc = {
        "id": "d",
        "conversation": "Customer: hi",
        "references": ["the agent helped", "x y"],
        "summary": "s",
    }
    assert tweetsumm.score(doc, "the agent helped")["rouge1"] == 1.0
    assert set(tweetsumm.score(doc, "no")) == set(tweetsumm.metrics)
    assert tweetsumm.reduce(["a b", "a b c", "a b"]) == "a b"
    assert tweetsumm.uncertainty(["a b", "a b"], "disagreement") == 0.0
    assert tweetsumm.exemplar(doc) == tweetsumm.question(doc) + " s"
    assert tweetsumm.choices is None and not tweetsumm.supports_reasoning


def test_sports_family_reads_labels_and_votes():
    sports = get_family("sports_understanding")
    assert sports.read_answer("So the answer is implausible.") == "implausible"
    assert sports.reduce(["plausible", "invalid", "implausible", "plausible"]) == "plausible"
    doc = {"id": "a", "input": "x", "label": "plausible"}
    assert sports.score(doc, "plausible") == {"acc": 1.0, "invalid": 0.0}
    assert sports.score(doc, "invalid") == {"acc": 0.0, "invalid": 1.0}
    assert sports.choice_answer(1) == "implausible"
    assert sports.target_index(doc) == 0


def test_every_applicable_pair_and_the_users_names_are_tasks():
    table = task_table()
    for family in families().values():
        for strategy in ("answer_only", "fewshot", "self_consistency", "active_prompt"):
            assert table[f"{family.name}_{strategy}"] == {
                "family": family.name,
                "strategy": strategy,
                "options": {},
            }
    assert table["tweetsumm_zero"]["strategy"] == "answer_only"
    assert table["tweetsumm_one"] == {"family": "tweetsumm", "strategy": "fewshot", "options": {"k": 1}}
    assert table["tweetsumm_instruct"]["strategy"] == "instruct"
    assert (
        "tweetsumm_cot" not in table and "tweetsumm_answer_only_mc" not in table
    )  # no reasoning, no choices
    assert "sports_understanding_instruct" not in table  # no instruction format
    assert group_members(get_family("tweetsumm")) == ["tweetsumm_zero", "tweetsumm_one", "tweetsumm_instruct"]


def test_the_one_shot_seed_key_and_its_fixed_k():
    import summeval

    manager = summeval.task_manager(include_defaults=False, metadata={"tweetsumm_data": "sample"})
    one = manager.load(["tweetsumm_one"])["tasks"]["tweetsumm_one"]
    assert one.strategy_options.k == 1 and one.strategy_options.seed == 1234
    seeded = summeval.task_manager(
        include_defaults=False, metadata={"tweetsumm_data": "sample", "tweetsumm_seed": 7}
    )
    assert seeded.load(["tweetsumm_one"])["tasks"]["tweetsumm_one"].strategy_options.seed == 7
    clash = summeval.task_manager(
        include_defaults=False, metadata={"tweetsumm_data": "sample", "fewshot": {"k": 3}}
    )
    with pytest.raises(Exception, match="tweetsumm_one fixes fewshot option k=1"):
        clash.load(["tweetsumm_one"])


def test_instruct_prompt_is_the_fine_tuning_text_without_its_summary():
    from summeval_tasks.tweetsumm.prompts import instruction_prompt

    tweetsumm = get_family("tweetsumm")
    doc = tweetsumm.load({"tweetsumm_data": "sample"})["test"][0]
    assert tweetsumm.instruction_prompt(doc) + doc["summary"] == instruction_prompt(
        doc["conversation"], doc["summary"]
    )


def test_tweetsumm_training_example_is_what_fine_tuning_built_before_families():
    """Fine-tuning reads its text through the contract: TweetSumm's pair is the instruction prompt of the
    conversation and the first reference summary, exactly as ``finetune.encode_example`` built them."""
    from summeval_tasks.tweetsumm.prompts import instruction_prompt
    from summeval_tasks.tweetsumm.source import load_dialogs

    tweetsumm = get_family("tweetsumm")
    assert tweetsumm.training_splits == ("train", "validation")
    dialogs = load_dialogs("sample")
    docs = tweetsumm.load({"tweetsumm_data": "sample"})
    for split in tweetsumm.training_splits:
        assert len(docs[split]) == len(dialogs[split]) > 0
        for dialog, doc in zip(dialogs[split], docs[split], strict=True):
            old = dialog.to_doc()  # the old code: instruction_prompt(doc["conversation"]), doc["summary"]
            expected = (instruction_prompt(old["conversation"]), old["summary"])
            assert tweetsumm.training_example(doc) == expected
            assert expected[1] == dialog.reference_summaries[0]


def test_a_family_without_a_training_format_says_so_in_one_line():
    from summeval_tasks.contract import FamilyError

    sports = get_family("sports_understanding")
    doc = sports.load({"sports_data": "sample"})["train"][0]
    with pytest.raises(FamilyError) as raised:
        sports.training_example(doc)
    message = str(raised.value)
    assert "\n" not in message
    assert "family 'sports_understanding' has no training format" in message


# ----------------------------------------------------------------------------- through lm_eval


def _lm_eval(model: Path, tasks: str, out: Path, metadata: dict, *extra: str, env: dict | None = None):
    args = ["--model", "hf", "--model_args", f"pretrained={model}", "--tasks", tasks, "--device", "cpu"]
    args += ["--metadata", json.dumps(metadata), "--output_path", str(out), "--log_samples", *extra]
    return run_lm_eval(args, env=env)


def _samples(out: Path, task: str) -> list[dict]:
    return [json.loads(line) for path in out.rglob(f"samples_{task}_*.jsonl") for line in path.open()]


@pytest.mark.slow
def test_the_users_tweetsumm_tasks_keep_their_scores_on_the_embedded_model(embedded_model, tmp_path):
    """tweetsumm_zero / tweetsumm_one on the sample data, chat template on: the scores pinned."""
    out = tmp_path / "out"
    _lm_eval(
        embedded_model,
        "tweetsumm_zero,tweetsumm_one",
        out,
        {"tweetsumm_data": "sample"},
        "--apply_chat_template",
    )
    results = read_results(out)
    assert results["tweetsumm_zero"]["rouge1,none"] == pytest.approx(0.2907, abs=5e-5)
    # the shot in its own user/assistant turns (0.3065 when shot and dialog were one user turn)
    assert results["tweetsumm_one"]["rouge1,none"] == pytest.approx(0.3987, abs=5e-5)


@pytest.mark.slow
def test_tweetsumm_self_consistency_and_active_prompt_run_offline(tiny_llama, tmp_path):
    from summeval import cli

    exemplars = tmp_path / "exemplars.json"
    assert (
        cli.main(
            [
                "active-prompt",
                "select",
                "--task",
                "tweetsumm",
                "--model-args",
                f"pretrained={tiny_llama}",
                "--device",
                "cpu",
                "--data",
                "sample",
                "--k",
                "3",
                "--n",
                "2",
                "--max-gen-toks",
                "6",
                "--out",
                str(exemplars),
            ]
        )  # fmt: skip
        == 0
    )
    selected = json.loads(exemplars.read_text(encoding="utf-8"))
    assert selected["family"] == "tweetsumm" and len(selected["exemplars"]) == 2
    ranking = selected["ranking"]
    assert [r["uncertainty"] for r in ranking] == sorted((r["uncertainty"] for r in ranking), reverse=True)
    for entry in selected["exemplars"]:
        assert entry["rationale_source"] == "reference" and entry["summary"] and entry["conversation"]

    out = tmp_path / "out"
    metadata = {
        "tweetsumm_data": "sample",
        "active_prompt_exemplars": str(exemplars),
        "self_consistency": {"samples": 3, "max_gen_toks": 6},
    }
    _lm_eval(tiny_llama, "tweetsumm_self_consistency,tweetsumm_active_prompt", out, metadata, "--limit", "2")
    results = read_results(out)
    assert {"rouge1,consensus@3", "rouge1,first"} <= set(results["tweetsumm_self_consistency"])
    for sample in _samples(out, "tweetsumm_self_consistency"):
        outputs = sample["resps"][0]  # one request, its K sampled outputs
        answers = [get_family("tweetsumm").read_answer(o) for o in outputs]
        assert len(answers) == 3
        if sample["filter"] == "consensus@3":
            assert sample["filtered_resps"] == [consensus_summary(answers)]
        else:
            assert sample["filtered_resps"] == [answers[0]]
    for sample in _samples(out, "tweetsumm_active_prompt"):
        prompt = sample["arguments"]["gen_args_0"]["arg_0"]
        for entry in selected["exemplars"]:
            assert f"{entry['conversation']}\n\nSummary: {entry['summary']}" in prompt


@pytest.mark.slow
def test_a_third_party_family_gets_every_strategy_through_lm_eval(tiny_llama, tmp_path):
    """The family in family_plugin_example.py wrote no YAML: its tasks come from summeval's registry."""
    env = offline_env(
        SUMMEVAL_PLUGINS="family_plugin_example",
        PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
        SUMMEVAL_CACHE=str(tmp_path / "cache"),
    )
    tasks = ["answer_only", "answer_only_mc", "fewshot", "cot", "cot_fewshot", "self_consistency"]
    out = tmp_path / "out"
    metadata = {"self_consistency": {"samples": 2}}
    _lm_eval(tiny_llama, ",".join(f"parity_{t}" for t in tasks), out, metadata, "--limit", "2", env=env)
    results = read_results(out)
    assert set(results) >= {f"parity_{t}" for t in tasks}
    assert "acc,maj@2" in results["parity_self_consistency"]
    assert "acc,none" in results["parity_answer_only_mc"]
    for sample in _samples(out, "parity_fewshot"):
        prompt = sample["arguments"]["gen_args_0"]["arg_0"]
        assert prompt.endswith(f"Q: Is {sample['doc']['number']} an even number?\nA:")
        assert prompt.count("Q: Is") == 4  # three exemplars, then the item
    for sample in _samples(out, "parity_cot_fewshot"):
        assert (
            "10 ends in 0, an even digit. So the answer is yes." in sample["arguments"]["gen_args_0"]["arg_0"]
        )


# ----------------------------------------------------------------------------- lm-eval's own tasks


PLAIN_TASK = """\
task: plain_sampled_repeats
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Customer: {{{{question}}}}\\nAgent:"
doc_to_target: answer
repeats: 3
generation_kwargs:
  until: ["\\n"]
  do_sample: true
  temperature: 1.0
  max_gen_toks: 6
filter_list:
  - name: all
    filter:
      - function: take_first
metric_list:
  - metric: exact_match
metadata:
  version: 1.0
"""


@pytest.mark.slow
def test_lm_evals_own_sampled_task_gives_the_same_outputs_with_and_without_summeval(tiny_llama, tmp_path):
    """A plain lm-eval YAML task (local data, repeats, sampling): summeval's start-up hook on and off, same
    seed, identical outputs. Our shared-prefix sampling applies to our tasks only: forced onto this task
    (SUMMEVAL_SHARED_PREFIX_ALL=1) it samples differently, which is what the first comparison would catch."""
    data = tmp_path / "plain.jsonl"
    rows = [{"question": q, "answer": "yes"} for q in ("my flight was cancelled", "refund please", "hi")]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "plain.yaml").write_text(PLAIN_TASK.format(data=data), encoding="utf-8")
    outputs = {}
    runs = (
        ("with", {}),
        ("without", {"SUMMEVAL_NO_AUTOREGISTER": "1"}),
        ("shared", {"SUMMEVAL_SHARED_PREFIX_ALL": "1"}),
    )
    for label, extra_env in runs:
        out = tmp_path / label
        env = offline_env(HF_DATASETS_CACHE=str(tmp_path / "datasets"), **extra_env)
        _lm_eval(tiny_llama, "plain_sampled_repeats", out, {}, "--include_path", str(folder), "--seed", "5",
                 "--batch_size", "1", env=env)  # fmt: skip
        outputs[label] = [
            s["resps"] for s in sorted(_samples(out, "plain_sampled_repeats"), key=lambda s: s["doc_id"])
        ]
    assert len(outputs["with"]) == 3 and all(len(r[0]) == 3 for r in outputs["with"])
    assert outputs["with"] == outputs["without"]
    assert outputs["shared"] != outputs["without"]


def test_a_missing_lm_eval_internal_is_said_once_naming_the_supported_versions(capsys):
    import types

    from summeval.lm_eval import startup as _autoregister

    stripped = types.ModuleType("lm_eval.models.huggingface")
    stripped.HFLM = type("HFLM", (), {"generate_until": lambda self, requests: []})
    _autoregister._patch_hflm(stripped)
    _autoregister._patch_hflm(stripped)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err  # one line per feature, said once however often it is patched
    assert "shared-prefix sampling is off" in err[1] and "HFLM._model_generate" in err[1]
    assert "adapter base check is off" in err[0] and "HFLM._create_model" in err[0]
    assert all("supports lm-eval >=0.4.13,<0.5" in line for line in err)
