"""Metric functions of the quality report: text (BLEU, chrF, WER), timing, run cost, and one clip's row.

The metric functions work on plain Python values; ``evaluate_clip`` gathers them for one manifest row
(reading its ``seg-NN.flac`` files, kept ``vocals.wav`` and dub when it must).
Text scores use sacrebleu (BLEU, chrF with its default settings) and jiwer (WER after
``normalize_text``); timing works on segment dictionaries as the manifest writes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from baseline_dub.audio import Audio, load_audio, loudness
from baseline_dub.errors import AudioError, BaselineDubError
from baseline_dub.outputs.record import ClipRecord, SegmentRecord, Status, segment_to_json
from baseline_dub.stages.speaker import SpeakerEncoder, cosine

Transcriber = Callable[[list[Audio]], list[str]]

_NOT_WORD = re.compile(r"[^\w\s]|_")


def normalize_text(text: str) -> str:
    """Text as compared by WER: numbers, money, ordinals and symbols spelled out exactly as the synthesis
    stage reads them (``baseline_dub.stages.synthesize.text``), then lower case, apostrophes dropped,
    other punctuation and hyphens turned into spaces, whitespace collapsed."""
    from baseline_dub.stages.synthesize.text import normalize_text as spoken

    text = spoken(text).lower().replace("'", "")
    return " ".join(_NOT_WORD.sub(" ", text).split())


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu defaults: 13a tokenizer, case-sensitive, exp smoothing) in 0..100."""
    import sacrebleu

    _check_pairs(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (sacrebleu defaults: character 6-grams, beta 2, no word n-grams) in 0..100."""
    import sacrebleu

    _check_pairs(hypotheses, references)
    return float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score)


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """BLEU of one hypothesis against one reference (sacrebleu's sentence BLEU, effective order)."""
    import sacrebleu

    return float(sacrebleu.sentence_bleu(hypothesis, [reference]).score)


def sentence_chrf(hypothesis: str, reference: str) -> float:
    """chrF of one hypothesis against one reference."""
    import sacrebleu

    return float(sacrebleu.sentence_chrf(hypothesis, [reference]).score)


def _check_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")


@dataclass(frozen=True)
class WordErrors:
    """Word error counts of one or more (reference, hypothesis) pairs after ``normalize_text``."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def wer(self) -> float | None:
        """(S + D + I) / N; ``None`` when the references hold no words."""
        if self.reference_words == 0:
            return None
        return (self.substitutions + self.deletions + self.insertions) / self.reference_words


def word_errors(references: Sequence[str], hypotheses: Sequence[str]) -> WordErrors:
    """Substitutions, deletions and insertions (jiwer) over all pairs; pairs whose normalised reference
    is empty are left out (there is nothing to recognise)."""
    import jiwer

    _check_pairs(hypotheses, references)
    pairs = [(normalize_text(r), normalize_text(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        return WordErrors(0, 0, 0, 0)
    out = jiwer.process_words([r for r, _ in pairs], [h if h else "" for _, h in pairs])
    n = sum(len(r.split()) for r, _ in pairs)
    return WordErrors(out.substitutions, out.deletions, out.insertions, n)


def wer(reference: str, hypothesis: str) -> float | None:
    """Word error rate of one hypothesis after ``normalize_text``; ``None`` for an empty reference."""
    return word_errors([reference], [hypothesis]).wer


# -- timing -------------------------------------------------------------------------------------------


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB: reference energy over the energy of ``reference - estimate``."""
    ref, est = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((ref - est) ** 2), 1e-20)))


def as_float(value: object) -> float | None:
    """``value`` as a finite float, else ``None`` (missing, not a number, NaN or infinite)."""
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def length_ratio(synth_seconds: float | None, slot_seconds: float) -> float | None:
    """Synthesis length over its slot length (1.0 fills the slot exactly); ``None`` with no synthesis or
    an empty slot."""
    if synth_seconds is None or slot_seconds <= 0:
        return None
    return synth_seconds / slot_seconds


def placed_span(segment: SegmentRecord) -> tuple[float, float] | None:
    """Where a segment's synthesis sounds in the dub, ``(start, end)`` seconds, after any stretch and cut (the
    subtitles' own definition, ``SegmentRecord.sounding_span``); ``None`` when nothing was synthesized."""
    return segment.sounding_span()


def next_overlaps(segments: Sequence[SegmentRecord]) -> list[float | None]:
    """For each segment, the seconds its synthesis overlaps the next synthesized one (by placed start);
    0.0 when it ends in time, ``None`` for unsynthesized segments and for the last synthesis."""
    spans = [placed_span(s) for s in segments]
    order = sorted((i for i, s in enumerate(spans) if s is not None), key=lambda i: spans[i][0])  # type: ignore[index]
    out: list[float | None] = [None] * len(segments)
    for a, b in zip(order, order[1:], strict=False):
        out[a] = max(0.0, spans[a][1] - spans[b][0])  # type: ignore[index]
    return out


def coverage(seconds: Iterable[float | None], clip_seconds: float) -> float | None:
    """Sum of speech seconds over the clip's seconds (overlapping speech counts twice); ``None`` for an
    empty clip."""
    if clip_seconds <= 0:
        return None
    return sum(s for s in seconds if s) / clip_seconds


# -- run cost -----------------------------------------------------------------------------------------


def real_time_factor(processing_seconds: float, audio_seconds: float) -> float | None:
    """Processing seconds per second of audio (below 1 is faster than real time); ``None`` for no audio."""
    return processing_seconds / audio_seconds if audio_seconds > 0 else None


def stage_totals(per_clip: Iterable[Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    """``{stage: (total seconds, share of all stages)}`` summed over clips, largest first."""
    totals: dict[str, float] = {}
    for stages in per_clip:
        for name, value in (stages or {}).items():
            seconds = as_float(value)
            if seconds is not None:
                totals[name] = totals.get(name, 0.0) + seconds
    grand = sum(totals.values())
    return {name: (sec, sec / grand if grand > 0 else 0.0)
            for name, sec in sorted(totals.items(), key=lambda kv: -kv[1])}


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (``None`` when there are none)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


CLIP_FIELDS = (
    "clip_id", "status", "reason", "duration", "n_segments", "n_synthesized", "bleu", "chrf",
    "similarity", "similarity_recomputed", "length_ratio", "overlap_seconds", "coverage_dub",
    "coverage_source", "source_lufs", "dub_lufs", "lufs_difference", "lufs_from", "mixing_ratio",
    "ratio_source", "wer", "processing_seconds", "rtf", "profile", "whisper", "speech_seconds", "speech_coverage",
    "en_words_per_speech_second", "speakers_expected", "speakers_found", "quality_flags", "hypothesis",
    "reference", "error",
)
SEGMENT_FIELDS = (
    "clip_id", "index", "start", "end", "slot_seconds", "speaker", "skipped", "synth_seconds",
    "length_ratio", "overlap_next", "placed_start", "overrun_seconds", "stretch", "cut_seconds", "voice",
    "voice_method",
    "similarity", "similarity_recomputed", "reference_seconds", "reference_source", "file", "text", "heard",
    "delooped", "asr_text", "wer",
)


# -- per clip -----------------------------------------------------------------------------------------


@dataclass
class ClipInputs:
    """What ``evaluate_clip`` reads besides the manifest row, and the notes it leaves for the report."""

    run_dir: Path
    source: Callable[[str], Audio] | None = None
    encoder: SpeakerEncoder | None = None
    transcribe: Transcriber | None = None
    notes: set[str] = field(default_factory=set)


def _loudness(row: ClipRecord, run_dir: Path, inputs: ClipInputs) -> tuple[float | None, float | None, str]:
    src, dub = as_float(row.source_lufs), as_float(row.dub_lufs)
    how = "manifest"
    try:
        if dub is None and row.output:
            dub, how = loudness(load_audio(run_dir / row.output)), "measured"
        if src is None and inputs.source is not None:
            src, how = loudness(inputs.source(row.clip_id)), "measured"
    except BaselineDubError as exc:
        inputs.notes.add(f"loudness not measured for {row.clip_id}: {exc}")
    return src, dub, how


def _segment_audio(parts: Path | None, seg: SegmentRecord, inputs: ClipInputs) -> Audio | None:
    if parts is None or not seg.file or seg.skipped:
        return None
    try:
        return load_audio(parts / seg.file)
    except AudioError as exc:
        inputs.notes.add(f"synthesis not read: {exc}")
        return None


def evaluate_clip(row: ClipRecord, inputs: ClipInputs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One clip's row of ``clips.csv`` and its rows of ``segments.csv`` (metrics only for done clips); the
    ``error`` column holds the row's sentence (its ``error``, or a ``no_speech`` row's ``note``)."""
    clip: dict[str, Any] = dict(
        clip_id=row.clip_id, status=str(row.status), reason=row.reason, duration=row.duration,
        mixing_ratio=row.mixing_ratio, ratio_source=row.ratio_source, profile=row.profile, whisper=row.whisper,
        error=row.message,
        speech_seconds=row.speech_seconds, covered_seconds=row.covered_seconds,
        en_words_per_speech_second=row.en_words_per_speech_second, speakers_expected=row.speakers_expected,
        speakers_found=row.speakers_found, speech_coverage=row.coverage,
        quality_flags=",".join(row.quality_flags) or None)
    if row.status != Status.DONE:
        return clip, []
    segs = list(row.segments)
    parts = inputs.run_dir / row.parts if row.parts else None
    vocals = parts / "vocals.wav" if parts is not None and (parts / "vocals.wav").is_file() else None
    vocals_audio = load_audio(vocals) if vocals is not None and inputs.encoder is not None else None
    need_audio = inputs.encoder is not None or inputs.transcribe is not None
    audios = [_segment_audio(parts, s, inputs) if need_audio or s.synth_seconds is None else None
              for s in segs]
    overlaps = next_overlaps(segs)
    rows: list[dict[str, Any]] = []
    for i, (seg, audio) in enumerate(zip(segs, audios, strict=True)):
        start, end = seg.start, seg.end
        synth = as_float(seg.synth_seconds) or None  # the runner writes 0.0 for "not synthesized"
        if synth is None and audio is not None:
            synth = audio.duration
        values = segment_to_json(seg)
        out = {k: values[k] for k in SEGMENT_FIELDS if k in values}
        out.update(clip_id=row.clip_id, index=i, slot_seconds=end - start, synth_seconds=synth,
                   length_ratio=length_ratio(synth, end - start), overlap_next=overlaps[i])
        if vocals_audio is not None and audio is not None and end > start:
            ref = vocals_audio.slice(start, end)
            emb = inputs.encoder.embed_many([audio, ref])
            out["similarity_recomputed"] = cosine(emb[0], emb[1])
        rows.append(out)
    if inputs.transcribe is not None:
        todo = [(r, a) for r, a in zip(rows, audios, strict=True) if a is not None and r.get("text")]
        for r, text in zip([r for r, _ in todo], inputs.transcribe([a for _, a in todo]) if todo else [],
                            strict=True):
            r["asr_text"], r["wer"] = text, wer(r["text"], text)
    duration = float(row.duration or 0.0)
    hyp = " ".join(s.text.strip() for s in segs if not s.skipped and s.text)
    ref = (row.en_text or "").strip()
    src_lufs, dub_lufs, how = _loudness(row, inputs.run_dir, inputs)
    seconds = sum(as_float(v) or 0.0 for v in row.stage_seconds.values())
    asr_rows = [r for r in rows if "asr_text" in r]
    clip.update(
        n_segments=len(segs), n_synthesized=sum(r["synth_seconds"] is not None and not r.get("skipped")
                                                for r in rows),
        hypothesis=hyp, reference=ref,
        bleu=sentence_bleu(hyp, ref) if ref else None,
        chrf=sentence_chrf(hyp, ref) if ref else None,
        similarity=mean(as_float(r.get("similarity")) for r in rows),
        similarity_recomputed=mean(r.get("similarity_recomputed") for r in rows),
        length_ratio=mean(r["length_ratio"] for r in rows),
        overlap_seconds=sum(r["overlap_next"] or 0.0 for r in rows),
        coverage_dub=coverage((r["synth_seconds"] for r in rows if not r.get("skipped")), duration),
        coverage_source=coverage((r["slot_seconds"] for r in rows), duration),
        source_lufs=src_lufs, dub_lufs=dub_lufs, lufs_from=how,
        lufs_difference=dub_lufs - src_lufs if src_lufs is not None and dub_lufs is not None else None,
        wer=word_errors([r["text"] for r in asr_rows], [r["asr_text"] for r in asr_rows]).wer
        if asr_rows else None,
        processing_seconds=seconds, rtf=real_time_factor(seconds, duration),
    )
    return clip, rows
