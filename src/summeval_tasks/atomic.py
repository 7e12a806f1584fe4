"""Write a folder or file under a temporary name and rename it when complete: never a half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from summeval_tasks.ownership import DISK_FULL_ERRNOS, disk_full


@contextmanager
def folder_written_atomically(
    target: Path, *, keep_existing: Callable[[Path], bool] | None = None, replace: bool = False
) -> Iterator[Path]:
    """Yield a private temporary folder beside ``target``; rename it to ``target`` when the block ends.

    If the block fails (or is interrupted) the temporary folder is removed; a write that runs out of
    space is a one-line ``DiskFull`` naming ``target``. If the rename fails because
    another process wrote ``target`` first and ``keep_existing(target)`` says that copy is good, ours
    is discarded instead. With ``replace``, an existing ``target`` is moved aside (to a hidden name)
    only once the new folder is complete, then removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        # mkdtemp makes the folder private (0700); the output gets what a plain mkdir would give it
        staging.chmod(0o777 & ~_umask())
        if replace and target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old)  # onto the empty folder mkdtemp made: a free, hidden name
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
            return
        try:
            os.replace(staging, target)
        except OSError:
            if keep_existing is None or not keep_existing(target):
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
            raise disk_full(err, target) from err
        raise


def write_bytes_atomically(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` through a private temporary file and a rename.

    The file gets the permissions a plain ``open()`` would give it (0666 less the umask), not
    ``mkstemp``'s private 0600.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(staging, 0o666 & ~_umask())
        os.replace(staging, target)
    except BaseException as err:
        Path(staging).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
            raise disk_full(err, target) from err
        raise
    return target


def write_text_atomically(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` as ``write_bytes_atomically`` does."""
    return write_bytes_atomically(target, text.encode("utf-8"))


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
