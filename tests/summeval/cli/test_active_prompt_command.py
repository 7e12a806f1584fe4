"""``summeval active-prompt select`` on tiny models (a llama, a T5; sports and tweetsumm): the exemplar
file it writes; bad input is exit 2 before the model loads; the evaluated split is refused as a pool."""

from __future__ import annotations

import json

import pytest
from support import SPORTS, TWEETSUMM

from prompt_strategies import StrategyError
from prompt_strategies.active_prompt import (
    FILE_FORMAT,
    choose_pool,
)
from prompt_strategies.exemplars import read_exemplar_file
from prompt_strategies.registry import get_family
from summeval import cli
from summeval.lm_eval import runner


def _ids(content) -> list[str]:
    return [entry["id"] for entry in content["ranking"]]


# ----------------------------------------------------------------------------- the command on tiny models


def _select_command(model_args: str, out, *extra: str) -> list[str]:
    return [
        "active-prompt",
        "select",
        "--model-args",
        model_args,
        "--device",
        "cpu",
        "--data",
        "sample",
        "--k",
        "2",
        "--n",
        "2",
        "--pool-size",
        "4",
        "--seed",
        "3",
        "--max-gen-toks",
        "8",
        "--out",
        str(out),
        *extra,
    ]


def _check_selection(out, capsys, model_args: str) -> None:
    from summeval_tasks.sports.source import load_statements

    entries = read_exemplar_file(out, SPORTS)
    assert len(entries) == 2
    content = json.loads(out.read_text(encoding="utf-8"))
    assert len(content["ranking"]) == 4
    train = [s.to_doc() for s in load_statements("sample")["train"]]
    assert sorted(_ids(content)) == sorted(d["id"] for d in choose_pool(train, 4, 3))
    assert [e["id"] for e in entries] == _ids(content)[:2]
    assert {key: content[key] for key in ("k", "n", "seed", "pool_size", "uncertainty", "data", "pool")} == {
        "k": 2,
        "n": 2,
        "seed": 3,
        "pool_size": 4,
        "uncertainty": "disagreement",
        "data": "sample",
        "pool": "train",
    }
    assert content["model"] == f"hf {model_args}"
    assert (content["format"], content["family"], content["prompt_strategy"]) == (
        FILE_FORMAT,
        "sports_understanding",
        "cot",
    )
    assert content["generation_kwargs"]["do_sample"] is True
    assert content["generation_kwargs"]["max_gen_toks"] == 8
    assert content["generation_kwargs"]["until"] == list(SPORTS.reasoning_stop)
    for entry in content["ranking"]:
        assert sum(entry["answers"].values()) == 2
    pool = {doc["id"]: doc for doc in train}
    for entry in entries:
        assert {key: entry[key] for key in pool[entry["id"]]} == pool[entry["id"]]
        assert entry["rationale_source"] in ("model", "label_only")
    printed = capsys.readouterr().out
    assert str(out) in printed
    for entry in entries:
        assert entry["id"] in printed and f"[{entry['rationale_source']}]" in printed


def test_select_command_on_a_tiny_llama(tiny_llama, tmp_path, offline, capsys):
    out = tmp_path / "ex.json"
    model_args = f"pretrained={tiny_llama}"
    assert cli.main(_select_command(model_args, out)) == 0
    _check_selection(out, capsys, model_args)


def test_select_command_on_a_tiny_t5(tiny_t5, tmp_path, offline, capsys):
    out = tmp_path / "ex.json"
    model_args = f"pretrained={tiny_t5},backend=seq2seq"
    assert cli.main(_select_command(model_args, out, "--task", "sports")) == 0  # the short name
    _check_selection(out, capsys, model_args)


def test_select_command_on_tweetsumm(tiny_llama, tmp_path, offline, capsys):
    from summeval_tasks.tweetsumm.source import load_dialogs

    out = tmp_path / "ex.json"
    model_args = f"pretrained={tiny_llama}"
    assert cli.main(_select_command(model_args, out, "--task", "tweetsumm")) == 0
    entries = read_exemplar_file(out, TWEETSUMM)
    content = json.loads(out.read_text(encoding="utf-8"))
    train = [d.to_doc() for d in load_dialogs("sample")["train"]]
    assert sorted(_ids(content)) == sorted(d["id"] for d in choose_pool(train, 4, 3))
    assert [e["id"] for e in entries] == _ids(content)[:2]
    assert {key: content[key] for key in ("family", "prompt_strategy", "pool", "data", "uncertainty")} == {
        "family": "tweetsumm",
        "prompt_strategy": "answer_only",
        "pool": "train",
        "data": "sample",
        "uncertainty": "disagreement",
    }
    assert content["generation_kwargs"]["until"] == list(TWEETSUMM.answer_stop)
    assert content["generation_kwargs"]["max_gen_toks"] == 8
    pool = {doc["id"]: doc for doc in train}
    for entry in entries:
        assert entry == {
            **pool[entry["id"]],
            "rationale_source": "reference",
            "uncertainty": entry["uncertainty"],
        }
    for entry in content["ranking"]:
        assert 0.0 <= entry["uncertainty"] <= 1.0 and entry["answers"] is None
        assert entry["gold"] == pool[entry["id"]]["summary"]
    printed = capsys.readouterr().out
    for entry in entries:
        assert entry["id"] in printed and "[reference]" in printed and entry["summary"] in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n", "100"], "n=100 exemplars requested from a pool of 4 questions"),
        (["--annotations", "absent.json"], "--annotations absent.json does not exist"),
        (["--pool", "dev"], "unknown pool split 'dev'; choose one of train, validation"),
        (["--pool", "validation"], "the pool cannot be the validation split"),
        (["--k", "0"], "argument --k: 0 is out of range; it must be at least 1"),
        (
            ["--uncertainty", "spread"],
            "sports_understanding: unknown uncertainty metric 'spread'; "
            "choose one of disagreement, entropy, variance",
        ),
        (["--task", "nope"], "unknown task family 'nope'"),
        (
            ["--task", "tweetsumm", "--uncertainty", "entropy"],
            "tweetsumm: unknown uncertainty metric 'entropy'; choose one of disagreement",
        ),
        (["--task", "tweetsumm", "--pool", "test"], "the pool cannot be the test split"),
        (
            ["--task", "tweetsumm", "--annotations", __file__],  # a file that exists, of no use here
            "the tweetsumm family's exemplars have none",
        ),
    ],
)
def test_select_command_bad_input_is_exit_2_before_the_model_loads(
    tmp_path, offline, capsys, monkeypatch, extra, message
):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded for a command that cannot run")

    monkeypatch.setattr(runner, "load_lm", no_model)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "ex.json"
    try:
        code = cli.main(_select_command("pretrained=unused", out, *extra))
    except SystemExit as exit_:  # argparse refuses a value out of range: usage and one error line
        code = exit_.code
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error: " in line]
    assert len(errors) == 1 and message in errors[0], errors
    assert not out.exists()


def test_the_evaluated_split_is_refused_as_a_pool_before_any_model_loads():
    from summeval.study.selection import Selection, check_selection

    sports, tweetsumm = get_family("sports_understanding"), get_family("tweetsumm")
    with pytest.raises(StrategyError, match="cannot be the validation split"):
        check_selection(sports, "sample", Selection(k=2, n=2, pool_split="validation"), 0)
    pool, annotations = check_selection(sports, "sample", Selection(k=2, n=2, pool_size=5), 0)
    assert len(pool) == 5 and annotations is None
    assert all(set(doc) == {"id", "statement", "input", "label"} for doc in pool)
    with pytest.raises(StrategyError, match="cannot be the test split: the tweetsumm tasks evaluate on it"):
        check_selection(tweetsumm, "sample", Selection(k=2, n=2, pool_split="test"), 0)
    pool, _ = check_selection(tweetsumm, "sample", Selection(k=2, n=2, pool_size=3), 0)
    assert len(pool) == 3 and all(doc["summary"] == doc["references"][0] for doc in pool)
