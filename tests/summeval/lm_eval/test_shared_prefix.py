"""Self-consistency samples sharing one prompt encoding (``summeval.lm_eval.shared_prefix``).

Deterministic sampling (``do_sample: True, top_k: 1``) makes the shared path and lm-eval's own
comparable string for string, on a tiny random llama (causal) and a tiny random T5 (seq2seq).
Only requests summeval built (marked by ``shared_prefix.mark_ours``) share; the hand-made requests here
are marked as ours, unless a test says otherwise.
"""

from __future__ import annotations

import subprocess
import sys

import lm_eval.models.huggingface as hf
import pytest
from lm_eval.api.instance import Instance
from support import offline_env

from summeval.lm_eval import shared_prefix

shared_prefix.patch_hflm_generate(hf)  # normally done by the start-up hook; a no-op then

# A task of ours (its requests marked, as a summeval task marks the requests it builds) and one of
# lm-eval's own (never marked).
OUR_TASK = "summeval_test_shared_prefix"
OTHER_TASK = "lm_eval_own_task"

# Sampling, but deterministic: the most likely token every time.
SAMPLED = {"do_sample": True, "top_k": 1, "temperature": 1.0, "max_gen_toks": 10, "until": ["zzz"]}
GREEDY = {"do_sample": False, "max_gen_toks": 6, "until": ["zzz"]}
PROMPT_A = "the customer said that my order is late and I need help"
PROMPT_B = "please send a direct message with your account details"
PROMPT_C = "thank you for waiting"


@pytest.fixture(autouse=True)
def no_share_all(monkeypatch):
    """SUMMEVAL_SHARED_PREFIX_ALL is unset unless a test sets it."""
    monkeypatch.delenv(shared_prefix.ALL_TASKS_ENV, raising=False)


def requests_for(*pairs: tuple[str, dict], task: str | None = OUR_TASK) -> list[Instance]:
    """Requests of ``task``, marked as ours when it is OUR_TASK."""
    requests = [
        Instance(
            request_type="generate_until",
            doc={},
            arguments=(context, gen_kwargs),
            idx=0,
            metadata=(task, i, 1),  # (task name, doc id, repeats), as lm-eval's tasks set them
        )
        for i, (context, gen_kwargs) in enumerate(pairs)
    ]
    return list(shared_prefix.mark_ours(requests)) if task == OUR_TASK else requests


def samples_of(context: str, gen_kwargs: dict, k: int, task: str | None = OUR_TASK) -> list[Instance]:
    request = requests_for((context, gen_kwargs), task=task)[0]
    return [request] * k  # what the evaluator sends for `repeats: k`: the same Instance k times


def generate(lm, requests, monkeypatch, shared: bool) -> list[str]:
    monkeypatch.setenv(shared_prefix.ENABLE_ENV, "1" if shared else "0")
    return lm.generate_until(requests, disable_tqdm=True)


class PromptEncodings:
    """Counts prompt encodings: (rows, tokens) of each multi-token decoder forward, or encoder forward."""

    def __init__(self, lm) -> None:
        self.calls: list[tuple[int, int]] = []
        # seq2seq: every encoder pass; causal: every decoder pass over more than one new token
        self._every_call = lm.backend == "seq2seq"
        module = lm.model.get_encoder() if self._every_call else lm.model
        self._handle = module.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, module, args, kwargs) -> None:
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        rows, tokens = input_ids.shape
        if self._every_call or tokens > 1:
            self.calls.append((rows, tokens))

    def __enter__(self) -> PromptEncodings:
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()

    @property
    def rows(self) -> int:
        return sum(rows for rows, _ in self.calls)

    @property
    def tokens(self) -> int:
        return sum(rows * tokens for rows, tokens in self.calls)


@pytest.fixture(scope="module")
def llama_lm(tiny_llama):
    return hf.HFLM(pretrained=str(tiny_llama), backend="causal", batch_size=1, device="cpu")


@pytest.fixture(scope="module")
def t5_lm(tiny_t5):
    return hf.HFLM(pretrained=str(tiny_t5), backend="seq2seq", batch_size=1, device="cpu")


@pytest.mark.parametrize("lm_name", ["llama_lm", "t5_lm"])
def test_shared_path_gives_the_original_strings(lm_name, request, monkeypatch):
    lm = request.getfixturevalue(lm_name)
    requests = samples_of(PROMPT_A, SAMPLED, 5)
    shared = generate(lm, requests, monkeypatch, shared=True)
    original = generate(lm, requests, monkeypatch, shared=False)
    assert shared == original
    assert len(shared) == 5 and shared[0].strip()


def test_causal_prompt_is_encoded_once_per_group(llama_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 5)
    prompt_len = len(llama_lm.tok_encode(PROMPT_A))
    with PromptEncodings(llama_lm) as shared:
        generate(llama_lm, requests, monkeypatch, shared=True)
    with PromptEncodings(llama_lm) as original:
        generate(llama_lm, requests, monkeypatch, shared=False)
    # one row over all but the last prompt token; generate re-feeds that one token per sample
    assert shared.calls == [(1, prompt_len - 1)]
    assert original.rows == 5 and original.tokens == 5 * prompt_len


def test_seq2seq_encoder_runs_once_per_group(t5_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 5)
    with PromptEncodings(t5_lm) as shared:
        generate(t5_lm, requests, monkeypatch, shared=True)
    with PromptEncodings(t5_lm) as original:
        generate(t5_lm, requests, monkeypatch, shared=False)
    assert shared.rows == 1
    assert original.rows == 5 and original.tokens == 5 * shared.tokens


def test_env_var_turns_sharing_off(llama_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 4)
    with PromptEncodings(llama_lm) as off:
        generate(llama_lm, requests, monkeypatch, shared=False)
    assert off.rows == 4  # lm-eval's own: one encoding per sample


def test_mixed_requests_come_back_in_request_order(llama_lm, monkeypatch):
    longer = {**SAMPLED, "max_gen_toks": 4}  # same prompt, other gen_kwargs: a group of its own
    requests = requests_for(
        (PROMPT_A, SAMPLED),
        (PROMPT_B, SAMPLED),
        (PROMPT_A, GREEDY),
        (PROMPT_A, SAMPLED),
        (PROMPT_C, SAMPLED),  # a single sample: nothing to share
        (PROMPT_B, SAMPLED),
        (PROMPT_A, longer),
        (PROMPT_B, GREEDY),
        (PROMPT_A, GREEDY),
        (PROMPT_A, longer),
        (PROMPT_A, SAMPLED),
    )
    groups = shared_prefix.shared_groups(requests, lambda kwargs: kwargs["do_sample"])
    assert groups == [[0, 3, 10], [1, 5], [6, 9]]
    with PromptEncodings(llama_lm) as shared_count:
        shared = generate(llama_lm, requests, monkeypatch, shared=True)
    original = generate(llama_lm, requests, monkeypatch, shared=False)
    assert shared == original
    assert len({shared[0], shared[1], shared[4], shared[6]}) == 4  # order would show
    # 3 shared groups + 4 requests (greedy and single) through lm-eval's own path, one row each
    assert shared_count.rows == 3 + 4


def test_stop_sequences_are_cut(llama_lm, monkeypatch):
    full = generate(llama_lm, samples_of(PROMPT_A, SAMPLED, 3), monkeypatch, shared=True)[0]
    stop = full.split()[2]
    expected = full.split(stop)[0]
    requests = samples_of(PROMPT_A, {**SAMPLED, "until": [stop]}, 3)
    shared = generate(llama_lm, requests, monkeypatch, shared=True)
    assert shared == [expected] * 3
    assert shared == generate(llama_lm, requests, monkeypatch, shared=False)


def test_large_groups_run_in_even_chunks(llama_lm, monkeypatch):
    monkeypatch.setenv(shared_prefix.CHUNK_ENV, "2")
    requests = samples_of(PROMPT_A, SAMPLED, 5)
    with PromptEncodings(llama_lm) as shared_count:
        shared = generate(llama_lm, requests, monkeypatch, shared=True)
    assert shared_count.rows == 3  # chunks of 2, 2 and 1
    assert shared == generate(llama_lm, requests, monkeypatch, shared=False)
    assert [len(c) for c in shared_prefix.even_chunks(list(range(20)), 16)] == [10, 10]
    assert [len(c) for c in shared_prefix.even_chunks(list(range(5)), 2)] == [2, 2, 1]


def test_chunk_rows_uses_a_larger_batch_size(monkeypatch):
    monkeypatch.delenv(shared_prefix.CHUNK_ENV, raising=False)
    assert shared_prefix.chunk_rows(1) == shared_prefix.DEFAULT_CHUNK_ROWS
    assert shared_prefix.chunk_rows("auto") == shared_prefix.DEFAULT_CHUNK_ROWS
    assert shared_prefix.chunk_rows(64) == 64


def test_every_answer_reaches_the_cache_hook(llama_lm, monkeypatch):
    recorded = []

    class Hook:
        def add_partial(self, attr, req, res):
            recorded.append((attr, req, res))

    requests = [*samples_of(PROMPT_A, SAMPLED, 3), *requests_for((PROMPT_B, GREEDY))]
    saved = llama_lm.cache_hook
    llama_lm.set_cache_hook(Hook())
    try:
        answers = generate(llama_lm, requests, monkeypatch, shared=True)
    finally:
        llama_lm.set_cache_hook(saved)
    assert llama_lm.cache_hook is saved
    assert sorted(recorded, key=repr) == sorted(
        [("generate_until", r.args, a) for r, a in zip(requests, answers, strict=True)], key=repr
    )


def test_a_failing_shared_path_falls_back_with_one_warning(llama_lm, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("no cache for you")

    monkeypatch.setattr(shared_prefix, "_shared_model_generate", broken)
    requests = samples_of(PROMPT_A, SAMPLED, 3)
    with PromptEncodings(llama_lm) as counted:
        answers = generate(llama_lm, requests, monkeypatch, shared=True)
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("summeval:")]
    assert len(warning) == 1 and "no cache for you" in warning[0]
    assert counted.rows == 3
    assert "_model_generate" not in vars(llama_lm) and llama_lm.batch_size_per_gpu == 1
    assert answers == generate(llama_lm, requests, monkeypatch, shared=False)


def test_requests_of_a_task_not_ours_are_not_shared(llama_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 4, task=OTHER_TASK)
    assert shared_prefix.shared_groups(requests, lambda kwargs: kwargs["do_sample"]) == []
    with PromptEncodings(llama_lm) as counted:
        answers = generate(llama_lm, requests, monkeypatch, shared=True)
    assert counted.rows == 4  # lm-eval's own path: one encoding per sample, sharing on or not
    assert answers == generate(llama_lm, requests, monkeypatch, shared=False)


def test_a_request_without_a_task_name_is_not_shared(llama_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 3, task=None)
    assert shared_prefix.shared_groups(requests, lambda kwargs: kwargs["do_sample"]) == []
    with PromptEncodings(llama_lm) as counted:
        generate(llama_lm, requests, monkeypatch, shared=True)
    assert counted.rows == 3


def test_only_our_tasks_requests_are_grouped_in_a_mixed_batch(llama_lm, monkeypatch):
    ours = samples_of(PROMPT_A, SAMPLED, 3)
    theirs = samples_of(PROMPT_A, SAMPLED, 3, task=OTHER_TASK)  # the same prompt and settings
    requests = [ours[0], theirs[0], ours[1], theirs[1], ours[2], theirs[2]]
    assert shared_prefix.shared_groups(requests, lambda kwargs: kwargs["do_sample"]) == [[0, 2, 4]]
    with PromptEncodings(llama_lm) as counted:
        shared = generate(llama_lm, requests, monkeypatch, shared=True)
    assert counted.rows == 1 + 3  # our group once, each of theirs on its own
    assert shared == generate(llama_lm, requests, monkeypatch, shared=False)


def test_shared_prefix_all_shares_any_tasks_requests(llama_lm, monkeypatch):
    requests = samples_of(PROMPT_A, SAMPLED, 4, task=OTHER_TASK)
    monkeypatch.setenv(shared_prefix.ALL_TASKS_ENV, "1")
    assert shared_prefix.shared_groups(requests, lambda kwargs: kwargs["do_sample"]) == [[0, 1, 2, 3]]
    with PromptEncodings(llama_lm) as counted:
        shared = generate(llama_lm, requests, monkeypatch, shared=True)
    assert counted.rows == 1
    assert shared == generate(llama_lm, requests, monkeypatch, shared=False)


def test_eligible_decides_which_requests_may_share():
    requests = [*samples_of(PROMPT_A, SAMPLED, 2), *samples_of(PROMPT_B, SAMPLED, 2, task=OTHER_TASK)]
    sampling = lambda kwargs: kwargs["do_sample"]  # noqa: E731
    assert shared_prefix.shared_groups(requests, sampling) == [[0, 1]]
    assert shared_prefix.shared_groups(requests, sampling, eligible=lambda r: True) == [[0, 1], [2, 3]]
    assert shared_prefix.shared_groups(requests, sampling, eligible=lambda r: False) == []


def test_one_of_our_tasks_marks_its_requests_for_sharing():
    import summeval

    name = "sports_understanding_self_consistency"
    metadata = {"sports_data": "sample", "self_consistency": {"samples": 3}}
    task = summeval.task_manager(include_defaults=False, metadata=metadata).load([name])["tasks"][name]
    task.build_all_requests(limit=1)
    (request,) = task.instances
    assert (request.task_name, request.repeats) == (name, 3)
    repeated = [request] * request.repeats  # as the evaluator sends them
    assert shared_prefix.ours(request)
    assert shared_prefix.shared_groups(repeated, lambda kwargs: kwargs["do_sample"]) == [[0, 1, 2]]


def test_patching_twice_is_a_no_op():
    patched = hf.HFLM.generate_until
    shared_prefix.patch_hflm_generate(hf)
    assert hf.HFLM.generate_until is patched


def test_start_up_hook_installs_the_patch():
    code = "import lm_eval.models.huggingface as m; print(m.HFLM._summeval_shared_prefix)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=offline_env(), timeout=300
    )
    assert proc.stdout.strip() == "True", proc.stderr


def test_each_model_keeps_its_own_fallbacks():
    """The record of groups drawn without a shared prompt lives on the model lm-eval hands
    ``generate_until``, not in the module: two models in one process keep their own."""

    class Model:
        pass

    first, second = Model(), Model()
    shared_prefix.fallbacks(first).append("2 samples: RuntimeError: x")
    assert shared_prefix.fallbacks(first) == ["2 samples: RuntimeError: x"]
    assert shared_prefix.fallbacks(second) == []
    shared_prefix.fallbacks(first).clear()
    assert getattr(first, shared_prefix.FALLBACKS_ATTRIBUTE) == []
