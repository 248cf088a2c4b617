"""A look-ahead peak limiter: keeps every sample under a ceiling without hard clipping.

The gain each sample needs (``ceiling / |peak across channels|``, at most 1) is turned into a smooth
gain curve in three steps: a forward minimum over the look-ahead window (the gain starts falling
before a peak arrives), a one-pole release (it recovers slowly afterwards, never faster than the
release time constant) and a moving average over the look-ahead window (no instant gain jumps).
The average of values that are each at most the gain a peak needs is itself at most that gain, so
the output never exceeds the ceiling; a signal that stays under the ceiling passes bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.ndimage import minimum_filter1d
from scipy.signal import lfilter

from baseline_dub.audio import Audio

# The gain is aimed a hair under the ceiling so that float rounding can never cross it.
_SAFETY = 1.0 - 1e-5


@numba.njit(cache=False)
def _release(gain: np.ndarray, coeff: float) -> np.ndarray:  # pragma: no cover - compiled
    """``env[n] = min(gain[n], env[n-1] + (1 - coeff) * (gain[n] - env[n-1]))``: falls at once, rises slowly."""
    env = np.empty_like(gain)
    level = 1.0
    for i in range(gain.size):
        g = gain[i]
        level = g if g < level else level + (1.0 - coeff) * (g - level)
        env[i] = level
    return env


def limit(audio: Audio, ceiling_db: float, lookahead_seconds: float = 0.005,
          release_seconds: float = 0.05) -> Audio:
    """Return ``audio`` with its sample peak held under ``ceiling_db`` dBFS by a look-ahead limiter.

    The gain is computed on the peak across channels and applied to all channels alike (the stereo
    image is kept). Samples already under the ceiling everywhere are returned unchanged.
    """
    if audio.frames == 0:
        return audio
    ceiling = 10.0 ** (ceiling_db / 20.0) * _SAFETY
    x = audio.samples.astype(np.float64)
    peak = np.max(np.abs(x), axis=0)
    if float(peak.max()) <= ceiling:
        return audio
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-30))
    look = max(1, int(round(lookahead_seconds * audio.rate)))
    # Forward minimum over [n, n + look - 1].
    held = minimum_filter1d(need, size=look, origin=-(look // 2), mode="nearest")
    coeff = float(np.exp(-1.0 / max(1.0, release_seconds * audio.rate)))
    env = _release(held, coeff)
    # Causal moving average over [n - look + 1, n] (before the start: env[0], the minimum over the first
    # window): each term is <= the gain a peak at n needs.
    smooth = lfilter(np.ones(look) / look, [1.0], np.concatenate([np.full(look - 1, env[0]), env]))[look - 1:]
    out = x * smooth[None, :]
    return Audio(out.astype(np.float32), audio.rate)
