"""Self-consistency cost: lm-eval's plain repeats against K samples sharing one prompt encoding.

Self-consistency draws K samples (``--samples``, default 10) of one chain-of-thought prompt.
- baseline: lm-eval's own ``HFLM.generate_until`` (``SUMMEVAL_SHARED_PREFIX=0``): the prompt is
            encoded once per sample, samples run ``--batch-size`` at a time
- shared:   summeval's ``summeval.lm_eval.shared_prefix``: the prompt is encoded once per group
            of K and the K continuations are sampled as one batch

Same model, data and machine; each set-up runs in its own subprocess (model loaded, one warm-up
generation, then timed), alternating which goes first across ``--rounds``; medians are printed.
"seconds" is the time spent inside ``generate_until``; "model tokens" counts the token positions
the model's forward passes processed (prompt and generated, all rows).

Task mode (default) runs the lm-eval task ``<family>_self_consistency`` (``--task``: sports_understanding,
the default, or tweetsumm) on the family's ``sample`` data with ``lm_eval.simple_evaluate(limit=--limit)``;
``--direct`` needs no task: CoT prompts built from summeval's sample sports statements go straight to
``HFLM.generate_until``, K identical requests each.

Run:  python bench/self_consistency.py --direct --limit 4 --samples 10
      python bench/self_consistency.py --task tweetsumm --limit 4
      python bench/self_consistency.py --limit 4 --model-args pretrained=HF_MODEL,dtype=bfloat16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

DATA_KEYS = {"sports_understanding": "sports_data", "tweetsumm": "tweetsumm_data"}
SETUPS = {"baseline": "0", "shared": "1"}  # the value of SUMMEVAL_SHARED_PREFIX
# Worked chain-of-thought exemplars for --exemplars N (a longer, few-shot prompt).
EXEMPLARS = [
    (
        "Kylian Mbappe scored a penalty kick.",
        "Kylian Mbappe is a soccer player. A penalty kick is part of soccer. So the answer is yes.",
    ),
    (
        "Tom Brady hit a three-pointer.",
        "Tom Brady is a football player. A three-pointer is part of basketball. So the answer is no.",
    ),
    (
        "Connor McDavid scored a power play goal.",
        "Connor McDavid is a hockey player. A power play goal is part of hockey. So the answer is yes.",
    ),
]


def cot_prompt(statement: str, exemplars: int) -> str:
    shots = [
        f'Q: Is the following sentence plausible? "{q}"\nA: Let\'s think step by step. {a}\n\n'
        for q, a in EXEMPLARS[:exemplars]
    ]
    sentence = statement.rstrip(".") + "."
    question = f'Q: Is the following sentence plausible? "{sentence}"\nA: Let\'s think step by step.'
    return "".join(shots) + question


def direct_statements(limit: int) -> list[str]:
    """``limit`` statements from summeval's sports sample (validation split)."""
    from summeval_tasks.sports.source import load_statements

    statements = [s.statement for s in load_statements("sample")["validation"]]
    return (statements * limit)[:limit]


def model_args_string(args) -> str:
    if args.model_args:
        return args.model_args
    from summeval.training.embedded_model import embedded_model_path

    return f"pretrained={embedded_model_path()}"


def worker(args) -> dict:
    """One set-up in this process: load, warm up, time generate_until; return the measurements."""
    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = HFLM.create_from_arg_string(
        model_args_string(args), {"batch_size": args.batch_size, "device": device}
    )

    def request(context: str, gen_kwargs: dict) -> Instance:
        return Instance(request_type="generate_until", doc={}, arguments=(context, gen_kwargs), idx=0)

    # warm-up: first-call allocations and kernels, untimed
    lm.generate_until([request("Q: warm up\nA:", {"do_sample": False, "max_gen_toks": 4})], disable_tqdm=True)

    timed = {"seconds": 0.0, "samples": 0, "model_tokens": 0, "answer_tokens": 0}

    def count_tokens(module, positional, kwargs):
        ids = kwargs.get("input_ids")
        if ids is None:  # encoder-decoder: the decoder's positions (the encoder runs outside forward)
            ids = kwargs.get("decoder_input_ids", positional[0] if positional else None)
        if ids is not None:
            timed["model_tokens"] += ids.numel()

    generate_until = HFLM.generate_until

    def timed_generate_until(self, requests, disable_tqdm=False):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        answers = generate_until(self, requests, disable_tqdm)
        if device == "cuda":
            torch.cuda.synchronize()
        timed["seconds"] += time.perf_counter() - start
        timed["samples"] += len(answers)
        timed["answer_tokens"] += sum(len(self.tok_encode(a, add_special_tokens=False)) for a in answers)
        return answers

    HFLM.generate_until = timed_generate_until
    lm.model.register_forward_pre_hook(count_tokens, with_kwargs=True)
    if args.direct:
        gen_kwargs = {"do_sample": True, "temperature": 0.7, "max_gen_toks": args.max_gen_toks}
        gen_kwargs["until"] = ["\nQ:"]
        requests = []
        for statement in direct_statements(args.limit):
            same = request(cot_prompt(statement, args.exemplars), gen_kwargs)
            requests += [same] * args.samples  # what lm-eval's evaluator sends for `repeats: K`
        torch.manual_seed(1234)
        lm.generate_until(requests)
    else:
        import lm_eval

        lm_eval.simple_evaluate(
            model=lm,
            tasks=[f"{args.task}_self_consistency"],
            limit=args.limit,
            metadata={DATA_KEYS[args.task]: "sample", "self_consistency": {"samples": args.samples}},
        )
    return timed


def run_setup(setup: str, argv: list[str]) -> dict:
    env = dict(os.environ, SUMMEVAL_SHARED_PREFIX=SETUPS[setup], TOKENIZERS_PARALLELISM="false")
    env.setdefault("HF_HUB_OFFLINE", "1")
    proc = subprocess.run(
        [sys.executable, __file__, *argv, "--worker"], env=env, capture_output=True, text=True
    )
    results = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not results:
        sys.exit(f"bench: the {setup} run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(results[-1][len("RESULT ") :])


def check_task_registered(task: str) -> None:
    from lm_eval.tasks import TaskManager

    if task not in TaskManager().all_tasks:
        sys.exit(
            f"bench: lm-eval has no task {task!r} (is summeval installed in this environment?); "
            "run with --direct to build the CoT prompts here instead"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-args", default=None, help="lm-eval hf model_args (default: embedded SmolLM2-135M-Instruct)"
    )
    parser.add_argument("--samples", type=int, default=10, help="K, samples per prompt (default 10)")
    parser.add_argument("--limit", type=int, default=4, help="prompts (docs) per run (default 4)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per set-up, alternating (default 1)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="HFLM batch_size (default: --samples, so the baseline also samples the K rows as one batch "
        "and the ratio measures the shared prompt alone; 1 is lm-eval's default)",
    )
    parser.add_argument(
        "--task", default="sports_understanding", choices=sorted(DATA_KEYS), help="task family (task mode)"
    )
    parser.add_argument("--direct", action="store_true", help="no lm-eval task: prompts built here")
    parser.add_argument("--max-gen-toks", type=int, default=128, help="--direct: most tokens per sample")
    parser.add_argument(
        "--exemplars",
        type=int,
        default=0,
        choices=range(len(EXEMPLARS) + 1),
        help="--direct: worked CoT exemplars before each question (default 0)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch_size is None:
        args.batch_size = args.samples
    if args.worker:
        print("RESULT " + json.dumps(worker(args)))
        return
    if not args.direct:
        check_task_registered(f"{args.task}_self_consistency")

    argv = [a for a in sys.argv[1:] if a != "--worker"]
    runs: dict[str, list[dict]] = {setup: [] for setup in SETUPS}
    for n in range(args.rounds):  # alternating, so drift on a noisy machine hits both alike
        for setup in list(SETUPS) if n % 2 == 0 else list(SETUPS)[::-1]:
            runs[setup].append(run_setup(setup, argv))

    import torch

    device = (
        "cuda: " + torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    source = (
        f"--direct, {args.exemplars} exemplars, max_gen_toks {args.max_gen_toks}"
        if args.direct
        else f"{args.task}_self_consistency"
    )
    print(model_args_string(args))
    print(f"{source}: {args.limit} prompts x {args.samples} samples, batch_size {args.batch_size}, {device}")
    print(f"{'setup':<9} {'seconds':>8} {'samples/s':>10} {'model tokens':>13} {'answer tok/sample':>18}")
    medians = {}
    for setup, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        medians[setup] = seconds
        samples = results[0]["samples"]
        tokens = statistics.median(r["model_tokens"] for r in results)
        answer = statistics.median(r["answer_tokens"] / max(r["samples"], 1) for r in results)
        print(f"{setup:<9} {seconds:>8.2f} {samples / seconds:>10.2f} {tokens:>13.0f} {answer:>18.1f}")
    print(f"ratio baseline/shared: {medians['baseline'] / medians['shared']:.2f}x")
    print(
        f"ratio shared/baseline: {medians['shared'] / medians['baseline']:.2f} (wall time of shared sampling)"
    )


if __name__ == "__main__":
    main()
