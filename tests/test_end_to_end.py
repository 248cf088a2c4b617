"""End to end on the bundled sample with the real offline weights: `make baseline SPLIT=test`, a kill -9
and resume, the Ray backend, `dub_clip()` and `baseline-dub dub`."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import load_audio, loudness
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.data.dataset import Dataset
from baseline_dub.stages.synthesize.voices import VoiceRecipe
from support.browser_harness import open_report
from support.manifest import manifest_rows
from support.video import streams

BIN = Path(sys.executable).parent


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(path.glob("manifest*.jsonl")) for line in p.read_text().splitlines()
            if line.strip()]


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return Dataset.open(None)


@pytest.fixture(scope="module")
def make_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("make_baseline")
    proc = subprocess.run(["make", "baseline", "SPLIT=test", f"OUT={out}", "PROFILE=offline"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1200)
    return out, proc


@pytest.mark.weights
def test_make_baseline_dubs_every_clip(make_run, sample):
    out, proc = make_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "real-time factor" in proc.stdout
    rows = manifest_rows(out / "test")
    clips = sample.clips("test")
    assert set(rows) == {c.id for c in clips}
    for clip in clips:
        row = rows[clip.id]
        if not sample.has_audio(clip.id):
            assert row["status"] == "missing_audio" and row["reason"] == "missing_audio"
            assert clip.id in row["error"]
            continue
        assert row["status"] == "done", row
        src = sample.audio(clip.id)
        dub = load_audio(out / row["output"])
        assert row["output"] == f"test/{clip.id}.wav"
        assert (dub.rate, dub.channels, dub.frames) == (src.rate, src.channels, src.frames)
        assert dub.peak() < 1.0
        assert abs(loudness(dub) - loudness(src)) < 1.0
        assert row["profile"] == "offline" and len(row["models"]) >= 5
        assert all(len(sha) == 64 for sha in row["models"].values())
        assert row["separation_weights"].startswith("Deezer's Spleeter 2stems weights bit for bit")
        assert (row["translate_engine"], row["translate_compute_type"]) == ("ctranslate2", "float32")
        assert "whisper-base-ct2" in row["models"] and "whisper-base" not in row["models"]
        assert 0.0 <= row["mixing_ratio"] <= 1.0 and row["ratio_source"] in ("estimated", "sidecar")
        texts = [s["text"] for s in row["segments"] if s["text"]]
        assert texts and all(t.isascii() for t in texts)
        for seg in row["segments"]:
            if seg["file"]:
                assert (out / row["parts"] / seg["file"]).is_file()
                assert sum(seg["voice_recipe"].values()) == pytest.approx(1.0, abs=0.02)  # the voice recipe
        assert set(row["stage_seconds"]) >= {"separate", "diarize", "translate", "synthesize", "remix", "write"}
        # the sample has videos, so `make baseline` passes --video: the dubbed video and the subtitles beside the dub
        assert row["video"] == f"test/{clip.id}.mp4" and row["video_error"] is None
        tracks, duration = streams(out / row["video"])
        assert [t["codec_type"] for t in tracks] == ["video", "audio", "audio", "subtitle"]
        assert [t.get("tags", {}).get("language") for t in tracks[1:]] == ["eng", "jpn", "eng"]
        assert abs(duration - src.duration) <= 0.1  # the video's whole frames at 5 fps
        assert set(row["subtitles"]) == {"en_vtt", "en_srt", "ja_vtt"}
        vtt = (out / row["subtitles"]["en_vtt"]).read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT") and all(t in vtt for t in texts)
        assert clip.jp_text in (out / row["subtitles"]["ja_vtt"]).read_text(encoding="utf-8")
    assert "--video" in proc.stdout + proc.stderr
    assert json.loads((out / "test" / "summary.json").read_text())["done"] == sum(
        sample.has_audio(c.id) for c in clips)


@pytest.mark.weights
def test_rerun_does_nothing_twice(make_run):
    out, _ = make_run
    before = _rows(out / "test")
    proc = subprocess.run([str(BIN / "baseline-dub"), "run", "--split", "test", "--out", str(out), "--profile",
                           "offline", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = _rows(out / "test")
    done_after = [r for r in after if r["status"] == "done"]
    assert len(done_after) == len([r for r in before if r["status"] == "done"])  # nothing dubbed again


@pytest.mark.weights
def test_evaluate_writes_a_report_page_that_plays(make_run, sample, tmp_path):
    """``baseline-dub evaluate`` on the sample run: report.html opens from disk in Chromium, every player and
    subtitle resolves (the sample's sources, in a tarball, copied beside the page), a dub plays."""
    out, _ = make_run
    proc = subprocess.run([str(BIN / "baseline-dub"), "evaluate", "--run", str(out), "--split", "test", "--no-asr",
                           "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = tmp_path / "report" / "report.html"
    assert "report.html: open it in a browser" in proc.stderr
    done = [c for c in sample.clips("test") if sample.has_audio(c.id)]
    result = open_report(page.as_uri(), f'section.clip[data-clip="{done[0].id}"] .player[data-kind="dub"] audio')
    media = result["sources"]["media"]
    assert all(m["error"] is None and m["readyState"] >= 1 for m in media)
    # each clip with audio: JP source, EN gold, dub, video; the missing clip: nothing to play
    assert len(media) == 4 * len(done) and sum(m["tag"] == "video" for m in media) == len(done)
    assert all(t["readyState"] == 2 and t["cues"] >= 1 for t in result["sources"]["tracks"])
    assert result["played"]["currentTime"] >= 1.0
    assert len(list((tmp_path / "report" / "media").rglob("*.mp3"))) == 2 * len(done)


@pytest.mark.weights
def test_kill_and_resume_finishes_each_clip_exactly_once(tmp_path, sample):
    out = tmp_path / "run"
    cmd = [str(BIN / "baseline-dub"), "run", "--split", "test", "--out", str(out), "--profile", "offline",
           "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if any(r["status"] == "done" for r in (_rows(out / "test") if (out / "test").is_dir() else [])):
            break
        time.sleep(0.2)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed, "the run finished before it could be killed; the test needs a slower split"
    first = [r for r in _rows(out / "test") if r["status"] == "done"]
    assert 1 <= len(first) < sum(sample.has_audio(c.id) for c in sample.clips("test"))
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    done = [r["clip_id"] for r in _rows(out / "test") if r["status"] == "done"]
    assert sorted(done) == sorted(c.id for c in sample.clips("test") if sample.has_audio(c.id))  # once each
    assert not list(out.rglob("*.part")), "a half-written file was left behind"
    for row in manifest_rows(out / "test").values():
        if row["status"] == "done":
            assert load_audio(out / row["output"]).frames > 0


@pytest.mark.weights
def test_ray_local_matches_single_process(make_run, tmp_path, sample):
    from baseline_dub.runner.ray_backend import run_split_ray
    from baseline_dub.runner.split import RunOptions

    out, _ = make_run
    summary = run_split_ray(RunOptions(split="test", out=str(tmp_path / "ray"), profile="offline", progress=False,
                                       video=True), "local", actors=2)
    assert summary.done == sum(sample.has_audio(c.id) for c in sample.clips("test"))
    ours, theirs = manifest_rows(out / "test"), manifest_rows(tmp_path / "ray" / "test")
    assert set(ours) == set(theirs)
    for cid, row in ours.items():
        assert theirs[cid]["status"] == row["status"]
        if row["status"] != "done":
            continue
        assert [s["text"] for s in theirs[cid]["segments"]] == [s["text"] for s in row["segments"]]
        # byte for byte: the dub and every synthesis (researchers check reproducibility by sha256)
        files = [row["output"], row["video"], *row["subtitles"].values(),
                 *(f"{row['parts']}/{s['file']}" for s in row["segments"] if s["file"])]
        assert [_sha256(out / f) for f in files] == [_sha256(tmp_path / "ray" / f) for f in files]
        assert theirs[cid]["worker"].startswith("ray-")


@pytest.mark.weights
def test_dub_clip_api_keeps_every_intermediate(tmp_path, sample):
    from baseline_dub import dub_clip

    clip = next(c for c in sample.clips("test") if sample.has_audio(c.id) and c.is_multi_speaker)
    dub = dub_clip(clip, profile="offline", mixing_ratio=0.6)
    src = sample.audio(clip.id)
    assert dub.audio.frames == src.frames and dub.audio.rate == src.rate
    assert dub.mixing_ratio == 0.6 and dub.ratio_source == "given"
    assert dub.stems.vocals.frames == src.frames
    assert len(dub.segments) == len(dub.translations) == len(dub.syntheses) >= 2
    assert len({s.speaker for s in dub.segments}) >= 2
    assert all(s.voice_method == "nearest voice" for s in dub.syntheses if s is not None)
    voices = {seg.speaker: syn.voice for seg, syn in zip(dub.segments, dub.syntheses, strict=True) if syn}
    assert len(voices) >= 2 and len(set(voices.values())) == len(voices)  # distinct speakers, distinct voices
    assert set(dub.stage_seconds) >= {"separate", "diarize", "translate", "synthesize", "remix"}
    folder = dub.save(tmp_path / "kept")
    info = json.loads((folder / "dub.json").read_text())
    assert info["mixing_ratio"] == 0.6 and len(info["segments"]) == len(dub.segments)
    for row, syn in zip(info["segments"], dub.syntheses, strict=True):
        if syn is not None and syn.audio is not None:  # the recipe of every spoken segment is kept
            assert VoiceRecipe.of(row["voice_recipe"]).key == row["voice"] == syn.voice
    assert load_audio(folder / "dub.wav").frames == src.frames
    assert (folder / "vocals.wav").is_file() and (folder / "backing.wav").is_file()


@pytest.mark.weights
def test_dub_clip_api_refuses_non_finite_audio_and_dubs_silence():
    from baseline_dub import dub_clip
    from baseline_dub.audio import Audio
    from baseline_dub.errors import AudioError

    broken = np.zeros((2, 44100), np.float32)
    broken[0, 100] = np.nan
    with pytest.raises(AudioError, match="NaN or infinite"):
        dub_clip(Audio(broken, 44100), profile="offline")
    quiet = dub_clip(Audio(np.zeros((2, 44100), np.float32), 44100), profile="offline")  # an outcome, not an error
    assert quiet.nothing_spoken == "no_speech" and quiet.audio.frames == 44100 and quiet.audio.peak() == 0.0
    record = quiet.record()
    assert (record.status, record.reason) == ("no_speech", "no_speech") and "backing alone" in record.note


def test_dub_command_on_real_speech(tmp_path, real_dir):
    src = real_dir / "ja_speech" / "test_ja_2.wav"
    out = tmp_path / "dub.wav"
    proc = subprocess.run([str(BIN / "baseline-dub"), "dub", str(src), "--out", str(out), "--profile", "offline",
                           "--single-speaker", "--keep", str(tmp_path / "keep")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout)
    assert info["texts"] and all(t.isascii() for t in info["texts"] if t)
    a, b = load_audio(src), load_audio(out)
    assert (a.rate, a.channels, a.frames) == (b.rate, b.channels, b.frames)
    assert (tmp_path / "keep" / "dub.json").is_file()


def test_dub_command_refuses_bad_input(tmp_path):
    bad = tmp_path / "not_audio.mp3"
    bad.write_text("this is not audio")
    proc = subprocess.run([str(BIN / "baseline-dub"), "dub", str(bad), "--out", str(tmp_path / "o.wav"),
                           "--profile", "offline"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "not_audio.mp3" in proc.stderr and "error:" in proc.stderr
