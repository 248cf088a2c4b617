"""Our split runner against the per-clip chain a user would otherwise script, side by side, as a ratio.

Naive: for each clip, the stages' own command-line tools in fresh processes, so every model is loaded
afresh per clip (`baseline-dub separate`, `diarize`, then per segment `translate` and `synthesize`, then
`dub` for the remix, the only command that remixes). Ours: `baseline-dub run` over the same clips, models
loaded once. Both run the offline profile on the sample dataset's test clips.

    .venv/bin/python bench/runner_vs_naive.py [--clips 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(ROOT / ".venv" / "bin" / "baseline-dub")]


def sh(*args: str) -> str:
    return subprocess.run([*CLI, *args], check=True, capture_output=True, text=True).stdout


def naive_clip(src: Path, work: Path) -> None:
    """One clip through the per-stage CLIs, each in a fresh process."""
    from baseline_dub.audio import load_audio, write_audio

    prof = ["--profile", "offline"]
    sh("separate", str(src), "--out", str(work), *prof)
    rttm = sh("diarize", str(work / "vocals.wav"), *prof)
    vocals = load_audio(work / "vocals.wav")
    for i, line in enumerate(rttm.splitlines()):
        parts = line.split()
        start, dur = float(parts[3]), float(parts[4])
        seg = work / f"seg{i}.wav"
        write_audio(seg, vocals.slice(start, start + dur))
        text = sh("translate", str(seg), *prof).strip()
        if text:
            sh("synthesize", "--text", text, "--reference", str(seg), "--out", str(work / f"tts{i}.wav"), *prof)
    sh("dub", str(src), "--out", str(work / "dub.wav"), *prof)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    args = parser.parse_args(argv)

    from baseline_dub.audio import write_audio
    from baseline_dub.data.dataset import Dataset

    ds = Dataset.open(None)
    clips = [c for c in ds.clips("test") if ds.has_audio(c.id)][: args.clips]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        srcs = []
        for c in clips:
            path = tmp_path / "src" / f"{c.id.replace('/', '_')}.wav"
            write_audio(path, ds.audio(c.id))
            srcs.append(path)
        t0 = time.perf_counter()
        for i, src in enumerate(srcs):
            naive_clip(src, tmp_path / f"naive{i}")
        naive = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([*CLI, "run", "--split", "test", "--limit", str(len(clips)), "--out", str(tmp_path / "ours"),
                        "--profile", "offline", "--no-progress"], check=False, capture_output=True)
        ours = time.perf_counter() - t0
    n = len(clips)
    print(f"clips: {n}")
    print(f"naive per-stage CLI chain: {naive:.1f} s ({naive / n:.1f} s per clip)")
    print(f"baseline-dub run:          {ours:.1f} s ({ours / n:.1f} s per clip, model loading included)")
    print(f"speed-up: {naive / ours:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
