"""The manifest (durable rows, last row wins, cut lines) and the deterministic shard partition."""

from __future__ import annotations

import json

import pytest

from baseline_dub.errors import ConfigError
from baseline_dub.outputs.record import ClipRecord, Status
from baseline_dub.runner.manifest import ManifestWriter, done_ids, manifest_name, read_manifest
from baseline_dub.runner.split import in_shard, output_paths, parse_shard


def test_last_row_wins_and_cut_line_is_ignored(tmp_path):
    split_dir = tmp_path / "test"
    with ManifestWriter(split_dir / "manifest.jsonl") as w:
        w.write(ClipRecord(clip_id="a/a1", status=Status.FAILED, reason="stage_error"))
        w.write(ClipRecord(clip_id="b/b1", status=Status.DONE, output="test/b/b1.wav"))
        w.write(ClipRecord(clip_id="a/a1", status=Status.DONE, output="test/a/a1.wav"))
    with open(split_dir / "manifest.jsonl", "a") as fh:
        fh.write('{"clip_id": "c/c1", "status": "do')  # a kill in the middle of a write
    rows = read_manifest(split_dir)
    assert set(rows) == {"a/a1", "b/b1"}
    assert rows["a/a1"].status == Status.DONE
    # a new writer repairs the cut tail so its first row is readable
    with ManifestWriter(split_dir / "manifest.jsonl") as w:
        w.write(ClipRecord(clip_id="c/c1", status=Status.DONE, output="test/c/c1.wav"))
    assert read_manifest(split_dir)["c/c1"].status == Status.DONE


def test_done_ids_need_the_output_file(tmp_path):
    with ManifestWriter(tmp_path / "test" / "manifest.jsonl") as w:
        w.write(ClipRecord(clip_id="a/a1", status=Status.DONE, output="test/a/a1.wav"))
        w.write(ClipRecord(clip_id="b/b1", status=Status.DONE, output="test/b/b1.wav"))
        w.write(ClipRecord(clip_id="a/a2", status=Status.NO_SPEECH, reason="no_speech", output="test/a/a2.wav"))
        w.write(ClipRecord(clip_id="a/a3", status=Status.FAILED, reason="bad_audio", output=None))
    (tmp_path / "test" / "a").mkdir()
    for name in ("a1", "a2"):
        (tmp_path / "test" / "a" / f"{name}.wav").write_bytes(b"RIFF")
    assert done_ids(tmp_path, "test") == {"a/a1", "a/a2"}  # a clip with no speech is finished: never redone


def test_shard_manifests_are_read_together(tmp_path):
    for shard in ((0, 2), (1, 2)):
        with ManifestWriter(tmp_path / manifest_name(shard)) as w:
            w.write(ClipRecord(clip_id=f"x/{shard[0]}", status=Status.DONE))
    assert set(read_manifest(tmp_path)) == {"x/0", "x/1"}
    assert json.loads((tmp_path / "manifest.shard-0-of-2.jsonl").read_text())["clip_id"] == "x/0"


def test_shards_partition_the_ids():
    ids = [f"{i:02x}/{i:08x}-clip" for i in range(500)]
    parts = [{c for c in ids if in_shard(c, (i, 4))} for i in range(4)]
    assert set().union(*parts) == set(ids)
    assert sum(len(p) for p in parts) == len(ids)
    assert all(60 < len(p) < 190 for p in parts)  # roughly balanced
    assert all(in_shard(c, None) for c in ids)


@pytest.mark.parametrize("bad", ["3", "2/2", "-1/2", "a/b", "0/0"])
def test_bad_shard_is_a_clear_error(bad):
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(bad)


def test_output_paths_mirror_the_dataset(tmp_path):
    wav, parts = output_paths(tmp_path, "test", "db/db019ebb-088c")
    assert wav == tmp_path / "test" / "db" / "db019ebb-088c.wav"
    assert parts == tmp_path / "test" / "db" / "db019ebb-088c"
