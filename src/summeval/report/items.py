"""The report's item-level views, built from the cells' sample rows (``summeval.lm_eval.samples``): each
cell's items (``sample_view``), each comparison's items that changed with A and B side by side
(``item_diff``), and the items every cell of a family gets wrong (``wrong_everywhere``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from summeval.lm_eval.samples import SampleRow
from summeval.report.document import ItemDiff, PairedItem, SampleItem, SampleView, Side
from summeval.study.plan import StudyConfig
from summeval_tasks.contract import TaskFamily

LARGEST = 10
"""How many of a ROUGE comparison's items the diff view shows: those with the largest |B − A|."""


def sample_view(
    title: str,
    family: TaskFamily,
    rows: Sequence[SampleRow],
    href: str,
    truncated: Mapping[str, float | None] | None = None,
) -> SampleView:
    """A cell's per-sample view from its rows (``summeval.lm_eval.samples.sample_rows``): an item is
    invalid when no answer was read (the ``invalid`` metric, or an empty answer), else correct or wrong
    for families with fixed labels (the headline metric 1 or 0), else just scored. ``truncated``: item id
    → the share of its outputs cut by ``max_gen_toks`` (the cell record's), marked on the item."""
    truncated = truncated or {}
    items = []
    for row in rows:
        if row.scores.get("invalid") == 1 or not row.answer.strip():
            status = "invalid"
        elif family.choices:
            status = "correct" if row.scores.get(family.primary_metric) == 1 else "wrong"
        else:
            status = "scored"
        items.append(
            SampleItem(
                id=row.id,
                prompt=row.prompt,
                target=row.target,
                output=row.model_output,
                answer=row.answer,
                scores=row.score_texts(),
                status=status,
                truncated=truncated.get(row.id),
            )
        )
    return SampleView(title, href, items)


def item_diff(result: Mapping[str, Any], rows_by_cell: Mapping[str, Sequence[SampleRow]]) -> ItemDiff:
    """A comparison (``comparison_results``' entry) item by item, on the items both cells scored: for 0/1
    scores, B right and A wrong, then A right and B wrong; otherwise the ``LARGEST`` largest |B − A|,
    largest first (ties in A's item order)."""
    metric = result["metric"]
    b_rows = {row.id: row for row in rows_by_cell.get(result["b"], ())}
    pairs = [(row, b_rows[row.id]) for row in rows_by_cell.get(result["a"], ()) if row.id in b_rows]

    def paired(a: SampleRow, b: SampleRow) -> PairedItem:
        def side(row: SampleRow) -> Side:
            return Side(row.model_output, row.answer, row.score_texts()[metric])

        return PairedItem(a.id, a.prompt, a.target, side(a), side(b))

    values = [(a.scores[metric], b.scores[metric]) for a, b in pairs]
    if all(v in (0.0, 1.0) for pair in values for v in pair):
        groups = [
            (
                "B right, A wrong",
                [paired(a, b) for (a, b), (x, y) in zip(pairs, values, strict=True) if y > x],
            ),
            (
                "A right, B wrong",
                [paired(a, b) for (a, b), (x, y) in zip(pairs, values, strict=True) if x > y],
            ),
        ]
    else:
        differ = [i for i in range(len(pairs)) if values[i][1] != values[i][0]]
        largest = sorted(differ, key=lambda i: -abs(values[i][1] - values[i][0]))[:LARGEST]
        name = f"largest |B − A| in {metric} first ({len(differ)} of {len(pairs)} items differ)"
        groups = [(name, [paired(*pairs[i]) for i in largest])]
    return ItemDiff(f"{result['label']} ({metric}, {len(pairs)} items)", result["a"], result["b"], groups)


def wrong_everywhere(
    family: TaskFamily, config: StudyConfig, rows_by_cell: Mapping[str, Sequence[SampleRow]]
) -> SampleView | None:
    """The items every finished cell of ``family`` scored 0 on its headline metric, among the items all of
    them scored, with the answer each cell read; None for a family without fixed labels (no right or wrong)
    or with fewer than two finished cells."""
    if not family.choices:
        return None
    cells = [c.id for c in config.cells if c.family.name == family.name and c.id in rows_by_cell]
    if len(cells) < 2:
        return None
    by_cell = {cell: {row.id: row for row in rows_by_cell[cell]} for cell in cells}
    first = rows_by_cell[cells[0]]
    common = [row for row in first if all(row.id in by_cell[cell] for cell in cells)]
    metric = family.primary_metric
    items = [
        SampleItem(
            id=row.id,
            prompt=row.prompt,
            target=row.target,
            output="\n".join(f"{cell}: {by_cell[cell][row.id].answer or '(none read)'}" for cell in cells),
            answer="wrong in every cell",
            scores={metric: "0"},
            status="wrong",
        )
        for row in common
        if all(by_cell[cell][row.id].scores[metric] == 0 for cell in cells)
    ]
    title = (
        f"{family.name}: wrong in every one of its {len(cells)} cells ({len(items)} of the {len(common)} "
        "items they all scored)"
    )
    return SampleView(title, "", items)
