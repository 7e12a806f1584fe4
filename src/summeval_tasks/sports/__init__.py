"""The sports_understanding family: BIG-bench's "is this sports statement plausible?".

``statements`` (a ``Statement`` record, its doc, its text, the split rule), ``source`` (sources -> records
-> lm-eval docs), ``bigbench_file`` (BIG-bench's published task.json, fetched and checked), ``generated``
(statements built from summeval's own vocabulary), ``answers`` (the one pure reader of a verdict, and the
vote; its language tables in ``answer_languages``) and ``family`` (the ``TaskFamily`` and its hook).
Imports nothing of ``summeval_tasks.tweetsumm``. Importing this package loads none of them.
"""
