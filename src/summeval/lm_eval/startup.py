"""Make lm-eval's ``TaskManager`` find summeval's tasks with no ``--include_path``.

Released lm-eval versions have no entry point for task packages: a ``TaskManager`` indexes its
own ``lm_eval/tasks`` folder plus ``include_path``. The installed ``summeval_autoregister.pth``
calls :func:`install` at interpreter start-up. It adds one import hook and imports nothing
heavy; only when ``lm_eval.tasks.manager`` is first imported does the hook wrap
``TaskManager.__init__`` so that ``include_path`` also holds our generated task folder (every
``<family>_<strategy>`` task; see ``task_dir``) when ``include_defaults`` is true,
i.e. wherever lm-eval's built-in tasks are indexed.

The same hook wraps ``HFLM._create_model`` of ``lm_eval.models.huggingface`` so that a
``peft=`` adapter is checked against ``pretrained=`` before loading (``adapter_check``), and
``HFLM.generate_until`` so that repeated samples of one prompt share its encoding
(``shared_prefix``; off with ``SUMMEVAL_SHARED_PREFIX=0``).

Turn it off with the environment variable ``SUMMEVAL_NO_AUTOREGISTER=1``; then use
``--include_path`` or :func:`summeval.task_manager`.
"""

from __future__ import annotations

import sys

# Only os and sys at module level: this module is imported at every interpreter start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TARGET_MODULE = "lm_eval.tasks.manager"
HFLM_MODULE = "lm_eval.models.huggingface"
DISABLE_ENV = "SUMMEVAL_NO_AUTOREGISTER"
_PATCHED_FLAG = "_summeval_autoregistered"


def disabled() -> bool:
    """True when the user asked for no auto-registration."""
    from summeval_tasks.util.settings import SettingError, env_flag

    try:
        return env_flag(DISABLE_ENV)
    except SettingError as err:  # a typo must not break lm-eval: say so, keep the default
        _say_once(f"summeval: {err}; auto-registration stays on")
        return False


_said: set[str] = set()


def _say_once(message: str) -> None:
    """Print ``message`` to stderr once per process."""
    if message not in _said:
        _said.add(message)
        print(message, file=sys.stderr)


def with_summeval_path(include_path: Any) -> list[str]:
    """Return ``include_path`` as a list with summeval's generated task folder in it, exactly once.

    Our folder goes first so that the user's own paths, indexed later, override it. It holds every
    ``<family>_<strategy>`` task, the aliases and the groups (``task_dir``).
    """
    from pathlib import Path

    ours = summeval_task_dir()
    if include_path is None:
        paths: list[Any] = []
    elif isinstance(include_path, (list, tuple)):
        paths = list(include_path)
    else:
        paths = [include_path]
    if any(Path(p).expanduser().resolve() == ours.resolve() for p in paths):
        return [str(p) for p in paths]
    return [str(ours), *(str(p) for p in paths)]


def summeval_task_dir():
    """The generated task folder, with every plugin's filters registered in lm-eval (YAML may name them).

    A broken plugin is named in one line and left out: the built-in tasks are still registered."""
    from prompt_strategies import registry
    from summeval.lm_eval import task_dir
    from summeval_tasks.util.files import LinkInOwnedFolder
    from summeval_tasks.util.settings import SettingError

    try:
        task_dir.register_lm_eval_filters()
        return task_dir.generated_task_dir()
    except (SettingError, LinkInOwnedFolder):
        raise  # the cache root is wrong: a plugin is not to blame, and built-ins would fail the same way
    except Exception as err:
        _say_once(f"summeval: plugin tasks not registered, built-in tasks only ({err})")
        with registry.builtins_only():
            task_dir.register_lm_eval_filters()
            return task_dir.generated_task_dir()


def patch_task_manager(module: Any) -> None:
    """Wrap ``module.TaskManager.__init__`` to add summeval's folder to ``include_path``."""
    import functools
    import inspect

    if not lm_eval_supports(module, "task registration"):
        return
    manager_cls = module.TaskManager
    if getattr(manager_cls, _PATCHED_FLAG, False):
        return
    original_init = manager_cls.__init__
    signature = inspect.signature(original_init)

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        if bound.arguments.get("include_defaults", True) and not disabled():
            try:
                bound.arguments["include_path"] = with_summeval_path(bound.arguments.get("include_path"))
            except Exception as err:  # a broken summeval install must not break lm-eval
                _REGISTRATION_FAILURES.append(err)
                print(f"summeval: tasks not registered ({err})", file=sys.stderr)
            _check_metadata(bound.arguments.get("metadata"))
        original_init(*bound.args, **bound.kwargs)

    manager_cls.__init__ = __init__
    setattr(manager_cls, _PATCHED_FLAG, True)


def _check_metadata(metadata: Any) -> None:
    """Our ``--metadata`` values, checked before lm-eval loads the model (``checks``).

    A bad value of ours raises its one-line error; a failure of the check itself never stops lm-eval."""
    from summeval_tasks.util.errors import SummevalError

    try:
        from summeval.lm_eval.checks import check_metadata

        check_metadata(metadata, lenient=True)
    except SummevalError:
        raise
    except Exception as err:
        _say_once(f"summeval: --metadata not checked ({type(err).__name__}: {err})")


def our_error(err: BaseException | None) -> BaseException | None:
    """The summeval error that ``err`` is or was raised from (its ``__cause__`` chain), or None.

    Only explicit causes: an error raised while one of ours was being handled is not ours."""
    from summeval_tasks.util.errors import SummevalError

    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, SummevalError):
            return err
        seen.add(id(err))
        err = err.__cause__
    return None


_REGISTRATION_FAILURES: list[BaseException] = []
"""Why summeval's task folder could not be added to a ``TaskManager`` in this process (a bad cache
root): lm-eval then runs without our tasks, and ``_unregistered_tasks`` explains its "Tasks not found"."""


def _unregistered_tasks(value: BaseException) -> str | None:
    """lm-eval's ``Tasks not found: ...`` naming one of our tasks while they could not be registered, as
    the one line that says why; None for anything else (lm-eval's own tasks keep lm-eval's message)."""
    text = str(value)
    if not _REGISTRATION_FAILURES or not isinstance(value, ValueError) or "Tasks not found" not in text:
        return None
    try:
        from prompt_strategies.registry import task_table

        ours = [name for name in task_table() if name in text.replace(",", " ").split()]
    except Exception:
        return None
    if not ours:
        return None
    return f"{', '.join(ours)}: summeval's tasks are not registered ({_REGISTRATION_FAILURES[-1]})"


def install_excepthook(module: Any = None) -> None:
    """Under the ``lm_eval`` command: an uncaught summeval error prints one line, not a traceback.

    Any other exception (lm-eval's own, a bug) goes to the previous hook unchanged."""
    previous = sys.excepthook
    if getattr(previous, _PATCHED_FLAG, False):
        return

    def excepthook(kind, value, traceback):
        ours = our_error(value) or _unregistered_tasks(value)
        if ours is None:
            return previous(kind, value, traceback)
        print(f"error: {' '.join(str(ours).split())}", file=sys.stderr)

    setattr(excepthook, _PATCHED_FLAG, True)
    sys.excepthook = excepthook


class _PatchingLoader:
    """Wraps the real loader of ``lm_eval.tasks.manager`` and patches the module once loaded."""

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def __getattr__(self, name: str) -> Any:  # get_code, get_source, ... of the real loader
        return getattr(self._wrapped, name)

    def exec_module(self, module) -> None:
        self._wrapped.exec_module(module)
        try:
            PATCHES[module.__name__](module)
        except Exception as err:  # never break lm_eval itself
            print(f"summeval: patching {module.__name__} skipped ({err})", file=sys.stderr)


SUPPORTED_LM_EVAL = ">=0.4.13,<0.5"
# What each patch wraps or calls in lm-eval, checked before patching (another lm-eval version may lack it).
INTERNALS = {
    "the adapter base check": ("HFLM", "HFLM._create_model"),
    "shared-prefix sampling": (
        "HFLM",
        "HFLM.generate_until",
        "HFLM._model_generate",
        "normalize_gen_kwargs",
        "tqdm",
    ),
    "task registration": ("TaskManager", "TaskManager.__init__"),
}


def missing_internals(module: Any, feature: str) -> list[str]:
    """The lm-eval names ``feature`` needs that ``module`` lacks."""
    missing = []
    for dotted in INTERNALS[feature]:
        owner: Any = module
        for part in dotted.split("."):
            owner = getattr(owner, part, None)
        if owner is None:
            missing.append(dotted)
    return missing


def lm_eval_supports(module: Any, feature: str) -> bool:
    """True if ``module`` has what ``feature`` wraps; else say once, in one line, that it is off and why."""
    missing = missing_internals(module, feature)
    if missing:
        try:
            from importlib.metadata import version

            found = version("lm_eval")
        except Exception:
            found = "unknown"
        _say_once(
            f"summeval: {feature} is off: lm-eval {found} has no {', '.join(missing)} in {module.__name__} "
            f"(summeval supports lm-eval {SUPPORTED_LM_EVAL})"
        )
    return not missing


def _patch_hflm(module: Any) -> None:
    """Both HFLM patches, each on its own so that one failing does not skip the other."""
    if lm_eval_supports(module, "the adapter base check"):
        try:
            from summeval.lm_eval.adapter_check import patch_hflm

            patch_hflm(module)
        except Exception as err:  # never break lm_eval itself
            _say_once(f"summeval: adapter base check not installed ({err})")
    if lm_eval_supports(module, "shared-prefix sampling"):
        try:
            from summeval.lm_eval.shared_prefix import patch_hflm_generate

            patch_hflm_generate(module)
        except Exception as err:
            _say_once(f"summeval: shared-prefix sampling not installed ({err})")


# The lm-eval modules we patch when they load, and how.
PATCHES = {
    TARGET_MODULE: patch_task_manager,
    HFLM_MODULE: _patch_hflm,
    "lm_eval._cli": install_excepthook,
}


class _LmEvalFinder:
    """Finds the modules in ``PATCHES`` through the normal finders, then patches them on load."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCHES:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchingLoader(spec.loader)
        return spec


def install() -> None:
    """Install the import hook (idempotent); patch at once if lm-eval is already imported."""
    if disabled():
        return
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    if not any(isinstance(f, _LmEvalFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LmEvalFinder())
