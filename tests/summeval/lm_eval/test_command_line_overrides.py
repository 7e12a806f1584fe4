"""lm-eval's own command-line values on our tasks (bad inputs, round three): an override that would
contradict the strategy silently (``--num_fewshot``, ``--gen_kwargs`` that make self-consistency greedy),
``--limit`` and ``--samples`` that name no item, ``--apply_chat_template`` on a model without one, and a
cache root that cannot hold summeval's task folder are each one line naming the value, not a traceback
and not a run that means something else. lm-eval's own tasks are untouched (they never reach this code).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from support import lm_eval_command, offline_env

from prompt_strategies.strategy import StrategyError

SAMPLE = {"sports_data": "sample"}


@pytest.fixture(scope="module")
def tiny_lm(tiny_llama):
    from summeval.lm_eval.runner import load_lm

    return load_lm("hf", f"pretrained={tiny_llama}", {"batch_size": 1, "device": "cpu"})


def _evaluate(lm, task: str, **kwargs):
    import lm_eval

    from summeval.lm_eval import task_manager

    return lm_eval.simple_evaluate(
        model=lm,
        tasks=[task],
        task_manager=task_manager(include_defaults=False, metadata=SAMPLE),
        metadata=SAMPLE,
        **{"limit": 1, **kwargs},
    )


# (id, task, simple_evaluate's arguments as the command line gives them, the text the message must hold)
CASES = [
    ("num-fewshot", "sports_understanding_answer_only", {"num_fewshot": 3}, "--num_fewshot 3 does not apply"),
    (
        "greedy-self-consistency-temperature",
        "sports_understanding_self_consistency",
        {"gen_kwargs": "temperature=0"},
        "makes the 10 samples of self_consistency greedy",
    ),
    (
        "greedy-self-consistency-do-sample",
        "sports_understanding_self_consistency",
        {"gen_kwargs": "do_sample=false"},
        "identical outputs, and a vote over one answer",
    ),
    ("limit-zero", "sports_understanding_answer_only", {"limit": 0}, "--limit leaves 0 items"),
    ("limit-negative", "sports_understanding_answer_only", {"limit": -1}, "--limit leaves -"),
    (
        "samples-out-of-range",
        "sports_understanding_answer_only",
        {"limit": None, "samples": {"sports_understanding_answer_only": [0, 999]}},
        "--samples names item 999, but its validation split has",
    ),
    (
        "chat-template-missing",
        "sports_understanding_answer_only",
        {"apply_chat_template": True},
        "--apply_chat_template, but the model cannot apply a chat template",
    ),
]


@pytest.mark.parametrize(("task", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_override_that_contradicts_the_strategy_or_names_no_item_is_one_line(
    tiny_lm, task, kwargs, expected
):
    with pytest.raises(StrategyError) as raised:
        _evaluate(tiny_lm, task, **kwargs)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_the_values_that_agree_with_the_strategy_still_run(tiny_lm):
    done = _evaluate(tiny_lm, "sports_understanding_answer_only", num_fewshot=0, gen_kwargs="max_gen_toks=2")
    assert "acc" in str(done["results"]["sports_understanding_answer_only"])


def _lm_eval(tiny_llama, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*lm_eval_command(), "--model", "hf", "--model_args", f"pretrained={tiny_llama}", "--limit", "1",
         "--metadata", '{"sports_data": "sample"}', *args],
        capture_output=True, text=True, env=offline_env(**env), timeout=600,
    )  # fmt: skip


def _one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "error:" in line or line.startswith("summeval")]
    assert len(lines) >= 1, proc.stderr[-3000:]
    return lines[-1]


def test_the_lm_eval_command_says_it_in_one_line(tiny_llama):
    proc = _lm_eval(tiny_llama, "--tasks", "sports_understanding_answer_only", "--num_fewshot", "3")
    assert "--num_fewshot 3 does not apply to summeval's tasks" in _one_line(proc)


@pytest.mark.parametrize("kind", ["file", "proc", "tasks-link"])
def test_a_cache_root_that_cannot_hold_the_task_folder_is_one_line(tiny_llama, tmp_path, kind):
    if kind == "file":
        root = tmp_path / "cache"
        root.write_text("a file of the user's")
        expected = "is a file, not a folder"
    elif kind == "proc":
        root = "/proc/summeval-cache"
        expected = "cannot create the cache folder /proc/summeval-cache"
    else:
        root, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
        root.mkdir()
        elsewhere.mkdir()
        (root / "tasks").symlink_to(elsewhere)
        expected = f"{root / 'tasks'} is a symbolic link (to {elsewhere})"
    proc = _lm_eval(tiny_llama, "--tasks", "sports_understanding_answer_only", SUMMEVAL_CACHE=str(root))
    assert expected in _one_line(proc), proc.stderr[-3000:]
    if kind == "tasks-link":
        assert os.listdir(elsewhere) == []
