"""Evaluating one cell through lm-eval: build the model, run one of our tasks on it (every seed set),
and hand back its logged samples. ``summeval compare`` and ``summeval study`` both evaluate through
``load_lm`` and ``evaluate_task``; ``summeval task-dir --show`` prints what lm-eval builds for a task
(``resolved_task``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prompt_strategies.strategy import PromptStrategy
from summeval_tasks.contract import TaskFamily


def load_lm(model: str, model_args: str | Mapping[str, Any], extra: Mapping[str, Any] | None = None):
    """An lm-eval model from its registry name and arguments (a string, as ``lm_eval --model_args``
    takes them, or a mapping), as ``lm_eval --model`` builds it. ``extra``: ``batch_size``, ``device``
    (default ``cuda`` when there is one, else ``cpu``) and the like."""
    from lm_eval.api.registry import get_model

    from summeval_tasks.util.settings import check_device, check_dtype, check_model_arg_string

    if isinstance(model_args, str):
        check_model_arg_string(model_args, "model_args")
    elif model_args.get("dtype") is not None:
        check_dtype(model_args["dtype"], "model_args dtype")
    extra = dict(extra or {})
    if extra.get("device"):
        check_device(extra["device"], "device")
    if not extra.get("device"):
        import torch

        extra["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(model_args, str):
        return get_model(model).create_from_arg_string(model_args, extra)
    return get_model(model).create_from_arg_obj(dict(model_args), extra)


def model_arguments(model_args: str, where: str = "model_args") -> dict[str, Any]:
    """``key=value,...`` as ``lm_eval --model_args`` reads it (values typed as lm-eval types them)."""
    from lm_eval.utils import simple_parse_args_string

    from summeval_tasks.util.settings import check_model_arg_string

    return simple_parse_args_string(check_model_arg_string(model_args, where))


def release_lm(lm: Any) -> None:
    """Stop a vLLM engine now (lm-eval's ``vllm`` model holds a ``vllm.LLM`` in ``.model``), not at
    interpreter exit: vLLM 0.32 keeps the traceback of an optional import it could not make (torchcodec
    where it is not installed), and its frames can hold the model alive however it is deleted, so the
    engine's processes and threads would otherwise be shut down during the exit. Any other model: nothing.
    Raises ``RuntimeError`` naming what is missing when vLLM no longer has the shutdown this calls."""
    llm = getattr(lm, "model", None)
    if not type(llm).__module__.startswith("vllm."):
        return
    engine = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
    shutdown = getattr(engine, "shutdown", None)
    if not callable(shutdown):
        raise RuntimeError(
            "summeval: cannot stop the vLLM engine: vllm.LLM has no llm_engine.engine_core.shutdown() in "
            "this vLLM; install the vLLM version the README names"
        )
    shutdown()


@contextlib.contextmanager
def released(lm: Any) -> Iterator[Any]:
    """``lm`` for the block, released when it ends (``release_lm``), also when it raises: a vLLM engine
    never outlives the work it was loaded for. A release that fails while an error is on its way out
    does not hide that error."""
    try:
        yield lm
    except BaseException:
        with contextlib.suppress(Exception):
            release_lm(lm)
        raise
    release_lm(lm)


def evaluate_task(
    lm: Any,
    *,
    task: str,
    family: TaskFamily,
    strategy: PromptStrategy,
    metadata: Mapping[str, Any],
    manager: Any,
    limit: int | None,
    apply_chat_template: bool,
    seed: int,
    fixed_options: Mapping[str, Any] | None = None,
    items: Sequence[int] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Run one of our lm-eval tasks through ``lm_eval.simple_evaluate``, every seed set to ``seed``.

    Returns lm-eval's evaluation, the logged samples of the strategy's primary filter (the one answer
    per item that is scored), and that filter's name. ``fixed_options`` are an alias's own options
    (``tweetsumm_one``: fewshot k=1). ``items``: the indices of the evaluated docs to run (a seeded
    sample, ``sampled_items``) instead of the first ``limit``."""
    import lm_eval

    chosen = {task: list(items)} if items is not None else None
    evaluation = lm_eval.simple_evaluate(
        model=lm,
        tasks=[task],
        limit=limit,
        samples=chosen,
        log_samples=True,
        apply_chat_template=apply_chat_template,
        task_manager=manager,
        metadata=dict(metadata),
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    options = dict(metadata)
    if fixed_options:
        options[strategy.name] = {**dict(options.get(strategy.name) or {}), **fixed_options}
    primary = strategy.primary_filter(family, strategy.options(options))
    samples = [s for s in evaluation["samples"][task] if s.get("filter", primary) == primary]
    return evaluation, samples, primary


def sampled_items(split_size: int, size: int, seed: int, split: str = "evaluation") -> list[int]:
    """``size`` doc indices of a split of ``split_size`` docs, a seeded sample (``random.Random(seed)``),
    in split order. Every strategy evaluated with one seed and size sees the same items."""
    import random

    if size > split_size:
        from summeval.paths import UsageError

        raise UsageError(f"sample {size} is larger than its {split} split ({split_size} items)")
    return sorted(random.Random(seed).sample(range(split_size), size))


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


class _DropNotice:
    """Drops lm-eval's per-task hint about ``--metadata`` (it repeats for every cell and asks nothing)."""

    def filter(self, record: Any) -> bool:
        return "Custom kwargs can be passed" not in record.getMessage()


def quiet_per_task_notice() -> None:
    """Silence lm-eval's per-task ``--metadata`` hint (a study evaluates many cells)."""
    import logging

    logger = logging.getLogger("lm_eval.api.task")
    if not any(isinstance(f, _DropNotice) for f in logger.filters):
        logger.addFilter(_DropNotice())


def resolved_task(task: str, metadata: dict[str, Any] | None = None) -> str:
    """What lm-eval runs for one of our tasks, resolved as lm-eval builds it: the family, the strategy
    and its options, output type, repeats, generation settings, the filter chain, the metrics, the split,
    and the prompt of the first evaluated doc (JSON, then the prompt, for people)."""
    import json
    from dataclasses import asdict

    from prompt_strategies.registry import task_table, unknown_task
    from prompt_strategies.strategy import StrategyError
    from summeval.lm_eval import task_manager

    table = task_table()
    if task not in table:
        raise StrategyError(unknown_task(task))
    entry = table[task]
    metadata = dict(metadata or {})
    quiet_per_task_notice()
    built = task_manager(include_defaults=False, metadata=metadata).load([task])["tasks"][task]
    config = built.config
    docs = list(built.eval_docs)
    shown = {
        "task": task,
        "family": entry["family"],
        "strategy": entry["strategy"],
        "options": asdict(built.strategy_options),
        "output_type": config.output_type,
        "repeats": config.repeats,
        "generation_kwargs": config.generation_kwargs,
        "filter_list": config.filter_list,
        "metric_list": config.metric_list,
        "evaluated split": f"{config.test_split} ({len(docs)} docs)",
        "exemplar split": config.training_split,
    }
    text = json.dumps(shown, indent=2, ensure_ascii=False, default=str) + "\n"
    if docs:
        text += f"prompt of doc {docs[0].get('id', 0)!r} (before any chat template):\n"
        text += "\n".join(f"  | {line}" for line in str(built.doc_to_text(docs[0])).splitlines()) + "\n"
        exemplars = built.strategy.exemplars(docs[0], built.strategy_context, built.strategy_options)
        turns = built.strategy.chat_turns(docs[0], built.family, exemplars, built.strategy_options)
        if turns:
            text += "under a chat template (lm-eval's fewshot_as_multiturn, its default there), as turns:\n"
            for role, content in turns:
                text += "\n".join(f"  {role:>9} | {line}" for line in content.splitlines()) + "\n"
        else:
            text += "under a chat template: the prompt above as one user turn\n"
        if built.reads_two_stage:
            words = " / ".join("|".join(w) for w in built.family.answer_words.values())
            prompt = "the prompt without its exemplars" if exemplars else "the prompt"
            text += (
                f"second stage: {prompt}, the output, {built.family.answer_trigger!r}, then the more likely "
                f"of {words} (acc_two_stage)\n"
            )
    return text
