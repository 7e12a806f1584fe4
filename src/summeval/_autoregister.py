"""Kept for ``summeval_autoregister.pth`` files of earlier installs: the start-up hook now lives in
``summeval.lm_eval.startup``."""

from summeval.lm_eval.startup import *  # noqa: F403
from summeval.lm_eval.startup import install  # noqa: F401
