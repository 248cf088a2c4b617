"""The typed clip record: a ``Dub``'s record written to JSON and read back equal, rows written before the ``schema``
key (real rows of a run, ``tests/data/manifest_schema0.jsonl``) read into the same types, the readers on records,
and ``docs/manifest.md`` describing exactly the keys the types write."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio
from baseline_dub.config import RemixConfig
from baseline_dub.outputs.dub import Dub
from baseline_dub.outputs.record import (
    RUN_KEYS,
    SCHEMA,
    ClipRecord,
    SegmentRecord,
    Status,
    SubtitlePaths,
    VideoOutcome,
    from_json,
    json_keys,
    to_json,
)
from baseline_dub.report.metrics import ClipInputs, evaluate_clip
from baseline_dub.runner.manifest import ManifestWriter, done_ids, read_manifest
from baseline_dub.runner.summary import RunSummary
from baseline_dub.stages.diarize import Diarization
from baseline_dub.stages.remix import RemixResult, remix
from baseline_dub.stages.types import NothingSpoken, Segment, Stems, Synthesis, Translation

ROOT = Path(__file__).resolve().parent.parent
OLD_ROWS = Path(__file__).resolve().parent / "data" / "manifest_schema0.jsonl"


def make_dub(speech: Sequence[Audio], slots: Sequence[tuple[float, float]], config: RemixConfig,
             nothing_spoken: str | None = None) -> tuple[Dub, RemixResult]:
    """A ``Dub`` of a 6 s tone whose syntheses ``speech`` the real remix placed in ``slots`` (one speaker a
    slot, alternating), as the pipeline builds it; and the remix's result."""
    rate = speech[0].rate if speech else 16000
    source = Audio((0.05 * np.sin(2 * np.pi * 440 * np.arange(6 * rate) / rate)).astype(np.float32), rate)
    result = remix(source, [(s, e, a) for (s, e), a in zip(slots, speech, strict=True)], source, 0.5, config)
    segments = tuple(Segment(s, e, f"SPEAKER_{i % 2:02d}") for i, (s, e) in enumerate(slots))
    translations = tuple(Translation(f"line {i}", "en", -0.2, 0.01, 1.3) for i in range(len(slots)))
    syntheses = tuple(Synthesis(a, f"line {i}", "nearest voice", "af_heart", 1.5, "segment", 0.61,
                                extra={"voice_recipe": {"af_heart": 1.0}}) for i, a in enumerate(speech))
    diarization = Diarization(segments, 2, len({s.speaker for s in segments}), None, tuple(slots))
    dub = Dub(audio=result.audio, source=source, stems=Stems(source, source), segments=segments,
              translations=translations, syntheses=syntheses, mixing_ratio=0.5, ratio_source="given",
              source_lufs=result.source_lufs, dub_lufs=result.output_lufs, stage_seconds={"remix": 0.01},
              provenance={"profile": "offline", "models": {"kokoro": "ab" * 32}}, placements=tuple(result.segments),
              clip_id="ab/ab12-clip", diarization=diarization, overlong_rule=config.overlong,
              fit_duration=config.fit_duration, limiter_reduction_db=round(result.limiter_reduction_db, 2),
              nothing_spoken=nothing_spoken, note="clip ab/ab12-clip: nothing to say" if nothing_spoken else None)
    return dub, result


def _tone_dub(nothing_spoken: str | None = None) -> Dub:
    rate = 16000
    t = np.arange(int(2.6 * rate)) / rate
    speech = [Audio((0.3 * np.sin(2 * np.pi * 220 * t[: int(n * rate)])).astype(np.float32), rate) for n in (2.6, 0.8)]
    return make_dub(speech, [(0.5, 2.0), (2.4, 3.6)], RemixConfig(overlong="cut"), nothing_spoken)[0]


def _through_json(record: ClipRecord) -> ClipRecord:
    return from_json(json.loads(json.dumps(to_json(record))))


def test_a_dubs_record_reads_back_equal_through_json():
    record = _tone_dub().record(files=["seg-00.flac", "seg-01.flac"])
    assert record.status == Status.DONE and record.schema == SCHEMA and record.note is None
    assert [s.file for s in record.segments] == ["seg-00.flac", "seg-01.flac"]
    assert record.segments[0].cut_seconds > 0 and record.segments[0].rule == "cut"  # the placement is recorded
    assert _through_json(record) == record
    run_row = dataclasses.replace(record, split="test", output="test/ab/ab12-clip.wav", parts="test/ab/ab12-clip",
                                  subtitles=SubtitlePaths("a.en.vtt", "a.en.srt"),
                                  video=VideoOutcome(None, "missing_video", "no video clip"))
    assert _through_json(run_row) == run_row
    assert {"video", "video_reason", "video_error"} <= set(to_json(run_row))
    assert "video" not in to_json(record) and "ja_vtt" not in to_json(run_row)["subtitles"]


def test_a_dub_that_speaks_nothing_records_its_sentence_as_a_note():
    record = _tone_dub(NothingSpoken.NO_USABLE_TEXT).record()
    row = to_json(record)
    assert (row["status"], row["reason"], row["error"]) == ("no_speech", "no_usable_text", None)
    assert row["note"] == "clip ab/ab12-clip: nothing to say"
    assert _through_json(record) == record


def test_a_kept_dub_json_is_the_record_less_the_run_keys(tmp_path):
    dub = _tone_dub()
    dub.save(tmp_path)
    info = json.loads((tmp_path / "dub.json").read_text(encoding="utf-8"))
    assert info.pop("provenance") == dub.provenance
    assert not set(info) & set(RUN_KEYS) and info["schema"] == SCHEMA
    assert from_json(info) == dub.record(files=["seg-00.flac", "seg-01.flac"])


def test_failure_rows_hold_only_the_keys_every_row_holds():
    row = ClipRecord(clip_id="a/a1", status=Status.FAILED, reason="bad_audio", error="damaged", split="test")
    written = to_json(row)
    assert "segments" not in written and "duration" not in written and written["error"] == "damaged"
    assert _through_json(row) == row


# Segment keys added after the schema-0 rows were written, with the value that reads as an old row's meaning:
# Whisper's text is the text (no ``heard``), nothing delooped.
SEGMENT_KEYS_ADDED = {"heard": None, "delooped": False}


def _old_rows() -> list[dict]:
    return [json.loads(line) for line in OLD_ROWS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_rows_written_before_the_schema_key_load():
    old = _old_rows()
    assert all("schema" not in row for row in old)
    records = [from_json(row) for row in old]
    assert [r.status for r in records] == ["done", "no_speech", "no_speech", "failed", "missing_audio", "done",
                                           "missing_audio"]
    assert all(r.schema == 0 for r in records)
    done, quiet, refused = records[0], records[1], records[2]
    assert done.segments and isinstance(done.segments[0], SegmentRecord) and done.subtitles is not None
    assert done.segments[0].synth_seconds == old[0]["segments"][0]["synth_seconds"]
    # an old no_speech row's sentence was its ``error``: now its ``note``
    assert quiet.error is None and quiet.note == old[1]["error"] and quiet.reason == NothingSpoken.SPEECH_NOT_FOUND
    assert refused.reason == NothingSpoken.NO_USABLE_TEXT and refused.message == old[2]["error"]
    assert records[3].error == old[3]["error"] and records[3].note is None
    for row, record in zip(old, records, strict=True):  # written again: the same keys and values, but those renamed
        again = to_json(record)
        assert again.pop("schema") == SCHEMA
        assert again.pop("whisper", None) is None  # added since (rows with a dub): unknown for an old row
        if record.status == Status.NO_SPEECH:
            assert again.pop("note") == row["error"] and again["error"] is None
            again["error"] = row["error"]
        elif record.has_dub:
            assert again.pop("note") is None
        for segment in again.get("segments", ()):  # keys added since (issue 29), at what an old row meant
            assert {k: segment.pop(k) for k in SEGMENT_KEYS_ADDED} == SEGMENT_KEYS_ADDED
        assert again == row


def test_an_old_dub_json_without_status_loads():
    old = {"clip_id": "x/y", "duration": 1.0, "no_speech": "no_usable_text", "note": "clip x/y: nothing usable",
           "segments": [{"start": 0.0, "end": 1.0, "speaker": "SPEAKER_00", "text": "", "skipped": "no_speech"}],
           "provenance": {"profile": "offline"}}
    record = from_json(old)
    assert (record.status, record.reason, record.note) == ("no_speech", "no_usable_text", "clip x/y: nothing usable")
    assert record.segments[0].sounding_span() is None and from_json({"clip_id": "x/z"}).status == Status.DONE


def test_the_manifest_writes_and_reads_records(tmp_path):
    old = _old_rows()
    split_dir = tmp_path / "test"
    split_dir.mkdir()
    (split_dir / "manifest.jsonl").write_text(json.dumps(old[1]) + "\n", encoding="utf-8")  # an old row first
    new = dataclasses.replace(from_json(old[0]), video=VideoOutcome("test/x.mp4"))
    with ManifestWriter(split_dir / "manifest.jsonl") as writer:
        writer.write(new)
    rows = read_manifest(split_dir)
    assert rows[new.clip_id] == dataclasses.replace(new, schema=SCHEMA)
    assert rows[old[1]["clip_id"]].note == old[1]["error"]
    (tmp_path / new.output).parent.mkdir(parents=True)
    (tmp_path / new.output).write_bytes(b"RIFF")
    assert done_ids(tmp_path, "test") == {new.clip_id}


def test_readers_read_the_records_fields(tmp_path):
    records = [from_json(row) for row in _old_rows()]
    summary = RunSummary()
    for record in records:
        if record.has_dub:
            summary.add_coverage(record)
    assert summary.speech_seconds == pytest.approx(sum(r.speech_seconds or 0.0 for r in records if r.has_dub))
    clip, segments = evaluate_clip(records[1], ClipInputs(tmp_path))  # a no_speech row: its note in ``error``
    assert (clip["status"], clip["reason"], clip["error"], segments) == ("no_speech", "no_speech", records[1].note,
                                                                         [])
    clip, segments = evaluate_clip(records[0], ClipInputs(tmp_path))
    assert len(segments) == len(records[0].segments) and clip["n_segments"] == len(records[0].segments)
    assert [s["cut_seconds"] for s in segments] == [s.cut_seconds for s in records[0].segments]


def test_the_summary_counts_the_lines_whisper_invented_and_the_loops_cut():
    segments = (SegmentRecord(text="", skipped="hallucination", heard="Thank you for watching."),
                SegmentRecord(text="Wait.", heard="Wait. Wait. Wait. Wait. Wait. Wait.", delooped=True,
                              synth_seconds=0.8),
                SegmentRecord(text="", skipped="empty_text", heard="...", delooped=True),  # delooped, not spoken
                SegmentRecord(text="Hello.", synth_seconds=1.0))
    summary = RunSummary()
    summary.add_coverage(ClipRecord(clip_id="a/a1", segments=segments))
    summary.add_coverage(_through_json(ClipRecord(clip_id="b/b1", status=Status.NO_SPEECH, segments=segments[:1])))
    assert (summary.hallucinations, summary.delooped) == (2, 1)
    assert (summary.as_dict()["hallucinations"], summary.as_dict()["delooped"]) == (2, 1)
    assert "invented lines   2 not spoken (a stock phrase Whisper invents: skipped hallucination); looping lines " \
           "spoken delooped: 1" in summary.lines()


def _documented(markdown: str, heading: str) -> set[str]:
    """The keys in the first column of the table under ``heading`` in docs/manifest.md."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    keys: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            keys.update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    return keys


def test_docs_describe_exactly_the_keys_the_types_write():
    markdown = (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8")
    keys = json_keys()
    assert _documented(markdown, "Row keys") == keys["row"]
    assert _documented(markdown, "Segment keys") == keys["segments"]
    assert _documented(markdown, "Subtitle keys") == keys["subtitles"]
