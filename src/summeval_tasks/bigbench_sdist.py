"""The real BIG-bench sports_understanding ``task.json``, offline: taken from the PyPI sdist ``bigbench``.

The PyPI package ``bigbench`` 1.0.0 is a source distribution (about 358 MB) that ships
``bigbench/benchmark_tasks/sports_understanding/task.json``, byte-identical to the BIG-bench repository's
file (1,000 statements). Nothing needs installing or importing: :func:`bigbench_task_json` runs
``pip download --no-deps --no-binary :all: bigbench==1.0.0`` once into a temporary folder, reads that one
member out of the archive (a regular file of bounded size, never extracted to a path the archive names),
checks its sha256, writes it atomically to ``$SUMMEVAL_CACHE/bigbench/sports_understanding/task.json`` and
removes the download. Later calls read the cached file (its hash checked again).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from summeval_tasks.errors import SummevalError

PACKAGE = "bigbench"
VERSION = "1.0.0"
MEMBER = f"{PACKAGE}-{VERSION}/bigbench/benchmark_tasks/sports_understanding/task.json"
SHA256 = "925617612d19ca02d7b13bfb263300cc13701dca8851151a77be8ce986feadab"
MAX_BYTES = 4 * 1024 * 1024  # the real file is 143 kB
PIP_TIMEOUT_S = 1800


class BigbenchSourceError(SummevalError):
    """The bigbench sdist could not be fetched, or it does not hold the expected task.json."""


def cached_path() -> Path:
    """Where the extracted task.json is kept."""
    from summeval_tasks.settings import cache_root

    return cache_root() / "bigbench" / "sports_understanding" / "task.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_member(archive: Path) -> bytes:
    """The bytes of the sports_understanding task.json inside the sdist ``archive``, hash-checked."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            try:
                info = tar.getmember(MEMBER)
            except KeyError:
                raise BigbenchSourceError(
                    f"sports: {archive} has no member {MEMBER}; expected the {PACKAGE}=={VERSION} sdist"
                ) from None
            if not info.isreg() or info.size > MAX_BYTES:
                raise BigbenchSourceError(
                    f"sports: {MEMBER} in {archive} is not a regular file of at most {MAX_BYTES} bytes"
                )
            handle = tar.extractfile(info)
            data = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError) as err:
        raise BigbenchSourceError(
            f"sports: cannot read {archive} as a .tar.gz ({err}); delete it and retry"
        ) from err
    digest = _sha256(data)
    if digest != SHA256:
        raise BigbenchSourceError(
            f"sports: {MEMBER} in {archive} has sha256 {digest}, not the BIG-bench file's {SHA256}"
        )
    return data


def _download_sdist(folder: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(folder),
        f"{PACKAGE}=={VERSION}",
    ]
    print(
        f"sports: fetching the BIG-bench task.json from PyPI ({PACKAGE}=={VERSION}, about 358 MB, once)",
        file=sys.stderr,
    )
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BigbenchSourceError(f"sports: `{' '.join(command[2:])}` did not run: {err}") from err
    archives = sorted(folder.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    if done.returncode != 0 or not archives:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise BigbenchSourceError(
            f"sports: `pip download {PACKAGE}=={VERSION}` failed ({last[-1] if last else 'no output'}); "
            "with no access to PyPI, download the sdist elsewhere and pass the path of its "
            "sports_understanding task.json as sports_data"
        )
    return archives[0]


def bigbench_task_json() -> Path:
    """The path of the verified BIG-bench sports_understanding task.json, fetched once (see module doc)."""
    from summeval_tasks.atomic import write_bytes_atomically

    target = cached_path()
    if target.is_file():
        data = target.read_bytes()[: MAX_BYTES + 1]
        if _sha256(data) == SHA256:
            return target
        print(
            f"sports: {target} does not match the BIG-bench file's sha256; fetching it again", file=sys.stderr
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BigbenchSourceError(f"sports: cannot create the cache folder {target.parent}: {err}") from err
    with tempfile.TemporaryDirectory(prefix=".bigbench-sdist.", dir=target.parent) as tmp:
        data = read_member(_download_sdist(Path(tmp)))
        write_bytes_atomically(target, data)
    return target
