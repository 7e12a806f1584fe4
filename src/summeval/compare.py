"""Run strategies side by side on one model and one task family and report them: ``summeval compare``
and ``summeval active-prompt select``.

``compare`` loads the model once, runs each strategy's lm-eval task ``<family>_<strategy>`` in turn (a
progress bar over the strategies), and writes into ``--out``:

* ``results.md`` / ``results.json``: per strategy, n and each of the family's metrics with a 95%
  interval (accuracy: Wilson score interval; other metrics: seeded BCa bootstrap over items, scipy);
* ``<strategy>.csv``: one row per item: id, prompt, target, model output, read answer, each metric;
* ``<primary metric>.png``: a bar chart of the family's headline metric with the intervals;
* ``lm_eval/<strategy>.json``: lm-eval's own results for the strategy.

Every file is written under a temporary name and renamed, so none is ever half-written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prompt_strategies.exemplars import write_exemplar_file
from prompt_strategies.registry import applicable_strategies, get_family, get_strategy, strategies, task_name
from prompt_strategies.strategy import StrategyError
from summeval.lm_eval import runner
from summeval.lm_eval.runner import evaluate_task, sampled_items, seed_everything  # noqa: F401 (re-exported)
from summeval.lm_eval.task import read_result
from summeval.stats import (  # noqa: F401  (bootstrap_interval, wilson_interval: re-exported)
    BOOTSTRAP_RESAMPLES,
    bootstrap_interval,
    metric_summary,
    wilson_interval,
)
from summeval_tasks.atomic import write_bytes_atomically, write_text_atomically
from summeval_tasks.contract import TaskFamily

ACTIVE_PROMPT = "active_prompt"
from prompt_strategies.registry import EXEMPLARS_KEY  # noqa: E402  (one place for the key)


@dataclass
class StrategyResult:
    """One row of the comparison table: each metric's mean over the items and its 95% interval."""

    strategy: str
    task: str
    filter: str
    n: int
    metrics: dict[str, dict[str, float]]
    """``{metric: {"mean", "ci_low", "ci_high"}}`` in the family's metric order."""

    def mean(self, metric: str) -> float:
        return self.metrics[metric]["mean"]


def resolve_strategy_names(spec: str, family: str = "sports_understanding") -> list[str]:
    """``all`` (every strategy that applies to ``family``) or a comma-separated list of applicable names."""
    fam = get_family(family)
    if spec.strip() == "all":
        return applicable_strategies(fam)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise StrategyError("no strategies given; use --strategies all or a comma-separated list")
    for name in names:
        if not get_strategy(name).applies_to(fam):
            raise StrategyError(
                f"strategy {name!r} does not apply to the {family} family; those that do: "
                f"{', '.join(applicable_strategies(fam))}"
            )
    return names


def load_lm(model: str, model_args: str, batch_size: int | str = 1, device: str | None = None):
    """An lm-eval model from its registry name and argument string (``runner.load_lm``)."""
    return runner.load_lm(model, model_args, {"batch_size": batch_size, "device": device})


def chat_formatter(lm: Any, apply_chat_template: bool):
    """A prompt → model input function: the prompt as one user turn when ``apply_chat_template``."""
    if not apply_chat_template:
        return lambda prompt: prompt
    return lambda prompt: lm.apply_chat_template([{"role": "user", "content": prompt}])


def selection_inputs(
    *,
    family: str = "sports_understanding",
    data: str | None,
    k: int,
    n: int,
    seed: int,
    metric: str | None = None,
    pool_split: str | None = None,
    pool_size: int | None = None,
    annotations: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The pool and annotations of a selection, every input checked (before any model is loaded)."""
    from prompt_strategies import active_prompt

    fam = get_family(family)
    pool_split = pool_split or fam.pool_split
    if k < 1 or n < 1:
        raise StrategyError(f"k and n must be at least 1 (got k={k}, n={n})")
    if metric is not None and metric not in fam.uncertainty_metrics:
        raise StrategyError(
            f"{family}: unknown uncertainty metric {metric!r}; "
            f"choose one of {', '.join(fam.uncertainty_metrics)}"
        )
    if pool_split == fam.eval_split:
        raise StrategyError(
            f"the pool cannot be the {pool_split} split: the {family} tasks evaluate on it, and exemplars "
            f"from it would show the model other test items' answers; use --pool {fam.pool_split}"
        )
    docs = fam.load({fam.data_key: data} if fam.data_key and data else {})
    if pool_split not in docs:
        raise StrategyError(f"unknown pool split {pool_split!r}; choose one of {', '.join(docs)}")
    pool = active_prompt.choose_pool(list(docs[pool_split]), pool_size, seed)
    if n > len(pool):
        raise StrategyError(f"n={n} exemplars requested from a pool of {len(pool)} questions")
    if annotations and not fam.supports_reasoning:
        raise StrategyError(f"--annotations are rationales; the {family} family's exemplars have none")
    return pool, (active_prompt.read_annotations(annotations) if annotations else None)


def select_active_prompt_exemplars(
    lm: Any,
    *,
    family: str = "sports_understanding",
    data: str | None,
    out: Path,
    k: int,
    n: int,
    metric: str | None = None,
    seed: int,
    pool_split: str | None = None,
    pool_size: int | None = None,
    annotations: Path | None = None,
    temperature: float = 0.7,
    max_gen_toks: int | None = None,
    apply_chat_template: bool = False,
    model_description: str = "",
) -> dict[str, Any]:
    """Active-Prompt stage one on ``family``'s pool; writes and returns the exemplar file.

    The model is asked with zero-shot chain of thought where the family reasons, else with its
    direct (zero-shot) prompt; sampled at ``temperature``."""
    from summeval.lm_eval.selection import select_exemplars

    fam = get_family(family)
    metric = metric or fam.uncertainty_metrics[0]
    pool, annotation_map = selection_inputs(
        family=family,
        data=data,
        k=k,
        n=n,
        seed=seed,
        metric=metric,
        pool_split=pool_split,
        pool_size=pool_size,
        annotations=annotations,
    )
    asking = get_strategy("cot" if fam.supports_reasoning else "answer_only")
    asking_options = asking.options({})
    formatted = chat_formatter(lm, apply_chat_template)
    seed_everything(seed)
    content = select_exemplars(
        lm,
        pool,
        family=fam,
        prompt=lambda doc: formatted(asking.prompt(doc, fam, [], asking_options)),
        k=k,
        n=n,
        metric=metric,
        seed=seed,
        generation_kwargs={
            "until": asking.stop_sequences(fam),
            "do_sample": True,
            "temperature": temperature,
            "max_gen_toks": max_gen_toks or asking.max_gen_toks(fam, asking_options),
        },
        annotations=annotation_map,
        provenance={
            "model": model_description,
            "data": fam.source({fam.data_key: data} if data else {}),
            "pool": pool_split or fam.pool_split,
            "prompt_strategy": asking.name,
            "apply_chat_template": apply_chat_template,
            "annotations": str(annotations) if annotations else None,
        },
    )
    write_exemplar_file(out, content)
    return content


def run_compare(
    *,
    model: str,
    model_args: str,
    strategy_names: Sequence[str],
    out: Path,
    family: str = "sports_understanding",
    data: str | None = None,
    limit: int | None = None,
    batch_size: int | str = 1,
    device: str | None = None,
    apply_chat_template: bool = False,
    options: Mapping[str, Any] | None = None,
    exemplars_file: Path | None = None,
    selection: Mapping[str, Any] | None = None,
    seed: int = 1234,
) -> list[StrategyResult]:
    """Run ``strategy_names`` on one model and ``family``; write the report files into ``out``."""
    from tqdm import tqdm

    from summeval import task_manager

    fam = get_family(family)
    metadata: dict[str, Any] = {**(options or {})}
    for name in strategy_names:  # unknown options or wrong types fail now, not after the model loads
        get_strategy(name).options(metadata)
    unknown = sorted(set(options or {}) - set(strategies()))
    if unknown:
        raise StrategyError(
            f"--options names no strategy: {', '.join(unknown)}; known: {', '.join(sorted(strategies()))}"
        )
    if data:
        metadata[fam.data_key] = data
    fam.load(metadata)  # a bad source fails here, before the model loads
    if exemplars_file is not None:
        from prompt_strategies.exemplars import read_exemplar_file

        read_exemplar_file(exemplars_file, fam)
    elif ACTIVE_PROMPT in strategy_names:
        selection_inputs(family=family, data=data, **(selection or {}))
    out.mkdir(parents=True, exist_ok=True)
    lm = load_lm(model, model_args, batch_size, device)
    if ACTIVE_PROMPT in strategy_names:
        if exemplars_file is None:
            exemplars_file = out / "active_prompt_exemplars.json"
            print(f"summeval: selecting active-prompt exemplars first → {exemplars_file}", flush=True)
            select_active_prompt_exemplars(
                lm,
                family=family,
                data=data,
                out=exemplars_file,
                apply_chat_template=apply_chat_template,
                model_description=f"{model} {model_args}",
                **(selection or {}),
            )
        metadata[EXEMPLARS_KEY] = str(Path(exemplars_file).resolve())
    # Only our tasks: indexing lm-eval's own thousands of tasks costs seconds.
    manager = task_manager(include_defaults=False, metadata=metadata)
    rows: list[StrategyResult] = []
    bar = tqdm(strategy_names, desc="strategies", unit="strategy")
    for name in bar:
        bar.set_postfix_str(name)
        task = task_name(name, family)
        evaluation, samples, primary = evaluate_task(
            lm,
            task=task,
            family=fam,
            strategy_name=name,
            metadata=metadata,
            manager=manager,
            limit=limit,
            apply_chat_template=apply_chat_template,
            seed=seed,
        )
        row = result_row(fam, name, task, primary, samples, seed=seed)
        rows.append(row)
        write_text_atomically(out / f"{name}.csv", samples_csv(samples, fam))
        write_text_atomically(
            out / "lm_eval" / f"{name}.json",
            json.dumps(
                {"results": evaluation["results"], "configs": evaluation.get("configs", {})},
                indent=2,
                default=str,
            )
            + "\n",
        )
        write_report(rows, out, fam, model_description=f"{model} {model_args}", planned=strategy_names)
    return rows


def sample_answer(sample: Mapping[str, Any], family: TaskFamily | None = None) -> Any:
    """The read answer of one logged lm-eval sample (generated, or the most likely choice)."""
    fam = family or get_family("sports_understanding")
    filtered = sample.get("filtered_resps")
    items = filtered if isinstance(filtered, list) else [filtered]
    if items and isinstance(items[0], (list, tuple)) and len(items[0]) == 2:  # [log-likelihood, is_greedy]
        return read_result(fam, [(float(ll), greedy) for ll, greedy in items])
    return read_result(fam, [str(items[0])] if items else [])


def _arguments(sample: Mapping[str, Any]) -> list[tuple]:
    """Each request's arguments: tuples in memory; lm-eval's logged JSON has {"arg_0": ..., ...} dicts."""
    arguments = sample.get("arguments") or []
    if isinstance(arguments, Mapping):
        arguments = list(arguments.values())
    return [tuple(a.values()) if isinstance(a, Mapping) else tuple(a) for a in arguments]


def _model_output(sample: Mapping[str, Any]) -> str:
    """The raw output: generated text (a JSON list when sampled K times), or the choices' log-likelihoods."""
    resps = sample.get("resps") or []
    if resps and resps[0] and isinstance(resps[0][0], (list, tuple)):  # one request per choice
        labels = [str(a[1]).strip() if len(a) > 1 else "" for a in _arguments(sample)]
        return "; ".join(f"{lab}: {float(r[0][0]):.3f}" for lab, r in zip(labels, resps, strict=False))
    outputs = resps[0] if resps else []
    return outputs[0] if len(outputs) == 1 else json.dumps(outputs, ensure_ascii=False)


def _prompt(sample: Mapping[str, Any]) -> str:
    arguments = _arguments(sample)
    return str(arguments[0][0]) if arguments and arguments[0] else ""


def samples_csv(samples: Sequence[Mapping[str, Any]], family: TaskFamily | None = None) -> str:
    """CSV text: id, prompt, target, model_output, answer, then each metric of the family; a row per item."""
    fam = family or get_family("sports_understanding")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "prompt", "target", "model_output", "answer", *fam.metrics])
    for sample in sorted(samples, key=lambda s: s.get("doc_id", 0)):
        answer = sample_answer(sample, fam)
        scores = fam.score(sample["doc"], answer)
        writer.writerow(
            [
                sample["doc"].get("id", sample.get("doc_id")),
                _prompt(sample),
                fam.answer_text(sample["doc"]),
                _model_output(sample),
                answer,
                *(_number(scores[m]) for m in fam.metrics),
            ]
        )
    return buffer.getvalue()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6f}"


def item_scores(family: TaskFamily, samples: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Each metric's per-item scores of logged samples, in doc order."""
    ordered = sorted(samples, key=lambda s: s.get("doc_id", 0))
    per_item = [family.score(s["doc"], sample_answer(s, family)) for s in ordered]
    return {m: [float(scores[m]) for scores in per_item] for m in family.metrics}


def result_row(
    family: TaskFamily,
    name: str,
    task: str,
    filter_name: str,
    samples: Sequence[Mapping[str, Any]],
    seed: int = 0,
) -> StrategyResult:
    """One table row: each metric's mean and interval over ``samples`` (Wilson for 0/1 metrics)."""
    metrics = score_summaries(family, item_scores(family, samples), seed)
    return StrategyResult(name, task, filter_name, len(samples), metrics)


def is_rate(family: TaskFamily, values: Sequence[float]) -> bool:
    """Whether per-item scores are a proportion (accuracy, invalid rate): 0/1 scores of a family with
    fixed labels; never ROUGE."""
    return bool(family.choices) and all(v in (0.0, 1.0) for v in values)


def score_summaries(
    family: TaskFamily, scores: Mapping[str, Sequence[float]], seed: int = 0
) -> dict[str, dict[str, float]]:
    """Each metric's mean and 95% interval of per-item ``scores`` (Wilson for rates, bootstrap otherwise)."""
    return {
        m: metric_summary(values, binary=is_rate(family, values), seed=seed) for m, values in scores.items()
    }


def interval_text(summary: Mapping[str, float]) -> str:
    """``mean [low, high]`` to three places, as every table shows a figure."""
    return f"{summary['mean']:.3f} [{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def results_markdown(
    rows: Sequence[StrategyResult],
    family: TaskFamily | None = None,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> str:
    fam = family or get_family("sports_understanding")
    lines = []
    if planned is not None and len(rows) < len(planned):
        lines += [f"**Incomplete: {len(rows)} of {len(planned)} strategies finished.**", ""]
    if model_description:
        lines += [f"Model: `{model_description.strip()}`", ""]
    lines += [f"Task family: {fam.name}", ""]
    metrics = list(fam.metrics)
    lines += [
        "| strategy | filter | n | " + " | ".join(f"{m} [95% interval]" for m in metrics) + " |",
        "|---|---|---:|" + "---:|" * len(metrics),
    ]
    for r in rows:
        cells = [interval_text(r.metrics[m]) for m in metrics]
        lines.append(f"| {r.strategy} | {r.filter} | {r.n} | " + " | ".join(cells) + " |")
    how = (
        "95% Wilson score intervals over the items"
        if fam.choices
        else "95% BCa bootstrap intervals over the items "
        f"(scipy.stats.bootstrap, {BOOTSTRAP_RESAMPLES} resamples)"
    )
    lines += ["", f"Intervals: {how}."]
    return "\n".join(lines) + "\n"


def chart_name(family: TaskFamily) -> str:
    return f"{family.primary_metric}.png"


def write_report(
    rows: Sequence[StrategyResult],
    out: Path,
    family: TaskFamily | None = None,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> None:
    """``results.md``, ``results.json`` and the chart for ``rows`` (each written atomically).

    Rewritten after every strategy; until all ``planned`` strategies are done, the table says it is
    incomplete and ``results.json`` has ``"complete": false``.
    """
    fam = family or get_family("sports_understanding")
    complete = planned is None or len(rows) >= len(planned)
    write_text_atomically(out / "results.md", results_markdown(rows, fam, model_description, planned))
    write_text_atomically(
        out / "results.json",
        json.dumps(
            {
                "model": model_description.strip(),
                "family": fam.name,
                "complete": complete,
                "results": [asdict(r) for r in rows],
            },
            indent=2,
        )
        + "\n",
    )
    write_chart(rows, out / chart_name(fam), fam, title=model_description.strip())


def write_chart(rows: Sequence[StrategyResult], path: Path, family: TaskFamily, title: str = "") -> Path:
    """A bar chart of the family's headline metric per strategy with its 95% interval as error bars (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = family.primary_metric
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.8), dpi=120)
    names = [r.strategy for r in rows]
    cells = [r.metrics[metric] for r in rows]
    means = [c["mean"] for c in cells]
    errors = [[c["mean"] - c["ci_low"] for c in cells], [c["ci_high"] - c["mean"] for c in cells]]
    bars = ax.bar(names, means, yerr=errors, capsize=4, color="#4C72B0")
    for bar, mean in zip(bars, means, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            0.02,
            f"{mean:.2f}",
            ha="center",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    if family.choices:
        ax.axhline(1 / len(family.choices), color="grey", linestyle="--", linewidth=0.8, label="chance")
        ax.legend(loc="upper right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"{metric} (95% interval)")
    ax.set_title(f"{family.name}{': ' + title if title else ''}", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return write_bytes_atomically(path, buffer.getvalue())
