"""The answer reader against careful human readers, on two corpora of answers (``tests/data/``).

``sports_answers.jsonl`` holds real model outputs; ``sports_answers_other_families.jsonl`` holds answers
written in other model families' styles (markdown, JSON, option letters, hedges, self-correction,
negation, quotation, Unicode, French / Spanish / German / Italian). Each item of a corpus is one output
text with the verdict a careful human reader gives it (``plausible`` / ``implausible`` / ``none``),
labelled before the reader was run on it (see ``tests/data/README.md``). The reader must never flip a
verdict (read ``plausible`` where the human read ``implausible`` or back) and must agree with the human
on at least 97% of the items, on each corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from support import DATA  # tests/data/, beside the other shared fixtures

from summeval_tasks.sports.answers import IMPLAUSIBLE, INVALID, PLAUSIBLE, extract_answer

CORPUS = DATA / "sports_answers.jsonl"
OTHER_FAMILIES = DATA / "sports_answers_other_families.jsonl"
HUMAN = {"plausible": PLAUSIBLE, "implausible": IMPLAUSIBLE, "none": INVALID}
ORDER = (PLAUSIBLE, IMPLAUSIBLE, INVALID)


def _corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _confusion(items: list[dict]) -> tuple[Counter, str]:
    table = Counter((HUMAN[i["label"]], extract_answer(i["output"])) for i in items)
    width = max(map(len, ORDER)) + 2
    lines = ["human \\ reader".ljust(16) + "".join(o.rjust(width) for o in ORDER)]
    for human in ORDER:
        lines.append(human.ljust(16) + "".join(str(table[(human, read)]).rjust(width) for read in ORDER))
    return table, "\n".join(lines)


def test_the_corpus_is_large_and_covers_every_source():
    items = _corpus()
    assert len(items) >= 200 + 30
    assert {i["label"] for i in items} == set(HUMAN)
    sources = Counter(i["source"].split(":", 1)[0] for i in items)
    assert sources["ours"] >= 100 and sources["lm-eval"] >= 100 and sources["written"] >= 30
    tasks = {i["source"] for i in items}
    for strategy in ("answer_only", "fewshot", "cot", "cot_fewshot", "self_consistency", "active_prompt"):
        assert f"ours:sports_understanding_{strategy}" in tasks
    for variant in ("zeroshot", "fewshot", "cot_zeroshot", "cot_fewshot"):
        assert f"lm-eval:bbh_{variant}_sports_understanding" in tasks


def test_the_other_families_corpus_covers_every_style():
    items = _corpus(OTHER_FAMILIES)
    assert len(items) >= 250
    assert {i["label"] for i in items} == set(HUMAN)
    styles = Counter(i["source"] for i in items)
    assert len(styles) == 17 and min(styles.values()) >= 15
    for language in ("french", "spanish", "german", "italian"):
        assert styles[f"style:{language}"] >= 15


@pytest.mark.parametrize("path", [CORPUS, OTHER_FAMILIES], ids=lambda path: path.stem)
def test_the_reader_agrees_with_careful_human_readers(path, capsys):
    items = _corpus(path)
    table, printed = _confusion(items)
    with capsys.disabled():
        print(f"\nanswer reader vs human readers on {len(items)} outputs of {path.name}:\n{printed}")
    flipped = [
        i for i in items
        if {HUMAN[i["label"]], extract_answer(i["output"])} == {PLAUSIBLE, IMPLAUSIBLE}
    ]  # fmt: skip
    listed = "\n".join(f"{i['id']}: {i['output'][:120]!r}" for i in flipped)
    assert not flipped, f"flipped verdicts:\n{listed}"
    agreement = sum(table[(label, label)] for label in ORDER) / len(items)
    disagreements = [
        f"{i['id']} (human {i['label']}, reader {extract_answer(i['output'])}): {i['output'][:100]!r}"
        for i in items
        if HUMAN[i["label"]] != extract_answer(i["output"])
    ]
    assert agreement >= 0.97, f"agreement {agreement:.3f} < 0.97:\n" + "\n".join(disagreements)


@pytest.mark.parametrize("label", sorted(HUMAN))
def test_every_verdict_class_has_written_examples(label):
    written = [i for i in _corpus() if i["source"] == "written" and i["label"] == label]
    assert len(written) >= 5
