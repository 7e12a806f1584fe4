"""The built-in strategies' options and exemplars (``prompt_strategies``): options as a JSON string and their
errors naming the option; ``choose_exemplars`` (never the doc itself, a seeded walk of the pool, depends on
seed, doc and pool only); exemplar files checked by their family, errors naming the file and entry, found
beside the YAML then in the family folder; active-prompt's exemplar file."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

import summeval
from prompt_strategies import StrategyError, TaskContext
from prompt_strategies.exemplars import choose_exemplars, read_exemplar_file, write_exemplar_file
from prompt_strategies.registry import get_family, get_strategy, task_name
from summeval_tasks import task_yamls_dir
from summeval_tasks.sports.answers import LABELS

GROUP = "sports_understanding"
FAMILY = get_family(GROUP)
EXEMPLAR_DIR = task_yamls_dir() / GROUP
SHIPPED_EXEMPLARS = EXEMPLAR_DIR / "cot_fewshot_exemplars.json"
# active_prompt needs an exemplar file; the shipped chain-of-thought one has the right shape.
METADATA = {"sports_data": "sample", "active_prompt_exemplars": str(SHIPPED_EXEMPLARS)}


def _manager(**metadata):
    """summeval's TaskManager without lm-eval's own tasks (fast); ``metadata`` on top of METADATA."""
    return summeval.task_manager(include_defaults=False, metadata={**METADATA, **metadata})


def _load(name: str, **metadata):
    return _manager(**metadata).load([name])["tasks"][name]


def test_options_may_be_given_as_a_json_string():
    assert get_strategy("fewshot").options({"fewshot": '{"k": 2}'}).k == 2


# ----------------------------------------------------------------------------- option errors


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kk": 5}, r"fewshot: unknown option 'kk' \(options: k, max_gen_toks, seed\)"),
        ({"k": "5"}, r"fewshot: option 'k' must be int, got '5'"),
        ({"k": 2.5}, r"fewshot: option 'k' must be int, got 2.5"),
        ({"k": True}, r"fewshot: option 'k' must be int, got True"),
        ("[1, 2]", r"fewshot: options must be a JSON object, got \[1, 2\]"),
        ("{k: 5}", r"fewshot: options must be a JSON object, got '\{k: 5\}'"),
    ],
)
def test_bad_options_are_errors_naming_the_option(options, message):
    with pytest.raises(StrategyError, match=message):
        get_strategy("fewshot").options({"fewshot": options})


# ----------------------------------------------------------------------------- choose_exemplars

POOL = [
    {
        "id": f"train-{i:02d}",
        "statement": f"Player {i} scored a goal",
        "input": f"Q {i}",
        "label": "plausible",
    }
    for i in range(10)
]


SAME = FAMILY.same_item


def _start(seed: int, doc) -> int:
    """Where the walk over ``POOL`` begins: sha256(f"{seed}:{doc id}")[:8], big-endian, mod len(POOL)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{doc['id']}".encode()).digest()[:8], "big") % len(POOL)


def test_choose_exemplars_never_picks_the_same_id_or_statement():
    doc = {"id": "train-03", "statement": "Player 5 scored  a GOAL ", "input": "Q x", "label": "plausible"}
    chosen = choose_exemplars(doc, POOL, k=8, seed=1, same_item=SAME)
    assert {e["id"] for e in chosen} == {e["id"] for e in POOL} - {"train-03", "train-05"}
    same_input = {"id": "other", "input": "q 7"}
    assert "train-07" not in {
        e["id"] for e in choose_exemplars(same_input, POOL, k=9, seed=1, same_item=SAME)
    }


def test_choose_exemplars_walks_the_pool_from_a_seeded_start():
    doc = {"id": "validation-01", "statement": "Someone else", "input": "Q v"}
    for seed in range(20):
        start = _start(seed, doc)
        expected = [POOL[(start + i) % len(POOL)] for i in range(4)]
        assert choose_exemplars(doc, POOL, k=4, seed=seed, same_item=SAME) == expected


def test_choose_exemplars_skips_the_item_where_the_walk_meets_it():
    found = 0
    for seed in range(100):
        for index, doc in enumerate(POOL):
            start = _start(seed, doc)
            if start in (index, (index - 1) % len(POOL)):  # the item is the first or second step
                expected = [
                    POOL[(start + i) % len(POOL)] for i in range(3) if (start + i) % len(POOL) != index
                ]
                chosen = choose_exemplars(doc, POOL, k=2, seed=seed, same_item=SAME)
                assert chosen == expected[:2], (seed, doc["id"])
                found += 1
    assert found > 10


def test_choose_exemplars_depends_on_seed_doc_and_pool_only():
    doc = {"id": "validation-01", "statement": "Someone else", "input": "Q v"}
    chosen = choose_exemplars(doc, POOL, k=4, seed=7, same_item=SAME)
    others = [{"id": f"validation-{i:02d}", "statement": f"S {i}", "input": f"V {i}"} for i in range(5)]
    for other in others:  # other docs evaluated before it (--limit, order) change nothing
        choose_exemplars(other, POOL, k=4, seed=7, same_item=SAME)
    assert choose_exemplars(dict(doc), list(POOL), k=4, seed=7, same_item=SAME) == chosen
    assert choose_exemplars(doc, POOL, k=6, seed=7, same_item=SAME)[:4] == chosen
    assert choose_exemplars(doc, POOL, k=4, seed=8, same_item=SAME) != chosen
    assert choose_exemplars(doc, POOL, k=0, seed=7, same_item=SAME) == []


def test_choose_exemplars_refuses_a_pool_too_small():
    doc = {"id": "train-00", "statement": "Player 0 scored a goal"}
    with pytest.raises(
        StrategyError,
        match="10 exemplars requested for 'train-00' but the exemplar pool has only 9 other items",
    ):
        choose_exemplars(doc, POOL, k=10, seed=1, same_item=SAME)
    with pytest.raises(
        StrategyError, match="1 exemplars requested for 'train-00' but the exemplar pool is empty"
    ):
        choose_exemplars(doc, [], k=1, seed=1, same_item=SAME)


# ----------------------------------------------------------------------------- exemplar files


def _entry(**changes):
    entry = {
        "id": "x-1",
        "input": "Determine whether ...\nTom Brady threw a touchdown",
        "label": "plausible",
        "rationale": "Tom Brady is a football quarterback. So the answer is plausible.",
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid UTF-8 JSON"),
        ("[]", 'has no "exemplars" list'),
        ('{"description": "no exemplars"}', 'has no "exemplars" list'),
        ('{"exemplars": []}', 'has no "exemplars" list'),
        ('{"family": "sports_understanding", "exemplars": ["just text"]}', "entry 0 is not an object"),
        (json.dumps({"exemplars": [_entry()]}), 'names no family; add "family": "sports_understanding"'),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(), _entry(input=None, label="")]}),
            r"entry 1 has no input, label \(needs id, input, label\)",
        ),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(), _entry(rationale=None)]}),
            r"entry 1 has no rationale \(a sports_understanding exemplar needs one\)",
        ),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(rationale=" ")]}),
            "entry 0 has an empty rationale",
        ),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(label="maybe")]}),
            "label 'maybe' is not one of plausible, implausible",
        ),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(label="implausible")]}),
            r"entry 0: the rationale concludes 'plausible' but the label is 'implausible'; "
            r'end it with "So the answer is implausible\."',
        ),
        (
            json.dumps({"family": GROUP, "exemplars": [_entry(rationale="Tom Brady plays football.")]}),
            "the rationale concludes 'invalid' but the label is 'plausible'",
        ),
        (
            json.dumps({"family": "tweetsumm", "exemplars": [_entry()]}),
            r"holds tweetsumm exemplars; the task is a sports_understanding task \(select exemplars with "
            r"--task sports_understanding\)",
        ),
    ],
)
def test_bad_exemplar_files_are_errors_naming_the_file_and_entry(tmp_path, content, message):
    path = tmp_path / "exemplars.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StrategyError, match=message) as raised:
        read_exemplar_file(path, FAMILY)
    assert str(path) in str(raised.value)


def test_a_blank_exemplar_field_counts_as_missing(tmp_path):
    path = write_exemplar_file(tmp_path / "blank.json", {"family": GROUP, "exemplars": [_entry(input="   ")]})
    with pytest.raises(StrategyError, match=r"entry 0 has no input"):
        read_exemplar_file(path, FAMILY)


def test_exemplar_files_are_checked_by_their_family(tmp_path):
    tweetsumm = get_family("tweetsumm")
    entry = {"id": "d-1", "conversation": "Customer: hi\nAgent: hello", "summary": "Greetings."}
    path = write_exemplar_file(tmp_path / "t.json", {"family": "tweetsumm", "exemplars": [entry]})
    assert read_exemplar_file(path, tweetsumm) == [entry]  # no rationale needed: tweetsumm does not reason
    with pytest.raises(StrategyError, match="holds tweetsumm exemplars; the task is a sports_understanding"):
        read_exemplar_file(path, FAMILY)
    unnamed = write_exemplar_file(tmp_path / "unnamed.json", {"exemplars": [_entry()]})  # no "family"
    with pytest.raises(StrategyError, match='names no family; add "family": "tweetsumm"'):
        read_exemplar_file(unnamed, tweetsumm)
    with pytest.raises(StrategyError, match='names no family; add "family": "<family name>"'):
        read_exemplar_file(unnamed)
    bad = write_exemplar_file(tmp_path / "bad.json", {"family": "tweetsumm", "exemplars": [{"id": "d-2"}]})
    with pytest.raises(StrategyError, match=r"entry 0 has no conversation, summary \(needs id, conversation"):
        read_exemplar_file(bad, tweetsumm)


def test_a_missing_exemplar_file_is_an_error(tmp_path):
    with pytest.raises(StrategyError, match=r"exemplar file .*nowhere\.json does not exist"):
        read_exemplar_file(tmp_path / "nowhere.json", FAMILY)


def test_the_shipped_exemplar_file_is_valid():
    assert SHIPPED_EXEMPLARS == FAMILY.exemplar_dir() / FAMILY.cot_exemplars_file
    entries = read_exemplar_file(SHIPPED_EXEMPLARS, FAMILY)
    assert len(entries) >= get_strategy("cot_fewshot").options().k
    assert {e["label"] for e in entries} == set(LABELS)
    assert all(e["rationale"].endswith(f"So the answer is {e['label']}.") for e in entries)


def test_written_exemplar_files_read_back(tmp_path):
    data = {
        "family": GROUP,
        "exemplars": [_entry(), _entry(id="x-2", label="implausible", rationale="So implausible.")],
    }
    path = write_exemplar_file(tmp_path / "sub" / "chosen.json", data)
    assert read_exemplar_file(path, FAMILY) == data["exemplars"]


def test_relative_files_are_found_beside_the_yaml_then_in_the_family_folder_then_here(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    yaml_dir = tmp_path / "tasks"  # where a generated task YAML lives
    yaml_dir.mkdir()
    context = TaskContext(family=FAMILY, config_dir=yaml_dir)
    assert context.resolve("cot_fewshot_exemplars.json") == SHIPPED_EXEMPLARS
    (yaml_dir / "cot_fewshot_exemplars.json").write_text("{}")
    assert context.resolve("cot_fewshot_exemplars.json") == yaml_dir / "cot_fewshot_exemplars.json"
    (here / "mine.json").write_text("{}")
    assert context.resolve("mine.json") == here / "mine.json"
    assert context.resolve(str(tmp_path / "absolute.json")) == tmp_path / "absolute.json"
    with pytest.raises(StrategyError, match="not found; looked in") as raised:
        context.resolve("nowhere.json")
    for folder in (yaml_dir, EXEMPLAR_DIR, here):
        assert str(folder / "nowhere.json") in str(raised.value)


def test_cot_fewshot_uses_the_family_file_unless_told_otherwise(tmp_path):
    strategy = get_strategy("cot_fewshot")
    context = TaskContext(family=FAMILY)
    doc = {"id": "v", "statement": "s", "input": "i", "label": "plausible"}
    shipped = read_exemplar_file(SHIPPED_EXEMPLARS, FAMILY)
    assert strategy.exemplars(doc, context, strategy.options()) == shipped[:3]
    own = write_exemplar_file(
        tmp_path / "own.json", {"family": GROUP, "exemplars": [_entry(), _entry(id="x-2")]}
    )
    options = strategy.options({"cot_fewshot": {"exemplars_file": str(own), "k": 2}})
    assert [e["id"] for e in strategy.exemplars(doc, context, options)] == ["x-1", "x-2"]
    with pytest.raises(StrategyError, match=r"k=3 exemplars requested but .*own\.json has 2 usable for 'v'"):
        strategy.exemplars(doc, context, dataclasses.replace(options, k=3))
    with pytest.raises(StrategyError, match="no exemplar file given .* family 'tweetsumm' has none"):
        strategy.exemplars(doc, TaskContext(family=get_family("tweetsumm")), strategy.options())


def test_active_prompt_without_an_exemplar_file_says_how_to_make_one():
    strategy = get_strategy("active_prompt")
    options = strategy.options({})
    doc = {"id": "v", "statement": "s", "input": "i", "label": "plausible"}
    with pytest.raises(StrategyError, match="active_prompt: no exemplar file") as raised:
        strategy.exemplars(doc, TaskContext(family=FAMILY), options)
    assert "summeval active-prompt select --task sports_understanding" in str(raised.value)
    assert '"active_prompt_exemplars": "exemplars.json"' in str(raised.value)
    with pytest.raises(StrategyError, match="summeval active-prompt select"):
        _load(task_name("active_prompt", GROUP), active_prompt_exemplars="")


def test_active_prompt_reads_the_file_named_in_its_options(tmp_path):
    options = get_strategy("active_prompt").options({"active_prompt": {"exemplars_file": "a.json"}})
    assert dataclasses.asdict(options) == {"k": -1, "exemplars_file": "a.json", "max_gen_toks": None}
    missing = tmp_path / "missing.json"
    with pytest.raises(StrategyError, match="does not exist"):
        _load(task_name("active_prompt", GROUP), active_prompt_exemplars=str(missing))
