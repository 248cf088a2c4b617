"""Synthesis stage: English text + the segment's own vocals -> English speech in (or near) that voice.

Rules, in order:

1. Text: :func:`~baseline_dub.stages.synthesize.text.normalize_text` spells out numbers, symbols and
   abbreviations; text with nothing speakable is *skipped* (``skipped="empty_text"``, no audio);
   longer text is cut at sentence boundaries into pieces of ``max_chars_per_chunk`` that are
   synthesized one by one and joined with ``chunk_pause_seconds`` of silence.
2. Reference: the segment's separated vocals, down-mixed, resampled to the backend's reference rate
   and trimmed of silence (everything 35 dB under the peak). When that is shorter than
   ``min_reference_seconds`` it is extended with the same speaker's other segments of the clip (in
   order), then with the clip's whole vocals; ``reference_source`` records the last one used
   (``segment``, ``speaker`` or ``clip``). The result is cut at ``max_reference_seconds``. A
   reference with no sound at all skips the segment (``skipped="silent_reference"``).
3. Voice: the backend makes speech from text pieces and the reference: the paper's YourTTS clones
   it (``voice_method="clone"``); the offline Kokoro speaks with the voice or blend of voices that
   sounds nearest to it (``voice_method="nearest voice"``, ``voice_search.py``). In a clip
   (:meth:`Synthesizer.synthesize_clip`), one voice is first chosen per speaker (:meth:`Synthesizer.choose_voices`)
   from all of that speaker's vocals (up to ``voice_choice_seconds``), distinct between speakers unless one
   really is nearest to another's voice, and every segment of the speaker speaks with it (``voice=``); a
   call without a voice searches one for its own reference.
4. Metadata: the speaker similarity of the output to the reference (cosine of Resemblyzer
   embeddings), the seconds of reference used, and the backend's details in ``extra`` (Kokoro: the
   ``voice_recipe`` {voice: weight} and the ``voice_choice`` summary of the search).

Output is deterministic: the same text, reference and ``seed`` give the same samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config, SynthesizeConfig
from baseline_dub.errors import ConfigError
from baseline_dub.models.store import Store
from baseline_dub.stages.speaker import SpeakerEncoder, cosine, load_speaker_encoder
from baseline_dub.stages.synthesize.backend import Backend, Spoken
from baseline_dub.stages.synthesize.reference import (
    TRIM_TOP_DB,
    PreparedReference,
    VoiceReference,
    prepare_reference,
    reference_for,
    speaker_references,
    trim_silence,
)
from baseline_dub.stages.synthesize.text import normalize_text, split_chunks
from baseline_dub.stages.synthesize.voice_search import VoiceChoice, assign_distinct
from baseline_dub.stages.types import NothingSpoken, NothingToSpeak, Segment, Synthesis, Translation

__all__ = [
    "BACKENDS", "TRIM_TOP_DB", "Backend", "PreparedReference", "Spoken", "Synthesizer", "VoiceChoice",
    "VoiceReference", "load_synthesizer", "no_synthesis", "prepare_reference", "reference_for",
    "speaker_references", "trim_silence",
]

BACKENDS = ("yourtts", "kokoro")


class Synthesizer:
    """Speaks English text in the voice of a reference; one per process (models load once)."""

    def __init__(self, backend: Backend, encoder: SpeakerEncoder, config: SynthesizeConfig, seed: int = 0) -> None:
        self.backend = backend
        self.encoder = encoder
        self.config = config
        self.seed = seed

    def _skipped(self, text: str, reason: str, reference: PreparedReference | None = None) -> Synthesis:
        return Synthesis(audio=None, text=text, voice_method=self.backend.voice_method, voice="",
                         reference_seconds=reference.seconds if reference else 0.0,
                         reference_source=reference.source if reference else "", similarity=None,
                         skipped=reason, extra={"backend": self.backend.name})

    def choose_voices(self, speakers: Mapping[str, Sequence[Audio]]) -> dict[str, Any]:
        """One voice per speaker of a clip, from each speaker's vocals (rule 3); ``{}`` for a cloning backend.

        ``speakers`` maps each speaker to its segments' vocals (see :func:`speaker_references`); up to
        ``voice_choice_seconds`` of their trimmed sound choose the voice. Speakers with no sound get
        no entry. The choices are made distinct by ``voice_search.assign_distinct``.
        """
        choose = getattr(self.backend, "choose", None)
        if choose is None:
            return {}
        seconds = self.config.voice_choice_seconds
        choices: dict[str, VoiceChoice] = {}
        for speaker, audios in speakers.items():
            if not audios:
                continue
            prepared = prepare_reference(VoiceReference(audios[0], tuple(audios[1:])), self.backend.reference_rate,
                                         seconds, seconds)
            if prepared.audio.frames:
                choices[speaker] = choose(prepared.audio, self.encoder.embed(prepared.audio))
        return assign_distinct(choices, margin=self.config.distinct_voice_margin,
                               same_threshold=self.config.same_voice_cosine)

    def synthesize(self, text: str, reference: Audio | VoiceReference, *,
                   extra_references: Sequence[Audio] = (), clip: Audio | None = None,
                   seed: int | None = None, voice: Any = None) -> Synthesis:
        """English speech for ``text`` in the voice of ``reference`` (module docstring for the rules).

        ``reference`` is the segment's vocals, or a :class:`VoiceReference` that already holds the
        speaker's other segments and the clip; otherwise ``extra_references`` (the same speaker's
        other segments) and ``clip`` (the clip's vocals) extend a short one. ``voice``: the speaker's
        voice from :meth:`choose_voices` (Kokoro), else one is chosen for this reference. ``seed``
        defaults to the profile's ``seed``.
        """
        if not isinstance(reference, VoiceReference):
            reference = VoiceReference(reference, tuple(extra_references), clip)
        seed = self.seed if seed is None else seed
        spoken_text = normalize_text(text)
        chunks = [c for c in split_chunks(spoken_text, self.config.max_chars_per_chunk)
                  if any(ch.isalnum() for ch in c)]
        if not chunks:
            return self._skipped(text, "empty_text")
        prepared = prepare_reference(reference, self.backend.reference_rate,
                                     self.config.min_reference_seconds, self.config.max_reference_seconds)
        if prepared.audio.frames == 0:
            return self._skipped(text, "silent_reference", prepared)
        ref_embedding = self.encoder.embed(prepared.audio)
        if voice is not None and hasattr(self.backend, "speak_as"):
            spoken = self.backend.speak_as(chunks, voice)
        else:
            spoken = self.backend.speak(chunks, prepared.audio, ref_embedding, seed)
        pause = np.zeros(int(round(self.config.chunk_pause_seconds * self.backend.rate)), dtype=np.float32)
        joined: list[np.ndarray] = []
        for i, piece in enumerate(spoken.pieces):
            joined += [pause, np.asarray(piece, dtype=np.float32)] if i else [np.asarray(piece, dtype=np.float32)]
        audio = Audio(np.concatenate(joined), self.backend.rate)
        similarity = cosine(self.encoder.embed(audio), ref_embedding)
        extra = {"backend": self.backend.name, "spoken_text": spoken_text, "chunks": len(chunks),
                 "seed": seed, **spoken.extra}
        return Synthesis(audio=audio, text=text, voice_method=self.backend.voice_method, voice=spoken.voice,
                         reference_seconds=prepared.seconds, reference_source=prepared.source,
                         similarity=similarity, extra=extra)

    def synthesize_clip(self, segments: Sequence[Segment], translations: Sequence[Translation],
                        vocals: Audio) -> list[Synthesis | None]:
        """Every segment of one clip spoken (rule 3): first one voice per speaker that has text, chosen from all
        of that speaker's ``vocals`` (:meth:`choose_voices`), then each segment with text in its speaker's
        voice and its own reference (:func:`reference_for`); ``None`` for a segment without text."""
        speaking = sorted({seg.speaker for seg, tr in zip(segments, translations, strict=True) if tr.text})
        voices = self.choose_voices(speaker_references(segments, vocals, speaking))
        return [self.synthesize(tr.text, reference_for(seg, segments, vocals), voice=voices.get(seg.speaker))
                if tr.text else None for seg, tr in zip(segments, translations, strict=True)]

    def synthesize_many(self, items: Sequence[tuple[str, Audio | VoiceReference]], *,
                        seed: int | None = None) -> list[Synthesis]:
        """:meth:`synthesize` for each ``(text, reference)`` pair, in order."""
        return [self.synthesize(text, reference, seed=seed) for text, reference in items]


def no_synthesis(syntheses: Sequence[Synthesis | None]) -> NothingToSpeak | None:
    """``no_synthesis`` when none of a clip's syntheses made sound (the sentence lists their ``skipped``
    reasons), else ``None``."""
    if any(s is not None and s.audio is not None for s in syntheses):
        return None
    reasons = sorted({s.skipped or "no audio" for s in syntheses if s is not None})
    return NothingToSpeak(NothingSpoken.NO_SYNTHESIS, f"no synthesis produced speech ({', '.join(reasons)})")


def load_synthesizer(config: Config, store: Store) -> Synthesizer:
    """The configured backend (``synthesize.backend``) and the speaker encoder, weights from ``store``."""
    cfg = config.synthesize
    backend: Backend
    if cfg.backend == "kokoro":
        from baseline_dub.stages.synthesize.kokoro import load_kokoro

        backend = load_kokoro(config, store)
    elif cfg.backend == "yourtts":
        from baseline_dub.stages.synthesize.yourtts import load_yourtts

        backend = load_yourtts(config, store)
    else:
        raise ConfigError(f"synthesize.backend {cfg.backend!r} is unknown; use one of {', '.join(BACKENDS)}")
    return Synthesizer(backend, load_speaker_encoder(config, store), cfg, seed=config.seed)
