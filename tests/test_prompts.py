"""The study's prompt formats and the one-shot exemplar choice."""

from __future__ import annotations

import pytest

from summeval_tasks.prompts import instruction_text, one_shot_text, zero_shot_text
from summeval_tasks.tweetsumm import TweetSummDataError, build_dataset, choose_exemplar, load_dialogs

DOC = {"conversation": "Customer: hi\nAgent: hello", "summary": "Greetings."}


def test_zero_shot_prompt_is_the_study_format():
    assert zero_shot_text(DOC) == (
        "Below is a conversation between a human and an AI agent. Write a summary of the conversation."
        "\n\nCustomer: hi\nAgent: hello\n\nSummary:"
    )


def test_instruction_prompt_is_the_finetuning_format():
    assert instruction_text(DOC) == (
        "### Instruction:\nBelow is a conversation between a human and an agent. "
        "Write a summary of the conversation.\n\n### Input:\nCustomer: hi\nAgent: hello\n\n### Output:\n"
    )


def test_training_text_is_instruction_prompt_plus_summary():
    dialog = load_dialogs("sample")["train"][0]
    doc = dialog.to_doc()
    assert doc["text"] == instruction_text(doc) + doc["summary"]


def test_one_shot_prompt_is_exemplar_block_then_test_block():
    doc = dict(DOC, exemplar_conversation="Customer: bag lost\nAgent: DM us", exemplar_summary="Lost bag.")
    assert one_shot_text(doc) == (
        "Below is a conversation between a human and an AI agent. Write a summary of the conversation."
        "\n\nCustomer: bag lost\nAgent: DM us\n\nSummary: Lost bag.\n\n" + zero_shot_text(doc)
    )


def test_one_shot_exemplar_is_never_the_dialog_under_test():
    dataset = build_dataset(load_dialogs("sample"), one_shot_seed=1234)
    train_ids = set(dataset["train"]["id"])
    for split in ("train", "validation", "test"):
        for doc in dataset[split]:
            assert doc["exemplar_id"] != doc["id"]
            assert doc["exemplar_id"] in train_ids
            assert doc["exemplar_conversation"] != doc["conversation"]
            assert doc["conversation"] not in one_shot_text(doc).split("\n\nSummary:")[0]


def test_exemplar_never_self_even_when_hash_points_at_it():
    pool = [{"id": str(i), "conversation": f"c{i}"} for i in range(5)]
    for seed in range(50):
        for doc in pool:
            assert choose_exemplar(doc, pool, seed)["id"] != doc["id"]


def test_exemplar_never_a_copy_of_the_dialog_under_a_different_id():
    pool = [{"id": "a", "conversation": "same"}, {"id": "b", "conversation": "other"}]
    for seed in range(20):
        assert choose_exemplar({"id": "test-1", "conversation": "same"}, pool, seed)["id"] == "b"


def test_no_possible_exemplar_is_a_clear_error():
    with pytest.raises(TweetSummDataError, match="no train dialog other than x"):
        choose_exemplar({"id": "x", "conversation": "c"}, [{"id": "x", "conversation": "c"}], 1)


def test_one_shot_exemplar_is_deterministic_and_order_independent():
    pool = [{"id": f"d{i}", "conversation": f"c{i}"} for i in range(20)]
    docs = [{"id": f"t{i}", "conversation": f"t{i}"} for i in range(10)]
    first = [choose_exemplar(doc, pool, seed=7)["id"] for doc in docs]
    assert first == [choose_exemplar(doc, pool, seed=7)["id"] for doc in docs]
    # the choice for one dialog does not depend on which other dialogs are evaluated (--limit)
    assert choose_exemplar(docs[5], pool, seed=7)["id"] == first[5]
    assert [choose_exemplar(doc, pool, seed=8)["id"] for doc in docs] != first
