"""Self-consistency's stopping rules (``prompt_strategies.stopping``) on hand-built answer sequences:
where each rule stops, and what it refuses."""

from __future__ import annotations

import pytest

from prompt_strategies import StrategyError
from prompt_strategies.registry import get_family, get_strategy
from prompt_strategies.stopping import StoppingError, StoppingRule, draw_in_rounds, leader_probability

P, N, X = "plausible", "implausible", "invalid"  # N: the "not plausible" label


def _stops_at(rule: StoppingRule, sequence: list, reduce=None) -> int:
    """How many of ``sequence`` (the answers the model would give, in order) the rule draws."""
    source = iter(sequence)
    return len(draw_in_rounds(rule, lambda k: [next(source) for _ in range(k)], reduce))


@pytest.mark.parametrize(
    ("sequence", "drawn"),
    [
        ([P] * 20, 5),  # the first window agrees
        ([P, P, P, P, N] + [N] * 15, 10),  # the first window splits, the second agrees
        ([P, N] * 10, 20),  # never five alike in a window: every sample
        ([X] * 20, 5),  # an unread answer is one more value: five unread agree
        ([P, P, N, P, P] + [P, P, P, P, P] + [N] * 10, 10),
    ],
)
def test_window_stops_when_a_round_of_w_agrees(sequence, drawn):
    assert _stops_at(StoppingRule("window", most=20, window=5), sequence) == drawn


def test_window_never_draws_more_than_the_most():
    assert _stops_at(StoppingRule("window", most=7, window=5), [P, N] * 10) == 7  # rounds of 5, then 2


def test_fixed_draws_every_sample_in_one_round():
    rule = StoppingRule("fixed", most=20)
    assert rule.round == 20 and not rule.adaptive
    assert _stops_at(rule, [P] * 20) == 20


def test_leader_probability_is_the_beta_posterior_of_the_two_largest_counts():
    assert leader_probability([P] * 4) == pytest.approx(1 - 0.5**5)  # Beta(5, 1) above 1/2
    assert leader_probability([P, P, P, N]) == pytest.approx(0.8125)  # Beta(4, 2): 1 - (1/32 + 5/32)
    assert leader_probability([P, N, X, P]) == pytest.approx(leader_probability([P, P, N]))  # top two
    assert leader_probability([]) == 0.0


@pytest.mark.parametrize(
    ("sequence", "drawn"),
    [
        ([P] * 20, 4),  # 4 of 4: 0.969 >= 0.95
        ([P, P, P, N] + [P] * 16, 8),  # 3-1 (0.81), then 7-1 (0.98)
        ([P, N] * 10, 20),  # tied throughout
    ],
)
def test_beta_stops_when_the_leader_is_probably_the_majority(sequence, drawn):
    assert _stops_at(StoppingRule("beta", most=20, threshold=0.95, round_size=4), sequence) == drawn


def test_window_on_a_consensus_family_watches_the_consensus():
    tweetsumm = get_family("tweetsumm")
    rule = StoppingRule("window", most=12, window=3, votes=False)
    same = "the customer asked for a refund and the agent sent a link to the form"
    other = "the agent apologised for the late delivery"
    # The consensus of the first 3 is `same`; after 6 it is still `same`: stop at 6.
    assert _stops_at(rule, [same, same, other, same, other, other] + [other] * 6, tweetsumm.reduce) == 6
    # The consensus moves to `other` with the second round, then holds: stop at 9.
    first_round = [same, "the order was late by two days", "please reset the password now"]
    assert tweetsumm.reduce(first_round) != other
    assert tweetsumm.reduce(first_round + [other] * 3) == other
    assert _stops_at(rule, first_round + [other] * 9, tweetsumm.reduce) == 9
    with pytest.raises(StoppingError, match="needs its reduction"):
        rule.done([same] * 6)


def test_beta_is_refused_on_a_family_that_does_not_vote():
    with pytest.raises(StoppingError, match="stop: beta needs a family whose samples vote"):
        StoppingRule("beta", most=10, votes=False)
    strategy = get_strategy("self_consistency")
    options = strategy.options({"self_consistency": {"stop": "beta"}})
    with pytest.raises(StrategyError, match="self_consistency on tweetsumm: stop: beta needs"):
        strategy.lm_eval_settings(get_family("tweetsumm"), options)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"stop": "sometimes"}, "option 'stop' is 'sometimes'; it must be one of fixed, window, beta"),
        ({"threshold": 0.5}, "option 'threshold' is 0.5; it must be above 0.5 and below 1"),
        ({"window": 0}, "option 'window' is 0; it must be at least 1"),
    ],
)
def test_bad_stopping_options_are_one_line(given, message):
    with pytest.raises(StrategyError, match=message):
        get_strategy("self_consistency").options({"self_consistency": given})


def test_the_strategy_gives_its_rule_from_its_options():
    strategy = get_strategy("self_consistency")
    sports = get_family("sports_understanding")
    options = strategy.options({"self_consistency": {"samples": 20, "stop": "window"}})
    rule = strategy.stopping(sports, options)
    assert (rule.stop, rule.most, rule.window, rule.votes, rule.adaptive) == ("window", 20, 5, True, True)
    assert not strategy.stopping(sports, strategy.options({})).adaptive  # fixed stays the default
    assert get_strategy("cot_fewshot").stopping(sports, get_strategy("cot_fewshot").options({})) is None
