"""`baseline-dub run` refuses what it cannot do before any model loads: bad --limit/--batch-clips, an --out
that is a file or cannot be created, an output shard another run holds. The locks themselves (two processes,
a killed holder, shards side by side) and the stray-`.part` cleanup that only touches what a run owns."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from baseline_dub import cli, pipeline
from baseline_dub.data.dataset import Dataset
from baseline_dub.outputs.record import ClipRecord
from baseline_dub.runner.clip_files import output_paths
from baseline_dub.runner.lock import OutputLock, OutputLockedError
from baseline_dub.runner.manifest import ManifestWriter, manifest_name
from baseline_dub.runner.shards import in_shard
from baseline_dub.runner.split import RunOptions, _Run

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from baseline_dub.runner.lock import OutputLock
    shard = tuple(int(x) for x in sys.argv[2].split("/")) if sys.argv[2] != "all" else None
    lock = OutputLock(Path(sys.argv[1]), shard).acquire()
    print("held", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def no_models(monkeypatch):
    """Any attempt to load the models fails the test: these checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("models were loaded before the bad option or output was refused")
    monkeypatch.setattr(pipeline, "DubPipeline", refuse)


def _run(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["run", "--split", "test", "--profile", "offline", "--no-progress", *args])
    return code, capsys.readouterr().err


def _holder(split_dir: Path, shard: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(split_dir), shard], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("args,message", [
    (["--limit", "-1"], "--limit -1: must be 1 or more"),
    (["--limit", "0"], "--limit 0: must be 1 or more"),
    (["--batch-clips", "0"], "--batch-clips 0: must be 1 or more"),
    (["--batch-clips", "-3"], "--batch-clips -3: must be 1 or more"),
    (["--ray", "local", "--actors", "0"], "--actors 0: must be 1 or more"),
])
def test_bad_counts_are_clear_errors(tmp_path, capsys, no_models, args, message):
    code, err = _run(capsys, "--out", str(tmp_path / "out"), *args)
    assert code == 2 and f"error: {message}" in err


def test_out_naming_a_file_is_refused_before_models_load(tmp_path, capsys, no_models):
    out = tmp_path / "runs.txt"
    out.write_text("not a folder")
    code, err = _run(capsys, "--out", str(out))
    assert code == 2 and f"error: --out {out}: {out} is a file, not a folder" in err
    assert out.read_text() == "not a folder"
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "test").write_text("")  # the split's folder is a file
    code, err = _run(capsys, "--out", str(tmp_path / "runs"))
    assert code == 2 and "is a file, not a folder" in err


@pytest.mark.parametrize("where", ["/proc/baseline-dub-out", "/dev/null/out"])
def test_out_that_cannot_be_created_is_refused_before_models_load(capsys, no_models, where):
    code, err = _run(capsys, "--out", where)
    assert code == 2 and f"error: --out {where}:" in err and "pass a folder you can write to" in err


def test_second_run_of_a_shard_stops_at_once_naming_the_holder(tmp_path, capsys, no_models):
    out = tmp_path / "out"
    holder = _holder(out / "test", "all")
    try:
        code, err = _run(capsys, "--out", str(out))
        assert code == 2
        assert f"host {socket.gethostname()}, pid {holder.pid}" in err and "wait for it to finish" in err
        code, err = _run(capsys, "--out", str(out), "--shard", "1/2")  # a shard cannot join a whole-split run
        holder_text = f"host {socket.gethostname()}, pid {holder.pid}"
        assert code == 2 and f"a whole-split run is writing into it ({holder_text}" in err
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "test" / "manifest.jsonl").exists()  # the refused runs wrote nothing


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    split_dir = tmp_path / "out" / "test"
    holder = _holder(split_dir, "0/2")
    with pytest.raises(OutputLockedError, match=f"pid {holder.pid}"):
        OutputLock(split_dir, (0, 2)).acquire()
    os.kill(holder.pid, signal.SIGKILL)  # as `kill -9` or a node failure leaves it: the lock file stays
    holder.wait()
    assert (split_dir / f".{manifest_name((0, 2))}.lock").read_text()  # still names the dead holder
    run = _Run.plan(RunOptions(split="test", out=str(tmp_path / "out"), shard=(0, 2), progress=False))
    try:
        assert f'"pid": {os.getpid()}' in (split_dir / f".{manifest_name((0, 2))}.lock").read_text()
    finally:
        run.close()


def test_shards_of_one_split_hold_their_locks_side_by_side(tmp_path):
    split_dir = tmp_path / "out" / "test"
    first, second = _holder(split_dir, "0/2"), _holder(split_dir, "1/2")  # two processes at once
    try:
        with pytest.raises(OutputLockedError, match=f"another run is writing shard 1/2 .*pid {second.pid}"):
            OutputLock(split_dir, (1, 2)).acquire()
        with pytest.raises(OutputLockedError, match=f"shard runs are writing .*pid {first.pid}.*pid {second.pid}"):
            OutputLock(split_dir, None).acquire()
        with OutputLock(split_dir, (0, 3)):  # other shard counts are not told apart: only exact shards
            pass
    finally:
        for proc in (first, second):
            proc.kill()
            proc.wait()
    with OutputLock(split_dir, None):
        pass


def _part(folder: Path, target: str, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".{target}.{tag}.part"
    path.write_bytes(b"half written")
    return path


def test_a_shard_run_cleans_only_the_stray_parts_it_owns(tmp_path, capsys, no_models):
    out = tmp_path / "out"
    clips = Dataset.open(None).clips("test")
    mine = [c for c in clips if in_shard(c.id, (0, 2))]
    theirs = [c for c in clips if not in_shard(c.id, (0, 2))]
    assert mine and theirs
    with ManifestWriter(out / "test" / manifest_name((0, 2))) as writer:  # shard 0 is finished: nothing to dub
        for clip in mine:
            wav, _ = output_paths(out, "test", clip.id)
            wav.parent.mkdir(parents=True, exist_ok=True)
            wav.write_bytes(b"RIFF")
            writer.write(ClipRecord(clip.id, output=str(wav.relative_to(out))))
    own = [_part(output_paths(out, "test", mine[0].id)[0].parent, Path(mine[0].id).name + ".wav", "a1b2c3d4"),
           _part(output_paths(out, "test", mine[0].id)[1], "seg-00.flac", "k3j4l5m6"),
           _part(out / "test", "summary.shard-0-of-2.json", "x9y8z7w6")]
    other = [_part(output_paths(out, "test", theirs[0].id)[0].parent, Path(theirs[0].id).name + ".wav", "ffff0000"),
             _part(output_paths(out, "test", theirs[0].id)[1], "seg-01.flac", "eeee1111"),
             _part(out / "test", "summary.shard-1-of-2.json", "dddd2222")]
    code, err = _run(capsys, "--out", str(out), "--shard", "0/2")
    assert code == 0, err
    assert [p.exists() for p in own] == [False] * 3
    assert [p.exists() for p in other] == [True] * 3  # another shard's in-flight files are never touched
    summary = json.loads((out / "test" / "summary.shard-0-of-2.json").read_text())
    assert summary["selected"] == summary["already_done"] == len(mine)
