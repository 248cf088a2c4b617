"""Which voice pool the offline profile speaks with: English voices only, or with the Japanese ones.

Each reference (the six real Japanese recordings of ``bench/synthesis_quality.py``, ``ja_speech/``, and, with
``--dialogues N``, both channels of the first N J-Moshi dialogues in ``ja_dialogue/``, one speaker
each) gets its voice chosen on its first half from the English voices only (``english``: ``af am bf
bm``) and from the English and Japanese ones (``all``: ``+ jf jm``); each voice speaks the fixed
:data:`CHECK_SENTENCES` (``--per-ref``), which the offline translate weights (Whisper base, task
transcribe, language en: ``report.evaluate.load_english_asr``, what ``baseline-dub evaluate`` uses)
transcribe, scored by ``report.metrics.word_errors`` (the project's English normalisation). Printed per
reference and pool: voice, WER and the upper end of its 95 % interval, similarity to the held-out half;
then each pool's overall WER, worst reference WER and bound, mean similarity, the sentences misheard, and
the pool the rule (:func:`pick_pool`) picks:

    OMP_NUM_THREADS=1 .venv/bin/python bench/voice_pool.py --per-ref 23 [--dialogues 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the references and sentences of synthesis_quality.py
from synthesis_quality import LABELS, RATE, REAL, SENTENCES, halves  # noqa: E402

if TYPE_CHECKING:
    from baseline_dub.audio import Audio
    from baseline_dub.stages.synthesize import Synthesizer

DIALOGUES = REAL.parent / "ja_dialogue"
# the voice pools compared (synthesize.voice_prefixes), the fixed sentences each voice speaks for
# the WER (no clock times: Whisper writes "7.30", which no normalisation reads back as "7:30"), and the rule
POOLS = {"english": ("af", "am", "bf", "bm"), "all": ("af", "am", "bf", "bm", "jf", "jm")}
CHECK_SENTENCES = [SENTENCES[i] for i in (0, 3, 11, 7, 18, 1, 12, 17)] + \
    [s for i, s in enumerate(SENTENCES) if i not in (0, 3, 11, 7, 18, 1, 12, 17, 6)]
MAX_WER = 0.05


def pool_references(dialogues: int) -> dict[str, tuple[Audio, Audio]]:
    """``{name: (choice half, held-out half)}``: the six references, then both channels (one speaker each) of
    the first ``dialogues`` J-Moshi files."""
    from baseline_dub.audio import Audio, load_audio
    from baseline_dub.stages.synthesize.reference import trim_silence

    refs = {name: halves(trim_silence(load_audio(REAL / f"{name}.wav"), RATE)) for name in LABELS}
    for path in sorted(DIALOGUES.glob("jmoshi-*.wav"))[:dialogues]:
        stereo = load_audio(path)
        for channel in range(stereo.channels):
            refs[f"{path.stem}/ch{channel}"] = halves(trim_silence(Audio(stereo.samples[channel], stereo.rate), RATE))
    return refs


@dataclass(frozen=True)
class VoiceCheck:
    """One reference under one pool: the voice chosen, Whisper's word errors on its sentences, its similarity."""

    reference: str
    voice: str
    errors: int
    words: int
    similarity: float

    @property
    def wer(self) -> float:
        return self.errors / self.words

    @property
    def wer_upper(self) -> float:
        """The upper end of the 95 % Wilson interval of the WER (words counted as independent trials)."""
        n, p, z = self.words, self.wer, 1.96
        centre, spread = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return float((centre + spread) / (1 + z * z / n))


def check_voices(synth: Synthesizer, transcribe: Callable[[list[Audio]], list[str]],
                 references: Mapping[str, tuple[Audio, Audio]], sentences: Sequence[str],
                 spoken: dict[str, list[tuple[Audio, str]]] | None = None) -> list[VoiceCheck]:
    """Each reference's voice, chosen by ``synth`` (its pool) on the first part, speaking ``sentences``.

    ``transcribe`` (``report.evaluate.load_english_asr``) hears every synthesis; the WER is
    ``report.metrics.word_errors`` over the reference's sentences, the similarity the mean Resemblyzer
    cosine of the syntheses with the second part. A voice speaks each sentence once: what it said and
    what was heard are kept in ``spoken`` (by voice key; pass one dict to share it between pools).
    """
    from baseline_dub.report.metrics import word_errors
    from baseline_dub.stages.speaker import cosine

    spoken = {} if spoken is None else spoken
    rows = []
    for name, (choice_part, judged_part) in references.items():
        voice = synth.choose_voices({name: [choice_part]})[name]
        key = voice.recipe.key
        if key not in spoken:
            audios = [synth.synthesize(s, choice_part, voice=voice).audio for s in sentences]
            spoken[key] = list(zip(audios, transcribe(audios), strict=True))
        judged = synth.encoder.embed(judged_part)
        errors = word_errors(list(sentences), [heard for _, heard in spoken[key]])
        similarity = float(np.mean([cosine(synth.encoder.embed(audio), judged) for audio, _ in spoken[key]]))
        rows.append(VoiceCheck(name, key, errors.substitutions + errors.deletions + errors.insertions,
                               errors.reference_words, similarity))
    return rows


def pick_pool(results: Mapping[str, Sequence[VoiceCheck]]) -> str:
    """The rule: intelligibility first, then similarity. A pool qualifies when the WER of every reference
    is shown to be at most :data:`MAX_WER`: the upper end of its 95 % interval (:attr:`VoiceCheck.wer_upper`)
    is, not only the figure measured; of those, the one with the highest mean similarity; when none
    qualifies, the lowest worst-reference bound. Ties go to the pool named first."""
    passing = [p for p, rows in results.items() if all(r.wer_upper <= MAX_WER for r in rows)]
    if passing:
        return max(passing, key=lambda p: np.mean([r.similarity for r in results[p]]))
    return min(results, key=lambda p: max(r.wer_upper for r in results[p]))


def compare_pools(per_ref: int, dialogues: int) -> None:
    """The table of the module docstring (both pools on the same references and sentences)."""
    import dataclasses

    from baseline_dub.config import load_config
    from baseline_dub.models.store import Store
    from baseline_dub.report.evaluate import load_english_asr
    from baseline_dub.report.metrics import word_errors
    from baseline_dub.stages.synthesize import load_synthesizer

    store, config = Store(), load_config("offline", device="cpu")
    transcribe, asr = load_english_asr(config, store)
    references, sentences = pool_references(dialogues), CHECK_SENTENCES[:per_ref]
    spoken: dict[str, list[tuple[Audio, str]]] = {}
    results = {}
    for pool, prefixes in POOLS.items():
        pooled = dataclasses.replace(config, synthesize=dataclasses.replace(config.synthesize, voice_prefixes=prefixes))
        results[pool] = check_voices(load_synthesizer(pooled, store), transcribe, references, sentences, spoken)
    print(f"== voice pools: {len(references)} references x {len(sentences)} sentences, listener {asr}")
    print(f"{'reference':30s} {'pool':8s} {'voice':12s} {'WER':>6s} {'<=95%':>6s} {'sim':>6s}")
    for i, name in enumerate(references):
        for pool, rows in results.items():
            r = rows[i]
            print(f"{name:30s} {pool:8s} {r.voice:12s} {r.wer:6.1%} {r.wer_upper:6.1%} {r.similarity:6.3f}")
    print(f"\n{'pool':8s} {'prefixes':18s} {'WER':>6s} {'worst':>6s} {'<=95%':>6s} {'sim':>6s}")
    for pool, rows in results.items():
        total = sum(r.errors for r in rows) / sum(r.words for r in rows)
        print(f"{pool:8s} {' '.join(POOLS[pool]):18s} {total:6.1%} {max(r.wer for r in rows):6.1%} "
              f"{max(r.wer_upper for r in rows):6.1%} {np.mean([r.similarity for r in rows]):6.3f}")
    print("\nmisheard (voice: said -> heard):")
    for key, pairs in sorted(spoken.items()):
        for sentence, (_, heard) in zip(sentences, pairs, strict=True):
            if word_errors([sentence], [heard]).wer:
                print(f"  {key}: {sentence!r} -> {heard!r}")
    print(f"rule (every reference's WER shown <= {MAX_WER:.0%}, then similarity): {pick_pool(results)} "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, CPU)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-ref", type=int, default=4, help="sentences per reference")
    parser.add_argument("--dialogues", type=int, default=0, help="also both channels of this many J-Moshi dialogues")
    args = parser.parse_args(argv)
    compare_pools(args.per_ref, args.dialogues)


if __name__ == "__main__":
    main()
