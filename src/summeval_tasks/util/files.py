"""Nothing of the user's is lost: summeval writes only into folders it created, one process at a time,
and an interrupted or starved write ends in one line with nothing half-written that looks complete.

* ``folder_written_atomically`` / ``write_bytes_atomically`` / ``write_text_atomically``: a folder or
  file is written under a temporary name and renamed when complete: never a half-written output.
* ``check_owned_folder`` / ``mark_owned_folder``: an output folder (``summeval study --out``) is written
  only when it is new, empty, or holds the marker file summeval wrote there when it created it.
* ``exclusive_lock``: one writer per output (an ``--out`` folder, an adapter being trained). The second
  process **refuses** at once, naming the holder's pid; it does not wait (a study or a training run
  can last hours: waiting silently would look like a hang). The lock is ``fcntl.flock`` on a lock
  file, so the kernel releases it when the holder dies, even by SIGKILL.
* ``terminate_cleanly``: SIGTERM becomes an ordinary exit (code 143) that runs every cleanup
  (temporary folders removed, complete work kept), with one line saying so.
* ``disk_full``: a write that ran out of space as one line naming the file and what to do.
* ``refuse_links``: nothing is written through a symbolic link inside a folder summeval writes (a study's
  ``--out``, the cache): a planted link would send the write wherever it points. The writers above take
  that folder as ``within`` and refuse a link on the way, in one line naming it and its target (a file
  that is itself a link is replaced by the rename, never followed); lock files are opened without
  following a link at all.

Over 400 lines on purpose: the writers, the ownership marker, the locks and the link checks guard the
same folders against the same failures, and each leans on the others (a write takes its folder's link
check; the lock file lives inside the owned folder).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from summeval_tasks.util.errors import SummevalError

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class NotOurFolder(SummevalError):
    """An output folder holds files summeval did not write there; nothing is written into it."""


class OutputInUse(SummevalError):
    """Another summeval process holds the lock of this output."""


class DiskFull(SummevalError):
    """A write ran out of space (or hit the file-size limit); nothing half-written was left."""


class LinkInOwnedFolder(SummevalError):
    """A symbolic link where summeval would write inside a folder it writes; nothing went through it."""


# ----------------------------------------------------------------------------- content


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (read in 1 MiB blocks): what a cached file is trusted by."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- links


def link_message(link: Path, within: Path | None = None) -> str:
    try:
        points_to = os.readlink(link)
    except OSError:
        points_to = "?"
    inside = f" inside {within}" if within is not None else ""
    return (
        f"{link} is a symbolic link (to {points_to}); summeval writes nothing through a link{inside}, "
        "where it writes its own files: remove the link (or choose another folder) and run again"
    )


def refuse_links(target: str | os.PathLike, within: str | os.PathLike) -> None:
    """Raise ``LinkInOwnedFolder`` when ``target`` or a folder between ``within`` and it is a symbolic
    link. ``within`` itself may be one (the user chose it); what summeval makes inside it may not."""
    target, within = Path(target), Path(within)
    try:
        parts = target.relative_to(within).parts
    except ValueError:
        raise ValueError(f"{target} is not inside {within}") from None
    current = within
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise LinkInOwnedFolder(link_message(current, within))
        if not current.exists():
            return


def first_link(folder: Path) -> Path | None:
    """The first symbolic link found inside ``folder`` (walked without following links), or None."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs) + sorted(files):
            if os.path.islink(os.path.join(root, name)):
                return Path(root) / name
    return None


def _make_parents(target: Path, within: Path | None, *, target_too: bool = False) -> None:
    """``target``'s parent folders made, none of them through a link inside ``within``; with
    ``target_too``, ``target`` itself must not be a link either (a file that is one is replaced by the
    rename, never followed; a folder would be read through it)."""
    if within is not None:
        checked = target if target_too else target.parent
        if checked != within:
            refuse_links(checked, within)
    target.parent.mkdir(parents=True, exist_ok=True)


# ----------------------------------------------------------------------------- owned folders


def check_owned_folder(
    path: Path, marker: str, owner: dict[str, Any], what: str, *, adopt: Callable[[Path], bool] | None = None
) -> None:
    """Refuse ``path`` as an output folder unless it does not exist, is empty, holds ``marker`` written
    for the same ``owner`` (e.g. ``{"study": name}``), or ``adopt(path)`` says it is ours from before
    the marker existed; and refuse it when anything inside is a symbolic link (summeval makes none, and
    a planted one would send a write out of the folder: ``first_link``). Writes nothing."""
    if not path.is_dir():
        return
    link = first_link(path)
    if link is not None:
        raise LinkInOwnedFolder(f"{what} {path}: {link_message(link, path)}")
    marker_path = path / marker
    if marker_path.is_file():
        try:
            recorded = json.loads(marker_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            recorded = None
        if not isinstance(recorded, dict):
            raise NotOurFolder(
                f"{what} {path}: its marker {marker} is not summeval's (not a JSON object); "
                "choose a new or empty folder"
            )
        other = {k: v for k, v in owner.items() if recorded.get(k) != v}
        if other:
            key = next(iter(other))
            raise NotOurFolder(
                f"{what} {path} holds the outputs of {key} {recorded.get(key)!r}, not {owner[key]!r}; "
                "choose a new or empty folder for this one"
            )
        return
    entries = sorted(p.name for p in path.iterdir())
    if not entries or (adopt is not None and adopt(path)):
        return
    shown = ", ".join(entries[:4]) + (f" and {len(entries) - 4} more" if len(entries) > 4 else "")
    raise NotOurFolder(
        f"{what} {path} already holds files summeval did not write there ({shown}); choose a new or "
        f"empty folder (summeval writes only into folders it created, marked by {marker})"
    )


def mark_owned_folder(path: Path, marker: str, owner: dict[str, Any]) -> None:
    """Create ``path`` (if needed) and write its ``marker`` (after ``check_owned_folder`` passed)."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / marker).is_file():
        write_text_atomically(
            path / marker, json.dumps({"written_by": "summeval", **owner}) + "\n", within=path
        )


def check_output_folder(
    path: Path, marker: str, owner: dict[str, Any], what: str, *, adopt: Callable[[Path], bool] | None = None
) -> None:
    """``check_owned_folder``, and no other process writing into ``path`` now (its lock, ``MARKER.lock``,
    is free). Writes nothing: call it before the expensive part."""
    check_owned_folder(path, marker, owner, what, adopt=adopt)
    lock = path / f"{marker}.lock"
    holder = lock_holder(lock)
    if holder is not None:
        raise OutputInUse(in_use_message(f"{what} {path}", lock, holder, _OTHER_OUTPUT))


_OTHER_OUTPUT = "wait for it to finish, or choose another --out"


@contextmanager
def output_folder_held(path: Path, marker: str, owner: dict[str, Any], what: str) -> Iterator[None]:
    """Create (or reuse) ``path`` with its ``marker`` and hold its lock while the block runs (after
    ``check_output_folder`` passed); a write that runs out of space is one line (``DiskFull``)."""
    try:
        mark_owned_folder(path, marker, owner)
        with exclusive_lock(path / f"{marker}.lock", f"{what} {path}", _OTHER_OUTPUT):
            yield
    except OSError as err:
        if err.errno in DISK_FULL_ERRNOS:
            raise disk_full(err, path) from err
        raise


# ----------------------------------------------------------------------------- one writer at a time


def lock_holder(lock: Path) -> int | None:
    """The pid holding ``lock`` now (0 when it cannot be read), or None when nobody holds it."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(fd)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _pid_in(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def in_use_message(what: str, lock: Path, pid: int, advice: str) -> str:
    holder = f"pid {pid}" if pid else "a process that has not written its pid yet"
    return f"{what} is in use by another summeval process ({holder}, lock {lock}); {advice}"


@contextmanager
def exclusive_lock(lock: Path, what: str, advice: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` (created, holding our pid, removed at the end); if another
    process holds it, raise ``OutputInUse`` naming its pid and ``advice`` (see the module docstring)."""
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:  # a link planted as the lock file is not followed: the file behind it is never written
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as err:
            if err.errno == errno.ELOOP or lock.is_symlink():
                raise LinkInOwnedFolder(link_message(lock)) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise OutputInUse(in_use_message(what, lock, pid, advice)) from None
        try:  # the holder before us may have removed the file between our open and our flock
            current = os.stat(lock)
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as err:
            if err.errno in DISK_FULL_ERRNOS:
                raise disk_full(err, lock) from err
            raise
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


# ----------------------------------------------------------------------------- interrupts, full disks


def disk_full(err: BaseException, target: Path | str) -> DiskFull:
    """The one-line error for a write to ``target`` that ran out of space (``ran_out_of_space``)."""
    errno_ = getattr(err, "errno", None)
    reason = os.strerror(errno_) if errno_ else os.strerror(errno.ENOSPC)
    return DiskFull(
        f"writing {target} failed: {reason}; nothing half-written was kept. Free space on that disk "
        "(or write elsewhere) and run again: finished work is kept and resumed"
    )


def ran_out_of_space(err: BaseException, where: Path) -> bool:
    """Whether ``err`` is a write that ran out of space: an ``OSError`` of ``DISK_FULL_ERRNOS`` (itself or
    its cause), an error of a library that reports the system's message without the errno
    (safetensors' ``SafetensorError: ... No space left on device``), or a ``RuntimeError`` (torch's
    serialiser reports a short write so) while the disk of ``where`` has under 1 MiB free."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if not isinstance(seen, OSError) and any(os.strerror(e) in str(seen) for e in DISK_FULL_ERRNOS):
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(err, RuntimeError):
        existing = Path(where)
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            stat = os.statvfs(existing)
        except OSError:
            return False
        return stat.f_bavail * stat.f_frsize < 1 << 20
    return False


@contextmanager
def terminate_cleanly(what: str) -> Iterator[None]:
    """While the block runs, SIGTERM exits with code 143 through ``SystemExit`` (so every cleanup
    runs) after one line on stderr. Only in the main thread and when SIGTERM has its default action
    (an outer block, or an application's own handler, is left alone)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one line, however many signals follow
        print(
            f"summeval: {what} stopped by SIGTERM; finished work is kept, run the same command again "
            "to resume",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ----------------------------------------------------------------------------- atomic writes


@contextmanager
def folder_written_atomically(
    target: Path,
    *,
    keep_existing: Callable[[Path], bool] | None = None,
    replace: bool = False,
    within: Path | None = None,
) -> Iterator[Path]:
    """Yield a private temporary folder beside ``target``; rename it to ``target`` when the block ends.

    If the block fails (or is interrupted) the temporary folder is removed; a write that runs out of
    space is a one-line ``DiskFull`` naming ``target``. If the rename fails because
    another process wrote ``target`` first and ``keep_existing(target)`` says that copy is good, ours
    is discarded instead. With ``replace``, an existing ``target`` is moved aside (to a hidden name)
    only once the new folder is complete, then removed. ``within``: the folder summeval writes that
    holds ``target``; a link on the way (or ``target`` a link) is refused (``refuse_links``).
    """
    _make_parents(target, within, target_too=True)
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
        if isinstance(err, Exception) and ran_out_of_space(err, target.parent):
            raise disk_full(err, target) from err
        raise


def write_bytes_atomically(target: str | os.PathLike, data: bytes, *, within: Path | None = None) -> Path:
    """Write ``data`` to ``target`` through a private temporary file and a rename.

    The file gets the permissions a plain ``open()`` would give it (0666 less the umask), not
    ``mkstemp``'s private 0600. ``within``: as ``folder_written_atomically``'s.
    """
    target = Path(target)
    _make_parents(target, within)
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


def write_text_atomically(target: str | os.PathLike, text: str, *, within: Path | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``target`` as ``write_bytes_atomically`` does."""
    return write_bytes_atomically(target, text.encode("utf-8"), within=within)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
