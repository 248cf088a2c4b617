"""The dataset's video clips: found like the audio (folder, doubled folder, .tar.gz, .part-*), read by clip id,
a clip without one named in a clear error; the bundled sample has a video for every clip with audio."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from baseline_dub.data.dataset import Dataset
from baseline_dub.data.sources import FolderSource, NoSource, TarSource
from baseline_dub.errors import MissingVideoError
from baseline_dub.outputs.video import probe_video
from support.video import make_mp4

ANNOTATIONS = ('{"train": [], "val": [], "test": [{"show": "S", "episodes": {"1": {"clips": [{"jp_clip": "aa/aa-1", '
               '"en_clip": "bb/bb-1", "jp_text": "x", "en_text": "y", "jp_start_time": "00:00:01.000", '
               '"jp_end_time": "00:00:03.000", "en_start_time": "0", "en_end_time": "2", "speakers": []}]}}}]}')


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> bytes:
    return make_mp4(tmp_path_factory.mktemp("mp4") / "v.mp4", 1.0).read_bytes()


def _folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "anim400k_annotations.json").write_text(ANNOTATIONS)
    return root


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_video_folder_doubled_folder_tarball_and_parts(tmp_path, mp4):
    layouts = {}
    a = _folder(tmp_path / "folder")
    (a / "anim400k_video_clips" / "aa").mkdir(parents=True)
    (a / "anim400k_video_clips" / "aa" / "aa-1.mp4").write_bytes(mp4)
    layouts["folder"] = a
    b = _folder(tmp_path / "doubled")
    (b / "anim400k_video_clips" / "anim400k_video_clips" / "aa").mkdir(parents=True)
    (b / "anim400k_video_clips" / "anim400k_video_clips" / "aa" / "aa-1.mp4").write_bytes(mp4)
    layouts["doubled"] = b
    tar = _tar({"anim400k_video_clips/aa/aa-1.mp4": mp4, "anim400k_video_clips/aa/aa-1.mp3": b"not a video"})
    c = _folder(tmp_path / "tarball")
    (c / "anim400k_video_clips.tar.gz").write_bytes(tar)
    layouts["tarball"] = c
    d = _folder(tmp_path / "parts")
    for i, start in enumerate(range(0, len(tar), 1000)):
        (d / f"anim400k_video_clips.tar.gz.part-a{chr(97 + i)}").write_bytes(tar[start:start + 1000])
    layouts["parts"] = d
    for name, folder in layouts.items():
        ds = Dataset.open(folder)
        assert ds.has_videos and ds.has_video("aa/aa-1") and not ds.has_video("bb/bb-1"), name
        assert isinstance(ds.video_source, FolderSource if name in ("folder", "doubled") else TarSource)
        data, _ = ds.video("aa/aa-1")
        assert data == mp4, name
        assert isinstance(ds.source, NoSource)  # the audio is looked for on its own, and absent here
    explicit = Dataset.open(_folder(tmp_path / "explicit"), video=c / "anim400k_video_clips.tar.gz")
    assert explicit.video("aa/aa-1")[0] == mp4


def test_a_missing_video_says_which_clip_and_what_to_do(tmp_path):
    ds = Dataset.open(_folder(tmp_path / "none"))
    assert not ds.has_videos and "no video found" in ds.video_source.describe()
    with pytest.raises(MissingVideoError, match=r"clip aa/aa-1: no video in .*anim400k_video_clips.*--video") as exc:
        ds.video("aa/aa-1")
    assert exc.value.reason == "missing_video"


def test_the_sample_has_a_video_for_every_clip_with_audio(tmp_path):
    sample = Dataset.open(None)
    assert sample.has_videos
    for split in sample.splits():
        for clip in sample.clips(split):
            assert sample.has_video(clip.id) == sample.has_audio(clip.id), clip.id
            if not sample.has_audio(clip.id):
                continue
            path = tmp_path / f"{clip.id.replace('/', '_')}.mp4"
            path.write_bytes(sample.video(clip.id)[0])
            info = probe_video(path)
            assert (info.codec, info.width, info.height, info.frame_rate) == ("h264", 160, 90, "5/1")
            assert abs(info.duration - clip.jp_duration) <= 0.1  # whole frames at 5 fps
