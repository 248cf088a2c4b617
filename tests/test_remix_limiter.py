"""The look-ahead peak limiter on real music: ceiling held, smooth gain, quiet audio untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio
from baseline_dub.stages.remix.limiter import limit


@pytest.fixture(scope="module")
def music(real_dir: Path) -> Audio:
    return load_audio(real_dir / "music" / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg").slice(10.0, 16.0)


@pytest.mark.parametrize("ceiling_db", [-1.0, -6.0])
def test_peak_stays_under_the_ceiling_with_a_smooth_gain(music: Audio, ceiling_db: float) -> None:
    loud = music.scaled(4.0 / music.peak())  # peaks 12 dB over full scale
    out = limit(loud, ceiling_db, lookahead_seconds=0.005, release_seconds=0.05)
    ceiling = 10 ** (ceiling_db / 20)
    assert out.peak() <= ceiling
    assert out.samples.shape == loud.samples.shape
    # One gain for both channels, changing by at most 1/lookahead per sample: no hard clipping.
    look = int(round(0.005 * loud.rate))
    mask = np.abs(loud.samples[0]) > 1e-3
    gain = out.samples[0][mask] / loud.samples[0][mask]
    np.testing.assert_allclose(out.samples[1][mask], gain * loud.samples[1][mask], rtol=1e-4, atol=1e-6)
    idx = np.flatnonzero(np.abs(loud.samples[0]) > 0.05)
    pairs = idx[:-1][np.diff(idx) == 1]
    ratio = out.samples[0].astype(np.float64) / loud.samples[0]
    steps = np.abs(ratio[pairs + 1] - ratio[pairs])
    assert steps.size > loud.frames // 2 and np.max(steps) <= 1.0 / look + 1e-4
    # A clipper would flatten many samples at the ceiling; the limiter touches it only at the peaks.
    at_ceiling = np.mean(np.abs(out.samples) > 0.999 * ceiling)
    assert at_ceiling < 0.001
    assert np.mean(np.abs(np.clip(loud.samples, -ceiling, ceiling)) > 0.999 * ceiling) > 0.01


def test_gain_falls_before_a_sudden_peak() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    x[8000] = 2.0  # a click
    out = limit(Audio(x, rate), -1.0, lookahead_seconds=0.005, release_seconds=0.05).samples[0]
    look = int(0.005 * rate)
    assert abs(out[8000]) <= 10 ** (-1 / 20)
    before = out[8000 - look // 2] / x[8000 - look // 2]
    assert before < 0.95  # the look-ahead lowered the gain ahead of the click
    # ...and it recovers within a few release time constants.
    late = slice(8000 + 6 * 800, 8000 + 7 * 800)
    np.testing.assert_allclose(out[late], x[late], rtol=0.01, atol=1e-4)
    np.testing.assert_array_equal(out[: 8000 - look], x[: 8000 - look].astype(np.float32))


def test_quiet_audio_passes_unchanged(music: Audio) -> None:
    quiet = music.scaled(0.8 / music.peak())
    out = limit(quiet, -1.0)
    np.testing.assert_array_equal(out.samples, quiet.samples)
    empty = Audio(np.zeros((2, 0), dtype=np.float32), 44100)
    assert limit(empty, -1.0).frames == 0
