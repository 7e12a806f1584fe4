"""A bad command line is one clear line naming the bad input, before any expensive work, and no
traceback: data files, strategy options, the ``summeval`` subcommands, recipes and adapters, output paths;
and the task metadata ``lm_eval --metadata`` gives our tasks. Each case runs in this process (no model is
loaded: every check comes first).
"""

from __future__ import annotations

import pytest
from support_inputs import COMPARE, FINETUNE, RECIPE, TEMPERATURE_ARGS, _write_files

from summeval import cli
from summeval.lm_eval.checks import check_metadata
from summeval_tasks.util.errors import SummevalError

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
        ["compare", "--model-args", "pretrained=unused", "--data", "{tmp}/nowhere.json", "--out", "{tmp}/c"],
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
    # round three: what an input is, said as it is (a FIFO, a device), not as "missing" or a bad hub id
    (
        "sports-task-json-fifo",
        ["data", "{tmp}/sportsfifo", "--task", "sports"],
        "task.json is a FIFO (named pipe); give a regular file",
    ),
    (
        "finetune-base-dev-null",
        [*FINETUNE, "--base", "/dev/null", "--output", "{tmp}/a"],
        "/dev/null is a character device, not a model folder",
    ),
    (
        "finetune-base-fifo",
        [*FINETUNE, "--base", "{tmp}/recipe.fifo", "--output", "{tmp}/a"],
        "recipe.fifo is a FIFO (named pipe), not a model folder",
    ),
    (
        "finetune-work-folder-link",
        [*FINETUNE, "--output", "{tmp}/linked"],
        "linked.work is a symbolic link (to {tmp}/emptydir)",
    ),
    (
        "compare-out-under-proc",
        [*COMPARE, "--strategies", "answer_only", "--task", "sports", "--out", "/proc/summeval-out"],
        "cannot create anything in /proc",
    ),
]


@pytest.fixture
def case_dir(tmp_path, offline):
    import os

    _write_files(tmp_path)
    (tmp_path / "sportsfifo").mkdir()
    os.mkfifo(tmp_path / "sportsfifo" / "task.json")
    os.mkfifo(tmp_path / "recipe.fifo")
    (tmp_path / "linked.work").symlink_to(tmp_path / "emptydir")
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
    # round three: a value of the wrong type is named as such, not read as a path
    ("tweetsumm-data-list", {"tweetsumm_data": ["sample"]}, "tweetsumm_data must be a string"),
    (
        "sports-data-number",
        {"sports_data": 5},
        "sports_data must be a string (a source name or a path), got int 5",
    ),
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
