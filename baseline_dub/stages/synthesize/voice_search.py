"""The offline voice search: the Kokoro voice, or blend of voices, that sounds nearest a speaker.

Every candidate is judged by what it sounds like: a recipe (voices and weights) speaks the
calibration line, and the Resemblyzer embedding of that speech is compared (cosine) with the
speaker's reference embedding. Single voices are judged once per model and cached; blends cost
one synthesis each the first time they are asked for. The search, for one speaker:

1. the pool: the configured voices (English ``af am bf bm`` by default; ``jf jm`` adds Japanese ones); when
   the reference's median F0 is clearly male or female (``pitch.gender_of_f0``), only the voices of
   that gender (by Kokoro's name, ``xf_``/``xm_``);
2. the ``k`` single voices nearest the reference (no synthesis: cached), all of the gender of the
   nearest one (a blend never mixes a man's voice with a woman's);
3. the 50/50 blend of every pair of them, and their equal blend (``k (k - 1) / 2 + 1`` syntheses);
4. the best pair found re-weighted 0.3/0.7 and 0.7/0.3 (2 syntheses);
5. every candidate judged is ranked by its cosine; the best is the speaker's voice.

So one speaker costs at most ``k (k - 1) / 2 + 3`` syntheses of the calibration line (6 for
``k = 3``), fewer when blends are cached. :func:`assign_distinct` then gives each speaker of a clip
its voice so that two speakers share one only when they really are nearest to it (its docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from baseline_dub.stages.synthesize.voices import VoiceRecipe, voice_gender

REFINE_WEIGHTS = (0.3, 0.7)


@dataclass(frozen=True)
class Candidate:
    """A recipe, its calibration embedding and its cosine to the reference it was judged for."""

    recipe: VoiceRecipe
    score: float
    embedding: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class VoiceChoice:
    """One speaker's voice: the chosen candidate, every candidate judged (best first) and the cost.

    ``reference_f0``/``gender``: the reference's median F0 and the gender range it fell in (``""``:
    not clear, so every voice was eligible). ``shared_with``: the speaker whose voice this one also
    speaks with when no distinct voice was near enough; ``instead_of``: the better recipe it gave up
    because another speaker of the clip holds it.
    """

    chosen: Candidate
    ranked: tuple[Candidate, ...]
    reference_f0: float | None
    gender: str
    syntheses: int
    search_seconds: float
    speaker: str = ""
    shared_with: str | None = None
    instead_of: str | None = None

    @property
    def recipe(self) -> VoiceRecipe:
        return self.chosen.recipe

    def summary(self) -> dict[str, Any]:
        """JSON-ready: recipe, score, pitch, gender, cost, the runners-up, and any sharing."""
        return {
            "speaker": self.speaker, "recipe": self.recipe.as_dict(), "score": round(self.chosen.score, 4),
            "reference_f0": None if self.reference_f0 is None else round(self.reference_f0, 1),
            "gender": self.gender, "syntheses": self.syntheses, "search_seconds": round(self.search_seconds, 3),
            "runners_up": {c.recipe.key: round(c.score, 4) for c in self.ranked[:4] if c is not self.chosen},
            "shared_with": self.shared_with, "instead_of": self.instead_of,
        }


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / (na * nb) if na > 0 and nb > 0 else 0.0


def eligible_voices(voices: Sequence[str], gender: str) -> list[str]:
    """The voices of ``gender`` (all of them when ``gender`` is ``""`` or none has it)."""
    same = [v for v in voices if voice_gender(v) == gender] if gender else []
    return same or list(voices)


def blend_candidates(top: Sequence[str]) -> list[VoiceRecipe]:
    """Step 3 of the search: the 50/50 blend of every pair of ``top`` and their equal blend."""
    pairs = [VoiceRecipe.of({a: 0.5, b: 0.5}) for a, b in combinations(top, 2)]
    return pairs + ([VoiceRecipe.of(dict.fromkeys(top, 1.0))] if len(top) > 2 else [])


def refine_candidates(best_pair: VoiceRecipe) -> list[VoiceRecipe]:
    """Step 4: the two voices of ``best_pair`` at the weights of :data:`REFINE_WEIGHTS`."""
    a, b = sorted(best_pair.as_dict())
    return [VoiceRecipe.of({a: w, b: 1.0 - w}) for w in REFINE_WEIGHTS]


def search_voice(reference: np.ndarray, singles: Mapping[str, np.ndarray], gender: str,
                 embed: Callable[[VoiceRecipe], tuple[np.ndarray, bool]], *, k: int = 3,
                 blend: bool = True) -> tuple[list[Candidate], int]:
    """Steps 1-5 of the module docstring for one reference embedding; returns (ranked, syntheses).

    ``singles`` holds the cached calibration embedding of each pool voice; ``embed(recipe)`` gives a
    blend's calibration embedding and whether it had to be synthesized (not cached).
    """
    pool = eligible_voices(sorted(singles), gender)
    judged = {v: Candidate(VoiceRecipe.of({v: 1.0}), _cosine(singles[v], reference), singles[v]) for v in pool}
    order = sorted(pool, key=lambda v: (-judged[v].score, v))
    top = [v for v in order if voice_gender(v) == voice_gender(order[0])][: max(1, k)]
    synthesized = 0

    def judge(recipes: list[VoiceRecipe]) -> None:
        nonlocal synthesized
        for recipe in recipes:
            if recipe.key in judged:
                continue
            embedding, fresh = embed(recipe)
            synthesized += int(fresh)
            judged[recipe.key] = Candidate(recipe, _cosine(embedding, reference), embedding)

    if blend and len(top) > 1:
        judge(blend_candidates(top))
        pairs = [c for c in judged.values() if len(c.recipe.parts) == 2]
        judge(refine_candidates(max(pairs, key=lambda c: (c.score, c.recipe.key)).recipe))
    ranked = sorted(judged.values(), key=lambda c: (-c.score, c.recipe.key))
    return ranked, synthesized


def same_voice(a: Candidate, b: Candidate, threshold: float) -> bool:
    """Whether two candidates are one voice: the same recipe, or calibration embeddings this close."""
    return a.recipe == b.recipe or _cosine(a.embedding, b.embedding) >= threshold


def assign_distinct(choices: Mapping[str, VoiceChoice], *, margin: float = 0.05,
                    same_threshold: float = 0.9) -> dict[str, VoiceChoice]:
    """Give each speaker of one clip a voice, distinct from the others' unless that costs too much.

    Speakers are served in order of how near their best candidate is (best first; ties by name), so
    the speaker nearest a voice keeps it. A later speaker whose best candidate is the same voice as
    one already given (:func:`same_voice`: same recipe, or calibration embeddings with cosine >=
    ``same_threshold``) takes its best candidate that is distinct from all of them, when that scores
    at most ``margin`` below its best; otherwise it shares the voice (``shared_with`` says whose),
    since it really is nearest to it.
    """
    order = sorted(choices, key=lambda s: (-choices[s].ranked[0].score, s))
    given: dict[str, Candidate] = {}
    out: dict[str, VoiceChoice] = {}
    for speaker in order:
        choice = choices[speaker]
        best = choice.ranked[0]
        clash = next((s for s, c in given.items() if same_voice(best, c, same_threshold)), None)
        picked, shared, instead = best, None, None
        if clash is not None:
            distinct = next((c for c in choice.ranked
                             if not any(same_voice(c, g, same_threshold) for g in given.values())), None)
            if distinct is not None and distinct.score >= best.score - margin:
                picked, instead = distinct, best.recipe.key
            else:
                shared = clash
        given[speaker] = picked
        out[speaker] = VoiceChoice(picked, choice.ranked, choice.reference_f0, choice.gender, choice.syntheses,
                                   choice.search_seconds, speaker, shared, instead)
    return {s: out[s] for s in choices}
