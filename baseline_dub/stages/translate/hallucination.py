"""What Whisper invents rather than hears: the bag of stock phrases, and loops cut to their first turn.

Both engines share these (through ``batch.py`` and ``base.py``):

- :func:`normalize` makes two spellings of one phrase equal: Unicode NFKC, lower case, curly apostrophes
  straight, every character that is not a letter, a digit or an apostrophe inside a word made a space, spaces
  collapsed, and a line that is one phrase said several times back to back ("I'm sorry, I'm sorry.") made one.
- :class:`StockPhrases` is the bag (``stock_phrases.txt``, beside this module, names its sources) in two
  sections: ``always`` (a video outro, a channel, subtitle credits: never an anime line) and ``unsure`` (short,
  generic lines a character may say: "Thank you.", "I'm sorry."). :meth:`StockPhrases.section` says which
  section a line belongs to: the whole line normalised is a phrase of the bag, or every piece of it between
  sentence punctuation is (``always`` when any piece is).
- :func:`deloop` cuts a looping line (one word or phrase said again and again, as Whisper loops) to what it
  says once: every back-to-back repeat of a word sequence is kept once (and a word that is one piece of letters
  said again and again without a space, "YAYAYAYA", the piece once), and a last, unfinished copy (the loop cut by
  the token cap) is dropped; the words before and after a loop are kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

SECTIONS = ("always", "unsure")
LONG_LOOP = (6, 3)  # a phrase of 6 words or more, said 3 times in a row: a loop (``long_loop``)
BAG_FILE = "stock_phrases.txt"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\uff07": "'"})
_NOT_WORD = re.compile(r"[^\w']+|_")
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_PIECES = re.compile(r"[.!?;:,\u3002\uff01\uff1f\u3001\u2026]+")
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"\s*(?:[{_UNSPACED}]|[^\s{_UNSPACED}]+)")
# A word that is one piece of two or more letters said three or more times without a space ("YAYAYAYAY"): the piece.
_WORD_LOOP = re.compile(r"(?<![^\W\d_])([^\W\d_]{2,}?)\1{2,}[^\W\d_]*(?![^\W\d_])", re.IGNORECASE)
_CLOSING = re.compile(r"[.!?\u3002\uff01\uff1f]+[\"')\]]*$")


def _words(text: str) -> list[str]:
    """The words of ``text`` as :func:`normalize` compares them."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    return _LOOSE_APOSTROPHE.sub(" ", _NOT_WORD.sub(" ", text)).split()


def _unit(seq: list[str] | str) -> list[str] | str:
    """``seq`` that is one unit said k >= 2 times in a row, as the unit once; anything else as it is."""
    size = len(seq)
    for n in range(1, size // 2 + 1):
        if size % n == 0 and seq == seq[:n] * (size // n):
            return seq[:n]
    return seq


def _once(words: list[str]) -> list[str]:
    """:func:`_unit` of the words, and of the characters of a line that is one word (a script without spaces)."""
    words = _unit(words)
    return [_unit(words[0])] if len(words) == 1 else words


def normalize(text: str) -> str:
    """``text`` as the bag compares it (the module docstring says how); ``""`` for text with no word."""
    return " ".join(_once(_words(text)))


@dataclass(frozen=True)
class StockPhrases:
    """The bag: normalised phrases per section (``always``, ``unsure``), and the file they were read from."""

    always: frozenset[str]
    unsure: frozenset[str]
    source: str = BAG_FILE

    @classmethod
    def parse(cls, text: str, source: str = BAG_FILE) -> StockPhrases:
        """The bag written in ``text``: ``[always]`` and ``[unsure]`` sections of one phrase a line, ``#``
        comments; every phrase is normalised. A line outside a section, an unknown section or a phrase that
        normalises to nothing is a ``ValueError`` naming ``source`` and the line."""
        sections: dict[str, set[str]] = {name: set() for name in SECTIONS}
        current: str | None = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1].strip()
                if current not in sections:
                    raise ValueError(f"{source}:{number}: unknown section [{current}]; use "
                                     + " or ".join(f"[{s}]" for s in SECTIONS))
                continue
            phrase = normalize(line)
            if current is None or not phrase:
                raise ValueError(f"{source}:{number}: {raw.strip()!r} is " +
                                 ("outside any section" if current is None else "no phrase (no word in it)"))
            sections[current].add(phrase)
        return cls(frozenset(sections["always"]), frozenset(sections["unsure"] - sections["always"]), source)

    def _piece_section(self, piece: str) -> str | None:
        phrase = normalize(piece)
        if phrase in self.always:
            return "always"
        return "unsure" if phrase in self.unsure else None

    def section(self, text: str) -> str | None:
        """``always`` or ``unsure`` when ``text`` is a stock phrase of that section (the whole line, or every
        piece of it between sentence punctuation, ``always`` when any piece is); ``None`` for any other text."""
        whole = self._piece_section(text)
        if whole is not None or not normalize(text):
            return whole
        pieces = [p for p in _PIECES.split(text) if normalize(p)]
        found = [self._piece_section(p) for p in pieces]
        if len(pieces) < 2 or None in found:
            return None
        return "always" if "always" in found else "unsure"


@cache
def stock_phrases() -> StockPhrases:
    """The package's bag (``baseline_dub/stages/translate/stock_phrases.txt``), read once."""
    text = resources.files(__package__).joinpath(BAG_FILE).read_text(encoding="utf-8")
    return StockPhrases.parse(text, f"baseline_dub/stages/translate/{BAG_FILE}")


def _longest_repeat(keys: list[str], min_unit: int = 1) -> tuple[int, int, int, int] | None:
    """The back-to-back repeat of ``min_unit`` words or more that covers most words: ``(start, unit length,
    copies, words of an unfinished copy after them)``, or ``None`` when no such word sequence follows itself."""
    best: tuple[int, int, int, int] | None = None
    best_cut = 0
    size = len(keys)
    arr = np.array(keys, dtype=object)
    for n in range(min_unit, size // 2 + 1):
        same = arr[:-n] == arr[n:]  # same[i]: word i equals word i + n
        i = 0
        while i < same.size:
            if not same[i]:
                i += 1
                continue
            j = i
            while j < same.size and same[j]:
                j += 1
            copies = 1 + (j - i) // n  # words i .. j + n - 1 are the unit repeated, then a partial copy
            if copies >= 2 and (copies - 1) * n > best_cut:
                best, best_cut = (i, n, copies, (j - i) % n), (copies - 1) * n
            i = j
    return best


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """``text`` cut into tokens that keep the space before them (so that joining them gives ``text`` back), and
    each token's key as :func:`normalize` compares words; a token with no word (punctuation) joins the one
    before it. Scripts written without spaces (kana, CJK ideographs, hangul) give one token per character."""
    tokens: list[str] = []
    keys: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        key = " ".join(_words(token))
        if key or not tokens:
            tokens.append(token)
            keys.append(key)
        else:
            tokens[-1] += token
    return tokens, keys


def long_loop(text: str) -> bool:
    """Whether ``text`` says a phrase of ``LONG_LOOP[0]`` words or more ``LONG_LOOP[1]`` times in a row: a loop
    that neither Whisper's compression ratio (2.17 for a 6-word sentence said three times) nor the n-gram rule
    (up to 5 words) sees; no line of a character plausibly says so."""
    found = _longest_repeat(_tokens(text)[1], LONG_LOOP[0])
    return found is not None and found[2] >= LONG_LOOP[1]


def _phase(tokens: list[str], start: int, n: int, run_end: int) -> int:
    """Where the copy to keep of a repeat starts: the first shift of ``start`` (by less than ``n`` words, two
    copies or more left) whose copy ends a sentence, so that "... you listen to me. I will not let you listen to
    me." keeps "I will not let you listen to me." rather than "to me. I will not let you listen"; else ``start``."""
    for s in range(start, start + n):
        if (run_end - s) // n < 2:
            break
        if _CLOSING.search(tokens[s + n - 1]):
            return s
    return start


def _unfinished(rest: list[str], unit: list[str]) -> bool:
    """Whether the words ``rest`` that end a line are a copy of ``unit`` cut short (its last word perhaps cut
    inside: the token cap stops a loop anywhere)."""
    if not rest or len(rest) > len(unit):
        return False
    return rest[:-1] == unit[:len(rest) - 1] and unit[len(rest) - 1].startswith(rest[-1])


def deloop(text: str) -> str:
    """``text`` with each back-to-back repeat of a word sequence kept once (the longest repeat first; the copy kept
    ends a sentence where one can), and an unfinished last copy that ends the line dropped; the words around the
    loops are kept as written, and the punctuation that closed a loop's last copy closes the copy kept. Words
    compare as :func:`normalize` makes them; scripts written without spaces repeat character by character."""
    tokens, keys = _tokens(text)
    for k, token in enumerate(tokens):
        tokens[k] = _WORD_LOOP.sub(r"\1", token)
        keys[k] = " ".join(_words(tokens[k]))
    while (found := _longest_repeat(keys)) is not None:
        start, n, copies, partial = found
        run_end = start + copies * n + partial
        start = _phase(tokens, start, n, run_end)
        end = start + (run_end - start) // n * n
        closing = _CLOSING.search(tokens[end - 1])
        if _unfinished(keys[end:], keys[start:start + n]):  # the loop runs to the end, cut inside a copy
            end = len(keys)
        kept = start + n - 1
        if closing and not _CLOSING.search(tokens[kept]):
            tokens[kept] = tokens[kept].rstrip(",;:\u3001") + closing.group(0)
        del tokens[kept + 1:end], keys[kept + 1:end]
    cut = "".join(tokens).strip()
    return cut.rstrip(",;:\u3001 ") if cut != text.strip() else cut
