"""Run strategies side by side on one model and report them: ``summeval compare`` and
``summeval active-prompt select``.

``compare`` loads the model once, runs each strategy's lm-eval task in turn (a progress bar over the
strategies), and writes into ``--out``:

* ``results.md`` / ``results.json``: per strategy, n, accuracy with a 95% Wilson interval, invalid rate;
* ``<strategy>.csv``: one row per item: id, prompt, target, model output, extracted answer, correct;
* ``accuracy.png``: a bar chart of accuracy with the intervals;
* ``lm_eval/<strategy>.json``: lm-eval's own results for the strategy.

Every file is written under a temporary name and renamed, so none is ever half-written.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prompt_strategies.exemplars import write_exemplar_file
from prompt_strategies.extraction import INVALID
from prompt_strategies.registry import get_strategy, strategies, task_name
from prompt_strategies.strategy import StrategyError
from summeval_tasks.atomic import write_bytes_atomically, write_text_atomically

ACTIVE_PROMPT = "active_prompt"
EXEMPLARS_KEY = "active_prompt_exemplars"


@dataclass
class StrategyResult:
    """One row of the comparison table."""

    strategy: str
    task: str
    filter: str
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    invalid_rate: float


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for ``correct`` successes out of ``n`` (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def resolve_strategy_names(spec: str) -> list[str]:
    """``all`` (every registered strategy) or a comma-separated list of known names."""
    if spec.strip() == "all":
        return list(strategies())
    names = [s.strip() for s in spec.split(",") if s.strip()]
    if not names:
        raise StrategyError("no strategies given; use --strategies all or a comma-separated list")
    for name in names:
        get_strategy(name)
    return names


def load_lm(model: str, model_args: str, batch_size: int | str = 1, device: str | None = None):
    """An lm-eval model from its registry name and argument string, as ``lm_eval --model`` builds it."""
    from lm_eval.api.registry import get_model

    if not device:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    extra = {"batch_size": batch_size, "device": device}
    return get_model(model).create_from_arg_string(model_args, extra)


def chat_formatter(lm: Any, apply_chat_template: bool):
    """A prompt → model input function: the prompt as one user turn when ``apply_chat_template``."""
    if not apply_chat_template:
        return lambda prompt: prompt
    return lambda prompt: lm.apply_chat_template([{"role": "user", "content": prompt}])


def selection_inputs(
    *,
    data: str | None,
    k: int,
    n: int,
    seed: int,
    pool_split: str = "train",
    pool_size: int | None = None,
    annotations: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The pool and annotations of a selection, every input checked (before any model is loaded)."""
    from prompt_strategies import active_prompt
    from summeval_tasks import sports

    if k < 1 or n < 1:
        raise StrategyError(f"k and n must be at least 1 (got k={k}, n={n})")
    if pool_split == "validation":
        raise StrategyError(
            "the pool cannot be the validation split: the tasks evaluate on it, and exemplars from it "
            "would show the model other test items' labels; use --pool train"
        )
    statements = sports.load_statements(data)
    if pool_split not in statements:
        raise StrategyError(f"unknown pool split {pool_split!r}; choose one of {', '.join(statements)}")
    pool = active_prompt.choose_pool([s.to_doc() for s in statements[pool_split]], pool_size, seed)
    if n > len(pool):
        raise StrategyError(f"n={n} exemplars requested from a pool of {len(pool)} questions")
    return pool, (active_prompt.read_annotations(annotations) if annotations else None)


def select_active_prompt_exemplars(
    lm: Any,
    *,
    data: str | None,
    out: Path,
    k: int,
    n: int,
    metric: str,
    seed: int,
    pool_split: str = "train",
    pool_size: int | None = None,
    annotations: Path | None = None,
    temperature: float = 0.7,
    max_gen_toks: int = 128,
    apply_chat_template: bool = False,
    model_description: str = "",
) -> dict[str, Any]:
    """Active-Prompt stage one on the sports_understanding pool; writes and returns the exemplar file."""
    from prompt_strategies import active_prompt
    from prompt_strategies.builtin import COT_UNTIL
    from summeval_tasks import sports

    pool, annotation_map = selection_inputs(
        data=data, k=k, n=n, seed=seed, pool_split=pool_split, pool_size=pool_size, annotations=annotations
    )
    cot = get_strategy("cot")
    cot_options = cot.options({})
    formatted = chat_formatter(lm, apply_chat_template)
    _seed_everything(seed)
    content = active_prompt.select_exemplars(
        lm,
        pool,
        prompt=lambda doc: formatted(cot.prompt(doc, [], cot_options)),
        k=k,
        n=n,
        metric=metric,
        seed=seed,
        generation_kwargs={
            "until": COT_UNTIL,
            "do_sample": True,
            "temperature": temperature,
            "max_gen_toks": max_gen_toks,
        },
        annotations=annotation_map,
        provenance={
            "model": model_description,
            "data": sports.resolve_source(data),
            "pool": pool_split,
            "prompt_strategy": "cot",
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
    """Run ``strategy_names`` on one model and write the report files into ``out``."""
    import lm_eval
    from tqdm import tqdm

    from summeval import task_manager

    metadata: dict[str, Any] = {**(options or {})}
    for name in strategy_names:  # unknown options or wrong types fail now, not after the model loads
        get_strategy(name).options(metadata)
    unknown = sorted(set(options or {}) - set(strategies()))
    if unknown:
        raise StrategyError(
            f"--options names no strategy: {', '.join(unknown)}; known: {', '.join(sorted(strategies()))}"
        )
    if data:
        from summeval_tasks import sports

        sports.load_statements(data)  # a bad source fails here, before the model loads
    if exemplars_file is not None:
        from prompt_strategies.exemplars import read_exemplar_file

        read_exemplar_file(exemplars_file)
    elif ACTIVE_PROMPT in strategy_names:
        selection_inputs(data=data, **{k: v for k, v in (selection or {}).items() if k != "metric"})
    out.mkdir(parents=True, exist_ok=True)
    lm = load_lm(model, model_args, batch_size, device)
    if data:
        metadata["sports_data"] = data
    if ACTIVE_PROMPT in strategy_names:
        if exemplars_file is None:
            exemplars_file = out / "active_prompt_exemplars.json"
            print(f"summeval: selecting active-prompt exemplars first → {exemplars_file}", flush=True)
            select_active_prompt_exemplars(
                lm,
                data=data,
                out=exemplars_file,
                apply_chat_template=apply_chat_template,
                model_description=f"{model} {model_args}",
                **(selection or {}),
            )
        metadata[EXEMPLARS_KEY] = str(Path(exemplars_file).resolve())
    # Only sports_understanding_<strategy> tasks run: indexing lm-eval's own thousands of tasks costs seconds.
    manager = task_manager(include_defaults=False, metadata=metadata)
    rows: list[StrategyResult] = []
    bar = tqdm(strategy_names, desc="strategies", unit="strategy")
    for name in bar:
        bar.set_postfix_str(name)
        strategy = get_strategy(name)
        task = task_name(name)
        evaluation = lm_eval.simple_evaluate(
            model=lm,
            tasks=[task],
            limit=limit,
            log_samples=True,
            apply_chat_template=apply_chat_template,
            task_manager=manager,
            metadata=metadata,
            random_seed=seed,
            torch_random_seed=seed,
        )
        primary = strategy.primary_filter(strategy.options(metadata))
        samples = [s for s in evaluation["samples"][task] if s.get("filter", primary) == primary]
        row = _result_row(name, task, primary, samples)
        rows.append(row)
        write_text_atomically(out / f"{name}.csv", samples_csv(samples))
        write_text_atomically(
            out / "lm_eval" / f"{name}.json",
            json.dumps(
                {"results": evaluation["results"], "configs": evaluation.get("configs", {})},
                indent=2,
                default=str,
            )
            + "\n",
        )
        write_report(rows, out, model_description=f"{model} {model_args}", planned=strategy_names)
    return rows


def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def sample_answer(sample: Mapping[str, Any]) -> str:
    """The extracted answer of one logged lm-eval sample (generated, or the most likely label)."""
    from prompt_strategies.lm_eval_task import predicted_label

    filtered = sample.get("filtered_resps")
    items = filtered if isinstance(filtered, list) else [filtered]
    if items and isinstance(items[0], (list, tuple)) and len(items[0]) == 2:  # [log-likelihood, is_greedy]
        return predicted_label([(float(ll), greedy) for ll, greedy in items])
    return predicted_label([str(items[0])] if items else [])


def _arguments(sample: Mapping[str, Any]) -> list[tuple]:
    """Each request's arguments: tuples in memory; lm-eval's logged JSON has {"arg_0": ..., ...} dicts."""
    arguments = sample.get("arguments") or []
    if isinstance(arguments, Mapping):
        arguments = list(arguments.values())
    return [tuple(a.values()) if isinstance(a, Mapping) else tuple(a) for a in arguments]


def _model_output(sample: Mapping[str, Any]) -> str:
    """The raw output: generated text (a JSON list when sampled K times), or the label log-likelihoods."""
    resps = sample.get("resps") or []
    if resps and resps[0] and isinstance(resps[0][0], (list, tuple)):  # one request per label
        labels = [str(a[1]).strip() if len(a) > 1 else "" for a in _arguments(sample)]
        return "; ".join(f"{lab}: {float(r[0][0]):.3f}" for lab, r in zip(labels, resps, strict=False))
    outputs = resps[0] if resps else []
    return outputs[0] if len(outputs) == 1 else json.dumps(outputs, ensure_ascii=False)


def _prompt(sample: Mapping[str, Any]) -> str:
    arguments = _arguments(sample)
    return str(arguments[0][0]) if arguments and arguments[0] else ""


def samples_csv(samples: Sequence[Mapping[str, Any]]) -> str:
    """CSV text: id, prompt, target, model_output, extracted_answer, correct (one row per item)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "prompt", "target", "model_output", "extracted_answer", "correct"])
    for sample in sorted(samples, key=lambda s: s.get("doc_id", 0)):
        answer = sample_answer(sample)
        target = sample["doc"]["label"]
        writer.writerow(
            [
                sample["doc"]["id"],
                _prompt(sample),
                target,
                _model_output(sample),
                answer,
                int(answer == target),
            ]
        )
    return buffer.getvalue()


def _result_row(
    name: str, task: str, filter_name: str, samples: Sequence[Mapping[str, Any]]
) -> StrategyResult:
    answers = [(sample_answer(s), s["doc"]["label"]) for s in samples]
    n = len(answers)
    correct = sum(a == t for a, t in answers)
    low, high = wilson_interval(correct, n)
    invalid = sum(a == INVALID for a, _ in answers)
    return StrategyResult(
        name, task, filter_name, n, correct / n if n else 0.0, low, high, invalid / n if n else 0.0
    )


def results_markdown(
    rows: Sequence[StrategyResult], model_description: str = "", planned: Sequence[str] | None = None
) -> str:
    lines = []
    if planned is not None and len(rows) < len(planned):
        lines += [f"**Incomplete: {len(rows)} of {len(planned)} strategies finished.**", ""]
    if model_description:
        lines += [f"Model: `{model_description.strip()}`", ""]
    lines += [
        "| strategy | filter | n | accuracy | 95% interval | invalid rate |",
        "|---|---|---:|---:|---|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.strategy} | {r.filter} | {r.n} | {r.accuracy:.3f} | "
            f"[{r.ci_low:.3f}, {r.ci_high:.3f}] | {r.invalid_rate:.3f} |"
        )
    lines += ["", "Intervals are 95% Wilson score intervals over the items."]
    return "\n".join(lines) + "\n"


def write_report(
    rows: Sequence[StrategyResult],
    out: Path,
    model_description: str = "",
    planned: Sequence[str] | None = None,
) -> None:
    """``results.md``, ``results.json`` and ``accuracy.png`` for ``rows`` (each written atomically).

    Rewritten after every strategy; until all ``planned`` strategies are done, the table says it is
    incomplete and ``results.json`` has ``"complete": false``.
    """
    complete = planned is None or len(rows) >= len(planned)
    write_text_atomically(out / "results.md", results_markdown(rows, model_description, planned))
    write_text_atomically(
        out / "results.json",
        json.dumps(
            {"model": model_description.strip(), "complete": complete, "results": [asdict(r) for r in rows]},
            indent=2,
        )
        + "\n",
    )
    write_chart(rows, out / "accuracy.png", title=model_description.strip())


def write_chart(rows: Sequence[StrategyResult], path: Path, title: str = "") -> Path:
    """A bar chart of accuracy per strategy with its 95% interval as error bars (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.8), dpi=120)
    names = [r.strategy for r in rows]
    accuracy = [r.accuracy for r in rows]
    errors = [[r.accuracy - r.ci_low for r in rows], [r.ci_high - r.accuracy for r in rows]]
    bars = ax.bar(names, accuracy, yerr=errors, capsize=4, color="#4C72B0")
    for bar, r in zip(bars, rows, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            0.02,
            f"{r.accuracy:.2f}",
            ha="center",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8, label="chance")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (95% interval)")
    ax.set_title(f"sports_understanding{': ' + title if title else ''}", fontsize=8)
    ax.legend(loc="upper right", fontsize=7)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return write_bytes_atomically(path, buffer.getvalue())
