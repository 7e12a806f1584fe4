"""The task-family contract, kept importable from its first home: it now lives in
``summeval_tasks.contract`` (the bottom layer, beside the families that implement it)."""

from summeval_tasks.contract import Doc, FamilyError, TaskFamily

__all__ = ["Doc", "FamilyError", "TaskFamily"]
