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
from collections.abc import Sequence

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


def pairwise_rouge_l(texts: Sequence[str]) -> list[list[float]]:
    """The symmetric matrix of ROUGE-L F-measures between every two of ``texts`` (1.0 on the diagonal)."""
    scorer = _rouge_l_scorer()
    n = len(texts)
    matrix = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i][j] = matrix[j][i] = float(scorer.score(texts[i], texts[j])["rougeL"].fmeasure)
    return matrix


def consensus_index(texts: Sequence[str]) -> int:
    """Minimum Bayes risk selection: the index of the text with the highest mean ROUGE-L against the
    others (no reference used). Ties go to the earliest; one text is its own consensus."""
    if not texts:
        raise ValueError("consensus_index needs at least one text")
    if len(texts) == 1:
        return 0
    matrix = pairwise_rouge_l(texts)
    means = [(sum(row) - 1.0) / (len(texts) - 1) for row in matrix]
    return max(range(len(texts)), key=lambda i: (means[i], -i))


def consensus_summary(texts: Sequence[str]) -> str:
    """The consensus of K sampled summaries (see ``consensus_index``)."""
    return texts[consensus_index(texts)]


def summary_disagreement(texts: Sequence[str]) -> float:
    """1 - mean pairwise ROUGE-L among K sampled summaries: 0 when all agree, near 1 when none overlap."""
    if len(texts) < 2:
        return 0.0
    matrix = pairwise_rouge_l(texts)
    n = len(texts)
    pairs = [matrix[i][j] for i in range(n) for j in range(i + 1, n)]
    return 1.0 - sum(pairs) / len(pairs)


@functools.lru_cache(maxsize=1)
def _rouge_l_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
