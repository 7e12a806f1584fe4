"""A trained adapter is checked against its base before the base loads (``summeval.training.adapters``):
real PEFT adapters without our summeval.json, of another width or architecture, truncated or damaged,
through ``summeval merge``, a study's up-front checks and lm-eval's own ``HFLM`` as the start-up hook
wraps it. Each refusal is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support_inputs import ADAPTER_CASES, study, write_case_folder

from summeval import cli


@pytest.fixture
def case_dir(tmp_path, offline, monkeypatch):
    return write_case_folder(tmp_path, monkeypatch)


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
