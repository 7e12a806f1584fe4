"""summeval: the application: the ``summeval`` command, fine-tuning, compare, what we wrap in lm-eval.

Layers (checked by import-linter, see ``pyproject.toml``): ``summeval`` (this package) uses
``prompt_strategies`` (strategies and their registry), which uses ``summeval_tasks`` (task families and
their contract: data, answer reading, scoring). Never the other way round. Only ``summeval.lm_eval``
imports or wraps lm-eval.

Importing this package is cheap on purpose: the start-up hook (``summeval.lm_eval.startup``) imports it
in every interpreter, so heavy imports live in the submodules.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.2.0"

__all__ = ["task_manager", "__version__"]


def task_manager(**kwargs: Any) -> Any:
    """Return an lm-eval ``TaskManager`` that knows summeval's tasks.

    Works whether or not auto-registration is on: our task folders are added to ``include_path``
    exactly once, before any paths you pass (so your own task folders can override ours).
    Keyword arguments go to ``TaskManager``.
    """
    from summeval.lm_eval import task_manager as make

    return make(**kwargs)
