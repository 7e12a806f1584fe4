"""The one place that reads summeval's environment switches and its cache root.

Every boolean switch is read by :func:`env_flag`: ``1 true yes on`` mean on, ``0 false no off`` mean
off, unset or empty means the default, and anything else is an error naming the variable.
"""

from __future__ import annotations

import os

from summeval_tasks.util.errors import SummevalError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
CACHE_ENV = "SUMMEVAL_CACHE"


class SettingError(SummevalError):
    """An environment variable holds a value summeval cannot read; the message names it."""


def env_flag(name: str, default: bool = False) -> bool:
    """The boolean environment switch ``name`` (see the module docstring)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise SettingError(
        f"{name}={os.environ[name]!r} is not a switch; use one of {', '.join(TRUE_WORDS)} "
        f"(on) or {', '.join(FALSE_WORDS)} (off)"
    )


def env_list(name: str) -> list[str]:
    """A comma-separated environment variable as a list of non-empty, stripped items."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def cache_root():
    """summeval's cache folder: ``$SUMMEVAL_CACHE``, else ``$XDG_CACHE_HOME/summeval``, else
    ``~/.cache/summeval`` (a ``pathlib.Path``).

    A relative path, a file, or a place that cannot be written is a ``SettingError`` naming the
    variable it came from (checked here, before anything is written under it)."""
    from pathlib import Path  # not at module level: the start-up hook imports this module

    if os.environ.get(CACHE_ENV):
        name, raw, root = CACHE_ENV, os.environ[CACHE_ENV], Path(os.environ[CACHE_ENV]).expanduser()
    elif os.environ.get("XDG_CACHE_HOME"):
        raw = os.environ["XDG_CACHE_HOME"]
        name, root = "XDG_CACHE_HOME", Path(raw).expanduser() / "summeval"
    else:
        name, raw, root = "HOME", os.environ.get("HOME", ""), Path.home() / ".cache" / "summeval"
    where = f"{name}={raw!r}"
    if not root.is_absolute():
        raise SettingError(f"{where} is a relative path; the cache root must be absolute, e.g. /tmp/summeval")
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SettingError(
            f"{where}: {existing} is a file, not a folder; point {name} at a folder for summeval's cache"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SettingError(
            f"{where}: {existing} is not writable; point {name} at a folder you can write "
            f"(summeval's cache: {root})"
        )
    try:  # a place that looks writable but holds no folders (under /proc, a full or read-only mount)
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SettingError(
            f"{where}: cannot create the cache folder {root} ({err.strerror}); point {name} at a folder "
            "you can write"
        ) from None
    return root


DTYPES = ("auto", "float16", "half", "bfloat16", "float32", "float", "float64", "double")
"""The model dtypes lm-eval's ``dtype=`` takes (``auto`` or a floating torch dtype's name)."""
_DEVICE = r"(cpu|auto|mps|meta|hpu|cuda|xpu|npu)(:[0-9]+)?"


def check_dtype(value: object, where: str = "dtype") -> str:
    """``value`` when it is one of ``DTYPES``, else a ``SettingError`` naming ``where``."""
    if not isinstance(value, str) or value not in DTYPES:
        raise SettingError(f"{where}: {value!r} is not a dtype; use one of {', '.join(DTYPES)}")
    return value


def check_device(value: object, where: str = "device") -> str:
    """``value`` when it names a torch device (``cpu``, ``cuda``, ``cuda:1``, ``mps``, ``auto``...), else a
    ``SettingError`` naming ``where``: a device torch does not know must not run on the CPU unremarked."""
    import re

    if not isinstance(value, str) or not re.fullmatch(_DEVICE, value):
        raise SettingError(f"{where}: {value!r} is not a device; use cpu, cuda, cuda:N, mps, xpu:N or auto")
    return value


def check_model_arg_string(model_args: str, where: str = "--model-args") -> str:
    """``model_args`` (``key=value,...``, as lm-eval takes them) with its ``dtype`` and ``device`` checked."""
    for item in model_args.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip() == "dtype":
            check_dtype(value.strip(), f"{where} dtype")
        elif sep and key.strip() == "device":
            check_device(value.strip(), f"{where} device")
    return model_args
