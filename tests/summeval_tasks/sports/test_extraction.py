"""Answer extraction and the vote (model text → plausible, implausible or invalid), and the sports family
reading and voting with them."""

from __future__ import annotations

import pytest

from summeval_tasks.sports.answers import (
    IMPLAUSIBLE,
    INVALID,
    PLAUSIBLE,
    classify_span,
    extract_answer,
    majority_answer,
)

READINGS = [
    # bare labels, any case, any punctuation
    ("Implausible.", IMPLAUSIBLE),
    ("implausible", IMPLAUSIBLE),
    ("Plausible", PLAUSIBLE),
    ("IMPLAUSIBLE!!", IMPLAUSIBLE),
    ("A: implausible", IMPLAUSIBLE),
    ("The statement is implausible.", IMPLAUSIBLE),
    # negation, hedged or not
    ("it is not plausible", IMPLAUSIBLE),
    ("It isn't plausible.", IMPLAUSIBLE),
    ("It is not at all plausible", IMPLAUSIBLE),
    ("not very plausible", IMPLAUSIBLE),
    ("It is not so plausible.", IMPLAUSIBLE),
    ("not implausible", PLAUSIBLE),
    ("It doesn't seem plausible.", IMPLAUSIBLE),
    ("That can't be plausible", IMPLAUSIBLE),
    ("It does not seem to be plausible.", IMPLAUSIBLE),
    ("This wouldn't be considered plausible.", IMPLAUSIBLE),
    ("I don't think it's plausible.", INVALID),  # words between: no clear verdict, never "plausible"
    ("So the answer is not plausible or implausible.", INVALID),
    ("The answer is not implausible", PLAUSIBLE),
    # the question restated names no label
    ("plausible or implausible?", INVALID),
    ("Plausible/implausible?", INVALID),
    ("Implausible / plausible", INVALID),
    ("So is it plausible or implausible?", INVALID),
    # ... but an answer after it does
    ("Plausible/implausible? The answer is plausible", PLAUSIBLE),
    # nothing to read
    ("", INVALID),
    (None, INVALID),
    ("   \n  ", INVALID),
    ("I am not sure.", INVALID),
    ("Nope", IMPLAUSIBLE),  # an opening "nope" answers like "no"
    ("unplausible", IMPLAUSIBLE),  # "un-" negates the label, as in "un-plausible"
    # both labels and no conclusion
    ("plausible, implausible", INVALID),
    ("not plausible, not implausible", INVALID),
    # chain of thought weighs both labels, then concludes: the conclusion decides
    (
        "At first this sounds plausible, since Crosby is famous. But Crosby plays hockey and a "
        "touchdown is part of football, which makes it implausible.\nSo the answer is implausible.",
        IMPLAUSIBLE,
    ),
    (
        "Some would call it implausible. Kershaw is a baseball pitcher and curveballs are part of "
        "baseball. So the answer is plausible.",
        PLAUSIBLE,
    ),
    ("It sounds plausible. Therefore, implausible.", IMPLAUSIBLE),
    ("The answer is: **implausible**", IMPLAUSIBLE),
    ('The answer is "plausible".', PLAUSIBLE),
    # the last conclusion wins
    ("plausible\nBut actually the answer is implausible", IMPLAUSIBLE),
    # first line answers, the rest rambles on
    ("Yes\nB: No", PLAUSIBLE),
    ("No\nQ: Yes", IMPLAUSIBLE),
    ("Implausible.\nQ: Is the statement plausible?\nA: plausible", IMPLAUSIBLE),
    # ... but lines that contradict each other, with no conclusion, hold no single verdict
    ("plausible\nimplausible\nplausible or implausible", INVALID),
    # yes / no only when they open the answer
    ("Yes.", PLAUSIBLE),
    ("No, it is plausible.", PLAUSIBLE),  # a stated label beats an opening yes/no
    ("Yes, but it is implausible", IMPLAUSIBLE),
    ("No, it is not.", IMPLAUSIBLE),
    ("I would say yes", INVALID),
]


@pytest.mark.parametrize(("text", "expected"), READINGS)
def test_extract_answer_reads(text, expected):
    assert extract_answer(text) == expected


# Other model families' styles: one class of text per group, with the texts that must stay invalid.
STYLES = {
    "unicode": [
        ("\uff50\uff4c\uff41\uff55\uff53\uff49\uff42\uff4c\uff45", PLAUSIBLE),  # full-width
        (
            "\U0001d408\U0001d426\U0001d429\U0001d425\U0001d41a\U0001d42e\U0001d42c\U0001d422\U0001d41b\U0001d425\U0001d41e",
            IMPLAUSIBLE,
        ),  # math bold
        ("Im\u00adplau\u00adsi\u00adble", IMPLAUSIBLE),  # soft hyphens
        ("The sentence is im\u200bplausible.", IMPLAUSIBLE),  # zero-width space
        ("It is not\u00a0plausible.", IMPLAUSIBLE),  # no-break space
        ("im-plausible", IMPLAUSIBLE),
        ("\u200b\u2060", INVALID),
    ],
    "negation": [
        ("This is not not plausible.", PLAUSIBLE),
        ("Far from plausible: he plays hockey.", IMPLAUSIBLE),
        ("Anything but implausible.", PLAUSIBLE),
        ("By no means plausible.", IMPLAUSIBLE),
        ("Non-plausible.", IMPLAUSIBLE),
        ("Un-plausible.", IMPLAUSIBLE),
        ("Nothing implausible here.", PLAUSIBLE),
        ("There's no reason to think it's not plausible.", PLAUSIBLE),
        ("I can't say it's not plausible.", PLAUSIBLE),
        ("I wouldn't call it implausible.", PLAUSIBLE),
        ("I wouldn't say it's plausible.", IMPLAUSIBLE),
        ("No not plausible", IMPLAUSIBLE),  # a bare "no" does not cancel a negation
        ("I can't say it's plausible.", INVALID),  # uncertainty, not a litotes
        ("I wouldn't say it's plausible, and I wouldn't say it's implausible.", INVALID),
    ],
    "key-value and JSON": [
        ("Same sport: No\nPlausible: No", IMPLAUSIBLE),
        ("Plausible: false", IMPLAUSIBLE),
        ('{"plausible": false}', IMPLAUSIBLE),
        ('{"plausible": "false"}', IMPLAUSIBLE),
        ('```json\n{\n  "is_plausible": true\n}\n```', PLAUSIBLE),
        ('{"answer": "no"}', IMPLAUSIBLE),
        ('{"answer": "no", "reason": "it would be plausible in hockey"}', IMPLAUSIBLE),
        ('{"reason": "plausible in soccer, but this is hockey", "answer": "implausible"}', IMPLAUSIBLE),
        ('{"plausible": null}', INVALID),
        ("Plausible: 0.5\nImplausible: 0.5", INVALID),  # scores, not verdicts
        ('{"answer": "plausible" | "implausible"}', INVALID),  # the schema echoed
    ],
    "option letters": [
        ("Options: (A) plausible (B) implausible\nAnswer: (B)", IMPLAUSIBLE),
        ("Options: (A) implausible (B) plausible\nAnswer: (B)", PLAUSIBLE),
        ("A) yes\nB) no\nSo the answer is (B).", IMPLAUSIBLE),
        ("Options:\nA. Yes\nB. No\n\nAnswer: A", PLAUSIBLE),
        ("(A) plausible (B) implausible\nThe correct option is (A).", PLAUSIBLE),
        ("Answer: (A)\n\nOptions were: (A) Yes, plausible (B) No, implausible", PLAUSIBLE),
        ("Options: (A) plausible (B) implausible\nAnswer: (A) implausible", INVALID),  # contradiction
        ("Options: (A) plausible (B) implausible\nAnswer: (C)", INVALID),  # undefined letter
        ("The answer is (A).", INVALID),  # no options defined
    ],
    "hedges": [
        ("Unlikely. He plays hockey.", IMPLAUSIBLE),
        ("Highly improbable: he is a quarterback.", IMPLAUSIBLE),
        ("Seems doubtful.", IMPLAUSIBLE),
        ("Doubtful at best \u2014 he plays basketball.", IMPLAUSIBLE),
        ("I don't think so.", IMPLAUSIBLE),
        ("Not very likely.", IMPLAUSIBLE),
        ("Nope.", IMPLAUSIBLE),
        ("It seems fairly likely.", PLAUSIBLE),
        ("Most likely yes \u2014 he is a winger.", PLAUSIBLE),
        ("Very likely.", PLAUSIBLE),
        ("I think so, yeah.", PLAUSIBLE),
        ("yes no", INVALID),
        ("Maybe.", INVALID),
        ("I suppose it's possible, though unlikely.", INVALID),
        ("Unlikely, yes.", INVALID),  # the hedge and the answer disagree
    ],
    "self-correction": [
        ("Plausible. Actually, no: he is a soccer striker. Implausible.", IMPLAUSIBLE),
        (
            "At first I thought this was plausible, but he plays basketball. The sentence is implausible.",
            IMPLAUSIBLE,
        ),
        ("It's implausible... no wait, I misread. He is a hockey forward. Plausible.", PLAUSIBLE),
        ("Implausible... oh wait, wrong player. Plausible.", PLAUSIBLE),
        ("This might sound implausible, but he was famous for free kicks. Plausible.", PLAUSIBLE),
        ("Plausible. Hmm, actually, I'm not sure any more. Let me reconsider", INVALID),
        ("Plausible. He played for the Bills... wait, the Bills are in the AFC, so the", INVALID),
        ("Implausible. Wait \u2014 maybe plausible? I can't be sure either way.", INVALID),
    ],
    "quotation": [
        ('My answer: "plausible"', PLAUSIBLE),
        ('I\'d answer "yes": he is an Astros slugger.', PLAUSIBLE),
        ('"Implausible." He plays baseball.', IMPLAUSIBLE),
        (
            'A "plausible" sentence keeps an athlete in his own sport. This one does not. Not plausible.',
            IMPLAUSIBLE,
        ),
        ('The word "implausible" means not seeming reasonable.', INVALID),
        ('The question asks whether it is "plausible".', INVALID),
        ('Someone might say "this is plausible", but that would be a mistake.', INVALID),
        ('Many people would call it "implausible", and others "plausible".', INVALID),
    ],
    "languages": [
        ("R\u00e9ponse : invraisemblable.", IMPLAUSIBLE),
        ("Oui, la phrase est plausible.", PLAUSIBLE),
        ("Cette phrase n'est pas plausible.", IMPLAUSIBLE),
        ("Peu plausible.", IMPLAUSIBLE),
        ("Vraisemblable.", PLAUSIBLE),
        ("No es inveros\u00edmil: es un mediapunta.", PLAUSIBLE),
        ("Nada plausible.", IMPLAUSIBLE),
        ("Respuesta: No es plausible.", IMPLAUSIBLE),
        ("S\u00ed.", PLAUSIBLE),
        ("Nicht unplausibel.", PLAUSIBLE),
        ("Kaum plausibel.", IMPLAUSIBLE),
        ("Antwort: unplausibel", IMPLAUSIBLE),
        ("Ja.", PLAUSIBLE),
        ("Nein.", IMPLAUSIBLE),
        ("Non \u00e8 implausibile.", PLAUSIBLE),
        ("Poco plausibile.", IMPLAUSIBLE),
        ("Risposta: implausibile", IMPLAUSIBLE),
        ("S\u00ec.", PLAUSIBLE),
        (
            "La question demande si la phrase est \u00ab plausible \u00bb ou \u00ab invraisemblable \u00bb.",
            INVALID,
        ),
        ("La pregunta es si la oraci\u00f3n es plausible o inveros\u00edmil.", INVALID),
        ("C'est difficile \u00e0 dire. La phrase pourrait \u00eatre plausible ou invraisemblable.", INVALID),
        ("Depende.", INVALID),
        ("Ja Morant is a basketball player, and touchdowns are scored in football.", INVALID),  # a name
    ],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [case for cases in STYLES.values() for case in cases],
)
def test_other_families_styles_are_read(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize("label", [PLAUSIBLE, IMPLAUSIBLE, INVALID])
def test_reading_a_label_gives_that_label(label):
    assert extract_answer(label) == label
    assert extract_answer(extract_answer(label.upper())) == label


@pytest.mark.parametrize(
    "text",
    [
        "implausible",
        "Implausible",
        "implausible.",
        "(implausible)",
        "'implausible'",
        "**Implausible**",
        "The answer is implausible",
        "So the answer is implausible.",
        "That is implausible because he plays golf",
        "implausible - he is a tennis player",
        "It is highly implausible.",
        "Totally implausible!",
        "answer: implausible",
        "Therefore: implausible",
        "It’s implausible",
        "IMPLAUSIBLE",
        "implausible\n\nplausible?",
        "Statement: implausible",
    ],
)
def test_implausible_is_never_read_as_plausible(text):
    assert extract_answer(text) == IMPLAUSIBLE


def test_classify_span_handles_short_spans():
    assert classify_span("plausible") == PLAUSIBLE
    assert classify_span("implausible") == IMPLAUSIBLE
    assert classify_span("yes, plausible") == PLAUSIBLE
    assert classify_span("plausible or implausible") == INVALID
    assert classify_span("") == INVALID


def test_majority_answer_takes_the_clear_majority():
    votes = [IMPLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE, IMPLAUSIBLE, PLAUSIBLE]
    assert majority_answer(votes) == IMPLAUSIBLE


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([PLAUSIBLE, IMPLAUSIBLE], PLAUSIBLE),
        ([IMPLAUSIBLE, PLAUSIBLE], IMPLAUSIBLE),
        ([IMPLAUSIBLE, PLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE], IMPLAUSIBLE),
        ([INVALID, INVALID, PLAUSIBLE, IMPLAUSIBLE], PLAUSIBLE),
    ],
)
def test_a_tie_goes_to_the_tied_answer_sampled_first(votes, expected):
    assert {majority_answer(votes) for _ in range(20)} == {expected}


def test_invalid_votes_are_ignored_unless_every_vote_is_invalid():
    assert majority_answer([INVALID, INVALID, INVALID, PLAUSIBLE]) == PLAUSIBLE
    assert majority_answer([INVALID, IMPLAUSIBLE, INVALID, PLAUSIBLE, IMPLAUSIBLE]) == IMPLAUSIBLE
    assert majority_answer([INVALID, INVALID]) == INVALID
    assert majority_answer([]) == INVALID


def test_the_sports_family_reads_and_votes_with_extraction():
    from prompt_strategies.registry import get_family

    family = get_family("sports_understanding")
    for text, expected in READINGS:
        assert family.read_answer(text) == expected
        assert family.read_answer(family.read_answer(text)) == expected  # reading is idempotent
    votes = [INVALID, IMPLAUSIBLE, PLAUSIBLE, IMPLAUSIBLE]
    assert family.reduce(votes) == majority_answer(votes)
