"""The built-in sports_understanding family, registered through the same hook as any third-party family.

``sports_understanding``: BIG-bench plausibility; answers are labels read by ``answers``, scored by
accuracy and invalid rate; K samples reduce by majority vote.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from summeval_tasks.contract import FamilyError, TaskFamily, hookimpl


class SportsUnderstanding(TaskFamily):
    name = "sports_understanding"
    description = "BIG-bench sports_understanding: is a made-up sports statement plausible?"
    eval_split = "validation"
    metrics = {"acc": True, "invalid": False}
    primary_metric = "acc"
    supports_reasoning = True
    answer_stop = ("\n\n", "\nQ:")
    # Chain-of-thought text runs over several lines; a new question or a long gap ends it.
    reasoning_stop = ("\nQ:", "\n\n\n", "</s>", "<|im_end|>")
    answer_tokens = 32
    reasoning_tokens = 128
    reduction = "maj"
    uncertainty_metrics = ("disagreement", "entropy", "variance")
    data_key = "sports_data"
    cot_exemplars_file = "cot_fewshot_exemplars.json"
    exemplar_fields = ("id", "input", "label")

    @property
    def choices(self):
        from summeval_tasks.sports.answers import LABELS

        return LABELS

    @property
    def answer_words(self):
        # BIG-bench's own labels, and the yes/no that lm-eval's bbh prompts teach: a model may state a
        # verdict in either form, and " implausible" is several tokens where " plausible" is one (scored
        # alone, the shorter label wins on length; measured on SmolLM2, it won every item).
        from summeval_tasks.sports.answers import IMPLAUSIBLE, PLAUSIBLE

        return {PLAUSIBLE: (PLAUSIBLE, "yes"), IMPLAUSIBLE: (IMPLAUSIBLE, "no")}

    def load(self, metadata):
        from summeval_tasks.sports.source import load_statements

        statements = load_statements(metadata.get(self.data_key))
        return {split: [s.to_doc() for s in items] for split, items in statements.items()}

    def source(self, metadata):
        from summeval_tasks.sports.source import resolve_source

        return resolve_source(metadata.get(self.data_key))

    def describe_source(self, metadata):
        from summeval_tasks.sports.source import describe_source

        return describe_source(metadata.get(self.data_key))

    def exemplar_dir(self):
        from summeval_tasks import task_yamls_dir

        return Path(task_yamls_dir()) / self.name

    def question(self, doc):
        return f"Q: {doc['input']}\nA:"

    def direct_question(self, doc):
        return f"Q: {doc['input']}\nAnswer plausible or implausible.\nA:"

    def chat_direct_question(self, doc):
        # no "Q:"/"A:" scaffold, which chat models answer with "A:" or echo; the label asked for as one word
        return f"{doc['input']}\nAnswer with one word: plausible or implausible."

    def answer_text(self, doc):
        return doc["label"]

    def same_item(self, a, b):
        if super().same_item(a, b):
            return True
        for key in ("statement", "input"):
            if a.get(key) and b.get(key) and _normalise(a[key]) == _normalise(b[key]):
                return True
        return False

    def check_exemplar(self, entry, where):
        from summeval_tasks.sports.answers import LABELS, extract_answer

        super().check_exemplar(entry, where)
        if entry["label"] not in LABELS:
            raise FamilyError(f"{where}: label {entry['label']!r} is not one of {', '.join(LABELS)}")
        rationale = entry.get("rationale")
        if rationale is not None:
            if not isinstance(rationale, str) or not rationale.strip():
                raise FamilyError(f"{where} has an empty rationale")
            concluded = extract_answer(rationale)
            if concluded != entry["label"]:
                raise FamilyError(
                    f"{where}: the rationale concludes {concluded!r} but the label is {entry['label']!r}; "
                    f'end it with "So the answer is {entry["label"]}."'
                )

    def read_answer(self, text):
        from summeval_tasks.sports.answers import extract_answer

        return extract_answer(None if text is None else str(text))

    def score(self, doc, answer):
        from summeval_tasks.sports.answers import INVALID

        return {"acc": float(answer == doc["label"]), "invalid": float(answer == INVALID)}

    def reduce(self, answers):
        from summeval_tasks.sports.answers import majority_answer

        return majority_answer(list(answers))

    def uncertainty(self, answers, metric):
        """``disagreement``: distinct answers / k (``invalid`` counts as an answer); ``entropy``: of the
        answer distribution (natural log, ``invalid`` included); ``variance``: p(1 - p) with p the share of
        ``plausible`` among valid answers (0.25, the maximum, when none is valid)."""
        from summeval_tasks.sports.answers import INVALID, PLAUSIBLE

        if not answers:
            raise FamilyError(f"{self.name}: the uncertainty of no answers is undefined")
        if metric == "disagreement":
            return len(set(answers)) / len(answers)
        if metric == "entropy":
            total = len(answers)
            return -sum(c / total * math.log(c / total) for c in Counter(answers).values()) + 0.0
        if metric == "variance":
            valid = [a for a in answers if a != INVALID]
            if not valid:
                return 0.25
            p = sum(a == PLAUSIBLE for a in valid) / len(valid)
            return p * (1 - p)
        return super().uncertainty(answers, metric)

    def describe(self, docs):
        from summeval_tasks.sports.answers import LABELS

        lines = [f"{self.name}: {sum(len(items) for items in docs.values())} statements"]
        for split, items in docs.items():
            counts = Counter(d["label"] for d in items)
            lines.append(f"  {split}: {len(items)} ({', '.join(f'{counts.get(x, 0)} {x}' for x in LABELS)})")
        return "\n".join(lines)


def _normalise(text: Any) -> str:
    return " ".join(str(text).lower().split())


SPORTS_UNDERSTANDING = SportsUnderstanding()


@hookimpl
def summeval_task_families() -> Sequence[TaskFamily]:
    return [SPORTS_UNDERSTANDING]
