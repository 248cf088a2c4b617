"""The bundled sample dataset (data/sample), its generator script, and ``baseline-dub data check``."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, decode_bytes, loudness
from baseline_dub.cli import main
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.data.dataset import SAMPLE_DIR, Dataset
from baseline_dub.errors import MissingAudioError

SCRIPT = PROJECT_ROOT / "scripts" / "make_sample_dataset.py"
SEED_SHOW_KEYS = ("show season link type status genres themes score scored_by rank popularity members "
                  "favorites episode_num aired premiered broadcast producers licensors studios source "
                  "avg_duration rating related_anime opening_themes ending_themes staff background synopsis "
                  "characters episodes").split()
SEED_EPISODE_KEYS = {"url", "ratings", "jp_video_id", "en_video_id", "synopsis", "clips"}


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return Dataset.open(None)


@pytest.fixture(scope="module")
def streamed(sample: Dataset) -> dict[str, Audio | Exception]:
    return {c.id: a for c, a in sample.stream("test")}


def script():
    spec = importlib.util.spec_from_file_location("make_sample_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layout_and_size() -> None:
    files = sorted(p.name for p in SAMPLE_DIR.iterdir())
    assert files == ["README.md", "SHA256SUMS", "anim400k_annotations_sample.json", "anim400k_audio_clips.tar.gz",
                     "anim400k_video_clips.tar.gz"]
    assert sum(p.stat().st_size for p in SAMPLE_DIR.iterdir()) < 5_000_000
    data = json.loads((SAMPLE_DIR / "anim400k_annotations_sample.json").read_text(encoding="utf-8"))
    assert list(data) == ["train", "val", "test"]
    for shows in data.values():
        for show in shows:
            assert list(show) == SEED_SHOW_KEYS
            for ep in show["episodes"].values():
                assert set(ep) == SEED_EPISODE_KEYS
    sums = dict(line.split("  ")[::-1] for line in (SAMPLE_DIR / "SHA256SUMS").read_text().splitlines())
    names = []
    for kind, ext in (("audio", "mp3"), ("video", "mp4")):
        with tarfile.open(SAMPLE_DIR / f"anim400k_{kind}_clips.tar.gz") as tar:
            for name in (m.name for m in tar.getmembers() if m.isfile()):
                assert re.fullmatch(rf"anim400k_{kind}_clips/([0-9a-f]{{2}})/\1[0-9a-f-]{{34}}\.{ext}", name), name
                assert hashlib.sha256(tar.extractfile(name).read()).hexdigest() == sums[name]
                names.append(name)
    assert sorted(names) == sorted(sums)
    assert (SAMPLE_DIR / "anim400k_video_clips.tar.gz").stat().st_size < 100_000  # tiny test patterns


def test_splits_clips_and_missing(sample: Dataset, streamed) -> None:
    assert sample.splits() == ["train", "val", "test"] and sample.skipped == []
    assert [len(sample.clips(s)) for s in ("train", "val", "test")] == [2, 1, 5]
    test = sample.clips("test")
    missing = [c for c in test if not sample.has_audio(c.id)]
    assert len(missing) == 1 and not sample.has_audio(missing[0].en_clip)
    assert isinstance(streamed[missing[0].id], MissingAudioError)
    assert list(streamed)[-1] == missing[0].id  # yielded after the archive pass
    multi = sample.clips("test", multi_speaker=True)
    assert len(multi) == 1 and len(set(multi[0].speakers)) == 2
    assert len(sample.clips("test", multi_speaker=False)) == 4
    for split in sample.splits():
        for clip in sample.clips(split):
            assert 3.0 <= clip.jp_duration <= 8.0
            assert re.search(r"[ぁ-んァ-ン一-龯]", clip.jp_text) and re.fullmatch(r"[A-Za-z ,.!?']+", clip.en_text)


def test_audio_matches_annotations_and_has_an_english_gold(sample: Dataset, streamed) -> None:
    for clip in sample.clips("test"):
        audio = streamed[clip.id]
        if isinstance(audio, Exception):
            continue
        assert (audio.rate, audio.channels) == (44100, 2)
        assert abs(audio.duration - clip.jp_duration) < 0.06  # mp3 encoder padding only
        assert -24 < loudness(audio) < -16
        gold = sample.audio(clip.en_clip)
        assert abs(gold.duration - (clip.en_end - clip.en_start)) < 0.06
        assert loudness(gold) > -30
        assert not np.allclose(gold.samples[0, :44100], audio.samples[0, :44100], atol=0.05)


def test_two_speaker_clip_has_music_under_the_speech(sample: Dataset, streamed) -> None:
    def lead_in_db(audio: Audio) -> float:  # the 0.3 s before the first word
        return 10 * np.log10(np.mean(audio.samples[:, : int(0.3 * audio.rate)] ** 2) + 1e-12)

    multi = sample.clips("test", multi_speaker=True)[0]
    single = [c for c in sample.clips("test", multi_speaker=False) if not isinstance(streamed[c.id], Exception)]
    assert lead_in_db(streamed[multi.id]) > -45  # music bed
    assert all(lead_in_db(streamed[c.id]) < -55 for c in single)  # only a faint noise floor


def test_data_check_cli_shows_the_missing_clip(sample: Dataset, capsys) -> None:
    missing = next(c.id for c in sample.clips("test") if not sample.has_audio(c.id))
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^test\s+5\s+4\s+1\s+0\s+1\s+0$", out, re.M)  # clips, audio, missing, bad, multi, skipped
    assert re.search(r"^train\s+2\s+2\s+0\s+0\s+0\s+0$", out, re.M)
    assert f"missing audio: test {missing}" in out
    assert main(["data", "check", "--split", "val", "--data", str(SAMPLE_DIR)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^val\s+1\s+1\s+0\s+0\s+0\s+0$", out, re.M) and "test" not in out.split("skipped", 1)[1]


def test_data_check_reports_skipped_entries_and_errors(tmp_path: Path, capsys) -> None:
    (tmp_path / "anim400k_annotations.json").write_text(json.dumps(
        {"train": [], "val": [], "test": [{"show": "X", "episodes": {"3": {"clips": [{"jp_clip": "aa/b"}]}}}]}))
    assert main(["data", "check", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "skipped: split test, show 'X', episode 3, clip #0: missing key(s)" in out
    assert main(["data", "check", "--data", str(tmp_path / "absent")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_music_is_deterministic() -> None:
    mod = script()
    a, b = mod.music(2.0, 7), mod.music(2.0, 7)
    assert a.shape == (2, 88200) and np.array_equal(a, b)
    assert not np.array_equal(a, mod.music(2.0, 8))
    assert mod.clip_id("x", "1") == mod.clip_id("x", "1") != mod.clip_id("x", "2")


def test_script_regenerates_the_videos_identically(tmp_path) -> None:
    """``--videos-only`` remakes the video tarball and SHA256SUMS from the committed annotations and audio."""
    for name in ("anim400k_annotations_sample.json", "anim400k_audio_clips.tar.gz"):
        (tmp_path / name).write_bytes((SAMPLE_DIR / name).read_bytes())
    assert script().main(["--out", str(tmp_path), "--videos-only"]) == 0
    new, old = tmp_path / "anim400k_video_clips.tar.gz", SAMPLE_DIR / "anim400k_video_clips.tar.gz"
    if new.read_bytes() != old.read_bytes():  # another ffmpeg/x264 build encodes differently: same members then
        with tarfile.open(new) as a, tarfile.open(old) as b:
            assert a.getnames() == b.getnames()
        pytest.xfail("the regenerated video tarball differs in bytes (another ffmpeg/x264 build)")
    assert (tmp_path / "SHA256SUMS").read_bytes() == (SAMPLE_DIR / "SHA256SUMS").read_bytes()


@pytest.mark.slow
def test_script_regenerates_a_clip_identically() -> None:
    """Rebuild one test clip pair with Kokoro: same annotation entry and the same mp3 bytes."""
    try:
        import pyopenjtalk  # noqa: F401
    except ImportError:  # make setup installs it: a missing one is a broken set-up, never a skip
        pytest.fail("pyopenjtalk (the Japanese g2p) is missing: `pip install -e '.[sample]'` (make setup does)")
    mod = script()
    splits, members = mod.build(mod.Voices(), only={"Hoshizora Diner/test/2/0"})
    committed = json.loads((SAMPLE_DIR / "anim400k_annotations_sample.json").read_text(encoding="utf-8"))
    entry = splits["test"][0]["episodes"]["2"]["clips"]
    assert entry == committed["test"][0]["episodes"]["2"]["clips"][:1]
    assert len(members) == 2
    with tarfile.open(SAMPLE_DIR / "anim400k_audio_clips.tar.gz") as tar:
        for name, data in members.items():
            old = tar.extractfile(name).read()
            if data != old:  # onnxruntime on another CPU may round differently: then equal to the ear
                a, b = decode_bytes(data, "new").samples, decode_bytes(old, "old").samples
                assert a.shape == b.shape and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
                pytest.xfail(f"{name}: regenerated mp3 differs in bytes (not bit-exact on this CPU)")
