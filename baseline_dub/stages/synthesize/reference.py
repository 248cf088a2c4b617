"""The voice reference of a segment (rule 2 of the synthesis stage): its vocals, extended and trimmed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.stages.types import Segment

TRIM_TOP_DB = 35.0


@dataclass(frozen=True)
class VoiceReference:
    """What the pipeline knows of one segment's voice: its vocals, the speaker's other segments, the clip."""

    segment: Audio
    same_speaker: tuple[Audio, ...] = ()
    clip: Audio | None = None


@dataclass(frozen=True)
class PreparedReference:
    """The reference a backend hears: mono, at its rate, trimmed, and where it came from."""

    audio: Audio
    source: str

    @property
    def seconds(self) -> float:
        return self.audio.duration


def trim_silence(audio: Audio, rate: int, top_db: float = TRIM_TOP_DB) -> Audio:
    """Mono at ``rate`` with every stretch quieter than ``top_db`` under the peak removed.

    The non-silent intervals are concatenated; a silent or empty input gives an empty ``Audio``.
    """
    import librosa

    mono = audio.mono().resample(rate)
    wav = mono.samples[0]
    if wav.size == 0 or not np.any(wav):
        return Audio(np.zeros(0, dtype=np.float32), rate)
    intervals = librosa.effects.split(wav, top_db=top_db, frame_length=1024, hop_length=256)
    kept = [wav[a:b] for a, b in intervals]
    return Audio(np.concatenate(kept) if kept else np.zeros(0, dtype=np.float32), rate)


def prepare_reference(reference: VoiceReference, rate: int, min_seconds: float,
                      max_seconds: float) -> PreparedReference:
    """Apply the reference rules (module docstring, rule 2) to one segment's voice.

    The segment alone is used when its trimmed sound lasts ``min_seconds``; otherwise the same
    speaker's segments are appended one at a time until it does, then the clip's vocals. The result
    is cut to ``max_seconds``.
    """
    parts = [trim_silence(reference.segment, rate)]
    source = "segment"
    total = parts[0].frames

    def short() -> bool:
        return total < min_seconds * rate

    for other in reference.same_speaker:
        if not short():
            break
        piece = trim_silence(other, rate)
        if piece.frames:
            parts.append(piece)
            total += piece.frames
            source = "speaker"
    if short() and reference.clip is not None:
        piece = trim_silence(reference.clip, rate)
        if piece.frames:
            parts.append(piece)
            total += piece.frames
            source = "clip"
    joined = np.concatenate([p.samples[0] for p in parts])[: int(round(max_seconds * rate))]
    return PreparedReference(Audio(joined, rate), source)


def reference_for(segment: Segment, segments: Sequence[Segment], vocals: Audio) -> VoiceReference:
    """The :class:`VoiceReference` of ``segment``: its slice of ``vocals``, the speaker's others, the clip."""
    others = tuple(vocals.slice(s.start, s.end) for s in segments
                   if s.speaker == segment.speaker and s != segment)
    return VoiceReference(vocals.slice(segment.start, segment.end), others, vocals)


def speaker_references(segments: Sequence[Segment], vocals: Audio,
                       speakers: Sequence[str] | None = None) -> dict[str, list[Audio]]:
    """Each speaker's segments of ``vocals`` in order (``speakers``: only these), for choosing its voice."""
    out: dict[str, list[Audio]] = {}
    for seg in segments:
        if speakers is None or seg.speaker in speakers:
            out.setdefault(seg.speaker, []).append(vocals.slice(seg.start, seg.end))
    return out
