"""Pitch-preserving time stretch: exact lengths, bounded factors, the pitch of tones and speech kept."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio
from baseline_dub.stages.remix.stretch import stretch_factor, time_stretch


def _fundamental(audio: Audio) -> float:
    x = audio.samples[0] * np.hanning(audio.frames)
    spectrum = np.abs(np.fft.rfft(x, n=4 * audio.frames))
    freqs = np.fft.rfftfreq(4 * audio.frames, 1.0 / audio.rate)
    band = (freqs > 50) & (freqs < 250)
    return float(freqs[band][np.argmax(spectrum[band])])


@pytest.mark.parametrize("factor", [0.8, 1.25, 1.5])
def test_harmonic_tone_keeps_its_fundamental_and_gets_the_exact_length(factor: float) -> None:
    rate = 24000
    t = np.arange(2 * rate) / rate
    tone = Audio(sum(0.2 / k * np.sin(2 * np.pi * 150.0 * k * t) for k in range(1, 6)), rate)
    out = time_stretch(tone, factor)
    assert out.frames == round(tone.frames / factor)
    assert abs(_fundamental(out) - 150.0) < 1.0
    # A plain resample to the same length would move the pitch by the factor.
    naive = Audio(librosa.resample(tone.samples[0], orig_sr=rate, target_sr=int(rate / factor)), rate)
    assert abs(_fundamental(naive) - 150.0 * factor) < 2.0


def test_speech_keeps_its_pitch(real_dir: Path) -> None:
    speech = load_audio(real_dir / "ja_speech" / "common_voice_ja_38853932_16k.wav").slice(0.5, 2.5)

    def median_f0(audio: Audio) -> float:
        f0, voiced, _ = librosa.pyin(audio.samples[0], fmin=60, fmax=400, sr=audio.rate, frame_length=1024)
        return float(np.nanmedian(f0[voiced]))

    before = median_f0(speech)
    after = median_f0(time_stretch(speech, 1.25))
    assert abs(after / before - 1.0) < 0.05
    assert time_stretch(speech, 1.25).frames == round(speech.frames / 1.25)


def test_stretch_factor_is_bounded_and_neutral_when_close() -> None:
    assert stretch_factor(3.0, 2.0, 0.8, 1.5) == 1.5
    assert stretch_factor(4.0, 2.0, 0.8, 1.5) == 1.5
    assert stretch_factor(1.0, 2.0, 0.8, 1.5) == 0.8
    assert stretch_factor(2.5, 2.0, 0.8, 1.5) == pytest.approx(1.25)
    assert stretch_factor(2.005, 2.0, 0.8, 1.5) == 1.0
    assert stretch_factor(0.0, 2.0, 0.8, 1.5) == 1.0 and stretch_factor(2.0, 0.0, 0.8, 1.5) == 1.0
    tone = Audio(np.ones(100, dtype=np.float32), 16000)
    assert time_stretch(tone, 1.0) is tone
    with pytest.raises(ValueError):
        time_stretch(tone, 0.0)
