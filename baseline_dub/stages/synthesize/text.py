"""English text for TTS: numbers, symbols and abbreviations spelled out, long text cut at sentences.

TTS front ends read ``$5.50``, ``21st``, ``1990s``, ``Dr.`` or ``&`` badly or not at all, so the
synthesis stage speaks :func:`normalize_text`'s output: abbreviations expanded, currency, percentages,
ordinals, years, clock times, decimals and plain numbers written as words (``num2words``), common
symbols named. :func:`split_chunks` cuts text at sentence boundaries into pieces of at most
``max_chars`` characters (an over-long sentence is cut at clause marks, then at spaces) so that each
piece stays within what the model handles well; the stage joins the pieces with a short pause.
"""

from __future__ import annotations

import re

from num2words import num2words

_ABBREVIATIONS = {
    "mr": "Mister", "mrs": "Missus", "ms": "Miz", "dr": "Doctor", "prof": "Professor", "st": "Saint",
    "jr": "Junior", "sr": "Senior", "capt": "Captain", "lt": "Lieutenant", "gen": "General",
    "sgt": "Sergeant", "col": "Colonel", "mt": "Mount", "vs": "versus", "etc": "et cetera",
    "approx": "approximately", "dept": "department", "govt": "government",
}
_ABBREV_RE = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.(?=\s|$|,)", re.IGNORECASE)
_LATIN_RE = [(re.compile(r"\be\.g\.", re.IGNORECASE), "for example"),
             (re.compile(r"\bi\.e\.", re.IGNORECASE), "that is"),
             (re.compile(r"\ba\.m\.", re.IGNORECASE), "A M"),
             (re.compile(r"\bp\.m\.", re.IGNORECASE), "P M"),
             (re.compile(r"\bNo\.\s?(?=\d)"), "number ")]
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "", "")}
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_SCALE = r"(?:\s?(thousand|million|billion|trillion)\b)?"
_CURRENCY_RE = re.compile(r"([$£€¥])\s?(" + _NUMBER + r")" + _SCALE)
_PERCENT_RE = re.compile(r"(-?" + _NUMBER + r")\s?%")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_DECADE_RE = re.compile(r"\b(1[1-9]\d0|20\d0)'?s\b")
_YEAR_RE = re.compile(r"(?<![\d,.$£€¥])\b(1[1-9]\d\d|20\d\d)\b(?!\d|,\d|\.\d)")
_TIME_RE = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_NEGATIVE_RE = re.compile(r"(?<![\w.])-(" + _NUMBER + r")")
_NUMBER_RE = re.compile(_NUMBER)
_SYMBOLS = {"&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "%": " percent ", "°": " degrees ",
            "#": " number ", "×": " times ", "~": " about "}
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": ", ",
                         "\u2026": "...", "\u3000": " "})
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_CLAUSE_END_RE = re.compile(r"(?<=[,;:])\s+")
_SPACE_BEFORE_MARK_RE = re.compile(r"\s+([,.!?;:])")


def _words(number: str, to: str = "cardinal") -> str:
    """``num2words`` of a digit string (thousands commas allowed), without the commas it writes."""
    clean = number.replace(",", "")
    value: float | int = float(clean) if "." in clean else int(clean)
    return num2words(value, lang="en", to=to).replace(",", "").replace("-", " ")


def _currency(match: re.Match[str]) -> str:
    one, many, cent, cents = _CURRENCY[match.group(1)]
    amount, scale = match.group(2).replace(",", ""), match.group(3)
    if scale:
        return f"{_words(amount)} {scale} {many}"
    whole, _, frac = amount.partition(".")
    text = f"{_words(whole)} {one if int(whole) == 1 else many}"
    if frac and int(frac[:2].ljust(2, "0")) and cent:
        sub = int(frac[:2].ljust(2, "0"))
        text += f" and {_words(str(sub))} {cent if sub == 1 else cents}"
    return text


def _decade(match: re.Match[str]) -> str:
    words = _words(match.group(1), to="year")
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    if minute == 0:
        return f"{_words(str(hour))} o'clock"
    return f"{_words(str(hour))} {'oh ' if minute < 10 else ''}{_words(str(minute))}"


def normalize_text(text: str) -> str:
    """Spell out what a TTS front end reads badly: abbreviations, money, %, ordinals, years, numbers, symbols.

    Whitespace is collapsed and typographic quotes and dashes are made plain; the words are otherwise
    kept as given (case and punctuation included, since they shape prosody).
    """
    text = " ".join(text.translate(_QUOTES).split())
    for pattern, words in _LATIN_RE:
        text = pattern.sub(words, text)
    text = _ABBREV_RE.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()], text)
    text = _CURRENCY_RE.sub(_currency, text)
    text = _PERCENT_RE.sub(lambda m: f"{m.group(1)} percent", text)
    text = _ORDINAL_RE.sub(lambda m: _words(m.group(1), to="ordinal"), text)
    text = _DECADE_RE.sub(_decade, text)
    text = _YEAR_RE.sub(lambda m: _words(m.group(1), to="year"), text)
    text = _TIME_RE.sub(_time, text)
    text = _NEGATIVE_RE.sub(lambda m: f"minus {m.group(1)}", text)
    text = _NUMBER_RE.sub(lambda m: _words(m.group(0).rstrip(",")) + ("," if m.group(0).endswith(",") else ""),
                          text)
    for symbol, words in _SYMBOLS.items():
        text = text.replace(symbol, words)
    return _SPACE_BEFORE_MARK_RE.sub(r"\1", " ".join(text.split()))


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive pieces with spaces while the result stays within ``max_chars``."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks


def split_chunks(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars`` characters, at sentence boundaries when possible.

    Sentences are packed together while they fit; a sentence longer than ``max_chars`` is cut at
    clause marks (``,;:``), then between words (a single word longer than ``max_chars`` stays whole).
    Empty or blank text gives an empty list.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    pieces: list[str] = []
    for sentence in _SENTENCE_END_RE.split(" ".join(text.split())):
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        for clause in _pack(_CLAUSE_END_RE.split(sentence), max_chars):
            pieces.extend([clause] if len(clause) <= max_chars else _pack(clause.split(" "), max_chars))
    return _pack(pieces, max_chars)
