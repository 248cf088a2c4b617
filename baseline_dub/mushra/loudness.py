"""Loudness alignment of one MUSHRA item: every condition on one BS.1770 level, none above the peak ceiling.

Integrated loudness (BS.1770-4) is not simply shifted by a gain: its absolute gate (-70 LUFS) and
relative gate (-10 LU below the absolute-gated level) decide which 400 ms blocks count, and scaling a
signal moves blocks across those gates. A single "measure, then scale by the difference" pass can then
miss the target by tenths of an LU (a dub with long near-silent stretches came out at -22.78 LUFS for a
-23 target). So :func:`gain_for_loudness` iterates: it re-measures the scaled signal and corrects the
gain until it lands within ``LUFS_TOLERANCE``, keeping a bracket (a gain known to be too quiet, one
too loud) and bisecting inside it when a correction step would leave it, which converges even where
the loudness jumps at a gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from baseline_dub.audio import Audio, loudness, loudness_gain_db

PEAK_CEILING_DBFS = -1.0
LUFS_TOLERANCE = 0.01  # what the iteration aims for; the promise (tests, README) is 0.05 LU
_MAX_STEPS = 40
_CEILING_MARGIN_DB = 0.001


def gain_for_loudness(audio: Audio, target_lufs: float, tolerance: float = LUFS_TOLERANCE) -> float:
    """The linear gain that puts ``audio`` at ``target_lufs`` (within ``tolerance`` LU where one exists).

    Silence (or audio too short to measure) gets 1.0. Where the loudness jumps over the target at a
    gating edge, the gain whose measured loudness is closest to the target is returned. It starts from
    ``audio.loudness_gain_db``'s one-measurement gain; what differs on purpose is the correction loop, since
    the stimuli of one item must share a level within ``tolerance`` (see the module docstring).
    """
    gain_db = loudness_gain_db(audio, target_lufs)
    if gain_db is None:
        return 1.0
    log_gain = gain_db / 20.0  # log10 of the gain
    low, high = -math.inf, math.inf  # log gains known to measure below / above the target
    best = (math.inf, log_gain)
    for _ in range(_MAX_STEPS):
        error = target_lufs - loudness(audio.scaled(10.0 ** log_gain))
        best = min(best, (abs(error), log_gain))
        if abs(error) <= tolerance:
            break
        if error > 0:
            low = max(low, log_gain)
        else:
            high = min(high, log_gain)
        step = log_gain + error / 20.0
        if not low < step < high:  # the correction would leave the bracket: bisect it
            step = (low + high) / 2.0 if math.isfinite(low) and math.isfinite(high) else step
        if high - low < 1e-9:
            break
        log_gain = step
    return 10.0 ** best[1]


def align_loudness(conditions: Mapping[str, Audio], target_lufs: float,
                   ceiling_dbfs: float = PEAK_CEILING_DBFS) -> tuple[dict[str, Audio], float]:
    """Put every condition on one loudness, ``target_lufs`` or lower, with no peak above ``ceiling_dbfs``.

    Each condition gets its own gain (:func:`gain_for_loudness`). If any would then peak above the
    ceiling, the shared level is lowered by the excess and every gain found again, until all peaks fit:
    the item stays loudness-aligned at a lower level. A silent condition stays silent. Returns the
    scaled conditions and the level they share.
    """
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    level = target_lufs
    for _ in range(8):
        gains = {name: gain_for_loudness(audio, level) for name, audio in conditions.items()}
        peak = max(audio.peak() * gains[name] for name, audio in conditions.items())
        if peak <= ceiling:
            break
        level += 20.0 * math.log10(ceiling / peak) - _CEILING_MARGIN_DB
    scaled = {name: audio.scaled(gains[name]) for name, audio in conditions.items()}
    peak = max(a.peak() for a in scaled.values())
    if peak > ceiling:  # not reached in practice; never clip, even at the cost of the alignment
        scaled = {name: audio.scaled(ceiling / peak) for name, audio in scaled.items()}
    return scaled, level
