"""What decoding Whisper one clip at a time costs against pooling the segments of several clips in one batch.

The pipeline decodes each clip's segments in one Whisper batch of their own (so that no clip's text depends
on the clips batched with it: Whisper's seeded sampled fallbacks and batched matrix products would couple
them). This measures, side by side in one process on the same segments, the translate stage's seconds both
ways for groups of ``--batch-clips`` clips (the sample's clips and real speech + music mixtures), alternating
the two orders each round, and says whether the texts agree.

    .venv/bin/python bench/whisper_per_clip.py [--device cpu|cuda] [--batch-clips 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_speed import inputs  # noqa: E402  (the same clips as bench/pipeline_speed.py)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-clips", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from baseline_dub.pipeline import DubPipeline

    pipe = DubPipeline(args.profile, device=args.device)
    clips = []
    for _, item in inputs(6):
        stems = pipe.separator.separate(item.audio)
        segments = pipe.diarizer.diarize(stems.vocals, num_speakers=item.num_speakers,
                                         multi_speaker=item.multi_speaker)
        clips.append([stems.vocals.slice(s.start, s.end) for s in segments])
    groups = [clips[i:i + args.batch_clips] for i in range(0, len(clips), args.batch_clips)]
    seconds: dict[str, list[float]] = {"pooled": [], "per clip": []}
    texts: dict[str, list[str]] = {}

    def pooled() -> list[str]:
        out = []
        for group in groups:
            out += [t.text for t in pipe.translator.translate_batch([p for clip in group for p in clip])]
        return out

    def per_clip() -> list[str]:
        return [t.text for group in groups for clip in group for t in pipe.translator.translate_batch(clip)]

    for r in range(args.rounds):
        order = [("pooled", pooled), ("per clip", per_clip)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            texts[name] = fn()
            seconds[name].append(time.perf_counter() - t0)
    n_segments = sum(len(c) for c in clips)
    print(f"device {pipe.device}, {len(clips)} clips, {n_segments} segments, groups of {args.batch_clips} clips, "
          f"{args.rounds} rounds")
    for name, values in seconds.items():
        print(f"{name:9s} median {statistics.median(values):.2f} s  (all: {', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(seconds["per clip"]) / statistics.median(seconds["pooled"])
    print(f"per clip / pooled: {ratio:.2f}x; texts agree: {texts['pooled'] == texts['per clip']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
