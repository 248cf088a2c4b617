"""`make baseline` on a split of hostile clips (tests/support/hostile_split.py, in the exact Anim-400K layout) with the
real offline weights: silent, 0.05 s, Whisper-refused, 5.1, NaN, truncated and missing clips next to normal
ones. One row per clip; the same rows and the same output bytes with --batch-clips 1 and 3; outputs that
honour the umask; shards of one split running at once into one --out."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import load_audio, loudness
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.data.dataset import Dataset
from baseline_dub.runner.split import RunOptions, _Run
from support import hostile_split
from support.manifest import manifest_rows

pytestmark = pytest.mark.weights  # `make baseline`: the offline weights
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile_data")
    return folder, hostile_split.build(folder)


def _umask(mask: int):
    return lambda: os.umask(mask)


@pytest.fixture(scope="module")
def make_run(hostile, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`make baseline DATA=...` (one clip per batch), under umask 022."""
    data, _ = hostile
    out = tmp_path_factory.mktemp("hostile_make")
    proc = subprocess.run(["make", "baseline", "SPLIT=test", f"DATA={data}", f"OUT={out}", "PROFILE=offline"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1800, preexec_fn=_umask(0o022))
    return out, proc


@pytest.fixture(scope="module")
def batch3_run(hostile, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The same split with --batch-clips 3 (hostile and normal clips share batches), under umask 002."""
    data, _ = hostile
    out = tmp_path_factory.mktemp("hostile_batch3")
    proc = subprocess.run([str(BIN / "baseline-dub"), "run", "--split", "test", "--data", str(data), "--out", str(out),
                           "--profile", "offline", "--no-progress", "--batch-clips", "3"],
                          capture_output=True, text=True, timeout=1800, preexec_fn=_umask(0o002))
    return out, proc


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "test" / "manifest.jsonl").read_text().splitlines() if line.strip()]


def test_make_baseline_finishes_with_one_row_per_clip(make_run, hostile):
    out, proc = make_run
    _, ids = hostile
    # the CLI exits 1 (one clip failed: the NaN one), which make reports as "Error 1"; every clip has its row
    assert "Error 1" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    rows = _lines(out)
    assert sorted(r["clip_id"] for r in rows) == sorted(ids.values())  # exactly one row each
    status = {kind: (manifest_rows(out / "test")[cid]["status"], manifest_rows(out / "test")[cid]["reason"])
              for kind, cid in ids.items()}
    assert status == {
        "normal": ("done", None), "normal2": ("done", None), "six_channel": ("done", None),
        "truncated": ("done", None), "silent": ("no_speech", "no_speech"), "short": ("no_speech", "no_speech"),
        "nospeech_text": ("no_speech", "no_usable_text"), "nan": ("failed", "bad_audio"),
        "missing": ("missing_audio", "missing_audio"),
    }


def test_clips_without_speech_get_their_backing_at_the_source_loudness(make_run, hostile):
    out, _ = make_run
    data, ids = hostile
    rows, ds = manifest_rows(out / "test"), Dataset.open(data)
    for kind in ("silent", "short", "nospeech_text"):
        row, src = rows[ids[kind]], ds.audio(ids[kind])
        dub = load_audio(out / row["output"])
        assert (dub.rate, dub.channels, dub.frames) == (src.rate, src.channels, src.frames)
        assert ids[kind] in row["note"] and "backing alone" in row["note"] and row["error"] is None
        parts = out / row["parts"]
        assert not parts.exists() or not list(parts.glob("seg-*.flac"))  # nothing was synthesized
    assert load_audio(out / rows[ids["silent"]]["output"]).peak() == 0.0
    quiet = rows[ids["nospeech_text"]]
    assert [s["skipped"] for s in quiet["segments"]] == ["no_speech"] and not any(s["text"] for s in quiet["segments"])
    src = ds.audio(ids["nospeech_text"])
    assert abs(loudness(load_audio(out / quiet["output"])) - loudness(src)) < 0.1
    assert abs(quiet["dub_lufs"] - quiet["source_lufs"]) < 0.1


def test_six_channel_clip_is_dubbed_at_its_loudness(make_run, hostile):
    out, _ = make_run
    data, ids = hostile
    row = manifest_rows(out / "test")[ids["six_channel"]]
    src, dub = Dataset.open(data).audio(ids["six_channel"]), load_audio(out / row["output"])
    assert src.channels == 6 and (dub.channels, dub.frames, dub.rate) == (6, src.frames, src.rate)
    assert abs(loudness(dub) - loudness(src)) < 0.1 and dub.peak() < 1.0
    texts = [s["text"] for s in row["segments"] if s["text"]]
    assert texts and all(t.isascii() for t in texts)  # the centre channel's dialogue was heard


def test_nan_clip_is_refused_at_decode_and_the_run_goes_on(make_run, hostile):
    out, proc = make_run
    _, ids = hostile
    row = manifest_rows(out / "test")[ids["nan"]]
    assert row["reason"] == "bad_audio" and ids["nan"] in row["error"] and "NaN or infinite" in row["error"]
    assert f"failed: {row['error']}" in proc.stderr and "re-download" in row["error"]
    assert row["speakers_expected"] == 1 and row["speakers_found"] is None  # every row has the annotation's count


def test_truncated_clip_records_its_duration_mismatch(make_run, hostile):
    out, proc = make_run
    _, ids = hostile
    rows = manifest_rows(out / "test")
    row = rows[ids["truncated"]]
    assert row["annotation_duration"] == 4.429 and abs(row["duration"] - 1.33) < 0.01
    assert row["duration_mismatch"] == pytest.approx(row["duration"] - 4.429, abs=1e-3)
    assert ids["truncated"] in row["warning"] and "truncated" in row["warning"]
    assert f"duration: clip {ids['truncated']}" in proc.stderr
    assert all(r.get("duration_mismatch") is None for cid, r in rows.items() if cid != ids["truncated"])


def test_summary_counts_every_outcome_and_the_skipped_entries(make_run):
    out, proc = make_run
    summary = json.loads((out / "test" / "summary.json").read_text())
    assert {k: summary[k] for k in ("selected", "done", "no_speech", "missing_audio", "failed", "duration_mismatch",
                                    "skipped_entries")} == {
        "selected": 9, "done": 4, "no_speech": {"no_speech": 2, "no_usable_text": 1}, "missing_audio": 1,
        "failed": {"bad_audio": 1}, "duration_mismatch": 1, "skipped_entries": 1}
    assert len(summary["skipped_entry_list"]) == 1 and "'not a time'" in summary["skipped_entry_list"][0]
    assert "no speech        3 (no_speech: 2, no_usable_text: 1" in proc.stdout
    assert "duration differs 1" in proc.stdout
    assert f"skipped entries  1 malformed annotation entries of this split (listed under skipped_entry_list in " \
           f"{out / 'test' / 'summary.json'}" in proc.stdout


def test_a_rerun_redoes_only_the_failed_clip(make_run, hostile):
    out, _ = make_run
    data, ids = hostile
    run = _Run.plan(RunOptions(split="test", data=str(data), out=str(out), progress=False))
    try:  # no_speech clips are finished, like done ones: recorded once, never retried
        assert run.todo == {ids["nan"], ids["missing"]} and run.summary.already_done == 7
    finally:
        run.close()


def test_no_clip_depends_on_the_clips_batched_with_it(make_run, batch3_run):
    (one, _), (three, proc) = make_run, batch3_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    hostile_split.assert_same_runs(one, three)


@pytest.mark.parametrize("which,mode", [("make", 0o644), ("batch3", 0o664)])
def test_every_output_honours_the_umask(make_run, batch3_run, which, mode):
    out = (make_run if which == "make" else batch3_run)[0]
    files = [p for p in (out / "test").rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".wav", ".flac", ".json", ".jsonl"}
    assert {str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == \
           {str(p.relative_to(out)): oct(mode) for p in files}


def test_shards_of_one_split_run_at_once_into_one_out(tmp_path):
    out = tmp_path / "shards"
    cmd = [str(BIN / "baseline-dub"), "run", "--split", "test", "--out", str(out), "--profile", "offline",
           "--no-progress", "--limit", "1"]
    procs = [subprocess.Popen([*cmd, "--shard", f"{i}/2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    results = [p.communicate(timeout=1200) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    rows = manifest_rows(out / "test")
    assert len(rows) == 2 and all(r["status"] == "done" for r in rows.values())
    assert {r["worker"] for r in rows.values()} == {f"pid-{p.pid}" for p in procs}
    for i in range(2):
        assert json.loads((out / "test" / f"summary.shard-{i}-of-2.json").read_text())["done"] == 1
    assert not list(out.rglob("*.part"))
    assert np.isfinite([r["dub_lufs"] for r in rows.values()]).all()
