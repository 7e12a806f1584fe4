"""The built-in TweetSumm family, registered through the same hook as any third-party family.

``tweetsumm``: TweetSumm dialogue summarization; answers are summaries, scored by multi-reference ROUGE
(``rouge``); K samples reduce to a consensus summary; uncertainty is 1 - mean pairwise ROUGE-L.
"""

from __future__ import annotations

from collections.abc import Sequence

from summeval_tasks.contract import TaskFamily, hookimpl


class TweetSumm(TaskFamily):
    name = "tweetsumm"
    description = "TweetSumm dialogue summarization (customer support), multi-reference ROUGE."
    eval_split = "test"
    metrics = {"rouge1": True, "rouge2": True, "rougeL": True, "rougeLsum": True}
    primary_metric = "rouge1"
    # No bare "\n\n": small models often open a summary with a blank line.
    answer_stop = ("###", "\nCustomer:", "\nAgent:", "Below is a conversation", "\n\n\n")
    reasoning_stop = answer_stop
    answer_tokens = 64
    reasoning_tokens = 64
    answer_filter = "none"  # lm-eval's name for one plain answer, as tweetsumm_zero reported before families
    reduction = "consensus"
    uncertainty_metrics = ("disagreement",)
    data_key = "tweetsumm_data"
    exemplar_fields = ("id", "conversation", "summary")

    def load(self, metadata):
        from summeval_tasks.tweetsumm.source import load_dialogs

        dialogs = load_dialogs(metadata.get(self.data_key))
        return {split: [d.to_doc() for d in items] for split, items in dialogs.items()}

    def source(self, metadata):
        from summeval_tasks.tweetsumm.source import resolve_source

        return resolve_source(metadata.get(self.data_key))

    def question(self, doc):
        from summeval_tasks.tweetsumm.prompts import zero_shot_block

        return zero_shot_block(doc["conversation"])

    def answer_text(self, doc):
        return doc["summary"]

    def instruction_prompt(self, doc):
        from summeval_tasks.tweetsumm.prompts import instruction_prompt

        return instruction_prompt(doc["conversation"])

    def same_item(self, a, b):
        return super().same_item(a, b) or (
            bool(a.get("conversation")) and a.get("conversation") == b.get("conversation")
        )

    def read_answer(self, text):
        """The summary: the text up to the first stop sequence (lm-eval usually cut it there), stripped."""
        text = str(text or "")
        for stop in self.answer_stop:
            text = text.split(stop, 1)[0]
        return text.strip()

    def score(self, doc, answer):
        from summeval_tasks.tweetsumm.rouge import rouge_scores

        return rouge_scores(answer, doc["references"])

    def reduce(self, answers):
        from summeval_tasks.tweetsumm.rouge import consensus_summary

        return consensus_summary(list(answers))

    def uncertainty(self, answers, metric):
        if metric != "disagreement":
            return super().uncertainty(answers, metric)
        from summeval_tasks.tweetsumm.rouge import summary_disagreement

        return summary_disagreement(list(answers))

    def describe(self, docs):
        return "\n".join(
            [f"{self.name}:", *(f"{split}: {len(items)} dialogs" for split, items in docs.items())]
        )


TWEETSUMM = TweetSumm()


@hookimpl
def summeval_task_families() -> Sequence[TaskFamily]:
    return [TWEETSUMM]
