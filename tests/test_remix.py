"""Remix on real speech and music: format, loudness, ratio, overlong rules and the limiter."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio, loudness, normalize_loudness
from baseline_dub.config import RemixConfig, load_config
from baseline_dub.errors import ConfigError, DataError
from baseline_dub.stages.remix import remix
from baseline_dub.stages.remix.mixing_ratio import estimate_mixing_ratio

CEILING_DB = -1.0


@cache
def _material(real_dir: Path, rate: int, channels: int) -> tuple[Audio, Audio, Audio, Audio]:
    """(source mix, its backing, two 'syntheses' at a TTS-like 24 kHz mono) for a 7 s clip."""
    speech = load_audio(real_dir / "ja_speech" / "test_ja_2.wav").slice(0.0, 7.0).to(rate, channels)
    music = load_audio(real_dir / "music" / "brahms_hungarian_dance_5.hq.ogg")
    backing = music.slice(2.0, 9.0).to(rate, channels).fit_length(speech.frames)
    source = Audio(0.7 * speech.samples + 0.3 * backing.samples, rate)
    synth_a = load_audio(real_dir / "ja_speech" / "common_voice_ja_38833628_16k.wav").slice(0.3, 2.8).to(24000, 1)
    synth_b = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav").slice(0.3, 3.3).to(24000, 1)
    return source, backing, synth_a, synth_b


def _placed_track(syntheses: list[tuple[float, float, Audio]], like: Audio) -> Audio:
    """The vocal track as the paper builds it, made independently of the code under test."""
    track = np.zeros(like.frames, dtype=np.float32)
    for start, _end, speech in syntheses:
        s = speech.to(like.rate, 1).samples[0]
        a = int(round(start * like.rate))
        n = min(s.size, like.frames - a)
        track[a:a + n] += s[:n]
    return Audio(track, like.rate).with_channels(like.channels)


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (16000, 1)])
def test_output_has_source_format_loudness_and_the_ratio(real_dir: Path, rate: int, channels: int) -> None:
    source, backing, synth_a, synth_b = _material(real_dir, rate, channels)
    syntheses = [(0.4, 3.2, synth_a), (3.6, 6.8, synth_b)]
    result = remix(backing, syntheses, source, 0.6, RemixConfig())
    out = result.audio
    assert (out.rate, out.channels, out.frames) == (source.rate, source.channels, source.frames)
    assert abs(loudness(out) - loudness(source)) <= 0.5
    assert out.peak() <= 10 ** (CEILING_DB / 20)
    assert all(seg.rule == "fits" and seg.stretch == 1.0 for seg in result.segments)
    # The mix holds the syntheses and the backing at the ratio it was asked for.
    estimate = estimate_mixing_ratio(out, _placed_track(syntheses, source), backing, -23.0)
    assert abs(estimate - 0.6) <= 0.05


def test_loud_source_is_limited_not_clipped(real_dir: Path) -> None:
    source, backing, synth_a, _ = _material(real_dir, 44100, 2)
    loud = normalize_loudness(source, -9.0)
    assert loud.peak() > 1.0  # the plain loudness match would clip
    result = remix(backing, [(1.0, 4.0, synth_a)], loud, 0.5, RemixConfig(limiter_ceiling_db=CEILING_DB))
    assert result.audio.peak() <= 10 ** (CEILING_DB / 20)
    assert result.limiter_reduction_db > 0.5
    assert abs(result.output_lufs - loudness(loud)) <= 0.5


def test_keep_rule_overlaps_and_records_the_overrun(real_dir: Path) -> None:
    source, backing, synth_a, synth_b = _material(real_dir, 16000, 1)
    # synth_a (2.5 s) into a 1.5 s slot, synth_b (3 s) starting 5.5 s into a 7 s clip.
    result = remix(backing, [(1.0, 2.5, synth_a), (5.5, 7.0, synth_b)], source, 1.0, RemixConfig())
    first, last = result.segments
    assert first.rule == "keep" and first.overrun_seconds == pytest.approx(1.0, abs=1e-3)
    assert first.cut_seconds == 0.0 and first.placed_seconds == pytest.approx(2.5, abs=1e-3)
    assert last.overrun_seconds == pytest.approx(1.5, abs=1e-3)
    assert last.cut_seconds == pytest.approx(1.5, abs=1e-3)  # cut at the clip end only
    # Ratio 1: the vocals alone, so speech is heard after the first slot's end.
    tail = result.audio.slice(2.6, 3.4).samples
    assert np.sqrt(np.mean(tail**2)) > 1e-3


def test_cut_rule_silences_after_the_slot_end(real_dir: Path) -> None:
    source, backing, synth_a, _ = _material(real_dir, 16000, 1)
    config = RemixConfig(overlong="cut", cut_fade_seconds=0.02)
    result = remix(backing, [(1.0, 2.5, synth_a)], source, 1.0, config)
    (seg,) = result.segments
    assert seg.rule == "cut" and seg.cut_seconds == pytest.approx(1.0, abs=1e-3)
    assert np.max(np.abs(result.audio.slice(2.5, 7.0).samples)) == 0.0
    assert np.max(np.abs(result.audio.slice(2.0, 2.45).samples)) > 0.0


def test_fit_rule_speeds_up_within_bounds(real_dir: Path) -> None:
    source, backing, synth_a, synth_b = _material(real_dir, 16000, 1)
    config = RemixConfig(overlong="fit", max_stretch=1.5)
    result = remix(backing, [(0.5, 2.5, synth_a), (3.0, 4.0, synth_b), (4.2, 6.9, synth_a)], source, 0.5, config)
    mild, hard, fits = result.segments
    assert mild.stretch == pytest.approx(1.25, abs=1e-3) and mild.overrun_seconds == 0.0
    assert mild.rule == "fit" and mild.cut_seconds == 0.0
    assert mild.placed_seconds == pytest.approx(2.0, abs=2e-3)
    assert hard.stretch == 1.5 and hard.rule == "fit"
    assert hard.overrun_seconds == pytest.approx(3.0 / 1.5 - 1.0, abs=2e-3)
    assert fits.stretch == 1.0 and fits.rule == "fits"  # not overlong: fit never slows down


def test_fit_duration_stretches_toward_the_slot_within_bounds(real_dir: Path) -> None:
    source, backing, synth_a, _ = _material(real_dir, 16000, 1)
    config = RemixConfig(fit_duration=True, min_stretch=0.8, max_stretch=1.5)
    result = remix(backing, [(0.2, 2.2, synth_a), (2.5, 6.9, synth_a)], source, 0.5, config)
    faster, slower = result.segments
    assert faster.stretch == pytest.approx(1.25, abs=1e-3) and faster.rule == "fits"
    assert slower.stretch == 0.8  # 2.5 s toward a 4.4 s slot, bounded at 0.8x speed
    assert slower.placed_seconds == pytest.approx(2.5 / 0.8, abs=2e-3)
    assert result.audio.frames == source.frames


def test_no_syntheses_gives_the_backing_alone(real_dir: Path) -> None:
    source, backing, _, _ = _material(real_dir, 44100, 2)
    empty_speech = Audio(np.zeros((1, 0), dtype=np.float32), 24000)
    (seg,) = remix(backing, [(1.0, 2.0, empty_speech)], source, 0.7, RemixConfig()).segments
    assert seg.synthesis_seconds == 0.0 and seg.rule == "fits"
    result = remix(backing, [], source, 0.7, RemixConfig())
    assert result.segments == ()
    assert result.audio.frames == source.frames and result.audio.channels == 2
    assert abs(loudness(result.audio) - loudness(source)) <= 0.5
    corr = np.corrcoef(result.audio.samples.ravel(), backing.samples.ravel())[0, 1]
    assert corr > 0.999


def test_bad_slots_ratios_and_rules_are_refused(real_dir: Path) -> None:
    source, backing, synth_a, _ = _material(real_dir, 16000, 1)
    with pytest.raises(DataError, match="slot"):
        remix(backing, [(3.0, 2.0, synth_a)], source, 0.5, RemixConfig())
    with pytest.raises(DataError, match="outside"):
        remix(backing, [], source, 1.5, RemixConfig())
    with pytest.raises(ConfigError, match="overlong"):
        RemixConfig(overlong="squash")
    with pytest.raises(ConfigError, match="stretch"):
        RemixConfig(min_stretch=1.2)
    assert load_config("offline").remix.overlong == "keep"
    assert load_config("paper").remix.fit_duration is False
