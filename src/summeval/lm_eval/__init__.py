"""summeval.lm_eval: the only package that imports or wraps lm-eval.

* ``startup``: the start-up hook (``summeval_autoregister.pth``): our task folder on lm-eval's include
  path, the HFLM wrappers, one-line errors under ``lm_eval``; the lm-eval internals it needs, checked.
* ``task``: ``StrategyTask``, the lm-eval task that joins one family and one strategy; ``filters``: the
  family's answer reading and reduction as lm-eval filters; ``task_dir``: the generated task folder and
  filter registration.
* ``checks``: our ``--metadata`` values, checked before lm-eval loads a model.
* ``shared_prefix`` and ``adapter_check``: the HFLM wrappers (K samples share one prompt encoding; an
  adapter checked against its base before loading).
* ``runner``: build a model, evaluate one of our tasks, return its samples (``summeval compare`` and
  ``summeval study`` both evaluate through it); ``selection``: active-prompt's sampling.

Importing this package is cheap (the start-up hook imports it in every interpreter): lm-eval itself is
imported by the submodules, when they are used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def task_manager(**kwargs: Any) -> Any:
    """An lm-eval ``TaskManager`` that knows summeval's tasks (see ``summeval.task_manager``)."""
    from lm_eval.tasks import TaskManager

    from summeval.lm_eval.startup import with_summeval_path

    kwargs["include_path"] = with_summeval_path(kwargs.get("include_path"))
    return TaskManager(**kwargs)
