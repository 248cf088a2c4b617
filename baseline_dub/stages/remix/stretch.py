"""Pitch-preserving time stretching of a synthesis toward its slot length.

The stretch *factor* is a speed factor, as in ``librosa.effects.time_stretch``: synthesis seconds
divided by stretched seconds, so ``1.25`` plays 25 % faster (shorter) and ``0.8`` slower (longer).
The factor is clamped to ``[min_stretch, max_stretch]`` of ``RemixConfig``. The stretch itself is
librosa's phase vocoder with a short (about 32 ms) analysis window, which suits speech better than
the 2048-sample default: the pitch stays put and only the timing changes.
"""

from __future__ import annotations

import numpy as np

from baseline_dub.audio import Audio

# Factors this close to 1 are not worth the phase vocoder's colouring.
_NO_STRETCH_TOLERANCE = 0.01


def stretch_factor(synthesis_seconds: float, slot_seconds: float, min_stretch: float, max_stretch: float) -> float:
    """The speed factor that brings ``synthesis_seconds`` to ``slot_seconds``, clamped to the bounds.

    Returns ``1.0`` when either length is zero or the needed factor is within 1 % of 1.
    """
    if synthesis_seconds <= 0.0 or slot_seconds <= 0.0:
        return 1.0
    factor = float(np.clip(synthesis_seconds / slot_seconds, min_stretch, max_stretch))
    return 1.0 if abs(factor - 1.0) < _NO_STRETCH_TOLERANCE else factor


def time_stretch(audio: Audio, factor: float) -> Audio:
    """``audio`` played ``factor`` times faster at the same pitch, exactly ``round(frames / factor)`` long."""
    if factor <= 0.0:
        raise ValueError(f"stretch factor must be positive, got {factor}")
    if factor == 1.0 or audio.frames == 0:
        return audio
    import librosa

    n_fft = int(2 ** np.ceil(np.log2(0.032 * audio.rate)))
    target = max(1, int(round(audio.frames / factor)))
    pad = n_fft  # room so that the vocoder's edges do not eat the signal's ends
    padded = np.pad(audio.samples, ((0, 0), (pad, pad)))
    out = librosa.effects.time_stretch(padded, rate=factor, n_fft=n_fft, hop_length=n_fft // 4)
    lead = int(round(pad / factor))
    out = out[:, lead:lead + target]
    return Audio(out.astype(np.float32), audio.rate).fit_length(target)
