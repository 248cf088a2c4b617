"""Voice recipes, the bounded voice search and the distinct-voices rule, on embeddings made up to order."""

from __future__ import annotations

import numpy as np
import pytest

from baseline_dub.stages.synthesize.voice_search import (
    Candidate,
    VoiceChoice,
    assign_distinct,
    eligible_voices,
    search_voice,
)
from baseline_dub.stages.synthesize.voices import VoiceRecipe, select_voices, voice_gender, voice_language


def unit(*values: float) -> np.ndarray:
    v = np.zeros(8, np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def test_recipe_keys_weights_and_styles() -> None:
    recipe = VoiceRecipe.of({"bf_emma": 1, "af_heart": 3})
    assert recipe.key == "0.75*af_heart+0.25*bf_emma" and recipe.main == "af_heart"
    assert VoiceRecipe.parse(recipe.key) == recipe
    assert VoiceRecipe.parse("jf_alpha+jm_kumo").as_dict() == {"jf_alpha": 0.5, "jm_kumo": 0.5}
    assert VoiceRecipe.of({"am_adam": 1.0, "am_echo": 0.0}).key == "am_adam"
    tables = {"af_heart": np.full((510, 1, 256), 4.0, np.float32), "bf_emma": np.zeros((510, 1, 256), np.float32)}
    assert np.allclose(recipe.style(tables), 3.0) and recipe.style(tables).dtype == np.float32
    with pytest.raises(ValueError):
        VoiceRecipe.of({"af_heart": 0.0})


def test_voice_names_give_accent_gender_and_pool() -> None:
    assert [voice_language(n) for n in ("af_heart", "bm_lewis", "jf_alpha")] == ["en-us", "en-gb", "en-us"]
    assert [voice_gender(n) for n in ("bf_emma", "jm_kumo", "zz")] == ["female", "male", ""]
    names = ["af_a", "am_b", "ef_c", "jf_d", "zm_e"]
    assert select_voices(names, ("af", "am", "jf")) == ["af_a", "am_b", "jf_d"]
    assert eligible_voices(["af_a", "am_b", "jm_c"], "male") == ["am_b", "jm_c"]
    assert eligible_voices(["af_a", "am_b"], "") == ["af_a", "am_b"]


SINGLES = {"af_a": unit(1, 0, 0), "af_b": unit(0.8, 0.6, 0), "af_c": unit(0.6, 0, 0.8), "af_d": unit(0, 0, 1),
           "am_x": unit(0.99, 0.1, 0), "am_y": unit(0, 1, 0)}


def fake_embed(calls: list[str]):
    """A blend sounds like the normalised weighted sum of its voices' embeddings (and is counted)."""
    def embed(recipe: VoiceRecipe) -> tuple[np.ndarray, bool]:
        calls.append(recipe.key)
        mixed = sum(w * SINGLES[n] for n, w in recipe.parts)
        return mixed / np.linalg.norm(mixed), True
    return embed


def test_search_is_bounded_and_finds_the_best_blend() -> None:
    calls: list[str] = []
    reference = unit(0.85, 0.3, 0.1)
    ranked, fresh = search_voice(reference, SINGLES, "female", fake_embed(calls), k=3)
    assert fresh == len(calls) == 3 * 2 // 2 + 1 + 2  # pairs, the equal blend, two re-weightings
    assert all(n.startswith("af_") for c in ranked for n in c.recipe.as_dict())  # a female reference
    scores = [c.score for c in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(ranked[0].recipe.parts) == 2 and ranked[0].score > max(
        c.score for c in ranked if len(c.recipe.parts) == 1)
    singles_only, none = search_voice(reference, SINGLES, "", fake_embed(calls), blend=False)
    assert none == 0 and singles_only[0].recipe.key == "am_x"  # gender not clear: every voice eligible


def test_cached_blends_cost_nothing() -> None:
    cache: dict[str, np.ndarray] = {}

    def embed(recipe: VoiceRecipe) -> tuple[np.ndarray, bool]:
        if recipe.key in cache:
            return cache[recipe.key], False
        cache[recipe.key] = fake_embed([])(recipe)[0]
        return cache[recipe.key], True

    first = search_voice(unit(0.9, 0.4), SINGLES, "", embed)
    again = search_voice(unit(0.9, 0.4), SINGLES, "", embed)
    assert first[1] == 6 and again[1] == 0 and again[0][0].recipe == first[0][0].recipe


def choice(*candidates: tuple[str, float, np.ndarray]) -> VoiceChoice:
    ranked = tuple(Candidate(VoiceRecipe.parse(k), s, e) for k, s, e in candidates)
    return VoiceChoice(ranked[0], ranked, 120.0, "male", 0, 0.0)


def test_two_speakers_nearest_one_voice_get_distinct_voices_when_it_costs_little() -> None:
    a, b, c = unit(1, 0), unit(0, 1), unit(0, 0, 1)
    choices = {"SPEAKER_00": choice(("am_x", 0.70, a), ("am_y", 0.50, b)),
               "SPEAKER_01": choice(("am_x", 0.74, a), ("am_z", 0.71, c))}
    out = assign_distinct(choices, margin=0.05)
    assert out["SPEAKER_01"].recipe.key == "am_x"  # the nearer speaker keeps it
    assert out["SPEAKER_00"].recipe.key == "am_x" and out["SPEAKER_00"].shared_with == "SPEAKER_01"  # -0.20: shares
    choices["SPEAKER_00"] = choice(("am_x", 0.70, a), ("am_y", 0.67, b))
    out = assign_distinct(choices, margin=0.05)
    assert out["SPEAKER_00"].recipe.key == "am_y" and out["SPEAKER_00"].instead_of == "am_x"
    assert out["SPEAKER_00"].summary()["instead_of"] == "am_x" and out["SPEAKER_01"].shared_with is None


def test_a_blend_that_sounds_like_a_taken_voice_counts_as_that_voice() -> None:
    a = unit(1, 0)
    near_a, b = unit(1, 0.1), unit(0, 1)  # cosine 0.995 with a
    choices = {"S1": choice(("am_x", 0.8, a)),
               "S2": choice(("0.7*am_x+0.3*am_y", 0.75, near_a), ("am_y", 0.72, b))}
    out = assign_distinct(choices, margin=0.05, same_threshold=0.9)
    assert out["S1"].recipe.key == "am_x" and out["S2"].recipe.key == "am_y"
    assert list(out) == ["S1", "S2"]
