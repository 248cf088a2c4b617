"""Speaker counts on real two-person dialogues (J-Moshi, one speaker per channel) and real single speakers.

The figures quoted are what ``bench/diarization_der.py`` prints (offline profile, 0.25 s collar); the
bounds leave a margin over them but fail the code before the count fixes (7 of 10 dialogues collapsed to
one speaker without a count, DER 25.5 %).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import DiarizeConfig
from baseline_dub.stages.diarize import Diarizer
from baseline_dub.stages.types import Segment
from support.diarization import channel_reference, diarization_error_rate

OWN_SPEECH_SECONDS = 1.5
SINGLE_SPEAKERS = ["common_voice_ja_38833628_16k.wav", "common_voice_ja_38843402_16k.wav",
                   "common_voice_ja_38853932_16k.wav", "common_voice_ja_38898180_16k.wav", "test_ja_2.wav"]


def dialogues(real_dir: Path) -> list[tuple[str, Audio, list[Segment]]]:
    """Each J-Moshi dialogue: its name, mono mix and channel reference (``ch0``, ``ch1``)."""
    out = []
    for path in sorted((real_dir / "ja_dialogue").glob("*.wav")):
        stereo = load_audio(path)
        out.append((path.name, stereo.mono(), channel_reference(stereo)))
    return out


def own_speech(reference: list[Segment], speaker: str) -> float:
    return sum(s.duration for s in reference if s.speaker == speaker)


def weighted_der(results: list[tuple[list[Segment], list[Segment], float]]) -> float:
    """DER over several clips, each weighted by its reference speech (as the bench's "total")."""
    speech = [sum(s.duration for s in ref) for ref, _, _ in results]
    errors = [diarization_error_rate(ref, hyp, 0.25, dur) * weight
              for (ref, hyp, dur), weight in zip(results, speech, strict=True)]
    return sum(errors) / sum(speech)


@pytest.fixture(scope="module")
def jmoshi(real_dir) -> list[tuple[str, Audio, list[Segment]]]:
    return dialogues(real_dir)


def test_count_gives_two_speakers_on_every_dialogue_where_both_speak(diarizer, jmoshi) -> None:
    """With ``num_speakers=2``, every dialogue whose two speakers each have >= 1.5 s of speech (6 of the 10:
    the others' second speaker says 0.2-0.9 s) yields exactly two speakers; DER over all ten with the count
    is 17.7 % measured (bound 20 %)."""
    chosen, results = [], []
    for name, mix, reference in jmoshi:
        result = diarizer.diarize_detailed(mix, num_speakers=2)
        results.append((reference, list(result.segments), mix.duration))
        if min(own_speech(reference, "ch0"), own_speech(reference, "ch1")) >= OWN_SPEECH_SECONDS:
            chosen.append(name)
            assert (result.speakers_expected, result.speakers_found, result.reason) == (2, 2, None), name
    assert len(chosen) == 6
    assert weighted_der(results) <= 0.20


def test_without_a_count_dialogues_do_not_collapse(diarizer, jmoshi) -> None:
    """No count: 8 of 10 dialogues come back with two speakers (the other two are 406, whose ch0 says 0.6 s,
    and ext-159, whose ch1 says 0.2 s), DER 17.0 % measured; asserted >= 7 of 10 and DER <= 20 % (before:
    3 of 10, 25.5 %)."""
    results, two = [], 0
    for _, mix, reference in jmoshi:
        result = diarizer.diarize_detailed(mix)
        assert result.speakers_expected is None and result.reason is None
        two += result.speakers_found == 2
        results.append((reference, list(result.segments), mix.duration))
    assert two >= 7
    assert weighted_der(results) <= 0.20


@pytest.mark.parametrize("name", SINGLE_SPEAKERS)
def test_real_single_speakers_stay_one_speaker(diarizer, real_dir, name) -> None:
    """Each Common Voice file and test_ja_2 (one man) is diarized (no single-speaker shortcut) as one speaker."""
    result = diarizer.diarize_detailed(load_audio(real_dir / "ja_speech" / name), multi_speaker=True)
    assert result.speakers_found == 1


def test_count_honoured_on_separated_vocals(diarizer, store, offline_config, real_dir) -> None:
    """The `run` case: Spleeter's vocals of a dialogue made 48 kHz stereo. In jmoshi-ext-406 the second
    cluster's only turn on the vocals is 0.49 s, under ``min_segment_seconds``: the backend's raw turns had
    two speakers, so no split was tried, and the cleaned segments had one. The count is now checked after
    the rules, and the split gives two."""
    from baseline_dub.stages.separate import load_separator

    mix = load_audio(real_dir / "ja_dialogue" / "jmoshi-ext-406-cont.wav").mono()
    stereo = Audio(np.repeat(mix.samples, 2, axis=0), mix.rate).resample(48000)
    vocals = load_separator(offline_config, store).separate_batch([stereo])[0].vocals
    result = diarizer.diarize_detailed(vocals, num_speakers=2, multi_speaker=True)
    assert (result.speakers_found, result.reason) == (2, None)


# ---- the count is checked after the cleaning rules (no models) ---------------------------------------
class FakeBackend:
    """Two raw speakers, the second with one 0.4 s turn; ``split`` is what ``split_into_voices`` returns."""

    def __init__(self, split: list[Segment] | None) -> None:
        self.split = split

    def turns(self, vocals: Audio, num_speakers: int | None = None) -> list[Segment]:
        return [Segment(0.0, 3.0, "a"), Segment(3.0, 3.4, "b")]

    def split_into_voices(self, vocals: Audio, speech: list[Segment], num_speakers: int) -> list[Segment] | None:
        return self.split


class FakeVad:
    def speech(self, audio: Audio) -> list[tuple[float, float]]:
        return [(0.0, audio.duration)]


@pytest.mark.parametrize("split", [[Segment(0.0, 1.8, "x"), Segment(1.8, 3.4, "y")], None])
def test_short_second_speaker_triggers_the_split(split) -> None:
    config = dataclasses.replace(DiarizeConfig(), min_segment_seconds=0.5)
    diarizer = Diarizer(FakeBackend(split), FakeVad(), config)
    audio = Audio(np.full(16000 * 4, 0.1, np.float32), 16000)
    result = diarizer.diarize_detailed(audio, num_speakers=2)
    if split:
        assert (result.speakers_expected, result.speakers_found, result.reason) == (2, 2, None)
        assert [s.end for s in result.segments] == [1.8, 3.4]
    else:
        assert (result.speakers_found, len(result.segments)) == (1, 1)
        assert result.reason.startswith("diarization found 1 speaker(s) where 2 were expected")
    plain = diarizer.diarize_detailed(audio)
    assert (plain.speakers_expected, plain.speakers_found, plain.reason) == (None, 1, None)
    silent = diarizer.diarize_detailed(Audio.silence(0.2, 16000), num_speakers=2)
    assert silent.speakers_found == 0 and "no speech" in silent.reason
