"""The family filters as lm-eval builds them from its registry (``summeval.lm_eval.filters``):
``summeval_answer`` reads every response of every doc, ``summeval_reduce`` leaves one vote per doc, the two
chain like the self-consistency pipeline; a filter without a family, or naming an unknown one, is a clear
error."""

from __future__ import annotations

import pytest

from summeval_tasks.sports.answers import (
    IMPLAUSIBLE,
    INVALID,
    PLAUSIBLE,
)


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
