"""The dataset as it is really downloaded (tests/support/download_layouts.py, true names): every layout found,
which one is read and why; missing, truncated and 0-byte data named with what to do; .json.gz, older and several
annotations."""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from baseline_dub.audio import Audio
from baseline_dub.cli import main
from baseline_dub.config import SAMPLE_DIR
from baseline_dub.data.dataset import Dataset
from baseline_dub.data.sources import FolderSource, NoSource, TarSource
from baseline_dub.errors import AudioError, DataError
from support.download_layouts import ANNOTATIONS, AUDIO, LAYOUTS, PARTS, VIDEO, build, extract, hf_download, write_parts

SAMPLE = Dataset.open(None)
TEST_IDS = [c.id for c in SAMPLE.clips("test")]
MISSING = "2d/2d4279c6-6c1c-4652-9ab2-cbcce95f8130"  # the sample's clip without audio


def _check_counts(ds: Dataset) -> None:
    for split, (clips, audio) in {"train": (2, 2), "val": (1, 1), "test": (5, 4)}.items():
        s = ds.summary(split)
        assert (s.clips, s.with_audio, s.bad) == (clips, audio, ()), (split, s)
    assert ds.summary("test").missing == (MISSING,)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_download_layout_is_found_and_says_why(tmp_path: Path, layout: str) -> None:
    root = build(tmp_path / "anim400k", layout)
    _, kind, why = LAYOUTS[layout]
    ds = Dataset.open(root)
    assert ds.annotations.name == ANNOTATIONS
    expected = {"parts": TarSource, "tarball": TarSource, "folder": FolderSource}[kind]
    assert isinstance(ds.source, expected), ds.source.describe()
    if isinstance(ds.source, TarSource):
        assert len(ds.source.paths) == (PARTS if kind == "parts" else 1)
    for words in why:
        assert words in ds.source.why, ds.source.why
    if not why:
        assert ds.source.why == ""
    streamed = {c.id: a for c, a in ds.stream("test")}
    assert all(isinstance(streamed[cid], Audio) for cid in TEST_IDS if cid != MISSING)
    _check_counts(ds)
    assert main(["data", "check", "--data", str(root)]) == 0


def test_data_check_shows_the_source_read_and_why(tmp_path: Path, capsys) -> None:
    root = build(tmp_path / "anim400k", "cat inside the folder")
    assert main(["data", "check", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"audio:       {root / AUDIO / AUDIO}.tar.gz\n" in out
    assert "(reading " in out and "the 6 parts" in out and "hold the same bytes" in out
    assert re.search(r"^test\s+5\s+4\s+1\s+0\s+1\s+0$", out, re.M)


def test_video_is_found_in_the_same_layouts(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    hf_download(root, VIDEO)
    ds = Dataset.open(root)
    assert isinstance(ds.video_source, TarSource) and len(ds.video_source.paths) == PARTS
    first = TEST_IDS[0]
    data, name = ds.video(first)
    assert data[4:8] == b"ftyp" and name.endswith(f"{first}")
    shutil.rmtree(root / VIDEO)
    (root / VIDEO).mkdir()
    (root / VIDEO / f"{VIDEO}.tar.gz").write_bytes((SAMPLE_DIR / f"{VIDEO}.tar.gz").read_bytes())
    extract(root / VIDEO / f"{VIDEO}.tar.gz", root / VIDEO)
    ds = Dataset.open(root)
    assert isinstance(ds.video_source, FolderSource) and ds.video_source.root == root / VIDEO / VIDEO
    assert ds.has_video(first) and "extracted clips" in ds.video_source.why


@pytest.mark.parametrize("gone,message", [
    ("03", "anim400k_audio_clips.tar.gz part-03 is missing: the parts go 00, 01, 02, 04, 05"),
    ("00", "the first part present, anim400k_audio_clips.tar.gz.part-01, does not begin an archive"),
])
def test_a_missing_part_is_named(tmp_path: Path, capsys, gone: str, message: str) -> None:
    root = hf_download(tmp_path / "anim400k")
    (root / AUDIO / f"{AUDIO}.tar.gz.part-{gone}").unlink()
    with pytest.raises(DataError, match=re.escape(message) + ".*download it again"):
        Dataset.open(root)
    assert main(["data", "check", "--data", str(root)]) == 2
    assert message in capsys.readouterr().err
    (root / f"{AUDIO}.tar.gz").write_bytes((SAMPLE_DIR / f"{AUDIO}.tar.gz").read_bytes())  # a whole tarball too
    ds = Dataset.open(root)
    assert ds.source.paths == [root / f"{AUDIO}.tar.gz"] and message in ds.source.why and "not read" in ds.source.why
    _check_counts(ds)


@pytest.mark.parametrize("part,message", [
    ("03", "anim400k_audio_clips.tar.gz.part-03 is 60,000 bytes while the parts before the last are up to "
           "130,001: it looks truncated, download it again"),
    ("05", "the last, anim400k_audio_clips.tar.gz.part-05, may be incomplete or parts after it missing"),
])
def test_a_truncated_part_is_named(tmp_path: Path, part: str, message: str) -> None:
    root = hf_download(tmp_path / "anim400k")
    path = root / AUDIO / f"{AUDIO}.tar.gz.part-{part}"
    path.write_bytes(path.read_bytes()[:60000])
    ds = Dataset.open(root)
    if part == "03":
        assert ds.source.warnings() == [message]
    with pytest.raises(DataError, match="damaged or truncated.*" + re.escape(message)):
        list(ds.stream("test"))
    with pytest.raises(DataError, match=re.escape(message)):
        Dataset.open(root).audio(TEST_IDS[0])


def test_a_zero_byte_mp3_is_bad_and_says_download_again(tmp_path: Path, capsys) -> None:
    root = build(tmp_path / "anim400k", "extracted beside, tarball kept")
    empty = root / AUDIO / f"{TEST_IDS[1]}.mp3"
    empty.write_bytes(b"")
    ds = Dataset.open(root)
    summary = ds.summary("test")
    assert (summary.with_audio, summary.bad, summary.missing) == (3, (TEST_IDS[1],), (MISSING,))
    with pytest.raises(AudioError, match=rf"clip {TEST_IDS[1]}: .*empty \(0 bytes\).*download the audio again"):
        ds.audio(TEST_IDS[1])
    streamed = dict(ds.stream("test"))
    assert isinstance(next(a for c, a in streamed.items() if c.id == TEST_IDS[1]), AudioError)
    assert main(["data", "check", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^test\s+5\s+3\s+1\s+1\s+1\s+0$", out, re.M)
    assert f"bad audio: test {TEST_IDS[1]} (an empty, 0-byte file: download the audio again)" in out


def test_a_zero_byte_member_of_the_tarball_is_bad_too(tmp_path: Path) -> None:
    root = build(tmp_path / "anim400k", "cat beside the folder")
    shutil.rmtree(root / AUDIO)
    with tarfile.open(root / f"{AUDIO}.tar.gz") as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    with tarfile.open(root / f"{AUDIO}.tar.gz", "w:gz") as tar:
        for member, data in members:
            if member.name.endswith(f"{TEST_IDS[0]}.mp3"):
                data, member.size = b"", 0
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    ds = Dataset.open(root)
    assert ds.summary("test").bad == (TEST_IDS[0],)
    streamed = {c.id: a for c, a in ds.stream("test")}
    assert isinstance(streamed[TEST_IDS[0]], AudioError) and "download the audio again" in str(streamed[TEST_IDS[0]])


def test_an_audio_folder_without_clips_says_what_it_holds(tmp_path: Path, capsys) -> None:
    root = hf_download(tmp_path / "anim400k")
    for part in (root / AUDIO).iterdir():  # parts of another name: not the archive's
        part.rename(part.with_name(part.name.replace(AUDIO, "audio")))
    ds = Dataset.open(root)
    assert isinstance(ds.source, NoSource)
    assert "a folder with 6 .part-* files and no .mp3 file in <id_folder>/ sub-folders" in ds.source.describe()
    assert main(["data", "check", "--data", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning: none of the 5 selected clips of split 'test' has audio" in out
    assert "6 .part-* files and no .mp3" in out
    assert Dataset.open(root / AUDIO).annotations == root / ANNOTATIONS  # --data naming the audio folder
    shutil.move(root / AUDIO, tmp_path / AUDIO)
    with pytest.raises(DataError, match="no anim400k_annotations.*is a media folder: pass the folder holding it"):
        Dataset.open(tmp_path / AUDIO)


def test_extracted_mp3s_without_id_folders_are_described(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    shutil.rmtree(root / AUDIO)
    (root / AUDIO).mkdir()
    (root / AUDIO / "one.mp3").write_bytes(b"x")
    ds = Dataset.open(root)
    assert "1 .mp3 file directly in it" in ds.source.describe()
    with pytest.raises(DataError, match="none of the 5 selected clips.*1 .mp3 file directly in it"):
        raise ds.no_audio_error("test", 5)


def _old_form() -> dict:
    """The older documented annotations: one object keyed by show name, no train/val/test (a show whose name is
    taken keeps it in its ``show`` field, under another key)."""
    data = json.loads(next(SAMPLE_DIR.glob("anim400k_annotations*.json")).read_text(encoding="utf-8"))
    out: dict = {}
    for split in ("train", "val", "test"):
        for show in data[split]:
            key = show["show"] if show["show"] not in out else f"{show['show']} ({split})"
            if key == show["show"]:
                del show["show"]
            out[key] = show
    return out


def test_older_per_show_annotations_are_read_as_split_all(tmp_path: Path, capsys) -> None:
    root = hf_download(tmp_path / "anim400k")
    (root / ANNOTATIONS).write_text(json.dumps(_old_form()), encoding="utf-8")
    ds = Dataset.open(root)
    assert ds.splits() == ["all"]
    assert len(ds.clips("all")) == 8 and ds.summary("all").with_audio == 7
    assert {c.show for c in ds.clips("all")} == {c.show for s in SAMPLE.splits() for c in SAMPLE.clips(s)}
    with pytest.raises(DataError, match="older annotations form keyed by show.*pass --split all"):
        ds.clips("test")
    with pytest.raises(DataError, match="older form keyed by show.*pass --split all"):
        Dataset.open(root, splits=["test"])
    assert main(["data", "check", "--data", str(root)]) == 0
    assert re.search(r"^all\s+8\s+7\s+1\s+0\s+1\s+0$", capsys.readouterr().out, re.M)


@pytest.mark.parametrize("content,what", [
    ([{"show": "x"}], "a JSON list of 1 items"), ({"shows": {"a": 1}}, "a JSON object with keys shows"),
    ({}, "an empty JSON object"),
])
def test_other_json_says_what_it_is(tmp_path: Path, content, what: str) -> None:
    root = hf_download(tmp_path / "anim400k")
    (root / ANNOTATIONS).write_text(json.dumps(content))
    with pytest.raises(DataError, match=f"{what}, not Anim-400K annotations: expected an object with keys "
                                        "train/val/test") as err:
        Dataset.open(root)
    assert "is this an Anim-400K" not in str(err.value)


def test_gzipped_annotations_are_read_as_they_are(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    plain = root / ANNOTATIONS
    packed = root / f"{ANNOTATIONS}.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    ds = Dataset.open(root)
    assert ds.annotations == packed
    _check_counts(ds)
    assert Dataset.open(packed).annotations == packed  # --data may name the file
    packed.write_bytes(packed.read_bytes()[:500])
    with pytest.raises(DataError, match="damaged or truncated gzip file.*re-download the annotations"):
        Dataset.open(root)


def test_several_annotation_files_name_the_annotations_option(tmp_path: Path, capsys) -> None:
    root = hf_download(tmp_path / "anim400k")
    shutil.copy(root / ANNOTATIONS, root / "anim400k_annotations_official_splits_v0.json")
    assert main(["data", "check", "--data", str(root)]) == 2
    assert "several annotation files" in (err := capsys.readouterr().err) and "--annotations FILE" in err
    assert main(["data", "check", "--data", str(root), "--annotations", str(root / ANNOTATIONS)]) == 0
    assert f"annotations: {root / ANNOTATIONS}" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["run", "--split", "test"], ["data", "check"], ["evaluate", "--run", "x"],
                                     ["mushra", "build", "--dubs", "x", "--out", "y"]])
def test_every_command_with_data_takes_annotations(command: list[str]) -> None:
    from baseline_dub.cli import build_parser

    args = build_parser().parse_args([*command, "--data", "d", "--annotations", "a.json.gz"])
    assert (args.data, args.annotations) == ("d", "a.json.gz")


def test_part_sets_lettered_like_split_makes_them(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    for i, part in enumerate(sorted((root / AUDIO).iterdir())):
        part.rename(part.with_name(f"{AUDIO}.tar.gz.part-a{'abcdef'[i]}"))
    _check_counts(Dataset.open(root))
    (root / AUDIO / f"{AUDIO}.tar.gz.part-ac").unlink()
    with pytest.raises(DataError, match="part-ac is missing: the parts go aa, ab, ad, ae, af"):
        Dataset.open(root)


def test_data_naming_the_audio_folder_or_a_part_in_it(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    for data in (root / AUDIO, root / AUDIO / f"{AUDIO}.tar.gz.part-04"):
        ds = Dataset.open(data)
        assert ds.annotations == root / ANNOTATIONS and len(ds.source.paths) == PARTS
        _check_counts(ds)


def test_explicit_audio_folder_without_anything_is_an_error(tmp_path: Path) -> None:
    root = hf_download(tmp_path / "anim400k")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="an empty folder"):
        Dataset.open(root, audio=tmp_path / "empty")
    ds = Dataset.open(annotations=root / ANNOTATIONS, audio=root / AUDIO)  # the folder of parts, given
    assert isinstance(ds.source, TarSource) and len(ds.source.paths) == PARTS
    write_parts(tmp_path / "elsewhere")
    assert Dataset.open(root, audio=tmp_path / "elsewhere" / f"{AUDIO}.tar.gz.part-02").source.paths[0].name.endswith(
        "part-00")
