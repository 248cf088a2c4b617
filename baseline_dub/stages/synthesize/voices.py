"""Kokoro voices: names (language, gender, the pool a profile searches) and voice recipes (blends).

A Kokoro voice is a style table: float32 ``[510, 1, 256]``, one 256-d style per phoneme count; the 54 voices
of ``kokoro-js`` are assembled into one ``.npz`` by ``baseline_dub.models.converters.kokoro_voices``.

A :class:`VoiceRecipe` names voices and their mixing weights (summing to 1): the style of a recipe is
the weighted sum of its voices' style tables. Its ``key`` (``"af_heart"``, ``"0.70*af_heart+0.30*bf_emma"``)
is stable and is what the manifest records. Voice names start with a language and gender prefix:
``a`` American English, ``b`` British English, ``j`` Japanese, ...; then ``f`` female, ``m`` male.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from baseline_dub.errors import ConfigError

LANGUAGE_OF_PREFIX = {"a": "en-us", "b": "en-gb"}


def voice_language(name: str) -> str:
    """The espeak language Kokoro should phonemize English with for voice ``name`` (``en-us`` by default)."""
    return LANGUAGE_OF_PREFIX.get(name[:1], "en-us")


def voice_gender(name: str) -> str:
    """``female``/``male`` from a Kokoro voice name's second letter, ``""`` when it says neither."""
    return {"f": "female", "m": "male"}.get(name[1:2], "")


def select_voices(names: Iterable[str], prefixes: Sequence[str]) -> list[str]:
    """The voice names that start with one of ``prefixes`` (e.g. ``af am bf bm jf jm``; none: every voice), sorted."""
    chosen = sorted(n for n in names if n.startswith(tuple(prefixes) or ""))
    if not chosen:
        raise ConfigError(f"synthesize.voice_prefixes {list(prefixes)} select none of the voices "
                          f"({', '.join(sorted(names))})")
    return chosen


@dataclass(frozen=True)
class VoiceRecipe:
    """Voices and their mixing weights (positive, summing to 1), heaviest first, names breaking ties."""

    parts: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> VoiceRecipe:
        """A recipe from ``{voice: weight}``: zero weights dropped, weights normalised and rounded to 0.01."""
        kept = {n: float(w) for n, w in weights.items() if w > 0}
        if not kept:
            raise ValueError("a voice recipe needs at least one voice with a positive weight")
        total = sum(kept.values())
        parts = sorted(((n, round(w / total, 2)) for n, w in kept.items()), key=lambda p: (-p[1], p[0]))
        return cls(tuple(p for p in parts if p[1] > 0))

    @classmethod
    def parse(cls, key: str) -> VoiceRecipe:
        """The recipe of a ``key`` (``"af_heart"``, ``"0.7*af_heart+0.3*bf_emma"``; also ``"a+b"`` = 50/50)."""
        weights: dict[str, float] = {}
        terms = [t.strip() for t in key.split("+") if t.strip()]
        for term in terms:
            weight, _, name = term.rpartition("*")
            weights[name] = weights.get(name, 0.0) + (float(weight) if weight else 1.0 / len(terms))
        return cls.of(weights)

    @property
    def key(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0][0]
        return "+".join(f"{w:.2f}*{n}" for n, w in self.parts)

    @property
    def main(self) -> str:
        """The heaviest voice (it sets the phonemizer language)."""
        return self.parts[0][0]

    def as_dict(self) -> dict[str, float]:
        return dict(self.parts)

    def style(self, tables: Mapping[str, np.ndarray]) -> np.ndarray:
        """The weighted sum of the voices' style tables (float32)."""
        return np.sum([w * tables[n] for n, w in self.parts], axis=0).astype(np.float32)
