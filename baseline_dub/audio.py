"""Audio in and out: one ``Audio`` type (float32, channels-first, sample rate) for every stage.

Decoding tries soundfile first (wav, flac, ogg, mp3 through libsndfile) and falls back to ffmpeg for
anything else ffmpeg reads. Resampling uses librosa (soxr). Loudness is ITU-R BS.1770 integrated
loudness measured by pyloudnorm.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.errors import AudioError

# pyloudnorm needs at least one 400 ms gating block; shorter or silent signals have no loudness.
_MIN_LOUDNESS_SECONDS = 0.4
SILENCE_LUFS = -70.0


@dataclass(frozen=True, eq=False)
class Audio:
    """Samples as float32 ``(channels, frames)`` at ``rate`` Hz."""

    samples: np.ndarray
    rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[None, :]
        if samples.ndim != 2:
            raise AudioError(f"audio must be 1-D or (channels, frames), got shape {samples.shape}")
        if self.rate <= 0:
            raise AudioError(f"sample rate must be positive, got {self.rate}")
        object.__setattr__(self, "samples", samples)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    def mono(self) -> Audio:
        """The channel mean, as a one-channel ``Audio``."""
        return Audio(self.samples.mean(axis=0, keepdims=True), self.rate)

    def with_channels(self, channels: int) -> Audio:
        """Down-mix to mono or repeat mono to ``channels``; other changes take the first channels."""
        if channels == self.channels:
            return self
        if channels == 1:
            return self.mono()
        if self.channels == 1:
            return Audio(np.repeat(self.samples, channels, axis=0), self.rate)
        if self.channels > channels:
            return Audio(self.samples[:channels], self.rate)
        reps = int(np.ceil(channels / self.channels))
        return Audio(np.tile(self.samples, (reps, 1))[:channels], self.rate)

    def resample(self, rate: int) -> Audio:
        """The same sound at ``rate`` Hz (librosa's soxr high-quality resampler)."""
        if rate == self.rate:
            return self
        import librosa

        out = librosa.resample(self.samples, orig_sr=self.rate, target_sr=rate, res_type="soxr_hq", axis=-1)
        return Audio(out.astype(np.float32), rate)

    def to(self, rate: int, channels: int) -> Audio:
        """Resample and change the channel count in one call."""
        return self.resample(rate).with_channels(channels)

    def slice(self, start: float, end: float) -> Audio:
        """Samples between ``start`` and ``end`` seconds (clamped to the signal)."""
        a = max(0, int(round(start * self.rate)))
        b = min(self.frames, int(round(end * self.rate)))
        return Audio(self.samples[:, a:max(a, b)], self.rate)

    def fit_length(self, frames: int) -> Audio:
        """Cut or zero-pad at the end to exactly ``frames`` samples."""
        if frames == self.frames:
            return self
        if frames < self.frames:
            return Audio(self.samples[:, :frames], self.rate)
        pad = np.zeros((self.channels, frames - self.frames), dtype=np.float32)
        return Audio(np.concatenate([self.samples, pad], axis=1), self.rate)

    def scaled(self, gain: float) -> Audio:
        return Audio(self.samples * np.float32(gain), self.rate)

    def peak(self) -> float:
        return float(np.max(np.abs(self.samples))) if self.frames else 0.0

    @classmethod
    def silence(cls, seconds: float, rate: int, channels: int = 1) -> Audio:
        return cls(np.zeros((channels, int(round(seconds * rate))), dtype=np.float32), rate)


def _from_soundfile(source: str | Path | io.BytesIO) -> Audio:
    data, rate = sf.read(source, dtype="float32", always_2d=True)
    return Audio(data.T.copy(), int(rate))


def _ffmpeg_decode(args_in: list[str], name: str) -> Audio:
    """Decode with the ffmpeg command line to 32-bit float WAV on stdout."""
    if shutil.which("ffmpeg") is None:
        raise AudioError(f"{name}: soundfile cannot read it and ffmpeg is not installed; run `make setup`")
    probe = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", *args_in,
         "-f", "wav", "-acodec", "pcm_f32le", "-"],
        capture_output=True, check=False,
    )
    if probe.returncode != 0 or not probe.stdout:
        msg = probe.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"{name}: cannot decode audio ({msg[-1] if msg else 'no output'}); "
                         "check that the file is a complete audio file")
    return _from_soundfile(io.BytesIO(probe.stdout))


def load_audio(path: str | Path) -> Audio:
    """Decode an audio file (soundfile first, then ffmpeg) as float32 channels-first."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    try:
        audio = _from_soundfile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        audio = _ffmpeg_decode(["-i", str(path)], str(path))
    if audio.frames == 0:
        raise AudioError(f"{path}: the file holds no samples")
    return audio


def decode_bytes(data: bytes, name: str) -> Audio:
    """Decode audio held in memory (for example a tar member), naming ``name`` in errors."""
    if not data:
        raise AudioError(f"{name}: the audio is empty (0 bytes)")
    try:
        audio = _from_soundfile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        # ffmpeg reads a file, not a pipe: containers with their index at the end (mp4/m4a) need to seek
        suffix = Path(name).suffix if len(Path(name).suffix) <= 6 else ""
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            tmp.write(data)
            tmp.flush()
            audio = _ffmpeg_decode(["-i", tmp.name], name)
    if audio.frames == 0:
        raise AudioError(f"{name}: the audio holds no samples")
    return audio


def write_audio(path: str | Path, audio: Audio, subtype: str | None = None) -> Path:
    """Write wav or flac atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise AudioError(f"{path}: can only write .wav or .flac")
    buffer = io.BytesIO()
    subtype = subtype or ("FLOAT" if fmt == "WAV" else "PCM_24")
    sf.write(buffer, audio.samples.T, audio.rate, format=fmt, subtype=subtype)
    return atomic_write_bytes(path, buffer.getvalue())


def loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS; ``SILENCE_LUFS`` for silence or signals under 0.4 s."""
    import pyloudnorm

    if audio.duration < _MIN_LOUDNESS_SECONDS or audio.peak() == 0.0:
        return SILENCE_LUFS
    meter = pyloudnorm.Meter(audio.rate)
    value = float(meter.integrated_loudness(audio.samples.T))
    return value if np.isfinite(value) else SILENCE_LUFS


def normalize_loudness(audio: Audio, target_lufs: float) -> Audio:
    """Scale to ``target_lufs`` integrated loudness; silence (or too short to measure) is returned as is."""
    current = loudness(audio)
    if current <= SILENCE_LUFS:
        return audio
    return audio.scaled(10.0 ** ((target_lufs - current) / 20.0))
