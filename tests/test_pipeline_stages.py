"""The pipeline only orders the stages; each stage's rules live in its package and are tested here on their own
and through a ``DubPipeline`` whose four models are small fakes: which speakers get a voice and which segments
are spoken (``Synthesizer.synthesize_clip``), when a clip has nothing to speak and the sentence its dub carries
(``Diarization.nothing_to_speak``, ``translate.no_usable_text``, ``synthesize.no_synthesis``), the backing and
mixing ratio a clip is remixed with (``remix.inputs``), and the diarization's fewer-speakers sentence reaching
the record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from baseline_dub.audio import Audio, loudness
from baseline_dub.config import Config, SynthesizeConfig
from baseline_dub.pipeline import DubInput, DubPipeline
from baseline_dub.stages.diarize import Diarization
from baseline_dub.stages.remix import remix_segments
from baseline_dub.stages.remix.inputs import backing_and_ratio, known_ratio
from baseline_dub.stages.remix.mixing_ratio import estimate_mixing_ratio
from baseline_dub.stages.synthesize import Synthesizer, no_synthesis
from baseline_dub.stages.synthesize.backend import Spoken
from baseline_dub.stages.translate import no_usable_text
from baseline_dub.stages.types import NothingToSpeak, Segment, Stems, Synthesis, Translation

RATE = 16000
FEWER = "diarization found 1 speaker(s) where 2 were expected: the others have no speech of their own"


def _tone(seconds: float, freq: float, rate: int = RATE, channels: int = 1, level: float = 0.3) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio(np.repeat((level * np.sin(2 * np.pi * freq * t))[None, :], channels, axis=0), rate)


def _line(text: str, skipped: str | None = None) -> Translation:
    return Translation(text=text, language="ja", avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.0,
                       skipped=skipped)


class _Encoder:
    def embed(self, audio: Audio) -> np.ndarray:
        return np.array([1.0, float(audio.frames % 7), 0.5])


class _Backend:
    """Speaks each chunk as 0.5 s of tone; ``speak_as`` with a chosen voice, ``speak`` with the reference's."""

    name, voice_method, rate, reference_rate = "fake", "nearest voice", RATE, RATE

    def speak(self, chunks: Sequence[str], reference: Audio, reference_embedding: np.ndarray, seed: int) -> Spoken:
        return Spoken(tuple(_tone(0.5, 300.0).samples[0] for _ in chunks), "own-search")

    def speak_as(self, chunks: Sequence[str], voice: str) -> Spoken:
        return Spoken(tuple(_tone(0.5, 300.0).samples[0] for _ in chunks), voice)


def _synthesizer(voices: Mapping[str, str], asked: list[dict[str, int]]) -> Synthesizer:
    synth = Synthesizer(_Backend(), _Encoder(), SynthesizeConfig())  # type: ignore[arg-type]

    def choose_voices(speakers: Mapping[str, Sequence[Audio]]) -> dict[str, str]:
        asked.append({s: len(a) for s, a in speakers.items()})
        return {s: v for s, v in voices.items() if s in speakers}

    synth.choose_voices = choose_voices  # type: ignore[method-assign]
    return synth


def test_synthesize_clip_gives_each_speaker_with_text_one_voice_and_skips_segments_without_text() -> None:
    vocals = _tone(6.0, 220.0)
    segments = [Segment(0.0, 1.0, "A"), Segment(1.5, 2.5, "B"), Segment(3.0, 4.0, "A"), Segment(4.5, 5.5, "C")]
    lines = [_line("Hello there."), _line("Hi."), _line("", "hallucination"), _line("", "no_speech")]
    asked: list[dict[str, int]] = []
    out = _synthesizer({"A": "voice-a"}, asked).synthesize_clip(segments, lines, vocals)
    assert asked == [{"A": 2, "B": 1}]  # C has no text: no voice chosen for it; A from both its segments
    assert out[2] is None and out[3] is None
    assert out[0] is not None and out[0].voice == "voice-a" and out[0].text == "Hello there."
    assert out[1] is not None and out[1].voice == "own-search"  # no voice chosen for B: its own reference's
    assert out[0].audio is not None and out[0].audio.duration == pytest.approx(0.5)


def test_the_nothing_to_speak_rules_of_each_stage() -> None:
    assert Diarization((), 2, 0, "no speech").nothing_to_speak() == NothingToSpeak(
        "no_speech", "no speech found in the separated vocals")
    assert Diarization((Segment(0.0, 1.0, "A"),), 2, 1, FEWER).nothing_to_speak() is None  # fewer is not none
    assert no_usable_text([]) is None  # nothing was translated: the diarization's reason already holds
    assert no_usable_text([_line("", "hallucination"), _line("Yes."), _line("", "no_speech")]) is None
    assert no_usable_text([_line("", "no_speech"), _line("", "hallucination"), _line("", None)]) == NothingToSpeak(
        "no_usable_text", "Whisper gave no usable English text (empty, hallucination, no_speech)")
    silent = Synthesis(None, "Yes.", "clone", "", 0.0, "", None, skipped="silent_reference")
    assert no_synthesis([None, silent]) == NothingToSpeak(
        "no_synthesis", "no synthesis produced speech (silent_reference)")
    spoken = Synthesis(_tone(0.5, 300.0), "Yes.", "clone", "v", 1.0, "segment", 0.9)
    assert no_synthesis([silent, spoken]) is None
    assert NothingToSpeak("no_speech", "nothing heard").note("ab/cd") == (
        "clip ab/cd: nothing heard; the dub is the clip's backing alone, at the source's loudness")
    assert NothingToSpeak("no_speech", "nothing heard").note() == (
        "nothing heard; the dub is the clip's backing alone, at the source's loudness")


def test_known_ratio_prefers_the_callers_over_the_sidecars() -> None:
    assert known_ratio(0.3, 0.7) == (0.3, "given")
    assert known_ratio(None, 0.7) == (0.7, "sidecar")
    assert known_ratio(0.0, None) == (0.0, "given")  # zero is a ratio, not "none"
    assert known_ratio(None, None) == (None, None)


def test_backing_and_ratio_fits_a_sidecar_backing_and_estimates_a_missing_ratio() -> None:
    source = _tone(3.0, 440.0, rate=44100, channels=2)
    stems = Stems(vocals=_tone(3.0, 440.0, 44100, 2, 0.2), backing=_tone(3.0, 110.0, 44100, 2, 0.1))
    sidecar = _tone(2.0, 110.0, rate=22050, channels=1)
    backing, (ratio, source_name) = backing_and_ratio(source, stems, -23.0, sidecar, 0.4, "sidecar")
    assert (backing.rate, backing.channels, backing.frames) == (44100, 2, source.frames)
    assert (ratio, source_name) == (0.4, "sidecar")
    backing, (ratio, source_name) = backing_and_ratio(source, stems, -23.0, ratio=0.25)
    assert backing is stems.backing and (ratio, source_name) == (0.25, "given")
    _, (ratio, source_name) = backing_and_ratio(source, stems, -23.0)
    assert source_name == "estimated"
    assert ratio == estimate_mixing_ratio(source, stems.vocals, stems.backing, -23.0)


def test_remix_segments_records_a_placement_per_sounding_segment_only() -> None:
    source = _tone(3.0, 110.0)
    segments = [Segment(0.2, 0.9, "A"), Segment(1.0, 1.5, "A"), Segment(2.0, 2.8, "B")]
    spoken = Synthesis(_tone(0.5, 300.0), "Yes.", "clone", "v", 1.0, "segment", 0.9)
    silent = Synthesis(None, "", "clone", "", 0.0, "", None, skipped="empty_text")
    result, placed = remix_segments(source, segments, [spoken, silent, spoken], source, 0.5, Config("offline").remix)
    assert placed[1] is None and len(result.segments) == 2
    assert placed[0] is result.segments[0] and placed[2] is result.segments[1]
    assert placed[2] is not None and placed[2].slot_start == 2.0
    assert loudness(result.audio) == pytest.approx(loudness(source), abs=0.1)


class _Separator:
    def separate_batch(self, audios: Sequence[Audio]) -> list[Stems]:
        return [Stems(vocals=a.scaled(0.5), backing=a.scaled(0.5)) for a in audios]


class _Diarizer:
    def __init__(self, result: Diarization) -> None:
        self.result = result

    def diarize_detailed(self, vocals: Audio, num_speakers: int | None = None,
                         multi_speaker: bool | None = None) -> Diarization:
        return self.result


class _Translator:
    def __init__(self, lines: list[Translation]) -> None:
        self.lines = lines

    def translate_batch(self, audios: Sequence[Audio]) -> list[Translation]:
        return self.lines[:len(audios)]


def _pipeline(diarization: Diarization, lines: list[Translation]) -> DubPipeline:
    pipe = DubPipeline.__new__(DubPipeline)  # the stages are fakes: nothing to load
    pipe.config = Config("offline")
    pipe.provenance = {"profile": "offline"}
    pipe.separator = _Separator()
    pipe.diarizer = _Diarizer(diarization)
    pipe.translator = _Translator(lines)
    pipe.synthesizer = _synthesizer({}, [])
    return pipe


def test_a_dub_with_fewer_speakers_than_expected_carries_the_diarizations_sentence() -> None:
    diarization = Diarization((Segment(0.5, 2.0, "SPEAKER_00"),), 2, 1, FEWER, ((0.5, 2.0),))
    dub = _pipeline(diarization, [_line("Good morning.")]).dub(
        DubInput(audio=_tone(3.0, 200.0, channels=2), clip_id="ab/cd", multi_speaker=True, num_speakers=2))
    assert dub.diarization is diarization and dub.nothing_spoken is None
    record = dub.record()
    assert record.quality_flags["fewer_speakers"] == FEWER
    assert record.speakers_expected == 2 and record.speakers_found == 1


@pytest.mark.parametrize("segments,lines,reason,why", [
    ((), [], "no_speech", "no speech found in the separated vocals"),
    ((Segment(0.5, 2.0, "SPEAKER_00"),), [_line("", "hallucination")], "no_usable_text",
     "Whisper gave no usable English text (hallucination)"),
    ((Segment(0.5, 2.0, "SPEAKER_00"),), [_line("...")], "no_synthesis",
     "no synthesis produced speech (empty_text)"),
])
def test_a_clip_with_nothing_to_speak_is_dubbed_with_its_backing_and_says_why(
        segments: tuple[Segment, ...], lines: list[Translation], reason: str, why: str) -> None:
    source = _tone(3.0, 200.0, channels=2)
    dub = _pipeline(Diarization(segments, None, len(segments)), lines).dub(DubInput(audio=source, clip_id="ab/cd"))
    assert dub.nothing_spoken == reason
    assert dub.note == f"clip ab/cd: {why}; the dub is the clip's backing alone, at the source's loudness"
    assert dub.placements == tuple(None for _ in segments)
    assert dub.dub_lufs == pytest.approx(dub.source_lufs, abs=0.1)
