"""Active-prompt's own parts (``prompt_strategies.active_prompt``): a stated conclusion kept or added,
annotation files read (an object, a list, an exemplar file) with errors naming the file,
the seeded choice of the pool."""

from __future__ import annotations

import json
import os

import pytest
from support import SPORTS

from prompt_strategies import StrategyError
from prompt_strategies.active_prompt import (
    FILE_FORMAT,
    choose_pool,
    read_annotations,
    with_conclusion,
)
from summeval_tasks.sports.answers import IMPLAUSIBLE, PLAUSIBLE


def _doc(doc_id: str, statement: str, label: str) -> dict[str, str]:
    return {"id": doc_id, "statement": statement, "input": f"Is this plausible?\n{statement}", "label": label}


def test_with_conclusion_keeps_a_stated_conclusion_and_adds_a_missing_one():
    read = SPORTS.read_answer
    assert with_conclusion("He  is a defender.\nSo the answer is plausible.", PLAUSIBLE, read) == (
        "He is a defender. So the answer is plausible."
    )
    assert with_conclusion("He is a defender, so plausible.", PLAUSIBLE, read) == (
        "He is a defender, so plausible. So the answer is plausible."
    )
    assert with_conclusion("", IMPLAUSIBLE, read) == "So the answer is implausible."
    # any family's reading: here an answer is the last word
    last_word = lambda text: text.split()[-1].strip(".")  # noqa: E731
    assert with_conclusion("2 + 2. So the answer is 4.", "4", last_word) == "2 + 2. So the answer is 4."
    assert with_conclusion("2 + 2. So the answer is 5.", "4", last_word) == (
        "2 + 2. So the answer is 5. So the answer is 4."
    )


# ----------------------------------------------------------------------------- annotation files


def _write(tmp_path, data, name="annotations.json") -> os.PathLike:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_read_annotations_accepts_an_object_a_list_and_an_exemplar_file(tmp_path):
    as_object = {"Example-0001": "  Rationale one. So the answer is plausible. "}
    assert read_annotations(_write(tmp_path, as_object)) == {
        "example-0001": "Rationale one. So the answer is plausible."
    }
    as_list = [
        {"id": "example-0002", "rationale": "Two."},
        {"statement": "Lionel  Messi scored", "rationale": "Three."},
    ]
    assert read_annotations(_write(tmp_path, as_list)) == {
        "example-0002": "Two.",
        "lionel messi scored": "Three.",
    }
    exemplar_file = {"format": FILE_FORMAT, "exemplars": as_list}
    assert read_annotations(_write(tmp_path, exemplar_file)) == read_annotations(_write(tmp_path, as_list))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "is not valid UTF-8 JSON"),
        ("3", "must hold a JSON object or list"),
        ([{"rationale": "no key"}], "entry 0 has no id or statement"),
        (["just text"], "entry 0 has no id or statement"),
        ({"example-0001": ""}, "the rationale for 'example-0001' is empty or not text"),
        ([{"id": "x", "rationale": 3}], "the rationale for 'x' is empty or not text"),
    ],
)
def test_read_annotations_errors_name_the_file(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(StrategyError, match=message) as raised:
        read_annotations(path)
    assert str(path) in str(raised.value)


def test_read_annotations_missing_or_binary_file(tmp_path):
    with pytest.raises(StrategyError, match="does not exist"):
        read_annotations(tmp_path / "absent.json")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(StrategyError, match="not valid UTF-8 JSON"):
        read_annotations(binary)


# ----------------------------------------------------------------------------- pool


def test_choose_pool_is_a_seeded_subset_in_original_order():
    docs = [_doc(f"q{i:02d}", f"statement {i}", PLAUSIBLE) for i in range(20)]
    assert choose_pool(docs, None, 0) == docs
    assert choose_pool(docs, 20, 0) == docs
    assert choose_pool(docs, 25, 0) == docs
    subsets = {seed: choose_pool(docs, 5, seed) for seed in range(4)}
    for seed, subset in subsets.items():
        assert len(subset) == 5
        assert choose_pool(docs, 5, seed) == subset
        positions = [docs.index(doc) for doc in subset]
        assert positions == sorted(positions)
    assert len({tuple(d["id"] for d in subset) for subset in subsets.values()}) > 1
    with pytest.raises(StrategyError, match="pool size must be at least 1, got 0"):
        choose_pool(docs, 0, 0)
