"""When self-consistency stops sampling an item: the stopping rules of ``self_consistency``'s ``stop``
option. Pure functions of the answers read so far; ``summeval.lm_eval.early_stop`` draws the rounds.

Samples are drawn in rounds, each round of every unfinished item in one call to the model; after each
round the rule looks at the item's answers (read by the family's strict reader; an unread answer counts
as one more value) and says whether the item is done. An item never takes more than ``samples`` (K).

- ``fixed``: K samples, always (lm-eval's ``repeats: K``; the default).
- ``window``: rounds of w (``window``); a family that votes (reduction ``maj``) stops an item when the
  last w answers agree (Early-Stopping Self-Consistency, Li et al. 2024); a family that reduces its
  samples otherwise (TweetSumm's consensus summary) stops when the reduction over every sample so far is
  the one it was before the last w were drawn.
- ``beta``: rounds of ``round_size``; stops when the posterior probability that the leading answer is
  the true majority, Beta(v1 + 1, v2 + 1) above 1/2 for the two largest vote counts v1 and v2, reaches
  ``threshold`` (Adaptive-Consistency, Aggarwal et al. 2023). Only for a family that votes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

STOPS = ("fixed", "window", "beta")
"""The stopping rules, by name (``stop:``)."""
VOTING_REDUCTION = "maj"
"""The reduction of a family whose samples vote (``TaskFamily.reduction``)."""


class StoppingError(ValueError):
    """A stopping rule that cannot apply: named, with what would be right."""


def leader_probability(answers: Sequence[Any]) -> float:
    """The posterior probability that the most frequent of ``answers`` is the majority of the model's
    answer distribution against the runner-up: P(p1 > p2) under Beta(v1 + 1, v2 + 1), v1 and v2 the two
    largest counts (v2 = 0 with one distinct answer). 0 for no answers."""
    from scipy import stats

    if not answers:
        return 0.0
    counts = sorted(Counter(repr(a) for a in answers).values(), reverse=True) + [0]
    return float(stats.beta.sf(0.5, counts[0] + 1, counts[1] + 1))


@dataclass(frozen=True)
class StoppingRule:
    """One item's stopping rule: ``stop`` (one of ``STOPS``), at most ``most`` samples."""

    stop: str
    most: int
    window: int = 5
    threshold: float = 0.95
    round_size: int = 4
    votes: bool = True
    """Whether the family's samples vote (else the rule watches the family's reduction)."""

    def __post_init__(self) -> None:
        if self.stop not in STOPS:
            raise StoppingError(f"stop is {self.stop!r}; it must be one of {', '.join(STOPS)}")
        if self.stop == "beta" and not self.votes:
            raise StoppingError(
                "stop: beta needs a family whose samples vote (reduction maj); this family reduces them "
                "otherwise (e.g. a consensus summary): use stop: window"
            )
        if self.round < 1 or self.most < 1:
            raise StoppingError(f"a round of {self.round} of at most {self.most} samples draws nothing")

    @property
    def adaptive(self) -> bool:
        """Whether the rule may stop before ``most`` samples."""
        return self.stop != "fixed"

    @property
    def round(self) -> int:
        """Samples drawn per round (all of them at once under ``fixed``)."""
        return {"fixed": self.most, "window": self.window, "beta": self.round_size}[self.stop]

    def next_round(self, drawn: int) -> int:
        """How many samples the next round draws after ``drawn`` (0: the item has its ``most``)."""
        return max(0, min(self.round, self.most - drawn))

    def done(self, answers: Sequence[Any], reduce: Callable[[list[Any]], Any] | None = None) -> bool:
        """Whether an item whose samples so far read as ``answers`` stops here. ``reduce`` is the
        family's reduction, which ``window`` watches in a family that does not vote."""
        if len(answers) >= self.most:
            return True
        if self.stop == "fixed":
            return False
        if self.stop == "beta":
            return leader_probability(answers) >= self.threshold
        if self.votes:
            last = answers[-self.window :]
            return len(answers) >= self.window and len({repr(a) for a in last}) == 1
        if reduce is None:
            raise StoppingError("stop: window on a family that does not vote needs its reduction")
        if len(answers) < 2 * self.window:
            return False
        return repr(reduce(list(answers))) == repr(reduce(list(answers[: -self.window])))


def draw_in_rounds(rule: StoppingRule, draw: Callable[[int], Sequence[Any]], reduce=None) -> list[Any]:
    """The answers of one item drawn round by round (``draw(k)`` draws k more answers) until ``rule``
    stops it: what ``summeval.lm_eval.early_stop`` does for every item at once, for one item (tests,
    benches)."""
    answers: list[Any] = []
    while True:
        size = rule.next_round(len(answers))
        if size == 0:
            return answers
        answers.extend(draw(size))
        if rule.done(answers, reduce):
            return answers
