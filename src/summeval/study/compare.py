"""``summeval compare``: a one-model plan (``compare_plan``) run by the study's loop into the study's
report (``summeval.study.run.run_study``).

Compare's arguments become a ``StudyConfig`` of one model (``model``), one family and a cell per
strategy, with a paired comparison of each strategy against the first one listed. Everything after that
is the study's: the pre-flight check of the model, options and data before any model loads, the cache
(a rerun into the same ``--out`` reuses the strategies that already ran with the same settings), the
active-prompt selection, the evaluation of each cell, and the report (``report.md``, ``report.html``,
``report.json``, the charts, a CSV per strategy in ``samples/``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prompt_strategies.registry import applicable_strategies, get_strategy, strategies, task_name
from prompt_strategies.strategy import PromptStrategy, StrategyError
from summeval.study.plan import BACKENDS, Cell, Comparison, ModelSpec, StudyConfig, StudyConfigError
from summeval.study.selection import Selection
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.bounds import DEFAULT_SEED

MODEL = "model"
"""The name of compare's one model in its cells (``model/<task>``)."""
ORIGIN = "summeval compare"
"""What compare's plan names as its source in error messages."""


def resolve_strategies(spec: str, family: TaskFamily) -> list[PromptStrategy]:
    """``--strategies``, read once: ``all`` (every strategy that applies to ``family``) or a
    comma-separated list of applicable names, as the registered strategies."""
    if spec.strip() == "all":
        return [strategies()[name] for name in applicable_strategies(family)]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise StrategyError("no strategies given; use --strategies all or a comma-separated list")
    chosen = [get_strategy(name) for name in names]
    for strategy in chosen:
        if not strategy.applies_to(family):
            raise StrategyError(
                f"strategy {strategy.name!r} does not apply to the {family.name} family; those that do: "
                f"{', '.join(applicable_strategies(family))}"
            )
    if len(set(names)) < len(names):
        raise StrategyError(f"--strategies names a strategy twice: {spec}")
    return chosen


def compare_model(model: str, model_args: str) -> ModelSpec:
    """Compare's ``--model`` and ``--model-args`` as the plan's one model: ``pretrained=`` is its base, an
    ``hf`` ``peft=`` its adapter (fingerprinted and checked against the base like a study's)."""
    from summeval.lm_eval.runner import model_arguments

    if model not in BACKENDS:
        raise StudyConfigError(
            f"summeval compare: --model: {model!r} is not a backend summeval runs; use one of "
            f"{', '.join(BACKENDS)}"
        )
    args = model_arguments(model_args, "--model-args")
    pretrained = args.pop("pretrained", None)
    if not isinstance(pretrained, str) or not pretrained:
        raise StudyConfigError(
            f"summeval compare: --model-args {model_args!r} names no pretrained=; give the model, e.g. "
            "pretrained=$(summeval embedded-model)"
        )
    adapter = args.pop("peft", None) if model == "hf" else None
    return ModelSpec(
        name=MODEL,
        pretrained=pretrained,
        backend=model,
        model_args=args,
        adapter=Path(str(adapter)).expanduser() if adapter else None,
    )


def compare_plan(
    *,
    model: str,
    model_args: str,
    strategies_to_run: Sequence[PromptStrategy],
    family: TaskFamily,
    data: str | None = None,
    limit: int | None = None,
    batch_size: int | str = 1,
    device: str | None = None,
    apply_chat_template: bool = False,
    options: Mapping[str, Any] | None = None,
    exemplars_file: Path | None = None,
    selection: Selection | None = None,
    seed: int = DEFAULT_SEED,
) -> StudyConfig:
    """Compare's arguments as a study plan: one model, a cell per strategy on ``family`` (its first
    ``limit`` items), each strategy compared with the first one. Reads nothing but the strategy names."""
    unknown = sorted(set(options or {}) - set(strategies()))
    if unknown:
        raise StrategyError(
            f"--options names no strategy: {', '.join(unknown)}; known: {', '.join(sorted(strategies()))}"
        )
    spec = compare_model(model, model_args)
    chosen = {k: dict(v) for k, v in (options or {}).items()}
    if exemplars_file is not None:
        chosen.setdefault("active_prompt", {})["exemplars_file"] = str(Path(exemplars_file).resolve())
    cells = [Cell(MODEL, task_name(s.name, family.name), family, s, limit) for s in strategies_to_run]
    first = cells[0]
    comparisons = [
        Comparison(f"{c.strategy.name} vs {first.strategy.name}", first.id, c.id) for c in cells[1:]
    ]
    selected = selection or Selection()
    names = ", ".join(s.name for s in strategies_to_run)
    return StudyConfig(
        path=Path(ORIGIN),
        name=f"compare-{family.name}",
        description=(
            f"summeval compare: {names} on {family.name}"
            + (f" (first {limit} items)" if limit is not None else "")
            + f"; model {model} {model_args}. Each strategy is compared with {first.strategy.name}."
        ),
        seed=seed,
        batch_size=batch_size,
        device=device,
        apply_chat_template=apply_chat_template,
        data={family.name: data} if data else {},
        options=chosen,
        selection=selected.study_settings(),
        models={MODEL: spec},
        cells=cells,
        comparisons=comparisons,
        published_label="published",
        published={},
        raw={},
        seeds=(seed,),
        origin=ORIGIN,
    )
