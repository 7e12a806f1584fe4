"""Answer extraction and the vote (model text → plausible, implausible or invalid), and the family filters."""

from __future__ import annotations

import pytest

from summeval_tasks.extraction import (
    IMPLAUSIBLE,
    INVALID,
    PLAUSIBLE,
    classify_span,
    extract_answer,
    majority_answer,
)

READINGS = [
    # bare labels, any case, any punctuation
    ("Implausible.", IMPLAUSIBLE),
    ("implausible", IMPLAUSIBLE),
    ("Plausible", PLAUSIBLE),
    ("IMPLAUSIBLE!!", IMPLAUSIBLE),
    ("A: implausible", IMPLAUSIBLE),
    ("The statement is implausible.", IMPLAUSIBLE),
    # negation, hedged or not
    ("it is not plausible", IMPLAUSIBLE),
    ("It isn't plausible.", IMPLAUSIBLE),
    ("It is not at all plausible", IMPLAUSIBLE),
    ("not very plausible", IMPLAUSIBLE),
    ("It is not so plausible.", IMPLAUSIBLE),
    ("not implausible", PLAUSIBLE),
    ("It doesn't seem plausible.", IMPLAUSIBLE),
    ("That can't be plausible", IMPLAUSIBLE),
    ("It does not seem to be plausible.", IMPLAUSIBLE),
    ("This wouldn't be considered plausible.", IMPLAUSIBLE),
    ("I don't think it's plausible.", INVALID),  # words between: no clear verdict, never "plausible"
    ("So the answer is not plausible or implausible.", INVALID),
    ("The answer is not implausible", PLAUSIBLE),
    # the question restated names no label
    ("plausible or implausible?", INVALID),
    ("Plausible/implausible?", INVALID),
    ("Implausible / plausible", INVALID),
    ("So is it plausible or implausible?", INVALID),
    # ... but an answer after it does
    ("Plausible/implausible? The answer is plausible", PLAUSIBLE),
    # nothing to read
    ("", INVALID),
    (None, INVALID),
    ("   \n  ", INVALID),
    ("I am not sure.", INVALID),
    ("Nope", INVALID),
    ("unplausible", INVALID),
    # both labels and no conclusion
    ("plausible, implausible", INVALID),
    ("not plausible, not implausible", INVALID),
    # chain of thought weighs both labels, then concludes: the conclusion decides
    (
        "At first this sounds plausible, since Crosby is famous. But Crosby plays hockey and a "
        "touchdown is part of football, which makes it implausible.\nSo the answer is implausible.",
        IMPLAUSIBLE,
    ),
    (
        "Some would call it implausible. Kershaw is a baseball pitcher and curveballs are part of "
        "baseball. So the answer is plausible.",
        PLAUSIBLE,
    ),
    ("It sounds plausible. Therefore, implausible.", IMPLAUSIBLE),
    ("The answer is: **implausible**", IMPLAUSIBLE),
    ('The answer is "plausible".', PLAUSIBLE),
    # the last conclusion wins
    ("plausible\nBut actually the answer is implausible", IMPLAUSIBLE),
    # first line answers, the rest rambles on
    ("Yes\nB: No", PLAUSIBLE),
    ("No\nQ: Yes", IMPLAUSIBLE),
    ("Implausible.\nQ: Is the statement plausible?\nA: plausible", IMPLAUSIBLE),
    # ... but lines that contradict each other, with no conclusion, hold no single verdict
    ("plausible\nimplausible\nplausible or implausible", INVALID),
    # yes / no only when they open the answer
    ("Yes.", PLAUSIBLE),
    ("No, it is plausible.", PLAUSIBLE),  # a stated label beats an opening yes/no
    ("Yes, but it is implausible", IMPLAUSIBLE),
    ("No, it is not.", IMPLAUSIBLE),
    ("I would say yes", INVALID),
]


@pytest.mark.parametrize(("text", "expected"), READINGS)
def test_extract_answer_reads(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "implausible",
        "Implausible",
        "implausible.",
        "(implausible)",
        "'implausible'",
        "**Implausible**",
        "The answer is implausible",
        "So the answer is implausible.",
        "That is implausible because he plays golf",
        "implausible - he is a tennis player",
        "It is highly implausible.",
        "Totally implausible!",
        "answer: implausible",
        "Therefore: implausible",
        "It’s implausible",
        "IMPLAUSIBLE",
        "implausible\n\nplausible?",
        "Statement: implausible",
    ],
)
def test_implausible_is_never_read_as_plausible(text):
    assert extract_answer(text) == IMPLAUSIBLE


def test_classify_span_handles_short_spans():
    assert classify_span("plausible") == PLAUSIBLE
    assert classify_span("implausible") == IMPLAUSIBLE
    assert classify_span("yes, plausible") == PLAUSIBLE
    assert classify_span("plausible or implausible") == INVALID
    assert classify_span("") == INVALID


def test_majority_answer_takes_the_clear_majority():
    votes = [IMPLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE, IMPLAUSIBLE, PLAUSIBLE]
    assert majority_answer(votes) == IMPLAUSIBLE


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([PLAUSIBLE, IMPLAUSIBLE], PLAUSIBLE),
        ([IMPLAUSIBLE, PLAUSIBLE], IMPLAUSIBLE),
        ([IMPLAUSIBLE, PLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE], IMPLAUSIBLE),
        ([INVALID, INVALID, PLAUSIBLE, IMPLAUSIBLE], PLAUSIBLE),
    ],
)
def test_a_tie_goes_to_the_tied_answer_sampled_first(votes, expected):
    assert {majority_answer(votes) for _ in range(20)} == {expected}


def test_invalid_votes_are_ignored_unless_every_vote_is_invalid():
    assert majority_answer([INVALID, INVALID, INVALID, PLAUSIBLE]) == PLAUSIBLE
    assert majority_answer([INVALID, IMPLAUSIBLE, INVALID, PLAUSIBLE, IMPLAUSIBLE]) == IMPLAUSIBLE
    assert majority_answer([INVALID, INVALID]) == INVALID
    assert majority_answer([]) == INVALID


@pytest.fixture(scope="module")
def lm_eval_filter():
    """Build a registered lm-eval filter by name for a family, as lm-eval's filter pipeline does."""
    from lm_eval.api.registry import get_filter

    from summeval.lm_eval.task_dir import register_lm_eval_filters

    registered = register_lm_eval_filters()
    assert {"summeval_answer", "summeval_reduce"} <= set(registered)
    return lambda name, family="sports_understanding": get_filter(name)(family=family)


def test_answer_filter_maps_every_response_of_every_doc(lm_eval_filter):
    responses = [
        ["So the answer is implausible.", "Plausible.", ""],
        ["not implausible"],
        ["plausible or implausible?", "Yes\nB: No"],
    ]
    assert lm_eval_filter("summeval_answer").apply(responses, [{}, {}, {}]) == [
        [IMPLAUSIBLE, PLAUSIBLE, INVALID],
        [PLAUSIBLE],
        [INVALID, PLAUSIBLE],
    ]


def test_reduce_filter_leaves_one_vote_per_doc(lm_eval_filter):
    answers = [
        [PLAUSIBLE, IMPLAUSIBLE, IMPLAUSIBLE],
        [INVALID, INVALID],
        [IMPLAUSIBLE, PLAUSIBLE],
        [INVALID, PLAUSIBLE, INVALID],
    ]
    assert lm_eval_filter("summeval_reduce").apply(answers, [{}] * 4) == [
        [IMPLAUSIBLE],
        [INVALID],
        [IMPLAUSIBLE],
        [PLAUSIBLE],
    ]


def test_filters_chain_like_the_self_consistency_pipeline(lm_eval_filter):
    samples = [["So the answer is plausible.", "The answer is implausible.", "Implausible.", "hmm"]]
    answers = lm_eval_filter("summeval_answer").apply(samples, [{}])
    assert lm_eval_filter("summeval_reduce").apply(answers, [{}]) == [[IMPLAUSIBLE]]


def test_the_sports_family_reads_and_votes_with_extraction():
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    for text, expected in READINGS:
        assert family.read_answer(text) == expected
        assert family.read_answer(family.read_answer(text)) == expected  # reading is idempotent
    votes = [INVALID, IMPLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE]
    assert family.reduce(votes) == majority_answer(votes)


@pytest.mark.parametrize("name", ["summeval_answer", "summeval_reduce"])
def test_a_filter_without_a_family_is_a_clear_error(name):
    from lm_eval.api.registry import get_filter

    from summeval.lm_eval.task_dir import register_lm_eval_filters

    register_lm_eval_filters()
    with pytest.raises(ValueError, match=f"the {name} filter needs a family"):
        get_filter(name)()


def test_a_filter_naming_an_unknown_family_is_a_clear_error():
    from lm_eval.api.registry import get_filter

    from prompt_strategies.strategy import StrategyError
    from summeval.lm_eval.task_dir import register_lm_eval_filters

    register_lm_eval_filters()
    with pytest.raises(StrategyError, match="unknown task family 'nonsense'; known families: "):
        get_filter("summeval_answer")(family="nonsense")
