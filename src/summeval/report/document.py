"""One document model for every report: a title and a list of blocks (headings, paragraphs, bullet
lists, links, figures, tables, per-sample views), rendered to Markdown and to one self-contained HTML
page by the same two functions. A report builds its document once; nothing is listed twice by hand."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPORT_CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 12px; width: 100%; }
th, td { border: 1px solid #ccc; padding: 2px 5px; text-align: right; }
th.text, td.text { text-align: left; overflow-wrap: break-word; }
th { background: #eef2f7; }
tr.significant td { background: #fff4d6; font-weight: 600; }
.mark { color: #a05a00; }
figure { display: inline-block; margin: 0 1em 1em 0; max-width: 100%; }
img { max-width: 100%; border: 1px solid #ddd; }
.note { font-size: 12px; color: #555; }
details.samples { border: 1px solid #ccc; margin: 0.4em 0; padding: 0.3em 0.6em; }
details.samples > summary { cursor: pointer; font-weight: 600; }
.filter label { margin-right: 1em; font-size: 13px; }
.item { border-top: 1px solid #eee; padding: 0.3em 0; font-size: 12px; }
.item .head { margin: 0.2em 0; }
.item .k { margin: 0.2em 0 0; color: #555; font-size: 11px; }
.item pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; background: #f7f7f7;
  padding: 2px 4px; }
.status { padding: 0 4px; border: 1px solid #999; border-radius: 3px; }
.correct .status { background: #dff0d8; } .wrong .status { background: #f2dede; }
.invalid .status { background: #eee; }
.cut { padding: 0 4px; border: 1px dashed #a05a00; border-radius: 3px; color: #a05a00; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 0.6em; }
.sides > div { min-width: 0; }
"""
"""The style of every report page (the study's report.html, compare's results.html)."""

_REFERENCE_LINE = re.compile(r"^( {0,3})\[", re.MULTILINE)


def md(text: str, *, line_start: bool = True) -> str:
    """``text`` safe in Markdown: no raw HTML (``<`` becomes ``&lt;``), no link or image (``](`` is
    broken, as is a reference definition ``[x]: url`` at a line's start), so a study config's
    description or labels cannot plant a script or a ``javascript:`` link in ``report.md``. Text with
    no ``<``, no ``](`` and no line opening with ``[`` is unchanged (a ``<`` of summeval's own, as in
    "p < 0.05", is written ``&lt;`` and reads the same once rendered)."""
    text = text.replace("&", "&amp;") if "<" in text else text
    text = text.replace("<", "&lt;").replace("](", "]\\(")
    return _REFERENCE_LINE.sub(r"\1\\[", text) if line_start else text


def _cell(text: str) -> str:
    """``text`` in one Markdown table cell: on one line, its pipes escaped (no line of its own, so a
    reference definition cannot start there)."""
    return md(text.replace("\n", " "), line_start=False).replace("|", "\\|")


@dataclass
class Table:
    """A report table, rendered to Markdown and to HTML from the same cells."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    text_columns: int = 1
    """The leading columns that hold names (left-aligned); the rest hold numbers."""
    row_classes: list[str] = field(default_factory=list)
    """An HTML class per row (``""`` for none), e.g. ``significant``: the page marks such a row with a
    visible sign, not colour alone (``MARKS``)."""

    def markdown(self) -> str:
        lines = [f"### {md(self.title)}", "", "| " + " | ".join(_cell(h) for h in self.header) + " |"]
        lines.append(
            "|" + "|".join("---" if i < self.text_columns else "---:" for i in range(len(self.header))) + "|"
        )
        lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in self.rows]
        return "\n".join(lines + [""] + [md(n) for n in self.notes]) + "\n"

    def html(self) -> str:
        def align(i: int) -> str:
            return " class=text" if i < self.text_columns else ""

        head = "".join(f"<th{align(i)}>{_breakable(h)}</th>" for i, h in enumerate(self.header))
        classes = self.row_classes + [""] * (len(self.rows) - len(self.row_classes))
        body = "".join(
            (f'<tr class="{html.escape(kind)}">' if kind else "<tr>")
            + "".join(
                f"<td{align(i)}>{_mark(kind) if i == 0 else ''}{_breakable(cell)}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
            for row, kind in zip(self.rows, classes, strict=True)
        )
        notes = "".join(f"<p class=note>{html.escape(n)}</p>" for n in self.notes)
        legend = "".join(
            f"<p class=note>{html.escape(MARKS[k][0])} {html.escape(MARKS[k][1])}</p>"
            for k in dict.fromkeys(classes)
            if k in MARKS
        )
        return (
            f"<h3>{html.escape(self.title)}</h3><div class=wide><table><tr>{head}</tr>{body}</table></div>"
            f"{legend}{notes}"
        )


MARKS = {
    "significant": ("\u2605", "marks a row significant after the study's correction (named in its table).")
}
"""Row classes the page marks with a sign in the first cell (and its meaning, printed under the table)."""


def _breakable(text: str) -> str:
    """Escaped, with a line-break opportunity after each ``_``, ``/`` and ``-`` of a long name
    (``<wbr>``), so a wide table wraps names there rather than overflowing or splitting numbers."""
    return re.sub(r"(?<=[_/-])(?=\w)", "<wbr>", html.escape(text)) if len(text) > 12 else html.escape(text)


def _mark(kind: str) -> str:
    return (
        f'<span class=mark title="{html.escape(MARKS[kind][1])}">{MARKS[kind][0]}</span> '
        if kind in MARKS
        else ""
    )


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str
    strong: bool = False


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Links:
    """A bullet list of links: ``(label, href)``, the href relative to the report's folder."""

    items: list[tuple[str, str]]


@dataclass
class Figures:
    """Images: ``(caption, path)``; linked from the Markdown, embedded in the HTML page."""

    items: list[tuple[str, Path]]


@dataclass
class SampleItem:
    """One item of a cell as the per-sample view shows it. ``status``: ``correct``, ``wrong``,
    ``invalid`` (no answer read) or ``scored`` (free text, no right or wrong)."""

    id: str
    prompt: str
    target: str
    output: str
    answer: str
    scores: dict[str, str]
    status: str
    truncated: float | None = None
    """The share of its outputs cut by ``max_gen_toks`` (None: not known); marked when above 0."""


STATUSES = ("correct", "wrong", "invalid", "scored")


@dataclass
class SampleView:
    """A cell's items (prompt, output, answer read, score), collapsible and filterable by status in the
    HTML page with no script and no file beside it; a link to ``href`` (the CSV) in Markdown. At most
    ``limit`` items are shown; prompts longer than ``prompt_chars`` show their end, the full text one
    click away in the same element."""

    title: str
    href: str
    items: list[SampleItem]
    limit: int = 200
    prompt_chars: int = 600

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for item in self.items:
            counts[item.status] = counts.get(item.status, 0) + 1
        return {k: v for k, v in counts.items() if v}

    def markdown(self) -> str:
        if not self.href:  # no CSV holds these items: name them
            ids = _id_list([item.id for item in self.items])
            return f"- {md(self.title)}" + (f": {ids}" if ids else "") + "\n"
        counts = ", ".join(f"{v} {k}" for k, v in self.counts().items())
        return f"- [{md(self.title)}]({self.href}): {len(self.items)} items ({counts or 'none'})\n"

    def html(self, index: int) -> str:
        name = f"s{index}"
        counts = self.counts()
        filters = [("all", len(self.items)), *counts.items()]
        radios = "".join(
            f'<input type=radio name={name} id={name}-{k} class="f f-{k}"{" checked" if k == "all" else ""}>'
            f"<label for={name}-{k}>{k} ({v})</label>"
            for k, v in filters
        )
        shown = self.items[: self.limit]
        rows = "".join(self._item(item) for item in shown)
        cut = (
            f"<p class=note>The first {len(shown)} of {len(self.items)} items are shown"
            + (f"; all are in {html.escape(self.href)}.</p>" if self.href else ".</p>")
            if len(shown) < len(self.items)
            else ""
        )
        summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no items"
        return (
            f"<details class=samples><summary>{html.escape(self.title)}: {len(self.items)} items "
            f"({html.escape(summary)})</summary><div class=filter>{radios}<div class=items>{rows}</div></div>"
            f"{cut}</details>"
        )

    def _item(self, item: SampleItem) -> str:
        prompt = _prompt_html(item.prompt, self.prompt_chars)
        scores = ", ".join(f"{k} {v}" for k, v in item.scores.items())
        status = item.status if item.status in STATUSES else "scored"
        cut = ""
        if item.truncated:
            share = "" if item.truncated == 1 else f"{item.truncated:.0%} of its outputs "
            cut = f" <span class=cut>{share}cut at max_gen_toks</span>"
        return (
            f'<div class="item {status}"><p class=head><b>{html.escape(item.id)}</b> '
            f"<span class=status>{status}</span>{cut} {html.escape(scores)}</p>"
            f"<p class=k>prompt</p>{prompt}<p class=k>output</p><pre>{html.escape(item.output)}</pre>"
            f"<p class=k>answer read</p><pre>{html.escape(item.answer)}</pre>"
            f"<p class=k>target</p><pre>{html.escape(item.target)}</pre></div>"
        )


def _id_list(ids: Sequence[str], shown: int = 20) -> str:
    """The first ``shown`` item ids for Markdown, and how many more: ``a, b and 3 more``."""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(md(i, line_start=False) for i in ids[:shown]) + more


def _prompt_html(prompt: str, chars: int) -> str:
    """A prompt as ``<pre>``; one longer than ``chars`` shows its end, the full text one click away."""
    if len(prompt) <= chars:
        return f"<pre>{html.escape(prompt)}</pre>"
    return (
        f"<details><summary>\u2026 {len(prompt)} characters; the end:</summary>"
        f"<pre>{html.escape(prompt)}</pre></details><pre>\u2026{html.escape(prompt[-chars:])}</pre>"
    )


@dataclass
class Side:
    """One cell's side of an item in :class:`ItemDiff`: its output, the answer read and its score."""

    output: str
    answer: str
    score: str


@dataclass
class PairedItem:
    """An item of a comparison: its input and reference, and A's and B's sides."""

    id: str
    prompt: str
    target: str
    a: Side
    b: Side


@dataclass
class ItemDiff:
    """A comparison item by item: groups of items (B right and A wrong, A right and B wrong; for ROUGE the
    largest differences), each item's input and reference above A's and B's outputs side by side. One
    collapsible element in the HTML page, no script; one line per group in Markdown (the item ids)."""

    title: str
    a: str
    b: str
    groups: list[tuple[str, list[PairedItem]]]
    limit: int = 50
    prompt_chars: int = 600

    def markdown(self) -> str:
        parts = []
        for name, items in self.groups:
            ids = _id_list([i.id for i in items])
            parts.append(f"{md(name, line_start=False)}: {len(items)}" + (f" ({ids})" if items else ""))
        return f"- {md(self.title)}: {'; '.join(parts)}\n"

    def html(self) -> str:
        counts = "; ".join(f"{name}: {len(items)}" for name, items in self.groups)
        body = []
        for name, items in self.groups:
            shown = items[: self.limit]
            body.append(f"<p class=k>{html.escape(name)} ({len(items)})</p>")
            body += [self._item(item) for item in shown]
            if len(shown) < len(items):
                body.append(f"<p class=note>The first {len(shown)} of {len(items)} are shown.</p>")
        return (
            f'<details class="samples diff"><summary>{html.escape(self.title)} '
            f"({html.escape(counts)})</summary>" + "".join(body) + "</details>"
        )

    def _item(self, item: PairedItem) -> str:
        def side(name: str, cell: str, shown: Side) -> str:
            return (
                f"<div><p class=k>{name}: {html.escape(cell)}, score {html.escape(shown.score)}</p>"
                f"<pre>{html.escape(shown.output)}</pre><p class=k>answer read</p>"
                f"<pre>{html.escape(shown.answer)}</pre></div>"
            )

        return (
            f'<div class="item pair"><p class=head><b>{html.escape(item.id)}</b></p><p class=k>prompt</p>'
            f"{_prompt_html(item.prompt, self.prompt_chars)}<p class=k>target</p>"
            f"<pre>{html.escape(item.target)}</pre><div class=sides>"
            f"{side('A', self.a, item.a)}{side('B', self.b, item.b)}</div></div>"
        )


Block = Heading | Paragraph | Bullets | Links | Figures | Table | SampleView | ItemDiff


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block | None) -> Document:
        self.blocks += [b for b in blocks if b is not None]
        return self


def to_markdown(document: Document, folder: Path) -> str:
    """Markdown; figure paths relative to ``folder`` (where the Markdown file is written)."""
    parts = [f"# {md(document.title)}", ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts += [f"{'#' * block.level} {md(block.text)}", ""]
        elif isinstance(block, Paragraph):
            if block.text:
                parts += [f"**{md(block.text)}**" if block.strong else md(block.text), ""]
        elif isinstance(block, Bullets):
            parts += [f"- {md(item)}" for item in block.items] + [""]
        elif isinstance(block, Links):
            parts += [f"- [{md(label)}]({href})" for label, href in block.items] + [""]
        elif isinstance(block, Figures):
            parts += [
                f"![{md(caption)}]({path.relative_to(folder).as_posix()})\n" for caption, path in block.items
            ]
        else:
            parts.append(block.markdown())
    return "\n".join(parts)


def to_html(document: Document, css: str = "") -> str:
    """One self-contained HTML page (images embedded as data URLs)."""
    body = [f"<h1>{html.escape(document.title)}</h1>"]
    views = 0
    for block in document.blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            text = html.escape(block.text)
            body.append(f"<p><strong>{text}</strong></p>" if block.strong else f"<p>{text}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Links):
            body.append(
                "<ul>"
                + "".join(
                    f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
                    for label, href in block.items
                )
                + "</ul>"
            )
        elif isinstance(block, Figures):
            body.append("".join(_figure(caption, path) for caption, path in block.items))
        elif isinstance(block, SampleView):
            views += 1
            body.append(block.html(views))
        else:
            body.append(block.html())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(document.title)}</title><style>{css}{_filter_css()}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _figure(caption: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _filter_css() -> str:
    """The per-sample filter, in CSS only: a checked status radio hides the items of other statuses."""
    return "".join(f".f-{k}:checked ~ .items .item:not(.{k}) {{ display: none; }}" for k in STATUSES)
