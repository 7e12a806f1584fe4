"""Self-consistency samples that share one prompt encoding.

Self-consistency asks for K samples of the same prompt: the task says ``repeats: K`` and
``do_sample: true``, and lm-eval's evaluator hands ``HFLM.generate_until`` K identical requests.
Stock lm-eval encodes that prompt K times. :func:`patch_hflm_generate` wraps ``generate_until`` so
that each group of identical sampling requests of summeval's own tasks (each request they build carries
:data:`OURS_ATTRIBUTE`, set by :func:`mark_ours`; any task's with ``SUMMEVAL_SHARED_PREFIX_ALL=1``)
encodes its prompt once. Requests of other tasks go through lm-eval untouched, so installing summeval
changes none of lm-eval's own results:

- decoder-only (``backend="causal"``): one forward pass over the prompt but its last token fills a
  KV cache, ``Cache.batch_repeat_interleave`` copies it to the group's rows, and ``generate`` then
  re-feeds only the last prompt token of each row before sampling them as one batch;
- encoder-decoder (``backend="seq2seq"``): the encoder runs once and ``generate`` gets its output,
  repeated to the group's rows, as ``encoder_outputs``.

Everything else (tokenisation, left truncation, ``max_gen_toks``/``max_length``, stop sequences,
decoding, ``cache_hook``) stays HFLM's own: each group goes through the original ``generate_until``
as one batch, with only its ``_model_generate`` call made to reuse the prompt. Greedy requests and
single samples go through the original ``generate_until`` unchanged, in one call; answers come
back in request order. Groups larger than :data:`DEFAULT_CHUNK_ROWS` rows (or the model's
``batch_size`` if larger; ``SUMMEVAL_SHARED_PREFIX_CHUNK`` overrides) are split into even chunks.

``SUMMEVAL_SHARED_PREFIX=0`` turns this off at call time (lm-eval's plain repeats). A group whose
shared generation fails for any reason is generated the original way, with a one-line warning.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

ENABLE_ENV = "SUMMEVAL_SHARED_PREFIX"
ALL_TASKS_ENV = "SUMMEVAL_SHARED_PREFIX_ALL"
CHUNK_ENV = "SUMMEVAL_SHARED_PREFIX_CHUNK"

OURS_ATTRIBUTE = "summeval_shares_prompt"
"""The attribute (True) that :func:`mark_ours` sets on each request built by summeval's own tasks
(``summeval.lm_eval.task.StrategyTask``) and by active-prompt selection: their sampled repeats may share
one prompt encoding. The request itself carries it, so no process-wide list of task names is kept and a
task of lm-eval's that happens to share a name with ours is never touched."""
# Rows sampled together from one prompt encoding; a model batch_size above it wins.
DEFAULT_CHUNK_ROWS = 16
_PATCHED_FLAG = "_summeval_shared_prefix"


def enabled() -> bool:
    """False when ``SUMMEVAL_SHARED_PREFIX`` is 0/false/no/off; read at every call."""
    from summeval_tasks.util.settings import env_flag

    return env_flag(ENABLE_ENV, default=True)


def chunk_setting() -> int | None:
    """``SUMMEVAL_SHARED_PREFIX_CHUNK`` as a positive integer, or None when unset.

    Raises ``ValueError`` (one line naming the variable and its value) for anything else."""
    raw = os.environ.get(CHUNK_ENV, "").strip()
    if not raw:
        return None
    try:
        rows = int(raw)
    except ValueError:
        rows = 0
    if rows < 1:
        raise ValueError(
            f"{CHUNK_ENV}={raw!r} is not a positive integer (rows sampled from one prompt encoding)"
        )
    return rows


def chunk_rows(batch_size: Any) -> int:
    """Most rows sampled from one prompt encoding: ``SUMMEVAL_SHARED_PREFIX_CHUNK`` or the default,
    or ``batch_size`` if that is larger. A bad variable is warned about once per call and ignored here
    (under plain ``lm_eval`` the model is already loaded); ``summeval study`` refuses it up front."""
    try:
        rows = chunk_setting() or DEFAULT_CHUNK_ROWS
    except ValueError as err:
        print(f"summeval: {err}; using {DEFAULT_CHUNK_ROWS}", file=sys.stderr)
        rows = DEFAULT_CHUNK_ROWS
    if isinstance(batch_size, int) and batch_size > rows:
        rows = batch_size
    return rows


def sharing_settings(batch_size: Any) -> dict[str, Any]:
    """What changes sampled outputs at one seed: sharing on or off and the rows per prompt encoding.
    Part of a study cell's cache key; raises ``ValueError`` on a bad ``SUMMEVAL_SHARED_PREFIX_CHUNK``."""
    chunk_setting()
    if not enabled():
        return {"enabled": False}
    return {"enabled": True, "chunk_rows": chunk_rows(batch_size)}


FALLBACKS_ATTRIBUTE = "summeval_shared_prefix_fallbacks"
"""The attribute of an ``HFLM`` instance that holds :func:`fallbacks`: the model is what lm-eval hands
``generate_until``, so that is where its record goes (two models in one process keep their own)."""


def fallbacks(lm: Any) -> list[str]:
    """Why groups of ``lm``'s requests were generated without a shared prompt since the caller last
    cleared this list (a study clears it before each cell and records it): such a group's samples differ
    from the shared path's at one seed. The same list each call, made on first use."""
    found = getattr(lm, FALLBACKS_ATTRIBUTE, None)
    if found is None:
        found = []
        setattr(lm, FALLBACKS_ATTRIBUTE, found)
    return found


def even_chunks(indices: Sequence[int], rows: int) -> list[list[int]]:
    """``indices`` cut into the fewest chunks of at most ``rows``, as even as possible (20, 16 -> 10 + 10)."""
    count = -(-len(indices) // rows)
    size, extra = divmod(len(indices), count)
    chunks, start = [], 0
    for n in range(count):
        end = start + size + (n < extra)
        chunks.append(list(indices[start:end]))
        start = end
    return chunks


def mark_ours(requests: Sequence[Any]) -> Sequence[Any]:
    """``requests`` (lm-eval ``Instance`` objects summeval built), each marked as ours; returned."""
    for request in requests:
        setattr(request, OURS_ATTRIBUTE, True)
    return requests


def ours(request: Any) -> bool:
    """Whether summeval built ``request`` (:func:`mark_ours`), or ``SUMMEVAL_SHARED_PREFIX_ALL`` is on."""
    from summeval_tasks.util.settings import env_flag

    return getattr(request, OURS_ATTRIBUTE, False) is True or env_flag(ALL_TASKS_ENV)


def shared_groups(requests: Sequence[Any], samples: Any, eligible: Any = ours) -> list[list[int]]:
    """Indices of requests with the same context and gen_kwargs that sample, in groups of two or more.

    ``samples(gen_kwargs)`` decides whether a request samples (greedy duplicates are left alone);
    ``eligible(request)`` whether it may share at all (summeval's own tasks, by default).
    """
    groups: dict[tuple[str, str], list[int]] = {}
    for i, request in enumerate(requests):
        if not eligible(request):
            continue
        args = request.args
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], dict):
            continue
        context, gen_kwargs = args
        if samples(gen_kwargs):
            key = (context, json.dumps(gen_kwargs, sort_keys=True, default=repr))
            groups.setdefault(key, []).append(i)
    return [indices for indices in groups.values() if len(indices) > 1]


class _CountingHook:
    """Passes ``add_partial`` to lm-eval's cache hook and counts it on the progress bar."""

    def __init__(self, hook: Any, pbar: Any) -> None:
        self._hook = hook
        self._pbar = pbar

    def add_partial(self, *args: Any, **kwargs: Any) -> None:
        self._hook.add_partial(*args, **kwargs)
        self._pbar.update(1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hook, name)


def _forward_parameters(model: Any) -> Any:
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT wraps the model
    return inspect.signature(base.forward).parameters


def _cache_argument(parameters: Any) -> str:
    """The KV cache argument of a forward: ``cache`` in recent transformers, ``past_key_values`` in older."""
    return "cache" if "cache" in parameters else "past_key_values"


def _returned_cache(output: Any) -> Any:
    """The KV cache a forward returned, or None. A PeftModel's forward takes ``**kwargs``, so the
    argument's name may have been guessed wrong: read either."""
    return getattr(output, "cache", None) or getattr(output, "past_key_values", None)


def _autocast(lm: Any) -> Any:
    """HFLM's mixed precision around a forward of ours, as around its own."""
    import torch

    return torch.autocast(
        device_type=lm.device.type,
        dtype=lm.mixed_precision_dtype,
        enabled=lm.mixed_precision_dtype is not None,
    )


def _shared_model_generate(
    lm: Any, model_generate: Any, context: Any, max_length: int, stop: list[str], **generation_kwargs: Any
) -> Any:
    """``HFLM._model_generate`` for a batch of identical rows, encoding the prompt once."""
    import torch

    rows = context.shape[0]
    if not bool((context == context[:1]).all()):
        raise RuntimeError("rows of the shared batch differ after tokenisation")
    attention_mask = generation_kwargs.get("attention_mask")
    one_mask = attention_mask[:1] if attention_mask is not None else None
    model = lm.model
    with torch.no_grad(), _autocast(lm):
        if lm.backend == "seq2seq":
            from transformers.modeling_outputs import BaseModelOutput

            encoded = model.get_encoder()(input_ids=context[:1], attention_mask=one_mask, return_dict=True)
            generation_kwargs["encoder_outputs"] = BaseModelOutput(
                last_hidden_state=encoded.last_hidden_state.repeat_interleave(rows, dim=0)
            )
        elif context.shape[1] > 1:
            # everything but the last prompt token; generate re-feeds that one to start each row
            parameters = _forward_parameters(model)
            cache_name = _cache_argument(parameters)
            prefill_kwargs: dict[str, Any] = {"use_cache": True}
            if "logits_to_keep" in parameters:
                prefill_kwargs["logits_to_keep"] = 1  # the prefill's logits are not used
            if one_mask is not None:
                prefill_kwargs["attention_mask"] = one_mask[:, :-1]
            prefill = model(input_ids=context[:1, :-1], **prefill_kwargs)
            cache = _returned_cache(prefill)
            if cache is None or not hasattr(cache, "batch_repeat_interleave"):
                raise RuntimeError(f"{type(model).__name__} returned no Cache object to share")
            cache.batch_repeat_interleave(rows)
            generation_kwargs[cache_name] = cache
    return model_generate(lm, context=context, max_length=max_length, stop=stop, **generation_kwargs)


@contextlib.contextmanager
def _sharing_prompt(lm: Any, rows: int) -> Iterator[None]:
    """Within: ``lm`` runs ``rows`` requests as one batch, and its ``_model_generate`` shares the prompt."""
    saved_batch_size = lm.batch_size_per_gpu
    lm.batch_size_per_gpu = rows
    lm._model_generate = functools.partial(_shared_model_generate, lm, type(lm)._model_generate)
    try:
        yield
    finally:
        lm.batch_size_per_gpu = saved_batch_size
        vars(lm).pop("_model_generate", None)


def patch_hflm_generate(module: Any) -> None:
    """Wrap ``module.HFLM.generate_until`` (module: ``lm_eval.models.huggingface``) as described above.

    Idempotent. Subclasses that override ``_model_generate`` keep the original behaviour.
    """
    hflm = module.HFLM
    if getattr(hflm, _PATCHED_FLAG, False):
        return
    original = hflm.generate_until
    hflm_model_generate = hflm._model_generate

    def samples(gen_kwargs: dict) -> bool:
        try:
            kwargs = module.normalize_gen_kwargs(gen_kwargs)
        except Exception:
            return False
        return kwargs.get("do_sample") is True and kwargs.get("num_beams", 1) in (None, 1)

    def generate_chunk(lm: Any, chunk: list[Any]) -> list[str]:
        try:
            with _sharing_prompt(lm, len(chunk)):
                return original(lm, chunk, disable_tqdm=True)
        except Exception as err:  # never break lm-eval: the stock path for this group
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            fallbacks(lm).append(f"{len(chunk)} samples: {reason}")
            print(f"summeval: {len(chunk)} samples drawn without a shared prompt ({reason})", file=sys.stderr)
            return original(lm, chunk, disable_tqdm=True)

    @functools.wraps(original)
    def generate_until(self, requests, disable_tqdm: bool = False):
        if not enabled() or getattr(self, "backend", None) not in ("causal", "seq2seq"):
            return original(self, requests, disable_tqdm)
        if type(self)._model_generate is not hflm_model_generate:
            return original(self, requests, disable_tqdm)
        try:
            groups = shared_groups(requests, samples)
        except Exception as err:
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
            fallbacks(self).append(f"all requests: {reason}")
            print(f"summeval: shared-prefix sampling skipped ({reason})", file=sys.stderr)
            groups = []
        if not groups:
            return original(self, requests, disable_tqdm)

        results: list[Any] = [None] * len(requests)
        pbar = module.tqdm(
            total=len(requests),
            disable=(disable_tqdm or (self.rank != 0)),
            desc="Running generate_until requests",
        )
        hook = self.cache_hook
        self.cache_hook = _CountingHook(hook, pbar)  # one progress bar over all requests, as stock
        try:
            rows = chunk_rows(self.batch_size)
            for group in groups:
                for chunk in even_chunks(group, rows):
                    texts = generate_chunk(self, [requests[i] for i in chunk])
                    for i, text in zip(chunk, texts, strict=True):
                        results[i] = text
            grouped = {i for group in groups for i in group}
            rest = [i for i in range(len(requests)) if i not in grouped]
            if rest:
                texts = original(self, [requests[i] for i in rest], disable_tqdm=True)
                for i, text in zip(rest, texts, strict=True):
                    results[i] = text
        finally:
            self.cache_hook = hook
            pbar.close()
        return results

    hflm.generate_until = generate_until
    setattr(hflm, _PATCHED_FLAG, True)
