"""Kept importable from its first home: it now lives in ``summeval.training.adapters``.

This name is that same module object, so ``import summeval.adapter_io`` and attributes set on it
(monkeypatch) reach it."""

import sys

from summeval.training import adapters

sys.modules[__name__] = adapters
