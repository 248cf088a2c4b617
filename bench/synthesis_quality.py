"""Synthesis quality: intelligibility (WER of Whisper's English transcript), speaker similarity, speed.

Each of :data:`SENTENCES` is synthesized by the configured backend with one of the real Japanese
clips in ``../shared/data/real/ja_speech/`` as the reference voice (cycling through the clips, so
every clip is used). The synthesized speech is transcribed by openai-whisper (English, greedy) with
the store entry ``--asr-model`` (default ``whisper-base``, loaded by the translate stage's
``load_whisper``), and the word error rate (jiwer) is computed against the input text, both sides
spelled out by the same text normalisation (:func:`normalize_text`) and lower-cased with
punctuation removed. Also printed: the speaker similarity (Resemblyzer cosine) of the output to each
reference clip and the chosen voice, and the real-time factor (synthesis seconds per second of
speech, model loading excluded). Target for the offline profile: WER <= 15 %. Run:
``OMP_NUM_THREADS=1 .venv/bin/python bench/synthesis_quality.py [--profile offline] [--device cpu]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import time
from collections import defaultdict

import numpy as np

from baseline_dub.audio import load_audio
from baseline_dub.config import PROJECT_ROOT, load_config
from baseline_dub.devices import resolve_device
from baseline_dub.stages.synthesize import load_synthesizer
from baseline_dub.stages.synthesize.text import normalize_text
from baseline_dub.store import Store

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real" / "ja_speech"
SENTENCES = [
    "I thought it was a ghost, but it must be a person walking over there.",
    "Something bad must have happened to our friends, the little devil thought.",
    "The king is not happy with this plan either.",
    "Will you talk to me? I can't do it, and neither can you.",
    "Can you hear my Japanese clearly? Then please hold the microphone.",
    "This is a test sentence to check whether the machine understands speech.",
    "Dr. Sato said the train leaves at 7:30 tomorrow morning.",
    "We have waited for 3 years, and now the day has finally come.",
    "Please don't leave me alone in this dark and empty house.",
    "The festival starts on the 21st, so let's buy our tickets today.",
    "I paid $20 for this old sword at the market.",
    "Run! The monster is coming toward the village right now!",
]


def _words(text: str) -> str:
    """Normalised, lower-cased words without punctuation (apostrophes kept inside words).

    Whisper writes clock times as ``7.30``; they are read as ``7:30`` before normalising.
    """
    text = normalize_text(re.sub(r"\b(\d{1,2})\.(\d{2})\b", r"\1:\2", text)).lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).replace(" '", " ").split())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="offline", choices=("offline", "paper"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--asr-model", default="whisper-base")
    parser.add_argument("--limit", type=int, default=len(SENTENCES))
    args = parser.parse_args(argv)

    import jiwer
    import whisper

    from baseline_dub.stages.translate import load_whisper

    store = Store()
    config = dataclasses.replace(load_config(args.profile), device=args.device)
    t0 = time.perf_counter()
    synth = load_synthesizer(config, store)
    load_s = time.perf_counter() - t0
    asr = load_whisper(store, args.asr_model, resolve_device(args.device))
    clips = sorted(REAL.glob("*.wav"))
    refs = {c.name: load_audio(c) for c in clips}
    print(f"profile {config.profile} backend {config.synthesize.backend} ({config.synthesize.model}); "
          f"synthesizer load {load_s:.1f} s; ASR {args.asr_model}")
    hyps, truths, synth_s, speech_s = [], [], 0.0, 0.0
    sims: dict[str, list[float]] = defaultdict(list)
    for i, sentence in enumerate(SENTENCES[: args.limit]):
        clip = clips[i % len(clips)].name
        t = time.perf_counter()
        out = synth.synthesize(sentence, refs[clip])
        synth_s += time.perf_counter() - t
        assert out.audio is not None, out.skipped
        speech_s += out.audio.duration
        wav16 = out.audio.resample(16000).samples[0]
        heard = whisper.transcribe(asr, wav16.astype(np.float32), language="en", task="transcribe",
                                   temperature=0.0, fp16=False, condition_on_previous_text=False)["text"]
        hyps.append(_words(heard))
        truths.append(_words(sentence))
        sims[clip].append(float(out.similarity or 0.0))
        wer_i = jiwer.wer(truths[-1], hyps[-1])
        print(f"[{i + 1:2d}] {clip:34s} voice {out.voice:24s} sim {out.similarity:.3f} "
              f"ref {out.reference_seconds:4.1f}s/{out.reference_source:7s} WER {wer_i:5.1%} | {heard.strip()}")
    wer = jiwer.wer(truths, hyps)
    print(f"\nWER over {len(truths)} sentences: {wer:.1%} (target <= 15% offline)")
    print("speaker similarity of the output to each reference clip (Resemblyzer cosine):")
    for clip, values in sorted(sims.items()):
        print(f"  {clip:34s} mean {np.mean(values):.3f} over {len(values)}")
    print(f"  all clips: mean {np.mean([v for vs in sims.values() for v in vs]):.3f}")
    print(f"RTF {synth_s / speech_s:.2f} ({synth_s:.1f} s to synthesize {speech_s:.1f} s of speech, "
          f"device {args.device}, OMP_NUM_THREADS as set)")


if __name__ == "__main__":
    main()
