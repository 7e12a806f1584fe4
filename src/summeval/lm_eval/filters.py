"""lm-eval filters of the built-in strategies: the family's answer reading and its reduction
(registered by ``task_dir.register_lm_eval_filters``).

A filter step names its family, e.g. ``{"function": "summeval_answer", "family": "tweetsumm"}``; the
family comes from the plugin registry. Both work on lm-eval's per-doc response lists.
"""

from __future__ import annotations

from lm_eval.api.filter import Filter

from prompt_strategies.strategy import ANSWER_FILTER, REDUCE_FILTER


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
        return [[self.family.read_answer(r) for r in doc_resps] for doc_resps in resps]


class FamilyReduceFilter(_FamilyFilter):
    """Each doc's answers → a one-item list with the family's reduction (vote, consensus)."""

    NAME = REDUCE_FILTER

    def apply(self, resps, docs):
        return [[self.family.reduce(list(doc_resps))] for doc_resps in resps]
