"""``summeval compare``: a study of one model, one family and several strategies, without a cache.

It runs on the study's evaluation path: the same pre-flight check of the family's options and data
(``inputs.check_family_inputs``), the same model builder (``summeval.lm_eval.runner.load_lm``), the same
active-prompt selection (``selection.select_to_file``), the same evaluation of one cell
(``evaluation.evaluate_cell``) and the same summaries (``summeval.report.analysis``). What differs is the
output, written into ``--out`` after every strategy:

* ``results.md`` / ``results.html`` / ``results.json``: per strategy, n and each of the family's metrics
  with a 95% interval (accuracy: Clopper–Pearson; other metrics: Hall's skewness-corrected t over items,
  scipy);
* ``<strategy>.csv``: one row per item: id, prompt, target, model output, read answer, each metric;
* ``<primary metric>.png``: a bar chart of the family's headline metric with the intervals;
* ``lm_eval/<strategy>.json``: lm-eval's own results for the strategy.

Every file is written under a temporary name and renamed, so none is ever half-written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prompt_strategies.registry import (
    EXEMPLARS_KEY,
    applicable_strategies,
    get_strategy,
    strategies,
    task_name,
)
from prompt_strategies.strategy import PromptStrategy, StrategyError
from summeval.lm_eval import runner
from summeval.report.analysis import StrategyResult, score_summaries
from summeval.report.compare import write_report
from summeval.study.evaluation import evaluate_cell
from summeval.study.inputs import check_family_inputs
from summeval.study.plan import Cell
from summeval.study.selection import Selection, check_selection, select_to_file
from summeval_tasks.contract import TaskFamily
from summeval_tasks.util.bounds import DEFAULT_SEED
from summeval_tasks.util.files import check_output_folder, output_folder_held, write_text_atomically

MODEL = "model"
"""The name of compare's one model in its cells."""
COMPARE_MARKER = ".summeval-compare"
"""The file ``summeval compare`` writes into an ``--out`` folder it created; only such a folder (of the
same family), or an empty one, is written into."""


def _earlier_compare_folder(path: Path) -> bool:
    """A compare folder written before the marker existed: ``results.json`` and only compare's files."""
    return (path / "results.json").is_file() and all(
        p.name in ("results.json", "results.md", "results.html", "lm_eval", "active_prompt_exemplars.json")
        or p.suffix in (".csv", ".png")
        or (p.name.startswith(".") and p.name.lstrip(".").split(".")[0] in ("results", "summeval-compare"))
        for p in path.iterdir()
    )


def resolve_strategies(spec: str, family: TaskFamily) -> list[PromptStrategy]:
    """``--strategies``, read once: ``all`` (every strategy that applies to ``family``) or a
    comma-separated list of applicable names, as the registered strategies."""
    if spec.strip() == "all":
        return [strategies()[name] for name in applicable_strategies(family)]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise StrategyError("no strategies given; use --strategies all or a comma-separated list")
    chosen = [get_strategy(name) for name in names]
    for strategy in chosen:
        if not strategy.applies_to(family):
            raise StrategyError(
                f"strategy {strategy.name!r} does not apply to the {family.name} family; those that do: "
                f"{', '.join(applicable_strategies(family))}"
            )
    return chosen


def load_lm(model: str, model_args: str, batch_size: int | str = 1, device: str | None = None):
    """An lm-eval model from its registry name and argument string (``runner.load_lm``)."""
    return runner.load_lm(model, model_args, {"batch_size": batch_size, "device": device})


def run_compare(
    *,
    model: str,
    model_args: str,
    strategies_to_run: Sequence[PromptStrategy],
    out: Path,
    family: TaskFamily,
    data: str | None = None,
    limit: int | None = None,
    batch_size: int | str = 1,
    device: str | None = None,
    apply_chat_template: bool = False,
    options: Mapping[str, Any] | None = None,
    exemplars_file: Path | None = None,
    selection: Selection | None = None,
    seed: int = DEFAULT_SEED,
) -> list[StrategyResult]:
    """Run ``strategies_to_run`` on one model and ``family``; write the report files into ``out``."""
    from tqdm import tqdm

    from summeval.lm_eval import task_manager

    fam = family
    strategy_names = [s.name for s in strategies_to_run]
    selection = selection or Selection()
    metadata: dict[str, Any] = {**(options or {})}
    if data:
        metadata[fam.data_key] = data
    unknown = sorted(set(options or {}) - set(strategies()))
    if unknown:
        raise StrategyError(
            f"--options names no strategy: {', '.join(unknown)}; known: {', '.join(sorted(strategies()))}"
        )
    # Unknown options, wrong types, a bad source and a folder not ours fail now, not after the model loads.
    check_family_inputs(fam, strategies_to_run, metadata)
    check_output_folder(
        out, COMPARE_MARKER, {"compare": fam.name}, "summeval compare: --out", adopt=_earlier_compare_folder
    )
    if exemplars_file is not None:
        from prompt_strategies.exemplars import read_exemplar_file

        read_exemplar_file(exemplars_file, fam)
    selecting = [s for s in strategies_to_run if s.selects_exemplars]
    if exemplars_file is None and selecting:
        check_selection(fam, data, selection, seed)
    with output_folder_held(out, COMPARE_MARKER, {"compare": fam.name}, "summeval compare: --out"):
        description = f"{model} {model_args}"
        with runner.released(load_lm(model, model_args, batch_size, device)) as lm:
            if selecting:
                if exemplars_file is None:
                    exemplars_file = out / "active_prompt_exemplars.json"
                    print(f"summeval: selecting active-prompt exemplars first → {exemplars_file}", flush=True)
                    select_to_file(
                        lm,
                        family=fam,
                        data=data,
                        selection=selection,
                        seed=seed,
                        out=exemplars_file,
                        within=out,
                        apply_chat_template=apply_chat_template,
                        model_description=description,
                    )
                metadata[EXEMPLARS_KEY] = str(Path(exemplars_file).resolve())
            # Only our tasks: indexing lm-eval's own thousands of tasks costs seconds.
            manager = task_manager(include_defaults=False, metadata=metadata)
            rows: list[StrategyResult] = []
            bar = tqdm(strategies_to_run, desc="strategies", unit="strategy")
            for strategy in bar:
                name = strategy.name
                bar.set_postfix_str(name)
                cell = Cell(MODEL, task_name(name, fam.name), fam, strategy, limit)
                run = evaluate_cell(
                    lm, cell, metadata, apply_chat_template=apply_chat_template, seed=seed, manager=manager
                )
                summaries = score_summaries(fam, run.scores, seed)
                rows.append(StrategyResult(name, cell.task, run.primary, len(run.samples), summaries))
                write_text_atomically(out / f"{name}.csv", run.csv_text, within=out)
                lm_eval_results = {
                    "results": run.evaluation["results"],
                    "configs": run.evaluation.get("configs", {}),
                }
                write_text_atomically(
                    out / "lm_eval" / f"{name}.json",
                    json.dumps(lm_eval_results, indent=2, default=str) + "\n",
                    within=out,
                )
                write_report(rows, out, fam, model_description=description, planned=strategy_names)
        return rows
