"""What a synthesis backend is: the protocol the TTS models implement and the answer they give.

Kept apart from the stage module that loads the backends, so that backends import only downward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from baseline_dub.audio import Audio


@dataclass(frozen=True)
class Spoken:
    """A backend's answer: one waveform per text piece (at the backend's rate) and the voice used."""

    pieces: tuple[np.ndarray, ...]
    voice: str
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """A TTS model that speaks English text pieces in a voice taken from a reference recording.

    A backend that speaks with voices of its own rather than cloning (Kokoro) also has
    ``choose(reference, reference_embedding)``, which returns a speaker's voice choice, and
    ``speak_as(chunks, choice)``; the stage then chooses once per speaker (``Synthesizer.choose_voices``).
    """

    name: str
    voice_method: str
    rate: int
    reference_rate: int

    def speak(self, chunks: Sequence[str], reference: Audio, reference_embedding: np.ndarray,
              seed: int) -> Spoken:
        """Speak each of ``chunks`` with the voice of ``reference`` (mono, ``reference_rate``)."""
        ...
