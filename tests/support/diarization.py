"""Diarization references and scores for tests and ``bench/``: DER, conversations with known turns, two-channel
dialogues.

``diarization_error_rate`` scores a hypothesis with pyannote.metrics; ``build_conversation`` joins real
single-speaker turns into a clip whose reference is known exactly; ``channel_reference`` reads the
reference of a recording with one speaker per channel (the J-Moshi dialogues of ``../shared/data/real``)
from each channel's energy.
"""

from __future__ import annotations

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.stages.diarize.runs import mask_runs
from baseline_dub.stages.types import Segment

RATE = 16000


def diarization_error_rate(reference: list[Segment], hypothesis: list[Segment], collar: float = 0.25,
                           duration: float | None = None) -> float:
    """DER (pyannote.metrics) of ``hypothesis`` against ``reference``; ``collar`` seconds around each
    reference boundary are not scored (pyannote's collar is the total width, so ``2 * collar`` is passed).
    The scored region is ``[0, duration]``, or both annotations' extent when ``duration`` is ``None``."""
    from pyannote.core import Annotation, Timeline
    from pyannote.core import Segment as Span
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(segments: list[Segment]) -> Annotation:
        out = Annotation()
        for i, s in enumerate(segments):
            out[Span(s.start, s.end), i] = s.speaker
        return out

    ref, hyp = annotation(reference), annotation(hypothesis)
    if duration is None:
        duration = max([s.end for s in reference + hypothesis] or [0.0])
    uem = Timeline([Span(0.0, max(duration, 1e-3))])
    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=False)
    return float(metric(ref, hyp, uem=uem))


def build_conversation(turns: list[tuple[Audio, str]], gap: float = 0.3,
                       overlap: float = 0.0) -> tuple[Audio, list[Segment]]:
    """Concatenate speech turns ``(audio, speaker)`` into one 16 kHz mono clip with known truth.

    Each turn is trimmed to nothing but starts ``gap`` seconds after the previous one ends, or
    ``overlap`` seconds before it ends when ``overlap`` > 0. Returns the mix and the reference turns.
    """
    mono = [(a.mono().resample(RATE).samples[0], spk) for a, spk in turns]
    starts: list[int] = []
    pos = 0
    for wav, _ in mono:
        starts.append(max(0, pos))
        shift = -int(overlap * RATE) if overlap > 0 else int(gap * RATE)
        pos = starts[-1] + wav.size + shift
    out = np.zeros(max(s + w.size for s, (w, _) in zip(starts, mono, strict=True)), np.float32)
    reference = []
    for s, (wav, spk) in zip(starts, mono, strict=True):
        out[s:s + wav.size] += wav
        reference.append(Segment(s / RATE, (s + wav.size) / RATE, spk))
    return Audio(out, RATE), reference


def channel_reference(audio: Audio, threshold_dbfs: float = -50.0, frame_seconds: float = 0.01,
                      gap_seconds: float = 0.25, min_seconds: float = 0.1) -> list[Segment]:
    """Who speaks when in a recording with one speaker per channel: ``ch0``, ``ch1``, ... turns.

    A channel is active in each ``frame_seconds`` frame whose mean power is over ``threshold_dbfs``
    (the J-Moshi channels are clean: silence sits near -72 dBFS, speech above -45); active runs closer
    than ``gap_seconds`` are joined and runs shorter than ``min_seconds`` dropped. Turns of different
    channels may overlap (overlapped speech is scored by ``diarization_error_rate``).
    """
    size = max(1, int(round(frame_seconds * audio.rate)))
    out: list[Segment] = []
    for ch, samples in enumerate(audio.samples):
        frames = samples[: samples.size // size * size].astype(np.float64).reshape(-1, size)
        active = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12) > threshold_dbfs
        runs: list[list[int]] = []
        for a, b in mask_runs(active):
            if runs and (a - runs[-1][1]) * frame_seconds <= gap_seconds:
                runs[-1][1] = b
            else:
                runs.append([a, b])
        out += [Segment(a * size / audio.rate, b * size / audio.rate, f"ch{ch}") for a, b in runs
                if (b - a) * frame_seconds >= min_seconds]
    return sorted(out, key=lambda s: (s.start, s.speaker))
