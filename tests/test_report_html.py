"""report.html: built by ``baseline-dub evaluate`` from a run made here (real speech, real subtitle files, a real
dubbed mp4), then opened in headless Chromium from disk and over ``python -m http.server``: no console errors,
every media and subtitle source resolves, a player plays and shows its subtitle, filters and sort change the rows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from baseline_dub import cli
from baseline_dub.audio import Audio, load_audio, write_audio
from baseline_dub.outputs.record import segment_from_json
from baseline_dub.outputs.subtitles import write_subtitles
from baseline_dub.outputs.video import mux_dub
from support.browser_harness import free_port, open_report
from support.video import make_mp4

A, B, C, D, E = "aa/aa-1", "bb/bb-2", "cc/cc-3", "dd/dd-4", "ee/ee-5"
TEXT_A = ["I'm sure something bad happened to my friends.", "The little devil thought so."]
PLAY = f'section.clip[data-clip="{A}"] .player[data-kind="dub"] audio'


def _clip(cid: str, en_text: str) -> dict:
    return {"jp_clip": cid, "en_clip": cid.replace("-", "-en"), "jp_text": "友達に何か悪いことが起きた",
            "en_text": en_text, "jp_start_time": "00:00:01.000", "jp_end_time": "00:00:07.000",
            "en_start_time": "00:00:01.000", "en_end_time": "00:00:07.000", "speakers": ["S0"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory, real_dir) -> dict:
    """A dataset folder and a run of clips A (done: stems, video, an overrun), B (no_speech: backing-only dub),
    C (missing audio), D (failed), E (done, low BLEU), and the report evaluate wrote for it."""
    root = tmp_path_factory.mktemp("report_html")
    data, run = root / "data", root / "run"
    female = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav").slice(0, 6.0)
    male = load_audio(real_dir / "ja_speech" / "common_voice_ja_38853932_16k.wav").slice(0, 6.0)
    texts = {A: " ".join(TEXT_A), B: "Nothing.", C: "Gone.", D: "Broken.", E: "Completely different words here."}
    show = {"show": "Report Show", "season": "1", "episodes": {"1": {"clips": [_clip(c, t) for c, t in texts.items()]}}}
    data.mkdir(parents=True)
    (data / "anim400k_annotations.json").write_text(json.dumps({"train": [], "val": [], "test": [show]},
                                                               ensure_ascii=False), encoding="utf-8")
    for cid in (A, B, D, E):
        write_audio(data / "anim400k_audio_clips" / f"{cid}.wav", female)
        write_audio(data / "anim400k_audio_clips" / f"{cid.replace('-', '-en')}.wav", male)
    split = run / "test"
    rows = []
    for cid, status in ((A, "done"), (B, "no_speech"), (E, "done")):
        wav = split / f"{cid}.wav"
        parts = split / cid
        write_audio(wav, female if cid != B else female.scaled(0.1))
        segments = []
        if cid == A:
            write_audio(parts / "vocals.wav", female)
            write_audio(parts / "backing.wav", female.scaled(0.05))
            write_audio(parts / "seg-00.flac", male.slice(0.3, 2.8))
            write_audio(parts / "seg-01.flac", male.slice(3.0, 5.6))
            segments = [
                {"start": 0.3, "end": 2.8, "speaker": "S0", "text": TEXT_A[0], "skipped": None, "synth_seconds": 2.5,
                 "placed_start": 0.3, "stretch": 1.0, "cut_seconds": 0.0, "overrun_seconds": 0.0, "voice": "jf_alpha",
                 "voice_method": "nearest voice", "similarity": 0.81, "file": "seg-00.flac"},
                {"start": 3.0, "end": 5.3, "speaker": "S1", "text": TEXT_A[1], "skipped": None, "synth_seconds": 2.6,
                 "placed_start": 3.0, "stretch": 1.0, "cut_seconds": 0.0, "overrun_seconds": 0.3, "voice": "jm_kumo",
                 "voice_method": "nearest voice", "similarity": 0.62, "file": "seg-01.flac"},
                {"start": 5.4, "end": 5.9, "speaker": "S1", "text": "", "skipped": "no_speech", "synth_seconds": 0.0,
                 "file": None}]
        elif cid == E:
            write_audio(parts / "seg-00.flac", male.slice(0.5, 2.0))
            segments = [{"start": 0.5, "end": 2.0, "speaker": "S0", "text": "Something else entirely.",
                         "skipped": None, "synth_seconds": 1.5, "placed_start": 0.5, "stretch": 1.0,
                         "cut_seconds": 0.0, "overrun_seconds": 0.0, "similarity": 0.4, "file": "seg-00.flac"}]
        subs = write_subtitles(wav, [segment_from_json(s) for s in segments], female.duration,
                               "友達に何か悪いことが起きた")
        row = {"clip_id": cid, "split": "test", "status": status, "reason": None if status == "done" else "no_speech",
               "error": None if status == "done" else f"clip {cid}: no speech found", "output": f"test/{cid}.wav",
               "parts": f"test/{cid}", "duration": female.duration, "segments": segments, "jp_text": "友達",
               "en_text": texts[cid], "subtitles": {k: str(p.relative_to(run)) for k, p in subs.items()}}
        if cid == A:
            video = make_mp4(root / "src" / "a.mp4", 6.0)
            row["video"] = str(mux_dub(video, female, male, subs["en_srt"], wav.with_suffix(".mp4")).relative_to(run))
        rows.append(row)
    rows.append({"clip_id": C, "split": "test", "status": "missing_audio", "reason": "missing_audio",
                 "error": f"clip {C}: no audio in {data}", "output": None, "parts": None})
    rows.append({"clip_id": D, "split": "test", "status": "failed", "reason": "stage_error",
                 "error": f"clip {D}: separation failed", "output": None, "parts": None})
    (split / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")
    assert cli.main(["evaluate", "--run", str(run), "--data", str(data), "--no-asr", "--device", "cpu"]) == 0
    page = split / "report" / "report.html"
    return {"root": root, "data": data, "run": run, "page": page, "html": page.read_text(encoding="utf-8")}


def _links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_page_is_self_contained_with_relative_links(built):
    html, page = built["html"], built["page"]
    assert "<script>" in html and "<style>" in html and "report.js" not in html.split("<script>")[0]
    links = _links(html)
    assert not [u for u in links if re.match(r"^[a-z]+://", u) or u.startswith("//")]  # nothing from outside
    files = [u for u in links if not u.startswith(("data:", "#"))]
    assert files and all((page.parent / u).resolve().is_file() for u in files), files
    sections = re.findall(r'<section class="clip"[^>]*data-status="([a-z_]+)"', html)
    assert sections == ["done", "no_speech", "done", "missing_audio", "failed"]
    for text in (*TEXT_A, "jf_alpha", "nearest voice", "separation failed", "no speech found", "0.30"):
        assert text in html
    # sources from a dataset folder are linked where they are; nothing was copied
    assert "../../../data/anim400k_audio_clips/aa/aa-1.wav" in links and not (page.parent / "media").exists()


@pytest.fixture(scope="module")
def copied(built) -> Path:
    """The report made with ``--copy-audio`` inside the run folder: everything it links is under the run folder."""
    out = built["run"] / "test" / "report-copied"
    assert cli.main(["evaluate", "--run", str(built["run"]), "--data", str(built["data"]), "--no-asr",
                     "--device", "cpu", "--out", str(out), "--copy-audio"]) == 0
    return out / "report.html"


def test_copy_audio_copies_the_sources_beside_the_report(built, copied):
    out = copied.parent
    links = _links(copied.read_text(encoding="utf-8"))
    assert "media/aa/aa-1.jp.wav" in links and "media/aa/aa-en1.en.wav" in links
    assert (out / "media" / "aa" / "aa-1.jp.wav").read_bytes() == (
        built["data"] / "anim400k_audio_clips" / "aa" / "aa-1.wav").read_bytes()
    run = built["run"].resolve()
    files = [(out / u).resolve() for u in links if not u.startswith(("data:", "#"))]
    assert files and all(f.is_file() and f.is_relative_to(run) for f in files)


def _check_page(result: dict, page: Path, from_disk: bool) -> None:
    media, tracks = result["sources"]["media"], result["sources"]["tracks"]
    assert len(media) == 6 + 3 + 3 + 2  # A: JP, gold, dub, 2 stems, video; B, E: JP, gold, dub; D: JP, gold
    assert all(m["error"] is None and m["readyState"] >= 1 and m["duration"] > 0 for m in media), media
    assert sum(m["tag"] == "video" for m in media) == 1
    assert tracks and all(t["readyState"] == 2 for t in tracks), tracks  # 2: LOADED (3 would be ERROR)
    assert {t["lang"] for t in tracks} == {"en", "ja"}
    assert all(t["cues"] >= 1 for t in tracks if not t["file"].endswith("bb-2.en.vtt")), tracks
    if from_disk:  # read from the inlined copy; the .vtt files beside the dubs stay linked
        assert all(t["url"].startswith("data:text/vtt") and (page.parent / t["file"]).is_file() for t in tracks)
    played = result["played"]
    assert played["currentTime"] >= 1.0 and not played["paused"]
    assert played["cue"] == TEXT_A[0]  # the subtitle of what the dub says at 1 s
    rows = result["rows"]
    assert rows["all"] == 5 and rows["shown"] == "5 of 5 clips shown" and rows["afterReset"] == 5
    assert rows["byStatus"] == {"done": ["done", "done"], "no_speech": ["no_speech"],
                                "missing_audio": ["missing_audio"], "failed": ["failed"]}
    assert rows["bleuAtLeast50"] == [pytest.approx(100.0)]
    assert rows["similarityAtLeast099"] == 0 and rows["overrunning"] == [pytest.approx(0.3)]
    bleu = rows["sortedBleu"]
    assert bleu[:2] == sorted(bleu[:2], reverse=True) and bleu[0] == pytest.approx(100.0) and bleu[2:] == [None] * 3


def test_page_from_disk_in_chromium(built):
    _check_page(open_report(built["page"].as_uri(), PLAY), built["page"], from_disk=True)


def test_page_over_http_in_chromium(built, copied):
    """The run folder served as it is (docs/report.md: ``python -m http.server``), report made with --copy-audio."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory",
                               str(built["run"])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/test/report-copied/report.html"
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "python -m http.server did not start"
                time.sleep(0.1)
        _check_page(open_report(url, PLAY), copied, from_disk=False)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_backing_only_clip_has_empty_subtitles(built):
    vtt = (built["run"] / "test" / "bb" / "bb-2.en.vtt").read_text(encoding="utf-8")
    assert vtt == "WEBVTT\nLanguage: en\n\n"
    assert np.isfinite(load_audio(built["run"] / "test" / "bb" / "bb-2.wav").samples).all()
    assert isinstance(load_audio(built["run"] / "test" / "aa" / "aa-1.wav"), Audio)
