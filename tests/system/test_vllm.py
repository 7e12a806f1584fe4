"""The vLLM path for real, on its CPU build (``vllm-cpu`` + ``tools/vllm-cpu-shim``) and the embedded model.

The vLLM tests run only in the vLLM venv (the README's ``ci:vllm`` install; ``.ci/run`` runs them there with
``pytest -m vllm tests/test_vllm.py``). Where vLLM is not installed they are skipped at collection, so the
main suite pays nothing for them. Every run is small (2 docs, short generations): the engine runs on one
core of a shared 2-core machine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import offline_env, read_results, run_lm_eval

from summeval.study.backends import (
    VLLM_CPU_DEFAULTS,
    backend_settings,
    check_vllm_kv_cache,
    vllm_cpu_environment,
)
from summeval.study.plan import ModelSpec, StudyConfigError

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
if not HAVE_VLLM and os.environ.get("SUMMEVAL_REQUIRE_VLLM") == "1":  # .ci/run: a missing vLLM fails
    raise RuntimeError("SUMMEVAL_REQUIRE_VLLM=1 but vLLM is not importable in " + sys.executable)
_skip = pytest.mark.skipif(
    not HAVE_VLLM, reason="vLLM is not installed (see the README's vLLM on CPU install, marked ci:vllm)"
)


def needs_vllm(test):
    """A test that runs vLLM: marked ``vllm``, skipped where it is not installed."""
    return pytest.mark.vllm(_skip(test))


# fp32 on both backends: vLLM's CPU default (bf16) and HF's (fp32) would round differently.
DTYPE = "float32"
# vLLM on CPU: no torch.compile per engine start, a small KV cache, one core.
VLLM_ARGS = f"dtype={DTYPE},enforce_eager=True,max_model_len=2048,gpu_memory_utilization=0.5"
# The engine in the lm_eval process itself (vLLM's V1 default is a separate engine process fed over ZeroMQ
# by daemon threads). Under plain `lm_eval --model vllm` that engine lives until the interpreter exits:
# vLLM keeps the torchcodec ImportError of its audio module (torchcodec is removed by the ci:vllm install)
# with its traceback, whose frames reach lm-eval's simple_evaluate and its `lm`. Its shutdown then runs
# at exit (SIGTERM, 5 s, force kill), and in 2 of 2 CI runs (stops 34, 35) the lm_eval process aborted
# there after writing its results (SIGABRT, "terminate called without an active exception"). In-process,
# nothing is left to shut down at exit. See docs/backends.md.
VLLM_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_OMP_THREADS_BIND": "auto",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
}


def _samples(output_dir: Path, task: str) -> list[dict]:
    files = sorted(output_dir.rglob(f"samples_{task}_*.jsonl"))
    assert files, f"no logged samples for {task} under {output_dir}"
    records = [json.loads(line) for line in files[-1].read_text().splitlines()]
    return sorted(records, key=lambda r: r["doc_id"])


def _flat(value) -> list[str]:
    return [text for item in value for text in _flat(item)] if isinstance(value, list) else [value]


def _outputs(output_dir: Path, task: str) -> list[list[str]]:
    """The raw generations of each doc (one per repeat), in doc order (lm-eval logs a record per filter)."""
    first = {}
    for record in _samples(output_dir, task):
        first.setdefault(record["doc_id"], _flat(record["resps"]))
    return [first[doc] for doc in sorted(first)]


def _lm_eval(model: str, model_args: str, tasks: str, out: Path, metadata: dict, *, limit: int, toks: int):
    return run_lm_eval(
        [
            "--model", model,
            "--model_args", model_args,
            "--tasks", tasks,
            "--metadata", json.dumps(metadata),
            "--limit", str(limit),
            "--gen_kwargs", f"max_gen_toks={toks}",
            "--apply_chat_template",
            "--seed", "1234",
            "--log_samples",
            "--output_path", str(out),
        ],
        env=offline_env(**VLLM_ENV),
    )  # fmt: skip


SAMPLE = {"tweetsumm_data": "sample", "sports_data": "sample"}
GREEDY_TASKS = ("tweetsumm_zero", "sports_understanding_answer_only")


@pytest.fixture(scope="module")
def hf_greedy(embedded_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf")
    _lm_eval(
        "hf",
        f"pretrained={embedded_model},dtype={DTYPE}",
        ",".join(GREEDY_TASKS),
        out,
        SAMPLE,
        limit=2,
        toks=32,
    )
    return out


@needs_vllm
def test_greedy_vllm_outputs_equal_hf(embedded_model, hf_greedy, tmp_path):
    _lm_eval(
        "vllm",
        f"pretrained={embedded_model},{VLLM_ARGS}",
        ",".join(GREEDY_TASKS),
        tmp_path,
        SAMPLE,
        limit=2,
        toks=32,
    )
    for task in GREEDY_TASKS:
        vllm_out, hf_out = _outputs(tmp_path, task), _outputs(hf_greedy, task)
        assert len(vllm_out) == 2 and all(o[0].strip() for o in vllm_out), vllm_out
        assert vllm_out == hf_out, f"{task}: vLLM {vllm_out} != HF {hf_out}"
    # Two-stage answers run on vLLM's own log-likelihoods (summeval.lm_eval.two_stage).
    sports = read_results(tmp_path)["sports_understanding_answer_only"]
    assert 0.0 <= sports["acc_two_stage,answer"] <= 1.0
    assert sports["agree_two_stage,answer"] <= 1.0 - sports["invalid,answer"] + 1e-9


@needs_vllm
def test_self_consistency_reruns_identically_and_samples_distinct_paths(embedded_model, tmp_path):
    metadata = {**SAMPLE, "self_consistency": {"samples": 4}}
    runs = []
    for attempt in ("a", "b"):
        out = tmp_path / attempt
        _lm_eval(
            "vllm", f"pretrained={embedded_model},{VLLM_ARGS},seed=1234", "tweetsumm_self_consistency",
            out, metadata, limit=1, toks=24,
        )  # fmt: skip
        runs.append(_outputs(out, "tweetsumm_self_consistency"))
    assert runs[0] == runs[1], "a rerun at the same seed changed the samples"
    (paths,) = runs[0]
    assert len(paths) == 4
    assert len(set(paths)) == 4, f"the 4 sampled paths are not distinct: {paths}"


@needs_vllm
def test_adaptive_self_consistency_on_vllm_draws_in_rounds_and_reruns_the_same(embedded_model, tmp_path):
    """``stop: window`` on vLLM: each round of every unfinished item goes to the engine in one call; the
    logged outputs of each item are as many as its samples metric, and a rerun draws the same ones."""
    task = "sports_understanding_self_consistency"
    metadata = {**SAMPLE, "self_consistency": {"samples": 6, "stop": "window", "window": 2}}
    runs = []
    for attempt in ("a", "b"):
        out = tmp_path / attempt
        model_args = f"pretrained={embedded_model},{VLLM_ARGS},seed=1234"
        proc = _lm_eval("vllm", model_args, task, out, metadata, limit=3, toks=24)
        runs.append((_outputs(out, task), read_results(out)[task]))
        assert "self-consistency stopped early" in proc.stderr
    (outputs, results), (rerun, _) = runs
    assert outputs == rerun, "a rerun at the same seed drew other samples"
    drawn = [len(paths) for paths in outputs]
    assert all(n in (2, 4, 6) for n in drawn)
    assert results["samples,maj@6"] == pytest.approx(sum(drawn) / len(drawn))


@pytest.fixture(scope="module")
def rank32_adapter(embedded_model, tmp_path_factory):
    """A real PEFT LoRA adapter of rank 32 on the embedded model, with non-zero B so it changes outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(embedded_model, dtype=torch.float32)
    config = LoraConfig(
        r=32, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights=False
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():  # small random deltas: outputs change, the model still writes text
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.mul_(0.05)
    out = tmp_path_factory.mktemp("adapter") / "r32"
    peft_model.save_pretrained(out)
    return out


@needs_vllm
def test_rank32_adapter_through_vllm_lora_matches_hf_peft(embedded_model, rank32_adapter, tmp_path):
    from summeval.training.adapters import adapter_rank

    assert adapter_rank(rank32_adapter) == 32
    hf_out, vllm_out = tmp_path / "hf", tmp_path / "vllm"
    _lm_eval(
        "hf", f"pretrained={embedded_model},dtype={DTYPE},peft={rank32_adapter}", "tweetsumm_zero",
        hf_out, SAMPLE, limit=2, toks=24,
    )  # fmt: skip
    _lm_eval(
        "vllm",
        f"pretrained={embedded_model},{VLLM_ARGS},lora_local_path={rank32_adapter},max_lora_rank=32",
        "tweetsumm_zero", vllm_out, SAMPLE, limit=2, toks=24,
    )  # fmt: skip
    hf_texts, vllm_texts = _outputs(hf_out, "tweetsumm_zero"), _outputs(vllm_out, "tweetsumm_zero")
    assert all(o[0].strip() for o in vllm_texts)
    # vLLM applies LoRA as a separate x @ A @ B product (punica kernels) where PEFT adds the same product
    # in another order: fp32 rounding may flip a late greedy token, so the first words must agree.
    for hf_text, vllm_text in zip(hf_texts, vllm_texts, strict=True):
        assert hf_text[0].split()[:5] == vllm_text[0].split()[:5], (hf_text, vllm_text)


# --- the study's vLLM settings on the CPU build (no engine) ------------------------------------------


def _embedded_config(embedded_model):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(embedded_model)


def test_kv_cache_too_small_for_the_context_is_one_line(embedded_model):
    spec = ModelSpec(name="smol", pretrained="embedded", backend="vllm", model_args={"dtype": "float32"})
    config = _embedded_config(embedded_model)  # 30 layers, 3 KV heads of 64, 8,192 positions: 0.35 GiB fp32
    check_vllm_kv_cache(spec, config, {"VLLM_CPU_KVCACHE_SPACE": "0.4"}, "study config x.yaml: models.smol")
    with pytest.raises(StudyConfigError) as err:
        check_vllm_kv_cache(
            spec, config, {"VLLM_CPU_KVCACHE_SPACE": "0.2"}, "study config x.yaml: models.smol"
        )
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("study config x.yaml: models.smol: VLLM_CPU_KVCACHE_SPACE=0.2 (environment)")
    assert "8192 tokens" in message and "0.35 GiB in float32" in message and "max_model_len" in message
    short = ModelSpec(name="smol", pretrained="embedded", backend="vllm", model_args={"max_model_len": 2048})
    check_vllm_kv_cache(short, config, {"VLLM_CPU_KVCACHE_SPACE": "0.2"}, "x")  # 2,048 bf16 tokens fit


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_kv_cache_that_is_not_a_size_is_refused(embedded_model, value):
    spec = ModelSpec(name="smol", pretrained="embedded", backend="vllm")
    with pytest.raises(StudyConfigError, match=f"VLLM_CPU_KVCACHE_SPACE={value!r} .*positive number"):
        check_vllm_kv_cache(spec, _embedded_config(embedded_model), {"VLLM_CPU_KVCACHE_SPACE": value}, "x")


def test_cpu_environment_defaults_leave_what_the_user_set():
    assert vllm_cpu_environment({}, cpus=64) == VLLM_CPU_DEFAULTS
    assert vllm_cpu_environment({"VLLM_CPU_KVCACHE_SPACE": "8"}, cpus=64) == {
        "VLLM_CPU_OMP_THREADS_BIND": "auto"
    }
    # a small machine: no core held back for the scheduler (bench/vllm_cpu_settings.py: 0.70 of the time)
    assert vllm_cpu_environment({}, cpus=2) == {**VLLM_CPU_DEFAULTS, "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}
    assert "VLLM_CPU_NUM_OF_RESERVED_CPU" not in vllm_cpu_environment(
        {"VLLM_CPU_NUM_OF_RESERVED_CPU": "1"}, cpus=2
    )


@needs_vllm
def test_cpu_build_runs_eager_with_the_adapter_rank(rank32_adapter):
    spec = ModelSpec(name="tuned", pretrained="m", backend="vllm")
    _, args, _ = backend_settings(spec, "m", rank32_adapter, batch_size=1, device=None)
    assert args["enforce_eager"] is True and args["max_lora_rank"] == 32
    low = ModelSpec(name="tuned", pretrained="m", backend="vllm", model_args={"max_lora_rank": 16})
    with pytest.raises(StudyConfigError, match="max_lora_rank: 16 is below the adapter's rank 32"):
        backend_settings(low, "m", rank32_adapter, batch_size=1, device=None)


@needs_vllm
def test_an_adapter_of_another_base_is_one_line_before_the_engine_starts(
    rank32_adapter, tiny_llama, tmp_path
):
    """The rank-32 adapter of the embedded model on a tiny llama of another width: the study's up-front
    check refuses it (vLLM's engine would fail in its spawned process), naming the model's adapter."""
    from summeval.study.config import load_study
    from summeval.study.inputs import check_inputs

    config = {
        "name": "vllm-misfit",
        "data": {"sports_understanding": "sample"},
        "models": {
            "tiny": {"pretrained": str(tiny_llama), "backend": "vllm", "adapter": str(rank32_adapter)}
        },
        "evaluations": [{"model": "tiny", "tasks": ["sports_understanding_answer_only"]}],
    }
    path = tmp_path / "misfit.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with pytest.raises(StudyConfigError) as err:
        check_inputs(load_study(path), tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message and "models.tiny.adapter" in message and "does not fit" in message, message


def _study(out: Path, *, backend: str = "vllm") -> subprocess.CompletedProcess:
    config = {
        "name": "vllm-small",
        "description": "the embedded model on vLLM's CPU build, two greedy cells",
        "seed": 1234,
        "limit": 2,
        "apply_chat_template": True,
        "data": {"tweetsumm": "sample", "sports_understanding": "sample"},
        "models": {
            "smol": {
                "pretrained": "embedded",
                "backend": backend,
                "model_args": {"dtype": DTYPE, "max_model_len": 2048},
            }
        },
        "evaluations": [
            {"model": "smol", "tasks": ["tweetsumm_zero"]},
            {"model": "smol", "family": "sports_understanding", "strategies": ["answer_only"]},
        ],
    }
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("summeval")), "study", "--config", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        env=offline_env(),
        timeout=900,
    )
    assert proc.returncode == 0, f"summeval study failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _cells(out: Path) -> dict[str, int]:
    return {
        f"{p.parent.parent.name}/{p.parent.name}": p.stat().st_mtime_ns
        for p in (out / "cells").glob("*/*/cell.json")
    }


@needs_vllm
def test_study_on_vllm_caches_and_resumes(tmp_path):
    import shutil

    out = tmp_path / "study"
    first = _study(out)
    assert "2 cells, 0 finished before, 2 to run" in first.stdout
    cells = _cells(out)
    assert sorted(cells) == ["smol/sports_understanding_answer_only", "smol/tweetsumm_zero"]
    record = json.loads((out / "cells" / "smol" / "tweetsumm_zero" / "cell.json").read_text())
    settings = json.dumps(record["settings"])
    assert '"backend": "vllm"' in settings, settings
    assert (out / "report.md").is_file()

    again = _study(out)  # everything cached: no engine start
    assert "2 cells, 2 finished before, 0 to run" in again.stdout
    assert _cells(out) == cells

    shutil.rmtree(out / "cells" / "smol" / "sports_understanding_answer_only")  # as a killed run leaves it
    resumed = _study(out)
    assert "2 cells, 1 finished before, 1 to run" in resumed.stdout
    after = _cells(out)
    assert after["smol/tweetsumm_zero"] == cells["smol/tweetsumm_zero"]
    assert after["smol/sports_understanding_answer_only"] != cells["smol/sports_understanding_answer_only"]


@needs_vllm
def test_release_lm_stops_the_engine_before_exit(embedded_model, monkeypatch):
    """A study or compare stops its vLLM engine when it is done with the model: the engine's process is
    gone before the interpreter exits (vLLM's stored import traceback would keep it to exit otherwise)."""
    import multiprocessing

    from summeval.lm_eval.runner import load_lm, release_lm

    for key, value in offline_env(**{**VLLM_ENV, "VLLM_ENABLE_V1_MULTIPROCESSING": "1"}).items():
        monkeypatch.setenv(key, value)
    args = {"pretrained": str(embedded_model), "dtype": DTYPE, "enforce_eager": True, "max_model_len": 2048}
    lm = load_lm("vllm", args, {"batch_size": 1})
    engines = multiprocessing.active_children()
    assert engines, "vLLM started no engine process"
    release_lm(lm)
    for engine in engines:  # stopped (SIGTERM, at most 5 s, then SIGKILL): reaped at once
        engine.join(timeout=2)
    assert not any(engine.is_alive() for engine in engines), engines
    release_lm(object())  # any other model: nothing to stop
