"""The plan of a study: its models, its cells (a model on one task), the comparisons to test and the
figures the original study published. ``summeval.study.config`` reads one from a YAML file;
``summeval.study.compare`` builds one from compare's arguments (one model, one family)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summeval_tasks.util.errors import SummevalError

if TYPE_CHECKING:
    from prompt_strategies.strategy import PromptStrategy
    from summeval_tasks.contract import TaskFamily

BACKENDS = ("hf", "vllm")
EXECUTORS = ("local", "ray")
"""Where a study's cells run: one after the other in its process (``local``), or as tasks on a Ray
cluster (``ray``, ``summeval.study.ray_executor``)."""
EMBEDDED = "embedded"
"""``pretrained: embedded``: the embedded SmolLM2 (``summeval embedded-model``)."""


class StudyConfigError(SummevalError):
    """A study config that cannot be run; the message names the file and the field."""


@dataclass(frozen=True)
class ModelSpec:
    """One model of the study: an lm-eval backend, its arguments, and an optional LoRA adapter."""

    name: str
    pretrained: str
    """A hub id, a local folder, or ``embedded``."""
    backend: str = "hf"
    model_args: Mapping[str, Any] = field(default_factory=dict)
    """Further lm-eval model arguments, passed as given (``dtype``, ``revision``, ``parallelize``)."""
    adapter: Path | None = None
    """A trained adapter folder; trained from ``recipe`` first when missing."""
    recipe: Path | None = None
    recipe_set: tuple[str, ...] = ()
    """``--set`` overrides of the recipe (``training.batch_size=2``); ``base_model`` is always this model."""
    max_steps: int | None = None
    """Stop training after this many optimiser steps (a quick adapter)."""
    train_processes: int = 1
    """Train the adapter in this many processes with data parallelism (``torchrun``, one per GPU)."""


@dataclass(frozen=True)
class Cell:
    """One evaluation: a model on one task. Its id ``<model>/<task>`` names it in comparisons and on disk.

    ``family`` and ``strategy`` are the registered objects, resolved once where the plan is read (the
    study config, ``summeval compare``'s arguments): nothing below the plan looks them up by name."""

    model: str
    task: str
    family: TaskFamily
    strategy: PromptStrategy
    limit: int | None
    sample: int | None = None
    """A seeded sample of this many items of the evaluation split (the study's seed), instead of all."""
    seed: int | None = None
    """A replicate of a sampled cell at another of the study's ``seeds`` (same items); None: the study's
    first seed, the cell that the tables and comparisons report."""

    @property
    def id(self) -> str:
        return (
            f"{self.model}/{self.task}" if self.seed is None else f"{self.model}/{self.task}@seed{self.seed}"
        )

    @property
    def folder(self) -> str:
        """The cell's folder name under ``cells/<model>/``."""
        return self.task if self.seed is None else f"{self.task}@seed{self.seed}"


@dataclass(frozen=True)
class Comparison:
    """A paired test the report makes: cell ``b`` against cell ``a`` on the same items."""

    label: str
    a: str
    b: str
    equivalence_margin: float | None = None
    """``equivalence_margin:`` of the config: also test whether B and A are equivalent within ± this
    (TOST), in the metric's own units; None: no equivalence test."""


@dataclass
class StudyConfig:
    path: Path
    name: str
    description: str
    seed: int
    batch_size: int | str
    device: str | None
    apply_chat_template: bool
    data: dict[str, str]
    options: dict[str, dict[str, Any]]
    selection: dict[str, Any]
    """Active-prompt selection settings: k, n, pool_size, uncertainty, temperature."""
    models: dict[str, ModelSpec]
    cells: list[Cell]
    comparisons: list[Comparison]
    published_label: str
    published: dict[str, dict[str, float]]
    """``{cell id: {metric: value}}``: the figures the original study reported, shown beside ours."""
    raw: dict[str, Any]
    seeds: tuple[int, ...] = ()
    """Every seed of ``seeds: [...]`` (the first is ``seed``): sampled cells run once per seed, greedy
    cells once."""
    correction: str = "holm"
    """``correction:`` of the config, over all the study's tests: ``holm`` (family-wise error) or ``bh``
    (Benjamini-Hochberg, false discovery rate); ``summeval.stats.CORRECTIONS``."""
    executor: str = "local"
    """``executor:`` of the config (``EXECUTORS``); ``summeval study --executor`` overrides it."""
    ray_address: str | None = None
    """``ray_address:`` of the config: the Ray cluster to connect to (None: start one on this machine)."""
    origin: str = ""
    """Where the plan came from, as its error messages name it: empty for a config file (``study config
    PATH``); ``summeval compare`` for compare's one-model plan."""

    @property
    def where(self) -> str:
        """What an error message names as the plan's source: ``study config PATH`` or the command."""
        return self.origin or f"study config {self.path}"

    def cell(self, cell_id: str) -> Cell:
        return next(c for c in self.cells if c.id == cell_id)

    def families(self) -> list[TaskFamily]:
        """The families of the study's cells, in the order they first appear."""
        return list(dict.fromkeys(c.family for c in self.cells))

    def metadata(self, family: TaskFamily) -> dict[str, Any]:
        """The ``--metadata`` of a cell of ``family``: every strategy option and the family's data source.

        A strategy with a ``seed`` option (fewshot's exemplar choice) gets the study's seed unless the
        config's options give it one."""
        from prompt_strategies.registry import strategies

        metadata: dict[str, Any] = {name: dict(opts) for name, opts in self.options.items()}
        for name, strategy in strategies().items():
            if "seed" in strategy.option_help():
                metadata.setdefault(name, {}).setdefault("seed", self.seed)
        if family.data_key and family.name in self.data:
            metadata[family.data_key] = self.data[family.name]
        return metadata
