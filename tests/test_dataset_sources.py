"""Audio sources: extracted folders (doubled layout too), tar.gz, split parts, and unsafe archives."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from baseline_dub.audio import Audio
from baseline_dub.data.dataset import Dataset
from baseline_dub.data.parts import part_files
from baseline_dub.data.sources import ConcatReader, FolderSource, TarSource
from baseline_dub.errors import AudioError, DataError, MissingAudioError, UnsafeArchiveError
from support.annotations import clip_entry, show, write_annotations

RATE = 8000
# annotation order; "cc/gone" has no audio anywhere, "dd/bad" has undecodable bytes
JP = ["bb/second", "aa/first", "cc/gone", "dd/bad", "aa/third"]


def wav(frames: int) -> bytes:
    buf = io.BytesIO()
    t = np.arange(frames) / RATE
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 300 * t), RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def frames_of(clip_id: str) -> int:
    """Each clip's audio has its own length, so a test can tell which member came back."""
    return 800 + 40 * sum(map(ord, clip_id))


def members(prefix: str = "anim400k_audio_clips/") -> dict[str, bytes]:
    out = {}
    for cid in JP:
        if cid == "cc/gone":
            continue
        for real_id in (cid, cid.replace("/", "/en-")):
            data = b"not audio at all" * 10 if cid == "dd/bad" else wav(frames_of(real_id))
            out[f"{prefix}{real_id}.mp3" if cid != "dd/bad" else f"{prefix}{real_id}.wav"] = data
    return out


def make_tar(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] = (), gz: bool = True) -> Path:
    """Members in dict order (not annotation order), plus raw ``extra`` headers (links, evil names)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = tarfile.TarInfo("anim400k_audio_clips")
        dirs.type = tarfile.DIRTYPE
        tar.addfile(dirs)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
        readme = tarfile.TarInfo("anim400k_audio_clips/README.txt")
        readme.size = 2
        tar.addfile(readme, io.BytesIO(b"hi"))
    path.write_bytes(gzip.compress(raw.getvalue(), mtime=0) if gz else raw.getvalue())
    return path


def annotations(folder: Path) -> Path:
    clips = [clip_entry(cid) for cid in JP]
    return write_annotations(folder, {"train": [show("T", {"1": [clip_entry("aa/first")]})], "val": [],
                                      "test": [show("S", {"1": clips[:3], "2": clips[3:]})]})


def archive_order() -> list[str]:
    return [n.split("/", 1)[1].rsplit(".", 1)[0] for n in members() if "/en-" not in n]


def check_stream(ds: Dataset, expect_order: list[str]) -> None:
    got = list(ds.stream("test"))
    assert [c.id for c, _ in got] == expect_order
    for clip, result in got:
        if clip.id == "cc/gone":
            assert isinstance(result, MissingAudioError) and "cc/gone" in str(result)
        elif clip.id == "dd/bad":
            assert isinstance(result, AudioError) and "dd/bad" in str(result)
        else:
            assert isinstance(result, Audio) and result.frames == frames_of(clip.id), clip.id


def check_random_access(ds: Dataset) -> None:
    for cid in ("aa/third", "bb/second", "aa/first", "bb/en-second"):  # backwards and forwards
        assert ds.has_audio(cid)
        assert ds.audio(cid).frames == frames_of(cid)
    assert not ds.has_audio("cc/gone")
    with pytest.raises(MissingAudioError, match=r"clip cc/gone: no audio in .*skip the clip"):
        ds.audio("cc/gone")
    summary = ds.summary("test")
    assert (summary.clips, summary.with_audio, summary.missing) == (5, 4, ("cc/gone",))


@pytest.mark.parametrize("layout", ["anim400k_audio_clips", "anim400k_audio_clips/anim400k_audio_clips",
                                    "explicit"])
def test_extracted_folder_layouts(tmp_path: Path, layout: str) -> None:
    annotations(tmp_path)
    root = tmp_path / ("elsewhere" if layout == "explicit" else layout)
    for name, data in members(prefix="").items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    ds = Dataset.open(tmp_path, audio=root if layout == "explicit" else None)
    assert isinstance(ds.source, FolderSource)
    check_stream(ds, JP)  # folders stream in annotation order
    check_random_access(ds)


def test_tarball_streams_in_archive_order_then_missing(tmp_path: Path) -> None:
    annotations(tmp_path)
    make_tar(tmp_path / "anim400k_audio_clips.tar.gz", dict(reversed(members().items())))
    ds = Dataset.open(tmp_path)
    assert isinstance(ds.source, TarSource) and ds.source.index is None
    order = [c for c in reversed(archive_order()) if c in JP]
    check_stream(ds, [*order, "cc/gone"])
    assert ds.source.index is not None  # a full pass leaves the offset index behind
    before = sorted(os.listdir(tmp_path))
    check_random_access(ds)
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted
    by_tar = Dataset.open(tmp_path / "anim400k_audio_clips.tar.gz")  # --data may name the tarball
    assert by_tar.audio("aa/first").frames == frames_of("aa/first")


def test_random_access_builds_the_index_once(tmp_path: Path) -> None:
    annotations(tmp_path)
    make_tar(tmp_path / "anim400k_audio_clips.tar", members(), gz=False)
    ds = Dataset.open(tmp_path)
    assert ds.source.index is None
    check_random_access(ds)
    index = ds.source.index
    assert set(index) == {n.split("/", 1)[1].rsplit(".", 1)[0] for n in members()}
    ds.audio("aa/first")
    assert ds.source.index is index


def test_split_parts_read_as_one_stream(tmp_path: Path) -> None:
    annotations(tmp_path)
    blob = make_tar(tmp_path / "whole.tar.gz", members()).read_bytes()
    (tmp_path / "whole.tar.gz").unlink()
    cuts = [0, 100, len(blob) // 3, 2 * len(blob) // 3, len(blob)]  # boundaries inside headers and data
    assert cuts == sorted(set(cuts))
    names = ["part-8", "part-10", "part-11", "part-9"]  # natural order: 8, 9, 10, 11
    order = [0, 2, 3, 1]
    for name, i in zip(names, order, strict=True):
        (tmp_path / f"anim400k_audio_clips.tar.gz.{name}").write_bytes(blob[cuts[i]:cuts[i + 1]])
    parts = part_files(tmp_path / "anim400k_audio_clips.tar.gz.part-10")
    assert [p.name.rsplit("-", 1)[1] for p in parts] == ["8", "9", "10", "11"]
    reader = ConcatReader(parts)
    assert reader.read() == blob
    buffered = io.BufferedReader(ConcatReader(parts))
    buffered.seek(cuts[2] - 10)
    assert buffered.read(20) == blob[cuts[2] - 10:cuts[2] + 10]  # across a part boundary
    buffered.seek(5)
    assert buffered.read(10) == blob[5:15]
    ds = Dataset.open(tmp_path)
    assert isinstance(ds.source, TarSource) and len(ds.source.paths) == 4
    check_stream(ds, [*[c for c in archive_order() if c in JP], "cc/gone"])
    check_random_access(Dataset.open(tmp_path))
    explicit = Dataset.open(annotations=tmp_path / "anim400k_annotations.json",
                            audio=tmp_path / "anim400k_audio_clips.tar.gz")
    assert explicit.audio("aa/third").frames == frames_of("aa/third")


def test_truncated_archive_is_a_data_error(tmp_path: Path) -> None:
    annotations(tmp_path)
    blob = make_tar(tmp_path / "anim400k_audio_clips.tar.gz", members()).read_bytes()
    (tmp_path / "anim400k_audio_clips.tar.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="damaged or truncated"):
        list(Dataset.open(tmp_path).stream("test"))


def test_no_audio_next_to_annotations_reports_every_clip_missing(tmp_path: Path) -> None:
    annotations(tmp_path)
    ds = Dataset.open(tmp_path)
    assert ds.summary("test").with_audio == 0
    assert all(isinstance(r, MissingAudioError) for _, r in ds.stream("test"))
    with pytest.raises(MissingAudioError, match="aa/first"):
        ds.audio("aa/first")


def evil(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, (4 if kind == tarfile.REGTYPE else 0)
    return info


@pytest.mark.parametrize("bad", [
    evil("anim400k_audio_clips/../evil.mp3"), evil("../evil.mp3"), evil("/abs/evil.mp3"),
    evil("anim400k_audio_clips/aa/link.mp3", tarfile.SYMTYPE, "../../../etc/passwd"),
    evil("anim400k_audio_clips/aa/hard.mp3", tarfile.LNKTYPE, "/etc/passwd"),
], ids=["dotdot-inside", "dotdot", "absolute", "symlink-out", "hardlink-abs"])
def test_unsafe_members_are_refused_and_nothing_is_written(tmp_path: Path, bad: tarfile.TarInfo) -> None:
    data = tmp_path / "data"
    annotations(data)
    make_tar(data / "anim400k_audio_clips.tar.gz", members(), extra=[bad])
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    ds = Dataset.open(data)
    with pytest.raises(UnsafeArchiveError, match=bad.name.replace(".", r"\.")):
        list(ds.stream("test"))
    with pytest.raises(UnsafeArchiveError, match="refusing"):
        ds.audio("aa/first")
    with pytest.raises(UnsafeArchiveError):
        Dataset.open(data).has_audio("aa/first")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert not (tmp_path / "evil.mp3").exists()


def test_links_inside_the_archive_are_not_audio(tmp_path: Path) -> None:
    annotations(tmp_path)
    link = evil("anim400k_audio_clips/cc/gone.mp3", tarfile.SYMTYPE, "../aa/first.mp3")
    make_tar(tmp_path / "anim400k_audio_clips.tar.gz", members(), extra=[link])
    ds = Dataset.open(tmp_path)
    assert not ds.has_audio("cc/gone") and ds.has_audio("aa/first")
