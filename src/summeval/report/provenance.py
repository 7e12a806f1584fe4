"""Where a study's figures come from: package versions and hardware where the cells ran, models and
their fingerprints, adapters, data hashes, time per cell; and their report tables."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from summeval.report.document import Table
from summeval.study.inputs import adapter_fingerprint, sha256_json, versions
from summeval.study.plan import StudyConfig
from summeval.training.adapters import adapter_rank


def provenance(config: StudyConfig, records: Mapping[str, Any], inputs: Any, timings: Mapping) -> dict:
    environments = [r.get("environment") or {} for r in records.values()]
    return {
        "study": {
            "name": config.name,
            "config": config.origin or str(config.path),
            "seed": config.seed,
            "seeds": list(config.seeds or (config.seed,)),
        },
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
        "data_sources": data_sources(config),
        "cells": {
            cell_id: {
                "seconds": r["seconds"],
                "selection_seconds": r.get("selection_seconds", 0.0),
                "exemplar_sources": r.get("exemplar_sources"),
                "n": r["n"],
                "seconds_per_item": round(r["seconds"] / r["n"], 3) if r["n"] else None,
                "key": r["key"],
                "sampling": _sampling(r),
                "shared_prefix_fallbacks": list(r.get("shared_prefix_fallbacks") or []),
            }
            for cell_id, r in records.items()
        },
        "this_run": dict(timings),
    }


def _sampling(record: Mapping[str, Any]) -> str:
    """How a cell's samples were drawn: greedy, or sampled with or without a shared prompt encoding."""
    sharing = (record.get("settings") or {}).get("shared_prefix")
    if sharing is None:
        return "greedy, or sampled outside HF (no shared prompt)"
    if not sharing.get("enabled"):
        return "sampled, plain repeats (SUMMEVAL_SHARED_PREFIX=0)"
    fallbacks = record.get("shared_prefix_fallbacks") or []
    taken = f"; {len(fallbacks)} group(s) fell back to plain repeats" if fallbacks else ""
    return f"sampled, shared prompt encoding ({sharing.get('chunk_rows')} rows per encoding){taken}"


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
    from summeval.training.adapters import read_adapter_metadata

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
    sources = facts.get("data_sources") or {}
    data = Table(
        "Data",
        ["family", "source", "sha256 of the loaded docs"],
        [[k, sources.get(k, ""), v] for k, v in facts["data_sha256"].items()],
        text_columns=3,
    )
    run = facts["this_run"]
    cells = Table(
        "Time per cell",
        [
            "cell",
            "n",
            "evaluation s",
            "s per item",
            "exemplar selection s",
            "sampling",
            "cache key (first 12)",
        ],
        [
            [
                cell_id,
                str(c["n"]),
                f"{c['seconds']:.1f}",
                f"{c['seconds_per_item'] or 0:.2f}",
                f"{c['selection_seconds']:.1f}",
                c["sampling"],
                c["key"][:12],
            ]
            for cell_id, c in facts["cells"].items()
        ],
        [
            (
                f"This run: {run['wall_seconds']:.0f} s wall in all; model loads "
                f"{json.dumps(run.get('models', {}))} s; "
                f"adapter training {json.dumps(run.get('adapters', {}))} s. "
                if "wall_seconds" in run
                else "Written from the saved cells (--report-only): each cell's own time is above. "
            )
            + f"Seed {facts['study']['seed']} for the item sample, exemplar choice, training and sampling"
            + (
                f"; sampled cells also at seeds {', '.join(map(str, facts['study']['seeds'][1:]))}."
                if len(facts["study"].get("seeds", [])) > 1
                else "."
            ),
            *_exemplar_source_notes(facts["cells"]),
        ],
    )
    return [versions, machine, models, data, cells]


def _exemplar_source_notes(cells: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One sentence per cell with selected exemplars: how many came from each source."""
    notes = []
    for cell_id, cell in cells.items():
        sources = cell.get("exemplar_sources")
        if sources:
            counted = ", ".join(f"{count} {source}" for source, count in sorted(sources.items()))
            notes.append(
                f"Exemplars of {cell_id}: {counted} (model: a sampled rationale that both the strict reader "
                "and its own second stage read as the gold label; label_only: the gold conclusion alone; "
                "annotation: hand-written)."
            )
    return notes


def data_sources(config: StudyConfig) -> dict[str, str]:
    """Family → its data source in words (what the data are: BIG-bench's items, generated, a sample...)."""
    return {
        family.name: family.describe_source(config.metadata(family))
        for family in sorted(config.families(), key=lambda f: f.name)
    }


def _short(value: Any) -> str:
    return sha256_json(value)[:12] if value else ""
