"""The TweetSumm family: dialogue summarization of customer-support conversations.

``dialogs`` (a ``Dialog`` record, its doc, the parser of one record in each format), ``source`` (raw
sources -> records -> lm-eval docs), ``cleaning`` (raw tweet text),
``prompts`` (the study's prompt formats), ``rouge`` (multi-reference ROUGE, the consensus of K
summaries) and ``family`` (the ``TaskFamily`` and its hook). Imports nothing of
``summeval_tasks.sports``. Importing this package loads none of them.
"""
