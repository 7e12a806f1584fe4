"""Each TweetSumm source and format, and the errors on bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from prompt_strategies.registry import get_family
from summeval_tasks.tweetsumm.dialogs import TweetSummDataError
from summeval_tasks.tweetsumm.prompts import instruction_prompt
from summeval_tasks.tweetsumm.source import (
    SPLITS,
    load_dialogs,
    parse_path,
    split_name,
)

FAMILY = get_family("tweetsumm")


def dialogstudio_record(n: int, summaries=None, log=None) -> dict:
    return {
        "original dialog id": f"dlg{n}",
        "dialog index": n,
        "original dialog info": {
            "summaries": {
                "extractive_summaries": [],
                "abstractive_summaries": summaries
                if summaries is not None
                else [[f"Customer {n} asks.", "Agent answers."], [f"Summary two of {n}."], [f"Third {n}."]],
            }
        },
        "log": log
        if log is not None
        else [
            {
                "turn id": 1,
                "user utterance": f"@Brand help with order {n} https://t.co/x",
                "system response": "@123 Sure ^AB",
            },
            {"turn id": 2, "user utterance": "thx 😊", "system response": ""},
        ],
        "prompt": [],
    }


def dialogstudio_file(path: Path, counts=(2, 1, 1), split_spelling=("train", "validation", "test")) -> Path:
    data, n = {}, 0
    for spelling, count in zip(split_spelling, counts, strict=True):
        for i in range(1, count + 1):
            n += 1
            data[f"TweetSumm--{spelling}--{i}"] = dialogstudio_record(n)
    path.write_text(json.dumps(data))
    return path


def processed_record(n: int) -> dict:
    return {
        "dialog": {
            "dialog_id": f"p{n}",
            "turns": [
                {"is_agent": False, "sentences": ["@Brand my parcel", f"number {n} is late"]},
                {"is_agent": True, "sentences": ["@999 Sorry!", "DM us. ^JK"]},
            ],
        },
        "summaries": {"abstractive_summaries": [["Parcel late.", "Agent asks for DM."], ["Late parcel."]]},
    }


def test_dialogstudio_file_with_all_splits(tmp_path):
    dialogs = parse_path(dialogstudio_file(tmp_path / "tweetsumm.json"))
    assert {s: len(d) for s, d in dialogs.items()} == {"train": 2, "validation": 1, "test": 1}
    doc = dialogs["train"][0].to_doc()
    assert doc["id"] == "dlg1"
    assert doc["conversation"] == "Customer: help with order 1\nAgent: Sure\nCustomer: thx"
    assert doc["references"] == ["Customer 1 asks. Agent answers.", "Summary two of 1.", "Third 1."]
    assert doc["summary"] == doc["references"][0]
    assert set(doc) == {"id", "conversation", "references", "summary"}  # no prompt text in a doc
    training_text = instruction_prompt(doc["conversation"], doc["summary"])
    assert training_text.startswith("### Instruction:\nBelow is a conversation between a human and an agent.")
    assert training_text.endswith("### Output:\nCustomer 1 asks. Agent answers.")


def test_dialogstudio_split_aliases(tmp_path):
    path = dialogstudio_file(tmp_path / "d.json", split_spelling=("train", "val", "test"))
    assert set(parse_path(path)) == set(SPLITS)


def test_folder_of_per_split_dialogstudio_files(tmp_path):
    for i, split in enumerate(SPLITS):
        data = {f"TweetSumm--{split}--1": dialogstudio_record(i)}
        (tmp_path / f"{split}.json").write_text(json.dumps(data))
    assert {s: len(d) for s, d in parse_path(tmp_path).items()} == {s: 1 for s in SPLITS}


def test_processed_form_jsonl_and_json_per_split_files(tmp_path):
    (tmp_path / "final_train_tweetsum.jsonl").write_text(
        "\n".join(json.dumps(processed_record(i)) for i in range(3)) + "\n"
    )
    (tmp_path / "final_valid_tweetsum.jsonl").write_text(json.dumps(processed_record(10)) + "\n")
    (tmp_path / "test.json").write_text(json.dumps([processed_record(20), processed_record(21)]))
    dialogs = parse_path(tmp_path)
    assert {s: len(d) for s, d in dialogs.items()} == {"train": 3, "validation": 1, "test": 2}
    doc = dialogs["test"][0].to_doc()
    assert doc["conversation"] == "Customer: my parcel number 20 is late\nAgent: Sorry! DM us."
    assert doc["references"] == ["Parcel late. Agent asks for DM.", "Late parcel."]


def test_sample_source_has_three_splits_and_three_references():
    dialogs = load_dialogs("sample")
    assert sum(len(d) for d in dialogs.values()) >= 24
    for split in SPLITS:
        assert dialogs[split], split
        for dialog in dialogs[split]:
            assert len(dialog.reference_summaries) == 3
            assert "@" not in dialog.conversation and "http" not in dialog.conversation
    ids = [d.dialog_id for split in dialogs.values() for d in split]
    assert len(ids) == len(set(ids))


def test_source_from_environment_and_metadata(monkeypatch, tmp_path):
    path = dialogstudio_file(tmp_path / "d.json")
    monkeypatch.setenv("SUMMEVAL_TWEETSUMM_DATA", str(path))
    assert len(FAMILY.load({})["train"]) == 2
    # --metadata wins over the environment
    assert len(FAMILY.load({"tweetsumm_data": "sample", "pretrained": "ignored"})["train"]) == len(
        load_dialogs("sample")["train"]
    )


def test_family_docs_have_every_split_and_the_doc_fields(tmp_path):
    path = dialogstudio_file(tmp_path / "d.json")
    docs = FAMILY.load({FAMILY.data_key: str(path)})
    assert set(docs) == set(SPLITS)
    assert FAMILY.eval_split in docs and FAMILY.pool_split in docs
    for split, dialogs in parse_path(path).items():
        assert docs[split] == [d.to_doc() for d in dialogs]
    assert {key for doc in docs["test"] for key in doc} == {"id", "conversation", "references", "summary"}


def test_family_describe_counts_dialogs_per_split():
    docs = FAMILY.load({"tweetsumm_data": "sample"})
    lines = FAMILY.describe(docs).splitlines()
    assert lines[0] == "tweetsumm:"
    assert lines[1:] == [f"{split}: {len(docs[split])} dialogs" for split in SPLITS]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (dialogstudio_record(7, log=[]), r"record TweetSumm--test--1 in .*bad\.json has no turns"),
        (
            dialogstudio_record(7, log=[{"user utterance": "@x https://t.co/y", "system response": "^AB"}]),
            r"record TweetSumm--test--1 .* has no turns with text",
        ),
        (dialogstudio_record(7, summaries=[]), r"record TweetSumm--test--1 .* has no abstractive summaries"),
        (
            dialogstudio_record(7, log=[{"user utterance": 42, "system response": "ok"}]),
            r"Customer turn of type int; expected a string",
        ),
        (dialogstudio_record(7, summaries=[{"text": "x"}]), r"abstractive summary 0 is a dict"),
        ("not an object", r"is a str; expected an object"),
    ],
)
def test_bad_dialogstudio_records_name_file_and_record(tmp_path, record, message):
    data = json.loads(dialogstudio_file(tmp_path / "bad.json").read_text())
    data["TweetSumm--test--1"] = record
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(TweetSummDataError, match=message):
        parse_path(tmp_path / "bad.json")


def test_bad_processed_record_names_file_and_index(tmp_path):
    bad = processed_record(1)
    bad["dialog"]["turns"][1]["sentences"] = "not a list"
    (tmp_path / "test.jsonl").write_text(json.dumps(processed_record(0)) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(TweetSummDataError, match=r"record 1 in .*test\.jsonl: turn 1 needs 'sentences'"):
        parse_path(tmp_path / "test.jsonl")


def test_invalid_jsonl_line_is_named(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps(processed_record(0)) + "\n{broken\n")
    with pytest.raises(TweetSummDataError, match=r"line 2 of .*train\.jsonl is not valid JSON"):
        parse_path(tmp_path)


def test_missing_split_is_named(tmp_path):
    (tmp_path / "train.jsonl").write_text(json.dumps(processed_record(0)) + "\n")
    with pytest.raises(TweetSummDataError, match=r"lacks the split\(s\) validation, test; found train \(1\)"):
        parse_path(tmp_path)


def test_processed_file_without_split_in_name(tmp_path):
    (tmp_path / "dialogs.json").write_text(json.dumps([processed_record(0)]))
    with pytest.raises(TweetSummDataError, match="does not say which"):
        parse_path(tmp_path / "dialogs.json")


def test_unknown_split_in_dialogstudio_key(tmp_path):
    data = {"TweetSumm--holdout--1": dialogstudio_record(1)}
    (tmp_path / "d.json").write_text(json.dumps(data))
    with pytest.raises(TweetSummDataError, match="unknown split 'holdout'"):
        parse_path(tmp_path / "d.json")


def test_missing_path_lists_the_choices(tmp_path):
    with pytest.raises(TweetSummDataError, match=r"does not exist; choose 'hub'.*'sample'"):
        load_dialogs(str(tmp_path / "nowhere.json"))


def test_unrecognised_json_shape(tmp_path):
    (tmp_path / "test.json").write_text(json.dumps({"hello": "world"}))
    with pytest.raises(TweetSummDataError, match="neither a DialogStudio TweetSumm file"):
        parse_path(tmp_path / "test.json")


def test_split_names():
    assert split_name("final_valid_tweetsum") == "validation"
    assert split_name("VAL") == "validation"
    assert split_name("tweetsumm-test") == "test"
    assert split_name("everything") is None


def test_hub_file_selection_keeps_split_files_and_archives_only():
    from summeval_tasks.tweetsumm.source import _is_hub_data_file

    assert _is_hub_data_file("dialogue_summarization/TweetSumm/train.json")
    assert _is_hub_data_file("dialogue_summarization/TweetSumm/val.json")
    assert _is_hub_data_file("dialogue_summarization/TweetSumm.zip")
    assert not _is_hub_data_file("dialogue_summarization/TweetSumm/converted_examples.json")
    assert not _is_hub_data_file("dialogue_summarization/SAMSum/train.json")
    assert not _is_hub_data_file("dialogue_summarization/TweetSumm/README.md")


def test_hub_offline_fails_fast_naming_other_sources(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(TweetSummDataError, match=r"HF_HUB_OFFLINE.*'sample'.*local path"):
        load_dialogs("hub")
    assert time.monotonic() - start < 5


def test_hub_unreachable_names_other_sources(monkeypatch):
    # A real connection attempt to a closed local port: the Hub client's own error path.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    start = time.monotonic()
    with pytest.raises(
        TweetSummDataError, match=r"cannot fetch Salesforce/dialogstudio.*unreachable.*'sample'"
    ):
        load_dialogs("hub")
    assert time.monotonic() - start < 10


def test_byte_order_mark_is_accepted(tmp_path):
    path = dialogstudio_file(tmp_path / "d.json")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(parse_path(path)["train"]) == 2


def test_non_utf8_file_is_a_clear_error(tmp_path):
    (tmp_path / "test.json").write_bytes('[{"dialog": "caf\u00e9"}]'.encode("latin-1"))
    with pytest.raises(TweetSummDataError, match=r"test\.json is not UTF-8"):
        parse_path(tmp_path / "test.json")


def test_hidden_folders_are_skipped(tmp_path):
    dialogstudio_file(tmp_path / "all.json")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    dialogstudio_file(tmp_path / ".ipynb_checkpoints" / "all-checkpoint.json")
    assert len(parse_path(tmp_path)["train"]) == 2


def test_duplicate_dialog_across_files_is_an_error(tmp_path):
    dialogstudio_file(tmp_path / "a.json")
    dialogstudio_file(tmp_path / "b.json")
    with pytest.raises(TweetSummDataError, match=r"dialog dlg1 appears twice"):
        parse_path(tmp_path)


def test_processed_records_without_ids_get_distinct_ids_per_file(tmp_path):
    for split in SPLITS:
        record = processed_record(0)
        del record["dialog"]["dialog_id"]
        (tmp_path / f"{split}.jsonl").write_text(json.dumps(record) + "\n")
    ids = {d.dialog_id for items in parse_path(tmp_path).values() for d in items}
    assert ids == {"train-0", "validation-0", "test-0"}
