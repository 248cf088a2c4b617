"""Hostile audio at the edges of baseline_dub.audio: NaN/inf samples, 5.1 and other >5-channel layouts,
byte-reproducible float WAVs (no PEAK chunk), and outputs that honour the umask."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from baseline_dub.atomic import atomic_write_text
from baseline_dub.audio import Audio, decode_bytes, load_audio, loudness, write_audio
from baseline_dub.errors import AudioError
from baseline_dub.outputs.record import ClipRecord
from baseline_dub.runner.manifest import ManifestWriter

RATE = 48000


def _speech_like(channels: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Independent band-limited noise per channel with a syllable-rate envelope (gating has work to do)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    env = 0.2 + 0.8 * (np.sin(2 * np.pi * 3.0 * t) > 0)
    return (0.1 * rng.standard_normal((channels, t.size)) * env).astype(np.float32)


def _float_wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples.T, RATE, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused_at_decode(tmp_path: Path, bad: float) -> None:
    samples = _speech_like(2, 1.0)
    samples[1, 24000] = bad
    path = tmp_path / "e6" / "e6000006-clip.wav"
    path.parent.mkdir()
    path.write_bytes(_float_wav(samples))
    with pytest.raises(AudioError, match=r"e6000006-clip\.wav: the audio holds 1 NaN or infinite sample.*0\.500 s"):
        load_audio(path)
    with pytest.raises(AudioError, match=r"archive.tar.gz:e6/e6000006-clip: .*re-download"):
        decode_bytes(path.read_bytes(), "archive.tar.gz:e6/e6000006-clip")


def test_five_one_loudness_is_bs1770_with_the_lfe_left_out() -> None:
    x = _speech_like(6)
    five_one = Audio(x, RATE)
    # pyloudnorm itself refuses six channels; its BS.1770 weights for L R C Ls Rs are the reference
    with pytest.raises(ValueError, match="five channels"):
        pyloudnorm.Meter(RATE).integrated_loudness(x.T)
    reference = pyloudnorm.Meter(RATE).integrated_loudness(x[[0, 1, 2, 4, 5]].T)
    assert abs(loudness(five_one) - reference) < 1e-4
    louder_lfe = x.copy()
    louder_lfe[3] *= 10.0
    assert abs(loudness(Audio(louder_lfe, RATE)) - loudness(five_one)) < 1e-9  # the LFE does not count
    # a surround channel weighs 1.41 (+1.5 dB) against a front one, as BS.1770 has it
    front, surround = np.zeros_like(x), np.zeros_like(x)
    front[0], surround[4] = x[0], x[0]
    gap = loudness(Audio(surround, RATE)) - loudness(Audio(front, RATE))
    assert abs(gap - 10 * np.log10(1.41)) < 1e-6
    eight = Audio(_speech_like(8), RATE)  # no layout to assume: every channel weighs 1.0
    assert -40 < loudness(eight) < -10


def test_five_one_mixes_down_keeping_the_centre() -> None:
    voice = _speech_like(1)[0]
    x = np.zeros((6, voice.size), np.float32)
    x[2] = voice  # dialogue in the centre only, as 5.1 masters carry it
    stereo = Audio(x, RATE).with_channels(2)
    np.testing.assert_allclose(stereo.samples, np.stack([voice, voice]) * 0.7071, atol=1e-6)
    assert Audio(x, RATE).with_channels(1).peak() > 0.5 * float(np.max(np.abs(voice)))


def test_mono_is_one_definition_the_bs775_downmix_for_five_one() -> None:
    x = _speech_like(6)
    five_one = Audio(x, RATE)
    mono = five_one.mono()
    assert mono.samples.tobytes() == five_one.with_channels(1).samples.tobytes()
    expected = (x[0] + x[1] + 0.7071 * (2 * x[2] + x[4] + x[5])) / 2  # L R at 0 dB, C Ls Rs at -3 dB, no LFE
    np.testing.assert_allclose(mono.samples[0], expected, atol=1e-6)
    lfe_only = np.zeros_like(x)
    lfe_only[3] = x[3]
    assert Audio(lfe_only, RATE).mono().peak() == 0.0  # the LFE's rumble is no part of the voice
    centre_only = np.zeros_like(x)
    centre_only[2] = x[2]
    np.testing.assert_allclose(Audio(centre_only, RATE).mono().samples[0], 0.7071 * x[2], atol=1e-6)
    stereo, single = Audio(x[:2], RATE), Audio(x[:1], RATE)  # mono and stereo: the plain mean, as before
    assert stereo.mono().samples.tobytes() == x[:2].astype(np.float32).mean(axis=0).tobytes()
    assert stereo.with_channels(1).samples.tobytes() == stereo.mono().samples.tobytes()
    assert single.mono().samples.tobytes() == single.samples.tobytes()


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_float_wav_bytes_depend_only_on_the_samples(tmp_path: Path, channels: int) -> None:
    audio = Audio(_speech_like(channels, 0.5), RATE)
    first = write_audio(tmp_path / "a.wav", audio).read_bytes()
    time.sleep(1.1)  # libsndfile's PEAK chunk holds the time of writing, in seconds
    second = write_audio(tmp_path / "b.wav", audio).read_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert b"PEAK" not in first
    assert sf.info(str(tmp_path / "a.wav")).subtype == "FLOAT"
    back = load_audio(tmp_path / "a.wav")
    assert back.channels == channels and np.array_equal(back.samples, audio.samples)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664)])
def test_every_output_kind_honours_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        audio = Audio(_speech_like(2, 0.5), RATE)
        written = [write_audio(tmp_path / "dub.wav", audio), write_audio(tmp_path / "seg-00.flac", audio),
                   atomic_write_text(tmp_path / "summary.json", "{}")]
        with ManifestWriter(tmp_path / "manifest.jsonl") as writer:
            writer.write(ClipRecord("a/b"))
        written.append(tmp_path / "manifest.jsonl")
    finally:
        os.umask(old)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {p.name: oct(mode) for p in written}
    assert not list(tmp_path.glob(".*.part"))
