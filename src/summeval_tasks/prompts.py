"""TweetSumm prompts: the one place where the study's prompt formats are written down.

Each function maps an lm-eval doc (see ``summeval_tasks.tweetsumm.Dialog.to_doc``) to the prompt
text; task YAMLs reach them through ``doc_to_text: !function``. The instruction format is also
the fine-tuning format (the doc's ``text`` field), so training and evaluation cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

ZERO_SHOT_INSTRUCTION = (
    "Below is a conversation between a human and an AI agent. Write a summary of the conversation."
)
FINETUNE_INSTRUCTION = (
    "Below is a conversation between a human and an agent. Write a summary of the conversation."
)


def zero_shot_block(conversation: str, summary: str | None = None) -> str:
    """The study's zero-shot block; with ``summary`` it is a worked exemplar."""
    block = f"{ZERO_SHOT_INSTRUCTION}\n\n{conversation}\n\nSummary:"
    return block if summary is None else f"{block} {summary}"


def instruction_prompt(conversation: str, summary: str | None = None) -> str:
    """The instruction (fine-tuning) format; with ``summary`` it is a training text."""
    prompt = f"### Instruction:\n{FINETUNE_INSTRUCTION}\n\n### Input:\n{conversation}\n\n### Output:\n"
    return prompt if summary is None else prompt + summary


def zero_shot_text(doc: Mapping) -> str:
    """``doc_to_text`` of ``tweetsumm_zero``."""
    return zero_shot_block(doc["conversation"])


def one_shot_text(doc: Mapping) -> str:
    """``doc_to_text`` of ``tweetsumm_one``: one train exemplar with its summary, then the dialog."""
    exemplar = zero_shot_block(doc["exemplar_conversation"], doc["exemplar_summary"])
    return f"{exemplar}\n\n{zero_shot_block(doc['conversation'])}"


def instruction_text(doc: Mapping) -> str:
    """``doc_to_text`` of ``tweetsumm_instruct``."""
    return instruction_prompt(doc["conversation"])
