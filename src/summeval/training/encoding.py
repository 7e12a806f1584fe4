"""Training examples as tokens: a doc in its family's training format, padded batches, the data's hash,
and the loss."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from summeval.training.checks import FinetuneError
from summeval.training.recipe import Recipe
from summeval_tasks.contract import Doc, TaskFamily

_KEEP_HEAD_TOKENS = 32  # when a text is too long, keep the instruction header and cut the middle


def encode_example(tokenizer, family: TaskFamily, doc: Doc, max_length: int, loss_on: str) -> dict[str, Any]:
    """Token ids and labels for one doc in the family's training format: prompt, target, EOS.

    With ``loss_on="summary"`` the prompt tokens get label -100 (no loss). Texts longer than
    ``max_length`` lose tokens from the middle of the prompt; the target is always kept whole.
    """
    prompt, target = family.training_example(doc)
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        target_ids = [*target_ids, tokenizer.eos_token_id]
    budget = max_length - len(target_ids)
    if budget < _KEEP_HEAD_TOKENS + 8:
        raise FinetuneError(
            f"finetune: the target of {family.name} item {doc.get('id')} takes {len(target_ids)} tokens, "
            f"too many for training.max_length={max_length}"
        )
    if len(prompt_ids) > budget:
        tail = budget - _KEEP_HEAD_TOKENS
        prompt_ids = prompt_ids[:_KEEP_HEAD_TOKENS] + prompt_ids[-tail:]
    input_ids = prompt_ids + target_ids
    labels = ([-100] * len(prompt_ids) if loss_on == "summary" else list(prompt_ids)) + target_ids
    return {"input_ids": input_ids, "labels": labels, "length": len(input_ids)}


class PadToLongest:
    """Collate variable-length examples, padding only to the longest in the batch."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(ex["input_ids"]) for ex in batch)
        input_ids, labels, attention = [], [], []
        for ex in batch:
            pad = width - len(ex["input_ids"])
            input_ids.append(list(ex["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(ex["labels"]) + [-100] * pad)
            attention.append([1] * len(ex["input_ids"]) + [0] * pad)
        return {
            "input_ids": torch.tensor(input_ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(attention),
        }


def encode_split(tokenizer, family: TaskFamily, docs: Sequence[Doc], recipe: Recipe):
    """The docs of one split, encoded (``encode_example``), as a ``datasets.Dataset``."""
    import datasets

    t = recipe.training
    rows = [encode_example(tokenizer, family, d, t.max_length, t.loss_on) for d in docs]
    return datasets.Dataset.from_list(rows)


def data_fingerprint(docs: Mapping[str, Sequence[Doc]]) -> str:
    """sha256 of the family's loaded docs, split by split: the same data gives the same hash whatever
    its file format (for TweetSumm, the hash of its dialogs' ``to_doc()``, as before families)."""
    import hashlib

    digest = hashlib.sha256()
    for split in sorted(docs):
        for doc in docs[split]:
            digest.update(json.dumps([split, doc], sort_keys=True).encode())
    return digest.hexdigest()


# ----------------------------------------------------------------------------- the loss


def causal_lm_loss(model, batch: Mapping[str, Any]):
    """Mean next-token cross-entropy over the labelled tokens (padded or padding-free batches).

    The output head runs only at positions that carry a label: with the summary-only loss most
    positions are prompt, and a 50k-word head over every position (plus its logits in memory) is a
    large share of a small model's cost. Models whose head does more than a linear map (logit
    soft-capping or scaling), and a model wrapped for data parallelism, take the plain
    ``model(**batch).loss`` path.
    """
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        # data parallel (torchrun): the gradients are averaged across processes only when the forward
        # pass goes through the wrapper, so take the model's own loss (equal to ours, tested)
        return model(**batch, use_cache=False).loss
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config
    if getattr(config, "final_logit_softcapping", None) or hasattr(config, "logit_scale"):
        return model(**batch).loss
    # A padding-free batch (``DataCollatorWithFlattening``) has position_ids and no attention_mask;
    # transformers builds its block-diagonal mask from them only when no KV cache is made: use_cache=False.
    hidden = base.get_decoder()(
        input_ids=batch["input_ids"],
        attention_mask=batch.get("attention_mask"),
        position_ids=batch.get("position_ids"),
        use_cache=False,
    ).last_hidden_state
    labels = batch["labels"][:, 1:]
    labelled = labels != -100
    logits = base.get_output_embeddings()(hidden[:, :-1][labelled])
    return F.cross_entropy(logits.float(), labels[labelled])


def loss_trainer_class():
    """The HF ``Trainer`` subclass whose loss is :func:`causal_lm_loss` (built on first use: transformers
    loads only when training)."""
    from transformers import Trainer

    class LabelledHeadTrainer(Trainer):
        """A Trainer whose loss is :func:`causal_lm_loss`."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = causal_lm_loss(model, inputs)
            return (loss, {"loss": loss}) if return_outputs else loss

    return LabelledHeadTrainer
