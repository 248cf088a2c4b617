"""Synthesis stage: reference rules on synthetic audio; the offline Kokoro backend on its real weights."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from baseline_dub.audio import Audio, load_audio
from baseline_dub.cli import main
from baseline_dub.stages.synthesize import (
    Synthesizer,
    VoiceReference,
    load_synthesizer,
    prepare_reference,
    reference_for,
    trim_silence,
)
from baseline_dub.stages.synthesize.voices import VoiceRecipe, voice_gender
from baseline_dub.stages.types import Segment

RATE = 16000


def tone(seconds: float, freq: float = 220.0, rate: int = RATE, amp: float = 0.3) -> Audio:
    t = np.arange(int(round(seconds * rate))) / rate
    return Audio(amp * np.sin(2 * np.pi * freq * t), rate)


def with_silence(audio: Audio, before: float, after: float) -> Audio:
    r = audio.rate
    return Audio(np.concatenate([np.zeros(int(before * r)), audio.samples[0], np.zeros(int(after * r))]), r)


# ---- reference rules (no models) -------------------------------------------------------------------
def test_trim_silence_drops_silence_and_resamples_to_mono() -> None:
    stereo = Audio(np.stack([with_silence(tone(1.0, rate=48000), 1.0, 2.0).samples[0]] * 2), 48000)
    trimmed = trim_silence(stereo, RATE)
    assert trimmed.rate == RATE and trimmed.channels == 1
    assert 0.95 <= trimmed.duration <= 1.1
    assert trim_silence(Audio.silence(2.0, RATE), RATE).frames == 0


def test_long_enough_segment_is_used_alone() -> None:
    ref = VoiceReference(with_silence(tone(3.5), 0.5, 0.5), (tone(2.0, 300),), tone(10.0, 400))
    out = prepare_reference(ref, RATE, min_seconds=3.0, max_seconds=12.0)
    assert out.source == "segment" and 3.4 <= out.seconds <= 3.6


def test_short_segment_is_extended_with_the_same_speaker_first() -> None:
    ref = VoiceReference(tone(1.0), (with_silence(tone(1.5, 300), 1.0, 1.0), tone(1.5, 330), tone(5.0, 360)),
                         tone(10.0, 400))
    out = prepare_reference(ref, RATE, min_seconds=3.0, max_seconds=12.0)
    assert out.source == "speaker"
    assert 3.9 <= out.seconds <= 4.1  # 1.0 + 1.5 + 1.5, the 5 s segment is not needed
    assert np.allclose(out.audio.samples[0, :RATE], tone(1.0).samples[0], atol=1e-5)


def test_then_with_the_clip_and_capped() -> None:
    ref = VoiceReference(tone(0.5), (tone(0.5, 300),), tone(20.0, 400))
    out = prepare_reference(ref, RATE, min_seconds=3.0, max_seconds=6.0)
    assert out.source == "clip" and out.seconds == pytest.approx(6.0, abs=1e-3)
    no_clip = prepare_reference(VoiceReference(tone(0.5), (tone(0.5, 300),)), RATE, 3.0, 6.0)
    assert no_clip.source == "speaker" and no_clip.seconds == pytest.approx(1.0, abs=0.05)


def test_reference_for_collects_the_speakers_other_segments() -> None:
    vocals = Audio(np.concatenate([tone(1.0, f).samples[0] for f in (200, 300, 400, 500)]), RATE)
    segs = [Segment(0.0, 1.0, "A"), Segment(1.0, 2.0, "B"), Segment(2.0, 3.0, "A"), Segment(3.0, 4.0, "A")]
    ref = reference_for(segs[0], segs, vocals)
    assert ref.segment.frames == RATE and len(ref.same_speaker) == 2 and ref.clip is vocals
    assert np.array_equal(ref.same_speaker[0].samples, vocals.slice(2.0, 3.0).samples)


# ---- Kokoro, real weights ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth(offline_config, store) -> Synthesizer:
    return load_synthesizer(dataclasses.replace(offline_config, device="cpu"), store)


def test_nearest_voice_of_a_kokoro_voice_is_that_voice(synth: Synthesizer) -> None:
    backend = synth.backend
    for voice in ("am_michael", "bf_emma", "af_heart"):
        own = Audio(backend.render("I would like to visit the old station tomorrow morning.",
                                   VoiceRecipe.of({voice: 1.0})), backend.rate)
        choice = synth.choose_voices({"S": [own]})["S"]
        assert choice.recipe.as_dict().get(voice, 0.0) >= 0.5, choice.summary()
        assert choice.gender == voice_gender(voice) and choice.chosen.score > 0.8
        assert choice.syntheses <= 3 * 2 // 2 + 3  # the stated bound for k = 3
        out = synth.synthesize("Good morning.", own, voice=choice)
        assert out.voice == choice.recipe.key and out.extra["voice_recipe"] == choice.recipe.as_dict()


@pytest.mark.parametrize(("name", "gender"), [("common_voice_ja_38843402_16k.wav", "female"),
                                              ("common_voice_ja_38853932_16k.wav", "male"),
                                              ("test_ja_2.wav", "male")])
def test_a_real_speaker_gets_a_voice_of_its_gender(synth: Synthesizer, real_dir: Path, name: str,
                                                   gender: str) -> None:
    """The voice search before this one gave jf_alpha (female) to both male speakers here."""
    choice = synth.choose_voices({"S": [load_audio(real_dir / "ja_speech" / name)]})["S"]
    assert choice.gender == gender and choice.reference_f0 is not None
    assert {voice_gender(n) for n in choice.recipe.as_dict()} == {gender}, choice.summary()


def test_speaks_english_from_real_japanese_reference(synth: Synthesizer, real_dir: Path) -> None:
    ref = load_audio(real_dir / "ja_speech" / "test_ja_1.wav")
    out = synth.synthesize("Dr. Tanaka paid $5 for 2 tickets.", ref)
    assert out.skipped is None and out.voice_method == "nearest voice"
    recipe = out.extra["voice_recipe"]
    assert VoiceRecipe.parse(out.voice).as_dict() == recipe and sum(recipe.values()) == pytest.approx(1.0, abs=0.02)
    assert all(name[:2] in synth.config.voice_prefixes for name in recipe)
    assert out.audio is not None and out.audio.rate == 24000 and out.audio.samples.dtype == np.float32
    assert out.audio.channels == 1 and 1.5 < out.audio.duration < 8.0 and out.audio.peak() > 0.05
    assert out.extra["spoken_text"] == "Doctor Tanaka paid five dollars for two tickets."
    assert out.reference_source == "segment" and out.reference_seconds > 3.0
    assert out.similarity is not None and 0.0 < out.similarity <= 1.0
    again = synth.synthesize("Dr. Tanaka paid $5 for 2 tickets.", ref)
    assert np.array_equal(again.audio.samples, out.audio.samples) and again.voice == out.voice


def test_short_real_segment_borrows_the_speakers_other_speech(synth: Synthesizer, real_dir: Path) -> None:
    vocals = load_audio(real_dir / "ja_speech" / "test_ja_2.wav")
    segs = [Segment(0.0, 1.2, "S0"), Segment(1.2, vocals.duration, "S0")]
    out = synth.synthesize("Yes.", reference_for(segs[0], segs, vocals))
    assert out.reference_source == "speaker" and out.reference_seconds >= 3.0


def test_empty_text_and_silent_reference_are_skipped(synth: Synthesizer) -> None:
    for text in ("", "   ", "... !"):
        out = synth.synthesize(text, tone(3.0))
        assert out.skipped == "empty_text" and out.audio is None and out.similarity is None
    out = synth.synthesize("Hello.", Audio.silence(3.0, RATE))
    assert out.skipped == "silent_reference" and out.audio is None


def test_long_text_is_split_and_joined_with_a_pause(synth: Synthesizer, real_dir: Path) -> None:
    ref = load_audio(real_dir / "ja_speech" / "test_ja_1.wav")
    cfg = dataclasses.replace(synth.config, max_chars_per_chunk=20, chunk_pause_seconds=0.5)
    out = Synthesizer(synth.backend, synth.encoder, cfg).synthesize("I am here. Where are you now? Come home.", ref)
    assert out.extra["chunks"] == 3
    quiet = np.abs(out.audio.samples[0]) < 1e-6
    runs, longest = 0, 0
    for q in quiet:
        runs = runs + 1 if q else 0
        longest = max(longest, runs)
    assert longest >= int(0.5 * 24000)


def test_cli_writes_the_synthesis(tmp_path: Path, real_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dub.wav"
    reference = str(real_dir / "ja_speech" / "test_ja_2.wav")
    code = main(["synthesize", "--text", "See you at 7:30.", "--reference", reference,
                 "--out", str(out), "--profile", "offline", "--device", "cpu"])
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    assert info["voice_method"] == "nearest voice" and info["spoken_text"] == "See you at seven thirty."
    assert VoiceRecipe.of(info["voice_recipe"]).key == info["voice"]
    data, rate = sf.read(out, dtype="float32")
    assert rate == 24000 and data.ndim == 1 and len(data) / rate == pytest.approx(info["seconds"], abs=1e-3)
    code = main(["synthesize", "--text", " ", "--reference", reference,
                 "--out", str(tmp_path / "none.wav"), "--profile", "offline", "--device", "cpu"])
    assert code == 2 and "empty_text" in capsys.readouterr().err and not (tmp_path / "none.wav").exists()
