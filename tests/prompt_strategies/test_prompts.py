"""The study's prompt formats (TweetSumm family) and the one-shot exemplar choice."""

from __future__ import annotations

import hashlib

import pytest

from prompt_strategies import StrategyError, TaskContext
from prompt_strategies.exemplars import choose_exemplars
from prompt_strategies.registry import get_family, get_strategy
from summeval_tasks.tweetsumm.prompts import instruction_prompt, zero_shot_block

DOC = {"id": "t-1", "conversation": "Customer: hi\nAgent: hello", "summary": "Greetings."}
FAMILY = get_family("tweetsumm")
SAME = FAMILY.same_item


def test_zero_shot_prompt_is_the_study_format():
    expected = (
        "Below is a conversation between a human and an AI agent. Write a summary of the conversation."
        "\n\nCustomer: hi\nAgent: hello\n\nSummary:"
    )
    assert zero_shot_block(DOC["conversation"]) == expected
    assert FAMILY.question(DOC) == FAMILY.direct_question(DOC) == expected
    answer_only = get_strategy("answer_only")
    assert answer_only.prompt(DOC, FAMILY, [], answer_only.options()) == expected


def test_instruction_prompt_is_the_finetuning_format():
    expected = (
        "### Instruction:\nBelow is a conversation between a human and an agent. "
        "Write a summary of the conversation.\n\n### Input:\nCustomer: hi\nAgent: hello\n\n### Output:\n"
    )
    assert FAMILY.instruction_prompt(DOC) == expected
    instruct = get_strategy("instruct")
    assert instruct.applies_to(FAMILY)
    assert instruct.prompt(DOC, FAMILY, [], instruct.options()) == expected


def test_training_text_is_instruction_prompt_plus_summary():
    doc = FAMILY.load({"tweetsumm_data": "sample"})["train"][0]
    assert "text" not in doc  # no prompt wording in the docs
    assert (
        instruction_prompt(doc["conversation"], doc["summary"])
        == FAMILY.instruction_prompt(doc) + (doc["summary"])
    )


def test_one_shot_prompt_is_exemplar_block_then_test_block():
    exemplar = {"id": "e-1", "conversation": "Customer: bag lost\nAgent: DM us", "summary": "Lost bag."}
    fewshot = get_strategy("fewshot")
    prompt = fewshot.prompt(DOC, FAMILY, [exemplar], fewshot.options({"fewshot": {"k": 1}}))
    assert prompt == (
        "Below is a conversation between a human and an AI agent. Write a summary of the conversation."
        "\n\nCustomer: bag lost\nAgent: DM us\n\nSummary: Lost bag.\n\n" + FAMILY.question(DOC)
    )
    assert FAMILY.exemplar(exemplar) == zero_shot_block(exemplar["conversation"], exemplar["summary"])


def test_one_shot_exemplar_is_never_the_dialog_under_test():
    docs = FAMILY.load({"tweetsumm_data": "sample"})
    train = docs["train"]
    context = TaskContext(family=FAMILY, pool_loader=lambda: train)
    fewshot = get_strategy("fewshot")
    options = fewshot.options({"fewshot": {"k": 1, "seed": 1234}})
    train_ids = {d["id"] for d in train}
    for split in ("train", "validation", "test"):
        for doc in docs[split]:
            (exemplar,) = fewshot.exemplars(doc, context, options)
            assert exemplar["id"] != doc["id"]
            assert exemplar["id"] in train_ids
            assert exemplar["conversation"] != doc["conversation"]
            prompt = fewshot.prompt(doc, FAMILY, [exemplar], options)
            assert doc["conversation"] not in prompt.split("\n\nSummary:")[0]


def test_exemplar_never_self_even_when_hash_points_at_it():
    pool = [{"id": str(i), "conversation": f"c{i}"} for i in range(5)]
    for seed in range(50):
        for doc in pool:
            assert choose_exemplars(doc, pool, 1, seed, SAME)[0]["id"] != doc["id"]


def test_one_shot_exemplar_is_the_first_other_dialog_from_the_seeded_start():
    # The choice of the original tweetsumm_one: sha256("seed:id")[:8] mod len(pool), then onwards.
    pool = [{"id": f"d{i}", "conversation": f"c{i}"} for i in range(7)]
    for seed in range(30):
        for doc in pool:
            start = int.from_bytes(hashlib.sha256(f"{seed}:{doc['id']}".encode()).digest()[:8], "big")
            start %= len(pool)
            expected = pool[start] if pool[start] is not doc else pool[(start + 1) % len(pool)]
            assert choose_exemplars(doc, pool, 1, seed, SAME) == [expected]


def test_exemplar_never_a_copy_of_the_dialog_under_a_different_id():
    pool = [{"id": "a", "conversation": "same"}, {"id": "b", "conversation": "other"}]
    for seed in range(20):
        assert choose_exemplars({"id": "test-1", "conversation": "same"}, pool, 1, seed, SAME)[0]["id"] == "b"


def test_no_possible_exemplar_is_a_clear_error():
    with pytest.raises(StrategyError, match="1 exemplars requested for 'x' but the exemplar pool has only 0"):
        choose_exemplars({"id": "x", "conversation": "c"}, [{"id": "x", "conversation": "c"}], 1, 1, SAME)
    with pytest.raises(StrategyError, match="1 exemplars requested for 'x' but the exemplar pool is empty"):
        choose_exemplars({"id": "x", "conversation": "c"}, [], 1, 1, SAME)


def test_one_shot_exemplar_is_deterministic_and_order_independent():
    pool = [{"id": f"d{i}", "conversation": f"c{i}"} for i in range(20)]
    docs = [{"id": f"t{i}", "conversation": f"t{i}"} for i in range(10)]

    def choice(doc, seed=7):
        return choose_exemplars(doc, pool, 1, seed, SAME)[0]["id"]

    first = [choice(doc) for doc in docs]
    assert first == [choice(doc) for doc in docs]
    # the choice for one dialog does not depend on which other dialogs are evaluated (--limit)
    assert [choice(doc) for doc in reversed(docs)] == first[::-1]
    assert choice(docs[5]) == first[5]
    assert [choice(doc, seed=8) for doc in docs] != first
