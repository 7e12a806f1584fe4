"""The report of a study: ``OUT/report.md`` and ``OUT/report.html`` (one self-contained file, charts
embedded), ``OUT/charts/*.png``, ``OUT/samples/<model>__<task>.csv`` and ``OUT/report.json``.

It is built from the saved cells only (``summeval.study``), so it can be rebuilt at any time:
* per family, each cell's metrics with 95% intervals (Wilson for accuracy and invalid rate, BCa bootstrap
  over items for ROUGE), beside the figures the original study published;
* for families with fixed labels, the always-majority-label and random-guessing baselines;
* each comparison of the config as a paired test on the same items (exact McNemar for accuracy, a
  paired permutation test for ROUGE; a paired bootstrap interval of the difference either way), with
  Holm's correction over all of them, and a sentence saying whether it is significant at this size;
* provenance: package versions, models and their fingerprints, adapters, data hashes, seed, hardware,
  time per cell.
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summeval.compare import interval_text, is_rate, score_summaries
from summeval.stats import (
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    chance_range,
    holm,
    paired_test,
    wilson_interval,
)
from summeval.study.plan import Cell, StudyConfig
from summeval_tasks.atomic import write_text_atomically


@dataclass
class Table:
    """A report table, rendered to Markdown and to HTML from the same cells."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    text_columns: int = 1
    """The leading columns that hold names (left-aligned); the rest hold numbers."""

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |"]
        lines.append(
            "|" + "|".join("---" if i < self.text_columns else "---:" for i in range(len(self.header))) + "|"
        )
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows]
        return "\n".join(lines + [""] + [f"{n}" for n in self.notes]) + "\n"

    def html(self) -> str:
        def align(i: int) -> str:
            return " class=text" if i < self.text_columns else ""

        head = "".join(f"<th{align(i)}>{html.escape(h)}</th>" for i, h in enumerate(self.header))
        body = "".join(
            "<tr>"
            + "".join(f"<td{align(i)}>{html.escape(cell)}</td>" for i, cell in enumerate(row))
            + "</tr>"
            for row in self.rows
        )
        notes = "".join(f"<p class=note>{html.escape(n)}</p>" for n in self.notes)
        return f"<h3>{html.escape(self.title)}</h3><table><tr>{head}</tr>{body}</table>{notes}"


def load_records(
    config: StudyConfig, out: Path, keys: Mapping[str, str | None] | None = None
) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The saved record of each finished cell, by cell id, and the ids of stale cells (saved with other
    settings than ``keys`` give now; those are left out of the report)."""
    from summeval.study.cells import read_cell

    records, stale = {}, set()
    for cell in config.cells:
        record = read_cell(out, cell)
        if record is None:
            continue
        if keys is not None and record.get("key") != keys.get(cell.id):
            stale.add(cell.id)
        else:
            records[cell.id] = record
    return records, stale


def summaries(cell: Cell, record: Mapping[str, Any], seed: int) -> dict[str, dict[str, float]]:
    """Each metric's mean and 95% interval over the cell's saved per-item scores."""
    from prompt_strategies.registry import get_family

    return score_summaries(get_family(cell.family), record["scores"], seed)


def results_table(
    config: StudyConfig,
    family_name: str,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    stale: set[str] = frozenset(),
) -> Table:
    from prompt_strategies.registry import get_family

    family = get_family(family_name)
    metrics = list(family.metrics)
    cells = [c for c in config.cells if c.family == family_name]
    published_metrics = [m for m in metrics if any(m in config.published.get(c.id, {}) for c in cells)]
    header = ["model", "task", "filter", "n", *(f"{m} [95%]" for m in metrics)]
    header += [f"{config.published_label}: {m}" for m in published_metrics]
    rows = []
    for cell in cells:
        record = records.get(cell.id)
        published = config.published.get(cell.id, {})
        shown_published = [f"{published[m]:.3f}" if m in published else "" for m in published_metrics]
        if record is None:
            why = "stale: settings changed, rerun" if cell.id in stale else "not run"
            rows.append([cell.model, cell.task, why, "", *([""] * len(metrics)), *shown_published])
            continue
        summary = cell_summaries[cell.id]
        rows.append(
            [
                cell.model,
                cell.task,
                record["filter"],
                str(record["n"]),
                *(interval_text(summary[m]) for m in metrics),
                *shown_published,
            ]
        )
    how = (
        "Wilson score intervals"
        if family.choices
        else f"BCa bootstrap intervals over items (scipy.stats.bootstrap, {BOOTSTRAP_RESAMPLES} resamples)"
    )
    notes = [f"Intervals: 95% {how}."]
    if published_metrics:
        notes.append(
            f"{config.published_label}: the figures the original study reported, shown beside the cell that "
            "reproduces them (they have no interval: the study reported none)."
        )
    return Table(f"{family_name}: results", header, rows, notes, text_columns=3)


def baselines_table(config: StudyConfig, family_name: str, records: Mapping[str, Any]) -> Table | None:
    """Always-majority-label (the pool split's most common label) and random guessing, on the evaluated
    items."""
    from prompt_strategies.registry import get_family

    family = get_family(family_name)
    if not family.choices:
        return None
    cells = [c for c in config.cells if c.family == family_name and c.id in records]
    if not cells:
        return None
    docs = family.load(config.metadata(family_name))
    pool = list(docs[family.pool_split])
    majority_text, _ = Counter(family.answer_text(d) for d in pool).most_common(1)[0]
    majority = family.read_answer(majority_text)
    evaluated = {str(d.get("id")): d for d in docs[family.eval_split]}
    rows = []
    for chosen in dict.fromkeys((c.limit, c.sample) for c in cells):
        record = records[next(c.id for c in cells if (c.limit, c.sample) == chosen)]
        items = [evaluated[i] for i in record["items"] if i in evaluated]
        n = len(items)
        correct = round(sum(family.score(d, majority)[family.primary_metric] for d in items))
        low, high = wilson_interval(correct, n)
        rows.append(
            [
                f"always {majority_text!r} (the {family.pool_split} split's majority)",
                str(n),
                f"{correct / n if n else 0:.3f} [{low:.3f}, {high:.3f}]",
            ]
        )
        chance = 1 / len(family.choices)
        c_low, c_high = chance_range(n, chance)
        rows.append(
            [
                f"random guessing among {len(family.choices)} labels",
                str(n),
                f"{chance:.3f} [{c_low:.3f}, {c_high:.3f}]",
            ]
        )
    return Table(
        f"{family_name}: baselines",
        ["baseline", "n", f"{family.primary_metric} [95%]"],
        rows,
        [
            "Majority: Wilson interval. Random: its expected accuracy, and the range that guessing reaches "
            "95% of the time on n items (binomial): an accuracy inside it is one guessing could produce."
        ],
    )


def comparison_results(config: StudyConfig, records: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each comparison of the config whose two cells finished: a paired test of the family's headline
    metric on the items both scored, with Holm-adjusted p-values over all of them."""
    from prompt_strategies.registry import get_family

    results = []
    for comparison in config.comparisons:
        if comparison.a not in records or comparison.b not in records:
            continue
        cell = config.cell(comparison.a)
        family = get_family(cell.family)
        metric = family.primary_metric
        a, b = records[comparison.a], records[comparison.b]
        by_item_b = dict(zip(b["items"], b["scores"][metric], strict=True))
        pairs = [
            (x, by_item_b[i]) for i, x in zip(a["items"], a["scores"][metric], strict=True) if i in by_item_b
        ]
        test = paired_test(
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            binary=is_rate(family, [v for pair in pairs for v in pair]),
            seed=config.seed,
        )
        higher_is_better = family.metrics[metric]
        results.append(
            {
                "label": comparison.label,
                "a": comparison.a,
                "b": comparison.b,
                "metric": metric,
                "higher_is_better": higher_is_better,
                **test.to_dict(),
            }
        )
    for result, adjusted in zip(results, holm([r["p_value"] for r in results]), strict=True):
        result["p_holm"] = adjusted
        result["significant"] = adjusted < ALPHA
        result["verdict"] = verdict(result)
    return results


def verdict(result: Mapping[str, Any]) -> str:
    """One sentence: is the difference real at this sample size?"""
    direction = "higher" if result["difference"] > 0 else "lower"
    interval = f"95% interval of B − A [{result['ci_low']:+.3f}, {result['ci_high']:+.3f}]"
    if result["significant"]:
        return (
            f"{result['label']}: significant at {ALPHA:.0%} after Holm (p = {result['p_holm']:.3g}, n = "
            f"{result['n']}): {result['b']} scores {direction} {result['metric']} than {result['a']} by "
            f"{abs(result['difference']):.3f} ({interval})."
        )
    return (
        f"{result['label']}: not significant at this sample size (n = {result['n']}, Holm p = "
        f"{result['p_holm']:.3g}): the {abs(result['difference']):.3f} difference in {result['metric']} "
        "could be "
        f"chance ({interval})."
    )


def comparisons_not_run(config: StudyConfig, records: Mapping[str, Any]) -> list[str]:
    return [c.label for c in config.comparisons if c.a not in records or c.b not in records]


def comparisons_table(results: Sequence[Mapping[str, Any]], missing: Sequence[str] = ()) -> Table:
    rows = [
        [
            r["label"],
            r["a"],
            r["b"],
            r["metric"],
            str(r["n"]),
            f"{r['mean_a']:.3f}",
            f"{r['mean_b']:.3f}",
            f"{r['difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]",
            f"{r['b_better']}/{r['a_better']}",
            r["test"],
            f"{r['p_value']:.3g}",
            f"{r['p_holm']:.3g}",
            "yes" if r["significant"] else "no",
        ]
        for r in results
    ]
    return Table(
        "Paired comparisons",
        [
            "comparison",
            "A",
            "B",
            "metric",
            "n",
            "A",
            "B",
            "B − A [95%]",
            "B>A / A>B",
            "test",
            "p",
            "Holm p",
            f"significant at {ALPHA:.0%}",
        ],
        rows,
        text_columns=4,
        notes=[
            "Each test pairs the two cells item by item. Accuracy: exact McNemar test on the discordant "
            "items (scipy.stats.binomtest). ROUGE: a two-sided paired permutation test (random sign flips "
            "of the per-item differences; exact when n ≤ 13; scipy.stats.permutation_test). B − A: paired "
            "bootstrap interval (BCa for ROUGE, percentile for accuracy). Holm's step-down correction over "
            "all comparisons of the study."
        ]
        + (
            [
                f"Not run yet (a cell missing), so not tested: {'; '.join(missing)}. Holm's correction above "
                "covers only the comparisons shown and will be stricter once these are added."
            ]
            if missing
            else []
        ),
    )


def provenance(config: StudyConfig, records: Mapping[str, Any], inputs: Any, timings: Mapping) -> dict:
    from summeval.study.inputs import versions

    environments = [r.get("environment") or {} for r in records.values()]
    return {
        "study": {"name": config.name, "config": str(config.path), "seed": config.seed},
        "versions": _merged([e.get("versions") or {} for e in environments]) or versions(),
        "hardware": _merged([e.get("hardware") or {} for e in environments]) or hardware(),
        "models": {
            name: {
                "backend": config.models[name].backend,
                "pretrained": inputs.pretrained.get(name) if inputs else config.models[name].pretrained,
                "model_args": dict(config.models[name].model_args),
                "fingerprint": inputs.model_fingerprints.get(name) if inputs else None,
                "adapter": _adapter_provenance(inputs.adapters.get(name)) if inputs else None,
                "revision": config.models[name].model_args.get("revision")
                or ", ".join(
                    sorted(
                        {
                            str((r.get("environment") or {}).get("model_revision"))
                            for cell_id, r in records.items()
                            if cell_id.split("/")[0] == name
                            and (r.get("environment") or {}).get("model_revision")
                        }
                    )
                )
                or "local folder (see its files)",
            }
            for name in dict.fromkeys(c.model for c in config.cells)
        },
        "data_sha256": dict(inputs.data_hashes) if inputs else {},
        "cells": {
            cell_id: {
                "seconds": r["seconds"],
                "selection_seconds": r.get("selection_seconds", 0.0),
                "n": r["n"],
                "seconds_per_item": round(r["seconds"] / r["n"], 3) if r["n"] else None,
                "key": r["key"],
            }
            for cell_id, r in records.items()
        },
        "this_run": dict(timings),
    }


def _merged(dicts: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """One value per key across the cells' environments; where cells differ, every value, comma-joined."""
    merged: dict[str, set[str]] = {}
    for d in dicts:
        for key, value in d.items():
            merged.setdefault(key, set()).add(str(value))
    return {key: ", ".join(sorted(values)) for key, values in merged.items()}


def _adapter_provenance(adapter: Path | None) -> dict[str, Any] | None:
    if adapter is None or not (adapter / "adapter_config.json").is_file():
        return None
    from summeval.adapter_io import read_adapter_metadata
    from summeval.study.inputs import adapter_fingerprint, adapter_rank

    metadata = read_adapter_metadata(adapter)
    train = metadata.get("train") or {}
    return {
        "path": str(adapter),
        "rank": adapter_rank(adapter),
        "sha256": adapter_fingerprint(adapter),
        "trainable_parameters": metadata.get("trainable_parameters"),
        "train_seconds": train.get("train_seconds_this_run"),
        "global_step": train.get("global_step"),
    }


def hardware() -> dict[str, Any]:
    found: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        found["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        if torch.cuda.is_available():
            found["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return found


def provenance_tables(facts: Mapping[str, Any]) -> list[Table]:
    versions = Table(
        "Package versions (where the cells ran; comma-joined where cells differ)",
        ["package", "version"],
        [[k, v] for k, v in facts["versions"].items()],
        text_columns=2,
    )
    machine = Table(
        "Hardware (where the cells ran)",
        ["what", "value"],
        [[k, str(v)] for k, v in facts["hardware"].items()],
        text_columns=2,
    )
    models = Table(
        "Models",
        [
            "model",
            "backend",
            "pretrained",
            "revision",
            "files (sha256 of their sha256s, first 12)",
            "adapter",
            "adapter rank",
            "adapter sha256 (first 12)",
            "training s",
        ],
        [
            [
                name,
                m["backend"],
                str(m["pretrained"]),
                str(m["revision"]),
                _short(m["fingerprint"]),
                (m["adapter"] or {}).get("path", ""),
                str((m["adapter"] or {}).get("rank", "")),
                _short((m["adapter"] or {}).get("sha256")),
                str((m["adapter"] or {}).get("train_seconds", "")),
            ]
            for name, m in facts["models"].items()
        ],
        text_columns=6,
    )
    data = Table(
        "Data",
        ["family", "sha256 of the loaded docs"],
        [[k, v] for k, v in facts["data_sha256"].items()],
        text_columns=2,
    )
    run = facts["this_run"]
    cells = Table(
        "Time per cell",
        ["cell", "n", "evaluation s", "s per item", "exemplar selection s", "cache key (first 12)"],
        [
            [
                cell_id,
                str(c["n"]),
                f"{c['seconds']:.1f}",
                f"{c['seconds_per_item'] or 0:.2f}",
                f"{c['selection_seconds']:.1f}",
                c["key"][:12],
            ]
            for cell_id, c in facts["cells"].items()
        ],
        [
            f"This run: {run.get('wall_seconds', 0):.0f} s wall in all; model loads "
            f"{json.dumps(run.get('models', {}))} s; "
            f"adapter training {json.dumps(run.get('adapters', {}))} s. "
            f"Seed {facts['study']['seed']} for sampling, exemplar choice and training."
        ],
    )
    return [versions, machine, models, data, cells]


def _short(value: Any) -> str:
    from summeval.study.inputs import sha256_json

    return sha256_json(value)[:12] if value else ""


def charts(
    config: StudyConfig,
    records: Mapping[str, Any],
    cell_summaries: Mapping[str, dict[str, dict[str, float]]],
    out: Path,
) -> dict[str, Path]:
    """A bar chart per family of its headline metric per cell, with the 95% intervals (PNG)."""
    from prompt_strategies.registry import get_family
    from summeval.compare import StrategyResult, write_chart

    written = {}
    for family_name in dict.fromkeys(c.family for c in config.cells):
        family = get_family(family_name)
        rows = [
            StrategyResult(
                cell.id,
                cell.task,
                records[cell.id]["filter"],
                records[cell.id]["n"],
                cell_summaries[cell.id],
            )
            for cell in config.cells
            if cell.family == family_name and cell.id in records
        ]
        if rows:
            path = out / "charts" / f"{family_name}_{family.primary_metric}.png"
            written[family_name] = write_chart(rows, path, family, title=config.name)
    return written


def write_study_report(
    config: StudyConfig,
    out: Path,
    *,
    inputs: Any = None,
    keys: Mapping[str, str | None] | None = None,
    timings: Mapping | None = None,
) -> Path:
    """Write the report files from the saved cells whose key is ``keys``' (all saved cells without
    ``keys``); return the path of ``report.md``."""
    from summeval.study.cells import CSV_FILE, cell_dir

    records, stale = load_records(config, out, keys)
    cell_summaries = {c.id: summaries(c, records[c.id], config.seed) for c in config.cells if c.id in records}
    families = list(dict.fromkeys(c.family for c in config.cells))
    result_tables = [results_table(config, f, records, cell_summaries, stale) for f in families]
    baseline_tables = [t for t in (baselines_table(config, f, records) for f in families) if t]
    compared = comparison_results(config, records)
    facts = provenance(config, records, inputs, timings or {})
    chart_paths = charts(config, records, cell_summaries, out)
    for cell in config.cells:
        if cell.id in records:
            csv_text = (cell_dir(out, cell) / CSV_FILE).read_text(encoding="utf-8")
            write_text_atomically(out / "samples" / f"{cell.model}__{cell.task}.csv", csv_text)

    finished = len(records)
    status = (
        f"All {finished} cells finished."
        if finished == len(config.cells)
        else f"Incomplete: {finished} of {len(config.cells)} cells finished."
    )
    tables = [*result_tables, *baseline_tables]
    missing = comparisons_not_run(config, records)
    comparison_table = comparisons_table(compared, missing) if compared or missing else None
    verdicts = [r["verdict"] for r in compared]
    provenance_parts = provenance_tables(facts)

    md = [f"# Study: {config.name}", "", config.description.strip(), "", status, "", "## Results", ""]
    md += [t.markdown() for t in tables]
    md += ["## Charts", ""] + [f"![{f}]({p.relative_to(out).as_posix()})\n" for f, p in chart_paths.items()]
    if comparison_table:
        md += (
            ["## Which differences are real", ""]
            + [f"- {v}" for v in verdicts]
            + ["", comparison_table.markdown()]
        )
    md += ["## Per-sample outputs", ""]
    md += [f"- [{c.id}](samples/{c.model}__{c.task}.csv)" for c in config.cells if c.id in records]
    md += ["", "## Provenance", ""] + [t.markdown() for t in provenance_parts]
    write_text_atomically(out / "report.md", "\n".join(md))

    images = "".join(
        f'<figure><img alt="{html.escape(f)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode("ascii")}"><figcaption>{html.escape(f)}</figcaption></figure>'
        for f, p in chart_paths.items()
    )
    body = [
        f"<h1>Study: {html.escape(config.name)}</h1>",
        f"<p>{html.escape(config.description.strip())}</p>",
        f"<p><strong>{html.escape(status)}</strong></p>",
        "<h2>Results</h2>",
        *(t.html() for t in tables),
        "<h2>Charts</h2>",
        images,
    ]
    if comparison_table:
        body += ["<h2>Which differences are real</h2><ul>"]
        body += [f"<li>{html.escape(v)}</li>" for v in verdicts]
        body += ["</ul>", comparison_table.html()]
    body += ["<h2>Per-sample outputs</h2><ul>"]
    body += [
        f'<li><a href="samples/{html.escape(c.model)}__{html.escape(c.task)}.csv">'
        f"{html.escape(c.id)}</a></li>"
        for c in config.cells
        if c.id in records
    ]
    body += ["</ul><h2>Provenance</h2>", *(t.html() for t in provenance_parts)]
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Study: {html.escape(config.name)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    write_text_atomically(out / "report.html", page)
    write_text_atomically(
        out / "report.json",
        json.dumps(
            {"complete": finished == len(config.cells), "comparisons": compared, "provenance": facts},
            indent=2,
            default=str,
        )
        + "\n",
    )
    return out / "report.md"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
td { white-space: nowrap; }
th.text, td.text { text-align: left; }
th { background: #eef2f7; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { font-size: 12px; color: #555; }
"""
