"""The translate stage on both engines, same segments and settings, side by side: seconds, ratio, agreement.

Segments: every real Japanese file of ../shared/data/real/ja_speech (one segment each) and the diarized
segments of the sample dataset's clips with audio (separated and diarized once, with the profile's own
stages). Each file or clip is one ``translate_batch`` call, as the pipeline makes one per clip; the
engines take turns on every call (after one warm-up call each), so a change of machine load hits both.
Prints per engine the seconds and RTF, the ratio to openai-whisper, and per file/clip how many segments
got the same text, listing those that differ. Usage:

    .venv/bin/python bench/translate_engines.py [--profile offline] [--compute-types int8,float32] [--beam-size 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


def segment_sets(config, store) -> list[tuple[str, list]]:  # noqa: ANN001
    """``[(name, [segment Audio, ...])]``: the real files, then the sample clips' diarized segments."""
    from baseline_dub.audio import load_audio
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.pipeline import clip_input
    from baseline_dub.stages.diarize import load_diarizer
    from baseline_dub.stages.separate import load_separator

    sets = [(f"real:{p.name}", [load_audio(p)]) for p in sorted((REAL / "ja_speech").glob("*.wav"))]
    separator, diarizer = load_separator(config, store), load_diarizer(config, store)
    ds = Dataset.open(None)
    for split in ("train", "val", "test"):
        for clip in ds.clips(split):
            if not ds.has_audio(clip.id):
                continue
            item = clip_input(clip, ds)
            vocals = separator.separate_batch([item.audio])[0].vocals
            segments = diarizer.diarize(vocals, num_speakers=item.num_speakers, multi_speaker=item.multi_speaker)
            if segments:
                sets.append((f"sample:{clip.id}", [vocals.slice(s.start, s.end) for s in segments]))
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-types", default="int8,float32",
                        help="CTranslate2 compute types to time (comma-separated; the first is compared in detail)")
    parser.add_argument("--beam-size", type=int, default=None, help="translate.beam_size (e.g. 5, the paper's)")
    args = parser.parse_args(argv)

    from baseline_dub.config import load_config
    from baseline_dub.models.store import Store
    from baseline_dub.stages.translate import load_translator

    store = Store()
    config = load_config(args.profile, device=args.device)
    if args.beam_size:
        config = dataclasses.replace(config, translate=dataclasses.replace(config.translate, beam_size=args.beam_size))
    engines = {}
    variants = [("openai-whisper", "auto")] + [("ctranslate2", c) for c in args.compute_types.split(",") if c]
    for engine, compute in variants:
        t0 = time.perf_counter()
        cfg = dataclasses.replace(config, translate=dataclasses.replace(config.translate, engine=engine,
                                                                        compute_type=compute))
        translator = load_translator(cfg, store)
        label = f"{engine}/{translator.compute_type}"
        engines[label] = translator
        print(f"{label}: model {translator.model_name}, loaded in {time.perf_counter() - t0:.1f} s")
    sets = segment_sets(config, store)
    n_segments = sum(len(s) for _, s in sets)
    audio_s = sum(a.duration for _, s in sets for a in s)
    t = config.translate
    print(f"profile {config.profile}, device {args.device}, beam {t.beam_size}, temperatures {list(t.temperatures)}, "
          f"fallback_on_logprob {t.fallback_on_logprob}, batch (CPU) {t.cpu_batch_size}; "
          f"{len(sets)} files/clips, {n_segments} segments, {audio_s:.1f} s of speech; "
          f"load {os.getloadavg()[0]:.2f} at start, {os.cpu_count()} cores")
    for translator in engines.values():  # warm-up, untimed
        translator.translate_batch(sets[0][1][:1])
    seconds = dict.fromkeys(engines, 0.0)
    texts: dict[str, list[list[str]]] = {label: [] for label in engines}
    for k, (_, segs) in enumerate(sets):
        order = list(engines) if k % 2 == 0 else list(reversed(engines))
        for label in order:
            t0 = time.perf_counter()
            out = engines[label].translate_batch(segs)
            seconds[label] += time.perf_counter() - t0
            texts[label].append([r.text or f"<{r.skipped}>" for r in out])
    base = "openai-whisper/float32" if "openai-whisper/float32" in engines else next(iter(engines))
    print(f"\n{'engine':28s} {'seconds':>8s} {'RTF':>6s} {'speed-up':>8s} {'same text':>10s}")
    for label in engines:
        same = sum(a == b for x, y in zip(texts[base], texts[label], strict=True) for a, b in zip(x, y, strict=True))
        print(f"{label:28s} {seconds[label]:8.1f} {seconds[label] / audio_s:6.3f} "
              f"{seconds[base] / seconds[label]:7.2f}x {same:>4d}/{n_segments}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    for label in [x for x in engines if x != base]:
        print(f"\nper file/clip, {label} against {base} (same text / segments):")
        for (name, segs), x, y in zip(sets, texts[base], texts[label], strict=True):
            same = sum(a == b for a, b in zip(x, y, strict=True))
            print(f"  {name:50s} {same}/{len(segs)}")
            for i, (a, b) in enumerate(zip(x, y, strict=True)):
                if a != b:
                    print(f"      segment {i}: {base}: {a!r}\n      {' ' * 11}{label}: {b!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
