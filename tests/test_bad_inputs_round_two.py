"""Bad inputs, round two (issue 19): upper bounds, YAML, non-regular and huge files, adapters without our
summeval.json, settings passed to lm-eval and torch, sports statements that differ invisibly.

Each case runs the real ``summeval`` command (or the check lm-eval's ``--metadata`` goes through) in this
process and asserts a non-zero exit, exactly one line on stderr, no traceback, a message that names the
bad value and where it came from, and that no model was loaded: every loader raises if it is called.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import REPO
from test_bad_inputs import COMPARE, FINETUNE, TEMPERATURE_ARGS, _write_files, example, task_json

from summeval import cli
from summeval.lm_eval.checks import check_metadata
from summeval_tasks.util.errors import SummevalError
from summeval_tasks.util.source_files import DATA_FILE_LIMIT

BIG = 10**9
SEED_PAST = 2**64
LONG = "m" * 300


def study(**replace: str) -> str:
    """A small valid study config (a config-only base model, the sports sample), parts replaced."""
    parts = {
        "name": "name: s",
        "seed": "",
        "top": "",
        "data": "data: {sports_understanding: sample}",
        "models": "models:\n  base: {pretrained: ./tinybase}",
        "evaluations": "evaluations:\n  - {model: base, tasks: [sports_understanding_answer_only]}",
        "comparisons": "",
        "published": "",
    }
    parts.update(replace)
    return "\n".join(p for p in parts.values() if p) + "\n"


TWO_CELLS = (
    "evaluations:\n  - {model: base, tasks: [sports_understanding_answer_only, sports_understanding_cot]}"
)
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip([None, "a", "b", "c", "d", "e"], ["a", "b", "c", "d", "e", "f"], strict=True)
)

SPORTS_GOOD = [
    example(s, 1, 0) for s in ("Messi scored a goal", "Tom Brady threw a pass", "LeBron dunked")
] + [
    example(s, 0, 1)
    for s in ("Messi hit a home run", "Tom Brady scored a penalty kick", "LeBron threw a touchdown")
]

ROUND_TWO_FILES = {
    "study_ok.yaml": study(),
    "study_seed_huge.yaml": study(seed=f"seed: {SEED_PAST}"),
    "study_seed_negative.yaml": study(seed="seed: -1"),
    "study_limit_huge.yaml": study(top=f"limit: {BIG}"),
    "study_sample_huge.yaml": study(top=f"sample: {BIG}"),
    "study_name_long.yaml": study(name=f"name: {LONG}"),
    "study_model_name_long.yaml": study(
        models=f"models:\n  {LONG}: {{pretrained: ./tinybase}}",
        evaluations=f"evaluations:\n  - {{model: {LONG}, tasks: [sports_understanding_answer_only]}}",
    ),
    "study_temperature_inf.yaml": study(top="active_prompt: {temperature: .inf}"),
    "study_temperature_nan.yaml": study(top="active_prompt: {temperature: .nan}"),
    "study_active_k_huge.yaml": study(top=f"active_prompt: {{k: {BIG}}}"),
    "study_active_n_huge.yaml": study(top=f"active_prompt: {{n: {BIG}}}"),
    "study_pool_size_huge.yaml": study(top=f"active_prompt: {{pool_size: {BIG * 100}}}"),
    "study_max_steps_huge.yaml": study(
        models=f"models:\n  base: {{pretrained: ./tinybase, recipe: r.yaml, max_steps: {BIG * 10}}}"
    ),
    "study_max_lora_rank_huge.yaml": study(
        models=f"models:\n  base: {{pretrained: ./tinybase, model_args: {{max_lora_rank: {BIG}}}}}"
    ),
    "study_samples_huge.yaml": study(top=f"options: {{self_consistency: {{samples: {BIG}}}}}"),
    "study_fewshot_seed_huge.yaml": study(top=f"options: {{fewshot: {{seed: {SEED_PAST}}}}}"),
    "study_max_gen_toks_huge.yaml": study(top=f"options: {{answer_only: {{max_gen_toks: {BIG}}}}}"),
    # YAML
    "study_bomb.yaml": BOMB + study(),
    "study_duplicate_top.yaml": study(top="models:\n  other: {pretrained: ./tinybase}"),
    "study_duplicate_model.yaml": study(
        models="models:\n  base: {pretrained: ./tinybase}\n  base: {pretrained: ./elsewhere}"
    ),
    "study_recursive_alias.yaml": study(top="description: &d [*d]"),
    "study_latin1.yaml": ("# caf\xe9\n" + study()).encode("latin-1"),
    "study_too_many_aliases.yaml": "x: &x 1\ny: [" + ", ".join(["*x"] * 101) + "]\n" + study(),
    # settings handed to lm-eval / torch
    "study_device_banana.yaml": study(top="device: banana"),
    "study_dtype_float13.yaml": study(
        models="models:\n  base: {pretrained: ./tinybase, model_args: {dtype: float13}}"
    ),
    "study_model_device.yaml": study(
        models="models:\n  base: {pretrained: ./tinybase, model_args: {device: 'cuda:x'}}"
    ),
    "study_compare_itself.yaml": study(
        comparisons="comparisons:\n  - a: base/sports_understanding_answer_only\n"
        "    b: base/sports_understanding_answer_only"
    ),
    "study_published_nan.yaml": study(
        published="published:\n  cells:\n    base/sports_understanding_answer_only: {acc: .nan}"
    ),
    "study_published_inf.yaml": study(
        published="published:\n  cells:\n    base/sports_understanding_answer_only: {acc: -.inf}"
    ),
    # recipes
    "r.yaml": "name: r\nbase_model: ./tinybase\ndata: sample\n",
    "recipe_bomb.yaml": BOMB + "name: r\n",
    "recipe_duplicate.yaml": "name: r\nlora:\n  r: 8\n  r: 64\n",
    "recipe_latin1.yaml": "name: r\nbase_model: caf\xe9\n".encode("latin-1"),
    "recipe_lr_inf.yaml": "name: r\ntraining:\n  learning_rate: .inf\n",
    # sports statements
    "sports_zwj_contradiction.json": task_json([*SPORTS_GOOD, example("Messi scored a\u200d goal", 0, 1)]),
    "sports_nfkc_contradiction.json": task_json(
        [*SPORTS_GOOD, example("\uff2d\uff45\uff53\uff53\uff49 scored a goal", 0, 1)]
    ),
    "sports_bidi_contradiction.json": task_json(
        [*SPORTS_GOOD, example("\u202aMessi scored a goal\u202c", 0, 1)]
    ),
    "sports_duplicate.json": task_json([*SPORTS_GOOD, example("Messi scored a goal", 1, 0)]),
    "sports_many_copies.json": task_json([*SPORTS_GOOD] + [example("LeBron dunked", 1, 0)] * 10_000),
    "sports_zwj_duplicate.json": task_json([*SPORTS_GOOD, example("Tom\u200b Brady threw a pass", 1, 0)]),
    "sportsdir_taskjson_folder/task.json/x": "",
    "t5base/config.json": json.dumps(
        {
            "model_type": "t5",
            "vocab_size": 64,
            "d_model": 16,
            "d_kv": 4,
            "d_ff": 32,
            "num_layers": 1,
            "num_heads": 2,
        }
    ),
    "tweetsumm_folder_with_fifo/.keep": "",
}


def _special_files(root: Path) -> None:
    """A FIFO, a huge sparse file, and a FIFO among data files; none is ever opened by a correct check."""
    os.mkfifo(root / "fifo.json")
    os.mkfifo(root / "tweetsumm_folder_with_fifo" / "test.json")
    with open(root / "huge.json", "wb") as f:
        f.truncate(DATA_FILE_LIMIT + 1)
    os.mkfifo(root / "fifo.yaml")


@pytest.fixture
def case_dir(tmp_path, offline, monkeypatch):
    _write_files(tmp_path)
    for name, content in ROUND_TWO_FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    _special_files(tmp_path)
    _no_model_loads(monkeypatch)
    return tmp_path


class ModelLoaded(AssertionError):
    """A model was loaded for an input that should have been refused first."""


def _no_model_loads(monkeypatch) -> None:
    import transformers
    from transformers.models.auto import auto_factory

    import summeval.lm_eval.runner as runner
    import summeval.study.compare as study_compare

    def refuse(*args, **kwargs):
        raise ModelLoaded(f"a model was loaded: {args[:2]}")

    monkeypatch.setattr(runner, "load_lm", refuse)
    monkeypatch.setattr(study_compare, "load_lm", refuse)
    monkeypatch.setattr(auto_factory._BaseAutoModelClass, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))


STUDY = ["study", "--config"]

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
        "holds no task.json",
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
        "fifo.json is not a file",
    ),
    (
        "compare-exemplars-fifo",
        5,
        [*COMPARE, "--active-prompt-exemplars", "{tmp}/fifo.json", "--out", "{tmp}/c"],
        "fifo.json is not a file",
    ),
    ("study-config-fifo", 5, [*STUDY, "{tmp}/fifo.yaml"], "study config: {tmp}/fifo.yaml is a FIFO"),
    ("study-config-dev-zero", 5, [*STUDY, "/dev/zero"], "study config: /dev/zero is a character device"),
    (
        "recipe-fifo",
        5,
        ["finetune", "--recipe", "{tmp}/fifo.yaml", "--output", "{tmp}/a"],
        "fifo.yaml is not a file",
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


# (id, class, --metadata as lm_eval gives it to our tasks (model args merged in), the expected text)
ROUND_TWO_METADATA = [
    (
        "samples-huge",
        3,
        {"self_consistency": {"samples": BIG}},
        f"option 'samples' is {BIG}; it must be at least 1 and at most 1000",
    ),
    (
        "temperature-inf",
        3,
        {"self_consistency": {"temperature": float("inf")}},
        "option 'temperature' is inf",
    ),
    (
        "temperature-nan",
        3,
        {"self_consistency": {"temperature": float("nan")}},
        "option 'temperature' is nan",
    ),
    (
        "temperature-json-infinity",
        3,
        {"self_consistency": '{"temperature": Infinity}'},
        "option 'temperature' is inf",
    ),
    ("max-gen-toks-huge", 3, {"answer_only": {"max_gen_toks": BIG}}, f"option 'max_gen_toks' is {BIG}"),
    ("fewshot-k-huge", 3, {"fewshot": {"k": 100_000}}, "option 'k' is 100000"),
    ("cot-fewshot-k-huge", 3, {"cot_fewshot": {"k": 100_000}}, "option 'k' is 100000"),
    ("fewshot-seed-2-64", 3, {"fewshot": {"seed": SEED_PAST}}, f"fewshot: option 'seed' is {SEED_PAST}"),
    ("fewshot-seed-negative", 3, {"fewshot": {"seed": -1}}, "fewshot: option 'seed' is -1"),
    ("tweetsumm-seed-2-64", 3, {"tweetsumm_seed": SEED_PAST}, f"tweetsumm_seed={SEED_PAST} is not valid"),
    (
        "dtype-float13",
        8,
        {"pretrained": "x", "dtype": "float13"},
        "--model_args dtype: 'float13' is not a dtype",
    ),
    (
        "device-banana",
        8,
        {"pretrained": "x", "device": "banana"},
        "--model_args device: 'banana' is not a device",
    ),
    (
        "tweetsumm-data-dev-zero",
        5,
        {"tweetsumm_data": "/dev/zero"},
        "tweetsumm: /dev/zero is a character device",
    ),
    ("sports-data-dev-zero", 5, {"sports_data": "/dev/zero"}, "sports: /dev/zero is a character device"),
    (
        "exemplars-dev-zero",
        5,
        {"active_prompt_exemplars": "/dev/zero"},
        "exemplar file: /dev/zero is a character device",
    ),
]


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


# ----------------------------------------------------------------------------- class 2: adapters


def _peft_adapter(base: Path, out: Path, r: int = 4, targets=("q_proj", "v_proj")) -> Path:
    """A real PEFT LoRA adapter of ``base``, saved by PEFT itself (no summeval.json)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base))  # its weights do not matter
    get_peft_model(model, LoraConfig(r=r, lora_alpha=8, target_modules=list(targets))).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def peft_adapters(tiny_llama, tmp_path_factory):
    root = tmp_path_factory.mktemp("peft-adapters")
    good = _peft_adapter(tiny_llama, root / "good")
    mlp = _peft_adapter(tiny_llama, root / "mlp", targets=("gate_proj",))
    return {"good": good, "mlp": mlp, "root": root}


def _copy(adapter: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(adapter, to)
    return to


def _adapter_case(name: str, peft_adapters, tmp: Path) -> Path:
    """An adapter folder for case ``name``, made from the real PEFT adapter."""
    folder = _copy(peft_adapters["good"], tmp / name)
    weights = folder / "adapter_model.safetensors"
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text())
    if name == "truncated":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif name == "header-truncated":
        weights.write_bytes(weights.read_bytes()[:40])
    elif name == "tiny-file":
        weights.write_bytes(b"\x01\x02")
    elif name == "header-not-json":
        weights.write_bytes((16).to_bytes(8, "little") + b"not json at all!" + b"\x00" * 32)
    elif name == "summeval-json-list":
        (folder / "summeval.json").write_text("[1, 2]")
    elif name == "summeval-json-latin1":
        (folder / "summeval.json").write_bytes('{"base_model": "caf\xe9"}'.encode("latin-1"))
    elif name == "rank-absurd":
        config_path.write_text(json.dumps({**config, "r": 10**9}))
    elif name == "rank-text":
        config_path.write_text(json.dumps({**config, "r": "sixteen"}))
    elif name == "pickle-only":
        weights.unlink()
        (folder / "adapter_model.bin").write_bytes(b"\x80\x04not really a pickle")
    elif name == "no-weights":
        weights.unlink()
    elif name == "config-not-object":
        config_path.write_text('"just a string"')
    return folder


# (id, how the adapter is made, the base it is checked against, the expected text)
ADAPTER_CASES = [
    (
        "other-width",
        "good",
        "tinybase",
        "q_proj has 16 in features, the adapter's base_model.model.model.layers.0",
    ),
    ("other-width-mlp", "mlp", "tinybase", "mlp.gate_proj has 16 in features"),
    ("other-architecture", "good", "t5base", "target modules q_proj, v_proj are not modules of it"),
    ("truncated", "truncated", "tiny_llama", "is truncated: tensor"),
    ("header-truncated", "header-truncated", "tiny_llama", "is truncated or not safetensors"),
    ("tiny-file", "tiny-file", "tiny_llama", "is truncated (2 bytes"),
    ("header-not-json", "header-not-json", "tiny_llama", "its header is not JSON"),
    (
        "summeval-json-list",
        "summeval-json-list",
        "tiny_llama",
        "summeval.json holds a JSON list; expected an object",
    ),
    ("summeval-json-latin1", "summeval-json-latin1", "tiny_llama", "summeval.json is not UTF-8 (byte 19)"),
    (
        "rank-absurd",
        "rank-absurd",
        "tiny_llama",
        "r is 1000000000; a LoRA rank must be at least 1 and at most 4096",
    ),
    ("rank-text", "rank-text", "tiny_llama", "r is 'sixteen'"),
    ("pickle-only", "pickle-only", "tiny_llama", "holds only adapter_model.bin, a pickle"),
    ("no-weights", "no-weights", "tiny_llama", "has no adapter_model.safetensors"),
    ("config-not-object", "config-not-object", "tiny_llama", "adapter_config.json holds a JSON str"),
]


@pytest.mark.parametrize(
    ("make", "base", "expected"), [c[1:] for c in ADAPTER_CASES], ids=[c[0] for c in ADAPTER_CASES]
)
def test_a_bad_adapter_is_one_line_before_the_base_loads(
    make, base, expected, peft_adapters, tiny_llama, case_dir, capsys, monkeypatch
):
    adapter = peft_adapters[make] if make in ("good", "mlp") else _adapter_case(make, peft_adapters, case_dir)
    base_path = tiny_llama if base == "tiny_llama" else case_dir / base
    code = cli.main(["merge", str(adapter), "--base", str(base_path), "--out", str(case_dir / "m")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert str(adapter) in lines[0] or "adapter:" in lines[0]
    assert not (case_dir / "m").exists()


def test_a_peft_adapter_of_another_width_names_the_misfit(peft_adapters, case_dir):
    from summeval.training.adapters import AdapterError, check_base_matches

    with pytest.raises(AdapterError) as raised:
        check_base_matches(peft_adapters["good"], str(case_dir / "tinybase"))
    message = str(raised.value)
    assert "model.layers.0.self_attn.q_proj has 16 in features" in message and "[4, 32]" in message


def test_a_peft_adapter_that_fits_says_what_was_compared(peft_adapters, tiny_llama, tmp_path, capsys):
    from summeval.training.adapters import check_base_matches

    copy = _copy(tiny_llama, tmp_path / "copy-of-base")  # another name, the same architecture
    check_base_matches(peft_adapters["good"], str(copy))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the shapes of its 8 tensors fit" in err


def test_a_pickle_adapter_is_checked_when_opted_in(peft_adapters, tiny_llama, case_dir, monkeypatch, capsys):
    from summeval.training.adapters import ALLOW_PICKLE_ENV, check_base_matches

    adapter = _adapter_case("pickle-only", peft_adapters, case_dir)
    monkeypatch.setenv(ALLOW_PICKLE_ENV, "1")
    check_base_matches(adapter, str(tiny_llama))  # its recorded base: no shapes to compare, no error
    assert capsys.readouterr().err == ""


def test_a_study_adapter_of_another_base_is_one_line_before_any_cell(peft_adapters, case_dir, capsys):
    """A trained adapter that does not fit its model's base is refused by the study's up-front checks, on
    every backend (vLLM's engine would fail inside a spawned process), before a model loads."""
    config = case_dir / "study_adapter_other_base.yaml"
    config.write_text(
        study(models=f"models:\n  base: {{pretrained: ./tinybase, adapter: {peft_adapters['good']}}}"),
        encoding="utf-8",
    )
    code = cli.main(["study", "--config", str(config), "--out", str(case_dir / "out")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and "models.base.adapter" in lines[0] and "q_proj has 16 in features" in lines[0]
    assert not (case_dir / "out" / "cells").exists()


def test_the_adapter_check_under_lm_eval_refuses_before_weights_load(peft_adapters, case_dir):
    """lm-eval's own ``HFLM._create_model``, as the start-up hook wraps it, refuses the adapter before it
    loads weights (every loader raises ``ModelLoaded`` here)."""
    from lm_eval.models import huggingface

    from summeval.lm_eval.adapter_check import patch_hflm
    from summeval.training.adapters import AdapterError

    patch_hflm(huggingface)  # already done by the start-up hook when it is on; idempotent
    hflm = huggingface.HFLM.__new__(huggingface.HFLM)
    with pytest.raises(AdapterError, match="q_proj has 16 in features"):
        hflm._create_model(str(case_dir / "tinybase"), peft=str(peft_adapters["good"]))


# ----------------------------------------------------------------------------- good inputs still pass


@pytest.mark.parametrize("steps", [0, -3, BIG * 10, True, 2.5])
def test_the_library_finetune_bounds_max_steps_as_the_command_line_does(steps, tmp_path):
    from summeval.training.finetune import FinetuneError, finetune
    from summeval.training.recipe import load_recipe

    recipe = load_recipe(REPO / "adapters" / "tweetsumm-r16.yaml")
    with pytest.raises(FinetuneError, match=rf"^finetune: --max-steps is {steps!r}; it must be"):
        finetune(recipe, tmp_path / "adapter", max_steps=steps)
    assert not list(tmp_path.iterdir())  # nothing written, no lock left


def test_good_values_at_the_ceilings_pass(offline):
    check_metadata(
        {"self_consistency": {"samples": 1000, "temperature": 100}, "fewshot": {"seed": 2**32 - 1}}
    )
    check_metadata({"pretrained": "x", "dtype": "bfloat16", "device": "cuda:1"})


def test_the_example_study_configs_and_recipes_still_load():
    from summeval.study.config import load_study
    from summeval.training.recipe import load_recipe

    repo = REPO
    for config in sorted((repo / "studies").glob("*.yaml")):
        load_study(config)
    for recipe in sorted((repo / "adapters").glob("*.yaml")):
        load_recipe(recipe)


def test_yaml_merge_keys_and_a_few_aliases_are_fine(tmp_path):
    from summeval_tasks.util.yaml_files import load_yaml_text

    text = "base: &b {r: 8}\nlora: {<<: *b, r: 16}\nlist: [*b, *b]\n"
    assert load_yaml_text(text, ValueError, "x") == {
        "base": {"r": 8},
        "lora": {"r": 16},
        "list": [{"r": 8}] * 2,
    }


def test_sports_statements_lose_their_invisible_characters(tmp_path):
    from summeval_tasks.sports.source import parse_task_json

    path = tmp_path / "task.json"
    path.write_text(task_json([*SPORTS_GOOD[:5], example("LeBron\u200b threw a touchdown", 0, 1)]))
    statements = [s.statement for split in parse_task_json(path).values() for s in split]
    assert "LeBron threw a touchdown" in statements and not any("\u200b" in s for s in statements)


def test_the_table_has_seventy_cases_or_more():
    counts: dict[int, int] = {}
    for case in ROUND_TWO_CLI + ROUND_TWO_METADATA:
        counts[case[1]] = counts.get(case[1], 0) + 1
    counts[2] = len(ADAPTER_CASES)
    assert sum(counts.values()) >= 70 and set(counts) == {2, 3, 4, 5, 8, 9}, counts
