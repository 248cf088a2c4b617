"""Speed and memory of the whole pipeline: per-stage seconds, real-time factor, clips per hour, peak RSS.

Runs the pipeline (models loaded once) over the sample dataset's clips with audio and over mixtures made
from ../shared/data/real (speech + music at 0 dB), cycling through them until ``--clips`` clips are done,
and prints RSS after 20 clips and at the end (memory must stay flat over the number of clips), the slowest
clip's real-time factor (every clip's cost must stay bounded) and the machine's load average.

    .venv/bin/python bench/pipeline_speed.py [--profile offline] [--clips 40] [--batch-clips 1]
        [--engine openai-whisper|ctranslate2] [--compute-type int8]
        [--variant KEY=VALUE,... --variant KEY=VALUE,...]

``--variant`` (repeatable) compares translate settings side by side in one run: every batch is dubbed once with
each variant, their order alternating from batch to batch, and the per-stage seconds and RTF are printed per
variant with the ratio to the first. KEY is a ``translate`` setting (``beam_size``, ``patience``,
``stock_phrases``, ``deloop``, ...) or ``reseed`` (``false``: the CTranslate2 engine's sampled fallbacks are not
reseeded per call, as before issue 29), e.g. ``--variant beam_size=1,stock_phrases=false,deloop=false,reseed=false
--variant beam_size=1`` (before issue 29 against the offline profile as shipped).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
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


@dataclass
class Tally:
    """One variant's cost: stage seconds, audio and wall seconds, per input kind, the slowest clip."""

    name: str
    stage_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    per_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))
    audio_s: float = 0.0
    wall_s: float = 0.0
    done: int = 0
    failed: int = 0
    slowest: tuple[float, str] = (0.0, "")


def parse_variant(text: str) -> dict[str, object]:
    """``KEY=VALUE,...`` as settings (values read as YAML: ``1``, ``2.0``, ``false``)."""
    import yaml

    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise SystemExit(f"--variant {text!r}: write KEY=VALUE,KEY=VALUE")
    return {key.strip(): yaml.safe_load(value) for key, value in pairs}


def use_variant(pipe, base, reopen, changes: dict[str, object]) -> None:
    """Point the pipeline's translator at ``base`` with ``changes`` (``reseed``: keep the CTranslate2 reopen)."""
    settings = {k: v for k, v in changes.items() if k != "reseed"}
    pipe.translator.configure(dataclasses.replace(base, **settings))
    if hasattr(pipe.translator, "reopen"):
        pipe.translator.reopen = reopen if changes.get("reseed", True) else None


def dub_batch(pipe, batch, tally: Tally, rss_at: dict[int, float]) -> None:
    """Dub one batch and add its cost to ``tally``."""
    start = time.perf_counter()
    results = pipe.dub_batch([item for _, item in batch])
    elapsed = time.perf_counter() - start
    tally.wall_s += elapsed
    for (name, item), res in zip(batch, results, strict=True):
        dur = item.audio.duration
        tally.audio_s += dur
        kind = name.split(":")[0]
        share = elapsed * dur / sum(it.audio.duration for _, it in batch)
        tally.per_kind[kind][0] += dur
        tally.per_kind[kind][1] += share
        tally.slowest = max(tally.slowest, (share / dur, name))
        if isinstance(res, Exception):
            tally.failed += 1
            print(f"  failed {name}: {res}", file=sys.stderr)
            continue
        tally.done += 1
        for stage, sec in res.stage_seconds.items():
            tally.stage_s[stage] += sec
        if tally.done + tally.failed in (20, 200):
            rss_at[tally.done + tally.failed] = rss_mb()


def report(tally: Tally, first: Tally | None) -> None:
    """One variant's figures (and its ratio to the first variant's)."""
    print(f"\n[{tally.name}] clips {tally.done} done, {tally.failed} failed; audio {tally.audio_s:.1f} s; "
          f"processing {tally.wall_s:.1f} s")
    print(f"{'stage':12s} {'seconds':>9s} {'RTF':>7s} {'share':>6s}" + ("   vs first" if first else ""))
    total = sum(tally.stage_s.values()) or 1.0
    for stage, sec in tally.stage_s.items():
        ratio = f"   x{sec / first.stage_s[stage]:.3f}" if first and first.stage_s.get(stage) else ""
        print(f"{stage:12s} {sec:9.2f} {sec / tally.audio_s:7.3f} {100 * sec / total:5.1f}%{ratio}")
    rtf = tally.wall_s / tally.audio_s
    ratio = f" (x{rtf / (first.wall_s / first.audio_s):.3f} the first variant's)" if first else ""
    per_hour = 3600 * (tally.done + tally.failed) / tally.wall_s
    print(f"whole pipeline RTF {rtf:.3f}{ratio}; clips per hour {per_hour:.0f}")
    for kind, (dur, sec) in tally.per_kind.items():
        print(f"  {kind:7s} inputs: {dur:.1f} s audio, RTF {sec / dur:.3f}")
    print(f"slowest clip: RTF {tally.slowest[0]:.3f} ({tally.slowest[1]})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default=None)
    parser.add_argument("--clips", type=int, default=20, help="clips to dub in total (cycling the inputs)")
    parser.add_argument("--batch-clips", type=int, default=1)
    parser.add_argument("--real", type=int, default=6, help="how many real speech files to mix")
    parser.add_argument("--engine", default=None, help="translate.engine (default: the profile's)")
    parser.add_argument("--compute-type", default=None, help="translate.compute_type (default: the profile's)")
    parser.add_argument("--variant", action="append", default=None, metavar="KEY=VALUE,...",
                        help="translate settings to compare side by side (repeat; see the module docstring)")
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
    variants = [parse_variant(v) for v in args.variant] if args.variant else [{}]
    tallies = [Tally(",".join(f"{k}={v}" for k, v in changes.items()) or "as configured") for changes in variants]
    reopen = getattr(pipe.translator, "reopen", None)
    rss_at: dict[int, float] = {}
    if len(variants) > 1:  # a first clip, not counted, so that no variant pays the first call's warm-up
        pipe.dub_batch([items[0][1]])
    i = 0
    while tallies[0].done + tallies[0].failed < args.clips:
        batch = [items[(i + k) % len(items)] for k in range(args.batch_clips)]
        order = list(range(len(variants)))
        if (i // args.batch_clips) % 2:
            order.reverse()  # alternate which variant goes first
        i += args.batch_clips
        for v in order:
            use_variant(pipe, config.translate, reopen, variants[v])
            dub_batch(pipe, batch, tallies[v], rss_at if v == 0 else {})
    for k, tally in enumerate(tallies):
        report(tally, tallies[0] if k else None)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
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
