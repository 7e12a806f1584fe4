"""summeval_tasks: the task families (TweetSumm, BIG-bench sports_understanding) and what they share.

A family turns a raw source into records and lm-eval docs, reads an answer back from generated text,
scores it, reduces K sampled answers to one and measures their uncertainty. The bottom layer, laid out by
family; it imports nothing of summeval's other layers:

* ``contract``: the family contract itself (``TaskFamily``, ``FamilyError``, the ``hookimpl`` marker);
* ``util``: what the families share and no family owns (errors, bounds, settings, atomic writes and
  owned folders, YAML and data-file reading, the Hub check); it imports no family;
* ``tweetsumm``, ``sports``: one package per family (its sources and records, prompts, answer reading,
  scoring, and ``family.py``, which registers it through the hook); neither imports the other.

Importing this package is cheap on purpose (the start-up hook imports ``summeval`` in every
interpreter and may reach here); heavy imports live in the submodules.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["task_yamls_dir"]


def task_yamls_dir() -> Path:
    """Return the folder of summeval's lm-eval task templates and exemplar files.

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
