"""Each sports_understanding source, the split rule, and the errors on bad input."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from pathlib import Path

import pytest

from summeval_tasks.sports import source, statements
from summeval_tasks.sports.family import SportsUnderstanding
from summeval_tasks.sports.source import (
    LABELS,
    SAMPLE_PATH,
    SOURCE_ENV,
    load_statements,
    parse_hub_records,
    parse_task_json,
    resolve_source,
)
from summeval_tasks.sports.statements import SPLITS, TASK_PREFIX, SportsDataError, Statement, split_of

PLAUSIBLE = {"plausible": 1, "implausible": 0}
IMPLAUSIBLE = {"plausible": 0, "implausible": 1}


def example(text, scores=None) -> dict:
    return {"input": text, "target_scores": PLAUSIBLE if scores is None else scores}


def statements_in(split: str, count: int) -> list[str]:
    """``count`` made-up statements that the hash rule puts in ``split``."""
    found = []
    n = 0
    while len(found) < count:
        text = f"Player {n} made a play"
        if split_of(text) == split:
            found.append(text)
        n += 1
    return found


def good_examples() -> list[dict]:
    """Six examples, both splits non-empty, alternating labels."""
    texts = statements_in("train", 4) + statements_in("validation", 2)
    return [example(t, PLAUSIBLE if i % 2 else IMPLAUSIBLE) for i, t in enumerate(texts)]


def task_file(path: Path, examples: list, **extra) -> Path:
    path.write_text(
        json.dumps({"name": "t", "task_prefix": TASK_PREFIX + "\n", **extra, "examples": examples})
    )
    return path


def hub_record(idx: int, text: str, label: str = "plausible", **extra) -> dict:
    record = {
        "idx": idx,
        "inputs": f"{TASK_PREFIX}\nStatement: {text}\nPlausible/implausible?",
        "targets": [label],
        "multiple_choice_targets": list(LABELS),
        "multiple_choice_scores": [int(label == c) for c in LABELS],
    }
    record.update(extra)
    return record


# ----------------------------------------------------------------------------- the sample


def test_sample_parses_with_both_labels_in_both_splits():
    parsed = load_statements("sample")
    assert set(parsed) == set(SPLITS)
    everything = [s for split in SPLITS for s in parsed[split]]
    assert len(everything) >= 72
    assert len({s.id for s in everything}) == len(everything)
    for split in SPLITS:
        assert {s.label for s in parsed[split]} == set(LABELS), split
    labels = [s.label for s in everything]
    assert labels.count("plausible") == labels.count("implausible")
    for s in everything:
        doc = s.to_doc()
        assert doc == {
            "id": s.id,
            "statement": s.statement,
            "input": f"{TASK_PREFIX}\n{s.statement}",
            "label": s.label,
        }
        assert s.statement == s.statement.strip() and not s.statement.endswith(".")


def test_sample_says_it_is_not_bigbench_data():
    data = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    assert "not BIG-bench data" in data["note"]
    for key in ("name", "description", "keywords", "task_prefix", "examples"):
        assert key in data


# ----------------------------------------------------------------------------- the split rule


def test_split_rule_is_the_documented_hash():
    for text in ("Stephen Curry hit a step-back jumper", "Serena Williams hit a slap shot"):
        digest = hashlib.sha256(text.lower().encode("utf-8")).hexdigest()
        assert split_of(text) == ("validation" if int(digest, 16) % 5 == 0 else "train")
    assert split_of("  Stephen   Curry HIT a step-back\njumper ") == split_of(
        "stephen curry hit a step-back jumper"
    )
    assert "sha256" in statements.__doc__ and "% 5 == 0" in statements.__doc__


def test_split_does_not_depend_on_file_order(tmp_path):
    data = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    random.Random(7).shuffle(data["examples"])
    (tmp_path / "task.json").write_text(json.dumps(data))

    def mapping(parsed):
        return {s.statement: (split, s.label) for split in SPLITS for s in parsed[split]}

    assert mapping(load_statements(str(tmp_path))) == mapping(load_statements("sample"))


def test_ids_are_positions_in_examples(tmp_path):
    parsed = parse_task_json(task_file(tmp_path / "t.json", good_examples()))
    ids = sorted(s.id for split in SPLITS for s in parsed[split])
    assert ids == [f"example-{i:04d}" for i in range(6)]


def test_empty_validation_split_explains_the_hash_rule(tmp_path):
    path = task_file(tmp_path / "three.json", [example(t) for t in statements_in("train", 3)])
    with pytest.raises(SportsDataError, match=r"three\.json.*validation split.*sha256.*% 5 == 0"):
        parse_task_json(path)


def test_empty_train_split_is_an_error(tmp_path):
    path = task_file(tmp_path / "one.json", [example(statements_in("validation", 1)[0])])
    with pytest.raises(SportsDataError, match=r"one\.json.*train split"):
        parse_task_json(path)


# ----------------------------------------------------------------------------- scaffolding


@pytest.mark.parametrize(
    "raw",
    [
        "Harry Kane scored a header",
        f"{TASK_PREFIX}\nHarry Kane scored a header",
        f"{TASK_PREFIX} Harry Kane scored a header",
        f"{TASK_PREFIX.lower()}\n\nStatement: Harry Kane scored a header\nPlausible/implausible?",
        "  Harry Kane\n scored a header  ",
    ],
)
def test_task_prefix_and_scaffolding_are_stripped(tmp_path, raw):
    examples = good_examples()
    examples[0] = example(raw)
    parsed = parse_task_json(task_file(tmp_path / "t.json", examples))
    first = next(s for split in SPLITS for s in parsed[split] if s.id == "example-0000")
    assert first.statement == "Harry Kane scored a header"


# ----------------------------------------------------------------------------- hub records


def test_hub_records_parse_with_split_ids():
    records = [
        hub_record(40, "Jude Bellingham volleyed the ball into the net", "plausible"),
        hub_record(7, "Jude Bellingham hit a sacrifice fly", "implausible"),
        {"inputs": "Statement: Jalen Hurts threw a screen pass", "targets": ["plausible"], "idx": 3},
    ]
    parsed = parse_hub_records(records, "validation", "hub")
    assert parsed == [
        Statement("validation-0000", "Jude Bellingham volleyed the ball into the net", "plausible"),
        Statement("validation-0001", "Jude Bellingham hit a sacrifice fly", "implausible"),
        Statement("validation-0002", "Jalen Hurts threw a screen pass", "plausible"),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"inputs": None}, r"record 1 of the train split \(idx 9\) .*has no 'inputs'"),
        ({"inputs": f"{TASK_PREFIX}\nStatement: \nPlausible/implausible?"}, r"record 1 .*empty 'inputs'"),
        ({"targets": ["maybe"]}, r"record 1 .*\('Bo Jackson ran a post route'\).*unknown label 'maybe'"),
        ({"targets": []}, r"record 1 .*'targets' is \[\]"),
        ({"targets": ["implausible"]}, r"record 1 .*'implausible' but .* marks \['plausible'\]"),
        ({"multiple_choice_scores": [1]}, r"record 1 .*not lists of one length"),
    ],
)
def test_bad_hub_records_name_the_record(changes, message):
    bad = hub_record(9, "Bo Jackson ran a post route")
    bad.update(changes)
    bad = {key: value for key, value in bad.items() if value is not None}
    records = [hub_record(8, "Bo Jackson hit a home run"), bad]
    with pytest.raises(SportsDataError, match=message) as err:
        parse_hub_records(records, "train", "tasksource/bigbench (sports_understanding)")
    assert "tasksource/bigbench" in str(err.value)


def test_download_hub_reads_both_splits(monkeypatch):
    import datasets

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(source, "hub_unreachable_reason", lambda timeout=5.0: None)
    fake = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([hub_record(0, "Bo Jackson hit a home run")]),
            "validation": datasets.Dataset.from_list(
                [hub_record(1, "Bo Jackson hit a jump shot", "implausible")]
            ),
        }
    )
    monkeypatch.setattr(datasets, "load_dataset", lambda repo, config: fake)
    parsed = load_statements("hub")
    assert parsed == {
        "train": [Statement("train-0000", "Bo Jackson hit a home run", "plausible")],
        "validation": [Statement("validation-0000", "Bo Jackson hit a jump shot", "implausible")],
    }


def test_hub_load_failure_names_other_sources(monkeypatch):
    import datasets

    def refuse(repo, config):
        raise ConnectionError("no route")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(source, "hub_unreachable_reason", lambda timeout=5.0: None)
    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(SportsDataError, match=r"ConnectionError: no route.*'sample'.*task\.json"):
        load_statements("hub")


def test_hub_offline_fails_fast_naming_other_sources(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(SportsDataError, match=r"HF_HUB_OFFLINE.*'sample'.*task\.json"):
        load_statements("hub")
    assert time.monotonic() - start < 3


def test_hub_unreachable_fails_fast(monkeypatch):
    # A real connection attempt to a closed local port.
    import huggingface_hub.constants as hub_constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setattr(hub_constants, "ENDPOINT", "http://127.0.0.1:9")
    start = time.monotonic()
    with pytest.raises(SportsDataError, match=r"tasksource/bigbench.*unreachable.*'sample'"):
        load_statements("hub")
    assert time.monotonic() - start < 3


# ----------------------------------------------------------------------------- bad task.json records


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("just text", r"example 3 .*is a str; expected an object"),
        ({"target_scores": PLAUSIBLE}, r"example 3 .*has no 'input'"),
        (example(""), r"example 3 .*empty 'input'"),
        (example(TASK_PREFIX + "\n  "), r"example 3 .*empty 'input'"),
        (example(5), r"example 3 .*'input' is a int"),
        (
            {"input": "Bo Jackson ran a post route"},
            r"example 3 \('Bo Jackson ran a post route'\).*no 'target_scores'",
        ),
        (example("Bo Jackson ran a post route", [1, 0]), r"example 3 .*'target_scores' is a list"),
        (
            example("Bo Jackson ran a post route", {"plausible": 1, "implausible": 1}),
            r"example 3 .*exactly one",
        ),
        (
            example("Bo Jackson ran a post route", {"plausible": 0, "implausible": 0}),
            r"example 3 .*exactly one",
        ),
        (
            example("Bo Jackson ran a post route", {"plausible": 1, "maybe": 0}),
            r"example 3 .*unknown label.*'maybe'",
        ),
        (example("Bo Jackson ran a post route", {"plausible": 2}), r"example 3 .*score 2; expected 0 or 1"),
    ],
)
def test_bad_examples_name_file_and_record(tmp_path, bad, message):
    examples = good_examples()
    examples.insert(3, bad)
    path = task_file(tmp_path / "bad_task.json", examples)
    with pytest.raises(SportsDataError, match=message) as err:
        parse_task_json(path)
    assert str(path) in str(err.value)


def test_snippet_of_a_long_input_is_shortened(tmp_path):
    examples = good_examples()
    examples.insert(3, {"input": "Bo Jackson " * 20})
    with pytest.raises(SportsDataError, match=r"example 3 \('Bo Jackson Bo Jackson .*\.\.\.'\)"):
        parse_task_json(task_file(tmp_path / "t.json", examples))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", r"holds a JSON list; expected a BIG-bench task\.json object"),
        ('{"name": "x"}', r"no 'examples' list"),
        ('{"examples": []}', r"no 'examples' list"),
        ('{"examples": [', r"is not valid JSON"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(SportsDataError, match=r"odd\.json.*" + message):
        parse_task_json(path)


def test_contradicting_repeat_is_an_error(tmp_path):
    examples = good_examples()
    examples.append(example(examples[0]["input"].upper(), PLAUSIBLE))  # example 0 is implausible
    with pytest.raises(SportsDataError, match=r"example 6 .*repeats example 0 .*contradicting label"):
        parse_task_json(task_file(tmp_path / "t.json", examples))


def test_same_label_repeat_is_refused_in_a_local_file_and_dropped_in_the_published_one(
    tmp_path, caplog, monkeypatch
):
    from summeval_tasks.sports import bigbench_file

    examples = good_examples()
    examples.append(example(" " + examples[1]["input"] + " ", examples[1]["target_scores"]))
    path = task_file(tmp_path / "t.json", examples)
    with pytest.raises(SportsDataError, match=r"example 6 .*repeats example 1"):  # a local file: refused
        parse_task_json(path)
    # The same bytes, were they BIG-bench's published file (recognised by sha256 however they arrive).
    monkeypatch.setattr(bigbench_file, "SHA256", hashlib.sha256(path.read_bytes()).hexdigest())
    with caplog.at_level(logging.WARNING, logger="summeval_tasks.sports.source"):
        parsed = parse_task_json(path)
    ids = {s.id for split in SPLITS for s in parsed[split]}
    assert "example-0001" in ids and "example-0006" not in ids and len(ids) == 6
    assert "example 6" in caplog.text and "repeats example 1" in caplog.text
    assert "BIG-bench's published task.json" in caplog.text and len(caplog.records) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="summeval_tasks.sports.source"):  # the same file again
        again = parse_task_json(path)
    assert again == parsed
    assert "repeated statement" not in caplog.text, "the same repeats warned twice in one process"


def test_non_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(
        json.dumps({"examples": [example("Thierry Henry scored")]})
        .replace("Henry", "Henr\u00e9")
        .encode("latin-1")
    )
    with pytest.raises(SportsDataError, match=r"latin\.json is not UTF-8"):
        parse_task_json(path)


def test_byte_order_mark_is_accepted(tmp_path):
    path = task_file(tmp_path / "t.json", good_examples())
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert sum(len(v) for v in parse_task_json(path).values()) == 6


# ----------------------------------------------------------------------------- choosing a source


def test_missing_path_names_the_sources(tmp_path):
    with pytest.raises(SportsDataError, match=r"nowhere\.json does not exist.*'hub'.*'sample'.*task\.json"):
        load_statements(str(tmp_path / "nowhere.json"))


def test_folder_without_task_json_is_an_error(tmp_path):
    with pytest.raises(SportsDataError, match=r"holds no task\.json"):
        load_statements(str(tmp_path))


def test_metadata_wins_over_env_var_which_wins_over_hub(monkeypatch, tmp_path):
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    assert resolve_source() == "hub"
    monkeypatch.setenv(SOURCE_ENV, str(tmp_path / "missing.json"))
    assert resolve_source() == str(tmp_path / "missing.json")
    assert resolve_source("sample") == "sample"
    family = SportsUnderstanding()
    assert len(family.load({"sports_data": "sample"})["validation"]) > 0
    with pytest.raises(SportsDataError, match=r"missing\.json does not exist"):
        family.load({})
    monkeypatch.setenv(SOURCE_ENV, "sample")
    assert len(family.load({})["train"]) > 0


def test_the_family_ignores_other_metadata():
    docs = SportsUnderstanding().load({"sports_data": "sample", "pretrained": "x", "tweetsumm_data": "hub"})
    assert set(docs) == set(SPLITS)
    for split in SPLITS:
        row = docs[split][0]
        assert list(row) == ["id", "statement", "input", "label"]
        assert row["input"] == f"{TASK_PREFIX}\n{row['statement']}" and row["label"] in LABELS


def test_describe_counts_splits_and_labels():
    parsed = load_statements("sample")
    text = SportsUnderstanding().describe(
        {split: [s.to_doc() for s in items] for split, items in parsed.items()}
    )
    for split in SPLITS:
        counts = {label: sum(s.label == label for s in parsed[split]) for label in LABELS}
        by_label = f"({counts['plausible']} plausible, {counts['implausible']} implausible)"
        assert f"{split}: {len(parsed[split])} {by_label}" in text


# ----------------------------------------------------------------------------- the family


def test_the_family_loads_the_docs_of_its_source(monkeypatch):
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    monkeypatch.delenv(SOURCE_ENV, raising=False)
    docs = family.load({family.data_key: "sample", "pretrained": "ignored"})
    parsed = load_statements("sample")
    assert set(docs) == set(SPLITS) == {family.eval_split, family.pool_split}
    for split in SPLITS:
        assert docs[split] == [s.to_doc() for s in parsed[split]]
    monkeypatch.setenv(SOURCE_ENV, "sample")
    assert family.load({}) == docs
    with pytest.raises(SportsDataError, match=r"nowhere\.json does not exist"):
        family.load({family.data_key: "nowhere.json"})


def test_the_family_renders_questions_and_answers_from_the_doc():
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    doc = Statement("x", "Bo Jackson hit a home run", "implausible").to_doc()
    assert family.question(doc) == f"Q: {TASK_PREFIX}\nBo Jackson hit a home run\nA:"
    assert family.direct_question(doc) == (
        f"Q: {TASK_PREFIX}\nBo Jackson hit a home run\nAnswer plausible or implausible.\nA:"
    )
    assert family.exemplar(doc) == family.question(doc) + " implausible"
    assert family.exemplar(doc, "Bo hits. So the answer is implausible.") == (
        family.question(doc) + " Bo hits. So the answer is implausible."
    )
    assert family.target_index(doc) == LABELS.index("implausible")
    assert family.score(doc, "implausible") == {"acc": 1.0, "invalid": 0.0}
    assert family.score(doc, "invalid") == {"acc": 0.0, "invalid": 1.0}


def test_the_family_knows_a_statement_under_another_id():
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    doc = Statement("validation-0001", "Bo Jackson hit a home run", "plausible").to_doc()
    assert family.same_item(doc, dict(doc))
    assert family.same_item(doc, {"id": "train-0007", "statement": " bo  JACKSON hit a home run"})
    assert family.same_item(doc, {"id": "cot-1", "input": doc["input"].upper()})
    assert not family.same_item(doc, {"id": "train-0008", "statement": "Bo Jackson hit a jump shot"})
    assert not family.same_item({"statement": "a"}, {"statement": "b"})
