"""Every bad input gets a one-line error naming it, before any expensive work, and no traceback.

One table: data files, task metadata (what ``lm_eval --metadata`` gives our tasks), strategy options,
the ``summeval`` subcommands, recipes and adapters, output paths. Each case runs in this process (no
model is loaded: every check comes first) and asserts a non-zero exit, no traceback, and a message that
names the bad input. Two cases go through the real ``lm_eval`` command; plugins that fail to load are
named in one line and leave the built-ins working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, lm_eval_command, offline_env

from summeval import cli
from summeval.lm_eval.checks import check_metadata
from summeval_tasks.util.errors import SummevalError

RECIPE = str(REPO / "adapters" / "tweetsumm-r16.yaml")


def dialogstudio(records: dict) -> str:
    return json.dumps(records)


def ds_record(summaries=None, log=None) -> dict:
    summaries = [["The agent helped."], ["Help was given."]] if summaries is None else summaries
    return {
        "original dialog id": None,
        "log": [{"user utterance": "my order is late", "system response": "sorry, let me check"}]
        if log is None
        else log,
        "original dialog info": {"summaries": {"abstractive_summaries": summaries}},
    }


def all_splits(**extra) -> dict:
    records = {f"TweetSumm--{s}--1": ds_record() for s in ("train", "validation", "test")}
    records.update(extra)
    return records


def task_json(examples) -> str:
    return json.dumps({"examples": examples})


def example(statement: str, plausible: int = 1, implausible: int = 0) -> dict:
    return {"input": statement, "target_scores": {"plausible": plausible, "implausible": implausible}}


# Files a case may name as {name}; each is written into the case's own tmp folder.
FILES = {
    "empty.json": "",
    "latin1.json": "caf\xe9".encode("latin-1"),
    "broken.json": '{"TweetSumm--test--1": ',
    "unnamed.jsonl": json.dumps(
        {
            "dialog": {"dialog_id": "a", "turns": [{"is_agent": False, "sentences": ["hi"]}]},
            "summaries": {"abstractive_summaries": [["x"]]},
        }
    ),  # fmt: skip
    "badkey.json": dialogstudio(all_splits(**{"Tweetsumm-test-2": ds_record()})),
    "badsplit.json": dialogstudio(all_splits(**{"TweetSumm--holdout--1": ds_record()})),
    "nolog.json": dialogstudio(all_splits(**{"TweetSumm--test--2": ds_record(log=[])})),
    "onestring.json": dialogstudio(all_splits(**{"TweetSumm--test--2": ds_record(summaries="one summary")})),
    "nosummaries.json": dialogstudio(all_splits(**{"TweetSumm--test--2": ds_record(summaries=[])})),
    "nosplit.json": dialogstudio({"TweetSumm--train--1": ds_record(), "TweetSumm--test--1": ds_record()}),
    "emptydir/.keep": "",
    "sports_noexamples.json": json.dumps({"name": "x"}),
    "sports_twolabels.json": task_json([example("Messi scored a goal", 1, 1)]),
    "sports_unknownlabel.json": json.dumps({"examples": [{"input": "x", "target_scores": {"maybe": 1}}]}),
    "sports_contradicts.json": task_json([example("Messi scored"), example("messi  scored", 0, 1)]),
    "sports_notjson.json": "examples: []",
    "sportsdir/readme.txt": "no task.json here",
    "exemplars_broken.json": "{",
    "a_file": "just a file",
    "adapter_noconfig/adapter_model.safetensors": "",
    "adapter_badconfig/adapter_config.json": "{not json",
    "adapter_hub/adapter_config.json": json.dumps({"base_model_name_or_path": "org/not-local-model"}),
    "existing_out/x": "",
    "recipe.yaml": "name: r\nbase_model: x\n",
    # a base model's config alone: the target-module check builds the model on the meta device, no weights
    "tinybase/config.json": json.dumps(
        {
            "model_type": "llama",
            "vocab_size": 64,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
        }
    ),  # fmt: skip
}


def _write_files(root: Path) -> None:
    for name, content in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


TEMPERATURE_ARGS = ["active-prompt", "select", "--model-args", "pretrained=unused", "--data", "sample"]
COMPARE = ["compare", "--model-args", "pretrained=unused", "--data", "sample"]
FINETUNE = ["finetune", "--recipe", RECIPE, "--data", "sample"]

# (id, summeval arguments with {tmp} for the case folder, the text the message must contain)
CLI_CASES = [
    # data files
    ("data-empty-file", ["data", "{tmp}/empty.json"], "is empty"),
    ("data-not-utf8", ["data", "{tmp}/latin1.json"], "is not UTF-8"),
    ("data-broken-json", ["data", "{tmp}/broken.json"], "broken.json is not valid JSON"),
    ("data-unnamed-split", ["data", "{tmp}/unnamed.jsonl"], "does not say which"),
    ("data-unparsable-key", ["data", "{tmp}/badkey.json"], "'Tweetsumm-test-2'"),
    ("data-unknown-split", ["data", "{tmp}/badsplit.json"], "unknown split 'holdout'"),
    ("data-no-turns", ["data", "{tmp}/nolog.json"], "TweetSumm--test--2 in"),
    ("data-summaries-one-string", ["data", "{tmp}/onestring.json"], "abstractive_summaries is one string"),
    ("data-no-summaries", ["data", "{tmp}/nosummaries.json"], "has no abstractive summaries"),
    ("data-missing-split", ["data", "{tmp}/nosplit.json"], "lacks the split(s) validation"),
    ("data-no-such-path", ["data", "{tmp}/nowhere.json"], "nowhere.json does not exist"),
    ("data-empty-folder", ["data", "{tmp}/emptydir"], "holds no .json or .jsonl files"),
    ("data-unknown-family", ["data", "sample", "--task", "nope"], "unknown task family 'nope'"),
    (
        "sports-no-examples",
        ["data", "{tmp}/sports_noexamples.json", "--task", "sports"],
        "no 'examples' list",
    ),
    ("sports-two-labels", ["data", "{tmp}/sports_twolabels.json", "--task", "sports"], "exactly one"),
    ("sports-unknown-label", ["data", "{tmp}/sports_unknownlabel.json", "--task", "sports"], "'maybe'"),
    ("sports-contradiction", ["data", "{tmp}/sports_contradicts.json", "--task", "sports"], "contradicting"),
    ("sports-not-json", ["data", "{tmp}/sports_notjson.json", "--task", "sports"], "is not valid JSON"),
    ("sports-no-task-json", ["data", "{tmp}/sportsdir", "--task", "sports"], "holds no task.json"),
    # active-prompt select: ranges and outputs, all before a model loads
    (
        "select-temperature-negative",
        [*TEMPERATURE_ARGS, "--temperature", "-1", "--out", "{tmp}/e.json"],
        "-1",
    ),
    (
        "select-temperature-zero",
        [*TEMPERATURE_ARGS, "--temperature", "0", "--out", "{tmp}/e.json"],
        "above 0",
    ),
    (
        "select-temperature-text",
        [*TEMPERATURE_ARGS, "--temperature", "hot", "--out", "{tmp}/e.json"],
        "'hot'",
    ),
    (
        "select-max-gen-toks-zero",
        [*TEMPERATURE_ARGS, "--max-gen-toks", "0", "--out", "{tmp}/e.json"],
        "--max-gen-toks",
    ),
    (
        "select-k-zero",
        [*TEMPERATURE_ARGS, "--k", "0", "--out", "{tmp}/e.json"],
        "argument --k: 0 is out of range",
    ),
    (
        "select-n-zero",
        [*TEMPERATURE_ARGS, "--n", "0", "--out", "{tmp}/e.json"],
        "argument --n: 0 is out of range",
    ),
    (
        "select-pool-size-zero",
        [*TEMPERATURE_ARGS, "--pool-size", "0", "--out", "{tmp}/e.json"],
        "--pool-size",
    ),
    ("select-out-is-folder", [*TEMPERATURE_ARGS, "--out", "{tmp}/emptydir"], "emptydir is a folder"),
    ("select-out-under-file", [*TEMPERATURE_ARGS, "--out", "{tmp}/a_file/e.json"], "a_file is a file"),
    (
        "select-unknown-metric",
        [*TEMPERATURE_ARGS, "--uncertainty", "bogus", "--out", "{tmp}/e.json"],
        "'bogus'",
    ),
    (
        "select-metric-of-other-family",
        [*TEMPERATURE_ARGS, "--task", "tweetsumm", "--uncertainty", "entropy", "--out", "{tmp}/e.json"],
        "'entropy'",
    ),  # fmt: skip
    (
        "select-pool-validation",
        [*TEMPERATURE_ARGS, "--pool", "validation", "--out", "{tmp}/e.json"],
        "validation",
    ),
    ("select-pool-unknown", [*TEMPERATURE_ARGS, "--pool", "dev", "--out", "{tmp}/e.json"], "'dev'"),
    (
        "select-annotations-missing",
        [*TEMPERATURE_ARGS, "--annotations", "{tmp}/none.json", "--out", "{tmp}/e.json"],
        "none.json does not exist",
    ),  # fmt: skip
    ("select-n-above-pool", [*TEMPERATURE_ARGS, "--n", "1000", "--out", "{tmp}/e.json"], "n=1000"),
    ("select-unknown-family", [*TEMPERATURE_ARGS, "--task", "nope", "--out", "{tmp}/e.json"], "'nope'"),
    (
        "select-bad-data",
        [
            "active-prompt",
            "select",
            "--model-args",
            "x",
            "--data",
            "{tmp}/nowhere.json",
            "--out",
            "{tmp}/e.json",
        ],
        "nowhere.json does not exist",
    ),  # fmt: skip
    # compare
    ("compare-limit-zero", [*COMPARE, "--limit", "0"], "argument --limit: 0 is out of range"),
    ("compare-limit-text", [*COMPARE, "--limit", "all"], "'all' is not an integer"),
    ("compare-out-is-file", [*COMPARE, "--out", "{tmp}/a_file"], "a_file is a file"),
    (
        "compare-unknown-strategy",
        [*COMPARE, "--strategies", "nope", "--out", "{tmp}/c"],
        "unknown strategy 'nope'",
    ),
    (
        "compare-inapplicable-strategy",
        [*COMPARE, "--task", "tweetsumm", "--strategies", "cot", "--out", "{tmp}/c"],
        "'cot' does not apply to the tweetsumm family",
    ),  # fmt: skip
    (
        "compare-options-not-json",
        [*COMPARE, "--options", "not json", "--out", "{tmp}/c"],
        "--options is not valid JSON",
    ),
    (
        "compare-options-k-zero",
        [*COMPARE, "--options", '{"fewshot": {"k": 0}}', "--out", "{tmp}/c"],
        "'k' is 0",
    ),
    (
        "compare-options-unknown-key",
        [*COMPARE, "--options", '{"fewshot": {"kk": 1}}', "--out", "{tmp}/c"],
        "'kk'",
    ),
    (
        "compare-options-no-strategy",
        [*COMPARE, "--options", '{"few_shot": {"k": 1}}', "--out", "{tmp}/c"],
        "few_shot",
    ),  # fmt: skip
    (
        "compare-exemplars-missing",
        [*COMPARE, "--active-prompt-exemplars", "{tmp}/none.json", "--out", "{tmp}/c"],
        "none.json does not exist",
    ),  # fmt: skip
    (
        "compare-exemplars-broken",
        [
            *COMPARE,
            "--active-prompt-exemplars",
            "{tmp}/exemplars_broken.json",
            "--strategies",
            "active_prompt",
            "--out",
            "{tmp}/c",
        ],
        "not valid UTF-8 JSON",
    ),  # fmt: skip
    (
        "compare-batch-size-zero",
        [*COMPARE, "--batch-size", "0", "--out", "{tmp}/c"],
        "'0' is not a batch size",
    ),
    (
        "compare-unknown-family",
        [*COMPARE, "--task", "nope", "--out", "{tmp}/c"],
        "unknown task family 'nope'",
    ),
    (
        "compare-bad-data",
        ["compare", "--model-args", "x", "--data", "{tmp}/nowhere.json", "--out", "{tmp}/c"],
        "nowhere.json does not exist",
    ),  # fmt: skip
    # finetune: recipes, base models, steps, outputs
    (
        "finetune-max-steps-zero",
        [*FINETUNE, "--max-steps", "0", "--output", "{tmp}/a"],
        "--max-steps: 0 is out",
    ),
    (
        "finetune-max-steps-negative",
        [*FINETUNE, "--max-steps", "-3", "--output", "{tmp}/a"],
        "-3 is out of range",
    ),
    ("finetune-recipe-missing", ["finetune", "--recipe", "{tmp}/none.yaml"], "none.yaml does not exist"),
    (
        "finetune-bad-scheduler",
        [*FINETUNE, "--set", "training.lr_scheduler=cosine_warm", "--output", "{tmp}/a"],
        "'cosine_warm' is unknown",
    ),  # fmt: skip
    (
        "finetune-base-missing",
        [*FINETUNE, "--base", "{tmp}/no_model", "--output", "{tmp}/a"],
        "no_model: no such folder",
    ),
    (
        "finetune-base-hub-offline",
        [*FINETUNE, "--base", "org/not-local", "--output", "{tmp}/a"],
        "org/not-local is not a local folder",
    ),  # fmt: skip
    ("finetune-output-is-file", [*FINETUNE, "--output", "{tmp}/a_file"], "a_file is a file"),
    ("finetune-output-exists", [*FINETUNE, "--output", "{tmp}/existing_out"], "existing_out already exists"),
    (
        "finetune-target-modules-match-nothing",
        [
            *FINETUNE,
            "--base",
            "{tmp}/tinybase",
            "--set",
            "lora.target_modules=[query,v_proj]",
            "--output",
            "{tmp}/a",
        ],
        "lora.target_modules query match no module",
    ),
    (
        "finetune-rank-zero",
        [*FINETUNE, "--set", "lora.r=0", "--output", "{tmp}/a"],
        "lora.r must be a positive",
    ),
    ("finetune-unknown-field", [*FINETUNE, "--set", "training.epoch=2", "--output", "{tmp}/a"], "epoch"),
    (
        "finetune-unknown-family",
        [*FINETUNE, "--set", "family=tweetsum", "--output", "{tmp}/a"],
        "family 'tweetsum' is unknown; known families:",
    ),
    (
        "finetune-family-without-training-format",
        [*FINETUNE, "--set", "family=sports_understanding", "--output", "{tmp}/a"],
        "family 'sports_understanding' has no training format",
    ),
    ("finetune-resume-nothing", [*FINETUNE, "--resume", "--output", "{tmp}/a"], "nothing to resume"),
    (
        "finetune-bad-data",
        ["finetune", "--recipe", RECIPE, "--data", "{tmp}/empty.json", "--output", "{tmp}/a"],
        "is empty",
    ),  # fmt: skip
    # merge: adapters
    (
        "merge-not-an-adapter",
        ["merge", "{tmp}/adapter_noconfig", "--out", "{tmp}/m"],
        "no adapter_config.json",
    ),
    (
        "merge-malformed-config",
        ["merge", "{tmp}/adapter_badconfig", "--out", "{tmp}/m"],
        "adapter_config.json is not",
    ),
    ("merge-hub-base-offline", ["merge", "{tmp}/adapter_hub", "--out", "{tmp}/m"], "org/not-local-model"),
    ("merge-out-exists", ["merge", "{tmp}/adapter_hub", "--out", "{tmp}/existing_out"], "already exists"),
]


@pytest.fixture
def case_dir(tmp_path, offline):
    _write_files(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_a_bad_command_line_is_one_clear_line(args, expected, case_dir, capsys, monkeypatch):
    monkeypatch.chdir(case_dir)
    argv = [a.replace("{tmp}", str(case_dir)) for a in args]
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: usage and one error line, exit 2
        code = exit_.code
    err = capsys.readouterr().err
    assert code not in (0, None), f"exit {code}: {err}"
    assert "Traceback" not in err
    messages = [line for line in err.splitlines() if "error:" in line]
    assert len(messages) == 1, err
    assert expected.replace("{tmp}", str(case_dir)) in messages[0], err
    assert not (case_dir / "e.json").exists() and not (case_dir / "a").exists()  # nothing half-written


# (id, --metadata as lm_eval gives it to our tasks, the text the message must contain)
METADATA_CASES = [
    ("fewshot-k-negative", {"fewshot": {"k": -1}}, "option 'k' is -1"),
    ("fewshot-k-zero", {"fewshot": {"k": 0}}, "option 'k' is 0"),
    ("fewshot-k-text", {"fewshot": {"k": "3"}}, "option 'k' must be int"),
    ("fewshot-misspelled", {"few_shot": {"k": 2}}, "did you mean 'fewshot'"),
    ("data-key-misspelled", {"tweetsum_data": "sample"}, "did you mean 'tweetsumm_data'"),
    ("seed-text", {"tweetsumm_seed": "abc"}, "tweetsumm_seed='abc'"),
    ("seed-float", {"tweetsumm_seed": 1.5}, "tweetsumm_seed=1.5"),
    (
        "max-gen-toks-zero",
        {"answer_only": {"max_gen_toks": 0}},
        "'max_gen_toks' must be a positive integer, got 0",
    ),
    ("max-gen-toks-bool", {"cot": {"max_gen_toks": True}}, "'max_gen_toks' must be a positive integer"),
    ("samples-zero", {"self_consistency": {"samples": 0}}, "option 'samples' is 0"),
    ("temperature-zero", {"self_consistency": {"temperature": 0}}, "option 'temperature' is 0"),
    ("temperature-negative", {"self_consistency": {"temperature": -0.5}}, "option 'temperature' is -0.5"),
    ("cot-fewshot-k", {"cot_fewshot": {"k": -2}}, "option 'k' is -2"),
    ("unknown-option", {"fewshot": {"shots": 2}}, "unknown option 'shots'"),
    ("options-not-object", {"fewshot": "[1]"}, "options must be a JSON object"),
    ("options-bad-json", {"fewshot": "{k: 1"}, "options must be a JSON object"),
    ("tweetsumm-data-missing", {"tweetsumm_data": "/no/such/file.json"}, "/no/such/file.json does not exist"),
    ("sports-data-missing", {"sports_data": "/no/such/task.json"}, "/no/such/task.json does not exist"),
    ("exemplars-missing", {"active_prompt_exemplars": "/no/such.json"}, "'/no/such.json': no such file"),
]


@pytest.mark.parametrize(
    ("metadata", "expected"), [c[1:] for c in METADATA_CASES], ids=[c[0] for c in METADATA_CASES]
)
def test_bad_task_metadata_is_refused_before_the_model_loads(metadata, expected, offline):
    with pytest.raises(SummevalError) as raised:
        check_metadata(metadata)
    message = str(raised.value)
    assert "\n" not in message
    assert expected in message


def test_the_table_is_at_least_sixty_cases():
    assert len(CLI_CASES) + len(METADATA_CASES) >= 60


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


PLUGINS = {
    "plugin_syntax_error": "def broken(:\n",
    "plugin_raises_at_import": "raise RuntimeError('cannot start: no licence key')\n",
    "plugin_wrong_type": (
        "from prompt_strategies import hookimpl\n\n@hookimpl\ndef summeval_strategies():\n"
        "    return 'yes_no'\n"
    ),
    "plugin_hook_raises": (
        "from prompt_strategies import hookimpl\n\n@hookimpl\ndef summeval_task_families():\n"
        "    raise KeyError('dataset')\n"
    ),
}


def test_broken_plugins_are_named_in_one_line_and_the_builtins_stay(tmp_path):
    for name, code in PLUGINS.items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    env = offline_env(
        SUMMEVAL_PLUGINS=",".join([*PLUGINS, "no_such_plugin_module"]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        SUMMEVAL_CACHE=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "summeval.cli", "strategies"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for name in [*PLUGINS, "no_such_plugin_module"]:
        assert sum(name in line for line in lines) == 1, proc.stderr
    assert "SyntaxError" in proc.stderr and "no licence key" in proc.stderr and "'yes_no'" in proc.stderr
    for builtin in ("tweetsumm", "sports_understanding", "self_consistency", "active_prompt"):
        assert builtin in proc.stdout


def test_resume_with_other_settings_is_refused_naming_the_difference(tmp_path):
    from summeval.training.checks import RUN_FILE, FinetuneError, check_same_run

    run = {
        "recipe": {"lora": {"r": 16}, "training": {"learning_rate": 0.0001}},
        "data_sha256": "aa",
        "max_steps": 5,
    }
    (tmp_path / RUN_FILE).write_text(json.dumps(run), encoding="utf-8")
    check_same_run(tmp_path, run)  # the same run continues
    changed = {
        **run,
        "recipe": {"lora": {"r": 32}, "training": {"learning_rate": 0.0001}},
        "data_sha256": "bb",
    }
    with pytest.raises(FinetuneError) as raised:
        check_same_run(tmp_path, changed)
    message = str(raised.value)
    assert "lora.r was 16, now 32" in message and "data_sha256 was 'aa', now 'bb'" in message
    assert "learning_rate" not in message


def test_written_folders_are_readable_like_ordinary_folders(tmp_path):
    from summeval_tasks.util.files import folder_written_atomically

    previous = os.umask(0o022)
    try:
        with folder_written_atomically(tmp_path / "adapter") as staging:
            (staging / "weights").write_text("x", encoding="utf-8")
    finally:
        os.umask(previous)
    assert (tmp_path / "adapter").stat().st_mode & 0o777 == 0o755


def test_a_replaced_folder_is_swapped_only_once_the_new_one_is_complete(tmp_path):
    from summeval_tasks.util.files import folder_written_atomically

    target = tmp_path / "cell"
    with folder_written_atomically(target) as staging:
        (staging / "old").write_text("1", encoding="utf-8")
    with pytest.raises(RuntimeError), folder_written_atomically(target, replace=True) as staging:
        (staging / "new").write_text("2", encoding="utf-8")
        raise RuntimeError("killed half-way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell"] and (target / "old").is_file()
    with folder_written_atomically(target, replace=True) as staging:
        (staging / "new").write_text("2", encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell"]
    assert sorted(p.name for p in target.iterdir()) == ["new"]


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
