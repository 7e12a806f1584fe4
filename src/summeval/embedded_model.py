"""Kept importable from its first home: it now lives in ``summeval.training.embedded_model``.

This name is that same module object, so ``import summeval.embedded_model`` and attributes set on it
(monkeypatch) reach it."""

import sys

from summeval.training import embedded_model

sys.modules[__name__] = embedded_model
