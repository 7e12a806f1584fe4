"""How long a study takes on P workers: its graph (``summeval.study.graph``), list-scheduled on 1, 2, 4, 8
and 32 GPUs, from the cost of each task.

    python bench/study_scaling.py --ray                 # (a) a small plan: Ray against sequential, here
    python bench/study_scaling.py --config studies/embedded.yaml --out results/study-embedded
    python bench/study_scaling.py --seed --embedded-out results/study-embedded

Issue 27's bench. Part (a), ``--ray``: a small built-in plan on the embedded model (``RAY_PLAN``: TweetSumm
zero-shot and four sports strategies on 8 items each) run twice on this machine, one after the other,
each in a fresh process with a fresh ``--out`` and the same warm cache: ``summeval study`` (sequential,
one model load) and ``summeval study --executor ray`` (a local Ray cluster of this machine's CPUs, one
CPU a cell). It prints both walls, their ratio and whether every output and report figure is identical.
Part (b), below, simulates larger clusters from recorded costs.

Where the costs come from:

- **a finished study** (``--config`` and its ``--out``): each cell's recorded seconds, each selection's
  (recorded on the cell that made it), each adapter's training seconds (``report.json``). Loading a model
  is added to every task with ``--load-seconds`` (a worker loads the model of each task it runs; the
  sequential run loads each model once): 0 by default, as the study records no load time per cell.
- **the seed study** (``--seed``, ``studies/seed.yaml`` from scratch). Published figures where the seed
  study gave them:
  - TweetSumm zero-shot: 3.2 s a dialog at batch size 1, 110 test dialogs;
  - training: 2,024 s (r16) and 2,151 s (r32).

  Everything else is scaled from a finished embedded study (``--embedded-out``): each task's seconds per
  item, relative to the embedded TweetSumm zero-shot's. Sports cells use 197 validation statements.
  Selection is its recorded seconds scaled by the seed's pool (100 questions) over the embedded one's.
  These are estimates until the GPU kit measures the seed's cells (``bench/gpu/``); the table says so.

The lower bounds beside each makespan: no schedule finishes before the critical path (the longest chain of
dependent tasks), nor before the total work over P. List scheduling is within 2 - 1/P of the best
schedule (Graham).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from summeval.study.config import load_study
from summeval.study.graph import critical_path, makespan, study_graph
from summeval.study.plan import StudyConfig
from summeval.study.store import cell_dir

WORKERS = (1, 2, 4, 8, 32)
SEED_SECONDS_PER_DIALOG = 3.2
SEED_TRAIN_SECONDS = {"stablelm-r16": 2024.0, "stablelm-r32": 2151.0}
SEED_ITEMS = {"tweetsumm": 110, "sports_understanding": 197}
SEED_POOL = 100


def recorded_costs(config: StudyConfig, out: Path, load_seconds: float = 0.0) -> dict[str, float]:
    """Each task's seconds as a finished study in ``out`` recorded them (plus ``load_seconds`` a task)."""
    tasks = study_graph(config)
    if not (out / "report.json").is_file():
        raise SystemExit(f"bench: {out} holds no finished study (no report.json); run the study first")
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    models = report["provenance"]["models"]
    cost: dict[str, float] = {}
    for task_id, task in tasks.items():
        if task.kind == "train":
            model = task_id.split(":", 1)[1]
            cost[task_id] = float((models[model].get("adapter") or {}).get("train_seconds") or 0.0)
        elif task.kind == "cell":
            record = _record(config, out, task_id.split(":", 1)[1])
            cost[task_id] = float(record["seconds"])
    for task_id, task in tasks.items():
        if task.kind == "select":  # recorded on the cell that selected, once per model and family
            cost[task_id] = max(
                (
                    float(_record(config, out, t.split(":", 1)[1]).get("selection_seconds") or 0.0)
                    for t, other in tasks.items()
                    if other.kind == "cell" and task_id in other.after
                ),
                default=0.0,
            )
    return {t: c + load_seconds for t, c in cost.items()}


def _record(config: StudyConfig, out: Path, cell_id: str) -> dict:
    from summeval.study.keys import all_cells

    cell = next(c for c in all_cells(config) if c.id == cell_id)
    path = cell_dir(out, cell) / "cell.json"
    if not path.is_file():
        raise SystemExit(f"bench: {cell_id} has not run in {out} ({path} is missing); run the study first")
    return json.loads(path.read_text(encoding="utf-8"))


def seed_costs(seed: StudyConfig, embedded: StudyConfig, embedded_out: Path) -> dict[str, float]:
    """The seed study's tasks, costed from its published figures and the embedded study's relative ones."""
    measured = recorded_costs(embedded, embedded_out)
    per_item: dict[str, float] = {}
    for cell in embedded.cells:
        per_item[cell.task] = measured[f"cell:{cell.id}"] / _record(embedded, embedded_out, cell.id)["n"]
    unit = SEED_SECONDS_PER_DIALOG / per_item["tweetsumm_zero"]  # seed seconds per embedded second
    pool = embedded.selection.get("pool_size") or SEED_POOL
    cost: dict[str, float] = {}
    for task_id, task in study_graph(seed).items():
        name = task_id.split(":", 1)[1]
        if task.kind == "train":
            cost[task_id] = SEED_TRAIN_SECONDS[name]
        elif task.kind == "select":
            family = name.split("/")[1]
            embedded_select = next(
                v for k, v in measured.items() if k.startswith("select:") and k.endswith(family)
            )
            cost[task_id] = embedded_select * unit * SEED_POOL / pool
        else:
            cell = seed.cell(name.split("@")[0])
            cost[task_id] = per_item[cell.task] * unit * SEED_ITEMS[cell.family.name]
    return cost


RAY_PLAN = {
    "name": "scaling",
    "seed": 1234,
    "apply_chat_template": True,
    "sample": 8,
    "data": {"tweetsumm": "sample", "sports_understanding": "generated"},
    "options": {"self_consistency": {"samples": 3}},
    "models": {"smollm2": {"pretrained": "embedded"}},
    "evaluations": [
        {"model": "smollm2", "tasks": ["tweetsumm_zero"]},
        {
            "model": "smollm2",
            "family": "sports_understanding",
            "strategies": ["answer_only", "fewshot", "cot", "self_consistency"],
        },
    ],
}


def _outputs(out: Path) -> dict[str, list]:
    """Each cell's logged model outputs."""
    return {
        str(p.parent.relative_to(out)): [json.loads(line)["resps"] for line in p.read_text().splitlines()]
        for p in sorted((out / "cells").glob("*/*/samples.jsonl"))
    }


def ray_against_sequential(folder: Path) -> int:
    """Part (a): the plan sequentially, then on Ray; print the walls, the ratio and the identity check."""
    import os
    import subprocess
    import time

    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "scaling.yaml"
    config.write_text(yaml.safe_dump(RAY_PLAN, sort_keys=False), encoding="utf-8")
    walls = {}
    for name, extra in (("sequential", []), ("ray", ["--executor", "ray"])):
        out = folder / name
        if out.exists():
            raise SystemExit(f"bench: {out} exists; give an empty --bench-dir")
        command = [sys.executable, "-m", "summeval.cli", "study", "--config", str(config), "--out", str(out)]
        started = time.perf_counter()
        subprocess.run(
            [*command, *extra, "--no-progress"], check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}
        )
        walls[name] = time.perf_counter() - started
    reports = [json.loads((folder / n / "report.json").read_text()) for n in ("sequential", "ray")]
    same_outputs = _outputs(folder / "sequential") == _outputs(folder / "ray")
    same_figures = all(reports[0][k] == reports[1][k] for k in ("results", "comparisons"))
    cells = reports[1]["provenance"]["this_run"]["ray"]["cells"]
    print("\n## Ray against sequential, on this machine\n")
    print(
        f"{len(cells)} cells, {os.cpu_count()} CPUs; each wall includes starting Python, the cluster (Ray) "
        "and every model load"
    )
    print()
    print("| run | wall (s) | ratio to sequential |")
    print("|---|---:|---:|")
    for name, wall in walls.items():
        print(f"| {name} | {wall:.1f} | {wall / walls['sequential']:.2f} |")
    print(f"\noutputs identical: {same_outputs}; report figures identical: {same_figures}")
    return 0 if same_outputs and same_figures else 1


def report(title: str, config: StudyConfig, cost: dict[str, float], note: str) -> None:
    tasks = study_graph(config)
    total = sum(cost.values())
    longest, chain = critical_path(tasks, cost)
    kinds = {k: sum(1 for t in tasks.values() if t.kind == k) for k in ("train", "select", "cell")}
    print(f"\n## {title}\n")
    print(
        f"{len(tasks)} tasks ({kinds['train']} adapters to train, {kinds['select']} selections, "
        f"{kinds['cell']} cells); total work {total:,.0f} s; {note}"
    )
    print(f"critical path {longest:,.0f} s: " + " -> ".join(f"{t} ({cost[t]:,.0f} s)" for t in chain))
    print()
    print("| GPUs | makespan (s) | speed-up | lower bound (s) | makespan / bound |")
    print("|---:|---:|---:|---:|---:|")
    for workers in WORKERS:
        span = makespan(tasks, cost, workers)
        bound = max(longest, total / workers)
        print(f"| {workers} | {span:,.0f} | {total / span:.2f} | {bound:,.0f} | {span / bound:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a study config whose --out folder has finished")
    parser.add_argument("--out", type=Path, help="that study's --out folder")
    parser.add_argument("--load-seconds", type=float, default=0.0, help="seconds added to every task (0)")
    parser.add_argument(
        "--seed", action="store_true", help="the seed study from scratch, estimated (see above)"
    )
    parser.add_argument("--embedded-config", type=Path, default=Path("studies/embedded.yaml"))
    parser.add_argument("--embedded-out", type=Path, help="a finished embedded study (for --seed)")
    parser.add_argument(
        "--ray", action="store_true", help="part (a): the small plan on Ray against sequential, here"
    )
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=Path("results/bench-study-scaling"),
        help="for --ray: an empty folder",
    )
    args = parser.parse_args(argv)
    if args.ray:
        return ray_against_sequential(args.bench_dir)
    if args.config and args.out:
        config = load_study(args.config)
        cost = recorded_costs(config, args.out, args.load_seconds)
        report(f"{config.name}: recorded costs", config, cost, f"each task's recorded seconds, {args.out}")
    if args.seed:
        if not args.embedded_out:
            parser.error("--seed needs --embedded-out: a finished embedded study to scale from")
        seed = load_study(Path("studies/seed.yaml"))
        cost = seed_costs(seed, load_study(args.embedded_config), args.embedded_out)
        report(
            "seed: estimated costs",
            seed,
            cost,
            "published: 3.2 s a TweetSumm dialog, the two trainings; the rest scaled from the embedded study",
        )
    if not (args.config and args.out) and not args.seed:
        parser.error("give --config and --out, or --seed with --embedded-out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
