"""Each family's uncertainty metrics, which active-prompt ranks questions by: sports_understanding's
disagreement, entropy and variance over K read answers (invalid counted), tweetsumm's disagreement as one
minus the mean pairwise ROUGE-L of K summaries; hand-computed values."""

from __future__ import annotations

import math

import pytest
from support import SPORTS, TWEETSUMM

from prompt_strategies import FamilyError
from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE

LN2 = math.log(2)


def uncertainty(answers, metric: str) -> float:
    """sports_understanding's uncertainty of one question's read answers."""
    return SPORTS.uncertainty(answers, metric)


# ----------------------------------------------------------------------------- uncertainty


def test_disagreement_is_distinct_answers_over_k_counting_invalid():
    assert uncertainty([PLAUSIBLE] * 5, "disagreement") == pytest.approx(0.2)
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE, PLAUSIBLE, PLAUSIBLE], "disagreement") == pytest.approx(0.5)
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE, INVALID], "disagreement") == pytest.approx(1.0)
    assert uncertainty([INVALID, INVALID], "disagreement") == pytest.approx(0.5)


def test_entropy_uses_the_natural_log_and_counts_invalid():
    assert uncertainty([PLAUSIBLE] * 3, "entropy") == 0.0
    assert math.copysign(1, uncertainty([PLAUSIBLE] * 3, "entropy")) == 1  # never -0.0
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE], "entropy") == pytest.approx(LN2)
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE, INVALID], "entropy") == pytest.approx(math.log(3))
    # p = (1/2, 1/4, 1/4): 1/2 ln 2 + 2 * 1/4 ln 4 = 1.5 ln 2
    assert uncertainty([PLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE, INVALID], "entropy") == pytest.approx(1.5 * LN2)


def test_variance_is_p_one_minus_p_over_valid_answers():
    assert uncertainty([PLAUSIBLE] * 4, "variance") == 0.0
    assert uncertainty([IMPLAUSIBLE] * 4, "variance") == 0.0
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE], "variance") == pytest.approx(0.25)
    # invalid answers are left out: p = 1/3 among the three valid ones
    assert uncertainty([PLAUSIBLE, IMPLAUSIBLE, IMPLAUSIBLE, INVALID, INVALID], "variance") == pytest.approx(
        2 / 9
    )
    assert uncertainty([PLAUSIBLE, INVALID, INVALID], "variance") == 0.0


def test_variance_of_only_invalid_answers_is_the_maximum():
    assert uncertainty([INVALID] * 3, "variance") == 0.25


def test_unknown_metric_and_no_answers_are_errors():
    with pytest.raises(FamilyError, match="unknown uncertainty metric 'spread'.*disagreement, entropy"):
        uncertainty([PLAUSIBLE], "spread")
    with pytest.raises(FamilyError, match="no answers"):
        uncertainty([], "entropy")


def test_sports_metrics_are_the_familys_uncertainty_metrics():
    assert tuple(SPORTS.uncertainty_metrics) == ("disagreement", "entropy", "variance")
    assert tuple(TWEETSUMM.uncertainty_metrics) == ("disagreement",)


# ROUGE-L (stemmed, lower-cased) between these two: LCS "the agent the order" = 4 of 5 tokens each, F = 0.8.
AGREEING = ["The agent fixed the order.", "the agent refunded the order"]
# No token in common: ROUGE-L 0.
DISJOINT = ["Hello world.", "Refund issued today."]


def test_summary_disagreement_is_one_minus_mean_pairwise_rouge_l():
    assert TWEETSUMM.uncertainty(["Same summary here."] * 3, "disagreement") == pytest.approx(0.0)
    assert TWEETSUMM.uncertainty(["Only one summary."], "disagreement") == 0.0
    assert TWEETSUMM.uncertainty(AGREEING, "disagreement") == pytest.approx(0.2)
    assert TWEETSUMM.uncertainty(DISJOINT, "disagreement") == pytest.approx(1.0)
    # a, b, a: pairs (a, b) 0.8, (a, a) 1, (b, a) 0.8 -> 1 - 2.6 / 3
    three = [AGREEING[0], AGREEING[1], AGREEING[0]]
    assert TWEETSUMM.uncertainty(three, "disagreement") == pytest.approx(1 - 2.6 / 3)


def test_tweetsumm_has_no_entropy_or_variance():
    for metric in ("entropy", "variance"):
        message = f"unknown uncertainty metric '{metric}'; choose one of disagreement"
        with pytest.raises(FamilyError, match=message):
            TWEETSUMM.uncertainty(AGREEING, metric)
