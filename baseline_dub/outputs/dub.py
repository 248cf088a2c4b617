"""``Dub``: the final audio of one clip and every intermediate, with provenance; its record (``Dub.record``,
``baseline_dub.outputs.record``) and ``Dub.save(dir)``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baseline_dub.atomic import atomic_write_text
from baseline_dub.audio import Audio, write_audio
from baseline_dub.outputs.record import ClipRecord, SegmentRecord, Status, dub_json
from baseline_dub.stages.diarize.utterances import covered_seconds, speech_seconds
from baseline_dub.stages.remix import PlacedSegment
from baseline_dub.stages.types import NothingSpoken, Segment, Stems, Synthesis, Translation

if TYPE_CHECKING:
    from baseline_dub.data.annotations import Clip
    from baseline_dub.stages.diarize import Diarization

# A clip with more than this much speech whose coverage is under LOW_COVERAGE is flagged ``low_coverage``.
COVERAGE_MIN_SPEECH_SECONDS = 2.0
LOW_COVERAGE = 0.5
_EN_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class SpeechCoverage:
    """How much of the source speech a dub speaks: ``speech_seconds`` (voice activity in the separated vocals),
    ``covered_seconds`` (of it under a dubbed utterance), ``coverage`` (their ratio, ``None`` without speech)
    and ``en_words_per_speech_second`` (English words spoken per second of source speech)."""

    speech_seconds: float
    covered_seconds: float
    coverage: float | None
    en_words_per_speech_second: float | None


@dataclass(frozen=True, eq=False)
class Dub:
    """One dubbed clip: ``audio`` (source rate, channels and length) and how it was made.

    ``nothing_spoken`` is ``None`` for a dub with English speech; otherwise why nothing was spoken (a
    ``NothingSpoken`` reason: ``no_speech``, no speech found; ``no_usable_text``, Whisper's rules refused every
    text; ``no_synthesis``, no synthesis made sound), with ``note`` the sentence that explains it. Such a dub
    is the clip's backing alone at the source's loudness. ``placements`` holds what the remix did with each
    segment's synthesis (``None`` for a segment without one); ``notes`` the caller's texts (``jp_text``,
    ``en_text``) when no annotation is given to :meth:`record`.
    """

    audio: Audio
    source: Audio
    stems: Stems
    segments: tuple[Segment, ...]
    translations: tuple[Translation, ...]
    syntheses: tuple[Synthesis | None, ...]
    mixing_ratio: float
    ratio_source: str
    source_lufs: float
    dub_lufs: float
    stage_seconds: dict[str, float]
    provenance: dict[str, Any]
    placements: tuple[PlacedSegment | None, ...] = ()
    clip_id: str | None = None
    notes: dict[str, str | None] = field(default_factory=dict)
    nothing_spoken: NothingSpoken | None = None
    note: str | None = None
    diarization: Diarization | None = None
    overlong_rule: str | None = None
    fit_duration: bool | None = None
    limiter_reduction_db: float | None = None

    @property
    def texts(self) -> list[str]:
        return [t.text for t in self.translations]

    def _spoken(self) -> list[tuple[Segment, Synthesis]]:
        """Each segment (utterance) that got English speech in the dub, with its synthesis."""
        return [(seg, syn) for seg, syn in zip(self.segments, self.syntheses, strict=True)
                if syn is not None and syn.audio is not None]

    @property
    def dubbed_segments(self) -> list[Segment]:
        """The segments (utterances) that got English speech in the dub."""
        return [seg for seg, _ in self._spoken()]

    def coverage(self) -> SpeechCoverage:
        """How much of the source speech the dub speaks (:class:`SpeechCoverage`)."""
        speech = self.diarization.speech if self.diarization is not None else ()
        spoken = self._spoken()
        total = speech_seconds(speech)
        covered = covered_seconds(speech, [seg for seg, _ in spoken])
        words = sum(len(_EN_WORD.findall(syn.text)) for _, syn in spoken)
        return SpeechCoverage(round(total, 3), round(covered, 3), round(covered / total, 4) if total > 0 else None,
                              round(words / total, 3) if total > 0 else None)

    def quality_flags(self) -> dict[str, str]:
        """``{flag: sentence}`` for what a finished dub lacks: ``low_coverage`` (over 2 s of speech, under half
        of it dubbed) and ``fewer_speakers`` (diarization found fewer speakers than the annotation lists)."""
        return self._flags(self.coverage())

    def _flags(self, cov: SpeechCoverage) -> dict[str, str]:
        """:meth:`quality_flags` from the :meth:`coverage` already measured."""
        flags: dict[str, str] = {}
        share = cov.coverage or 0.0
        if cov.speech_seconds > COVERAGE_MIN_SPEECH_SECONDS and share < LOW_COVERAGE:
            flags["low_coverage"] = (f"only {cov.covered_seconds:.1f} s of {cov.speech_seconds:.1f} s of speech "
                                     f"({100 * share:.0f} %) got English speech; see the segments' "
                                     "`skipped` reasons")
        d = self.diarization
        if d is not None and d.speakers_expected and d.segments and d.speakers_found < d.speakers_expected:
            flags["fewer_speakers"] = d.reason or (f"{d.speakers_found} speaker(s) found where the annotation lists "
                                                   f"{d.speakers_expected}")
        return flags

    def segment_records(self, files: Sequence[str | None] | None = None) -> tuple[SegmentRecord, ...]:
        """Per-segment records (the manifest's ``segments``): timing, text evidence, voice, placement;
        ``files`` names each synthesis file (``save_parts``)."""
        records = []
        for i, (seg, tr) in enumerate(zip(self.segments, self.translations, strict=True)):
            syn = self.syntheses[i]
            place = self.placements[i] if i < len(self.placements) else None
            records.append(SegmentRecord(
                start=round(seg.start, 3), end=round(seg.end, 3), speaker=seg.speaker,
                text=tr.text, skipped=tr.skipped or (syn.skipped if syn else None), heard=tr.heard or None,
                delooped=tr.delooped,
                language=tr.language, avg_logprob=tr.avg_logprob, no_speech_prob=tr.no_speech_prob,
                compression_ratio=tr.compression_ratio,
                synth_seconds=syn.audio.duration if syn and syn.audio is not None else 0.0,
                voice=syn.voice if syn else None, voice_method=syn.voice_method if syn else None,
                voice_recipe=syn.extra.get("voice_recipe") if syn else None,
                similarity=syn.similarity if syn else None,
                reference_seconds=syn.reference_seconds if syn else None,
                reference_source=syn.reference_source if syn else None,
                placed_start=place.placed_start if place else None,
                overrun_seconds=place.overrun_seconds if place else None,
                stretch=place.stretch if place else None, cut_seconds=place.cut_seconds if place else None,
                rule=place.rule if place else None,
                file=files[i] if files else None,
            ))
        return tuple(records)

    def record(self, clip: Clip | None = None, files: Sequence[str | None] | None = None) -> ClipRecord:
        """The one builder of a dub's :class:`ClipRecord`: ratio, loudness, segments, stage seconds, speech
        coverage, provenance, and the annotation's facts when ``clip`` is given (texts, speaker count, the
        duration check). A split run adds where its files went (``baseline_dub.runner.clip_files``)."""
        cov = self.coverage()
        prov = self.provenance
        check = clip.duration_check(self.source.duration) if clip is not None else None
        return ClipRecord(
            clip_id=self.clip_id if self.clip_id is not None else (clip.id if clip is not None else ""),
            status=Status.NO_SPEECH if self.nothing_spoken else Status.DONE,
            reason=self.nothing_spoken, note=self.note,
            jp_text=clip.jp_text if clip is not None else self.notes.get("jp_text"),
            en_text=clip.en_text if clip is not None else self.notes.get("en_text"),
            speakers_expected=self.diarization.speakers_expected if self.diarization is not None else None,
            speakers_found=len({s.speaker for s in self.segments}),
            duration=round(self.source.duration, 4), rate=self.audio.rate, channels=self.audio.channels,
            source_lufs=round(self.source_lufs, 2), dub_lufs=round(self.dub_lufs, 2),
            mixing_ratio=round(self.mixing_ratio, 4), ratio_source=self.ratio_source,
            profile=prov.get("profile"), whisper=prov.get("whisper"), models=dict(prov.get("models") or {}),
            separation_weights=prov.get("separation_weights"), translate_engine=prov.get("translate_engine"),
            translate_compute_type=prov.get("translate_compute_type"),
            stage_seconds={k: round(v, 4) for k, v in self.stage_seconds.items()},
            speech_seconds=cov.speech_seconds, covered_seconds=cov.covered_seconds, coverage=cov.coverage,
            en_words_per_speech_second=cov.en_words_per_speech_second, quality_flags=self._flags(cov),
            overlong_rule=self.overlong_rule, fit_duration=self.fit_duration,
            limiter_reduction_db=self.limiter_reduction_db,
            annotation_duration=check.annotation_duration if check is not None else None,
            duration_mismatch=check.mismatch if check is not None else None,
            warning=check.warning if check is not None else None,
            segments=self.segment_records(files),
        )

    def save_parts(self, folder: str | Path, stems: bool = False) -> list[str | None]:
        """Write each synthesis as ``seg-NN.flac`` (and the stems when asked); returns the file names."""
        folder = Path(folder)
        names: list[str | None] = []
        for i, syn in enumerate(self.syntheses):
            if syn is None or syn.audio is None:
                names.append(None)
                continue
            name = f"seg-{i:02d}.flac"
            write_audio(folder / name, syn.audio)
            names.append(name)
        if stems:
            write_audio(folder / "vocals.wav", self.stems.vocals)
            write_audio(folder / "backing.wav", self.stems.backing)
        return names

    def save(self, folder: str | Path) -> Path:
        """Write ``dub.wav``, the stems, each synthesis and ``dub.json`` into ``folder``."""
        folder = Path(folder)
        files = self.save_parts(folder, stems=True)
        write_audio(folder / "dub.wav", self.audio)
        info = dub_json(self.record(files=files), self.provenance)
        atomic_write_text(folder / "dub.json", json.dumps(info, indent=1, ensure_ascii=False, default=str))
        return folder
