"""Subtitles of a dub: cues at the placed times, WebVTT and SubRip text, the files beside a dub; the runner's
``.part`` cleanup knows the companions' temporaries."""

from __future__ import annotations

import os

import pytest

from baseline_dub.atomic import part_path
from baseline_dub.outputs.record import SegmentRecord, from_json, to_json
from baseline_dub.outputs.subtitles import (
    Cue,
    clip_cues,
    dub_cues,
    parse_srt,
    source_cues,
    to_srt,
    to_vtt,
    write_subtitles,
)
from baseline_dub.runner.clip_files import clip_name, stray_parts
from baseline_dub.runner.shards import in_shard

SEGMENTS = [SegmentRecord(**seg) for seg in [
    # placed where the remix put it; stretched by 1.25 (sounds 2.0 s), 0.2 s of it cut
    {"start": 0.5, "end": 2.4, "placed_start": 0.5, "synth_seconds": 2.5, "stretch": 1.25, "cut_seconds": 0.2,
     "text": "  I forgot\nmy wallet. ", "skipped": None},
    {"start": 2.0, "end": 3.0, "placed_start": 2.0, "synth_seconds": 1.0, "stretch": 1.0, "cut_seconds": 0.0,
     "text": "Wait --> here!", "skipped": None},  # starts before the first one ends: the first is cut there
    {"start": 3.0, "end": 3.5, "text": "(music)", "skipped": "non_verbal", "synth_seconds": 0.0},
    {"start": 3.6, "end": 9.0, "text": "Past the end.", "skipped": None, "synth_seconds": 0.0},  # the slot, clipped
    {"start": 4.0, "end": 4.5, "text": "", "skipped": None, "synth_seconds": 0.5},
]]


def test_cues_follow_the_placement_and_never_overlap():
    cues = dub_cues(SEGMENTS, duration=5.0)
    assert cues == [Cue(0.5, 2.0, "I forgot my wallet."), Cue(2.0, 3.0, "Wait --> here!"),
                    Cue(3.6, 5.0, "Past the end.")]
    assert dub_cues([SegmentRecord(start=1.0, end=2.0, text="x", placed_start=1.2, synth_seconds=0.5,
                                   stretch=1.0, cut_seconds=0.0)]) == [Cue(1.2, 1.7, "x")]
    assert dub_cues([SegmentRecord(text="tiny", start=1.0, end=1.01, synth_seconds=0.0)]) == []
    assert source_cues("おはよう", 3.25) == [Cue(0.0, 3.25, "おはよう")] and source_cues("", 3.0) == []


def test_vtt_and_srt_text():
    cues = [Cue(0.5, 2.0, "I forgot my wallet."), Cue(3661.25, 3662.0, "Wait --> here!")]
    assert to_vtt(cues, "en") == ("WEBVTT\nLanguage: en\n\n1\n00:00:00.500 --> 00:00:02.000\nI forgot my wallet.\n\n"
                                  "2\n01:01:01.250 --> 01:01:02.000\nWait -> here!\n\n")
    assert to_srt(cues) == ("1\n00:00:00,500 --> 00:00:02,000\nI forgot my wallet.\n\n"
                            "2\n01:01:01,250 --> 01:01:02,000\nWait -> here!\n\n")
    assert to_vtt([]) == "WEBVTT\n\n"  # a clip with nothing said: a valid file without cues


def test_files_beside_the_dub(tmp_path):
    dub = tmp_path / "test" / "ab" / "ab12-clip.wav"
    written = write_subtitles(dub, SEGMENTS, 5.0, "財布を忘れた。")
    assert {k: p.name for k, p in written.items()} == {
        "en_vtt": "ab12-clip.en.vtt", "en_srt": "ab12-clip.en.srt", "ja_vtt": "ab12-clip.ja.vtt"}
    assert written["ja_vtt"].read_text(encoding="utf-8") == (
        "WEBVTT\nLanguage: ja\n\n1\n00:00:00.000 --> 00:00:05.000\n財布を忘れた。\n\n")
    assert written["en_srt"].read_text(encoding="utf-8").count(" --> ") == 3
    assert set(write_subtitles(dub, [], 5.0, None)) == {"en_vtt", "en_srt"}  # no jp_text: no .ja.vtt
    mask = os.umask(0)
    os.umask(mask)
    assert written["en_vtt"].stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("name", ["ab12-clip.wav", "ab12-clip.mp4", "ab12-clip.en.vtt", "ab12-clip.en.srt",
                                  "ab12-clip.ja.vtt"])
def test_stray_parts_of_a_clips_companions_belong_to_its_shard(tmp_path, name):
    assert clip_name(name) == "ab12-clip"
    folder = tmp_path / "test" / "ab"
    folder.mkdir(parents=True)
    stray = part_path(folder / name)
    stray.write_bytes(b"x")
    shard = next((i, 3) for i in range(3) if in_shard("ab/ab12-clip", (i, 3)))
    other = ((shard[0] + 1) % 3, 3)
    assert stray_parts(tmp_path / "test", shard, False, set()) == [stray]
    assert stray_parts(tmp_path / "test", other, False, set()) == []


def test_srt_reads_back_and_clips_to_a_videos_length() -> None:
    cues = [Cue(0.5, 1.5, "Hello."), Cue(2.0, 4.9, "Still --> here."), Cue(4.0, 6.0, "Gone.")]
    back = parse_srt(to_srt(cues))
    assert back == [Cue(0.5, 1.5, "Hello."), Cue(2.0, 4.9, "Still -> here."), Cue(4.0, 6.0, "Gone.")]
    assert clip_cues(back, 2.5) == [Cue(0.5, 1.5, "Hello."), Cue(2.0, 2.5, "Still -> here.")]
    assert clip_cues(back, 2.02) == [Cue(0.5, 1.5, "Hello.")]  # 0.02 s left of a cue is rounding, not speech
    assert parse_srt("") == []


@pytest.mark.parametrize(("overlong", "fit_duration"), [("cut", False), ("fit", False), ("keep", True)])
def test_subtitles_and_report_agree_on_where_each_synthesis_ends(overlong, fit_duration):
    """The remix's own placements, through the records (a ``Dub``'s record written to JSON and read back): the
    report's span of every synthesis (its overlap with the next) ends where the subtitle line ends and where the
    sound really stops."""
    import json

    import numpy as np

    from baseline_dub.audio import Audio
    from baseline_dub.config import RemixConfig
    from baseline_dub.report.metrics import next_overlaps, placed_span
    from test_record import make_dub

    rate = 16000
    t = np.arange(int(2.6 * rate)) / rate
    speech = [Audio((0.3 * np.sin(2 * np.pi * 220 * t[: int(n * rate)])).astype(np.float32), rate)
              for n in (2.6, 0.8, 1.9)]
    slots = [(0.5, 2.0), (2.4, 3.6), (4.0, 5.0)]  # too long, too short, too long
    dub, result = make_dub(speech, slots, RemixConfig(overlong=overlong, fit_duration=fit_duration))
    record = from_json(json.loads(json.dumps(to_json(dub.record()))))
    rows = list(record.segments)
    assert [r.cut_seconds for r in rows] == [p.cut_seconds for p in result.segments]
    assert any(p.stretch != 1.0 or p.cut_seconds > 0 for p in result.segments)  # the rule did something
    for row, placed in zip(rows, result.segments, strict=True):
        sounds_until = placed.placed_start + placed.placed_seconds - placed.cut_seconds
        assert placed_span(row)[1] == pytest.approx(sounds_until, abs=1e-3)
    overlaps = next_overlaps(rows)
    cues = dub_cues(rows)
    for i, cue in enumerate(cues[:-1]):
        end = placed_span(rows[i])[1]
        assert cue.end == pytest.approx(min(end, cues[i + 1].start), abs=1e-3)
        assert (overlaps[i] > 1e-3) == (end > cues[i + 1].start + 1e-3)  # overlap in the report <=> line cut
