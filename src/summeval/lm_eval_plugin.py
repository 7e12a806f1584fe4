"""The entry point for lm-eval's proposed task plugins (lm-eval PR #4015, group ``lm_eval.tasks``).

Released lm-eval (0.4.13) does not read it; summeval's start-up hook (``summeval.lm_eval.startup``)
adds the same folder to the include path instead. When lm-eval reads installed packages' task folders,
this is ours.
"""

from __future__ import annotations


def task_paths() -> list[str]:
    """The folders of summeval's lm-eval tasks: the generated ``<family>_<strategy>`` tasks."""
    from summeval.lm_eval.startup import summeval_task_dir

    return [str(summeval_task_dir())]
