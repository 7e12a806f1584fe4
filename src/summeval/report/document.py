"""One document model for every report: a title and a list of blocks (headings, paragraphs, bullet
lists, links, figures, tables), rendered to Markdown and to one self-contained HTML page by the same
two functions. A report builds its document once; nothing is listed twice by hand."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path


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


Block = Heading | Paragraph | Bullets | Links | Figures | Table


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block | None) -> Document:
        self.blocks += [b for b in blocks if b is not None]
        return self


def to_markdown(document: Document, folder: Path) -> str:
    """Markdown; figure paths relative to ``folder`` (where the Markdown file is written)."""
    parts = [f"# {document.title}", ""]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Paragraph):
            if block.text:
                parts += [f"**{block.text}**" if block.strong else block.text, ""]
        elif isinstance(block, Bullets):
            parts += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, Links):
            parts += [f"- [{label}]({href})" for label, href in block.items] + [""]
        elif isinstance(block, Figures):
            parts += [
                f"![{caption}]({path.relative_to(folder).as_posix()})\n" for caption, path in block.items
            ]
        else:
            parts.append(block.markdown())
    return "\n".join(parts)


def to_html(document: Document, css: str = "") -> str:
    """One self-contained HTML page (images embedded as data URLs)."""
    body = [f"<h1>{html.escape(document.title)}</h1>"]
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
        else:
            body.append(block.html())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(document.title)}</title><style>{css}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _figure(caption: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )
