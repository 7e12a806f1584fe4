"""The second stage's label words from one encoding of their prompt (``summeval.lm_eval.label_scores``):
the same scores as lm-eval's ``HFLM.loglikelihood``, with one forward pass over the prompt."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance

from summeval.lm_eval import label_scores, shared_prefix
from summeval_tasks.sports.family import SportsUnderstanding

_FAMILY = SportsUnderstanding()
WORDS = [f" {word}" for label in _FAMILY.choices for word in _FAMILY.answer_words[label]]
CONTEXTS = [
    'Is the following sentence plausible? "Joao Moutinho caught the screen pass in the NFC '
    "championship.\"\nLet's think step by step. Joao Moutinho is a soccer player. So the answer is",
    "<|im_start|>user\nDeShaun Watson was flagged on the play.<|im_end|>\n"
    "<|im_start|>assistant\nimplausible. So the answer is",
    "A context whose trailing space moves to the word: ",
]


def _requests(pairs):
    return [
        Instance("loglikelihood", {}, (context, word), index, ("t", index, 1))
        for index, (context, word) in enumerate(pairs)
    ]


@pytest.fixture(scope="module", params=["tiny_llama", "embedded_model"])
def lm(request):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(request.getfixturevalue(request.param)), dtype="float32", device="cpu")


# Several words of several tokens: the later ones run on copies of the prompt's cache.
LONGER_WORDS = [" implausible", " not at all likely", " yes", " hardly plausible"]


@pytest.mark.parametrize("words", [WORDS, LONGER_WORDS], ids=["label words", "longer words"])
def test_words_scored_after_one_prompt_encoding_equal_lm_evals_scores(lm, words):
    for context in CONTEXTS:
        shared = label_scores.shared_prompt_scores(lm, context, words)
        expected = [score for score, _ in lm.loglikelihood(_requests([(context, w) for w in words]))]
        assert shared == pytest.approx(expected, abs=1e-4), context


def test_the_embedded_tokenizer_splits_a_label_word(embedded_model):
    """So that the comparison above covers words of several tokens (the tiny llama's are one each)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    assert max(len(tokenizer(word, add_special_tokens=False).input_ids) for word in WORDS) > 1


def test_requests_keep_their_order_across_prompts(lm):
    pairs = [(context, word) for word in WORDS for context in CONTEXTS]  # prompts interleaved
    got = label_scores.loglikelihoods(lm, _requests(pairs))
    expected = [score for score, _ in lm.loglikelihood(_requests(pairs))]
    assert got == pytest.approx(expected, abs=1e-4)


def test_the_prompt_is_encoded_once(lm, monkeypatch):
    """Tokens through the model: one pass over the prompt and the later tokens of its first word of several
    tokens (sports: " implausible"); lm-eval's own path encodes the prompt again for that word."""
    fed = []

    def hook(module, args, kwargs, out):
        ids = kwargs.get("input_ids", args[0] if args else None)
        fed.append(int(ids.numel()))

    requests = _requests([(CONTEXTS[0], word) for word in WORDS])
    prompt = len(lm._encode_pair(CONTEXTS[0], WORDS[0])[0])
    tails = [len(lm._encode_pair(CONTEXTS[0], word)[1]) for word in WORDS]
    handle = lm.model.register_forward_hook(hook, with_kwargs=True)
    try:
        label_scores.loglikelihoods(lm, requests)
        shared = list(fed)
        fed.clear()
        monkeypatch.setenv(shared_prefix.ENABLE_ENV, "0")
        label_scores.loglikelihoods(lm, requests)
    finally:
        handle.remove()
    lead = next((n - 1 for n in tails if n > 1), 0)  # the first word of several tokens rides along
    assert shared == [prompt + lead] + ([] if sum(n > 1 for n in tails) < 2 else shared[1:2])
    assert sum(fed) >= prompt * (1 + (lead > 0))


def test_what_lm_eval_would_truncate_or_cannot_share_goes_through_lm_eval(lm, monkeypatch):
    too_long = "word " * (lm.max_length + 10)
    assert label_scores.shared_prompt_scores(lm, too_long, WORDS) is None
    assert label_scores.shared_prompt_scores(lm, "", WORDS) is None
    pairs = [(too_long[:200], word) for word in WORDS] + [("", " plausible")]
    expected = [score for score, _ in lm.loglikelihood(_requests(pairs))]
    assert label_scores.loglikelihoods(lm, _requests(pairs)) == pytest.approx(expected, abs=1e-4)
    monkeypatch.setenv(shared_prefix.ENABLE_ENV, "0")  # off: lm-eval's own scores, exactly
    assert label_scores.loglikelihoods(lm, _requests(pairs)) == expected


def test_any_other_model_is_asked_through_its_loglikelihood():
    class Model:
        asked = []

        def loglikelihood(self, requests):
            self.asked.extend(r.arguments for r in requests)
            return [(-float(i), False) for i, _ in enumerate(requests)]

    model = Model()
    assert label_scores.loglikelihoods(model, _requests([("a", " b"), ("c", " d")])) == [0.0, -1.0]
    assert model.asked == [("a", " b"), ("c", " d")]
    assert label_scores.loglikelihoods(model, []) == []
