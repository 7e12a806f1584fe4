"""prompt_strategies: prompt strategies (answer-only, few-shot, chain-of-thought, self-consistency,
active-prompt) as pluggable lm-eval filters.

Empty for now: the pluggy hookspecs and the built-in strategies arrive with the
sports_understanding issue.
"""
