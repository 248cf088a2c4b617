"""Audio in and out: one ``Audio`` type (float32, channels-first, sample rate) for every stage.

Decoding tries soundfile first (wav, flac, ogg, mp3 through libsndfile) and falls back to ffmpeg for
anything else ffmpeg reads; decoded audio holding NaN or infinite samples is refused (``AudioError``).
Resampling uses librosa (soxr). Loudness is ITU-R BS.1770 integrated loudness measured by pyloudnorm;
six channels are read as 5.1 (L R C LFE Ls Rs, the WAV/FLAC/ffmpeg order): the LFE is left out and the
surrounds weighted +1.5 dB, as BS.1770 says (see ``loudness``); down-mixed (to stereo, or to the one
mono every stage uses, ``Audio.mono``) by ITU-R BS.775, the LFE dropped. Float WAVs are written without the
timestamped PEAK chunk libsndfile adds, so that the same samples always give the same bytes.
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
# 5.1 in WAV/FLAC/ffmpeg channel order: L R C LFE Ls Rs. The BS.1770 channel weights (LFE excluded), and
# the ITU-R BS.775 stereo down-mix (centre and surrounds at -3 dB, LFE dropped) used for 6 -> 2 or 1 channels.
_FIVE_ONE_WEIGHTS = (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
_FIVE_ONE_TO_STEREO = np.array([[1.0, 0.0, 0.7071, 0.0, 0.7071, 0.0],
                                [0.0, 1.0, 0.7071, 0.0, 0.0, 0.7071]], dtype=np.float32)


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
        """One channel: the mean of the channels, after the ITU-R BS.775 down-mix to stereo for 5.1 (centre and
        surrounds at -3 dB, LFE dropped), so that the centre's dialogue is kept and the LFE's rumble left out.
        The project's one mono: ``with_channels(1)`` is this. Mono is itself, stereo ``(L + R) / 2``."""
        samples = _FIVE_ONE_TO_STEREO @ self.samples if self.channels == 6 else self.samples
        return Audio(samples.mean(axis=0, keepdims=True), self.rate)

    def with_channels(self, channels: int) -> Audio:
        """Down-mix to mono (:meth:`mono`) or repeat mono to ``channels``; 5.1 to stereo by the ITU-R BS.775
        down-mix, so that the centre channel's dialogue is kept; other changes take the first channels."""
        if channels == self.channels:
            return self
        if channels == 1:
            return self.mono()
        if self.channels == 6 and channels == 2:
            return Audio(_FIVE_ONE_TO_STEREO @ self.samples, self.rate)
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

    def gained(self, gain_db: float) -> Audio:
        """Scaled by a gain in dB (``10 ** (gain_db / 20)``)."""
        return self.scaled(10.0 ** (gain_db / 20.0))

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


def checked_samples(audio: Audio, name: str) -> Audio:
    """``audio`` when it holds samples and all are finite; else an ``AudioError`` naming ``name``.

    NaN or infinite samples come from damaged files (or broken encoders) and would poison every stage
    after decoding (separation, loudness, diarization), so they are refused where the audio comes in.
    """
    if audio.frames == 0:
        raise AudioError(f"{name}: the audio holds no samples")
    finite = np.isfinite(audio.samples)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=0))
        raise AudioError(f"{name}: the audio holds {int((~finite).sum())} NaN or infinite sample(s), the first at "
                         f"{bad[0] / audio.rate:.3f} s; the file is damaged: re-encode or re-download it")
    return audio


def load_audio(path: str | Path) -> Audio:
    """Decode an audio file (soundfile first, then ffmpeg) as float32 channels-first; refuses NaN/inf."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    try:
        audio = _from_soundfile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        audio = _ffmpeg_decode(["-i", str(path)], str(path))
    return checked_samples(audio, str(path))


def decode_bytes(data: bytes, name: str) -> Audio:
    """Decode audio held in memory (for example a tar member), naming ``name`` in errors; refuses NaN/inf."""
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
    return checked_samples(audio, name)


def without_peak_chunk(wav: bytes) -> bytes:
    """A RIFF/WAVE file's bytes without its ``PEAK`` chunk (the RIFF size fixed); other files unchanged.

    libsndfile adds a PEAK chunk to float WAVs holding each channel's peak and the time of writing,
    which makes the same samples give different bytes from one second to the next.
    """
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return wav
    chunks, pos = [wav[:12]], 12
    while pos + 8 <= len(wav):
        size = int.from_bytes(wav[pos + 4:pos + 8], "little")
        end = min(len(wav), pos + 8 + size + (size & 1))
        if wav[pos:pos + 4] != b"PEAK":
            chunks.append(wav[pos:end])
        pos = end
    body = b"".join(chunks)
    return body[:4] + (len(body) - 8).to_bytes(4, "little") + body[8:]


def write_audio(path: str | Path, audio: Audio, subtype: str | None = None) -> Path:
    """Write wav (32-bit float by default) or flac (24-bit) atomically: a temporary file in the same folder,
    then rename. The bytes depend only on the samples, rate and subtype (no timestamp, no PEAK chunk)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise AudioError(f"{path}: can only write .wav or .flac")
    buffer = io.BytesIO()
    subtype = subtype or ("FLOAT" if fmt == "WAV" else "PCM_24")
    sf.write(buffer, audio.samples.T, audio.rate, format=fmt, subtype=subtype)
    return atomic_write_bytes(path, without_peak_chunk(buffer.getvalue()))


def _weighted_loudness(audio: Audio, weights: tuple[float, ...]) -> float:
    """BS.1770 gated loudness with per-channel ``weights``: pyloudnorm's K-weighting and 400 ms blocks per
    channel (its block loudness of one channel is ``-0.691 + 10 log10 z``), then the standard gating of the
    weighted sum of the channels' block powers (absolute -70 LUFS, then relative -10 LU)."""
    import pyloudnorm

    powers = []
    for samples, weight in zip(audio.samples, weights, strict=True):
        if weight == 0.0:
            continue
        meter = pyloudnorm.Meter(audio.rate)
        meter.integrated_loudness(samples.astype(np.float64))
        powers.append(weight * 10.0 ** ((np.asarray(meter.blockwise_loudness) + 0.691) / 10.0))
    z = np.sum(powers, axis=0)
    with np.errstate(divide="ignore"):
        block = -0.691 + 10.0 * np.log10(z)
    gated = z[block >= SILENCE_LUFS]
    if gated.size == 0:
        return SILENCE_LUFS
    relative = -0.691 + 10.0 * np.log10(gated.mean()) - 10.0
    kept = z[(block > relative) & (block > SILENCE_LUFS)]
    return float(-0.691 + 10.0 * np.log10(kept.mean())) if kept.size else SILENCE_LUFS


def loudness(audio: Audio) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770, pyloudnorm); ``SILENCE_LUFS`` for silence or under 0.4 s.

    Up to five channels go to pyloudnorm as they are (its order: L R C Ls Rs). Six channels are 5.1 in
    WAV order (L R C LFE Ls Rs): the LFE is left out and the surrounds weighted 1.41, BS.1770's weights
    for that layout. Other counts over five have no layout to assume: every channel is weighted 1.0.
    """
    import pyloudnorm

    if audio.duration < _MIN_LOUDNESS_SECONDS or audio.peak() == 0.0:
        return SILENCE_LUFS
    if audio.channels > 5:
        weights = _FIVE_ONE_WEIGHTS if audio.channels == 6 else (1.0,) * audio.channels
        return _weighted_loudness(audio, weights)
    meter = pyloudnorm.Meter(audio.rate)
    value = float(meter.integrated_loudness(audio.samples.T))
    return value if np.isfinite(value) else SILENCE_LUFS


def loudness_gain_db(audio: Audio, target_lufs: float) -> float | None:
    """The gain in dB that brings ``audio`` to ``target_lufs`` by one measurement (``target - loudness``);
    ``None`` for audio with no loudness (silence, or under 0.4 s), which no gain brings anywhere.

    The one "gain to a target" of the project. Scaling moves 400 ms blocks across BS.1770's gates, so the
    scaled audio can measure a few hundredths of an LU (more for audio near a gate) off the target; callers
    that must land closer re-measure and correct (``mushra.loudness``, the remix's limiter loop)."""
    current = loudness(audio)
    return None if current <= SILENCE_LUFS else target_lufs - current


def normalize_loudness(audio: Audio, target_lufs: float) -> Audio:
    """Scale to ``target_lufs`` integrated loudness (:func:`loudness_gain_db`); silence (or too short to
    measure) is returned as is."""
    gain_db = loudness_gain_db(audio, target_lufs)
    return audio if gain_db is None else audio.gained(gain_db)
