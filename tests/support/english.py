"""Does a line read as English? The tests' and ``bench/``'s automatic check of a translation.

``english_evidence`` measures a line (its share of ASCII letters, of the 100 most frequent English words, its
word count) and ``looks_english`` decides from it. The package never judges its own output this way: it is
how the tests and ``bench/translation_quality.py`` tell an English translation from romanized Japanese,
noise words or an untranslated line.
"""

from __future__ import annotations

import re

# The 100 most frequent English words (function words mostly): about half of running English text.
_COMMON_EN = frozenset("""
the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only
come its over think also back after use two how our work first well way even new want because any these
give day most us is are was were am has had did does don't it's i'm can't you're that's there's
""".split())
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def english_evidence(text: str) -> dict[str, float]:
    """How English a line looks: ``ascii_share`` (ASCII among its letters), ``common_share`` (its words
    among the 100 most frequent English words) and ``words``. Used to check translations automatically.
    """
    letters = [c for c in text if c.isalpha()]
    words = _WORD_RE.findall(text.lower())
    ascii_share = sum(c.isascii() for c in letters) / len(letters) if letters else 0.0
    common_share = sum(w in _COMMON_EN for w in words) / len(words) if words else 0.0
    return {"ascii_share": ascii_share, "common_share": common_share, "words": float(len(words))}


def looks_english(text: str) -> bool:
    """True for a line of English: >= 95 % ASCII letters, >= 2 words, >= 20 % of them among the 100 most
    frequent English words (running English text has ~50 %, romanized Japanese or noise words ~0 %)."""
    e = english_evidence(text)
    return e["ascii_share"] >= 0.95 and e["words"] >= 2 and e["common_share"] >= 0.2
