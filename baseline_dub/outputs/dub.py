"""``Dub``: the final audio of one clip and every intermediate, with provenance; ``Dub.save(dir)``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baseline_dub.atomic import atomic_write_text
from baseline_dub.audio import Audio, write_audio
from baseline_dub.stages.diarize.utterances import covered_seconds, speech_seconds
from baseline_dub.stages.types import Segment, Stems, Synthesis, Translation

if TYPE_CHECKING:
    from baseline_dub.stages.diarize import Diarization

# A clip with more than this much speech whose coverage is under LOW_COVERAGE is flagged ``low_coverage``.
COVERAGE_MIN_SPEECH_SECONDS = 2.0
LOW_COVERAGE = 0.5
_EN_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True, eq=False)
class Dub:
    """One dubbed clip: ``audio`` (source rate, channels and length) and how it was made.

    ``no_speech`` is ``None`` for a dub with English speech; otherwise why nothing was spoken
    (``no_speech``: no speech found; ``no_usable_text``: Whisper's rules refused every text;
    ``no_synthesis``: no synthesis made sound), with ``note`` the sentence that explains it. Such a dub
    is the clip's backing alone at the source's loudness.
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
    placements: tuple[dict[str, Any], ...] = ()
    clip_id: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    no_speech: str | None = None
    note: str | None = None
    diarization: Diarization | None = None

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

    def coverage(self) -> dict[str, Any]:
        """How much of the source speech the dub speaks: ``speech_seconds`` (voice activity in the separated
        vocals), ``covered_seconds`` (of it under a dubbed utterance), ``coverage`` (their ratio, null without
        speech) and ``en_words_per_speech_second`` (English words spoken per second of source speech)."""
        speech = self.diarization.speech if self.diarization is not None else ()
        spoken = self._spoken()
        total = speech_seconds(speech)
        covered = covered_seconds(speech, [seg for seg, _ in spoken])
        words = sum(len(_EN_WORD.findall(syn.text)) for _, syn in spoken)
        return {"speech_seconds": round(total, 3), "covered_seconds": round(covered, 3),
                "coverage": round(covered / total, 4) if total > 0 else None,
                "en_words_per_speech_second": round(words / total, 3) if total > 0 else None}

    def quality_flags(self) -> dict[str, str]:
        """``{flag: sentence}`` for what a finished dub lacks: ``low_coverage`` (over 2 s of speech, under half
        of it dubbed) and ``fewer_speakers`` (diarization found fewer speakers than the annotation lists)."""
        return self._flags(self.coverage())

    def _flags(self, cov: dict[str, Any]) -> dict[str, str]:
        """:meth:`quality_flags` from the :meth:`coverage` already measured."""
        flags: dict[str, str] = {}
        if cov["speech_seconds"] > COVERAGE_MIN_SPEECH_SECONDS and (cov["coverage"] or 0.0) < LOW_COVERAGE:
            flags["low_coverage"] = (f"only {cov['covered_seconds']:.1f} s of {cov['speech_seconds']:.1f} s of speech "
                                     f"({100 * (cov['coverage'] or 0.0):.0f} %) got English speech; see the segments' "
                                     "`skipped` reasons")
        d = self.diarization
        if d is not None and d.speakers_expected and d.segments and d.speakers_found < d.speakers_expected:
            flags["fewer_speakers"] = d.reason or (f"{d.speakers_found} speaker(s) found where the annotation lists "
                                                   f"{d.speakers_expected}")
        return flags

    def segment_rows(self, files: list[str | None] | None = None) -> list[dict[str, Any]]:
        """Per-segment records (manifest ``segments``): timing, text evidence, voice, placement."""
        rows = []
        for i, (seg, tr) in enumerate(zip(self.segments, self.translations, strict=True)):
            syn = self.syntheses[i]
            place = self.placements[i] if i < len(self.placements) else {}
            rows.append({
                "start": round(seg.start, 3), "end": round(seg.end, 3), "speaker": seg.speaker,
                "text": tr.text, "skipped": tr.skipped or (syn.skipped if syn else None),
                "language": tr.language, "avg_logprob": tr.avg_logprob, "no_speech_prob": tr.no_speech_prob,
                "compression_ratio": tr.compression_ratio,
                "synth_seconds": syn.audio.duration if syn and syn.audio is not None else 0.0,
                "voice": syn.voice if syn else None, "voice_method": syn.voice_method if syn else None,
                "voice_recipe": syn.extra.get("voice_recipe") if syn else None,
                "similarity": syn.similarity if syn else None,
                "reference_seconds": syn.reference_seconds if syn else None,
                "reference_source": syn.reference_source if syn else None,
                **{k: place.get(k) for k in ("placed_start", "overrun_seconds", "stretch", "cut_seconds", "rule")},
                "file": files[i] if files else None,
            })
        return rows

    def record(self) -> dict[str, Any]:
        """A JSON-ready summary: ratio, loudness, segments, stage seconds, speech coverage, provenance."""
        cov = self.coverage()
        return {
            "clip_id": self.clip_id,
            "duration": round(self.source.duration, 4),
            "rate": self.audio.rate,
            "channels": self.audio.channels,
            "source_lufs": round(self.source_lufs, 2),
            "dub_lufs": round(self.dub_lufs, 2),
            "mixing_ratio": round(self.mixing_ratio, 4),
            "ratio_source": self.ratio_source,
            "profile": self.provenance.get("profile"),
            "models": self.provenance.get("models", {}),
            "separation_weights": self.provenance.get("separation_weights"),
            "translate_engine": self.provenance.get("translate_engine"),
            "translate_compute_type": self.provenance.get("translate_compute_type"),
            "stage_seconds": {k: round(v, 4) for k, v in self.stage_seconds.items()},
            **cov,
            "speakers_expected": self.diarization.speakers_expected if self.diarization is not None else None,
            "speakers_found": len({s.speaker for s in self.segments}),
            "quality_flags": self._flags(cov),
            **self.notes,
            **({"no_speech": self.no_speech, "note": self.note} if self.no_speech else {}),
        }

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
        info = {**self.record(), "segments": self.segment_rows(files), "provenance": self.provenance}
        atomic_write_text(folder / "dub.json", json.dumps(info, indent=1, ensure_ascii=False, default=str))
        return folder
