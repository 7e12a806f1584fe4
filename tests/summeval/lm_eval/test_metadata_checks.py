"""The metadata check (``summeval.lm_eval.checks``) and the start-up hook's exception hook: good metadata and
lm-eval's own keys pass, a bad value is one line before the model loads (also under the real ``lm_eval``),
other tasks' runs are only warned."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support import lm_eval_command, offline_env
from support_inputs import ROUND_TWO_METADATA

from summeval.lm_eval.checks import check_metadata
from summeval_tasks.util.errors import SummevalError


def test_good_metadata_and_lm_evals_own_keys_pass():
    check_metadata({"pretrained": "x", "dtype": "float32", "max_seq_lengths": [4096], "fewshot": {"k": 2}})
    check_metadata({"tweetsumm_data": "sample", "sports_data": "hub", "tweetsumm_seed": 7})
    check_metadata(None)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("metadata", "expected"),
    [({"fewshot": {"k": -1}}, "option 'k' is -1"), ({"tweetsumm_data": "/no/such.json"}, "/no/such.json")],
)
def test_under_lm_eval_a_bad_value_is_one_line_before_the_model_loads(metadata, expected, tmp_path):
    # pretrained points nowhere: had lm-eval tried to load it, the error would be its own, not ours
    proc = subprocess.run(
        [*lm_eval_command(), "--model", "hf", "--model_args", f"pretrained={tmp_path}/no-model",
         "--tasks", "tweetsumm_one", "--metadata", json.dumps(metadata), "--limit", "1"],
        capture_output=True, text=True, env=offline_env(), timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], proc.stderr[-3000:]


def test_lm_eval_runs_of_other_tasks_are_only_warned_about_keys_that_look_like_ours(capsys):
    """Any lm-eval run's TaskManager sees the model args and --metadata: only clear errors of ours stop it."""
    check_metadata({"pretrained": "gpt2", "instruct": True, "cot": 1, "few_shot": 5}, lenient=True)
    err = capsys.readouterr().err
    assert err.count("summeval: warning:") == 1 and "did you mean 'fewshot'" in err
    with pytest.raises(SummevalError, match="option 'k' is 0"):  # an options object for our strategy: checked
        check_metadata({"fewshot": {"k": 0}}, lenient=True)


def test_the_exception_hook_prints_ours_and_leaves_other_tracebacks_alone(capsys, monkeypatch):
    from summeval.lm_eval import startup as _autoregister
    from summeval_tasks.util.errors import SummevalError

    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: seen.append(exc[1]))
    _autoregister.install_excepthook()
    ours = SummevalError("fewshot: option 'k' is 0")
    try:
        raise RuntimeError("lm-eval wrapped it") from ours
    except RuntimeError as wrapped:
        sys.excepthook(type(wrapped), wrapped, wrapped.__traceback__)
    assert capsys.readouterr().err == "error: fewshot: option 'k' is 0\n" and seen == []
    try:
        try:
            raise ours
        except SummevalError:
            raise KeyError("lm-eval's own bug while handling ours")  # noqa: B904
    except KeyError as theirs:
        sys.excepthook(type(theirs), theirs, theirs.__traceback__)
    assert seen and isinstance(seen[0], KeyError)  # their traceback, not our line


@pytest.mark.parametrize(
    ("metadata", "expected"), [c[2:] for c in ROUND_TWO_METADATA], ids=[c[0] for c in ROUND_TWO_METADATA]
)
def test_bad_metadata_is_one_line_naming_it(metadata, expected, offline):
    model_arg = "--model_args" in expected  # dtype/device: lm-eval's own, left to it in others' runs
    if model_arg:
        check_metadata(metadata, lenient=True)  # any lm-eval run: lm-eval's own tasks behave as without us
    for lenient in (False,) if model_arg else (False, True):  # our run, and the TaskManager of any run
        with pytest.raises(SummevalError) as raised:
            check_metadata(metadata, lenient=lenient)
        message = str(raised.value)
        assert "\n" not in message and expected in message, message


def test_metadata_fifo_is_refused_without_opening_it(tmp_path, offline):
    fifo = tmp_path / "data.json"
    os.mkfifo(fifo)  # opening it for reading would block this test forever
    for key, family in (("tweetsumm_data", "tweetsumm"), ("sports_data", "sports")):
        with pytest.raises(SummevalError, match=f"{family}: {fifo} is a FIFO"):
            check_metadata({key: str(fifo)})


def test_good_values_at_the_ceilings_pass(offline):
    check_metadata(
        {"self_consistency": {"samples": 1000, "temperature": 100}, "fewshot": {"seed": 2**32 - 1}}
    )
    check_metadata({"pretrained": "x", "dtype": "bfloat16", "device": "cuda:1"})
