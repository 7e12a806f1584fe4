"""Recipes: the two study recipes, overrides, errors, and the study's trainable-parameter counts."""

from __future__ import annotations

import pytest
from support import REPO

from summeval.training.recipe import Recipe, RecipeError, load_recipe

ADAPTERS = REPO / "adapters"


@pytest.mark.parametrize(("name", "rank"), [("tweetsumm-r16", 16), ("tweetsumm-r32", 32)])
def test_study_recipes_validate(name, rank):
    recipe = load_recipe(ADAPTERS / f"{name}.yaml")
    assert recipe.name == name
    assert recipe.base_model == "stabilityai/stablelm-3b-4e1t"
    assert recipe.lora.r == rank and recipe.lora.alpha == 8
    assert recipe.lora.dropout == 0.0 and recipe.lora.bias == "none"
    assert recipe.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert recipe.quantization.load_in_4bit and recipe.quantization.quant_type == "nf4"
    t = recipe.training
    assert (t.learning_rate, t.lr_scheduler, t.epochs) == (1e-4, "cosine", 5.0)
    assert t.eval_each_epoch and t.save_each_epoch


def test_overrides_are_typed():
    recipe = load_recipe(
        ADAPTERS / "tweetsumm-r16.yaml",
        ["lora.r=8", "training.learning_rate=2e-4", "lora.target_modules=q_proj,v_proj", "data=sample"],
    )
    assert recipe.lora.r == 8
    assert recipe.training.learning_rate == pytest.approx(2e-4)
    assert recipe.lora.target_modules == ["q_proj", "v_proj"]
    assert recipe.data == "sample"


def test_defaults_without_a_file():
    assert load_recipe(None) == Recipe()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lora.r=x", "lora.r must be int, got 'x'"),
        ("lora.r=2.5", "lora.r must be int"),
        ("lora.rank=3", r"unknown field\(s\) lora.rank; lora fields are alpha, bias, dropout, r"),
        ("training.loss_on=all", "training.loss_on must be summary or full"),
        ("lora.r=0", "lora.r must be a positive integer"),
        ("nonsense", "must look like section.field=value"),
        ("training.warmup_ratio=1.5", r"warmup_ratio must be in \[0, 1\)"),
        ("family=tweetsum", "family 'tweetsum' is unknown; known families: .*tweetsumm"),
    ],
)
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(ADAPTERS / "tweetsumm-r16.yaml", [override])


def test_the_family_is_tweetsumm_unless_the_recipe_names_another():
    """The default family is left out of the saved recipe: adapters and study cells recorded before the
    field existed stay current."""
    recipe = load_recipe(ADAPTERS / "tweetsumm-r16.yaml")
    assert recipe.family == "tweetsumm" and "family" not in recipe.to_dict()
    other = load_recipe(ADAPTERS / "tweetsumm-r16.yaml", ["family=sports_understanding"])
    assert other.to_dict()["family"] == "sports_understanding"


def test_bad_files(tmp_path):
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match="must hold a mapping"):
        load_recipe(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("lora: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(tmp_path / "bad.yaml")


@pytest.mark.parametrize(("rank", "expected"), [(16, 10_485_760), (32, 20_971_520)])
def test_trainable_parameters_match_the_study(rank, expected):
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from summeval.training.finetune import lora_config, stablelm_3b_4e1t_config, trainable_parameters

    recipe = load_recipe(ADAPTERS / f"tweetsumm-r{rank}.yaml")
    with torch.device("meta"):
        base = AutoModelForCausalLM.from_config(stablelm_3b_4e1t_config())
        model = get_peft_model(base, lora_config(recipe))
    assert sum(p.numel() for p in base.parameters() if not p.requires_grad) > 2.7e9  # the 2.8B base
    assert trainable_parameters(model) == expected
