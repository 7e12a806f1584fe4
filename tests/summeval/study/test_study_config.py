"""Study configs (``load_study``): a minimal config, aliases, expansion, limits and samples, relative paths,
settings; a bad config names the field; the shipped configs load."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REPO

from prompt_strategies.registry import applicable_strategies, get_family, task_table
from summeval.study.config import load_study
from summeval.study.plan import StudyConfigError

STUDIES = REPO / "studies"


def _write(folder: Path, tree: Any, name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


def _minimal() -> dict[str, Any]:
    return {
        "name": "demo",
        "models": {"base": {"pretrained": "embedded"}},
        "evaluations": [
            {"model": "base", "tasks": ["tweetsumm_zero"]},
            {"model": "base", "family": "sports_understanding", "strategies": ["answer_only", "cot"]},
        ],
        "comparisons": [{"a": "base/sports_understanding_answer_only", "b": "base/sports_understanding_cot"}],
    }


# --- valid configs --------------------------------------------------------------------------------------


def test_minimal_config_loads(tmp_path):
    config = load_study(_write(tmp_path, _minimal()))
    assert config.name == "demo"
    assert list(config.models) == ["base"]
    spec = config.models["base"]
    assert (spec.pretrained, spec.backend, spec.adapter, spec.recipe) == ("embedded", "hf", None, None)
    assert [c.id for c in config.cells] == [
        "base/tweetsumm_zero",
        "base/sports_understanding_answer_only",
        "base/sports_understanding_cot",
    ]
    assert all(c.id == f"{c.model}/{c.task}" for c in config.cells)
    assert [(c.a, c.b) for c in config.comparisons] == [
        ("base/sports_understanding_answer_only", "base/sports_understanding_cot")
    ]
    assert (
        config.comparisons[0].label
        == "base/sports_understanding_answer_only vs base/sports_understanding_cot"
    )
    # the defaults
    assert (config.seed, config.batch_size, config.device, config.apply_chat_template) == (
        1234,
        1,
        None,
        False,
    )
    assert config.selection["k"] == 5 and config.selection["temperature"] == 0.7
    assert config.published == {} and config.published_label == "published"


def test_task_alias_maps_to_its_family_and_strategy(tmp_path):
    config = load_study(_write(tmp_path, _minimal()))
    cell = config.cell("base/tweetsumm_zero")
    entry = task_table()["tweetsumm_zero"]
    assert (entry["family"], entry["strategy"]) == ("tweetsumm", "answer_only")
    assert (cell.family.name, cell.strategy.name) == ("tweetsumm", "answer_only")


@pytest.mark.parametrize("family", ["tweetsumm", "sports_understanding"])
@pytest.mark.parametrize("strategies", ["all", None])
def test_all_strategies_expand_to_every_applicable_one(tmp_path, family, strategies):
    tree = _minimal()
    evaluation: dict[str, Any] = {"model": "base", "family": family}
    if strategies is not None:  # left out means all
        evaluation["strategies"] = strategies
    tree["evaluations"] = [evaluation]
    tree.pop("comparisons")
    config = load_study(_write(tmp_path, tree))
    expected = applicable_strategies(get_family(family))
    assert expected
    assert [c.strategy.name for c in config.cells] == list(expected)
    assert all(c.family.name == family and c.model == "base" for c in config.cells)
    table = task_table()
    for cell in config.cells:
        assert (table[cell.task]["family"], table[cell.task]["strategy"]) == (family, cell.strategy.name)


def test_evaluation_limit_overrides_the_top_level_one(tmp_path):
    tree = _minimal()
    tree["limit"] = 10
    tree["evaluations"][1]["limit"] = 3
    tree["comparisons"] = []
    config = load_study(_write(tmp_path, tree))
    assert {c.id: c.limit for c in config.cells} == {
        "base/tweetsumm_zero": 10,
        "base/sports_understanding_answer_only": 3,
        "base/sports_understanding_cot": 3,
    }


def test_an_evaluation_sample_replaces_the_top_level_limit(tmp_path):
    tree = _minimal()
    tree["limit"] = 10
    tree["evaluations"][1]["sample"] = 4
    config = load_study(_write(tmp_path, tree))
    assert {c.id: (c.limit, c.sample) for c in config.cells} == {
        "base/tweetsumm_zero": (10, None),
        "base/sports_understanding_answer_only": (None, 4),
        "base/sports_understanding_cot": (None, 4),
    }


def test_limit_and_sample_together_are_refused(tmp_path):
    tree = _minimal()
    tree["evaluations"][1].update(limit=3, sample=4)
    with pytest.raises(StudyConfigError, match=r"evaluations\[1\]: give limit .* or sample .*not both"):
        load_study(_write(tmp_path, tree))


def test_comparison_of_different_samples_is_refused(tmp_path):
    tree = _minimal()
    tree["evaluations"][1]["sample"] = 5
    tree["evaluations"].append({"model": "base", "tasks": ["sports_understanding_fewshot"], "sample": 6})
    tree["comparisons"] = [{"a": "base/sports_understanding_cot", "b": "base/sports_understanding_fewshot"}]
    with pytest.raises(StudyConfigError, match=r"comparisons\[0\]: .*not scored on the same items"):
        load_study(_write(tmp_path, tree))


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    tree = _minimal()
    tree["models"]["tuned"] = {
        "pretrained": "embedded",
        "recipe": "recipes/lora.yaml",
        "adapter": "../adapters/tuned",
        "recipe_set": ["training.batch_size=2"],
        "max_steps": 5,
    }
    tree["models"]["local"] = {"pretrained": "./models/tiny"}
    path = _write(folder, tree)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the config's folder
    config = load_study(path)
    tuned = config.models["tuned"]
    assert tuned.recipe == (folder / "recipes" / "lora.yaml").resolve()
    assert tuned.adapter == (tmp_path / "adapters" / "tuned").resolve()
    assert tuned.recipe_set == ("training.batch_size=2",)
    assert tuned.max_steps == 5
    assert config.models["local"].pretrained == str((folder / "models" / "tiny").resolve())
    assert config.models["base"].pretrained == "embedded"


def test_settings_are_read(tmp_path):
    tree = _minimal()
    tree.update(
        seed=7,
        batch_size="auto:4",
        device="cpu",
        apply_chat_template=True,
        active_prompt={"k": 3, "temperature": 1.0},
        published={"label": "paper", "cells": {"base/sports_understanding_cot": {"acc": 0.75}}},
    )
    tree["models"]["base"]["model_args"] = {"dtype": "float32", "revision": "main"}
    config = load_study(_write(tmp_path, tree))
    assert (config.seed, config.batch_size, config.device, config.apply_chat_template) == (
        7,
        "auto:4",
        "cpu",
        True,
    )
    assert config.selection == {"k": 3, "n": 4, "pool_size": None, "uncertainty": None, "temperature": 1.0}
    assert config.published_label == "paper"
    assert config.published == {"base/sports_understanding_cot": {"acc": 0.75}}
    assert dict(config.models["base"].model_args) == {"dtype": "float32", "revision": "main"}


# --- bad configs ----------------------------------------------------------------------------------------


def _set(*keys_and_value):
    """A change to the minimal config: set the value at the path ``keys`` (the last argument is the value)."""
    *keys, value = keys_and_value

    def change(tree):
        node = tree
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _drop(*keys):
    def change(tree):
        node = tree
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def _rename_models(tree):
    tree["modles"] = tree.pop("models")


def _second_model_of_another_family(tree):
    tree["comparisons"] = [{"a": "base/tweetsumm_zero", "b": "base/sports_understanding_cot"}]


BAD = [
    # (id, change, field named, another part of the message)
    ("unknown-top-field", _rename_models, "modles", "did you mean 'models'"),
    ("missing-name", _drop("name"), "name", "is required"),
    ("missing-models", _drop("models"), "models", "is required"),
    ("missing-evaluations", _drop("evaluations"), "evaluations", "is required"),
    ("name-with-slash", _set("name", "a/b"), "name", "'a/b'"),
    ("negative-seed", _set("seed", -1), "seed", "at least 0"),
    ("seed-and-seeds", lambda t: t.update(seed=1, seeds=[1, 2]), "seeds", "not both"),
    ("seeds-not-a-list", lambda t: (t.pop("seed", None), t.update(seeds=3)), "seeds", "non-empty list"),
    ("seeds-empty", lambda t: (t.pop("seed", None), t.update(seeds=[])), "seeds", "non-empty list"),
    ("seeds-repeated", lambda t: (t.pop("seed", None), t.update(seeds=[4, 5, 4])), "seeds", "lists 4 twice"),
    ("seeds-negative", lambda t: (t.pop("seed", None), t.update(seeds=[4, -5])), "seeds[1]", "at least 0"),
    ("zero-limit", _set("limit", 0), "limit", "at least 1"),
    ("zero-batch-size", _set("batch_size", 0), "batch_size", "not a batch size"),
    ("word-batch-size", _set("batch_size", "big"), "batch_size", "not a batch size"),
    ("chat-template-string", _set("apply_chat_template", "yes"), "apply_chat_template", "true or false"),
    ("no-models", _set("models", {}), "models", "names no model"),
    (
        "model-without-pretrained",
        _set("models", "base", {"backend": "hf"}),
        "models.base.pretrained",
        "required",
    ),
    ("unknown-model-field", _set("models", "base", "adaptor", "x"), "models.base.adaptor", "did you mean"),
    ("tgi-backend", _set("models", "base", "backend", "tgi"), "models.base.backend", "'tgi'"),
    (
        "peft-in-model-args",
        _set("models", "base", "model_args", {"peft": "x"}),
        "models.base.model_args.peft",
        "",
    ),
    (
        "lora-path-in-model-args",
        _set("models", "base", "model_args", {"lora_local_path": "x"}),
        "models.base.model_args.lora_local_path",
        "",
    ),
    (
        "recipe-set-without-recipe",
        _set("models", "base", "recipe_set", ["a=1"]),
        "models.base.recipe",
        "required",
    ),
    (
        "recipe-set-not-pairs",
        _set("models", "base", "recipe_set", ["a"]),
        "models.base.recipe_set",
        "field=value",
    ),
    (
        "zero-max-steps",
        _set("models", "base", {"pretrained": "embedded", "recipe": "r.yaml", "max_steps": 0}),
        "models.base.max_steps",
        "at least 1",
    ),
    ("no-evaluations", _set("evaluations", []), "evaluations", "non-empty list"),
    ("unknown-model", _set("evaluations", 0, "model", "tuned"), "evaluations[0].model", "'tuned'"),
    ("unknown-evaluation-field", _set("evaluations", 0, "task", "x"), "evaluations[0].task", "did you mean"),
    (
        "unknown-task",
        _set("evaluations", 0, "tasks", ["tweetsumm_zer"]),
        "evaluations[0].tasks",
        "'tweetsumm_zero'",
    ),
    ("tasks-not-a-list", _set("evaluations", 0, "tasks", "tweetsumm_zero"), "evaluations[0].tasks", "list"),
    (
        "strategy-not-applicable",
        _set("evaluations", 1, {"model": "base", "family": "tweetsumm", "strategies": ["cot"]}),
        "evaluations[1].strategies",
        "'cot' does not apply to tweetsumm",
    ),
    ("unknown-family", _set("evaluations", 1, "family", "sport"), "evaluations[1].family", "'sport'"),
    ("tasks-and-family", _set("evaluations", 0, "family", "tweetsumm"), "evaluations[0]", "either"),
    ("neither-tasks-nor-family", _drop("evaluations", 0, "tasks"), "evaluations[0]", "either"),
    ("zero-evaluation-limit", _set("evaluations", 0, "limit", 0), "evaluations[0].limit", "at least 1"),
    (
        "cell-twice",
        _set("evaluations", 0, "tasks", ["sports_understanding_cot"]),
        "evaluations[1]",
        "base/sports_understanding_cot is listed twice",
    ),
    ("comparison-missing-cell", _set("comparisons", 0, "a", "base/nope"), "comparisons[0].a", "'base/nope'"),
    ("comparison-missing-b", _set("comparisons", 0, "b", "other/x"), "comparisons[0].b", "'other/x'"),
    (
        "comparison-families",
        _second_model_of_another_family,
        "comparisons[0]",
        "not scored on the same items",
    ),
    (
        "comparison-cell-not-evaluated",
        _set("evaluations", 1, "strategies", ["answer_only"]),
        "comparisons[0].b",
        "not a cell",
    ),
    (
        "published-missing-cell",
        _set("published", {"cells": {"base/nope": {"acc": 0.5}}}),
        "published.cells.base/nope",
        "not a cell",
    ),
    (
        "published-unknown-metric",
        _set("published", {"cells": {"base/tweetsumm_zero": {"acc": 0.5}}}),
        "published.cells.base/tweetsumm_zero.acc",
        "not a metric",
    ),
    (
        "published-not-a-number",
        _set("published", {"cells": {"base/tweetsumm_zero": {"rouge1": "high"}}}),
        "published.cells.base/tweetsumm_zero.rouge1",
        "number",
    ),
    (
        "zero-equivalence-margin",
        _set("comparisons", 0, "equivalence_margin", 0),
        "comparisons[0].equivalence_margin",
        "above 0 and at most 1",
    ),
    (
        "text-equivalence-margin",
        _set("comparisons", 0, "equivalence_margin", "2 points"),
        "comparisons[0].equivalence_margin",
        "number",
    ),
    (
        "unknown-correction",
        _set("correction", "bonferroni"),
        "correction",
        "one of holm, bh, got str 'bonferroni'",
    ),
    ("zero-temperature", _set("active_prompt", {"temperature": 0}), "active_prompt.temperature", "above 0"),
    ("zero-k", _set("active_prompt", {"k": 0}), "active_prompt.k", "at least 1"),
    ("unknown-selection-field", _set("active_prompt", {"kk": 2}), "active_prompt.kk", "did you mean 'k'"),
]


@pytest.mark.parametrize(("change", "field", "detail"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_field(tmp_path, change, field, detail):
    tree = copy.deepcopy(_minimal())
    change(tree)
    path = _write(tmp_path, tree)
    with pytest.raises(StudyConfigError) as caught:
        load_study(path)
    message = str(caught.value)
    assert message.startswith(f"study config {path}: {field}: "), message
    assert detail in message
    assert "\n" not in message


def test_correction_and_equivalence_margins_are_read(tmp_path):
    tree = _minimal()
    assert load_study(_write(tmp_path, tree)).correction == "holm"
    assert load_study(_write(tmp_path, tree)).comparisons[0].equivalence_margin is None
    tree["correction"] = "bh"
    tree["comparisons"][0]["equivalence_margin"] = 0.02
    config = load_study(_write(tmp_path, tree))
    assert config.correction == "bh" and config.comparisons[0].equivalence_margin == 0.02


def test_seeds_list_sets_the_first_as_the_seed(tmp_path):
    tree = copy.deepcopy(_minimal())
    tree.pop("seed", None)
    tree["seeds"] = [11, 3, 7]
    config = load_study(_write(tmp_path, tree))
    assert config.seed == 11 and config.seeds == (11, 3, 7)
    assert load_study(_write(tmp_path, _minimal(), "one.yaml")).seeds == (1234,)  # the default seed


def test_comparison_of_different_limits_is_refused(tmp_path):
    tree = _minimal()
    tree["evaluations"][1]["limit"] = 5
    tree["evaluations"].append({"model": "base", "tasks": ["sports_understanding_fewshot"], "limit": 6})
    tree["comparisons"] = [{"a": "base/sports_understanding_cot", "b": "base/sports_understanding_fewshot"}]
    path = _write(tmp_path, tree)
    with pytest.raises(StudyConfigError, match=r"comparisons\[0\]: .*not scored on the same items"):
        load_study(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(StudyConfigError) as caught:
        load_study(path)
    assert str(caught.value) == f"study config {path} does not exist"


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(StudyConfigError) as caught:
        load_study(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"study config {tmp_path} ") and "is a folder" in message


def test_invalid_yaml(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("name: demo\nmodels: [unclosed\n  evaluations: {\n", encoding="utf-8")
    with pytest.raises(StudyConfigError) as caught:
        load_study(path)
    message = str(caught.value)
    assert message.startswith(f"study config {path} is not valid YAML")
    assert "\n" not in message


@pytest.mark.parametrize("text", ["- name: demo\n- models: {}\n", "just words\n", ""])
def test_top_level_must_be_a_mapping(tmp_path, text):
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StudyConfigError) as caught:
        load_study(path)
    assert str(caught.value).startswith(f"study config {path}: the file: must be a mapping")


# --- the shipped configs --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["embedded.yaml", "seed.yaml"])
def test_shipped_config_loads(name):
    config = load_study(STUDIES / name)
    assert config.models
    assert config.cells
    assert {c.family.name for c in config.cells} >= {"tweetsumm", "sports_understanding"}
    assert {c.model for c in config.cells} <= set(config.models)
    ids = {c.id for c in config.cells}
    assert len(ids) == len(config.cells)
    for comparison in config.comparisons:
        assert comparison.a in ids and comparison.b in ids
        assert config.cell(comparison.a).family == config.cell(comparison.b).family
    assert set(config.published) <= ids


def test_the_example_study_configs_and_recipes_still_load():
    from summeval.study.config import load_study
    from summeval.training.recipe import load_recipe

    repo = REPO
    for config in sorted((repo / "studies").glob("*.yaml")):
        load_study(config)
    for recipe in sorted((repo / "adapters").glob("*.yaml")):
        load_recipe(recipe)
