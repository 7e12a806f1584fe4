"""TweetSumm prompts: the one place where the study's prompt formats are written down.

The TweetSumm family (``tweetsumm.family.TweetSumm``) renders questions, exemplars and its instruction format
with these; fine-tuning trains on that instruction format (the family's ``training_example``), so training
and evaluation cannot drift apart.
"""

from __future__ import annotations

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
