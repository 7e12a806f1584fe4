"""A third-party task family, written as an outside package would write one (not a test module).

``parity``: "Is 14 an even number?" → yes / no. Its data is made here (no files, no hub): numbers
0..59, train = multiples of 3 plus one, evaluated = the rest. It only implements the family contract;
every built-in strategy that applies to it (answer_only, answer_only_mc, fewshot, cot, cot_fewshot,
self_consistency, active_prompt) becomes an lm-eval task ``parity_<strategy>`` with no YAML written by
its author. Loaded with ``SUMMEVAL_PLUGINS=family_plugin_example`` and this folder on ``PYTHONPATH``;
an installed package would declare it in the ``summeval.families`` entry-point group instead.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from prompt_strategies import TaskFamily, hookimpl

EXEMPLARS = Path(__file__).resolve().parent / "data" / "parity_cot_exemplars.json"
_YES_NO = re.compile(r"\b(yes|no)\b")


def number_doc(n: int) -> dict:
    return {"id": f"n{n:02d}", "number": n, "answer": "yes" if n % 2 == 0 else "no"}


class Parity(TaskFamily):
    name = "parity"
    description = "Is the number even? (yes / no), made up for the plugin tests."
    eval_split = "test"
    metrics = {"acc": True}
    primary_metric = "acc"
    choices = ("yes", "no")
    supports_reasoning = True
    answer_stop = ("\n",)
    reasoning_stop = ("\nQ:", "\n\n")
    answer_tokens = 4
    reasoning_tokens = 24
    cot_exemplars_file = str(EXEMPLARS)
    exemplar_fields = ("id", "number", "answer")

    def load(self, metadata):
        return {
            "train": [number_doc(n) for n in range(60) if n % 3 == 1],
            "test": [number_doc(n) for n in range(60) if n % 3 != 1],
        }

    def question(self, doc):
        return f"Q: Is {doc['number']} an even number?\nA:"

    def answer_text(self, doc):
        return doc["answer"]

    def read_answer(self, text):
        """The last yes / no in the text, or "" when there is none."""
        found = _YES_NO.findall(str(text or "").lower())
        return found[-1] if found else ""

    def score(self, doc, answer):
        return {"acc": float(answer == doc["answer"])}

    def reduce(self, answers):
        valid = [a for a in answers if a]
        return Counter(valid).most_common(1)[0][0] if valid else ""


@hookimpl
def summeval_task_families():
    return [Parity()]
