"""A study config (``studies/*.yaml``): models, the evaluations to run on them, the comparisons to test.

Reading one checks its whole structure and names the first wrong field (``models.base.backend``), so a
bad config is refused before any model loads. The checks that need the data, the recipes or the
adapters on disk come after, in ``summeval.study.check_inputs``; both run before the first cell.

Relative paths (recipes, adapters, local data) are read relative to the config file's folder.

About 400 lines on purpose: one small reader per section of the file (models, evaluations,
comparisons, published figures), each naming the field it refuses; they share the ``_Reader``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summeval.stats import CORRECTIONS
from summeval.study.plan import (
    BACKENDS,
    EMBEDDED,
    EXECUTORS,
    Cell,
    Comparison,
    ModelSpec,
    StudyConfig,
    StudyConfigError,
)
from summeval.study.selection import Selection
from summeval_tasks.util import bounds
from summeval_tasks.util.settings import SettingError, check_device, check_dtype

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_TOP = {
    "name",
    "description",
    "seed",
    "seeds",
    "limit",
    "sample",
    "batch_size",
    "device",
    "apply_chat_template",
    "data",
    "options",
    "active_prompt",
    "models",
    "evaluations",
    "comparisons",
    "correction",
    "executor",
    "ray_address",
    "published",
}
_MODEL_KEYS = {
    "pretrained",
    "backend",
    "model_args",
    "adapter",
    "recipe",
    "recipe_set",
    "max_steps",
    "train_processes",
}
_EVALUATION_KEYS = {"model", "tasks", "family", "strategies", "limit", "sample"}
# A study config's active_prompt: keys, with the defaults of the one Selection dataclass.
_SELECTION = Selection().study_settings()


class _Reader:
    """Typed field access that names the file and the field in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> StudyConfigError:
        return StudyConfigError(f"study config {self.path}: {where}: {message}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"must be a mapping, got {_shown(value)}")
        return dict(value)

    def keys(self, tree: Mapping[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(str(k) for k in set(tree) - allowed)
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(allowed))}"
            prefix = f"{where}." if where else ""
            raise self.fail(f"{prefix}{unknown[0]}", f"unknown field{hint}")

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"must be a non-empty string, got {_shown(value)}")
        return value

    def integer(self, value: Any, where: str, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be an integer, got {_shown(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(where, f"{value} is out of range; it must be at least {minimum}")
        return value

    def bounded(self, value: Any, where: str, allowed: bounds.Range) -> int | float:
        """A number in ``allowed`` (``summeval_tasks.util.bounds``): an integer where it takes integers."""
        if allowed.integer:
            self.integer(value, where)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"must be a number, got {_shown(value)}")
        if not allowed.accepts(value):
            raise self.fail(where, f"{value!r} is out of range; it must be {allowed.right}")
        return value

    def setting(self, check: Any, value: Any, where: str) -> str:
        """``value`` passed through a ``summeval_tasks.util.settings`` check (dtype, device), named here."""
        try:
            return check(value, where)
        except SettingError as err:
            raise StudyConfigError(f"study config {self.path}: {err}") from None

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, got {_shown(value)}")
        return value

    def name(self, value: Any, where: str) -> str:
        text = self.string(value, where)
        if not _NAME.match(text):
            raise self.fail(where, f"{text!r} must be letters, digits, '_', '.' or '-' (it names a folder)")
        if len(text) > bounds.NAME_LENGTH:
            raise self.fail(where, bounds.check_message(text))
        return text

    def path_value(self, value: Any, where: str) -> Path:
        path = Path(self.string(value, where)).expanduser()
        return path if path.is_absolute() else (self.path.parent / path).resolve()


def _seeds(where: _Reader, tree: Mapping[str, Any]) -> tuple[int, tuple[int, ...]]:
    """``seed: N`` or ``seeds: [N, ...]`` (distinct; the first is the seed of the reported cells)."""
    if "seeds" not in tree:
        seed = where.bounded(tree.get("seed", bounds.DEFAULT_SEED), "seed", bounds.SEED)
        return seed, (seed,)
    if "seed" in tree:
        raise where.fail("seeds", "give seed (one) or seeds (a list), not both")
    listed = tree["seeds"]
    if not isinstance(listed, list) or not listed:
        raise where.fail("seeds", f"must be a non-empty list of integers, got {_shown(listed)}")
    seeds = tuple(where.bounded(value, f"seeds[{i}]", bounds.SEED) for i, value in enumerate(listed))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise where.fail("seeds", f"lists {repeated[0]} twice; each seed once")
    return seeds[0], seeds


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if value is not None else "nothing"


def load_study(path: str | Path) -> StudyConfig:
    """Read and check a study config; raise ``StudyConfigError`` naming the first wrong field."""
    from summeval_tasks.util.yaml_files import load_yaml_file

    path = Path(path).expanduser()
    where = _Reader(path)
    if not path.exists():
        raise StudyConfigError(f"study config {path} does not exist")
    if path.is_dir():
        raise StudyConfigError(f"study config {path} is a folder; give a YAML file")
    tree = load_yaml_file(path, StudyConfigError, "study config")
    tree = where.mapping(tree, "the file")
    where.keys(tree, _TOP, "")
    for required in ("name", "models", "evaluations"):
        if required not in tree:
            raise where.fail(required, "is required")
    name = where.name(tree["name"], "name")
    seed, seeds = _seeds(where, tree)
    default_limit = _limit(where, tree.get("limit"), "limit")
    default_sample = _limit(where, tree.get("sample"), "sample")
    batch_size = _batch_size(where, tree.get("batch_size", 1))
    device = (
        where.setting(check_device, where.string(tree["device"], "device"), "device")
        if tree.get("device") is not None
        else None
    )
    chat = where.boolean(tree.get("apply_chat_template", False), "apply_chat_template")
    data_tree = where.mapping(tree.get("data") or {}, "data")
    where.keys(data_tree, set(_family_names()), "data")
    data = {family: _data_source(where, value, f"data.{family}") for family, value in data_tree.items()}
    options_tree = where.mapping(tree.get("options") or {}, "options")
    where.keys(options_tree, set(_strategy_names()), "options")
    options = {
        strategy: _options(where, value, f"options.{strategy}") for strategy, value in options_tree.items()
    }
    selection = _selection(where, tree.get("active_prompt") or {})
    models = {
        where.name(model_name, "models"): _model(where, model_name, value)
        for model_name, value in where.mapping(tree["models"], "models").items()
    }
    if not models:
        raise where.fail("models", "names no model")
    cells = _cells(where, tree["evaluations"], models, default_limit, default_sample)
    comparisons = _comparisons(where, tree.get("comparisons") or [], cells)
    published_label, published = _published(where, tree.get("published") or {}, cells)
    correction = tree.get("correction", "holm")
    if correction not in CORRECTIONS:
        raise where.fail("correction", f"must be one of {', '.join(CORRECTIONS)}, got {_shown(correction)}")
    executor = tree.get("executor", "local")
    if executor not in EXECUTORS:
        raise where.fail("executor", f"must be one of {', '.join(EXECUTORS)}, got {_shown(executor)}")
    ray_address = where.string(tree["ray_address"], "ray_address") if tree.get("ray_address") else None
    return StudyConfig(
        path=path,
        name=name,
        description=str(tree.get("description") or ""),
        seed=seed,
        batch_size=batch_size,
        device=device,
        apply_chat_template=chat,
        data=data,
        options=options,
        selection=selection,
        models=models,
        cells=cells,
        comparisons=comparisons,
        published_label=published_label,
        published=published,
        raw=tree,
        seeds=seeds,
        correction=correction,
        executor=executor,
        ray_address=ray_address,
    )


def _options(where: _Reader, value: Any, field_name: str) -> dict[str, Any]:
    """A strategy's options; a file option (``exemplars_file``) found beside the config is made absolute."""
    options = where.mapping(value, field_name)
    for name, setting in options.items():
        if str(name).endswith("_file") and isinstance(setting, str) and setting:
            beside = where.path_value(setting, f"{field_name}.{name}")
            if beside.is_file():
                options[name] = str(beside)
    return options


def _family_names() -> list[str]:
    from prompt_strategies.registry import families

    return list(families())


def _strategy_names() -> list[str]:
    from prompt_strategies.registry import strategies

    return list(strategies())


def _limit(where: _Reader, value: Any, field_name: str) -> int | None:
    return None if value is None else where.bounded(value, field_name, bounds.ITEMS)


def _batch_size(where: _Reader, value: Any) -> int | str:
    if isinstance(value, str) and (value == "auto" or re.fullmatch(r"auto:[1-9][0-9]*", value)):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise where.fail("batch_size", f"{value!r} is not a batch size: use a positive integer or auto")


def _data_source(where: _Reader, value: Any, field_name: str) -> str:
    from summeval_tasks.sports.generated import is_spec

    text = where.string(value, field_name)
    if text in ("hub", "sample", "bigbench") or is_spec(text):
        return text  # a named source (a malformed generated spec is named by check_inputs)
    candidate = where.path_value(text, field_name)
    return str(candidate) if candidate.exists() else text  # a missing path is named by check_inputs


def _selection(where: _Reader, value: Any) -> dict[str, Any]:
    tree = where.mapping(value, "active_prompt")
    where.keys(tree, set(_SELECTION), "active_prompt")
    selection = {**_SELECTION, **tree}
    from prompt_strategies.active_prompt import SELECTION_RANGES

    for key, allowed in SELECTION_RANGES.items():
        if selection.get(key) is not None:
            where.bounded(selection[key], f"active_prompt.{key}", allowed)
    if selection["uncertainty"] is not None:
        where.string(selection["uncertainty"], "active_prompt.uncertainty")
    return selection


def _model(where: _Reader, name: str, value: Any) -> ModelSpec:
    at = f"models.{name}"
    tree = where.mapping(value, at)
    where.keys(tree, _MODEL_KEYS, at)
    if "pretrained" not in tree:
        raise where.fail(f"{at}.pretrained", f"is required: a hub id, a local folder, or {EMBEDDED}")
    pretrained = where.string(tree["pretrained"], f"{at}.pretrained")
    if pretrained != EMBEDDED and (pretrained.startswith((".", "/", "~"))):
        pretrained = str(where.path_value(pretrained, f"{at}.pretrained"))
    backend = tree.get("backend", "hf")
    if backend not in BACKENDS:
        raise where.fail(
            f"{at}.backend", f"{backend!r} is not a backend; choose one of {', '.join(BACKENDS)}"
        )
    model_args = where.mapping(tree.get("model_args") or {}, f"{at}.model_args")
    for reserved in ("pretrained", "peft", "lora_local_path"):
        if reserved in model_args:
            raise where.fail(
                f"{at}.model_args.{reserved}",
                "is set by the study; use the model's pretrained/adapter fields",
            )
    rank = model_args.get("max_lora_rank")
    if rank is not None:
        where.bounded(rank, f"{at}.model_args.max_lora_rank", bounds.LORA_RANK)
    if model_args.get("dtype") is not None:
        where.setting(check_dtype, model_args["dtype"], f"{at}.model_args.dtype")
    if model_args.get("device") is not None:
        where.setting(check_device, model_args["device"], f"{at}.model_args.device")
    recipe = where.path_value(tree["recipe"], f"{at}.recipe") if tree.get("recipe") is not None else None
    adapter = where.path_value(tree["adapter"], f"{at}.adapter") if tree.get("adapter") is not None else None
    recipe_set = tree.get("recipe_set") or []
    if not isinstance(recipe_set, list) or not all(isinstance(s, str) and "=" in s for s in recipe_set):
        raise where.fail(f"{at}.recipe_set", "must be a list of 'field=value' strings")
    max_steps = tree.get("max_steps")
    if max_steps is not None:
        where.bounded(max_steps, f"{at}.max_steps", bounds.STEPS)
    train_processes = tree.get("train_processes", 1)
    where.bounded(train_processes, f"{at}.train_processes", bounds.PROCESSES)
    if (recipe_set or max_steps is not None or train_processes != 1) and recipe is None:
        raise where.fail(
            f"{at}.recipe",
            "is required with recipe_set, max_steps or train_processes (they set up its training)",
        )
    return ModelSpec(
        name=name,
        pretrained=pretrained,
        backend=backend,
        model_args=model_args,
        adapter=adapter,
        recipe=recipe,
        recipe_set=tuple(recipe_set),
        max_steps=max_steps,
        train_processes=train_processes,
    )


def _cells(
    where: _Reader,
    value: Any,
    models: Mapping[str, ModelSpec],
    default_limit: int | None,
    default_sample: int | None = None,
) -> list[Cell]:
    from prompt_strategies.registry import (
        applicable_strategies,
        families,
        strategies,
        task_name,
        task_table,
        unknown_task,
    )

    if not isinstance(value, list) or not value:
        raise where.fail(
            "evaluations", "must be a non-empty list of {model, tasks} or {model, family, strategies}"
        )
    table = task_table()
    cells: list[Cell] = []
    for i, entry in enumerate(value):
        at = f"evaluations[{i}]"
        entry = where.mapping(entry, at)
        where.keys(entry, _EVALUATION_KEYS, at)
        model = entry.get("model")
        if not isinstance(model, str) or model not in models:
            raise where.fail(f"{at}.model", f"{model!r} is not one of the models: {', '.join(models)}")
        # An entry's own limit or sample replaces the study's default of either.
        own = "limit" in entry or "sample" in entry
        limit = _limit(where, entry.get("limit", None if own else default_limit), f"{at}.limit")
        sample = _limit(where, entry.get("sample", None if own else default_sample), f"{at}.sample")
        if limit is not None and sample is not None:
            raise where.fail(at, "give limit (the first n items) or sample (a seeded sample of n), not both")
        if ("tasks" in entry) == ("family" in entry):
            raise where.fail(at, "give either tasks (a list of task names) or family and strategies")
        if "tasks" in entry:
            tasks = entry["tasks"]
            if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
                raise where.fail(f"{at}.tasks", "must be a non-empty list of task names")
            for task in tasks:
                if task not in table:
                    raise where.fail(f"{at}.tasks", unknown_task(task))
            pairs = [(t, families()[table[t]["family"]], strategies()[table[t]["strategy"]]) for t in tasks]
        else:
            family_name = entry["family"]
            known = families()
            if not isinstance(family_name, str) or family_name not in known:
                raise where.fail(
                    f"{at}.family", f"{family_name!r} is not a family; known: {', '.join(known)}"
                )
            family = known[family_name]
            names = entry.get("strategies", "all")
            if names == "all":
                names = applicable_strategies(family)
            if not isinstance(names, list) or not names or not all(isinstance(s, str) for s in names):
                raise where.fail(f"{at}.strategies", "must be all or a non-empty list of strategy names")
            for strategy in names:
                if strategy not in strategies():
                    raise where.fail(
                        f"{at}.strategies",
                        f"{strategy!r} is not a strategy; known: {', '.join(strategies())}",
                    )
                if not strategies()[strategy].applies_to(family):
                    raise where.fail(
                        f"{at}.strategies",
                        f"{strategy!r} does not apply to {family_name}; those that do: "
                        f"{', '.join(applicable_strategies(family))}",
                    )
            pairs = [(task_name(s, family_name), family, strategies()[s]) for s in names]
        for task, family, strategy in pairs:
            cell = Cell(model=model, task=task, family=family, strategy=strategy, limit=limit, sample=sample)
            if any(c.id == cell.id for c in cells):
                raise where.fail(at, f"cell {cell.id} is listed twice")
            cells.append(cell)
    return cells


def _comparisons(where: _Reader, value: Any, cells: list[Cell]) -> list[Comparison]:
    if not isinstance(value, list):
        raise where.fail("comparisons", "must be a list of {label, a, b} (and equivalence_margin)")
    by_id = {c.id: c for c in cells}
    comparisons = []
    for i, entry in enumerate(value):
        at = f"comparisons[{i}]"
        entry = where.mapping(entry, at)
        where.keys(entry, {"label", "a", "b", "equivalence_margin"}, at)
        for side in ("a", "b"):
            if not isinstance(entry.get(side), str) or entry.get(side) not in by_id:
                raise where.fail(
                    f"{at}.{side}",
                    f"{entry.get(side)!r} is not a cell of this study (cells are <model>/<task>)",
                )
        a, b = by_id[entry["a"]], by_id[entry["b"]]
        if a.id == b.id:
            raise where.fail(at, f"compares {a.id} with itself; name two different cells as a and b")
        if a.family != b.family or a.limit != b.limit or a.sample != b.sample:
            raise where.fail(
                at,
                f"{a.id} and {b.id} are not scored on the same items (family, limit and sample must match)",
            )
        label = where.string(entry.get("label") or f"{a.id} vs {b.id}", f"{at}.label")
        margin = entry.get("equivalence_margin")
        if margin is not None:
            margin = float(where.bounded(margin, f"{at}.equivalence_margin", bounds.EQUIVALENCE_MARGIN))
        comparisons.append(Comparison(label=label, a=a.id, b=b.id, equivalence_margin=margin))
    return comparisons


def _published(where: _Reader, value: Any, cells: list[Cell]) -> tuple[str, dict[str, dict[str, float]]]:
    tree = where.mapping(value, "published")
    where.keys(tree, {"label", "cells"}, "published")
    by_id = {c.id: c for c in cells}
    published: dict[str, dict[str, float]] = {}
    for cell_id, figures in where.mapping(tree.get("cells") or {}, "published.cells").items():
        at = f"published.cells.{cell_id}"
        if cell_id not in by_id:
            raise where.fail(at, "is not a cell of this study (cells are <model>/<task>)")
        metrics = by_id[cell_id].family.reported_metrics
        figures = where.mapping(figures, at)
        for metric, number in figures.items():
            if metric not in metrics:
                raise where.fail(
                    f"{at}.{metric}", f"is not a metric of the family; known: {', '.join(metrics)}"
                )
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise where.fail(f"{at}.{metric}", f"must be a finite number, got {_shown(number)}")
        published[cell_id] = {m: float(v) for m, v in figures.items()}
    return str(tree.get("label") or "published"), published
