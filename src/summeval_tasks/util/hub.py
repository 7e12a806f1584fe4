"""Is the Hugging Face Hub reachable? Answered fast, so a data source can fail fast.

huggingface_hub and datasets retry a failed request for about 20 s; a data source asks these first and,
when the Hub is out of reach, names the sources that work offline instead.
"""

from __future__ import annotations

import os


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a true value (1, true, yes, on)."""
    from summeval_tasks.util.settings import env_flag

    return env_flag("HF_HUB_OFFLINE")


def hub_unreachable_reason(timeout: float = 5.0) -> str | None:
    """Why the Hub endpoint cannot be reached (one TCP connect), or None when it can.

    Behind a proxy a direct connection proves nothing, so the probe is skipped there (None).
    """
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None

    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return None
    except OSError as err:
        return f"{url.hostname}:{port} is unreachable: {err}"
