"""Kept importable from its first home: fine-tuning now lives in ``summeval.training``: ``finetune``
(the run), ``encoding`` (examples, collation, the loss) and ``checks`` (what is checked before weights
load). Each of their public names is re-exported here; patch them where they now live."""

from summeval.training.checks import *  # noqa: F403
from summeval.training.encoding import *  # noqa: F403
from summeval.training.finetune import *  # noqa: F403
