"""summeval: the application: the ``summeval`` command, fine-tuning, compare, what we wrap in lm-eval.

Layers (checked by import-linter, see ``pyproject.toml``): ``summeval`` (this package) uses
``prompt_strategies`` (strategies, the plugin contracts, the lm-eval task class), which uses
``summeval_tasks`` (task families: data, answer reading, scoring). Never the other way round.

Importing this package is cheap on purpose: the start-up hook (``summeval._autoregister``) imports it
in every interpreter, so heavy imports live in the submodules.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lm_eval.tasks import TaskManager

__version__ = "0.2.0"

__all__ = ["task_manager", "__version__"]


def task_manager(**kwargs: Any) -> TaskManager:
    """Return an lm-eval ``TaskManager`` that knows summeval's tasks.

    Works whether or not auto-registration is on: our task folders are added to ``include_path``
    exactly once, before any paths you pass (so your own task folders can override ours).
    Keyword arguments go to ``TaskManager``.
    """
    from lm_eval.tasks import TaskManager

    from summeval._autoregister import with_summeval_path

    kwargs["include_path"] = with_summeval_path(kwargs.get("include_path"))
    return TaskManager(**kwargs)
