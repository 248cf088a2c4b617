"""Speed and memory of the whole pipeline: per-stage seconds, real-time factor, clips per hour, peak RSS.

Runs the pipeline (models loaded once) over the sample dataset's clips with audio and over mixtures made
from ../shared/data/real (speech + music at 0 dB), cycling through them until ``--clips`` clips are done,
and prints RSS after 20 clips and at the end (memory must stay flat over the number of clips), the slowest
clip's real-time factor (every clip's cost must stay bounded) and the machine's load average.

    .venv/bin/python bench/pipeline_speed.py [--profile offline] [--clips 40] [--batch-clips 1]
        [--engine openai-whisper|ctranslate2] [--compute-type int8]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def inputs(limit_real: int) -> list[tuple[str, object]]:
    from baseline_dub.audio import load_audio
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.pipeline import DubInput, clip_input

    ds = Dataset.open(None)
    items: list[tuple[str, object]] = []
    for clip in ds.clips("test"):
        if ds.has_audio(clip.id):
            items.append((f"sample:{clip.id}", clip_input(clip, ds)))
    music = load_audio(sorted((REAL / "music").glob("*.ogg"))[0])
    for path in sorted((REAL / "ja_speech").glob("*.wav"))[:limit_real]:
        speech = load_audio(path).to(44100, 2)
        bed = music.slice(0, speech.duration).to(44100, 2).fit_length(speech.frames)
        gain = np.sqrt(np.mean(speech.samples**2) / max(np.mean(bed.samples**2), 1e-12))
        mix = type(speech)(speech.samples + bed.samples * gain, 44100)
        items.append((f"mix:{path.stem}", DubInput(audio=mix, clip_id=path.stem, multi_speaker=None)))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default=None)
    parser.add_argument("--clips", type=int, default=20, help="clips to dub in total (cycling the inputs)")
    parser.add_argument("--batch-clips", type=int, default=1)
    parser.add_argument("--real", type=int, default=6, help="how many real speech files to mix")
    parser.add_argument("--engine", default=None, help="translate.engine (default: the profile's)")
    parser.add_argument("--compute-type", default=None, help="translate.compute_type (default: the profile's)")
    args = parser.parse_args(argv)

    from baseline_dub.config import load_config
    from baseline_dub.pipeline import DubPipeline

    config = load_config(args.profile, device=args.device)
    changes = {k: v for k, v in (("engine", args.engine), ("compute_type", args.compute_type)) if v}
    config = dataclasses.replace(config, translate=dataclasses.replace(config.translate, **changes))
    t0 = time.perf_counter()
    pipe = DubPipeline(config=config)
    engine = pipe.translator.describe()
    print(f"profile {pipe.config.profile} on {pipe.device}, translate {engine['translate_engine']}/"
          f"{engine['translate_compute_type']}; models loaded in {time.perf_counter() - t0:.1f} s, "
          f"RSS {rss_mb():.0f} MB; load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    items = inputs(args.real)
    stage_s: dict[str, float] = defaultdict(float)
    per_kind: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    audio_s = wall_s = 0.0
    done = failed = 0
    rss_at: dict[int, float] = {}
    slowest = (0.0, "")
    i = 0
    while done + failed < args.clips:
        batch = [items[(i + k) % len(items)] for k in range(args.batch_clips)]
        i += args.batch_clips
        start = time.perf_counter()
        results = pipe.dub_batch([item for _, item in batch])
        elapsed = time.perf_counter() - start
        wall_s += elapsed
        for (name, item), res in zip(batch, results, strict=True):
            dur = item.audio.duration
            audio_s += dur
            kind = name.split(":")[0]
            per_kind[kind][0] += dur
            share = elapsed * dur / sum(it.audio.duration for _, it in batch)
            per_kind[kind][1] += share
            slowest = max(slowest, (share / dur, name))
            if isinstance(res, Exception):
                failed += 1
                print(f"  failed {name}: {res}", file=sys.stderr)
                continue
            done += 1
            for stage, sec in res.stage_seconds.items():
                stage_s[stage] += sec
            if done + failed in (20, 200):
                rss_at[done + failed] = rss_mb()
    print(f"\nclips {done} done, {failed} failed; audio {audio_s:.1f} s; processing {wall_s:.1f} s")
    print(f"{'stage':12s} {'seconds':>9s} {'RTF':>7s} {'share':>6s}")
    total = sum(stage_s.values()) or 1.0
    for stage, sec in stage_s.items():
        print(f"{stage:12s} {sec:9.2f} {sec / audio_s:7.3f} {100 * sec / total:5.1f}%")
    print(f"whole pipeline RTF {wall_s / audio_s:.3f}; clips per hour {3600 * (done + failed) / wall_s:.0f}")
    for kind, (dur, sec) in per_kind.items():
        print(f"  {kind:7s} inputs: {dur:.1f} s audio, RTF {sec / dur:.3f}")
    print(f"slowest clip: RTF {slowest[0]:.3f} ({slowest[1]}); load average at the end {os.getloadavg()[0]:.2f}")
    for n, mb in sorted(rss_at.items()):
        print(f"RSS after {n} clips: {mb:.0f} MB")
    print(f"RSS now {rss_mb():.0f} MB; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    try:
        import torch

        if torch.cuda.is_available():
            print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
