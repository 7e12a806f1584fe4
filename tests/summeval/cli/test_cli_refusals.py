"""Bad input is refused in one line before any model loads (every loader raises if called): upper bounds on
the command line and in a study config, YAML, non-regular and huge files, settings handed to lm-eval or
torch, sports statements that differ invisibly. Each case runs the real ``summeval`` command in this process
and asserts a non-zero exit, exactly one line on stderr, no traceback and a message naming the bad value."""

from __future__ import annotations

import pytest
from support_inputs import (
    ADAPTER_CASES,
    BIG,
    COMPARE,
    FINETUNE,
    LONG,
    ROUND_TWO_METADATA,
    SEED_PAST,
    STUDY,
    TEMPERATURE_ARGS,
    write_case_folder,
)

from summeval import cli


@pytest.fixture
def case_dir(tmp_path, offline, monkeypatch):
    return write_case_folder(tmp_path, monkeypatch)


# (id, class, summeval arguments with {tmp}, the text the one error line must contain)
ROUND_TWO_CLI = [
    # class 3: upper bounds, on the command line
    (
        "select-k-huge",
        3,
        [*TEMPERATURE_ARGS, "--k", str(BIG), "--out", "{tmp}/e.json"],
        f"--k: {BIG} is out of range",
    ),
    (
        "select-n-huge",
        3,
        [*TEMPERATURE_ARGS, "--n", str(BIG * 10), "--out", "{tmp}/e.json"],
        "--n: 10000000000 is out",
    ),
    (
        "select-pool-size-huge",
        3,
        [*TEMPERATURE_ARGS, "--pool-size", str(BIG * 10), "--out", "{tmp}/e.json"],
        "--pool-size: 10000000000",
    ),
    (
        "select-temperature-inf",
        3,
        [*TEMPERATURE_ARGS, "--temperature", "inf", "--out", "{tmp}/e.json"],
        "--temperature: inf is out",
    ),
    (
        "select-temperature-nan",
        3,
        [*TEMPERATURE_ARGS, "--temperature", "nan", "--out", "{tmp}/e.json"],
        "--temperature: nan is out",
    ),
    (
        "select-temperature-1e6",
        3,
        [*TEMPERATURE_ARGS, "--temperature", "1e6", "--out", "{tmp}/e.json"],
        "at most 100",
    ),
    (
        "select-max-gen-toks-huge",
        3,
        [*TEMPERATURE_ARGS, "--max-gen-toks", str(BIG), "--out", "{tmp}/e.json"],
        "--max-gen-toks: 1000000000",
    ),
    (
        "select-seed-2-64",
        3,
        [*TEMPERATURE_ARGS, "--seed", str(SEED_PAST), "--out", "{tmp}/e.json"],
        f"--seed: {SEED_PAST} is out of range",
    ),
    (
        "select-seed-negative",
        3,
        [*TEMPERATURE_ARGS, "--seed", "-1", "--out", "{tmp}/e.json"],
        "--seed: -1 is out of range",
    ),
    (
        "compare-limit-huge",
        3,
        [*COMPARE, "--limit", str(BIG * 100), "--out", "{tmp}/c"],
        "--limit: 100000000000 is out",
    ),
    (
        "compare-seed-2-64",
        3,
        [*COMPARE, "--seed", str(SEED_PAST), "--out", "{tmp}/c"],
        f"--seed: {SEED_PAST}",
    ),
    (
        "compare-active-k-huge",
        3,
        [*COMPARE, "--active-k", str(BIG), "--out", "{tmp}/c"],
        "--active-k: 1000000000",
    ),
    (
        "compare-active-n-huge",
        3,
        [*COMPARE, "--active-n", str(BIG * 10), "--out", "{tmp}/c"],
        "--active-n: 10000000000",
    ),
    (
        "compare-samples-huge",
        3,
        [*COMPARE, "--options", f'{{"self_consistency": {{"samples": {BIG}}}}}', "--out", "{tmp}/c"],
        f"option 'samples' is {BIG}",
    ),
    (
        "compare-temperature-infinity",
        3,
        [*COMPARE, "--options", '{"self_consistency": {"temperature": Infinity}}', "--out", "{tmp}/c"],
        "option 'temperature' is inf",
    ),
    (
        "compare-temperature-nan",
        3,
        [*COMPARE, "--options", '{"self_consistency": {"temperature": NaN}}', "--out", "{tmp}/c"],
        "option 'temperature' is nan",
    ),
    (
        "compare-fewshot-k-huge",
        3,
        [*COMPARE, "--options", '{"fewshot": {"k": 100000}}', "--out", "{tmp}/c"],
        "option 'k' is 100000",
    ),
    (
        "compare-fewshot-seed-huge",
        3,
        [*COMPARE, "--options", f'{{"fewshot": {{"seed": {SEED_PAST}}}}}', "--out", "{tmp}/c"],
        f"option 'seed' is {SEED_PAST}",
    ),
    (
        "compare-max-gen-toks-huge",
        3,
        [*COMPARE, "--options", f'{{"cot": {{"max_gen_toks": {BIG}}}}}', "--out", "{tmp}/c"],
        f"option 'max_gen_toks' is {BIG}",
    ),
    (
        "finetune-rank-huge",
        3,
        [*FINETUNE, "--set", f"lora.r={BIG}", "--output", "{tmp}/a"],
        f"lora.r must be a positive integer at most 4096, got {BIG}",
    ),
    (
        "finetune-alpha-huge",
        3,
        [*FINETUNE, "--set", f"lora.alpha={BIG}", "--output", "{tmp}/a"],
        f"lora.alpha must be a positive integer at most 65536, got {BIG}",
    ),
    (
        "finetune-lr-inf",
        3,
        [*FINETUNE, "--set", "training.learning_rate=.inf", "--output", "{tmp}/a"],
        "training.learning_rate must be above 0 and at most 1 (a number), got inf",
    ),
    (
        "finetune-lr-nan",
        3,
        [*FINETUNE, "--set", "training.learning_rate=.nan", "--output", "{tmp}/a"],
        "training.learning_rate must be above 0",
    ),
    (
        "finetune-lr-huge",
        3,
        [*FINETUNE, "--set", "training.learning_rate=1000.0", "--output", "{tmp}/a"],
        "got 1000.0",
    ),
    (
        "finetune-lr-file-inf",
        3,
        ["finetune", "--recipe", "{tmp}/recipe_lr_inf.yaml", "--data", "sample", "--output", "{tmp}/a"],
        "training.learning_rate must be above 0",
    ),
    (
        "finetune-epochs-huge",
        3,
        [*FINETUNE, "--set", f"training.epochs={BIG}", "--output", "{tmp}/a"],
        "training.epochs must be above 0 and at most 10000",
    ),
    (
        "finetune-epochs-nan",
        3,
        [*FINETUNE, "--set", "training.epochs=.nan", "--output", "{tmp}/a"],
        "training.epochs must be above 0",
    ),
    (
        "finetune-seed-2-64",
        3,
        [*FINETUNE, "--set", f"training.seed={SEED_PAST}", "--output", "{tmp}/a"],
        "training.seed must be at least 0 and at most 2**32 - 1 (an integer; numpy and torch take seeds "
        f"below 2**32), got {SEED_PAST}",
    ),
    (
        "finetune-batch-size-huge",
        3,
        [*FINETUNE, "--set", f"training.batch_size={BIG}", "--output", "{tmp}/a"],
        f"training.batch_size must be a positive integer at most 65536, got {BIG}",
    ),
    (
        "finetune-grad-acc-huge",
        3,
        [*FINETUNE, "--set", f"training.gradient_accumulation={BIG}", "--output", "{tmp}/a"],
        "training.gradient_accumulation must be",
    ),
    (
        "finetune-max-length-huge",
        3,
        [*FINETUNE, "--set", f"training.max_length={BIG * 10}", "--output", "{tmp}/a"],
        "training.max_length must be at least 32",
    ),
    (
        "finetune-save-steps-huge",
        3,
        [*FINETUNE, "--set", f"training.save_steps={BIG * 10}", "--output", "{tmp}/a"],
        "training.save_steps must be at least 0",
    ),
    (
        "finetune-dropout-nan",
        3,
        [*FINETUNE, "--set", "lora.dropout=.nan", "--output", "{tmp}/a"],
        "lora.dropout must be in [0, 1)",
    ),
    (
        "finetune-name-long",
        3,
        [*FINETUNE, "--set", f"name={LONG}", "--output", "{tmp}/a"],
        "recipe: name: 'mmmmmmmmmmmmmmmmmmmm'... is 300 characters",
    ),
    (
        "finetune-max-steps-huge",
        3,
        [*FINETUNE, "--max-steps", str(BIG * 10), "--output", "{tmp}/a"],
        "--max-steps: 10000000000 is out of range",
    ),
    # class 3: upper bounds, in a study config
    (
        "study-seed-2-64",
        3,
        [*STUDY, "{tmp}/study_seed_huge.yaml"],
        f"study_seed_huge.yaml: seed: {SEED_PAST} is out of range",
    ),
    ("study-seed-negative", 3, [*STUDY, "{tmp}/study_seed_negative.yaml"], "seed: -1 is out of range"),
    ("study-limit-huge", 3, [*STUDY, "{tmp}/study_limit_huge.yaml"], f"limit: {BIG} is out of range"),
    ("study-sample-huge", 3, [*STUDY, "{tmp}/study_sample_huge.yaml"], f"sample: {BIG} is out of range"),
    (
        "study-name-long",
        3,
        [*STUDY, "{tmp}/study_name_long.yaml"],
        "name: 'mmmmmmmmmmmmmmmmmmmm'... is 300 characters",
    ),
    (
        "study-model-name-long",
        3,
        [*STUDY, "{tmp}/study_model_name_long.yaml"],
        "models: 'mmmmmmmmmmmmmmmmmmmm'... is 300 characters",
    ),
    (
        "study-temperature-inf",
        3,
        [*STUDY, "{tmp}/study_temperature_inf.yaml"],
        "active_prompt.temperature: inf is out of range",
    ),
    (
        "study-temperature-nan",
        3,
        [*STUDY, "{tmp}/study_temperature_nan.yaml"],
        "active_prompt.temperature: nan is out of range",
    ),
    (
        "study-active-k-huge",
        3,
        [*STUDY, "{tmp}/study_active_k_huge.yaml"],
        f"active_prompt.k: {BIG} is out of range",
    ),
    (
        "study-active-n-huge",
        3,
        [*STUDY, "{tmp}/study_active_n_huge.yaml"],
        f"active_prompt.n: {BIG} is out of range",
    ),
    (
        "study-pool-size-huge",
        3,
        [*STUDY, "{tmp}/study_pool_size_huge.yaml"],
        "active_prompt.pool_size: 100000000000 is out",
    ),
    (
        "study-max-steps-huge",
        3,
        [*STUDY, "{tmp}/study_max_steps_huge.yaml"],
        "models.base.max_steps: 10000000000 is out",
    ),
    (
        "study-max-lora-rank-huge",
        3,
        [*STUDY, "{tmp}/study_max_lora_rank_huge.yaml"],
        f"max_lora_rank: {BIG} is out",
    ),
    ("study-samples-huge", 3, [*STUDY, "{tmp}/study_samples_huge.yaml"], f"option 'samples' is {BIG}"),
    (
        "study-fewshot-seed-huge",
        3,
        [*STUDY, "{tmp}/study_fewshot_seed_huge.yaml"],
        f"option 'seed' is {SEED_PAST}",
    ),
    (
        "study-max-gen-toks-huge",
        3,
        [*STUDY, "{tmp}/study_max_gen_toks_huge.yaml"],
        f"option 'max_gen_toks' is {BIG}",
    ),
    # class 4: YAML
    (
        "study-alias-bomb",
        4,
        [*STUDY, "{tmp}/study_bomb.yaml"],
        "study_bomb.yaml, line 6: this value stands for more than 100,000",
    ),
    (
        "study-duplicate-top-key",
        4,
        [*STUDY, "{tmp}/study_duplicate_top.yaml"],
        "line 5: duplicate key 'models' (first on line 2)",
    ),
    (
        "study-duplicate-model",
        4,
        [*STUDY, "{tmp}/study_duplicate_model.yaml"],
        "study_duplicate_model.yaml, line 5: duplicate key 'base'",
    ),
    (
        "study-recursive-alias",
        4,
        [*STUDY, "{tmp}/study_recursive_alias.yaml"],
        "an alias refers to the value holding it",
    ),
    (
        "study-too-many-aliases",
        4,
        [*STUDY, "{tmp}/study_too_many_aliases.yaml"],
        "line 2: more than 100 aliases",
    ),
    (
        "study-not-utf8",
        4,
        [*STUDY, "{tmp}/study_latin1.yaml"],
        "study config: {tmp}/study_latin1.yaml is not UTF-8 text (byte 5, line 1)",
    ),
    (
        "recipe-alias-bomb",
        4,
        ["finetune", "--recipe", "{tmp}/recipe_bomb.yaml", "--output", "{tmp}/a"],
        "recipe_bomb.yaml, line 6: this value stands for more",
    ),
    (
        "recipe-duplicate-key",
        4,
        ["finetune", "--recipe", "{tmp}/recipe_duplicate.yaml", "--output", "{tmp}/a"],
        "recipe_duplicate.yaml, line 4: duplicate key 'r' (first on line 3)",
    ),
    (
        "recipe-not-utf8",
        4,
        ["finetune", "--recipe", "{tmp}/recipe_latin1.yaml", "--output", "{tmp}/a"],
        "recipe: {tmp}/recipe_latin1.yaml is not UTF-8 text (byte 23, line 2)",
    ),
    (
        "recipe-set-undefined-alias",
        4,
        [*FINETUNE, "--set", "lora.target_modules=" + "[*a]", "--output", "{tmp}/a"],
        "override lora.target_modules is not valid YAML",
    ),
    # class 5: non-regular and huge files
    ("data-dev-zero", 5, ["data", "/dev/zero"], "/dev/zero is a character device; give a regular file"),
    ("data-fifo", 5, ["data", "{tmp}/fifo.json"], "fifo.json is a FIFO (named pipe)"),
    ("data-fifo-in-folder", 5, ["data", "{tmp}/tweetsumm_folder_with_fifo"], "test.json is a FIFO"),
    (
        "data-huge",
        5,
        ["data", "{tmp}/huge.json"],
        "huge.json is 536,870,913 bytes, over the 536,870,912-byte limit",
    ),
    (
        "sports-dev-zero",
        5,
        ["data", "/dev/zero", "--task", "sports"],
        "sports: /dev/zero is a character device",
    ),
    ("sports-fifo", 5, ["data", "{tmp}/fifo.json", "--task", "sports"], "sports: {tmp}/fifo.json is a FIFO"),
    ("sports-huge", 5, ["data", "{tmp}/huge.json", "--task", "sports"], "huge.json is 536,870,913 bytes"),
    (
        "sports-task-json-folder",
        5,
        ["data", "{tmp}/sportsdir_taskjson_folder", "--task", "sports"],
        "task.json is a folder; give a regular file",
    ),
    (
        "compare-data-fifo",
        5,
        ["compare", "--model-args", "pretrained=unused", "--data", "{tmp}/fifo.json", "--out", "{tmp}/c"],
        "fifo.json is a FIFO",
    ),
    (
        "select-annotations-fifo",
        5,
        [*TEMPERATURE_ARGS, "--annotations", "{tmp}/fifo.json", "--out", "{tmp}/e.json"],
        "fifo.json is a FIFO (named pipe), not a file",
    ),
    (
        "compare-exemplars-fifo",
        5,
        [*COMPARE, "--active-prompt-exemplars", "{tmp}/fifo.json", "--out", "{tmp}/c"],
        "fifo.json is a FIFO (named pipe), not a file",
    ),
    ("study-config-fifo", 5, [*STUDY, "{tmp}/fifo.yaml"], "study config: {tmp}/fifo.yaml is a FIFO"),
    ("study-config-dev-zero", 5, [*STUDY, "/dev/zero"], "study config: /dev/zero is a character device"),
    (
        "recipe-fifo",
        5,
        ["finetune", "--recipe", "{tmp}/fifo.yaml", "--output", "{tmp}/a"],
        "fifo.yaml is a FIFO (named pipe), not a file",
    ),
    (
        "finetune-data-fifo",
        5,
        ["finetune", "--recipe", "{tmp}/r.yaml", "--data", "{tmp}/fifo.json", "--output", "{tmp}/a"],
        "fifo.json is a FIFO",
    ),
    # class 8: settings handed to lm-eval or torch
    (
        "study-device-banana",
        8,
        [*STUDY, "{tmp}/study_device_banana.yaml"],
        "yaml: device: 'banana' is not a device",
    ),
    (
        "study-dtype-float13",
        8,
        [*STUDY, "{tmp}/study_dtype_float13.yaml"],
        "yaml: models.base.model_args.dtype: 'float13' is not a dtype",
    ),
    (
        "study-model-device",
        8,
        [*STUDY, "{tmp}/study_model_device.yaml"],
        "models.base.model_args.device: 'cuda:x' is not a device",
    ),
    (
        "study-compare-itself",
        8,
        [*STUDY, "{tmp}/study_compare_itself.yaml"],
        "compares base/sports_understanding_answer_only with itself",
    ),
    (
        "study-published-nan",
        8,
        [*STUDY, "{tmp}/study_published_nan.yaml"],
        "acc: must be a finite number, got float nan",
    ),
    (
        "study-published-inf",
        8,
        [*STUDY, "{tmp}/study_published_inf.yaml"],
        "acc: must be a finite number, got float -inf",
    ),
    (
        "compare-device-banana",
        8,
        [*COMPARE, "--device", "banana", "--out", "{tmp}/c"],
        "argument --device: 'banana' is not a device",
    ),
    (
        "compare-dtype-float13",
        8,
        ["compare", "--model-args", "pretrained=unused,dtype=float13", "--out", "{tmp}/c"],
        "argument --model-args: dtype: 'float13' is not a dtype",
    ),
    (
        "select-device-cuda-x",
        8,
        [*TEMPERATURE_ARGS, "--device", "cuda:x", "--out", "{tmp}/e.json"],
        "'cuda:x' is not a device",
    ),
    (
        "select-dtype-int8",
        8,
        ["active-prompt", "select", "--model-args", "pretrained=x,dtype=int8", "--out", "{tmp}/e.json"],
        "dtype: 'int8' is not a dtype",
    ),
    # class 9: sports statements
    (
        "sports-zero-width-contradiction",
        9,
        ["data", "{tmp}/sports_zwj_contradiction.json", "--task", "sports"],
        "repeats example 0 with the contradicting label",
    ),
    (
        "sports-fullwidth-contradiction",
        9,
        ["data", "{tmp}/sports_nfkc_contradiction.json", "--task", "sports"],
        "repeats example 0 with the contradicting label",
    ),
    (
        "sports-bidi-contradiction",
        9,
        ["data", "{tmp}/sports_bidi_contradiction.json", "--task", "sports"],
        "repeats example 0 with the contradicting label",
    ),
    (
        "sports-duplicate",
        9,
        ["data", "{tmp}/sports_duplicate.json", "--task", "sports"],
        "example 6 ('Messi scored a goal') in",
    ),
    (
        "sports-ten-thousand-copies",
        9,
        ["data", "{tmp}/sports_many_copies.json", "--task", "sports"],
        "example 6 ('LeBron dunked') in",
    ),
    (
        "sports-zero-width-duplicate",
        9,
        ["data", "{tmp}/sports_zwj_duplicate.json", "--task", "sports"],
        "repeats example 1 (the same statement",
    ),
]


@pytest.mark.parametrize(
    ("args", "expected"), [c[2:] for c in ROUND_TWO_CLI], ids=[c[0] for c in ROUND_TWO_CLI]
)
def test_a_bad_input_is_one_clear_line_before_any_model_loads(args, expected, case_dir, capsys, monkeypatch):
    monkeypatch.chdir(case_dir)
    argv = [a.replace("{tmp}", str(case_dir)) for a in args]
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: usage and one error line, exit 2
        code = exit_.code
    err = capsys.readouterr().err
    assert code not in (0, None), f"exit {code}: {err}"
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("usage:", " "))]
    messages = [line for line in lines if "error:" in line]
    assert len(messages) == 1 and len(lines) == 1, err
    assert expected.replace("{tmp}", str(case_dir)) in messages[0], err
    assert not (case_dir / "e.json").exists() and not (case_dir / "a").exists()
    assert not (case_dir / "c" / "results.json").exists()


def test_the_table_has_seventy_cases_or_more():
    counts: dict[int, int] = {}
    for case in ROUND_TWO_CLI + ROUND_TWO_METADATA:
        counts[case[1]] = counts.get(case[1], 0) + 1
    counts[2] = len(ADAPTER_CASES)
    assert sum(counts.values()) >= 70 and set(counts) == {2, 3, 4, 5, 8, 9}, counts
