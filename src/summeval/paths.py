"""Output paths checked before the expensive part (model load, sampling, training): a bad one is a
one-line error naming it, never a failure after the work is done."""

from __future__ import annotations

import os
from pathlib import Path

from summeval_tasks.util.errors import SummevalError


class UsageError(SummevalError):
    """A command-line value summeval cannot use (an output path, a combination of options)."""


def _writable_parent(path: Path, what: str) -> None:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {path}: {parent} is a file, not a folder; choose a path inside a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {path}: the folder {parent} is not writable; choose a path you can write")
    import tempfile

    try:  # looks writable but holds no folders (under /proc, a read-only or full mount): ask it
        os.rmdir(tempfile.mkdtemp(prefix=".summeval-probe-", dir=parent))
    except OSError as err:
        raise UsageError(
            f"{what} {path}: cannot create anything in {parent} ({err.strerror}); choose a path in a folder "
            "you can write"
        ) from None


def output_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a file to (over)write: not a folder, inside a writable folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"{what} {path} is a folder; give a file path, e.g. {path / 'exemplars.json'}")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{what} {path} is not writable; choose another file")
    _writable_parent(path, what)
    return path


def output_folder(path: str | os.PathLike, what: str, *, new: bool = False) -> Path:
    """``path`` as a folder to write into: not a file, writable; with ``new``, it must not exist yet."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} is a file; give a folder path")
    if new and path.exists():
        raise UsageError(f"{what} {path} already exists; choose another path or remove it")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{what} {path} is not writable; choose a folder you can write")
        return path
    _writable_parent(path, what)
    return path


def input_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a file to read: it exists and is a file."""
    from summeval_tasks.util.source_files import path_kind

    path = Path(path).expanduser()
    kind = path_kind(path)
    if kind == "missing":
        raise UsageError(f"{what} {path} does not exist")
    if kind != "a file":
        raise UsageError(f"{what} {path} is {kind}, not a file; give a regular file")
    return path
