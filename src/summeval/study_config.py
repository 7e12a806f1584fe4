"""The study config, kept importable from its first home: it now lives in ``summeval.study.plan``."""

from summeval.study.plan import *  # noqa: F403
