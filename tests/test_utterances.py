"""Utterances (stages/diarize/utterances.py): segments cut at their pauses, and speech coverage. No weights."""

from __future__ import annotations

from dataclasses import replace

import pytest

from baseline_dub.config import DiarizeConfig
from baseline_dub.stages.diarize import single_speaker_utterances
from baseline_dub.stages.diarize.utterances import covered_seconds, speech_seconds, split_utterances
from baseline_dub.stages.types import Segment


def _reading(lines: int, line: float = 2.5, pause: float = 0.5) -> list[tuple[float, float]]:
    step = line + pause
    return [(i * step, i * step + line) for i in range(lines)]


def test_a_long_monologue_is_cut_at_pauses_into_pieces_no_longer_than_the_limit():
    speech = _reading(25)  # 74.5 s of one speaker, a 0.5 s pause every 2.5 s
    out = split_utterances([Segment(0.0, 74.5, "S")], speech, max_seconds=10.0, pad=0.1)
    assert len(out) == 9  # 75 s in pieces of at most 10 s: no fewer than 8, and the fill wastes little
    assert out[0].start == 0.0 and out[-1].end == 74.5
    for a, b in zip(out, out[1:], strict=False):
        assert a.end <= b.start  # never overlapping
        assert any(x[1] <= a.end and b.start <= y[0] for x, y in zip(speech, speech[1:], strict=False))  # in a pause
    spans = [(s.start, s.end) for s in out]
    assert all(e - s <= 10.0 + 2 * 0.1 for s, e in spans)
    assert covered_seconds(speech, out) == pytest.approx(speech_seconds(speech))  # no speech lost
    assert {s.speaker for s in out} == {"S"}


def test_the_longest_pause_is_the_cut():
    speech = [(0.0, 2.0), (2.2, 4.0), (5.5, 7.0), (7.1, 9.0), (9.2, 11.0), (11.3, 12.0)]
    out = split_utterances([Segment(0.0, 12.0, "S")], speech, max_seconds=8.0, pad=0.1)
    assert [(s.start, s.end) for s in out] == [(0.0, 4.1), (5.4, 12.0)]


def test_short_segments_no_pause_and_no_limit_stay_whole():
    seg = Segment(1.0, 9.0, "A")
    assert split_utterances([seg], [(1.0, 4.0), (4.5, 9.0)], 10.0) == [seg]
    assert split_utterances([seg], [(1.0, 9.0)], 5.0) == [seg]  # one 8 s region: no pause to cut at
    assert split_utterances([seg], [(1.0, 4.0), (5.0, 9.0)], 0.0) == [seg]  # 0: no cutting at all
    assert split_utterances([seg], [], 5.0) == [seg]  # VAD heard nothing inside: kept as diarized


def test_each_speaker_segment_is_cut_on_its_own():
    speech = _reading(8)  # 0 .. 23.5 s
    segs = [Segment(0.0, 11.5, "A"), Segment(12.0, 23.5, "B")]
    out = split_utterances(segs, speech, max_seconds=6.0)
    assert [s.speaker for s in out] == ["A", "A", "B", "B"]
    assert all(a.end <= b.start for a, b in zip(out, out[1:], strict=False))
    assert all(s.start >= 0.0 and s.end <= 23.5 for s in out)


def test_coverage_counts_speech_under_segments_once():
    speech = [(0.0, 2.0), (3.0, 5.0), (6.0, 10.0)]
    assert speech_seconds(speech) == 8.0
    assert covered_seconds(speech, [Segment(0.0, 5.0, "A"), Segment(1.0, 4.0, "B")]) == pytest.approx(4.0)
    assert covered_seconds(speech, [Segment(8.0, 20.0, "A")]) == pytest.approx(2.0)
    assert covered_seconds(speech, []) == 0.0


def _dub(segments, dubbed, speech, requested=None, found=None):
    """A ``Dub`` whose ``dubbed`` segments got speech, as the pipeline leaves it (audio content is irrelevant)."""
    from baseline_dub.audio import Audio
    from baseline_dub.outputs.dub import Dub
    from baseline_dub.stages.diarize import Diarization
    from baseline_dub.stages.types import Stems, Synthesis, Translation

    silence = Audio.silence(1.0, 16000)
    syn = Synthesis(audio=silence, text="we are here now", voice_method="nearest voice", voice="af_heart",
                    reference_seconds=1.0, reference_source="segment", similarity=0.5)
    found = len({s.speaker for s in segments}) if found is None else found
    return Dub(audio=silence, source=silence, stems=Stems(silence, silence), segments=tuple(segments),
               translations=tuple(Translation("x", "en", -0.5, 0.1, 1.0) for _ in segments),
               syntheses=tuple(syn if d else None for d in dubbed), mixing_ratio=1.0, ratio_source="estimated",
               source_lufs=-23.0, dub_lufs=-23.0, stage_seconds={}, provenance={},
               diarization=Diarization(tuple(segments), requested, found, "only one voice found", tuple(speech)))


def test_a_dub_that_speaks_under_half_its_speech_is_flagged_low_coverage():
    speech = [(0.0, 2.0), (3.0, 5.0), (6.0, 10.0)]
    segs = [Segment(0.0, 5.0, "A"), Segment(5.5, 10.0, "A")]
    low = _dub(segs, [True, False], speech)
    cov = low.coverage()
    assert cov.speech_seconds == 8.0 and cov.covered_seconds == 4.0 and cov.coverage == 0.5
    assert cov.en_words_per_speech_second == pytest.approx(4 / 8)
    assert "low_coverage" not in low.quality_flags()  # 50 % is not under 50 %
    lower = _dub([Segment(0.0, 2.5, "A"), Segment(2.5, 10.0, "A")], [True, False], speech)
    assert "low_coverage" in lower.quality_flags() and "25 %" in lower.quality_flags()["low_coverage"]
    full = _dub(segs, [True, True], speech)
    assert full.coverage().coverage == 1.0 and full.quality_flags() == {}
    record = lower.record()
    assert record.coverage == 0.25 and record.quality_flags == lower.quality_flags()
    assert record.speakers_found == 1 and record.speakers_expected is None


def test_fewer_speakers_than_annotated_is_a_recorded_flag():
    speech = [(0.0, 4.0)]
    dub = _dub([Segment(0.0, 4.0, "A")], [True], speech, requested=2)
    assert dub.quality_flags() == {"fewer_speakers": "only one voice found"}
    record = dub.record()
    assert record.speakers_expected == 2 and record.speakers_found == 1
    assert _dub([Segment(0.0, 2.0, "A"), Segment(2.0, 4.0, "B")], [True, True], speech, 2).quality_flags() == {}


def test_single_speaker_utterances_trim_drop_and_cut() -> None:
    """The one rule of a single-speaker clip and of `translate`: trimmed to speech, too short dropped, cut at pauses."""
    config = DiarizeConfig(max_utterance_seconds=10.0, speech_pad_seconds=0.1, min_segment_seconds=0.5)
    speech = [(1.0, 6.0), (6.5, 9.0), (10.0, 14.0)]  # 13 s from first to last word: over the limit
    # trimmed to 0.9-14.1, cut at the longest pause (9.0-10.0) that leaves the first piece at least 5 s
    assert single_speaker_utterances(speech, 20.0, config) == [Segment(0.9, 9.1, "SPEAKER_00"),
                                                               Segment(9.9, 14.1, "SPEAKER_00")]
    assert single_speaker_utterances(speech, 20.0, replace(config, max_utterance_seconds=0.0)) == [
        Segment(0.9, 14.1, "SPEAKER_00")]
    assert single_speaker_utterances([], 20.0, config) == []  # no speech heard
    assert single_speaker_utterances([(3.0, 3.2)], 20.0, config) == []  # 0.4 s with its padding: under 0.5 s
    assert single_speaker_utterances([(0.05, 4.98)], 5.0, config) == [Segment(0.0, 5.0, "SPEAKER_00")]
