"""What the task families share and no family owns: errors, numeric bounds, environment settings and the
cache root, atomic writes and owned output folders, strict YAML and data-file reading, the Hub check.

Nothing here imports a family (``summeval_tasks.tweetsumm``, ``summeval_tasks.sports``): an
import-linter contract in ``pyproject.toml`` keeps it so.
"""
