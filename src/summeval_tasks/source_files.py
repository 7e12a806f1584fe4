"""Reading local data files: one place that turns I/O and encoding failures into clear errors."""

from __future__ import annotations

from pathlib import Path


def read_utf8_text(path: Path, error: type[Exception], task: str, expected: str) -> str:
    """The text of ``path``; a byte-order mark is accepted.

    An unreadable, empty or non-UTF-8 file raises ``error`` with a message that starts with ``task:``, names
    the file and asks for UTF-8 ``expected`` (e.g. ``JSON``).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise error(f"{task}: cannot read {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        message = f"{task}: {path} is not UTF-8 text (byte {err.start}); save it as UTF-8 {expected}"
        raise error(message) from err
    if not text.strip():
        raise error(f"{task}: {path} is empty; expected UTF-8 {expected}")
    return text
