import pytest

from summeval_tasks.rouge import process_results, rouge_scores, split_sentences


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


def test_process_results_scores_first_generation_against_doc_references():
    doc = {"references": ["a dog barked loudly", "the cat was on the mat"]}
    assert process_results(doc, ["the cat sat on the mat"])["rouge1"] == pytest.approx(5 / 6)
