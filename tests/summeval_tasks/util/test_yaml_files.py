"""YAML as our configs read it (``summeval_tasks.util.yaml_files``): merge keys and a few aliases are fine."""

from __future__ import annotations


def test_yaml_merge_keys_and_a_few_aliases_are_fine(tmp_path):
    from summeval_tasks.util.yaml_files import load_yaml_text

    text = "base: &b {r: 8}\nlora: {<<: *b, r: 16}\nlist: [*b, *b]\n"
    assert load_yaml_text(text, ValueError, "x") == {
        "base": {"r": 8},
        "lora": {"r": 16},
        "list": [{"r": 8}] * 2,
    }
