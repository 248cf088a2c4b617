"""One voice per speaker, distinct between speakers, recorded per segment: the whole pipeline on a real
two-person conversation (real Japanese speech of a woman and a man, female turn, male turn, female turn)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baseline_dub.audio import load_audio
from baseline_dub.pipeline import DubInput, DubPipeline
from baseline_dub.stages.synthesize.voices import VoiceRecipe, voice_gender
from support.diarization import build_conversation

FEMALE = "common_voice_ja_38843402_16k.wav"
MALE = "common_voice_ja_38853932_16k.wav"


@pytest.fixture(scope="module")
def conversation_dub(store, real_dir):
    pipe = DubPipeline("offline", store=store, device="cpu", announce=False)
    turns = []
    for name, who in ((FEMALE, "f"), (MALE, "m"), (FEMALE, "f")):
        audio = load_audio(real_dir / "ja_speech" / name).mono().resample(16000)
        regions = pipe.diarizer.vad.speech(audio)
        turns.append((audio.slice(regions[0][0], regions[-1][1]), who))
    audio, reference = build_conversation(turns, gap=0.6)
    return pipe.dub(DubInput(audio=audio, clip_id="conversation", multi_speaker=True, num_speakers=2)), reference


def test_every_segment_of_a_speaker_speaks_with_its_one_voice(conversation_dub) -> None:
    dub, reference = conversation_dub
    voices: dict[str, set[str]] = {}
    for seg, syn in zip(dub.segments, dub.syntheses, strict=True):
        if syn is not None and syn.audio is not None:
            voices.setdefault(seg.speaker, set()).add(syn.voice)
    assert len(voices) == 2 and all(len(v) == 1 for v in voices.values()), voices
    speakers_of_turns = [next(s.speaker for s in dub.segments if s.start < r.end and s.end > r.start)
                         for r in reference]
    assert speakers_of_turns[0] == speakers_of_turns[2] != speakers_of_turns[1]  # the woman twice, the man
    (woman,), (man,) = voices[speakers_of_turns[0]], voices[speakers_of_turns[1]]
    assert woman != man  # distinct speakers, distinct voices
    assert {voice_gender(n) for n in VoiceRecipe.parse(woman).as_dict()} == {"female"}
    assert {voice_gender(n) for n in VoiceRecipe.parse(man).as_dict()} == {"male"}


def test_the_recipe_and_the_search_are_recorded_per_segment(conversation_dub, tmp_path: Path) -> None:
    dub, _ = conversation_dub
    rows = json.loads((dub.save(tmp_path / "conv") / "dub.json").read_text())["segments"]
    spoken = [(row, syn) for row, syn in zip(rows, dub.syntheses, strict=True) if syn is not None and syn.audio]
    assert spoken
    for row, syn in spoken:
        recipe = row["voice_recipe"]
        assert VoiceRecipe.of(recipe).key == row["voice"] == syn.voice
        assert sum(recipe.values()) == pytest.approx(1.0, abs=0.02) and all(w > 0 for w in recipe.values())
        search = syn.extra["voice_choice"]
        assert search["speaker"] == row["speaker"] and search["recipe"] == recipe
        assert 0 <= search["syntheses"] <= 6 and search["search_seconds"] >= 0.0
