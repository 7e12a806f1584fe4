"""vLLM's CPU build: which thread binding and batch size is fastest on this machine, measured.

Each set-up runs the real ``lm_eval --model vllm`` command on ``tweetsumm_zero`` (the embedded model,
the sample data, ``--limit`` docs, ``max_gen_toks``), in a fresh process, with its environment:
- ``VLLM_CPU_OMP_THREADS_BIND=auto``: vLLM binds its compute threads itself and reserves one core for
  its scheduler process (on 2 cores it computes on one): the study's default;
- ``auto`` with ``VLLM_CPU_NUM_OF_RESERVED_CPU=0``: the same binding, no core held back;
- ``nobind``: vLLM binds nothing; torch's threads run where the OS puts them;
and lm-eval's ``batch_size`` 1 (one request at a time) against ``auto`` (every request handed to vLLM at
once, which batches them). The wall time includes importing vLLM and starting the engine (what a user
waits for); the "generation" column is the time lm-eval's progress bar spent on its requests. Set-ups
alternate their order across ``--rounds``; medians are printed, with each one's ratio to the default,
and whether the greedy outputs are the same under every set-up.

``--self-consistency K`` measures the K samples of one prompt instead:
``sports_understanding_self_consistency`` (K sampled chains of thought per statement; lm-eval's
``repeats`` make them K requests of one prompt) with vLLM's prefix caching on (its default: the K
requests share the prompt's KV cache) against off (each request encodes the prompt again: lm-eval's
plain repeats), batch auto. Sampled outputs are compared between the two at the same seed.

Run in the vLLM venv (README, vLLM on CPU):
    .venv-vllm/bin/python bench/vllm_cpu_settings.py --limit 8 --rounds 1
    .venv-vllm/bin/python bench/vllm_cpu_settings.py --self-consistency 10 --limit 4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUTO = {"VLLM_CPU_OMP_THREADS_BIND": "auto"}
# name: (environment, lm-eval batch_size, extra model args)
SETUPS = {
    "auto, batch 1 (default)": (AUTO, "1", ""),
    "auto, batch auto": (AUTO, "auto", ""),
    "auto, no reserved core, batch auto": ({**AUTO, "VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}, "auto", ""),
    "nobind, batch auto": ({"VLLM_CPU_OMP_THREADS_BIND": "nobind"}, "auto", ""),
}
SC_SETUPS = {
    "prefix caching off (plain repeats)": (AUTO, "auto", ",enable_prefix_caching=False"),
    "prefix caching on (vLLM default)": (AUTO, "auto", ",enable_prefix_caching=True"),
}
# "Running generate_until requests: 100%|...| 8/8 [00:41<00:00, ...]": the elapsed time of the bar.
PROGRESS = re.compile(r"Running generate_until requests: 100%\|[^|]*\| \d+/\d+ \[(?:(\d+):)?(\d+):(\d+)<")


def embedded_model() -> str:
    from summeval.training.embedded_model import embedded_model_path

    return str(embedded_model_path())


def task_name(args: argparse.Namespace) -> str:
    return "sports_understanding_self_consistency" if args.self_consistency else "tweetsumm_zero"


def run_once(setup: tuple, model: str, args: argparse.Namespace, out: Path) -> tuple[float, float, list]:
    env_extra, batch, more_args = setup
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VLLM_CPU_")},
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "VLLM_CPU_KVCACHE_SPACE": args.kv_cache,
        **env_extra,
    }
    model_args = (
        f"pretrained={model},dtype=float32,enforce_eager=True,max_model_len=2048,seed=1234{more_args}"
    )
    task = task_name(args)
    if args.self_consistency:
        metadata = {
            "sports_data": "sample",
            "self_consistency": {"samples": args.self_consistency},
        }
    else:
        metadata = {"tweetsumm_data": "sample"}
    lm_eval = str(Path(sys.executable).with_name("lm_eval"))
    cmd = [
        lm_eval, "--model", "vllm", "--model_args", model_args, "--tasks", task,
        "--metadata", json.dumps(metadata), "--limit", str(args.limit),
        "--gen_kwargs", f"max_gen_toks={args.max_gen_toks}", "--batch_size", batch,
        "--apply_chat_template", "--seed", "1234", "--log_samples", "--output_path", str(out),
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: lm_eval failed:\n{proc.stderr[-3000:]}")
    bars = PROGRESS.findall(proc.stderr)
    generation = float("nan")
    if bars:
        hours, minutes, seconds = bars[-1]
        generation = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    files = sorted(out.rglob(f"samples_{task}_*.jsonl"))
    records = [json.loads(line) for line in files[-1].read_text().splitlines()]
    outputs = [r["resps"] for r in sorted(records, key=lambda r: r["doc_id"])]
    return wall, generation, outputs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=8, help="TweetSumm docs per run (default 8)")
    parser.add_argument("--max-gen-toks", type=int, default=64, help="tokens generated per doc (default 64)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each set-up, order alternating")
    parser.add_argument(
        "--self-consistency", type=int, metavar="K", help="K samples per prompt: prefix caching on vs off"
    )
    parser.add_argument("--kv-cache", default="2", help="VLLM_CPU_KVCACHE_SPACE in GiB (default 2)")
    args = parser.parse_args()
    if min(args.limit, args.max_gen_toks, args.rounds, args.self_consistency or 1) < 1:
        parser.error("--limit, --max-gen-toks, --rounds and --self-consistency must be at least 1")
    setups = SC_SETUPS if args.self_consistency else SETUPS
    default = next(iter(setups))
    model = embedded_model()
    folder = Path(tempfile.mkdtemp(prefix="vllm-cpu-settings-"))
    walls: dict[str, list[float]] = {name: [] for name in setups}
    gens: dict[str, list[float]] = {name: [] for name in setups}
    outputs: dict[str, list] = {}
    for round_ in range(args.rounds):
        order = list(setups) if round_ % 2 == 0 else list(reversed(setups))
        for name in order:
            wall, generation, outs = run_once(
                setups[name], model, args, folder / f"{round_}-{list(setups).index(name)}"
            )
            walls[name].append(wall)
            gens[name].append(generation)
            outputs.setdefault(name, outs)
            print(f"round {round_ + 1}: {name}: {wall:.1f} s wall, {generation:.0f} s generating", flush=True)
    print(
        f"\nvLLM CPU set-ups: lm_eval --model vllm, {task_name(args)}, {args.limit} docs, "
        f"{args.max_gen_toks} tokens, fp32, {os.cpu_count()} CPUs, median of {args.rounds}"
    )
    base_wall, base_gen = statistics.median(walls[default]), statistics.median(gens[default])
    print("| set-up | wall s | ratio | generation s | ratio |\n|---|---:|---:|---:|---:|")
    for name in setups:
        wall, gen = statistics.median(walls[name]), statistics.median(gens[name])
        print(f"| {name} | {wall:.1f} | {wall / base_wall:.2f} | {gen:.0f} | {gen / base_gen:.2f} |")
    same = all(outputs[name] == outputs[default] for name in setups)
    kind = "sampled (same seed)" if args.self_consistency else "greedy"
    print(f"{kind} outputs identical under every set-up: {'yes' if same else 'NO'}")


if __name__ == "__main__":  # vLLM's engine runs in a spawned process
    main()
