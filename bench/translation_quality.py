"""Translation quality and speed on the real Japanese clips (offline profile unless --profile).

Prints, per clip of ../shared/data/real/ja_speech/, the Japanese transcript from its README next to
our English translation, Whisper's average log-probability, whether the line passes the English test
(``looks_english``), decode seconds and real-time factor (one clip at a time), then the time of the
same clips decoded as one batch, and the silence / white-noise checks. Usage:
``OMP_NUM_THREADS=2 .venv/bin/python bench/translation_quality.py [--profile offline] [--beam-size N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import PROJECT_ROOT, load_config
from baseline_dub.models.store import Store
from baseline_dub.stages.translate import load_translator

sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # tests/support: the English test of a line
from support.english import english_evidence, looks_english  # noqa: E402

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"


def transcripts(readme: Path) -> dict[str, str]:
    """``file name -> Japanese transcript`` from the table rows of the data README."""
    out = {}
    for line in readme.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.search(r"\.wav$", cells[0]):
            out[cells[0]] = cells[-1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--beam-size", type=int, default=None)
    args = parser.parse_args()
    config = load_config(args.profile)
    if args.beam_size:
        config = dataclasses.replace(config, translate=dataclasses.replace(config.translate, beam_size=args.beam_size))
    store = Store()
    t0 = time.perf_counter()
    translator = load_translator(config, store)
    print(f"profile {config.profile}, model {translator.model_name} ({store.sha256(translator.model_name)[:12]}), "
          f"engine {translator.engine}/{translator.compute_type}, "
          f"device {translator.device}, beam {config.translate.beam_size}, load {time.perf_counter() - t0:.1f} s")
    ja = transcripts(REAL / "README.md")
    files = sorted((REAL / "ja_speech").glob("*.wav"))
    audios = [load_audio(f) for f in files]
    seq_total = 0.0
    english = 0
    sequential = []
    for f, audio in zip(files, audios, strict=True):
        t = time.perf_counter()
        r = translator.translate(audio)
        dt = time.perf_counter() - t
        seq_total += dt
        sequential.append(r)
        ok = looks_english(r.text)
        english += ok
        e = english_evidence(r.text)
        shown = r.text or f"<skipped: {r.skipped}>"
        print(f"\n{f.name} ({audio.duration:.1f} s)\n  JA: {ja.get(f.name, '?')}\n  EN: {shown}"
              f"\n  avg_logprob {r.avg_logprob:.2f}  no_speech {r.no_speech_prob:.2f}  T {r.temperature}  "
              f"english {ok} (ascii {e['ascii_share']:.2f}, common {e['common_share']:.2f})  "
              f"{dt:.1f} s  RTF {dt / audio.duration:.2f}")
    total = sum(a.duration for a in audios)
    t = time.perf_counter()
    batch = translator.translate_batch(audios)
    batch_s = time.perf_counter() - t
    same = sum(a.text == b.text for a, b in zip(sequential, batch, strict=True))
    print(f"\nEnglish and non-empty: {english}/{len(files)}")
    print(f"sequential: {seq_total:.1f} s (RTF {seq_total / total:.2f}); one batch: {batch_s:.1f} s "
          f"(RTF {batch_s / total:.2f}); speed-up x{seq_total / batch_s:.2f}; same text {same}/{len(files)} "
          "(only sampled fallbacks, temperature > 0, may differ)")
    for f, a, b in zip(files, sequential, batch, strict=True):
        if a.text != b.text:
            print(f"  differs: {f.name}: one-by-one T={a.temperature} {a.text!r} | batch T={b.temperature} {b.text!r}")
    greedy = type(translator)(translator.model, dataclasses.replace(
        config.translate, beam_size=1, temperatures=(0.0,)), translator.device)
    t = time.perf_counter()
    one = [greedy.translate(a) for a in audios]
    seq_g = time.perf_counter() - t
    t = time.perf_counter()
    together = greedy.translate_batch(audios)
    batch_g = time.perf_counter() - t
    same_g = sum(a.text == b.text for a, b in zip(one, together, strict=True))
    print(f"greedy, no fallback: sequential {seq_g:.1f} s, one batch {batch_g:.1f} s, "
          f"speed-up x{seq_g / batch_g:.2f}; same text {same_g}/{len(files)}")
    rng = np.random.default_rng(0)
    checks = {"silence 5 s": Audio.silence(5.0, 16000),
              "white noise 5 s (-20 dBFS)": Audio(rng.normal(0, 0.1, 80000).astype(np.float32), 16000)}
    for name, r in zip(checks, translator.translate_batch(list(checks.values())), strict=True):
        print(f"{name}: text {r.text!r} skipped {r.skipped} (no_speech {r.no_speech_prob:.2f})")


if __name__ == "__main__":
    main()
