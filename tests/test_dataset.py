"""Anim-400K annotations (baseline_dub.data.annotations, baseline_dub.data.dataset) on files built in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baseline_dub.data.annotations import SidecarColumns, load_annotations, load_sidecar, parse_timestamp
from baseline_dub.data.dataset import Dataset
from baseline_dub.errors import DataError
from support.annotations import clip_entry, show, write_annotations


@pytest.mark.parametrize("text,seconds", [
    ("00:01:02.500", 62.5), ("01:00:00,250", 3600.25), ("1:02:03", 3723.0), ("02:03.5", 123.5),
    ("12.5", 12.5), ("0", 0.0), ("75", 75.0), (" 00:00:01.000 ", 1.0), (3.25, 3.25), (7, 7.0),
])
def test_timestamp_formats(text, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "abc", "1:2:3:4", "00:61:00", "00:00:60.5", "-1", "1.2.3",
                                 None, [1], True, float("nan"), -2.0])
def test_bad_timestamp_is_an_error_naming_the_clip(bad) -> None:
    with pytest.raises(DataError, match="db/clip-1"):
        parse_timestamp(bad, "db/clip-1")


def test_clips_fields_order_and_speaker_filter(tmp_path: Path) -> None:
    data = {"train": [], "val": [], "test": [
        show("Show A", {"2": [clip_entry("aa/a2-0"), clip_entry("aa/a2-1", speakers=["S1", "S2"])],
                        "1": [clip_entry("aa/a1-0", speakers=["S1", "S1"])]}),
        show("Show B", {"1": [clip_entry("bb/b1-0", start="12.5", end="00:20.0", speakers=[3, 4])]}),
    ]}
    ds = Dataset.open(annotations=write_annotations(tmp_path, data))
    assert ds.splits() == ["train", "val", "test"]
    clips = ds.clips("test")
    assert [c.id for c in clips] == ["aa/a2-0", "aa/a2-1", "aa/a1-0", "bb/b1-0"]  # file order, not sorted
    first = clips[0]
    assert (first.show, first.season, first.episode, first.index, first.split) == ("Show A", "Show A S1",
                                                                                    "2", 0, "test")
    assert (first.jp_start, first.jp_end, first.en_start, first.en_end) == (1.0, 4.5, 2.0, 5.25)
    assert first.jp_duration == pytest.approx(3.5) and first.id_folder == "aa"
    assert first.en_clip == "aa/en-a2-0" and first.jp_text == "こんにちは" and first.en_text == "Hello"
    assert first.backing_path is None and first.mixing_ratio is None
    assert clips[3].speakers == ("3", "4") and clips[3].jp_duration == pytest.approx(7.5)
    assert [c.id for c in ds.clips("test", multi_speaker=True)] == ["aa/a2-1", "bb/b1-0"]
    assert [c.id for c in ds.clips("test", multi_speaker=False)] == ["aa/a2-0", "aa/a1-0"]  # S1,S1 is one
    assert ds.clips("train") == [] and ds.skipped == []
    assert ds.clip("bb/b1-0") == clips[3]
    with pytest.raises(DataError, match="no split 'dev'"):
        ds.clips("dev")
    with pytest.raises(DataError, match="no clip"):
        ds.clip("zz/none")


def test_malformed_entries_are_skipped_with_where_and_why(tmp_path: Path) -> None:
    no_key = clip_entry("cc/no-key")
    del no_key["en_text"]
    data = {"train": [show("Good", {"1": [clip_entry("aa/ok-1")]})], "val": [], "test": [
        show("Mixed", {"1": [clip_entry("aa/ok-2"), no_key, "not a clip",
                             clip_entry("cc/bad-time", start="12:99"),
                             clip_entry("cc/backwards", start="10.0", end="5.0"),
                             clip_entry(5, en="cc/en5"), clip_entry("../../etc/passwd"),
                             clip_entry("cc/spk", speakers="S1"),
                             clip_entry("aa/ok-2"),
                             clip_entry("aa/ok-3")],
                       "2": {"no": "clips"}}),
        {"episodes": {}},
        show("No episodes", {}) | {"episodes": []},
    ]}
    ds = Dataset.open(annotations=write_annotations(tmp_path, data))
    assert [c.id for c in ds.clips("test")] == ["aa/ok-2", "aa/ok-3"]
    assert [c.id for c in ds.clips("train")] == ["aa/ok-1"]
    reasons = [str(s) for s in ds.skipped]
    expected = [
        ("clip #1", "missing key(s) en_text"), ("clip #2", "not an object"), ("clip #3", "cc/bad-time"),
        ("clip #4", "end time before start"), ("clip #5", "not a string"), ("clip #6", "not a clip id"),
        ("clip #7", "speakers is not a list"), ("clip #8", "duplicate clip id aa/ok-2"),
    ]
    for (where, why), text in zip(expected, reasons, strict=False):
        assert text.startswith(f"split test, show 'Mixed', episode 1, {where}:"), text
        assert why in text
    assert reasons[8] == "split test, show 'Mixed', episode 2: episode has no 'clips' list"
    assert reasons[9].startswith("split test, show '#1'")
    assert reasons[10] == "split test, show 'No episodes': show has no 'episodes' object"
    assert len(reasons) == 11
    with pytest.raises(DataError, match="episode 1, clip #1: missing key"):
        Dataset.open(annotations=tmp_path / "anim400k_annotations.json", strict=True)


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"), ("[1, 2]", "train/val/test"), ('{"foo": []}', "train/val/test"),
    ('{"train": {}, "test": []}', "split 'train' is a dict"),
])
def test_unusable_annotation_files_are_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "anim400k_annotations.json"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        Dataset.open(tmp_path)


def test_one_split_and_missing_files(tmp_path: Path) -> None:
    path = write_annotations(tmp_path, {"train": [show("A", {"1": [clip_entry("aa/t")]})],
                                        "test": [show("B", {"1": [clip_entry("bb/x")]})]})
    clips, skipped = load_annotations(path, ["test"])
    assert list(clips) == ["test"] and clips["test"][0].id == "bb/x" and skipped == []
    assert Dataset.open(path, splits=["train"]).splits() == ["train"]
    with pytest.raises(DataError, match="no split val"):
        load_annotations(path, ["val"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no anim400k_annotations"):
        Dataset.open(tmp_path / "empty")
    with pytest.raises(DataError, match="no such folder"):
        Dataset.open(tmp_path / "nowhere")
    write_annotations(tmp_path, {"test": []}, "anim400k_annotations_2.json")
    with pytest.raises(DataError, match="several annotation files"):
        Dataset.open(tmp_path)


def test_sidecar_csv_json_and_custom_columns(tmp_path: Path) -> None:
    write_annotations(tmp_path, {"test": [show("A", {"1": [clip_entry("aa/one"), clip_entry("aa/two")]})]})
    (tmp_path / "anim400k_sidecar.csv").write_text(
        "clip_id,mixing_ratio,backing\naa/one,0.35,backing/one.wav\naa/other,1.0,\n")
    one, two = Dataset.open(tmp_path).clips("test")
    assert one.mixing_ratio == pytest.approx(0.35)
    assert one.backing_path == str((tmp_path / "backing" / "one.wav").resolve())
    assert two.mixing_ratio is None and two.backing_path is None
    side = tmp_path / "extra" / "side.json"
    side.parent.mkdir()
    side.write_text(json.dumps({"aa/two": {"ratio": 0.8, "bg": "b.flac"}}))
    cols = SidecarColumns(clip_id="id", mixing_ratio="ratio", backing="bg")
    _, two = Dataset.open(tmp_path, sidecar=side, sidecar_columns=cols).clips("test")
    assert two.mixing_ratio == 0.8 and two.backing_path == str(side.parent.resolve() / "b.flac")
    side.write_text(json.dumps([{"id": "aa/one", "ratio": None, "bg": ""}]))
    assert load_sidecar(side, cols) == {"aa/one": (None, None)}
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,mixing_ratio,backing\naa/one,loud,\n")
    with pytest.raises(DataError, match="row 1.*not a number"):
        load_sidecar(bad)
    bad.write_text("id,ratio\naa/one,0.3\n")
    with pytest.raises(DataError, match="row 1 has no 'clip_id'"):
        load_sidecar(bad)
