"""Remix: backing + placed syntheses + source mix -> the dub (mixed at the clip's mixing ratio, source loudness).

As the paper's baseline: each synthesis starts at its segment's start; the vocal track and the
backing are loudness-normalised to ``RemixConfig.target_lufs`` and mixed as ``r * v_n + (1 - r) *
b_n`` (the parameterisation of ``baseline_dub.stages.remix.mixing_ratio``, so a ratio estimated from the
Japanese mix reproduces its vocal/backing balance); the result is brought to the source mix's
integrated loudness and passed through a look-ahead peak limiter (``limiter_ceiling_db``). The
output has the source clip's rate, channel count and exact length.

A synthesis longer than its slot follows ``RemixConfig.overlong``: ``keep`` (the paper: left as
is, overlapping the next segment, cut only at the clip end), ``cut`` (cut at the slot end with a
short fade-out) or ``fit`` (sped up toward the slot, pitch kept, at most ``max_stretch``; the rest
is kept). With ``fit_duration`` every synthesis is first stretched toward its slot length within
``[min_stretch, max_stretch]``. Each segment's record says what was done. :func:`remix_segments` remixes
a clip's segments and syntheses; the backing and the ratio it is mixed at are chosen by ``inputs.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from baseline_dub.audio import SILENCE_LUFS, Audio, loudness, loudness_gain_db
from baseline_dub.config import RemixConfig
from baseline_dub.errors import DataError
from baseline_dub.stages.remix.limiter import limit
from baseline_dub.stages.remix.mixing_ratio import check_ratio, mix_at_ratio, normalized_stem
from baseline_dub.stages.remix.stretch import stretch_factor, time_stretch
from baseline_dub.stages.types import Segment, Synthesis

# Overruns shorter than one millisecond are rounding, not overruns.
_OVERRUN_TOLERANCE = 1e-3
_LOUDNESS_TOLERANCE_LU = 0.05


@dataclass(frozen=True)
class PlacedSegment:
    """What the remix did with one synthesis (seconds throughout).

    ``synthesis_seconds`` is the synthesis as given; ``placed_seconds`` after any stretch (``stretch``
    is the speed factor, 1.0 = none); ``overrun_seconds`` how far the stretched synthesis runs past its
    slot end as placed (a ``fit`` that reached ``max_stretch`` may leave some); ``cut_seconds`` how much
    was dropped (slot-end cut or clip end); ``rule`` is ``fits`` when the synthesis (after any
    ``fit_duration`` stretch) fitted its slot, else the ``overlong`` rule that was applied.
    """

    index: int
    slot_start: float
    slot_end: float
    placed_start: float
    synthesis_seconds: float
    slot_seconds: float
    placed_seconds: float
    stretch: float
    overrun_seconds: float
    cut_seconds: float
    rule: str


@dataclass(frozen=True)
class RemixResult:
    """The dub and how it was made: ratio used, per-segment records, loudness and limiter figures."""

    audio: Audio
    ratio: float
    segments: tuple[PlacedSegment, ...]
    source_lufs: float
    output_lufs: float
    gain_db: float
    limiter_reduction_db: float


def _fade_out(samples: np.ndarray, frames: int) -> np.ndarray:
    if frames <= 0 or samples.shape[-1] == 0:
        return samples
    n = min(frames, samples.shape[-1])
    out = samples.copy()
    out[..., -n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return out


def _place(track: np.ndarray, index: int, slot: tuple[float, float], speech: Audio, rate: int,
           config: RemixConfig) -> PlacedSegment:
    """Stretch/cut one synthesis by the configured rules and add it into ``track`` (mono, in place)."""
    start, end = float(slot[0]), float(slot[1])
    if not (np.isfinite(start) and np.isfinite(end)) or start < 0.0 or end < start:
        raise DataError(f"segment {index}: slot ({start}, {end}) is not a valid time span; "
                        "slots need 0 <= start <= end in seconds from the clip start")
    mono = speech.mono().resample(rate) if speech.frames else Audio(np.zeros((1, 0), np.float32), rate)
    synth_sec, slot_sec = mono.duration, end - start
    factor = 1.0
    if config.fit_duration:
        factor = stretch_factor(synth_sec, slot_sec, config.min_stretch, config.max_stretch)
    rule = config.overlong if synth_sec / factor - slot_sec > _OVERRUN_TOLERANCE else "fits"
    if rule == "fit":
        factor = stretch_factor(synth_sec, slot_sec, 1.0, config.max_stretch)
    stretched = time_stretch(mono, factor)
    samples = stretched.samples[0]
    overrun = stretched.duration - slot_sec
    overrun = overrun if overrun > _OVERRUN_TOLERANCE else 0.0
    cut = 0.0
    if rule == "cut":
        keep = int(round(slot_sec * rate))
        cut += (samples.size - keep) / rate
        samples = _fade_out(samples[:keep], int(round(config.cut_fade_seconds * rate)))
    a = int(round(start * rate))
    room = max(0, track.size - a)
    if samples.size > room:
        cut += (samples.size - room) / rate
        samples = samples[:room]
    track[a:a + samples.size] += samples
    return PlacedSegment(index, start, end, a / rate, round(synth_sec, 6), round(slot_sec, 6),
                         round(stretched.duration, 6), factor, round(overrun, 6), round(cut, 6), rule)


def _match_loudness(mix: Audio, target_lufs: float, config: RemixConfig) -> tuple[Audio, float, float]:
    """Gain to ``target_lufs`` then limit; re-aim the gain a few times since limiting lowers loudness.

    The first gain is ``loudness_gain_db``'s; what differs here on purpose is the loop: the limiter lowers the
    loudness of a mix whose peaks it reduces, so the gain is corrected by the miss measured after limiting
    (within ``_LOUDNESS_TOLERANCE_LU``). A silent mix is returned as is, with no gain and no reduction."""
    gain_db = loudness_gain_db(mix, target_lufs)
    if gain_db is None:
        return mix, 0.0, 0.0
    out, reduction = mix, 0.0
    for _ in range(5):
        scaled = mix.gained(gain_db)
        out = limit(scaled, config.limiter_ceiling_db, config.limiter_lookahead_seconds,
                    config.limiter_release_seconds)
        reduction = 20.0 * np.log10(max(scaled.peak(), 1e-12) / max(out.peak(), 1e-12))
        miss = target_lufs - loudness(out)
        if abs(miss) <= _LOUDNESS_TOLERANCE_LU:
            break
        gain_db += miss
    return out, float(gain_db), float(reduction)


def remix(backing: Audio, syntheses: list[tuple[float, float, Audio]], source: Audio, ratio: float,
          config: RemixConfig) -> RemixResult:
    """Place each ``(slot start, slot end, speech)`` at its slot start, mix with ``backing`` at ``ratio``,
    and return the dub at ``source``'s rate, channel count, exact length and integrated loudness,
    peak-limited under ``config.limiter_ceiling_db``. No syntheses gives the backing alone, loudness matched.
    """
    r = check_ratio(ratio)
    rate, channels, frames = source.rate, source.channels, source.frames
    track = np.zeros(frames, dtype=np.float32)
    records = tuple(_place(track, i, (s, e), speech, rate, config) for i, (s, e, speech) in enumerate(syntheses))
    vocal_track = Audio(track, rate).with_channels(channels)
    backing_n, backing_on = normalized_stem(backing, source, config.target_lufs)
    vocals_n, vocals_on = normalized_stem(vocal_track, source, config.target_lufs)
    if vocals_on and backing_on:
        mixed = mix_at_ratio(vocals_n, backing_n, r)
    else:
        # One stem is silent: the other alone, whatever the ratio (the loudness match sets its level).
        mixed = vocals_n if vocals_on else backing_n
    source_lufs = loudness(source)
    target = source_lufs if source_lufs > SILENCE_LUFS else config.target_lufs
    out, gain_db, reduction = _match_loudness(mixed, target, config)
    return RemixResult(out, r, records, source_lufs, loudness(out), gain_db, reduction)



def remix_segments(backing: Audio, segments: Sequence[Segment], syntheses: Sequence[Synthesis | None],
                   source: Audio, ratio: float,
                   config: RemixConfig) -> tuple[RemixResult, tuple[PlacedSegment | None, ...]]:
    """:func:`remix` of a clip: each segment's synthesis that has sound placed at the segment's slot. Also returns,
    per segment in order, what was done with its synthesis (``None`` for a segment with no sound to place)."""
    placed = [(seg.start, seg.end, syn.audio) for seg, syn in zip(segments, syntheses, strict=True)
              if syn is not None and syn.audio is not None]
    result = remix(backing, placed, source, ratio, config)
    records = iter(result.segments)
    return result, tuple(next(records) if syn is not None and syn.audio is not None else None for syn in syntheses)
