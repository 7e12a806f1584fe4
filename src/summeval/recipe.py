"""Kept importable from its first home: it now lives in ``summeval.training.recipe``.

This name is that same module object, so ``import summeval.recipe`` and attributes set on it
(monkeypatch) reach it."""

import sys

from summeval.training import recipe

sys.modules[__name__] = recipe
