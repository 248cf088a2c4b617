"""What the dub says on real speech: speech coverage, English words per speech second, synthesis WER, speakers.

Builds the real-audio test set (``tests/support/real_dataset.py``: real Japanese speech, a J-Moshi dialogue, music
and noise from ``../shared/data/real``, in the Anim-400K layout) in a temporary folder, dubs each clip with
the annotation's hints (as ``run`` does) and prints per clip and overall: status and flags, seconds of
source speech (VAD on the separated vocals), coverage (the share of it under a dubbed utterance), English
words per speech second, utterances and how many were skipped (and why), synthesis WER (Whisper base
transcribing each synthesized line, against the text it was asked to say), speakers expected / found /
distinct voices, and RTF. ``--max-utterance 0 8 12`` compares utterance lengths (0: no cut at pauses).
(Named ``speech_coverage.py``, not ``coverage.py``: a script's folder comes first on ``sys.path``, and a
``bench/coverage.py`` would shadow the ``coverage`` package that numba imports for every script in bench/.)

    .venv/bin/python bench/speech_coverage.py [--max-utterance S ...] [--no-wer] [--kinds single13 music ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the real-audio dataset builder


def synthesis_wer(pipe, dub) -> tuple[float | None, int]:
    """WER of Whisper base (the offline translate model, task transcribe, English) on the dub's syntheses."""
    from baseline_dub.report.metrics import word_errors

    pairs = [(syn.text, syn.audio) for syn in dub.syntheses if syn is not None and syn.audio is not None]
    if not pairs:
        return None, 0
    heard = pipe.translator.transcribe_batch([audio for _, audio in pairs], language="en")
    errors = word_errors([text for text, _ in pairs], [h.text for h in heard])
    return errors.wer, errors.reference_words


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--max-utterance", type=float, nargs="*", default=None,
                        help="diarize.max_utterance_seconds values to compare (default: the profile's)")
    parser.add_argument("--kinds", nargs="*", default=None, help="only these clips of the real test set")
    parser.add_argument("--no-wer", action="store_true", help="skip the synthesis WER (Whisper listening)")
    args = parser.parse_args(argv)

    from baseline_dub.config import load_config
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.pipeline import DubPipeline, clip_input
    from support import real_dataset

    work = Path(tempfile.mkdtemp(prefix="bench-coverage-"))
    ids = real_dataset.build(work)
    ds = Dataset.open(str(work))
    kinds = args.kinds or list(real_dataset.KINDS)
    config = load_config(args.profile)
    t0 = time.perf_counter()
    pipe = DubPipeline(config=config, announce=False)
    print(f"profile {config.profile}; models loaded in {time.perf_counter() - t0:.1f} s; load average "
          f"{os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    for max_s in args.max_utterance if args.max_utterance is not None else [config.diarize.max_utterance_seconds]:
        pipe.diarizer.config = dataclasses.replace(pipe.diarizer.config, max_utterance_seconds=max_s)
        print(f"\ndiarize.max_utterance_seconds = {max_s:g}")
        print(f"{'clip':13s} {'status':9s} {'speech':>6s} {'cover':>6s} {'w/s':>5s} {'utt':>4s} {'skip':>4s} "
              f"{'WER':>6s} {'spk e/f/v':>9s} {'RTF':>6s}  flags / skipped")
        speech = covered = words_s = audio = busy = 0.0
        errs = refs = 0
        for kind in kinds:
            clip = ds.clip(ids[kind])
            item = clip_input(clip, ds)
            start = time.perf_counter()
            dub = pipe.dub(item)
            seconds = time.perf_counter() - start
            cov = dub.coverage()
            rec = dub.record()
            skipped = Counter(t.skipped for t in dub.translations if t.skipped)
            voices = len({s.voice for s in dub.syntheses if s is not None and s.audio is not None})
            w, n = (None, 0) if args.no_wer else synthesis_wer(pipe, dub)
            if w is not None:
                errs, refs = errs + round(w * n), refs + n
            speech += cov.speech_seconds
            covered += cov.covered_seconds
            words_s += (cov.en_words_per_speech_second or 0.0) * cov.speech_seconds
            audio, busy = audio + dub.source.duration, busy + seconds
            share = "     -" if cov.coverage is None else f"{100 * cov.coverage:5.0f}%"
            print(f"{kind:13s} {dub.nothing_spoken or 'done':9s} {cov.speech_seconds:6.1f} {share} "
                  f"{cov.en_words_per_speech_second or 0:5.2f} {len(dub.segments):4d} {sum(skipped.values()):4d} "
                  f"{'-' if w is None else f'{100 * w:5.1f}%'} "
                  f"{rec.speakers_expected or '-'}/{rec.speakers_found}/{voices:<5d} "
                  f"{seconds / dub.source.duration:6.3f}  {','.join(rec.quality_flags) or '-'} "
                  f"{dict(skipped) or ''}", flush=True)
        print(f"{'overall':13s} {'':9s} {speech:6.1f} {100 * covered / max(speech, 1e-9):5.0f}% "
              f"{words_s / max(speech, 1e-9):5.2f} {'':9s} {'-' if not refs else f'{100 * errs / refs:5.1f}%'} "
              f"{'':9s} {busy / max(audio, 1e-9):6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
