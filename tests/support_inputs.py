"""Bad inputs shared by the error tests of several subjects: the files a case may name (``FILES``, written by
``_write_files``), small valid configs to break (``study``), the guard that no model loads, and the tables
of round-two metadata and adapter cases (counted together with the command-line cases in
``summeval/cli/test_cli_refusals.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from support import RECIPE

from summeval_tasks.util.source_files import DATA_FILE_LIMIT


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


class ModelLoaded(AssertionError):
    """A model was loaded for an input that should have been refused first."""


def _no_model_loads(monkeypatch) -> None:
    import transformers
    from transformers.models.auto import auto_factory

    import summeval.lm_eval.runner as runner

    def refuse(*args, **kwargs):
        raise ModelLoaded(f"a model was loaded: {args[:2]}")

    monkeypatch.setattr(runner, "load_lm", refuse)
    monkeypatch.setattr(auto_factory._BaseAutoModelClass, "from_pretrained", classmethod(refuse))
    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))


def write_case_folder(root: Path, monkeypatch) -> Path:
    """A round-two case folder: ``FILES``, ``ROUND_TWO_FILES`` and the special files in ``root``; from now
    on every model loader raises ``ModelLoaded``."""
    _write_files(root)
    for name, content in ROUND_TWO_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    _special_files(root)
    _no_model_loads(monkeypatch)
    return root


STUDY = ["study", "--config"]


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
