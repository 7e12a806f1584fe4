"""The sports_understanding family: BIG-bench's "is this sports statement plausible?".

``source`` (sources -> ``Statement`` records -> lm-eval docs, the split rule), ``bigbench_file``
(BIG-bench's published task.json, fetched and checked), ``generated`` (statements built from summeval's
own vocabulary), ``answers`` (the one pure reader of a verdict, and the vote) and ``family`` (the
``TaskFamily`` and its hook). Imports nothing of ``summeval_tasks.tweetsumm``. Importing this package
loads none of them.
"""
