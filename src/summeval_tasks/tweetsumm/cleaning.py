"""Cleaning of raw tweet text: the one preprocessing step between raw turns and docs.

``clean_text`` applies, in order:

1. HTML entities are decoded (``&amp;`` -> ``&``); curly quotes and apostrophes become ``'`` and
   ``"``; then Unicode NFKC normalisation.
2. URLs (``http://``, ``https://``, ``www.``) are removed.
3. @handles (``@AppleSupport``, ``@135060``) are removed.
4. Agent sign-offs, a caret followed by initials or a name (``^SH``, ``^Clarissa``), are removed.
   A caret not followed by letters is a stray symbol (step 5).
5. Stray symbols are removed: anything that is not a letter, digit, whitespace or common
   punctuation (``. , ! ? ; : ' " ( ) - / & % $ £ € + = * #``). Emoji go here. A combining mark
   (Unicode category M: Devanagari's virama and vowel signs, Thai's vowels, accents NFKC leaves
   separate) is part of the letter before it and stays, unless it follows no letter or digit (an
   emoji's variation selector goes with its emoji).
6. Whitespace runs collapse to one space, spaces before ``. , ! ? ; :`` are dropped, and the
   result is stripped.
"""

from __future__ import annotations

import html
import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w+")
_SIGN_OFF = re.compile(r"\^[A-Za-z]{1,20}\b")
_STRAY = re.compile(r"[^\w\s.,!?;:'\"()\-/&%$£€+=*#]")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")
_WHITESPACE = re.compile(r"\s+")


def _stray(match: re.Match[str]) -> str:
    """A stray symbol removed (a space), but a combining mark on a letter or digit kept."""
    char, text, at = match.group(), match.string, match.start()
    if not unicodedata.category(char).startswith("M"):
        return " "
    while at > 0 and unicodedata.category(text[at - 1]).startswith("M"):
        at -= 1  # marks stack (a vowel sign, then a nasal sign): look past them to their base
    base = text[at - 1] if at > 0 else ""
    return char if base.isalnum() else " "


def clean_text(text: str) -> str:
    """Return ``text`` with URLs, @handles, sign-offs and stray symbols removed (see module doc)."""
    text = unicodedata.normalize("NFKC", html.unescape(text).translate(_QUOTES))
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _SIGN_OFF.sub(" ", text)
    text = _STRAY.sub(_stray, text).replace("_", " ")
    text = _WHITESPACE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.strip()
