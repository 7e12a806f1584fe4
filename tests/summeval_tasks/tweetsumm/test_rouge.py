"""ROUGE for TweetSumm: multi-reference scores, and the reference-free consensus of K samples."""

import pytest

from prompt_strategies.registry import get_family
from summeval_tasks.tweetsumm.rouge import (
    consensus_index,
    consensus_summary,
    pairwise_rouge_l,
    rouge_scores,
    split_sentences,
    summary_disagreement,
)


def test_single_reference_hand_computed():
    # prediction: the cat sat on the mat / reference: the cat was on the mat
    # unigrams: 5 of 6 shared -> P = R = F = 5/6; bigrams: the-cat, on-the, the-mat -> 3/5
    # LCS: the cat on the mat -> 5 -> 5/6
    scores = rouge_scores("the cat sat on the mat", ["the cat was on the mat"])
    assert scores["rouge1"] == pytest.approx(5 / 6)
    assert scores["rouge2"] == pytest.approx(3 / 5)
    assert scores["rougeL"] == pytest.approx(5 / 6)
    assert scores["rougeLsum"] == pytest.approx(5 / 6)


def test_precision_recall_asymmetry():
    # prediction 2 tokens both in the 4-token reference: P = 1, R = 1/2, F = 2/3
    scores = rouge_scores("agent apologised", ["the agent apologised quickly"])
    assert scores["rouge1"] == pytest.approx(2 / 3)
    assert scores["rouge2"] == pytest.approx(2 * 1 * (1 / 3) / (1 + 1 / 3))  # P=1/1, R=1/3


def test_stemming_matches_inflections():
    assert rouge_scores("customers complained", ["customer complains"])["rouge1"] == pytest.approx(1.0)


def test_multi_reference_takes_best_reference_per_type():
    prediction = "the cat sat on the mat"
    references = ["a dog barked loudly", "the cat was on the mat"]
    assert rouge_scores(prediction, references) == rouge_scores(prediction, [references[1]])
    assert rouge_scores(prediction, references[::-1]) == rouge_scores(prediction, references)


def test_multi_reference_best_is_chosen_per_rouge_type():
    # ref A shares 3 unigrams in scrambled order (R1 high, R2 zero); ref B shares one bigram.
    prediction = "alpha beta gamma delta"
    ref_a = "delta gamma beta"
    ref_b = "alpha beta zeta eta theta iota"
    both = rouge_scores(prediction, [ref_a, ref_b])
    assert both["rouge1"] == pytest.approx(rouge_scores(prediction, [ref_a])["rouge1"])
    assert both["rouge2"] == pytest.approx(rouge_scores(prediction, [ref_b])["rouge2"])
    assert both["rouge2"] > 0


def test_rouge_lsum_uses_sentence_split():
    assert split_sentences("Customer is upset. Agent helps!  Done?") == (
        "Customer is upset.\nAgent helps!\nDone?"
    )
    # two sentences in swapped order: Lsum matches each sentence, L only the longer LCS
    scores = rouge_scores(
        "agent offers refund. customer lost bag.", ["customer lost bag. agent offers refund."]
    )
    assert scores["rougeLsum"] == pytest.approx(1.0)
    assert scores["rougeL"] < 1.0


def test_empty_prediction_scores_zero():
    assert rouge_scores("", ["anything"]) == {k: 0.0 for k in ("rouge1", "rouge2", "rougeL", "rougeLsum")}


def test_no_reference_is_an_error():
    with pytest.raises(ValueError, match="at least one reference"):
        rouge_scores("x", [])


def test_the_family_scores_the_read_generation_against_doc_references():
    family = get_family("tweetsumm")
    doc = {"references": ["a dog barked loudly", "the cat was on the mat"]}
    answer = family.read_answer("the cat sat on the mat\nCustomer: and more")
    assert answer == "the cat sat on the mat"  # cut at the family's stop sequence
    assert family.score(doc, answer)["rouge1"] == pytest.approx(5 / 6)
    assert set(family.score(doc, answer)) == set(family.metrics)


def test_pairwise_rouge_l_is_symmetric_with_ones_on_the_diagonal():
    texts = ["the cat sat on the mat", "the cat was on the mat", "a dog barked"]
    matrix = pairwise_rouge_l(texts)
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert all(matrix[i][j] == matrix[j][i] for i in range(3) for j in range(3))
    assert matrix[0][1] == pytest.approx(5 / 6)
    assert matrix[0][2] == 0.0


def test_consensus_is_the_summary_closest_to_the_others():
    texts = ["dogs barked loudly", "the cat sat on the mat", "the cat was on the mat", "the cat sat on a mat"]
    assert consensus_index(texts) == 1
    assert consensus_summary(texts) == "the cat sat on the mat"
    assert get_family("tweetsumm").reduce(texts) == "the cat sat on the mat"


def test_consensus_ties_go_to_the_earliest_and_one_text_is_its_own():
    assert consensus_index(["same words", "same words"]) == 0
    assert consensus_index(["alpha", "beta", "gamma"]) == 0
    assert consensus_summary(["only one"]) == "only one"
    with pytest.raises(ValueError, match="at least one text"):
        consensus_index([])


def test_summary_disagreement_is_one_minus_mean_pairwise_rouge_l():
    assert summary_disagreement(["the cat sat", "the cat sat"]) == pytest.approx(0.0)
    assert summary_disagreement(["alpha beta", "gamma delta"]) == pytest.approx(1.0)
    assert summary_disagreement(["just one"]) == 0.0
    texts = ["the cat sat on the mat", "the cat was on the mat", "a dog barked"]
    assert summary_disagreement(texts) == pytest.approx(1 - (5 / 6 + 0 + 0) / 3)
    family = get_family("tweetsumm")
    assert family.uncertainty(texts, "disagreement") == pytest.approx(summary_disagreement(texts))
