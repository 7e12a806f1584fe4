"""Reading local data files: one place that turns I/O and encoding failures into clear errors.

Only regular files are read, and only up to a size ceiling: a FIFO, a device (``/dev/zero``) or a
folder given as a file is refused by its ``stat`` (never opened, so a FIFO cannot block), and so is a
file too large to be one of ours.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DATA_FILE_LIMIT = 512 * 2**20
"""The largest data file read (TweetSumm's DialogStudio file is about 10 MB; BIG-bench's 0.2 MB)."""
CONFIG_FILE_LIMIT = 2**20
"""The largest study config or recipe read."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def path_kind(path: str | os.PathLike) -> str:
    """What ``path`` is, in words: ``"a file"``, ``"a folder"``, ``"a FIFO (named pipe)"``, ``"a
    character device"``..., or ``"missing"`` (by its ``stat``, never opened)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as err:
        return f"unreadable ({err.strerror})"
    return _kind(mode)


def _kind(mode: int) -> str:
    """A ``stat`` mode in words (``path_kind``, ``check_regular_file``)."""
    if stat.S_ISREG(mode):
        return "a file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular_file(path: Path, error: type[Exception], task: str, limit: int = DATA_FILE_LIMIT) -> int:
    """The size of ``path``, a regular file of at most ``limit`` bytes; else ``error`` starting ``task:``
    and naming the file and what it is."""
    try:
        info = os.stat(path)
    except FileNotFoundError as err:
        raise error(f"{task}: {path} does not exist") from err
    except OSError as err:
        raise error(f"{task}: cannot read {path}: {err.strerror}") from err
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{task}: {path} is {_kind(info.st_mode)}; give a regular file")
    if info.st_size > limit:
        raise error(
            f"{task}: {path} is {info.st_size:,} bytes, over the {limit:,}-byte limit for such a file; "
            "is it the right file?"
        )
    return info.st_size


def read_utf8_text(
    path: Path, error: type[Exception], task: str, expected: str, limit: int = DATA_FILE_LIMIT
) -> str:
    """The text of ``path``; a byte-order mark is accepted.

    A file that is not a regular file or is over ``limit`` bytes (``check_regular_file``), unreadable,
    empty or not UTF-8 raises ``error`` with a message that starts with ``task:``, names the file and
    asks for UTF-8 ``expected`` (e.g. ``JSON``).
    """
    check_regular_file(path, error, task, limit)
    text = decode_utf8(path, error, task, expected)
    if not text.strip():
        raise error(f"{task}: {path} is empty; expected UTF-8 {expected}")
    return text


def decode_utf8(path: Path, error: type[Exception], task: str, expected: str) -> str:
    """The bytes of ``path`` decoded as UTF-8 (a byte-order mark accepted), else ``error`` naming the
    file, the first bad byte and its line."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise error(f"{task}: cannot read {path}: {err.strerror}") from err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        message = (
            f"{task}: {path} is not UTF-8 text (byte {err.start}, line {line}); save it as UTF-8 {expected}"
        )
        raise error(message) from err
