"""Text handling for TTS: numbers, symbols and abbreviations spelled out; chunks cut at sentences."""

from __future__ import annotations

import pytest

from baseline_dub.stages.synthesize.text import normalize_text, split_chunks


@pytest.mark.parametrize(("text", "spoken"), [
    ("Mr. Smith and Dr. Jones", "Mister Smith and Doctor Jones"),
    ("It costs $5.50.", "It costs five dollars and fifty cents."),
    ("$1 or £2.01 or ¥500", "one dollar or two pounds and one penny or five hundred yen"),
    ("a $3 million deal", "a three million dollars deal"),
    ("Prices rose 12.5% this week", "Prices rose twelve point five percent this week"),
    ("the 21st and the 2nd", "the twenty first and the second"),
    ("In 1999, we met.", "In nineteen ninety nine, we met."),
    ("back in 2024", "back in twenty twenty four"),
    ("music of the 1980s", "music of the nineteen eighties"),
    ("1,234 people", "one thousand two hundred and thirty four people"),
    ("meet at 7:05 or 12:00", "meet at seven oh five or twelve o'clock"),
    ("Tom & Jerry @ home", "Tom and Jerry at home"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("It was -5 outside", "It was minus five outside"),
    ("Cats, dogs, etc. are pets", "Cats, dogs, et cetera are pets"),
    ("e.g. this one", "for example this one"),
    ("\u201cHello\u201d \u2014 she said\u2026", '"Hello", she said...'),
])
def test_normalize_text_reads_naturally(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def test_normalize_leaves_plain_words_and_collapses_space() -> None:
    assert normalize_text("  Hello,   world!  ") == "Hello, world!"
    assert normalize_text("") == ""


def test_split_keeps_short_text_whole() -> None:
    assert split_chunks("One. Two!", 200) == ["One. Two!"]
    assert split_chunks("   ", 200) == []


def test_split_at_sentence_boundaries_within_limit() -> None:
    text = "The first sentence is here. The second one follows it! Is this the third? Yes."
    chunks = split_chunks(text, 40)
    assert chunks == ["The first sentence is here.", "The second one follows it!", "Is this the third? Yes."]
    assert all(len(c) <= 40 for c in chunks)
    assert " ".join(chunks) == text


def test_overlong_sentence_is_cut_at_clauses_then_words() -> None:
    text = "alpha beta gamma, delta epsilon zeta; eta theta iota kappa lambda mu nu xi omicron pi rho"
    chunks = split_chunks(text, 24)
    assert chunks[0] == "alpha beta gamma,"
    assert all(len(c) <= 24 for c in chunks)
    assert " ".join(chunks).split() == text.split()


def test_split_rejects_a_non_positive_limit() -> None:
    with pytest.raises(ValueError):
        split_chunks("a", 0)
