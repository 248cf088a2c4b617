"""Mixing-ratio estimator: true against estimated ratio on mixtures of known ratio made from real audio.

Each case mixes a Japanese speech file with a music excerpt at ratio r (the estimator's own
parameterisation: ``r * v_n + (1 - r) * b_n`` of loudness-normalised true stems) and estimates r back
from the mix, (a) with the true stems and (b) with the stems of the configured Spleeter separator
(``baseline_dub.stages.separate``) when it and its weights are available. Run:
``OMP_NUM_THREADS=1 .venv/bin/python bench/mixing_ratio.py [--profile offline]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, load_audio, normalize_loudness
from baseline_dub.config import PROJECT_ROOT, load_config
from baseline_dub.stages.remix.mixing_ratio import estimate_mixing_ratio, mix_at_ratio

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
SPEECH = ["common_voice_ja_38843402_16k.wav", "common_voice_ja_38853932_16k.wav",
          "common_voice_ja_38898180_16k.wav", "test_ja_1.wav", "test_ja_2.wav"]
MUSIC = ["Kevin_MacLeod_-_Vibe_Ace.hq.ogg", "brahms_hungarian_dance_5.hq.ogg"]
RATIOS = (0.2, 0.35, 0.5, 0.65, 0.8)
RATE, TARGET = 44100, -23.0


def _load_separator(profile: str):  # noqa: ANN202 - optional dependency on another stage
    try:
        from baseline_dub.models.store import Store
        from baseline_dub.stages.separate import load_separator

        return load_separator(load_config(profile), Store())
    except Exception as exc:  # noqa: BLE001 - the bench runs without a separator too
        print(f"separator unavailable ({type(exc).__name__}: {exc}); true stems only")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--data", type=Path, default=REAL)
    args = parser.parse_args()
    separator = _load_separator(args.profile)
    music = [load_audio(args.data / "music" / m) for m in MUSIC]
    print(f"{'speech':34s} {'music':16s} {'true r':>6s} {'est(true)':>9s} {'est(sep)':>9s}")
    errors_true, errors_sep = [], []
    t0 = time.perf_counter()
    for i, name in enumerate(SPEECH):
        vocals = load_audio(args.data / "ja_speech" / name).to(RATE, 2)
        backing = music[i % 2].slice(5.0, 5.0 + vocals.duration).fit_length(vocals.frames)
        v_n, b_n = normalize_loudness(vocals, TARGET), normalize_loudness(backing, TARGET)
        for r in RATIOS:
            mix: Audio = mix_at_ratio(v_n, b_n, r).scaled(0.7)
            est_true = estimate_mixing_ratio(mix, vocals, backing, TARGET)
            errors_true.append(est_true - r)
            est_sep = float("nan")
            if separator is not None:
                stems = separator.separate(mix)
                est_sep = estimate_mixing_ratio(mix, stems.vocals, stems.backing, TARGET)
                errors_sep.append(est_sep - r)
            print(f"{name:34s} {MUSIC[i % 2][:16]:16s} {r:6.2f} {est_true:9.4f} {est_sep:9.4f}")
    for label, errs in (("true stems", errors_true), ("separated stems", errors_sep)):
        if errs:
            e = np.asarray(errs)
            print(f"{label:16s}: n={e.size} mean error {e.mean():+.4f}, mean |error| {np.abs(e).mean():.4f}, "
                  f"max |error| {np.abs(e).max():.4f}")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
