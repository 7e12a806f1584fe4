"""Evaluating one cell (``summeval.study.evaluation``): how an output's tokens are counted to tell whether
``max_gen_toks`` cut it, with the model's own tokenizer, and nothing lost where a model has none."""

from __future__ import annotations

from types import SimpleNamespace

from summeval.study.evaluation import _token_counter


def test_outputs_are_counted_with_the_models_own_tokenizer(tiny_llama):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    count = _token_counter(SimpleNamespace(tokenizer=tokenizer))
    text = "So the answer is plausible."
    assert count(text) == len(tokenizer(text, add_special_tokens=False)["input_ids"]) > 0


def test_a_model_without_a_usable_tokenizer_leaves_truncation_unknown_instead_of_failing():
    def not_hf(text, **kwargs):
        raise TypeError("takes no add_special_tokens")

    assert _token_counter(SimpleNamespace()) is None  # an API model: no tokenizer
    assert _token_counter(SimpleNamespace(tokenizer="gpt2")) is None  # a name, not a tokenizer
    assert _token_counter(SimpleNamespace(tokenizer=not_hf)) is None
