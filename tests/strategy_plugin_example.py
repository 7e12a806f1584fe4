"""A third-party strategy plugin, written as an outside package would write one (not a test module).

It contributes the strategy ``yes_no`` (task ``sports_understanding_yes_no``) and its own lm-eval filter
``yes_no_answer`` through summeval's hooks. The strategy is made for one family: it asks about the
doc's ``statement`` and answers with that family's labels, so ``applies_to`` accepts sports_understanding
only (no ``tweetsumm_yes_no`` task is generated). The tests load it with
``SUMMEVAL_PLUGINS=strategy_plugin_example`` and this folder on ``PYTHONPATH``; an installed package
would declare it in the ``summeval.strategies`` entry-point group instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lm_eval.api.filter import Filter

from prompt_strategies import PromptStrategy, StrategyOptions, hookimpl, option
from summeval_tasks.util.bounds import MAX_GEN_TOKS

FAMILY = "sports_understanding"
YES_NO_FILTER = "yes_no_answer"
_FIRST_WORD = re.compile(r"^\W*(\w+)")


def yes_no_label(text: str | None) -> str:
    """``plausible`` for an answer that starts with yes, ``implausible`` for no, else ``invalid``."""
    first = _FIRST_WORD.match((text or "").lower())
    return {"yes": "plausible", "no": "implausible"}.get(first.group(1) if first else "", "invalid")


class YesNoAnswerFilter(Filter):
    """Each response → the label its opening yes / no stands for (``yes_no_label``)."""

    def apply(self, resps, docs):
        return [[yes_no_label(r) for r in doc_resps] for doc_resps in resps]


@dataclass(frozen=True)
class YesNoOptions(StrategyOptions):
    max_gen_toks: int = option(4, "tokens generated: the yes or no and a little more", MAX_GEN_TOKS)


class YesNo(PromptStrategy):
    name = "yes_no"
    description = "Ask a yes / no question about the statement; greedy; read the first word."
    Options = YesNoOptions

    def applies_to(self, family):
        return family.name == FAMILY

    def prompt(self, doc, family, exemplars, options):
        return f"{doc['statement']}\nAnswer yes or no: is this plausible?\nAnswer:"

    def lm_eval_settings(self, family, options):
        return {
            "output_type": "generate_until",
            "generation_kwargs": {
                "until": ["\n"],
                "do_sample": False,
                "max_gen_toks": options.max_gen_toks,
            },
            "filter_list": [
                {"name": YES_NO_FILTER, "filter": [{"function": YES_NO_FILTER}, {"function": "take_first"}]}
            ],
        }


@hookimpl
def summeval_strategies():
    return [YesNo()]


@hookimpl
def summeval_filters():
    return {YES_NO_FILTER: YesNoAnswerFilter}
