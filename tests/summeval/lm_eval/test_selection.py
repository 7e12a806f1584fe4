"""Active-prompt selection (``summeval.lm_eval.selection.select_exemplars``) against a canned model whose K
answers per question are fixed: each question asked K times with the same prompt, ranking by uncertainty
with hand-computed scores, ties broken by the seed, rationale sources and annotations, tweetsumm's
selection by summary disagreement, argument errors that ask the model nothing, the exemplar file written."""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import pytest
from support import SPORTS, TWEETSUMM

from prompt_strategies import StrategyError
from prompt_strategies.active_prompt import (
    FILE_FORMAT,
    SELECTION_TASK,
    ScoredQuestion,
    read_annotations,
)
from prompt_strategies.exemplars import read_exemplar_file
from summeval.lm_eval import shared_prefix
from summeval.lm_eval.selection import select_exemplars
from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE, extract_answer
from summeval_tasks.util.files import write_text_atomically

LN2 = math.log(2)
K = 4
GENERATION_KWARGS = {"until": ["\nQ:"], "do_sample": True, "temperature": 0.7, "max_gen_toks": 32}


def _doc(doc_id: str, statement: str, label: str) -> dict[str, str]:
    return {"id": doc_id, "statement": statement, "input": f"Is this plausible?\n{statement}", "label": label}


# Five questions whose K=4 sampled answers are known (cycled in this order by CannedModel).
POOL = [
    _doc("A", "Lionel Messi scored a free kick", PLAUSIBLE),
    _doc("B", "LeBron James hit a slap shot", IMPLAUSIBLE),
    _doc("C", "Sidney Crosby won the faceoff", PLAUSIBLE),
    _doc("D", "Tom Brady served an ace", IMPLAUSIBLE),
    _doc("E", "Aaron Judge threw a touchdown pass", IMPLAUSIBLE),
]
OUTPUTS = {
    # Certain and right, but concluding with "so" rather than "the answer is".
    "A": ["Messi is a soccer player, so plausible."],
    # Split evenly between the labels.
    "B": [
        "So the answer is plausible.",
        "LeBron James plays basketball; a slap shot is hockey. So the answer is implausible.",
    ],
    # Half invalid, the valid half agreeing (and right).
    "C": ["I am not sure.", "Crosby is a hockey center.  So the answer is plausible.", "Hmm.", ""],
    # Never a readable answer.
    "D": ["I cannot tell."],
    # Three distinct answers: plausible, implausible, invalid, implausible.
    "E": [
        "So the answer is plausible.",
        "Judge is a baseball player; touchdowns are football. So the answer is implausible.",
        "???",
        "So the answer is implausible.",
    ],
}
ANSWERS = {
    "A": [PLAUSIBLE] * 4,
    "B": [PLAUSIBLE, IMPLAUSIBLE] * 2,
    "C": [INVALID, PLAUSIBLE, INVALID, INVALID],
    "D": [INVALID] * 4,
    "E": [PLAUSIBLE, IMPLAUSIBLE, INVALID, IMPLAUSIBLE],
}
# Hand-computed from ANSWERS (C's fourth output is empty, hence invalid; A..E, in that order).
EXPECTED = {
    "disagreement": {"A": 0.25, "B": 0.5, "C": 0.5, "D": 0.25, "E": 0.75},
    "entropy": {
        "A": 0.0,
        "B": LN2,
        "C": -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)),
        "D": 0.0,
        "E": 1.5 * LN2,
    },
    "variance": {"A": 0.0, "B": 0.25, "C": 0.0, "D": 0.25, "E": 2 / 9},
}


class CannedModel:
    """``generate_until`` with known answers: per doc id, its OUTPUTS cycled by how often it was asked."""

    def __init__(self, outputs: dict[str, list[str]] = OUTPUTS, second_stage: dict[str, str] | None = None):
        self.outputs = outputs
        self.second_stage = second_stage or {}
        self.asked: Counter[str] = Counter()
        self.requests: list = []

    def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
        self.requests.extend(requests)
        answers = []
        for request in requests:
            doc_id = request.doc["id"]
            canned = self.outputs[doc_id]
            answers.append(canned[self.asked[doc_id] % len(canned)])
            self.asked[doc_id] += 1
        return answers

    def loglikelihood(self, requests: list, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """The second stage: every label word scored after an output; the model "prefers" the label of
        ``second_stage`` for that output, else the label of the first of its outputs for the doc that the
        context's reasoning begins (an output that ends in its own conclusion is scored at its own
        trigger, so the label is not in the context), else the label its text reads as (implausible when
        none)."""
        self.scored = getattr(self, "scored", 0) + len(requests)
        scores = []
        for request in requests:
            context, word = request.arguments
            output = context.rsplit("Let's think step by step.", 1)[-1].strip()
            written = (o for o in self.outputs[request.doc["id"]] if o.strip().startswith(output))
            read = extract_answer(next(written, output))
            preferred = next(
                (label for text, label in self.second_stage.items() if text in output),
                read if read != INVALID else IMPLAUSIBLE,
            )
            words = {PLAUSIBLE: (" plausible", " yes"), IMPLAUSIBLE: (" implausible", " no")}[preferred]
            scores.append((0.0, True) if word in words else (-5.0, False))
        return scores


def _prompt(doc) -> str:
    return f"Q: {doc['input']}\nA: Let's think step by step."


def _select(model=None, pool=POOL, **kwargs):
    kwargs = {"family": SPORTS, "k": K, "n": 2, "metric": "disagreement", "seed": 0, **kwargs}
    return select_exemplars(
        model or CannedModel(), pool, prompt=_prompt, generation_kwargs=GENERATION_KWARGS, **kwargs
    )


def _ids(content) -> list[str]:
    return [entry["id"] for entry in content["ranking"]]


# ROUGE-L (stemmed, lower-cased) between these two: LCS "the agent the order" = 4 of 5 tokens each, F = 0.8.
AGREEING = ["The agent fixed the order.", "the agent refunded the order"]
# No token in common: ROUGE-L 0.
DISJOINT = ["Hello world.", "Refund issued today."]


# ----------------------------------------------------------------------------- questions and conclusions


def test_a_scored_question_reads_its_outputs_with_the_family():
    sports = ScoredQuestion(POOL[2], OUTPUTS["C"], SPORTS)
    assert sports.answers == ANSWERS["C"]
    outputs = ["  Agent helps.\nCustomer: thanks", "Agent helps.###"]
    summaries = ScoredQuestion({"id": "t"}, outputs, TWEETSUMM)
    assert summaries.answers == ["Agent helps.", "Agent helps."]  # cut at the stop sequences, stripped
    assert summaries.score == 0.0


# ----------------------------------------------------------------------------- ranking on a canned model


def test_the_canned_model_gives_the_answers_the_scores_are_computed_from():
    content = _select(n=len(POOL))
    for entry in content["ranking"]:
        assert entry["answers"] == dict(Counter(ANSWERS[entry["id"]])), entry["id"]


@pytest.mark.parametrize("metric", ["disagreement", "entropy", "variance"])
def test_ranking_is_most_uncertain_first_with_hand_computed_scores(metric):
    expected = EXPECTED[metric]
    content = _select(metric=metric, n=len(POOL))
    ranking = content["ranking"]
    assert sorted(_ids(content)) == sorted(expected)
    for entry in ranking:
        assert entry["uncertainty"] == pytest.approx(expected[entry["id"]]), entry["id"]
        assert entry["gold"] == next(d["label"] for d in POOL if d["id"] == entry["id"])
        assert "label" not in entry
    scores = [entry["uncertainty"] for entry in ranking]
    assert scores == sorted(scores, reverse=True)


def test_ranking_order_under_disagreement():
    ids = _ids(_select())
    assert ids[0] == "E"
    assert set(ids[1:3]) == {"B", "C"}  # tied at 0.5
    assert set(ids[3:]) == {"A", "D"}  # tied at 0.25


def test_top_n_exemplars_are_the_head_of_the_ranking():
    content = _select(n=3, seed=5)
    ids = _ids(content)
    assert [e["id"] for e in content["exemplars"]] == ids[:3]
    for exemplar, entry in zip(content["exemplars"], content["ranking"], strict=False):
        assert exemplar["uncertainty"] == entry["uncertainty"]
        doc = next(d for d in POOL if d["id"] == exemplar["id"])
        # the doc's own fields, then how it was chosen
        assert exemplar == {
            **doc,
            "rationale": exemplar["rationale"],
            "rationale_source": exemplar["rationale_source"],
            "uncertainty": entry["uncertainty"],
        }


def test_every_question_is_asked_k_times_with_the_same_prompt_and_generation_kwargs():
    model = CannedModel()
    _select(model)
    assert len(model.requests) == K * len(POOL)
    for i, doc in enumerate(POOL):
        group = model.requests[i * K : (i + 1) * K]  # a question's samples are adjacent
        for request in group:
            assert request.request_type == "generate_until"
            assert request.doc["id"] == doc["id"]
            prompt, kwargs = request.arguments
            assert prompt == _prompt(doc)
            assert kwargs == GENERATION_KWARGS
            assert kwargs["do_sample"] is True
            assert (request.doc_id, request.repeats) == (i, K)
            assert request.task_name == SELECTION_TASK
            assert shared_prefix.ours(request)  # summeval's own: its samples share a prompt
    assert model.asked == Counter({doc["id"]: K for doc in POOL})


def test_ties_are_broken_by_the_seed_reproducibly_and_not_by_pool_order():
    by_seed = {seed: _ids(_select(seed=seed, n=len(POOL))) for seed in range(12)}
    for seed, ids in by_seed.items():
        assert _ids(_select(seed=seed, n=len(POOL))) == ids
        assert _ids(_select(pool=list(reversed(POOL)), seed=seed, n=len(POOL))) == ids
    # the tied pairs come out in both orders for some seeds: the seed, not the id, decides
    assert {tuple(ids[1:3]) for ids in by_seed.values()} == {("B", "C"), ("C", "B")}
    assert {tuple(ids[3:]) for ids in by_seed.values()} == {("A", "D"), ("D", "A")}


def test_a_model_returning_the_wrong_number_of_outputs_is_an_error():
    class Short(CannedModel):
        def generate_until(self, requests, disable_tqdm=False):
            return super().generate_until(requests)[:-1]

    with pytest.raises(StrategyError, match="returned 19 outputs for 20 requests"):
        _select(Short())


# ----------------------------------------------------------------------------- rationales


def _by_id(content) -> dict[str, dict]:
    return {exemplar["id"]: exemplar for exemplar in content["exemplars"]}


def test_rationale_sources_without_annotations():
    exemplars = _by_id(_select(n=len(POOL)))
    # the first sampled output that reached the gold label, whitespace collapsed, conclusion kept
    assert exemplars["B"]["rationale_source"] == "model"
    assert exemplars["B"]["rationale"] == OUTPUTS["B"][1]
    assert exemplars["C"]["rationale"] == "Crosby is a hockey center. So the answer is plausible."
    assert exemplars["E"]["rationale"] == OUTPUTS["E"][1]
    # a right answer with no "the answer is" gets the conclusion appended
    assert exemplars["A"]["rationale_source"] == "model"
    assert exemplars["A"]["rationale"] == f"{OUTPUTS['A'][0]} So the answer is plausible."
    # no sample reached the label
    assert exemplars["D"]["rationale_source"] == "label_only"
    assert exemplars["D"]["rationale"] == "So the answer is implausible."
    for exemplar in exemplars.values():
        assert exemplar["rationale"].endswith(f"So the answer is {exemplar['label']}.")


def test_a_model_rationale_whose_own_second_stage_disagrees_is_not_an_exemplar():
    # E's second output reads implausible (the gold label), but the model itself would finish it with
    # "plausible": it would teach the wrong label. E's fourth output has no reasoning: it is scored at a
    # bare trigger, where this model answers plausible (its first output), so E gets the label only; B
    # has no other right output: label only too
    model = CannedModel(
        second_stage={"Judge is a baseball player": PLAUSIBLE, "LeBron James plays": PLAUSIBLE}
    )
    content = _select(model, n=len(POOL))
    exemplars = _by_id(content)
    for doc_id in "EB":
        assert (exemplars[doc_id]["rationale_source"], exemplars[doc_id]["rationale"]) == (
            "label_only",
            "So the answer is implausible.",
        )
    assert content["exemplar_sources"] == {"model": 2, "label_only": 3}
    assert model.scored == 4 * K * len(POOL)  # two words per label after every sampled output, one call


def test_annotations_by_id_or_statement_win_over_model_rationales(tmp_path):
    by_id = "LeBron James is a basketball player. A slap shot is from hockey. So the answer is implausible."
    annotations = {"b": by_id, "  tom BRADY served an ACE ": "Tom Brady is a quarterback; an ace is tennis."}
    exemplars = _by_id(_select(n=len(POOL), annotations=read_annotations(_write(tmp_path, annotations))))
    assert exemplars["B"]["rationale_source"] == "annotation"
    assert exemplars["B"]["rationale"] == by_id
    assert exemplars["D"]["rationale_source"] == "annotation"
    assert exemplars["D"]["rationale"] == (
        "Tom Brady is a quarterback; an ace is tennis. So the answer is implausible."
    )
    assert exemplars["E"]["rationale_source"] == "model"


def test_an_annotation_concluding_the_wrong_label_is_an_error():
    with pytest.raises(StrategyError, match="for 'B' concludes 'plausible', but the answer is 'implausible'"):
        _select(n=len(POOL), annotations={"b": "A slap shot is fine. So the answer is plausible."})


def test_the_exemplar_file_is_valid_and_records_how_it_was_made(tmp_path):
    content = _select(n=3, seed=7, metric="entropy", provenance={"model": "canned", "data": "hand-made"})
    path = write_text_atomically(tmp_path / "exemplars.json", json.dumps(content, indent=2) + "\n")
    entries = read_exemplar_file(path, SPORTS)
    assert [e["id"] for e in entries] == _ids(content)[:3]
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["format"] == FILE_FORMAT == "summeval-active-prompt/4"
    assert saved["family"] == "sports_understanding"
    assert {key: saved[key] for key in ("model", "data", "k", "n", "uncertainty", "seed", "pool_size")} == {
        "model": "canned",
        "data": "hand-made",
        "k": K,
        "n": 3,
        "uncertainty": "entropy",
        "seed": 7,
        "pool_size": len(POOL),
    }
    assert saved["generation_kwargs"] == GENERATION_KWARGS
    assert {entry["id"]: entry["uncertainty"] for entry in saved["ranking"]} == pytest.approx(
        EXPECTED["entropy"]
    )
    with pytest.raises(StrategyError, match="holds sports_understanding exemplars; the task is a tweetsumm"):
        read_exemplar_file(path, TWEETSUMM)


# ----------------------------------------------------------------------------- tweetsumm: summaries


def _dialog(doc_id: str, conversation: str, summary: str) -> dict:
    return {"id": doc_id, "conversation": conversation, "references": [summary], "summary": summary}


DIALOGS = [
    _dialog("X", "Customer: my order is late\nAgent: sorry, checking", "Agent checks a late order."),
    _dialog("Y", "Customer: refund please\nAgent: done", "Agent refunds the customer."),
    _dialog("Z", "Customer: app crashes\nAgent: reinstall it", "Agent suggests reinstalling the app."),
]
SUMMARIES = {
    # always the same summary (the stop sequence and spaces are cut): no disagreement
    "X": [" The agent fixed the order.\nCustomer: thanks", "The agent fixed the order."],
    # ROUGE-L 0.8 between the two
    "Y": AGREEING,
    # nothing in common
    "Z": DISJOINT,
}


def _select_summaries(model=None, **kwargs):
    kwargs = {"family": TWEETSUMM, "k": K, "n": 2, "metric": "disagreement", "seed": 0, **kwargs}
    return select_exemplars(
        model or CannedModel(SUMMARIES),
        DIALOGS,
        prompt=TWEETSUMM.direct_question,
        generation_kwargs={"until": list(TWEETSUMM.answer_stop), "do_sample": True, "max_gen_toks": 16},
        **kwargs,
    )


def test_tweetsumm_selection_ranks_by_summary_disagreement():
    content = _select_summaries(n=3)
    # K=4 samples cycle a, b, a, b: pairs (a, a) and (b, b) agree fully, the four (a, b) pairs score s
    # -> 1 - (2 + 4 s) / 6
    expected = {"X": 0.0, "Y": 1 - (2 + 4 * 0.8) / 6, "Z": 1 - 2 / 6}
    assert _ids(content) == ["Z", "Y", "X"]
    for entry in content["ranking"]:
        assert entry["uncertainty"] == pytest.approx(expected[entry["id"]]), entry["id"]
        assert entry["gold"] == next(d["summary"] for d in DIALOGS if d["id"] == entry["id"])
        assert entry["answers"] is None  # free text: no answer counts


def test_tweetsumm_exemplars_carry_their_reference_summary_and_no_rationale(tmp_path):
    model = CannedModel(SUMMARIES)
    content = _select_summaries(model, provenance={"model": "canned"})
    assert (content["format"], content["family"], content["model"]) == (FILE_FORMAT, "tweetsumm", "canned")
    for exemplar, entry in zip(content["exemplars"], content["ranking"], strict=False):
        doc = next(d for d in DIALOGS if d["id"] == exemplar["id"])
        assert exemplar == {**doc, "rationale_source": "reference", "uncertainty": entry["uncertainty"]}
    assert [e["id"] for e in content["exemplars"]] == ["Z", "Y"]
    for request in model.requests:
        assert request.arguments[0] == TWEETSUMM.direct_question(request.doc)
        assert request.task_name == SELECTION_TASK
    path = write_text_atomically(tmp_path / "exemplars.json", json.dumps(content) + "\n")
    assert [e["id"] for e in read_exemplar_file(path, TWEETSUMM)] == ["Z", "Y"]
    with pytest.raises(StrategyError, match="holds tweetsumm exemplars; the task is a sports_understanding"):
        read_exemplar_file(path, SPORTS)


def test_tweetsumm_selection_ignores_annotations_and_refuses_sports_metrics():
    with_annotations = _select_summaries(annotations={"x": "So the answer is plausible."})
    assert with_annotations == _select_summaries()
    model = CannedModel(SUMMARIES)
    with pytest.raises(StrategyError, match="tweetsumm: unknown uncertainty metric 'entropy'"):
        _select_summaries(model, metric="entropy")
    assert model.requests == []


# ----------------------------------------------------------------------------- argument errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 6}, "n=6 exemplars requested from a pool of 5 questions"),
        ({"k": 0}, r"k and n must be at least 1 \(got k=0, n=2\)"),
        ({"n": 0}, r"k and n must be at least 1 \(got k=4, n=0\)"),
        ({"metric": "spread"}, "unknown uncertainty metric 'spread'; choose one of disagreement"),
    ],
)
def test_select_exemplars_argument_errors_ask_the_model_nothing(kwargs, message):
    model = CannedModel()
    with pytest.raises(StrategyError, match=message):
        _select(model, **kwargs)
    assert model.requests == []


def _write(tmp_path, data, name="annotations.json") -> os.PathLike:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path
