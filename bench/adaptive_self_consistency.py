"""Self-consistency that stops early (``stop: window | beta``) against fixed K, on the same items and model.

    python bench/adaptive_self_consistency.py                       # 50 generated sports statements, K = 20
    python bench/adaptive_self_consistency.py \
        --sports-data ../shared/data/bigbench_sports_understanding_task.json
    python bench/adaptive_self_consistency.py --task tweetsumm --items 8 --samples 10 --rules window \
        --window 3

One process, the model loaded once (the embedded SmolLM2 unless ``--model-args``); each set-up is the real
lm-eval task ``<family>_self_consistency`` through ``lm_eval.simple_evaluate`` at the same seed: first
fixed K (lm-eval's ``repeats: K``), then each stopping rule (``--rules``). For each it prints:

- samples per item (from the logged outputs) and their ratio to K;
- wall time and its ratio to fixed K's (same process, same machine, one after the other);
- live agreement: the share of items whose final answer (the family's reduction) equals fixed K's. A rule
  draws its own samples (rounds consume the random stream differently), so this includes the sampling
  noise of two independent K-sample votes;
- replayed agreement: the rule applied to fixed K's own logged samples, in order (what it would have
  stopped at on the same samples): the answers the rule itself loses;
- the score (accuracy, or ROUGE-L for TweetSumm) with the paired difference to fixed K, its 95%
  interval and p (``summeval.stats.paired_test``: exact McNemar, or the paired t test).

Goals (issue 29, 50 sports statements at K = 20): samples <= 0.4x, time <= 0.5x, >= 98% of final answers
equal to fixed K's, score within the paired interval of fixed K's (the difference's interval holds 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

DATA_KEYS = {"sports_understanding": "sports_data", "tweetsumm": "tweetsumm_data"}
RULES = {
    "window": {"stop": "window", "window": 5},
    "beta": {"stop": "beta", "threshold": 0.95, "round_size": 4},
}
GOALS = {"samples": 0.4, "time": 0.5, "agreement": 0.98}


def _run(lm, task: str, metadata: dict, items: int, seed: int) -> tuple[float, list[dict]]:
    import lm_eval

    started = time.perf_counter()
    evaluation = lm_eval.simple_evaluate(
        model=lm, tasks=[task], limit=items, log_samples=True, metadata=metadata,
        random_seed=seed, numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed,
    )  # fmt: skip
    wall = time.perf_counter() - started
    samples = evaluation["samples"][task]
    majority = [s for s in samples if s["filter"] != "first"]
    return wall, sorted(majority, key=lambda s: s["doc_id"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", choices=sorted(DATA_KEYS), default="sports_understanding")
    parser.add_argument("--items", type=int, default=50, help="items evaluated (the first of the split)")
    parser.add_argument("--samples", type=int, default=20, help="K: fixed K's samples, the rules' most")
    parser.add_argument("--rules", default="window,beta", help=f"comma-separated, of {', '.join(RULES)}")
    parser.add_argument(
        "--sports-data", default="generated", help="sports_data source (a path: the real file)"
    )
    parser.add_argument("--tweetsumm-data", default="sample")
    parser.add_argument("--max-gen-toks", type=int, default=None, help="default: the family's budget")
    parser.add_argument("--model-args", default=None, help="hf model_args (default: the embedded SmolLM2)")
    parser.add_argument("--window", type=int, default=5, help="stop: window's w")
    parser.add_argument("--threshold", type=float, default=0.95, help="stop: beta's threshold")
    parser.add_argument("--round-size", type=int, default=4, help="stop: beta's samples per round")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", default=None, help="also write the table's figures to this JSON file")
    args = parser.parse_args()
    RULES["window"]["window"] = args.window
    RULES["beta"].update(threshold=args.threshold, round_size=args.round_size)

    from prompt_strategies.registry import get_family, get_strategy
    from prompt_strategies.stopping import draw_in_rounds
    from summeval.lm_eval.runner import load_lm
    from summeval.stats import paired_test
    from summeval.training.embedded_model import embedded_model_path

    family = get_family(args.task)
    strategy = get_strategy("self_consistency")
    task = f"{args.task}_self_consistency"
    metric = "acc" if args.task == "sports_understanding" else "rougeL"
    model_args = args.model_args or f"pretrained={embedded_model_path()}"
    lm = load_lm("hf", model_args)
    base = {"sports_data": args.sports_data, "tweetsumm_data": args.tweetsumm_data}
    options = {"samples": args.samples}
    if args.max_gen_toks:
        options["max_gen_toks"] = args.max_gen_toks

    setups = {"fixed": {}} | {name: RULES[name] for name in args.rules.split(",") if name}
    runs = {}
    for name, rule in setups.items():
        metadata = {**base, "self_consistency": {**options, **rule}}
        print(f"== {name}: {task}, {args.items} items, K = {args.samples} {rule or ''}", file=sys.stderr)
        runs[name] = _run(lm, task, metadata, args.items, args.seed)

    fixed_wall, fixed = runs["fixed"]
    fixed_answers = [str(s["filtered_resps"][0]) for s in fixed]
    fixed_scores = [float(s[metric]) for s in fixed]
    rows = []
    for name, (wall, samples) in runs.items():
        drawn = [len(s["resps"][0]) for s in samples]
        answers = [str(s["filtered_resps"][0]) for s in samples]
        scores = [float(s[metric]) for s in samples]
        live = sum(a == b for a, b in zip(answers, fixed_answers, strict=True)) / len(answers)
        replayed = None
        if name != "fixed":
            # the rule as the task builds it from the same options (SelfConsistency.stopping)
            rule = strategy.stopping(
                family, strategy.options({"self_consistency": {**options, **RULES[name]}})
            )
            same = 0
            for sample in fixed:
                read = [family.read_answer(text) for text in sample["resps"][0]]
                rest = iter(read)
                prefix = draw_in_rounds(
                    rule, lambda k, rest=rest: [next(rest) for _ in range(k)], family.reduce
                )
                same += repr(family.reduce(prefix)) == repr(family.reduce(read))
            replayed = same / len(fixed)
        test = paired_test(fixed_scores, scores, binary=metric == "acc")
        rows.append(
            {
                "setup": name,
                "samples_per_item": sum(drawn) / len(drawn),
                "samples_ratio": sum(drawn) / (args.samples * len(drawn)),
                "wall_s": wall,
                "time_ratio": wall / fixed_wall,
                "agreement_live": live,
                "agreement_replayed": replayed,
                metric: sum(scores) / len(scores),
                "difference": test.difference,
                "interval": None if test.ci_low is None else (test.ci_low, test.ci_high),
                "p": test.p_value,
            }
        )

    print(f"\n{task}: {args.items} items, K = {args.samples}, seed {args.seed}, {model_args}\n")
    print(f"| setup | samples/item | × K | wall s | × fixed | agree (live) | agree (replayed) | {metric} | "
          "B − fixed [95% CI] | p |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        interval = row["interval"]
        shown = (
            "—" if interval is None else f"{row['difference']:+.3f} [{interval[0]:+.3f}, {interval[1]:+.3f}]"
        )
        replayed = "—" if row["agreement_replayed"] is None else f"{row['agreement_replayed']:.2f}"
        cells = [
            row["setup"],
            f"{row['samples_per_item']:.1f}",
            f"{row['samples_ratio']:.2f}",
            f"{row['wall_s']:.0f}",
            f"{row['time_ratio']:.2f}",
            f"{row['agreement_live']:.2f}",
            replayed,
            f"{row[metric]:.3f}",
            shown,
            f"{row['p']:.3f}",
        ]
        print("| " + " | ".join(cells) + " |")
    goals = f"samples <= {GOALS['samples']}x, time <= {GOALS['time']}x, agreement >= {GOALS['agreement']}"
    print(f"\ngoals: {goals}, the difference's interval holding 0")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"task": task, "items": args.items, "samples": args.samples, "rows": rows}, handle, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
