"""The second stage's label words scored from one encoding of the prompt they share.

Each generated output's second stage asks for the log-likelihood of every label word (sports_understanding:
`` plausible``, `` yes``, `` implausible``, `` no``) after one and the same prompt. lm-eval's
``HFLM.loglikelihood`` runs a forward pass over prompt and word for each of them (it shares one only
between words of a single token), so on a few-shot prompt the second stage cost about as much as
generating the answer. For lm-eval's decoder-only ``HFLM`` (``hf`` with a causal model, adapters
included), :func:`loglikelihoods` encodes each distinct prompt once, with the later tokens of its first
word of several tokens after it: that one pass reads every word's first token off the prompt's last
position and that word's later tokens; any further word of several tokens runs its later tokens as one
small batch on copies of the prompt's KV cache. The tokens are HFLM's own (``_encode_pair``: a prompt's
trailing spaces move to the word) and the model is the one lm-eval holds, so the scores are lm-eval's up
to float rounding (tests/summeval/lm_eval/test_label_scores.py compares them). Every other model
(``seq2seq``, ``vllm``, which shares the prompt through its prefix cache, a request cache wrapper), a
prompt too long to score a word without lm-eval's left truncation, and ``SUMMEVAL_SHARED_PREFIX=0`` go
through ``lm.loglikelihood``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def loglikelihoods(lm: Any, requests: Sequence[Any]) -> list[float]:
    """The log-likelihood of each ``loglikelihood`` request (``arguments``: context, continuation), in
    order: prompts shared by several requests are encoded once where ``lm`` allows it."""
    scores: list[float | None] = [None] * len(requests)
    rest = list(range(len(requests)))
    if requests and _shares_prompts(lm):
        by_context: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            by_context.setdefault(request.arguments[0], []).append(index)
        rest = []
        for context, indices in by_context.items():
            shared = shared_prompt_scores(lm, context, [requests[i].arguments[1] for i in indices])
            if shared is None:
                rest.extend(indices)
                continue
            for index, score in zip(indices, shared, strict=True):
                scores[index] = score
    rest.sort()
    if rest:
        answers = lm.loglikelihood([requests[i] for i in rest])
        for index, answer in zip(rest, answers, strict=True):
            scores[index] = float(answer[0])
    return [float(score) for score in scores]  # type: ignore[arg-type]


def _shares_prompts(lm: Any) -> bool:
    from lm_eval.models.huggingface import HFLM

    from summeval.lm_eval.shared_prefix import enabled

    # exactly lm-eval's HFLM: a subclass may score differently (its own _model_call or tokens)
    return type(lm) is HFLM and lm.backend == "causal" and enabled()


def shared_prompt_scores(lm: Any, context: str, continuations: Sequence[str]) -> list[float] | None:
    """The log-likelihood of each continuation after ``context`` under ``lm`` (a causal ``HFLM``), from
    one forward pass over the context's tokens (and one more where two words have several tokens); None
    where lm-eval would score them otherwise (an empty context, a context that tokenises differently with
    some continuation, an empty continuation, or one that does not fit ``max_length`` without
    truncation)."""
    import torch
    import torch.nn.functional as F

    from summeval.lm_eval.shared_prefix import (
        _autocast,
        _cache_argument,
        _forward_parameters,
        _returned_cache,
    )

    if not context or not continuations:
        return None
    pairs = [lm._encode_pair(context, continuation) for continuation in continuations]
    prompt = pairs[0][0]
    if any(list(p) != list(prompt) or not c for p, c in pairs):
        return None
    if not prompt or len(prompt) + max(len(c) for _, c in pairs) - 1 > lm.max_length:
        return None
    model = lm.model
    parameters = _forward_parameters(model)
    softmax_dtype = getattr(lm, "softmax_dtype", None)
    tails = [(index, c) for index, (_, c) in enumerate(pairs) if len(c) > 1]
    # the first word of several tokens rides along with the prompt: one pass reads every word's first
    # token (at the prompt's last position) and that word's later tokens
    lead = tails[0][1][:-1] if tails else []
    with torch.no_grad(), _autocast(lm):
        kwargs: dict[str, Any] = {"use_cache": len(tails) > 1}
        if "logits_to_keep" in parameters:
            kwargs["logits_to_keep"] = len(lead) + 1
        out = model(input_ids=torch.tensor([prompt + lead], device=lm.device), **kwargs)
        logits = F.log_softmax(out.logits[0, -(len(lead) + 1) :], dim=-1, dtype=softmax_dtype)
        scores = [float(logits[0, continuation[0]]) for _, continuation in pairs]
        if tails:
            index, continuation = tails[0]
            scores[index] += sum(float(logits[j, token]) for j, token in enumerate(continuation[1:], 1))
        if len(tails) < 2:
            return scores
        cache = _returned_cache(out)
        if cache is None or not hasattr(cache, "batch_repeat_interleave") or not hasattr(cache, "crop"):
            return None
        cache.crop(-len(lead))  # the prompt's alone (a negative size removes that many tokens)
        others = tails[1:]
        cache.batch_repeat_interleave(len(others))
        width = max(len(c) for _, c in others) - 1
        ids = torch.zeros((len(others), width), dtype=torch.long, device=lm.device)
        mask = torch.zeros((len(others), len(prompt) + width), dtype=torch.long, device=lm.device)
        mask[:, : len(prompt)] = 1
        for row, (_, continuation) in enumerate(others):  # right-padded: positions stay those of lm-eval
            ids[row, : len(continuation) - 1] = torch.tensor(continuation[:-1], device=lm.device)
            mask[row, len(prompt) : len(prompt) + len(continuation) - 1] = 1
        cache_kwargs = {_cache_argument(parameters): cache}
        tail_out = model(input_ids=ids, attention_mask=mask, use_cache=True, **cache_kwargs)
        later = F.log_softmax(tail_out.logits, dim=-1, dtype=softmax_dtype)
        for row, (index, continuation) in enumerate(others):
            for position, token in enumerate(continuation[1:]):
                scores[index] += float(later[row, position, token])
    return scores
