import pytest

from summeval_tasks.tweetsumm.cleaning import clean_text


def test_removes_handles_urls_and_sign_offs():
    raw = "@135060 Let\u2019s move to DM 😊 ^VN https://t.co/GDrqU22YpT"
    assert clean_text(raw) == "Let's move to DM"


def test_handle_in_the_middle_and_www_url():
    assert clean_text("hi @AmazonHelp see www.example.com/x now") == "hi see now"


def test_collapses_whitespace_and_space_before_punctuation():
    assert clean_text("  Ok !   Thanks\n\tfor the help !  ") == "Ok! Thanks for the help!"


def test_keeps_numbers_money_and_common_punctuation():
    text = "Order #1234 cost $49.99 (10% off) - call 877-399-3086, ok?"
    assert clean_text(text) == text


def test_sign_off_glued_to_sentence():
    assert clean_text("Sorry for the inconvenience.^In") == "Sorry for the inconvenience."


def test_stray_symbols_and_emoji_removed_letters_kept():
    assert clean_text("Café ✈️ délai → 2h ★") == "Café délai 2h"


def test_only_noise_becomes_empty():
    assert clean_text("@foo https://t.co/x ^AB 😊") == ""


def test_html_entities_and_acute_apostrophe():
    assert clean_text("Q&amp;A: don\u00b4t worry &gt;") == "Q&A: don't worry"


def test_lone_caret_removes_only_itself():
    assert clean_text("call at 9^30 or I'm ^ at home") == "call at 9 30 or I'm at home"


@pytest.mark.parametrize(
    "text",
    [
        "नमस्ते दुनिया",  # Devanagari: virama and vowel signs (Mn, Mc)
        "নমস্কার",  # Bengali
        "வணக்கம்",  # Tamil
        "สวัสดีครับ",  # Thai vowels and tone marks (Mn)
        "שָׁלוֹם",  # Hebrew points
        "مَرْحَبًا",  # Arabic harakat
        "你好，世界",  # CJK (the full-width comma folds to ",")
        "Ελληνικά ı̇",  # Greek, a dotted i NFKC leaves decomposed
    ],
)
def test_every_scripts_combining_marks_survive(text):
    import unicodedata

    cleaned = clean_text(text)
    marks = [c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c).startswith("M")]
    assert [c for c in cleaned if unicodedata.category(c).startswith("M")] == marks
    assert cleaned.replace(" ", "") == unicodedata.normalize("NFKC", text).replace(" ", "").replace("，", ",")


def test_a_mark_on_no_letter_goes_with_its_symbol():
    assert clean_text("ok ❤️ thanks") == "ok thanks"  # the heart and its variation selector (Mn)
    assert clean_text("\u0301start") == "start"  # a mark at the very start has no letter to sit on
    assert clean_text("★\u0301 x") == "x"
