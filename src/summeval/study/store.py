"""The cell store: a finished cell's folder ``OUT/cells/<model>/<task>/`` (``cell.json``, lm-eval's
``samples.jsonl``, ``samples.csv``), written under a temporary name then renamed, trusted only when the
sha256 of each file matches the one ``cell.json`` records."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from summeval.study.inputs import file_sha256, sha256_json
from summeval.study.keys import all_cells
from summeval.study.plan import Cell, StudyConfig
from summeval_tasks.util.files import folder_written_atomically

CELL_FILE = "cell.json"


SAMPLES_FILE = "samples.jsonl"


CSV_FILE = "samples.csv"


def cell_dir(out: Path, cell: Cell) -> Path:
    return out / "cells" / cell.model / cell.folder


INTEGRITY = "integrity"
"""The field of ``cell.json`` holding the sha256 of its other fields and of each file beside it."""


def _record_digest(record: Mapping[str, Any]) -> str:
    return sha256_json({k: v for k, v in record.items() if k != INTEGRITY})


def cell_problem(out: Path, cell: Cell) -> str | None:
    """Why the saved cell cannot be trusted (``cell.json`` truncated or malformed, a file deleted, or
    anything changed since it was written: each file's sha256 is recorded in ``cell.json``), or None
    when it is intact. A cell never saved is ``"not run"``."""
    folder = cell_dir(out, cell)
    path = folder / CELL_FILE
    if not path.is_file():
        return "not run" if not folder.exists() else f"{CELL_FILE} is missing"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return f"{CELL_FILE} is truncated or not valid JSON"
    if not isinstance(record, dict):
        return f"{CELL_FILE} holds a JSON {type(record).__name__}, not a cell record"
    if not isinstance(record.get(INTEGRITY), dict):
        return f"{CELL_FILE} holds no integrity record"
    recorded = record[INTEGRITY]
    if recorded.get(CELL_FILE) != _record_digest(record):
        return f"{CELL_FILE} was changed after it was written (its scores or settings)"
    for name in (CSV_FILE, SAMPLES_FILE):
        if not (folder / name).is_file():
            return f"{name} is missing"
        if file_sha256(folder / name) != recorded.get(name):
            return f"{name} was changed after it was written"
    return None


def read_cell(out: Path, cell: Cell) -> dict[str, Any] | None:
    """The saved record of ``cell``, or None when it was never finished or is not intact
    (``cell_problem``)."""
    if cell_problem(out, cell) is not None:
        return None
    return json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))


def read_cell_samples(out: Path, cell: Cell, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """lm-eval's logged samples of a finished cell under the filter its record reports (its one scored
    answer per item), as logged (``sample_rows`` puts them in doc order)."""
    lines = (cell_dir(out, cell) / SAMPLES_FILE).read_text(encoding="utf-8").splitlines()
    samples = [json.loads(line) for line in lines if line.strip()]
    return [s for s in samples if s.get("filter") == record["filter"]]


def cell_states(config: StudyConfig, out: Path, keys: Mapping[str, str | None] | None) -> dict[str, str]:
    """Each cell's state: ``"current"`` (intact, saved with the settings ``keys`` give now, or any
    intact cell without ``keys``), ``"not run"``, or why it is stale (its files not intact, or
    ``"settings changed"``). A stale cell is rerun, and never reported."""
    states = {}
    for cell in all_cells(config):
        problem = cell_problem(out, cell)
        if problem is None and keys is not None:
            record = json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))
            if record.get("key") != keys.get(cell.id):
                problem = "settings changed"
        states[cell.id] = problem or "current"
    return states


def rerun_reason(out: Path, cell: Cell, key: str | None) -> str | None:
    """Why ``cell`` runs again (``"not run"``, its files not intact, ``"settings changed"``, or a
    shared-prefix fallback taken when it last ran: some of its samples came from the plain path, which
    differs from the shared one at one seed), or None when its saved record can be reused as it is."""
    problem = cell_problem(out, cell)
    if problem is not None:
        return problem
    record = json.loads((cell_dir(out, cell) / CELL_FILE).read_text(encoding="utf-8"))
    if key is None:
        return "its adapter is trained first"
    if record.get("key") != key:
        return "settings changed"
    fallbacks = record.get("shared_prefix_fallbacks") or []
    if fallbacks:
        return f"{len(fallbacks)} group(s) of its samples fell back to plain repeats when it last ran"
    return None


def cached(out: Path, cell: Cell, key: str | None) -> bool:
    return rerun_reason(out, cell, key) is None


def write_cell(
    out: Path, cell: Cell, record: Mapping[str, Any], samples: list[dict[str, Any]], csv_text: str
) -> None:
    """Save a finished cell: all three files appear together, or none does. ``cell.json`` records the
    sha256 of each file and of its own fields, so a cell changed or cut short later is seen as stale."""
    with folder_written_atomically(cell_dir(out, cell), replace=True, within=out) as staging:
        (staging / SAMPLES_FILE).write_text(
            "".join(json.dumps(s, default=str, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8"
        )
        (staging / CSV_FILE).write_text(csv_text, encoding="utf-8")
        saved = json.loads(json.dumps(dict(record), default=str))  # the record as it reads back
        saved[INTEGRITY] = {
            CELL_FILE: _record_digest(saved),
            CSV_FILE: file_sha256(staging / CSV_FILE),
            SAMPLES_FILE: file_sha256(staging / SAMPLES_FILE),
        }
        (staging / CELL_FILE).write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")


def clean_interrupted(out: Path) -> None:
    """Remove what a killed run left half-way: temporary cell folders (never complete cells)."""
    cells = out / "cells"
    if not cells.is_dir():
        return
    for model_dir in cells.iterdir():
        if model_dir.is_dir():
            for leftover in model_dir.iterdir():
                if leftover.name.startswith("."):
                    shutil.rmtree(leftover, ignore_errors=True)
