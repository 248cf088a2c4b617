"""``baseline-dub run`` against what a user of a per-file dubbing tool does: one ``baseline-dub dub`` per clip.

Per clip: one ``baseline-dub dub CLIP --out ...`` process per clip of the split (models loaded for each clip,
as per-file tools such as open-dubbing or SoniTranslate load them per file), told what ``run`` reads from the
annotation (``--single-speaker`` for single-speaker clips, ``--mixing-ratio`` when the sidecar gives one), so
that both do the same work. Ours: one ``baseline-dub run`` over the same clips, models loaded once. Same
profile, same machine, one after the other in this one run; the clips' audio is written to files first
(untimed). Prints both wall times, the ratio, and the load average before and after. Usage:

    .venv/bin/python bench/runner_vs_naive.py [--split test] [--profile offline] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-m", "baseline_dub.cli"]


def timed(args: list[str]) -> float:
    """Wall seconds of one CLI process (which must succeed)."""
    t0 = time.perf_counter()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"`baseline-dub {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--limit", type=int, default=None, help="at most N clips (default: every clip with audio)")
    args = parser.parse_args(argv)

    from baseline_dub.audio import write_audio
    from baseline_dub.data.dataset import Dataset

    ds = Dataset.open(None)
    clips = [c for c in ds.clips(args.split) if ds.has_audio(c.id)][: args.limit]
    prof = ["--profile", args.profile, "--device", "cpu"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        jobs = []
        for c in clips:
            src = tmp_path / "src" / f"{c.id.replace('/', '_')}.wav"
            write_audio(src, ds.audio(c.id))
            extra = [] if c.is_multi_speaker else ["--single-speaker"]
            if c.mixing_ratio is not None:
                extra += ["--mixing-ratio", str(c.mixing_ratio)]
            jobs.append(["dub", str(src), "--out", str(tmp_path / "per-clip" / f"{src.stem}.wav"), *extra, *prof])
        audio_s = sum(ds.audio(c.id).duration for c in clips)
        load_before = os.getloadavg()[0]
        per_clip = [timed(job) for job in jobs]
        ours = timed(["run", "--split", args.split, "--limit", str(len(clips)), "--out", str(tmp_path / "run"),
                      "--no-progress", *prof])
        load_after = os.getloadavg()[0]
    naive = sum(per_clip)
    n = len(clips)
    print(f"split {args.split}: {n} clips, {audio_s:.1f} s of audio; profile {args.profile} on the CPU; "
          f"{os.cpu_count()} cores, load average {load_before:.2f} before, {load_after:.2f} after")
    print(f"one `baseline-dub dub` per clip: {naive:.1f} s ({naive / n:.1f} s per clip, slowest {max(per_clip):.1f} s; "
          f"RTF {naive / audio_s:.2f})")
    print(f"one `baseline-dub run`:          {ours:.1f} s ({ours / n:.1f} s per clip, model loading included; "
          f"RTF {ours / audio_s:.2f})")
    print(f"run is {naive / ours:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
