"""ROUGE for TweetSumm: pure functions of strings, plus lm-eval's ``process_results`` hook.

Scores are F-measures from ``rouge-score`` with Porter stemming. A prediction is scored against
every reference of its dialog and, for each ROUGE type separately, the best reference counts
(``RougeScorer.score_multi``). ROUGE-Lsum needs sentences on separate lines; we split prediction
and references with a small rule (``.``, ``!`` or ``?`` followed by space) instead of nltk's punkt,
which would need a download.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> str:
    """Put each sentence of ``text`` on its own line (what ROUGE-Lsum expects)."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


@functools.lru_cache(maxsize=1)
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_scores(prediction: str, references: Sequence[str]) -> dict[str, float]:
    """ROUGE-1/2/L/Lsum F-measures of ``prediction``, each against its best reference."""
    if isinstance(references, str):
        references = [references]
    if not references:
        raise ValueError("rouge_scores needs at least one reference summary")
    scores = _scorer().score_multi([split_sentences(r) for r in references], split_sentences(prediction))
    return {name: float(scores[name].fmeasure) for name in ROUGE_TYPES}


def process_results(doc: Mapping, results: Sequence[str]) -> dict[str, float]:
    """lm-eval ``process_results``: score the first generation against ``doc["references"]``."""
    return rouge_scores(results[0], doc["references"])
