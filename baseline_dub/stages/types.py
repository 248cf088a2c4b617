"""Frozen dataclasses passed between stages: nothing goes through files between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from baseline_dub.audio import Audio


class NothingSpoken(StrEnum):
    """The ``reason`` of a ``no_speech`` row (``Dub.nothing_spoken``): why the dub speaks nothing."""

    SPEECH_NOT_FOUND = "no_speech"  # diarization / voice activity found no speech in the separated vocals
    NO_USABLE_TEXT = "no_usable_text"  # Whisper's rules refused every segment's text
    NO_SYNTHESIS = "no_synthesis"  # there was text, but no synthesis made sound


@dataclass(frozen=True)
class Stems:
    """Separation output: vocals and backing at the input's rate, channel count and length."""

    vocals: Audio
    backing: Audio


@dataclass(frozen=True)
class Segment:
    """A single-speaker stretch of a clip, in seconds from the clip start."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Translation:
    """Whisper's English text for one segment and the evidence behind it.

    ``text`` is empty when ``skipped`` names why (``no_speech``, ``hallucination``, ...): no TTS is made.
    ``heard`` is Whisper's own text when it differs from ``text``: the text of a skipped line, or the loop a
    ``delooped`` line was cut from (``""`` otherwise).
    """

    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float = 0.0
    skipped: str | None = None
    heard: str = ""
    delooped: bool = False

    @classmethod
    def nothing(cls, reason: str, language: str = "") -> Translation:
        """The line of a segment that was never decoded (``reason``: ``silence``, ``no_speech``): no text."""
        return cls(text="", language=language, avg_logprob=float("-inf"), no_speech_prob=1.0,
                   compression_ratio=0.0, skipped=reason)


@dataclass(frozen=True)
class Synthesis:
    """English speech for one segment, with how its voice was chosen.

    ``voice_method`` is ``"clone"`` (YourTTS from the reference) or ``"nearest voice"`` (offline);
    ``audio`` is ``None`` when ``skipped`` names why nothing was synthesized.
    """

    audio: Audio | None
    text: str
    voice_method: str
    voice: str
    reference_seconds: float
    reference_source: str
    similarity: float | None
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NothingToSpeak:
    """Why a stage's result leaves a clip nothing to speak: ``reason`` (:class:`NothingSpoken`: the ``Dub``'s
    ``nothing_spoken``) and ``why`` the sentence. Such a clip is an outcome, not an
    error: it still goes through the remix with nothing placed, so its dub is its backing alone."""

    reason: NothingSpoken
    why: str

    def note(self, clip_id: str | None = None) -> str:
        """The sentence a dub of nothing carries: why, what the dub is, and which clip (when known)."""
        note = f"{self.why}; the dub is the clip's backing alone, at the source's loudness"
        return f"clip {clip_id}: {note}" if clip_id else note
