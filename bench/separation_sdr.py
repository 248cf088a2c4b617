"""Separation quality on real audio: Japanese speech mixed with music at known gains.

Every ``../shared/data/real/ja_speech`` file is mixed with an excerpt of each ``music`` file at
speech-to-music ratios of -5, 0 and +5 dB (44.1 kHz stereo, the speech's length). For each mixture it
prints the vocals and backing SDR of the input (the mixture itself as the estimate), of the output,
and the improvement; then the means, the separation time and the real-time factor.
SDR here is plain signal-to-distortion ratio, ``10 log10(|ref|^2 / |ref - est|^2)``.

Usage: ``.venv/bin/python bench/separation_sdr.py [--profile offline] [--device auto] [--smr -5 0 5]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baseline_dub.audio import Audio, load_audio  # noqa: E402
from baseline_dub.config import load_config  # noqa: E402
from baseline_dub.models.store import Store  # noqa: E402
from baseline_dub.report.metrics import sdr  # noqa: E402
from baseline_dub.stages.separate import load_separator  # noqa: E402

RATE = 44100


def mixtures(real: Path, smrs: list[float]) -> list[tuple[str, Audio, Audio, Audio]]:
    """``(name, speech, music, mixture)`` for every speech file x music file x ratio."""
    musics = [(p.stem, load_audio(p).to(RATE, 2)) for p in sorted((real / "music").glob("*.ogg"))]
    out = []
    for sp in sorted((real / "ja_speech").glob("*.wav")):
        speech = load_audio(sp).to(RATE, 2)
        for mname, music in musics:
            excerpt = music.slice(5.0, 5.0 + speech.duration).fit_length(speech.frames)
            base = np.sqrt(np.mean(speech.samples**2) / np.mean(excerpt.samples**2))
            for smr in smrs:
                m = excerpt.scaled(base * 10 ** (-smr / 20))
                name = f"{sp.stem[:22]:22s} + {mname[:18]:18s} {smr:+4.0f} dB"
                out.append((name, speech, m, Audio(speech.samples + m.samples, RATE)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline", choices=("offline", "paper"))
    parser.add_argument("--device", default=None)
    parser.add_argument("--smr", type=float, nargs="+", default=[-5.0, 0.0, 5.0])
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    args = parser.parse_args()

    store = Store()
    config = load_config(args.profile, device=args.device)
    t0 = time.perf_counter()
    separator = load_separator(config, store)
    print(f"profile {args.profile}, device {separator.device}, weights "
          f"{', '.join(config.separate.__dict__[k] for k in ('vocals_model', 'accompaniment_model'))}; "
          f"load {time.perf_counter() - t0:.1f} s")
    items = mixtures(args.real, args.smr)
    audio_seconds = sum(m.duration for _, _, _, m in items)
    t0 = time.perf_counter()
    results = separator.separate_batch([m for _, _, _, m in items])
    elapsed = time.perf_counter() - t0

    print(f"{'mixture':50s} {'voc in':>7s} {'voc out':>7s} {'voc +':>6s} {'bck in':>7s} {'bck out':>7s} {'bck +':>6s}")
    rows = []
    for (name, speech, music, mix), stems in zip(items, results, strict=True):
        v_in, v_out = sdr(speech.samples, mix.samples), sdr(speech.samples, stems.vocals.samples)
        b_in, b_out = sdr(music.samples, mix.samples), sdr(music.samples, stems.backing.samples)
        rows.append((v_in, v_out, v_out - v_in, b_in, b_out, b_out - b_in))
        print(f"{name:50s} {v_in:7.2f} {v_out:7.2f} {v_out - v_in:6.2f} {b_in:7.2f} {b_out:7.2f} {b_out - b_in:6.2f}")
    mean = np.mean(rows, axis=0)
    print(f"{'mean over ' + str(len(rows)) + ' mixtures':50s} " + " ".join(
        f"{v:{w}.2f}" for v, w in zip(mean, (7, 7, 6, 7, 7, 6), strict=True)))
    for smr in args.smr:
        sel = [r for (name, *_), r in zip(items, rows, strict=True) if name.endswith(f"{smr:+4.0f} dB")]
        m = np.mean(sel, axis=0)
        print(f"  at {smr:+.0f} dB speech-to-music: vocals {m[1]:.2f} dB (+{m[2]:.2f}), "
              f"backing {m[4]:.2f} dB (+{m[5]:.2f})")
    print(f"separated {audio_seconds:.1f} s of audio in {elapsed:.1f} s: RTF {elapsed / audio_seconds:.3f} "
          f"({len(items)} clips in one batch call, device {separator.device})")


if __name__ == "__main__":
    main()
