"""Diarization: vocals -> ordered, non-overlapping single-speaker ``Segment``s.

Two backends share one protocol (``Backend.turns``: raw, possibly overlapping speaker turns) and one
set of post-processing rules (``clean_segments``), applied in this order:

1. turns are clipped to the clip (``[0, duration]``) and empty ones dropped;
2. overlapped speech (two or more speakers at once) is resolved by ``overlap``: ``drop`` gives it to
   nobody (a TTS voice reference and Whisper input must hold one voice), ``dominant`` gives it to the
   speaker whose turn covering it is longest (ties: the earlier turn);
3. same-speaker pieces separated by a gap of at most ``merge_gap_seconds`` (with no other speaker in
   between, which holds once overlap is resolved) are merged into one segment;
4. segments shorter than ``min_segment_seconds`` are dropped (too short to translate or to clone a
   voice from), then step 3 runs again since a dropped stray turn may have split one speaker's turn;
5. speakers are renamed ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first appearance.

Clips that the annotation lists with one speaker skip diarization unless
``diarize_single_speaker_clips`` is set (the paper ran PyAnnote on multi-speaker clips only): they
yield one segment from the first to the last speech found by silero VAD (padded by
``speech_pad_seconds``), or nothing when VAD hears no speech (``single_speaker_utterances``: the same
function gives the ``translate`` command its utterances, so a file translates as such a clip does).

Last, every segment, of either path, is cut at its pauses into utterances of at most
``max_utterance_seconds`` (``utterances.py``): the unit Whisper translates and the TTS speaks.

A given speaker count (``num_speakers``: ``--num-speakers``, or the annotation's ``speakers``) is
respected: that many speakers come back unless some of them have no speech of their own in the clip.
The count is checked after the rules above (a speaker whose only turns are short or overlapped is gone
then), and when it falls short the backend's ``split_into_voices`` is tried (the offline backend's rule:
``offline.py``, step 6). :meth:`Diarizer.diarize_detailed` returns ``speakers_expected``,
``speakers_found`` and, when fewer were found, the ``reason``: the pipeline keeps it in the ``Dub``, whose record
lists it (``quality_flags.fewer_speakers``); :meth:`Diarizer.diarize`, for direct callers and the ``diarize``
command, emits it as a :class:`SpeakerCountWarning`. DER and reference
turns (tests, ``bench/``): ``tests/support/diarization.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config, DiarizeConfig
from baseline_dub.errors import ConfigError
from baseline_dub.models.store import Store
from baseline_dub.stages.diarize.utterances import Region, split_utterances
from baseline_dub.stages.types import NothingSpoken, NothingToSpeak, Segment

__all__ = ["Backend", "Diarization", "Diarizer", "SegmentRules", "SpeakerCountWarning", "SpeechDetector",
           "clean_segments", "load_diarizer", "load_speech_detector", "single_speaker_utterances", "speech_span"]

RATE = 16000
OVERLAP_RULES = ("drop", "dominant")
BACKENDS = ("offline", "pyannote")


@dataclass(frozen=True)
class SegmentRules:
    """The post-processing rules of ``clean_segments`` (see the module docstring)."""

    min_segment_seconds: float = 0.5
    merge_gap_seconds: float = 0.3
    overlap: str = "drop"

    def __post_init__(self) -> None:
        if self.overlap not in OVERLAP_RULES:
            raise ConfigError(f"diarize.overlap is {self.overlap!r}; use one of {', '.join(OVERLAP_RULES)}")
        if self.min_segment_seconds < 0 or self.merge_gap_seconds < 0:
            raise ConfigError("diarize.min_segment_seconds and diarize.merge_gap_seconds must be >= 0")

    @classmethod
    def from_config(cls, config: DiarizeConfig) -> SegmentRules:
        return cls(config.min_segment_seconds, config.merge_gap_seconds, config.overlap)


class Backend(Protocol):
    """A diarization model: 16 kHz mono vocals -> raw speaker turns (may overlap, any labels)."""

    def turns(self, vocals: Audio, num_speakers: int | None = None) -> list[Segment]:
        """Speaker turns of ``vocals`` (16 kHz mono); ``num_speakers`` is a hint, not a promise."""
        ...

    def split_into_voices(self, vocals: Audio, speech: list[Segment], num_speakers: int) -> list[Segment] | None:
        """Turns that split the speech of ``speech`` into up to ``num_speakers`` distinct voices, or ``None``."""
        ...


def _resolve_overlap(turns: list[Segment], rule: str) -> list[Segment]:
    """Cut turns at every boundary; each elementary piece goes to its one speaker, or by ``rule``."""
    bounds = sorted({t for s in turns for t in (s.start, s.end)})
    pieces: list[Segment] = []
    for a, b in pairwise(bounds):
        covering = [s for s in turns if s.start <= a and s.end >= b]
        speakers = {s.speaker for s in covering}
        if not speakers:
            continue
        if len(speakers) == 1:
            pieces.append(Segment(a, b, covering[0].speaker))
        elif rule == "dominant":
            best = max(covering, key=lambda s: (s.duration, -s.start))
            pieces.append(Segment(a, b, best.speaker))
    return pieces


def _merge(segments: list[Segment], gap: float) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if out and out[-1].speaker == seg.speaker and seg.start - out[-1].end <= gap + 1e-9:
            out[-1] = Segment(out[-1].start, max(out[-1].end, seg.end), seg.speaker)
        else:
            out.append(seg)
    return out


def clean_segments(turns: list[Segment], rules: SegmentRules, duration: float | None = None) -> list[Segment]:
    """Apply the module's rules to raw turns: ordered, non-overlapping, single-speaker segments.

    ``duration`` (seconds) clips turns to the clip when given. Labels are renamed ``SPEAKER_NN`` in
    order of first appearance, so equal inputs give equal outputs whatever the backend's labels.
    """
    end_limit = float("inf") if duration is None else float(duration)
    clipped = [Segment(max(0.0, float(s.start)), min(end_limit, float(s.end)), str(s.speaker)) for s in turns]
    clipped = [s for s in clipped if s.end > s.start]
    pieces = _merge(_resolve_overlap(clipped, rules.overlap), rules.merge_gap_seconds)
    kept = [s for s in pieces if s.duration >= rules.min_segment_seconds]
    kept = _merge(kept, rules.merge_gap_seconds)
    names: dict[str, str] = {}
    for s in kept:
        names.setdefault(s.speaker, f"SPEAKER_{len(names):02d}")
    return [Segment(round(s.start, 3), round(s.end, 3), names[s.speaker]) for s in kept]


def _speakers(segments: list[Segment]) -> int:
    return len({s.speaker for s in segments})


class SpeakerCountWarning(UserWarning):
    """Diarization found fewer speakers than the count it was given (the others have no speech)."""


@dataclass(frozen=True)
class Diarization:
    """Segments of one clip and how their speaker count compares with the count expected.

    ``speakers_expected`` is the count given (``None``: none given), ``speakers_found`` the speakers in
    ``segments``; ``reason`` is ``None`` unless fewer were found than expected, then the sentence saying why.
    ``speech``: the regions ``(start, end)`` where voice activity detection heard speech in the vocals (what
    speech coverage is measured against).
    """

    segments: tuple[Segment, ...]
    speakers_expected: int | None
    speakers_found: int
    reason: str | None = None
    speech: tuple[tuple[float, float], ...] = ()

    def nothing_to_speak(self) -> NothingToSpeak | None:
        """``no_speech`` when no segment was found (the clip has nothing to translate), else ``None``."""
        if self.segments:
            return None
        return NothingToSpeak(NothingSpoken.SPEECH_NOT_FOUND, "no speech found in the separated vocals")


class SpeechDetector:
    """Silero VAD (ONNX, through the ``silero_vad`` package's wrapper) on 16 kHz mono audio."""

    def __init__(self, weights: Path, threshold: float = 0.5) -> None:
        from silero_vad.utils_vad import OnnxWrapper

        self.model = OnnxWrapper(str(weights), force_onnx_cpu=True)
        self.threshold = threshold

    def speech(self, audio: Audio) -> list[tuple[float, float]]:
        """Speech regions ``(start, end)`` in seconds; empty for silence, noise or very short audio."""
        import torch
        from silero_vad import get_speech_timestamps

        wav = audio.mono().resample(RATE).samples[0]
        if wav.size < 512 or not np.any(wav):
            return []
        self.model.reset_states()
        stamps = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(wav)), self.model,
                                       threshold=self.threshold, sampling_rate=RATE)
        return [(s["start"] / RATE, s["end"] / RATE) for s in stamps]


def load_speech_detector(config: Config, store: Store) -> SpeechDetector:
    """Silero VAD of ``config`` (``diarize.vad_model``, sha256-verified, at ``diarize.vad_threshold``) alone,
    without a diarization backend: what the ``translate`` command needs to find a file's utterances."""
    return SpeechDetector(store.path(config.diarize.vad_model), config.diarize.vad_threshold)


def speech_span(regions: Sequence[Region], pad: float, duration: float) -> tuple[float, float] | None:
    """From the first to the last speech region, padded by ``pad`` seconds within ``[0, duration]``; ``None``
    without speech. What a single-speaker clip is trimmed to."""
    if not regions:
        return None
    return max(0.0, regions[0][0] - pad), min(duration, regions[-1][1] + pad)


def _cut(segments: list[Segment], speech: Sequence[Region], config: DiarizeConfig) -> list[Segment]:
    """``segments`` cut at their pauses into utterances (``diarize.max_utterance_seconds``; utterances.py)."""
    return split_utterances(segments, speech, config.max_utterance_seconds, config.speech_pad_seconds)


def single_speaker_utterances(speech: Sequence[Region], duration: float, config: DiarizeConfig,
                              speaker: str = "SPEAKER_00") -> list[Segment]:
    """One speaker's utterances in audio of ``duration`` seconds where voice activity detection heard ``speech``.

    The audio is trimmed to its speech (``speech_span``, padded by ``diarize.speech_pad_seconds``), dropped when
    that is shorter than ``diarize.min_segment_seconds``, and cut at its pauses into utterances of at most
    ``diarize.max_utterance_seconds``; ``[]`` without speech. The one rule of a clip annotated single-speaker
    (``Diarizer.diarize_detailed``) and of the ``translate`` command.
    """
    span = speech_span(speech, config.speech_pad_seconds, duration)
    if span is None:
        return []
    return _cut(clean_segments([Segment(*span, speaker)], SegmentRules.from_config(config), duration), speech, config)


class Diarizer:
    """A loaded backend plus the rules: call ``diarize`` per clip or ``diarize_batch`` for many."""

    def __init__(self, backend: Backend, vad: SpeechDetector, config: DiarizeConfig) -> None:
        self.backend = backend
        self.vad = vad
        self.config = config
        self.rules = SegmentRules.from_config(config)

    def diarize(self, vocals: Audio, num_speakers: int | None = None,
                multi_speaker: bool | None = None) -> list[Segment]:
        """Single-speaker segments of ``vocals`` (:meth:`diarize_detailed`'s, a shortfall as a warning).

        ``multi_speaker=False`` (the annotation lists one speaker) skips diarization unless
        ``diarize_single_speaker_clips`` is set, and trims the clip to speech. ``num_speakers`` is the
        annotation's speaker count: that many speakers come back unless some have no speech, and a
        :class:`SpeakerCountWarning` says so. A clip with no speech gives ``[]``.
        """
        result = self.diarize_detailed(vocals, num_speakers, multi_speaker)
        if result.reason and result.segments:
            warnings.warn(result.reason, SpeakerCountWarning, stacklevel=2)
        return list(result.segments)

    def diarize_detailed(self, vocals: Audio, num_speakers: int | None = None,
                         multi_speaker: bool | None = None) -> Diarization:
        """:meth:`diarize` with the speaker count expected, the count found and, if fewer, why.

        With a count, the count is checked on the cleaned segments (a speaker whose every turn is
        shorter than ``min_segment_seconds`` or overlapped is gone): when fewer remain, the backend's
        ``split_into_voices`` is tried on the speech and its split kept if more speakers survive the rules.
        Last, the segments are cut at their pauses into utterances (utterances.py).
        """
        expected = num_speakers if num_speakers is not None and num_speakers >= 1 else None
        mono = vocals.mono().resample(RATE)
        speech = self.vad.speech(mono)
        if multi_speaker is False and not self.config.diarize_single_speaker_clips:
            return self._counted(single_speaker_utterances(speech, mono.duration, self.config), expected,
                                 mono.duration, speech)
        segments: list[Segment] = []
        if mono.duration >= self.rules.min_segment_seconds and speech:
            turns = self.backend.turns(mono, expected)
            segments = clean_segments(turns, self.rules, mono.duration)
            if expected and segments and _speakers(segments) < expected:
                split = self.backend.split_into_voices(mono, turns, expected)
                resplit = clean_segments(split, self.rules, mono.duration) if split else []
                if _speakers(resplit) > _speakers(segments):
                    segments = resplit
        return self._counted(_cut(segments, speech, self.config), expected, mono.duration, speech)

    @staticmethod
    def _counted(segments: list[Segment], expected: int | None, duration: float,
                 speech: list[tuple[float, float]]) -> Diarization:
        """``segments`` (utterances) as a :class:`Diarization` with the reason when fewer speakers than
        ``expected``, and the VAD ``speech``."""
        found = _speakers(segments)
        reason = None
        if expected and found < expected:
            reason = (f"diarization found {found} speaker(s) where {expected} were expected: " + (
                "no speech in the vocals" if not segments else
                f"the others have no speech of their own in these {duration:.1f} s (no split of it into "
                f"{expected} distinct voices, or their turns were shorter than diarize.min_segment_seconds)"))
        return Diarization(tuple(segments), expected, found, reason, tuple(speech))

    def diarize_batch(self, clips: list[Audio], num_speakers: list[int | None] | None = None,
                      multi_speaker: list[bool | None] | None = None) -> list[list[Segment]]:
        """``diarize`` for several clips (models stay loaded); hints are per clip, ``None`` for none."""
        hints = num_speakers or [None] * len(clips)
        multi = multi_speaker or [None] * len(clips)
        if len(hints) != len(clips) or len(multi) != len(clips):
            raise ConfigError("diarize_batch: num_speakers and multi_speaker need one entry per clip")
        return [self.diarize(a, n, m) for a, n, m in zip(clips, hints, multi, strict=True)]


def load_diarizer(config: Config, store: Store) -> Diarizer:
    """Load the configured backend and silero VAD from the store (weights verified by sha256)."""
    cfg = config.diarize
    SegmentRules.from_config(cfg)
    if cfg.backend == "offline":
        from baseline_dub.stages.diarize.offline import load_offline_backend

        backend: Backend = load_offline_backend(config, store)
    elif cfg.backend == "pyannote":
        from baseline_dub.stages.diarize.pyannote_pipeline import load_pyannote_backend

        backend = load_pyannote_backend(config, store)
    else:
        raise ConfigError(f"diarize.backend is {cfg.backend!r}; use one of {', '.join(BACKENDS)}")
    return Diarizer(backend, load_speech_detector(config, store), cfg)

