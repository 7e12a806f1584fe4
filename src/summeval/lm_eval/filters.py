"""lm-eval filters of the built-in strategies: the family's answer reading and its reduction
(registered by ``task_dir.register_lm_eval_filters``).

A filter step names its family, e.g. ``{"function": "summeval_answer", "family": "tweetsumm"}``; the
family comes from the plugin registry. Both work on lm-eval's per-doc response lists, and pass on the
two-stage answer an output carries (``two_stage.Verdict``): the reduction reduces the two-stage answers too.
"""

from __future__ import annotations

from lm_eval.api.filter import Filter

from prompt_strategies.strategy import ANSWER_FILTER, REDUCE_FILTER
from summeval.lm_eval.two_stage import Verdict, two_stage_of


class _FamilyFilter(Filter):
    def __init__(self, family: str | None = None, **kwargs) -> None:
        from prompt_strategies.registry import get_family

        super().__init__(**kwargs)
        if not family:
            raise ValueError(f"the {self.NAME} filter needs a family (e.g. family: tweetsumm)")
        self.family = get_family(family)


class FamilyAnswerFilter(_FamilyFilter):
    """Each response → the family's answer (``TaskFamily.read_answer``)."""

    NAME = ANSWER_FILTER

    def apply(self, resps, docs):
        return [[self.read(r) for r in doc_resps] for doc_resps in resps]

    def read(self, response):
        answer = self.family.read_answer(response)
        two = two_stage_of(response)
        return answer if two is None else Verdict(answer, two)


class FamilyReduceFilter(_FamilyFilter):
    """Each doc's answers → a one-item list with the family's reduction (vote, consensus)."""

    NAME = REDUCE_FILTER

    def apply(self, resps, docs):
        return [[self.reduce(list(doc_resps))] for doc_resps in resps]

    def reduce(self, answers):
        answer = self.family.reduce([str(a) if isinstance(a, Verdict) else a for a in answers])
        twos = [two_stage_of(a) for a in answers]
        if not answers or any(t is None for t in twos):
            return answer
        return Verdict(answer, self.family.reduce(twos))
