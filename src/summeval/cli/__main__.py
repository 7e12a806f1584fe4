"""``python -m summeval.cli``."""

import sys

from summeval.cli import main

sys.exit(main())
