"""Our sports_understanding strategies against lm-eval's own bbh sports_understanding tasks, side by side.

The same N real BIG-bench statements (a seeded sample of the validation split of the real task.json,
``sports_data: bigbench``), the same model instance, the same machine. Four pairs:

    ours                                  lm-eval (local copies of its YAMLs: only the dataset changes)
    sports_understanding_answer_only      bbh_zeroshot_sports_understanding
    sports_understanding_fewshot          bbh_fewshot_sports_understanding
    sports_understanding_cot              bbh_cot_zeroshot_sports_understanding
    sports_understanding_cot_fewshot      bbh_cot_fewshot_sports_understanding

lm-eval's tasks read bbh's copy of the task (``Is the following sentence plausible? "..."``, targets
``yes``/``no``); the local copy gets the same statements in that form, from a JSON file. Its prompts,
exemplars, stop sequences and filters are lm-eval's, unchanged.

Per pair it prints: accuracy and unreadable rate of each system as scored by its own reader, with each
system's share of its most common answer (a readable system that answers one label scores the majority
rate); our two-stage accuracy (``acc_two_stage``: the label the model finds most likely after its output
and "So the answer is") and how often it agrees with our reader where the reader reads a verdict; the
model time per item of each (the time inside ``generate_until``, ``loglikelihood`` and our second
stage's scoring, ``two_stage.loglikelihoods``: the model's work, without task building) and the ratio
ours / lm-eval's, with the second stage's share of ours; and how often our reader (``extract_answer``) and
lm-eval's reader (its primary filter, ``flexible-extract`` where it has one, then its exact_match
normalisation) agree on each system's outputs. Each task runs once per round (rounds alternate which
system goes first); times are medians over rounds.

``--dump FILE`` writes every output (JSON lines: system, task, statement id, statement, gold label,
output text, the answer its own reader read and, for ours, the two-stage answer) for labelling by hand
(see tests/data/sports_answers.jsonl).

Run:  python bench/sports_vs_lm_eval.py --n 20
      python bench/sports_vs_lm_eval.py --n 30 --rounds 1 --dump /tmp/outputs.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PAIRS = {
    "answer_only": "zeroshot",
    "fewshot": "fewshot",
    "cot": "cot_zeroshot",
    "cot_fewshot": "cot_fewshot",
}
THEIR_TASK = "bbh_{}_sports_understanding"


def task_of(system: str, strategy: str) -> str:
    """The task that runs ``strategy`` (one of ``PAIRS``) for ``system`` (``ours`` or ``lm-eval``)."""
    return f"sports_understanding_{strategy}" if system == "ours" else THEIR_TASK.format(PAIRS[strategy])


def bbh_input(statement: str) -> str:
    """A statement in bbh's question form."""
    sentence = statement.strip()
    if not sentence.endswith((".", "!", "?")):
        sentence += "."
    return f'Is the following sentence plausible? "{sentence}"'


def local_bbh_tasks(folder: Path, data_file: Path) -> None:
    """Copy lm-eval's bbh sports_understanding YAMLs (and their utils.py) into ``folder``, reading
    ``data_file`` instead of ``SaylorTwift/bbh``: the one line that changes is the dataset."""
    import lm_eval

    bbh = Path(lm_eval.__file__).parent / "tasks" / "bbh"
    dataset = f"dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data_file))}\n"
    for variant in PAIRS.values():
        source, target = bbh / variant, folder / variant
        target.mkdir(parents=True)
        for path in source.iterdir():
            if path.name == "utils.py" or path.name.endswith("template_yaml"):
                text = path.read_text()
                if path.name.endswith("template_yaml"):
                    if "dataset_path: SaylorTwift/bbh\n" not in text:
                        sys.exit(f"bench: {path} no longer reads SaylorTwift/bbh; update this bench")
                    text = text.replace("dataset_path: SaylorTwift/bbh\n", dataset)
                (target / path.name).write_text(text)
        task = (source / "sports_understanding.yaml").read_text()
        task = re.sub(r'^"?dataset_name"?:.*\n', "", task, flags=re.M)
        (target / "sports_understanding.yaml").write_text(task)


def their_reader(task):
    """lm-eval's own reading of one output for ``task``: its primary filter chain, then the yes/no that
    its exact_match (with the task's own normalisation settings) accepts; ``invalid`` otherwise."""
    from lm_eval.api.metrics import exact_match_hf_evaluate

    from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE

    ensembles = {f.name: f for f in task._filters}
    ensemble = (
        ensembles.get("flexible-extract") or ensembles.get("get-answer") or next(iter(ensembles.values()))
    )
    metric_kwargs = {}
    for entry in task.config.metric_list:
        if entry["metric"] == "exact_match":
            metric_kwargs = {
                k: v for k, v in entry.items() if k not in ("metric", "aggregation", "higher_is_better")
            }

    def read(text: str, doc: dict) -> str:
        resps = [[text]]
        for step in ensemble.filters:
            step = step if hasattr(step, "apply") else step()  # lm-eval keeps filter constructors
            resps = list(step.apply(resps, [doc]))
        value = resps[0] if isinstance(resps[0], str) else resps[0][0]
        for gold, label in (("yes", PLAUSIBLE), ("no", IMPLAUSIBLE)):
            if exact_match_hf_evaluate([value], [gold], **metric_kwargs)["exact_match"] == 1.0:
                return label
        return INVALID

    return ensemble.name, read


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="statements (seeded sample of validation)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--model-args", default=None, help="HF model args (default: the embedded model)")
    parser.add_argument("--no-chat-template", action="store_true", help="do not apply the chat template")
    parser.add_argument(
        "--pairs", default=",".join(PAIRS), help=f"comma-separated subset of {','.join(PAIRS)}"
    )
    parser.add_argument("--dump", type=Path, default=None, help="write every output here (JSON lines)")
    parser.add_argument("--sports-data", default="bigbench", help="our sports_data source (default bigbench)")
    args = parser.parse_args(argv)
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown or args.n < 1 or args.rounds < 1:
        parser.error(f"--pairs takes {', '.join(PAIRS)}; --n and --rounds at least 1 (got {unknown or ''})")

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import lm_eval
    from lm_eval.tasks import TaskManager

    import summeval
    from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE, extract_answer
    from summeval_tasks.sports.source import load_statements

    validation = load_statements(args.sports_data)["validation"]
    if args.n > len(validation):
        parser.error(f"--n {args.n}: the validation split has {len(validation)} statements")
    chosen = sorted(random.Random(args.seed).sample(range(len(validation)), args.n))
    statements = [validation[i] for i in chosen]

    if args.model_args:
        model_args = args.model_args
    else:
        from summeval.training.embedded_model import embedded_model_path

        model_args = f"pretrained={embedded_model_path()}"
    from summeval.lm_eval.runner import load_lm

    model = load_lm("hf", model_args, {"batch_size": 1})
    from summeval.lm_eval import two_stage

    generating = [0.0, 0.0]  # seconds generating and in the second stage (or loglikelihood): the model's time
    busy = [False]

    def timed(method, slot):
        def call(*a, **kw):
            if busy[0]:  # inside another timed call: counted there
                return method(*a, **kw)
            busy[0], start = True, time.perf_counter()
            try:
                return method(*a, **kw)
            finally:
                busy[0] = False
                generating[slot] += time.perf_counter() - start

        return call

    model.generate_until = timed(model.generate_until, 0)
    model.loglikelihood = timed(model.loglikelihood, 1)
    # our second stage, whichever way it scores (one prompt encoding per output, or model.loglikelihood)
    two_stage.loglikelihoods = timed(two_stage.loglikelihoods, 1)
    chat = not args.no_chat_template

    work = Path(tempfile.mkdtemp(prefix="sports-vs-lm-eval."))
    data_file = work / "bbh_sports.jsonl"
    with data_file.open("w") as out:
        for s in statements:
            out.write(
                json.dumps(
                    {"input": bbh_input(s.statement), "target": "yes" if s.label == "plausible" else "no"}
                )
            )
            out.write("\n")
    local_bbh_tasks(work / "tasks", data_file)
    theirs_tm = TaskManager(include_defaults=False, include_path=str(work / "tasks"))
    ours_tm = summeval.task_manager(metadata={"sports_data": args.sports_data})

    def run(system: str, task_name: str) -> tuple[float, float, list[dict]]:
        tm = ours_tm if system == "ours" else theirs_tm
        kwargs = {"samples": {task_name: chosen}} if system == "ours" else {}
        generating[:] = [0.0, 0.0]
        out = lm_eval.simple_evaluate(
            model=model, tasks=[task_name], task_manager=tm, log_samples=True,
            apply_chat_template=chat, bootstrap_iters=0, verbosity="ERROR",
            metadata={"sports_data": args.sports_data} if system == "ours" else None, **kwargs,
        )  # fmt: skip
        seconds, second_stage = sum(generating), generating[1]
        by_doc = {}
        for record in out["samples"][task_name]:  # one record per doc and filter: keep one per doc
            by_doc.setdefault(record["doc_id"], record)
        return seconds, second_stage, [by_doc[k] for k in sorted(by_doc)]

    readers = {}
    for strategy in pairs:
        name = task_of("lm-eval", strategy)
        task = theirs_tm.load_task_or_group([name])[name]
        readers[strategy] = their_reader(task)

    times: dict[tuple[str, str], list[float]] = {}
    second_stage: dict[str, list[float]] = {}
    outputs: dict[tuple[str, str], list[dict]] = {}
    for round_no in range(args.rounds):
        for strategy in pairs:
            order = ("ours", "lm-eval") if (round_no % 2 == 0) else ("lm-eval", "ours")
            for system in order:
                task_name = task_of(system, strategy)
                seconds, labelling, records = run(system, task_name)
                times.setdefault((strategy, system), []).append(seconds / len(records))
                if system == "ours":
                    second_stage.setdefault(strategy, []).append(labelling / seconds if seconds else 0.0)
                outputs[(strategy, system)] = records
                print(
                    f"round {round_no + 1}: {task_name}: {seconds:.1f} s for {len(records)} items",
                    file=sys.stderr,
                    flush=True,
                )

    rows = []
    dump = []
    for strategy in pairs:
        filter_name, read_theirs = readers[strategy]
        row = {"pair": f"{strategy} / {PAIRS[strategy]}"}
        for system in ("ours", "lm-eval"):
            records = outputs[(strategy, system)]
            texts = [r["resps"][0][0] for r in records]
            golds = [statements[i].label for i in range(len(records))]
            by_ours = [extract_answer(t) for t in texts]
            by_theirs = [read_theirs(t, r["doc"]) for t, r in zip(texts, records, strict=True)]
            own = by_ours if system == "ours" else by_theirs
            row[f"{system} acc"] = sum(a == g for a, g in zip(own, golds, strict=True)) / len(golds)
            row[f"{system} unreadable"] = sum(a == INVALID for a in own) / len(own)
            top, count = Counter(own).most_common(1)[0]
            row[f"{system} top answer"] = f"{top} {count / len(own):.2f}"
            if system == "ours":
                row["ours acc two-stage"] = statistics.mean(float(r["acc_two_stage"]) for r in records)
                read = [r for r, a in zip(records, by_ours, strict=True) if a != INVALID]
                row["reader = two-stage"] = (
                    f"{sum(float(r['agree_two_stage']) for r in read) / len(read):.3f} of {len(read)}"
                    if read
                    else "no verdict read"
                )
            row[f"{system} s/item"] = statistics.median(times[(strategy, system)])
            row[f"readers agree on {system}"] = sum(
                a == b for a, b in zip(by_ours, by_theirs, strict=True)
            ) / len(texts)
            task_name = task_of(system, strategy)
            for s, text, record, answer in zip(statements, texts, records, own, strict=True):
                entry = {
                    "system": system,
                    "task": task_name,
                    "id": s.id,
                    "statement": s.statement,
                    "gold": s.label,
                    "output": text,
                    "answer": answer,
                }
                if system == "ours":  # the second stage's label: the gold one where it scored 1
                    other = {PLAUSIBLE: IMPLAUSIBLE, IMPLAUSIBLE: PLAUSIBLE}[s.label]
                    entry["two_stage_answer"] = s.label if float(record["acc_two_stage"]) else other
                dump.append(entry)
        row["time ours/lm-eval"] = row["ours s/item"] / row["lm-eval s/item"]
        row["second stage share"] = statistics.median(second_stage[strategy])
        row["lm-eval filter"] = filter_name
        rows.append(row)

    if args.dump:
        args.dump.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dump))
    shutil.rmtree(work, ignore_errors=True)

    print(
        f"\n{args.n} real BIG-bench validation statements (seed {args.seed}), {model_args}, "
        f"chat template {'on' if chat else 'off'}, {args.rounds} round(s)\n"
    )
    columns = [
        "pair",
        "ours acc",
        "lm-eval acc",
        "ours acc two-stage",
        "ours unreadable",
        "lm-eval unreadable",
        "ours top answer",
        "lm-eval top answer",
        "reader = two-stage",
        "ours s/item",
        "lm-eval s/item",
        "time ours/lm-eval",
        "second stage share",
        "readers agree on ours",
        "readers agree on lm-eval",
        "lm-eval filter",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
