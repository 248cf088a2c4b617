"""Dubbed video: ``mux_dub`` on mp4s made by ffmpeg, ``baseline-dub dub --video`` and ``run --video`` (real offline
models, real Japanese speech), a clip without its video (the audio dub is still written), resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from baseline_dub import cli
from baseline_dub import pipeline as pipeline_module
from baseline_dub.audio import Audio, load_audio, write_audio
from baseline_dub.errors import AudioError, ConfigError
from baseline_dub.outputs.video import mux_dub, probe_video
from baseline_dub.runner.split import RunOptions, run_split
from support.manifest import manifest_rows
from support.video import decode_track, make_mp4, snr_db, streams, video_hash

SPEECH_A = "test_ja_2.wav"
SPEECH_B = "common_voice_ja_38853932_16k.wav"
# AAC at 192 kb/s: the decoded tracks must match the samples given this well (AAC error only; a wrong, shifted
# or silent track is far below).
MIN_SNR_DB = 20.0


def _check_mux(mp4: Path, source_video: Path, dub: Audio, original: Audio) -> list[dict]:
    """The dubbed video's streams, durations and audio, against the source video and the two audio tracks."""
    got, duration = streams(mp4)
    assert [s["codec_type"] for s in got] == ["video", "audio", "audio", "subtitle"]
    assert [s.get("tags", {}).get("language") for s in got[1:]] == ["eng", "jpn", "eng"]
    assert got[3]["codec_name"] == "mov_text"
    assert video_hash(mp4) == video_hash(source_video)  # the same packets: copied, not re-encoded
    length = probe_video(source_video).duration
    assert duration == pytest.approx(length, abs=1e-3)
    assert all(float(s["duration"]) == pytest.approx(length, abs=1e-3) for s in got[:3])
    for index, audio in enumerate((dub, original)):
        assert int(got[1 + index]["sample_rate"]) == audio.rate and got[1 + index]["channels"] == audio.channels
        expected = audio.fit_length(int(round(length * audio.rate)))
        assert snr_db(decode_track(mp4, index, audio.channels), expected) > MIN_SNR_DB
    return got


def test_mux_dub_copies_the_video_and_tags_the_tracks(tmp_path, real_dir):
    speech = load_audio(real_dir / "ja_speech" / SPEECH_A)
    other = load_audio(real_dir / "ja_speech" / SPEECH_B).fit_length(speech.frames)
    source = make_mp4(tmp_path / "clip.mp4", 2.5)
    srt = tmp_path / "clip.en.srt"
    # a cue that runs past the video's end and one after it: neither may make the mp4 longer than its video
    srt.write_text("1\n00:00:00,500 --> 00:00:01,500\nHello.\n\n2\n00:00:02,000 --> 00:00:04,900\nStill here.\n\n"
                   "3\n00:00:04,000 --> 00:00:06,000\nGone.\n\n", encoding="utf-8")
    # the audio runs longer than the video: cut to the video's length (and a short one is padded)
    out = mux_dub(source, speech, other, srt, tmp_path / "out" / "clip.mp4")
    _check_mux(out, source, speech, other)
    short = mux_dub(source, speech.slice(0, 1.0), other, None, tmp_path / "short.mp4")
    got, duration = streams(short)
    assert [s["codec_type"] for s in got] == ["video", "audio", "audio"] and duration == pytest.approx(2.5, abs=1e-3)
    assert not list(tmp_path.rglob("*.part"))


def test_mux_dub_refuses_a_file_without_video(tmp_path, real_dir):
    wav = write_audio(tmp_path / "a.wav", load_audio(real_dir / "ja_speech" / SPEECH_A))
    with pytest.raises(AudioError, match="no readable video stream"):
        mux_dub(wav, load_audio(wav), load_audio(wav), None, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists() and not list(tmp_path.glob(".*part"))


@pytest.fixture(scope="module")
def loaded():
    """The offline pipeline, loaded once for this module's dubs."""
    return pipeline_module.DubPipeline("offline", device="cpu")


def test_dub_command_writes_the_dubbed_video(tmp_path, real_dir, loaded, monkeypatch, capsys):
    speech = real_dir / "ja_speech" / SPEECH_A
    seconds = round(load_audio(speech).duration, 1)
    source = make_mp4(tmp_path / "in.mp4", seconds, audio=speech)
    monkeypatch.setattr(pipeline_module, "DubPipeline", lambda *a, **k: loaded)
    out = tmp_path / "dub.wav"
    assert cli.main(["dub", "--video", str(source), "--out", str(out), "--profile", "offline",
                     "--single-speaker"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["video"] == str(tmp_path / "dub.mp4") and info["texts"]
    dub, original = load_audio(out), load_audio(source)
    _check_mux(tmp_path / "dub.mp4", source, dub, original)
    vtt = (tmp_path / "dub.en.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and all(t in vtt for t in info["texts"] if t)
    assert (tmp_path / "dub.en.srt").is_file()


def _dataset(root: Path, real_dir: Path, with_video: set[str]) -> tuple[Path, dict[str, Path]]:
    data = root / "data"
    speech = {"aa/aa000001-clip": real_dir / "ja_speech" / SPEECH_A,
              "bb/bb000002-clip": real_dir / "ja_speech" / SPEECH_B}
    clips, videos = [], {}
    for i, (cid, wav) in enumerate(speech.items()):
        audio = load_audio(wav)
        write_audio(data / "anim400k_audio_clips" / f"{cid}.wav", audio)
        clips.append({"jp_clip": cid, "en_clip": cid.replace("clip", "en"), "jp_text": "テストです",
                      "en_text": "a test",
                      "jp_start_time": "00:00:01.000", "jp_end_time": f"00:00:{1 + audio.duration:06.3f}",
                      "en_start_time": "00:00:01.000", "en_end_time": "00:00:04.000", "speakers": [f"S{i}"]})
        if cid in with_video:
            videos[cid] = make_mp4(data / "anim400k_video_clips" / f"{cid}.mp4", round(audio.duration, 1))
    show = {"show": "Video Show", "season": "1", "episodes": {"1": {"clips": clips}}}
    (data / "anim400k_annotations.json").write_text(json.dumps({"train": [], "val": [], "test": [show]},
                                                               ensure_ascii=False), encoding="utf-8")
    return data, videos


def test_run_video_writes_each_clip_video_and_reports_a_missing_one(tmp_path, real_dir, loaded):
    data, videos = _dataset(tmp_path, real_dir, {"aa/aa000001-clip"})
    out = tmp_path / "run"
    opts = RunOptions(split="test", data=str(data), out=str(out), profile="offline", video=True, progress=False)
    summary = run_split(opts, loaded)
    assert summary.done == 2 and summary.n_failed == 0 and dict(summary.missing_video) == {"missing_video": 1}
    rows = manifest_rows(out / "test")
    a, b = rows["aa/aa000001-clip"], rows["bb/bb000002-clip"]
    assert a["video"] == "test/aa/aa000001-clip.mp4" and a["video_error"] is None
    _check_mux(out / a["video"], videos["aa/aa000001-clip"], load_audio(out / a["output"]),
               load_audio(data / "anim400k_audio_clips" / "aa" / "aa000001-clip.wav"))
    assert b["status"] == "done" and b["video"] is None and b["video_reason"] == "missing_video"
    assert "bb/bb000002-clip" in b["video_error"] and "anim400k_video_clips" in b["video_error"]
    assert (out / b["output"]).is_file() and not (out / "test" / "bb" / "bb000002-clip.mp4").exists()
    for row in (a, b):
        assert set(row["subtitles"]) == {"en_vtt", "en_srt", "ja_vtt"}
        assert all((out / p).is_file() for p in row["subtitles"].values())
        assert "テストです" in (out / row["subtitles"]["ja_vtt"]).read_text(encoding="utf-8")
    summary_file = json.loads((out / "test" / "summary.json").read_text())
    assert summary_file["missing_video"] == {"missing_video": 1}
    # resume: nothing is dubbed twice, the video stays as it was
    before = (out / a["video"]).read_bytes()
    again = run_split(opts, loaded)
    assert again.already_done == 2 and again.done == 0 and (out / a["video"]).read_bytes() == before
    assert np.isfinite(load_audio(out / b["output"]).samples).all()


def test_video_arriving_later_is_muxed_by_the_next_video_run(tmp_path, real_dir, loaded):
    """A clip dubbed before its video was there (or by a run without --video) gets its video on the next
    `run --video`, muxed from the dub already on disk (nothing dubbed twice); a dataset with no video clips at
    all is refused before anything runs."""
    data, _ = _dataset(tmp_path, real_dir, {"aa/aa000001-clip"})
    out = tmp_path / "run"
    opts = RunOptions(split="test", data=str(data), out=str(out), profile="offline", video=True, progress=False)
    run_split(opts, loaded)
    b = manifest_rows(out / "test")["bb/bb000002-clip"]
    dub_before = (out / b["output"]).read_bytes()
    make_mp4(data / "anim400k_video_clips" / "bb" / "bb000002-clip.mp4",
             round(load_audio(data / "anim400k_audio_clips" / "bb" / "bb000002-clip.wav").duration, 1))
    mp4 = data / "anim400k_video_clips" / "bb" / "bb000002-clip.mp4"
    again = run_split(opts)  # no pipeline: with nothing to dub, no model is loaded
    assert (again.already_done, again.done, again.videos_added, dict(again.missing_video)) == (2, 0, 1, {})
    b = manifest_rows(out / "test")["bb/bb000002-clip"]
    assert b["status"] == "done" and b["video"] == "test/bb/bb000002-clip.mp4" and b["video_reason"] is None
    assert (out / b["output"]).read_bytes() == dub_before
    _check_mux(out / b["video"], mp4, load_audio(out / b["output"]),
               load_audio(data / "anim400k_audio_clips" / "bb" / "bb000002-clip.wav"))
    assert json.loads((out / "test" / "summary.json").read_text())["videos_added"] == 1
    third = run_split(opts)
    assert (third.already_done, third.videos_added) == (2, 0)  # nothing left to add

    audio_only, _ = _dataset(tmp_path / "audio-only", real_dir, set())
    with pytest.raises(ConfigError, match=r"--video: the dataset at .* has no video clips"):
        run_split(RunOptions(split="test", data=str(audio_only), out=str(tmp_path / "run2"), profile="offline",
                             video=True, progress=False), loaded)
    assert not (tmp_path / "run2" / "test" / "manifest.jsonl").exists()
