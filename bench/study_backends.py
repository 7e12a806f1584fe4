"""The same study config on ``backend: hf`` and ``backend: vllm``, side by side: wall time and the ratio.

Each backend runs ``summeval study`` on a copy of the config with every model's ``backend`` set (and
``dtype`` fp32 on both, unless the config gives one: greedy outputs then match), into its own fresh
output folder, in a fresh process (engine start-up and imports included: what a user waits for).
It then compares the greedy cells' outputs (cells whose task samples nothing) between the two.

Run in the vLLM venv (it has both backends; README, vLLM on CPU):
    .venv-vllm/bin/python bench/study_backends.py                         # a small built-in config
    .venv-vllm/bin/python bench/study_backends.py --config studies/embedded.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SMALL = {
    "name": "backends-small",
    "description": "the embedded model: TweetSumm zero-shot and two sports strategies",
    "seed": 1234,
    "limit": 4,
    "apply_chat_template": True,
    "data": {"tweetsumm": "sample", "sports_understanding": "sample"},
    "models": {"smol": {"pretrained": "embedded", "model_args": {"max_model_len": 2048}}},
    "evaluations": [
        {"model": "smol", "tasks": ["tweetsumm_zero"]},
        {"model": "smol", "family": "sports_understanding", "strategies": ["answer_only", "cot"]},
    ],
}
SAMPLED = ("self_consistency", "active_prompt")


def with_backend(tree: dict, backend: str, base: Path) -> dict:
    tree = json.loads(json.dumps(tree))
    for spec in tree["models"].values():
        spec["backend"] = backend
        spec.setdefault("model_args", {}).setdefault("dtype", "float32")
        if backend == "hf":
            spec["model_args"].pop("max_model_len", None)  # a vLLM argument
        for key in ("recipe", "adapter"):  # relative to the original config's folder
            if key in spec and not Path(spec[key]).is_absolute():
                spec[key] = str((base / spec[key]).resolve())
    return tree


def run(tree: dict, folder: Path, backend: str) -> tuple[float, Path]:
    config = folder / f"{backend}.yaml"
    config.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    out = folder / f"out-{backend}"
    summeval = str(Path(sys.executable).with_name("summeval"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    subprocess.run([summeval, "study", "--config", str(config), "--out", str(out)], check=True, env=env)
    return time.perf_counter() - start, out


def outputs(out: Path) -> dict[str, list]:
    found = {}
    for samples in sorted((out / "cells").glob("*/*/samples.jsonl")):
        task = samples.parent.name
        if any(word in task for word in SAMPLED):
            continue
        records = sorted(
            (json.loads(line) for line in samples.read_text().splitlines()), key=lambda r: r["doc_id"]
        )
        found[f"{samples.parent.parent.name}/{task}"] = [r["resps"] for r in records]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, help="a study config (default: a small built-in one)")
    args = parser.parse_args()
    tree = yaml.safe_load(args.config.read_text()) if args.config else SMALL
    base = args.config.parent if args.config else Path.cwd()
    folder = Path(tempfile.mkdtemp(prefix="study-backends-"))
    times, outs = {}, {}
    for backend in ("hf", "vllm"):
        times[backend], outs[backend] = run(with_backend(tree, backend, base), folder, backend)
        print(f"{backend}: {times[backend]:.1f} s", flush=True)
    hf, vllm = outputs(outs["hf"]), outputs(outs["vllm"])
    same = [cell for cell in hf if hf[cell] == vllm.get(cell)]
    print(
        f"config: {args.config or 'built-in small'} ({len(tree['evaluations'])} evaluations); "
        f"outputs in {folder}"
    )
    print(
        f"wall time: hf {times['hf']:.1f} s, vllm {times['vllm']:.1f} s, "
        f"vllm / hf = {times['vllm'] / times['hf']:.2f}"
    )
    print(f"greedy cells with identical outputs: {len(same)} of {len(hf)}")
    for cell in sorted(set(hf) - set(same)):
        print(f"  differs: {cell}")


if __name__ == "__main__":  # vLLM's engine runs in a spawned process
    main()
