"""Active-prompt stage one, as ``summeval active-prompt select``, ``summeval compare`` and ``summeval
study`` all run it: the settings (``Selection``), their check against the family's pool before any model
loads (``check_selection``), and the selection itself, written to an exemplar file (``select_to_file``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from prompt_strategies.registry import strategies
from prompt_strategies.strategy import StrategyError
from summeval_tasks.contract import TaskFamily


@dataclass(frozen=True)
class Selection:
    """How stage one chooses exemplars: ``n`` exemplars, the most uncertain of a pool (a seeded sample of
    ``pool_size`` questions of the family's pool split, or of ``pool_split``), each asked ``k`` times at
    ``temperature`` and scored by ``uncertainty`` (the family's first uncertainty metric by default)."""

    k: int = 5
    n: int = 4
    uncertainty: str | None = None
    pool_size: int | None = None
    temperature: float = 0.7
    pool_split: str | None = None
    annotations: Path | None = None
    """A JSON file of hand-written rationales by item id (families that reason)."""
    max_gen_toks: int | None = None

    def study_settings(self) -> dict[str, Any]:
        """The fields a study config's ``active_prompt:`` sets (``STUDY_SETTINGS``), as a mapping."""
        return {key: getattr(self, key) for key in STUDY_SETTINGS}

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> Selection:
        """From a mapping of some of the fields (a study config's ``active_prompt:``)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in settings.items() if key in names})


STUDY_SETTINGS = ("k", "n", "pool_size", "uncertainty", "temperature")
"""The selection settings a study config's ``active_prompt:`` takes (the rest are the command's)."""


def check_selection(
    family: TaskFamily, data: str | None, selection: Selection, seed: int
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The pool and annotations of a selection, every setting checked (before any model is loaded)."""
    from prompt_strategies import active_prompt

    family_name = family.name
    pool_split = selection.pool_split or family.pool_split
    k, n, metric = selection.k, selection.n, selection.uncertainty
    if k < 1 or n < 1:
        raise StrategyError(f"k and n must be at least 1 (got k={k}, n={n})")
    active_prompt.check_selection_ranges(
        k=k,
        n=n,
        pool_size=selection.pool_size,
        temperature=selection.temperature,
        max_gen_toks=selection.max_gen_toks,
        seed=seed,
    )
    if metric is not None and metric not in family.uncertainty_metrics:
        raise StrategyError(
            f"{family_name}: unknown uncertainty metric {metric!r}; "
            f"choose one of {', '.join(family.uncertainty_metrics)}"
        )
    if pool_split == family.eval_split:
        raise StrategyError(
            f"the pool cannot be the {pool_split} split: the {family_name} tasks evaluate on it, and "
            "exemplars from it would show the model other test items' answers; "
            f"use --pool {family.pool_split}"
        )
    docs = family.load({family.data_key: data} if family.data_key and data else {})
    if pool_split not in docs:
        raise StrategyError(f"unknown pool split {pool_split!r}; choose one of {', '.join(docs)}")
    pool = active_prompt.choose_pool(list(docs[pool_split]), selection.pool_size, seed)
    if n > len(pool):
        raise StrategyError(f"n={n} exemplars requested from a pool of {len(pool)} questions")
    if selection.annotations and not family.supports_reasoning:
        raise StrategyError(f"--annotations are rationales; the {family_name} family's exemplars have none")
    annotations = active_prompt.read_annotations(selection.annotations) if selection.annotations else None
    return pool, annotations


def chat_formatter(lm: Any, apply_chat_template: bool):
    """A prompt → model input function: the prompt as one user turn when ``apply_chat_template``."""
    if not apply_chat_template:
        return lambda prompt: prompt
    return lambda prompt: lm.apply_chat_template([{"role": "user", "content": prompt}])


def select_to_file(
    lm: Any,
    *,
    family: TaskFamily,
    data: str | None,
    selection: Selection,
    seed: int,
    out: Path,
    within: Path | None = None,
    apply_chat_template: bool = False,
    model_description: str = "",
) -> dict[str, Any]:
    """Active-Prompt stage one on the family's pool; writes and returns the exemplar file.

    The model is asked with zero-shot chain of thought where the family reasons, else with its
    direct (zero-shot) prompt; sampled at the selection's temperature. ``within``: the folder summeval
    writes that holds ``out`` (nothing is written through a link inside it)."""
    from prompt_strategies.exemplars import write_exemplar_file
    from summeval.lm_eval.runner import seed_everything
    from summeval.lm_eval.selection import select_exemplars

    metric = selection.uncertainty or family.uncertainty_metrics[0]
    pool, annotation_map = check_selection(family, data, selection, seed)
    asking = strategies()["cot" if family.supports_reasoning else "answer_only"]
    asking_options = asking.options({})
    formatted = chat_formatter(lm, apply_chat_template)
    seed_everything(seed)
    content = select_exemplars(
        lm,
        pool,
        family=family,
        prompt=lambda doc: formatted(asking.prompt(doc, family, [], asking_options)),
        k=selection.k,
        n=selection.n,
        metric=metric,
        seed=seed,
        generation_kwargs={
            "until": asking.stop_sequences(family),
            "do_sample": True,
            "temperature": selection.temperature,
            "max_gen_toks": selection.max_gen_toks or asking.max_gen_toks(family, asking_options),
        },
        annotations=annotation_map,
        provenance={
            "model": model_description,
            "data": family.source({family.data_key: data} if data else {}),
            "pool": selection.pool_split or family.pool_split,
            "prompt_strategy": asking.name,
            "apply_chat_template": apply_chat_template,
            "annotations": str(selection.annotations) if selection.annotations else None,
        },
    )
    write_exemplar_file(out, content, within=within)
    return content
