"""The study config, kept importable from its first home: it now lives in ``summeval.study.plan`` (the
plan's dataclasses) and ``summeval.study.config`` (reading a config file)."""

from summeval.study.config import load_study  # noqa: F401
from summeval.study.plan import *  # noqa: F403
