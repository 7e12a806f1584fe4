"""Two-stage answers (``summeval.lm_eval.two_stage``): the second-stage prompt, the filters that carry the
two-stage answer, and the real ``lm_eval`` command on a tiny model, checked against log-likelihoods computed
here with lm-eval's own ``HFLM``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from support import offline_env, read_results, run_lm_eval

from prompt_strategies.registry import get_family
from summeval.lm_eval.filters import FamilyAnswerFilter, FamilyReduceFilter
from summeval.lm_eval.two_stage import Answered, Verdict, carry_two_stage, label_prompt, two_stage_of
from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE

FAMILY = get_family("sports_understanding")
TRIGGER = FAMILY.answer_trigger


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            " Jamal Murray is a basketball player",
            "Q\nA: Jamal Murray is a basketball player. So the answer is",
        ),
        (" It is plausible.\n", "Q\nA: It is plausible. So the answer is"),
        (" Let me see: so the answer is", "Q\nA: Let me see: so the answer is"),
        (" He is a striker. So the answer is implausible.", "Q\nA: He is a striker. So the answer is"),
        (" So the answer is **plausible**.\n", "Q\nA: So the answer is"),
        (
            " So the answer is plausible, no, wait. He never played hockey",
            "Q\nA: So the answer is plausible, no, wait. He never played hockey. So the answer is",
        ),
        ("", "Q\nA: So the answer is"),
        ("  \n", "Q\nA: So the answer is"),
    ],
)
def test_the_second_stage_prompt_appends_the_trigger_once(output, expected):
    assert label_prompt("Q\nA:", output, TRIGGER) == expected


def test_an_own_conclusion_is_scored_after_the_prompt_as_sent_and_any_other_output_without_exemplars():
    sent, bare = "EXEMPLARS\nQ\nA:", "Q\nA:"
    concluded = " He is a striker. So the answer is implausible."
    assert (
        label_prompt(sent, concluded, TRIGGER, bare) == "EXEMPLARS\nQ\nA: He is a striker. So the answer is"
    )
    assert label_prompt(sent, " implausible", TRIGGER, bare) == "Q\nA: implausible. So the answer is"
    assert label_prompt(sent, "", TRIGGER, bare) == "Q\nA: So the answer is"


def test_an_empty_output_after_a_chat_turn_gets_no_leading_space():
    assert label_prompt("<|im_start|>assistant\n", "", TRIGGER) == "<|im_start|>assistant\nSo the answer is"


def test_filters_carry_the_two_stage_answer_and_vote_over_it():
    answers = FamilyAnswerFilter(family=FAMILY.name).apply(
        [
            [
                Answered("It is plausible.", IMPLAUSIBLE),
                Answered("Hmm.", IMPLAUSIBLE),
                Answered("No.", PLAUSIBLE),
            ]
        ],
        [{}],
    )[0]
    assert answers == [PLAUSIBLE, INVALID, IMPLAUSIBLE]  # the strict reading, unchanged
    assert [two_stage_of(a) for a in answers] == [IMPLAUSIBLE, IMPLAUSIBLE, PLAUSIBLE]
    (voted,) = FamilyReduceFilter(family=FAMILY.name).apply([answers], [{}])[0]
    assert isinstance(voted, Verdict) and str(voted) == PLAUSIBLE and voted.two_stage == IMPLAUSIBLE
    # Plain text (no second stage ran) reads as before, with no two-stage answer.
    plain = FamilyAnswerFilter(family=FAMILY.name).apply([["It is plausible."]], [{}])[0]
    assert plain == [PLAUSIBLE] and two_stage_of(plain[0]) is None


def test_an_answer_from_a_plugin_filter_gets_the_two_stage_answer_of_its_responses():
    from lm_eval.api.instance import Instance

    def instance(resps, filtered):
        made = Instance("generate_until", doc={}, arguments=("Q", {}), idx=0)
        made.resps, made.filtered_resps = resps, filtered
        return made

    one = instance([Answered("yes", IMPLAUSIBLE)], {"yes_no": PLAUSIBLE})
    voted = instance(
        [Answered("no", PLAUSIBLE), Answered("yes", IMPLAUSIBLE), Answered("no", PLAUSIBLE)],
        {"first": "implausible", "listed": ["a", "b"]},
    )
    ours = instance([Answered("yes", IMPLAUSIBLE)], {"answer": Verdict(PLAUSIBLE, PLAUSIBLE)})
    carry_two_stage([one, voted, ours], FAMILY)
    assert (
        str(one.filtered_resps["yes_no"]) == PLAUSIBLE
        and one.filtered_resps["yes_no"].two_stage == IMPLAUSIBLE
    )
    assert voted.filtered_resps["first"].two_stage == PLAUSIBLE  # the vote over the K second stages
    assert voted.filtered_resps["listed"] == ["a", "b"]  # not one answer: left alone
    assert ours.filtered_resps["answer"].two_stage == PLAUSIBLE  # our filters' own answer stands


def test_scores_of_a_two_stage_answer():
    doc = {"label": PLAUSIBLE}
    assert FAMILY.score_two_stage(doc, INVALID, PLAUSIBLE) == {"acc_two_stage": 1.0, "agree_two_stage": 0.0}
    assert FAMILY.score_two_stage(doc, IMPLAUSIBLE, IMPLAUSIBLE) == {
        "acc_two_stage": 0.0,
        "agree_two_stage": 1.0,
    }
    assert FAMILY.score_two_stage(doc, PLAUSIBLE, IMPLAUSIBLE) == {
        "acc_two_stage": 0.0,
        "agree_two_stage": 0.0,
    }
    assert get_family("tweetsumm").two_stage_metrics == {}  # free text: no label set, nothing changes


def _samples(output_dir: Path, task: str) -> list[dict]:
    (path,) = sorted(output_dir.rglob(f"samples_{task}_*.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lm_eval_reports_two_stage_accuracy_that_matches_the_model(tiny_llama, tmp_path):
    """The real command on a tiny random model; each item's two-stage answer recomputed here."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    tasks = [
        "sports_understanding_cot",
        "sports_understanding_self_consistency",
        "sports_understanding_answer_only_mc",
    ]
    run_lm_eval(
        [
            "--model", "hf",
            "--model_args", f"pretrained={tiny_llama},dtype=float32",
            "--tasks", ",".join(tasks),
            "--metadata", json.dumps({"sports_data": "sample", "cot": {"max_gen_toks": 6},
                                      "self_consistency": {"samples": 3, "max_gen_toks": 6}}),
            "--limit", "4",
            "--log_samples",
            "--output_path", str(tmp_path),
        ],
        env=offline_env(SUMMEVAL_CACHE=str(tmp_path / "cache")),
    )  # fmt: skip
    results = read_results(tmp_path)
    cot = results["sports_understanding_cot"]
    assert {"acc,answer", "invalid,answer", "acc_two_stage,answer", "agree_two_stage,answer"} <= set(cot)
    assert cot["agree_two_stage,answer"] <= 1 - cot["invalid,answer"] + 1e-9
    assert {"acc_two_stage,maj@3", "acc_two_stage,first"} <= set(
        results["sports_understanding_self_consistency"]
    )
    mc = results["sports_understanding_answer_only_mc"]
    assert mc["acc_two_stage,none"] == mc["acc,none"] and mc["agree_two_stage,none"] == 1.0

    lm = HFLM(pretrained=str(tiny_llama), dtype="float32", device="cpu")
    for record in _samples(tmp_path, "sports_understanding_cot"):
        (output,) = record["resps"][0]
        assert isinstance(output, str)  # the logged response is the model's own text
        context = label_prompt(record["arguments"]["gen_args_0"]["arg_0"], output, TRIGGER)
        totals = []
        for label in FAMILY.choices:
            words = FAMILY.answer_words[label]
            requests = [
                Instance("loglikelihood", record["doc"], (context, f" {word}"), i, ("t", 0, 1))
                for i, word in enumerate(words)
            ]
            probability = sum(math.exp(ll) for ll, _ in lm.loglikelihood(requests, disable_tqdm=True))
            totals.append(probability)
        expected = FAMILY.choices[max(range(len(totals)), key=totals.__getitem__)]
        assert record["acc_two_stage"] == float(expected == record["doc"]["label"]), record


# ----------------------------------------------------------------------------- chat-native prompts


def _task(name: str):
    import summeval

    manager = summeval.task_manager(include_defaults=False, metadata={"sports_data": "sample"})
    return manager.load([name])["tasks"][name]


@pytest.mark.parametrize(
    ("task_name", "shots"),
    [("sports_understanding_fewshot", 3), ("sports_understanding_cot_fewshot", 3)],
)
def test_under_a_chat_template_each_exemplar_is_its_own_pair_of_turns(embedded_model, task_name, shots):
    """With the embedded model's real chat template, as lm-eval calls it (``fewshot_as_multiturn``)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model))
    sent = []

    def chat_template(messages, add_generation_prompt=True):
        sent.append(messages)
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    task = _task(task_name)
    doc = task.eval_docs[0]
    text = task.fewshot_context(
        doc, 0, apply_chat_template=True, fewshot_as_multiturn=True, chat_template=chat_template
    )
    (messages,) = sent
    assert [m["role"] for m in messages] == ["user", "assistant"] * shots + ["user"]
    assert messages[-1]["content"] == FAMILY.question(doc)
    assert all(m["content"].startswith("Q: ") for m in messages[::2])
    assert not any("Q: " in m["content"] for m in messages[1::2])  # answers only
    assert text.count("<|im_start|>assistant") == shots + 1 and text.endswith("<|im_start|>assistant\n")
    # Without a chat template, or with fewshot_as_multiturn off, the prompt is doc_to_text's, unchanged.
    assert task.fewshot_context(doc, 0) == task.doc_to_text(doc)
    single = task.fewshot_context(doc, 0, apply_chat_template=True, chat_template=chat_template)
    assert (
        sent[-1] == [{"role": "user", "content": task.doc_to_text(doc)}]
        and single.count("<|im_start|>assistant") == 1
    )


def test_a_strategy_without_exemplars_stays_one_user_turn(embedded_model):
    sent = []
    task = _task("sports_understanding_cot")
    doc = task.eval_docs[0]
    task.fewshot_context(
        doc, 0, apply_chat_template=True, fewshot_as_multiturn=True,
        chat_template=lambda messages, add_generation_prompt=True: sent.append(messages) or "",
    )  # fmt: skip
    assert sent == [[{"role": "user", "content": task.doc_to_text(doc)}]]


def test_answer_only_asks_a_chat_model_for_one_word_without_the_q_a_scaffold(embedded_model):
    sent = []
    task = _task("sports_understanding_answer_only")
    doc = task.eval_docs[0]
    task.fewshot_context(
        doc, 0, apply_chat_template=True, fewshot_as_multiturn=True,
        chat_template=lambda messages, add_generation_prompt=True: sent.append(messages) or "",
    )  # fmt: skip
    ((message,),) = sent
    assert message == {
        "role": "user",
        "content": f"{doc['input']}\nAnswer with one word: plausible or implausible.",
    }
    # Without a chat template the seed's prompt, unchanged.
    assert task.fewshot_context(doc, 0) == f"Q: {doc['input']}\nAnswer plausible or implausible.\nA:"


@pytest.mark.parametrize("task_name", ["sports_understanding_fewshot", "sports_understanding_cot_fewshot"])
def test_the_second_stage_reads_the_output_after_the_question_without_its_exemplars(
    embedded_model, task_name
):
    """Exemplars shape the output; the second stage scores the labels after the question and the output
    only, rendered as the prompt was (plain text, or chat turns after lm-eval's request builder)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model))

    def chat_template(messages, add_generation_prompt=True):
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    task = _task(task_name)
    doc = task.eval_docs[0]
    question = FAMILY.question(doc)
    task.build_all_requests(limit=1)  # plain text, as lm-eval renders it
    plain = task.fewshot_context(doc, 0)
    assert plain != question and task.answer_context(doc, plain) == question

    task.build_all_requests(
        limit=1, apply_chat_template=True, fewshot_as_multiturn=True, chat_template=chat_template
    )
    sent = task.fewshot_context(
        doc, 0, apply_chat_template=True, fewshot_as_multiturn=True, chat_template=chat_template
    )
    expected = chat_template([{"role": "user", "content": question}])
    assert sent.count("<|im_start|>user") == 4 and task.answer_context(doc, sent) == expected

    zero_shot = _task("sports_understanding_cot")  # no exemplars: the prompt as sent
    zero_shot.build_all_requests(limit=1)
    context = zero_shot.fewshot_context(doc, 0)
    assert zero_shot.answer_context(doc, context) == context
