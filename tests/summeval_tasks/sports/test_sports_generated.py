"""``sports_data: generated``: statements built in BIG-bench's way from summeval's vocabulary, offline."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from summeval_tasks.sports import generated
from summeval_tasks.sports.answers import IMPLAUSIBLE, PLAUSIBLE
from summeval_tasks.sports.family import SportsUnderstanding
from summeval_tasks.sports.generated import (
    COUNT_RANGE,
    GeneratedDataError,
    Spec,
    Sport,
    check_vocabulary,
    generate,
    label_of,
    parse_spec,
    vocabulary,
)
from summeval_tasks.sports.source import describe_source, load_statements
from summeval_tasks.sports.statements import SportsDataError, repeat_key

PINNED = [
    ("Mohamed Salah curled a free kick over the wall in the World Series", IMPLAUSIBLE),
    ("Aaron Judge beat out an infield single", PLAUSIBLE),
    ("Pedri went five-hole on the goaltender", IMPLAUSIBLE),
]


def _all(statements):
    return [s for split in ("train", "validation") for s in statements[split]]


def test_the_default_is_a_thousand_statements_half_plausible_in_both_splits():
    statements = load_statements("generated")
    items = _all(statements)
    assert len(items) == 1000 and len({s.id for s in items}) == 1000
    assert Counter(s.label for s in items) == {PLAUSIBLE: 500, IMPLAUSIBLE: 500}
    assert 150 <= len(statements["validation"]) <= 250  # about one in five, by the hash rule
    for split in ("train", "validation"):  # neither split is one label
        assert 0.35 < Counter(s.label for s in statements[split])[PLAUSIBLE] / len(statements[split]) < 0.65


def test_a_spec_gives_the_same_statements_every_time_and_another_seed_others():
    first = load_statements("generated:300:7")
    assert load_statements("generated:300:7") == first
    other = {s.statement for s in _all(load_statements("generated:300:8"))}
    assert len(other & {s.statement for s in _all(first)}) < 100


def test_the_draw_is_pinned_across_machines_and_python_versions():
    """A str seed and ``random.Random``'s documented algorithm: the default spec's first statements."""
    assert generate(Spec(1000, 0))[:3] == PINNED


@pytest.mark.parametrize("count", [COUNT_RANGE[0], 2000, COUNT_RANGE[1]])
def test_as_many_distinct_statements_as_asked_none_contradicting_another(count):
    pairs = generate(Spec(count, 3))
    assert len(pairs) == count
    keys = [repeat_key(text) for text, _ in pairs]
    assert len(set(keys)) == count  # no repeat, so no statement with two labels
    for text, label in pairs:  # every label follows from the words alone, read back one way only
        assert label_of(text) == label


def test_implausible_statements_take_an_action_or_an_event_of_another_sport():
    sports = vocabulary()
    kinds_of = ("athletes", "actions", "events")
    sport_of = {p: s.name for s in sports for kind in kinds_of for p in getattr(s, kind)}
    athletes = {x for s in sports for x in s.athletes}
    kinds = Counter()
    for text, label in generate(Spec(2000, 1)):
        athlete = next(a for a in athletes if text.startswith(a + " "))
        action = next(a for s in sports for a in s.actions if text[len(athlete) + 1 :].startswith(a))
        event = next((e for s in sports for e in s.events if text.endswith(" " + e)), None)
        other_action = sport_of[action] != sport_of[athlete]
        other_event = event is not None and sport_of[event] != sport_of[athlete]
        assert (label == IMPLAUSIBLE) == (other_action or other_event), text
        kinds[(label, other_action, other_event, event is not None)] += 1
    assert kinds[(IMPLAUSIBLE, False, True, True)] > 100  # own action, another sport's event
    assert kinds[(IMPLAUSIBLE, True, False, False)] > 100  # another sport's action, no event
    assert kinds[(PLAUSIBLE, False, False, True)] > 100  # own action and own event


def test_the_vocabulary_covers_the_five_sports_each_phrase_in_one():
    sports = vocabulary()
    assert {s.name for s in sports} == {"basketball", "baseball", "american football", "hockey", "soccer"}
    for sport in sports:
        assert len(sport.athletes) >= 20 and len(sport.actions) >= 12 and len(sport.events) >= 4
    kinds = ("athletes", "actions", "events")
    phrases = [p.casefold() for s in sports for kind in kinds for p in getattr(s, kind)]
    assert len(phrases) == len(set(phrases))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s[1]["actions"].append(s[0]["actions"][0]),
            "under basketball actions and baseball actions",
        ),
        (lambda s: s[0]["athletes"].append(s[0]["athletes"][0]), "a phrase must belong to one sport, once"),
        (lambda s: s[2]["events"].append("Super Bowl LX"), "must start 'in the' or 'at the'"),
        (lambda s: s[3]["actions"].clear(), "hockey has no actions"),
        (lambda s: s[4]["athletes"].append(" Pele"), "is empty or badly spaced"),
        (lambda s: s.__delitem__(slice(1, None)), "needs two sports or more"),
    ],
)
def test_a_vocabulary_that_reads_two_ways_is_refused(change, message):
    tree = json.loads(generated.VOCABULARY_PATH.read_text())["sports"]
    lists = [{k: list(v) for k, v in words.items()} | {"name": n} for n, words in tree.items()]
    change(lists)
    sports = [Sport(d["name"], tuple(d["athletes"]), tuple(d["actions"]), tuple(d["events"])) for d in lists]
    with pytest.raises(GeneratedDataError, match=message):
        check_vocabulary(sports, "v.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("generated:", r"COUNT '' is not a whole number from 20 to 5000"),
        ("generated:19", r"COUNT '19' is not a whole number from 20 to 5000"),
        ("generated:5001", r"COUNT '5001'"),
        ("generated:1e3", r"COUNT '1e3'"),
        ("generated:100:-1", r"SEED '-1' is not a whole number from 0 to 4294967295"),
        ("generated:100:7:9", r"is not a generated-data spec"),
        ("generated:100:x", r"SEED 'x'"),
    ],
)
def test_a_bad_spec_is_one_line_naming_it(text, message):
    with pytest.raises(SportsDataError, match=message) as err:
        load_statements(text)
    assert f"sports: {text!r}" in str(err.value) and "generated[:COUNT[:SEED]]" in str(err.value)


def test_parse_spec_defaults():
    assert parse_spec("generated") == Spec(1000, 0)
    assert parse_spec("generated:250") == Spec(250, 0)
    assert parse_spec("generated:250:9") == Spec(250, 9)


def test_summeval_data_and_reports_name_it_as_generated_not_big_bench(capsys):
    from summeval.cli import main

    assert "not BIG-bench's items" in describe_source("generated:300:2")
    assert (
        SportsUnderstanding()
        .describe_source({"sports_data": "generated"})
        .startswith("generated: 1000 statements generated in BIG-bench's way")
    )
    assert main(["data", "--task", "sports", "generated:300:2"]) == 0
    out = capsys.readouterr().out
    assert "sports_understanding: 300 statements" in out
    assert "source: generated:300:2: 300 statements generated in BIG-bench's way" in out
    assert "not BIG-bench's items" in out


def test_label_of_refuses_a_statement_outside_the_vocabulary():
    with pytest.raises(GeneratedDataError, match="0 readings"):
        label_of("Somebody did something")
