"""summeval_tasks: TweetSumm dialogue summarization as lm-evaluation-harness tasks.

Importing this package is cheap on purpose: it runs at every Python start-up through the
auto-registration hook (see ``_autoregister``), so heavy imports live in the submodules.
"""

from __future__ import annotations

# Runtime imports stay inside functions (even typing's ~8 ms): this module loads at every start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from lm_eval.tasks import TaskManager

__version__ = "0.1.0"

__all__ = ["task_yamls_dir", "task_manager", "__version__"]


def task_yamls_dir() -> Path:
    """Return the folder of summeval's lm-eval task YAMLs.

    A wheel ships them inside the package (``summeval_tasks/task_yamls``); an editable
    install reads the repository's top-level ``task_yamls/`` so edits take effect at once.
    """
    from pathlib import Path

    packaged = Path(__file__).resolve().parent / "task_yamls"
    if packaged.is_dir():
        return packaged
    in_repo = Path(__file__).resolve().parents[2] / "task_yamls"
    if in_repo.is_dir():
        return in_repo
    raise FileNotFoundError(
        f"summeval: no task_yamls folder beside {Path(__file__).parent} or in the repository; "
        "reinstall summeval (pip install -e . from a clone, or pip install summeval)."
    )


def task_manager(**kwargs: Any) -> TaskManager:
    """Return an lm-eval ``TaskManager`` that knows summeval's tasks.

    Works whether or not auto-registration is on: our folder is added to ``include_path``
    exactly once, before any paths you pass (so your own task folders can override ours).
    Keyword arguments go to ``TaskManager``.
    """
    from lm_eval.tasks import TaskManager

    from summeval_tasks._autoregister import with_summeval_path

    kwargs["include_path"] = with_summeval_path(kwargs.get("include_path"))
    return TaskManager(**kwargs)
