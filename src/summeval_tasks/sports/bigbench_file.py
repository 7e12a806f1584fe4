"""BIG-bench's sports_understanding ``task.json``: fetched from where BIG-bench publishes it, checked, cached.

BIG-bench publishes the file in its repository (``google/BIG-bench``,
``bigbench/benchmark_tasks/sports_understanding/task.json``: 1,000 statements, 14 of them repeated with
the same label). The PyPI sdist ``bigbench`` 1.0.0 that used to carry it is no longer served (only
``bigbench`` 0.0.1, without it), so :func:`bigbench_task_json` downloads the file once from
:data:`URL` (or ``$SUMMEVAL_BIGBENCH_URL``, a mirror), reads at most :data:`MAX_BYTES`, checks its sha256
against :data:`SHA256` and writes it atomically to
``$SUMMEVAL_CACHE/bigbench/sports_understanding/task.json``.
A cached file is trusted by its content (its hash checked at every use), never by its presence. When the
address cannot be reached the call fails at once, in one line that says how to pass the file by path.

The same bytes given by path are recognised by :func:`is_official` and treated exactly alike.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from summeval_tasks.util.errors import SummevalError

URL = (
    "https://raw.githubusercontent.com/google/BIG-bench/main/"
    "bigbench/benchmark_tasks/sports_understanding/task.json"
)
URL_ENV = "SUMMEVAL_BIGBENCH_URL"
SHA256 = "925617612d19ca02d7b13bfb263300cc13701dca8851151a77be8ce986feadab"
MAX_BYTES = 4 * 1024 * 1024  # the real file is 196,765 bytes
TIMEOUT_S = 15.0
BY_PATH_HINT = (
    "download the file where you have internet and pass its path as sports_data "
    '(--metadata \'{"sports_data": "PATH/task.json"}\', or data: {sports_understanding: PATH} in a '
    "study), or use 'generated' (statements built offline in BIG-bench's way)"
)


class BigbenchSourceError(SummevalError):
    """The BIG-bench task.json could not be fetched, or what was fetched is not that file."""


def source_url() -> str:
    """Where the file is fetched from: ``$SUMMEVAL_BIGBENCH_URL`` if set, else :data:`URL`."""
    return os.environ.get(URL_ENV, "").strip() or URL


def cached_path() -> Path:
    """Where the verified task.json is kept."""
    from summeval_tasks.util.settings import cache_root

    return cache_root() / "bigbench" / "sports_understanding" / "task.json"


def is_official(data: bytes) -> bool:
    """Whether ``data`` are the bytes of BIG-bench's published sports_understanding task.json."""
    return hashlib.sha256(data).hexdigest() == SHA256


def _fail(reason: str, url: str) -> BigbenchSourceError:
    return BigbenchSourceError(
        f"sports: cannot fetch the BIG-bench task.json from {url} ({reason}); {BY_PATH_HINT}"
    )


def _download(url: str) -> bytes:
    print(f"sports: fetching the BIG-bench task.json from {url} (0.2 MB, once)", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (http(s) or a mirror)
            data = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise _fail(f"HTTP {err.code} {err.reason}", url) from err
    except urllib.error.URLError as err:
        raise _fail(str(err.reason), url) from err
    except (OSError, ValueError) as err:  # a timeout, a reset connection, a malformed address
        raise _fail(f"{type(err).__name__}: {err}", url) from err
    if len(data) > MAX_BYTES:
        raise _fail(f"the answer is over {MAX_BYTES:,} bytes; the file is 0.2 MB", url)
    if not is_official(data):
        digest = hashlib.sha256(data).hexdigest()
        theirs = f"{SHA256[:16]}..."
        raise _fail(f"what it sent has sha256 {digest[:16]}..., not the BIG-bench file's {theirs}", url)
    return data


def bigbench_task_json() -> Path:
    """The path of the verified BIG-bench sports_understanding task.json, fetched once (see module doc)."""
    from summeval_tasks.util.files import refuse_links, write_bytes_atomically
    from summeval_tasks.util.settings import cache_root

    target = cached_path()
    refuse_links(target.parent, cache_root())  # the file itself, if a link, is replaced, never followed
    if target.is_file() and not target.is_symlink():
        with open(target, "rb") as cached:
            if is_official(cached.read(MAX_BYTES + 1)):
                return target
        print(f"sports: {target} is not the BIG-bench file (sha256 differs); fetching again", file=sys.stderr)
    data = _download(source_url())
    try:
        write_bytes_atomically(target, data, within=cache_root())
    except OSError as err:
        raise BigbenchSourceError(f"sports: cannot write the cached task.json {target}: {err}") from err
    return target
