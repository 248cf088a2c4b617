"""Speaker embeddings: Resemblyzer's GE2E encoder (3-layer LSTM on 40 mel bands, 256-d), our own code.

The weights are Resemblyzer 0.1.4's ``pretrained.pt`` (a plain state dict, loaded with
``torch.load(weights_only=True)``). Embeddings follow Resemblyzer: 16 kHz mono, volume raised to
-30 dBFS, power mel spectrogram (25 ms window, 10 ms hop), 1.6 s partial windows at 1.3 per second,
partial embeddings averaged and L2-normalised. Used for diarization clustering, the offline
profile's nearest voice, and speaker-similarity metrics.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import nn

from baseline_dub.audio import Audio
from baseline_dub.config import Config
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store

RATE = 16000
_N_MELS = 40
_WIN = 400
_HOP = 160
_PARTIAL_FRAMES = 160
_PARTIALS_PER_SECOND = 1.3
_MIN_COVERAGE = 0.75
_TARGET_DBFS = -30.0


class _GE2E(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(_N_MELS, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-9)


class SpeakerEncoder:
    """Embeds audio into unit-norm 256-d voice vectors; ``similarity`` is their cosine."""

    def __init__(self, weights: Path, device: str = "cpu") -> None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = state.get("model_state", state)
        self.model = _GE2E()
        self.model.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity_")})
        self.model.eval().to(device)
        self.device = device
        import librosa

        self._mel_basis = librosa.filters.mel(sr=RATE, n_fft=_WIN, n_mels=_N_MELS).astype(np.float32)

    def _mel(self, wav: np.ndarray) -> np.ndarray:
        import librosa

        spec = np.abs(librosa.stft(wav, n_fft=_WIN, hop_length=_HOP, win_length=_WIN)) ** 2
        return (self._mel_basis @ spec).T.astype(np.float32)

    @staticmethod
    def _prepare(audio: Audio) -> np.ndarray:
        wav = audio.mono().resample(RATE).samples[0].astype(np.float32)
        rms = float(np.sqrt(np.mean(wav**2))) if wav.size else 0.0
        if rms > 0:
            gain_db = _TARGET_DBFS - 20 * np.log10(rms)
            if gain_db > 0:
                wav = wav * np.float32(10 ** (gain_db / 20))
        return wav

    def _partials(self, n_samples: int) -> list[tuple[int, int]]:
        n_frames = int(np.ceil((n_samples + 1) / _HOP))
        step = max(1, int(round(RATE / _PARTIALS_PER_SECOND / _HOP)))
        starts = list(range(0, max(1, n_frames - _PARTIAL_FRAMES + step + 1), step))
        slices = [(s, s + _PARTIAL_FRAMES) for s in starts]
        last = slices[-1]
        coverage = (n_samples / _HOP - last[0]) / _PARTIAL_FRAMES
        if coverage < _MIN_COVERAGE and len(slices) > 1:
            slices = slices[:-1]
        return slices

    @torch.inference_mode()
    def embed(self, audio: Audio) -> np.ndarray:
        """One unit-norm embedding for the whole signal (zeros for an empty or silent one)."""
        return self.embed_many([audio])[0]

    @torch.inference_mode()
    def embed_many(self, audios: list[Audio]) -> np.ndarray:
        """Embeddings for several signals, all partial windows run through the LSTM in one batch."""
        batches: list[np.ndarray] = []
        owners: list[int] = []
        for i, audio in enumerate(audios):
            wav = self._prepare(audio)
            if wav.size == 0 or not np.any(wav):
                continue
            slices = self._partials(wav.size)
            wav = np.pad(wav, (0, max(0, slices[-1][1] * _HOP - wav.size)))
            mel = self._mel(wav)
            for a, b in slices:
                part = mel[a:b]
                if part.shape[0] < _PARTIAL_FRAMES:
                    part = np.pad(part, ((0, _PARTIAL_FRAMES - part.shape[0]), (0, 0)))
                batches.append(part)
                owners.append(i)
        out = np.zeros((len(audios), 256), dtype=np.float32)
        if not batches:
            return out
        partial = self.model(torch.from_numpy(np.stack(batches)).to(self.device)).cpu().numpy()
        for i in set(owners):
            mean = partial[[j for j, o in enumerate(owners) if o == i]].mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-9)
        return out


@functools.lru_cache(maxsize=4)
def _shared_encoder(weights: Path, device: str) -> SpeakerEncoder:
    """One encoder per ``(weights, device)`` in a process."""
    return SpeakerEncoder(weights, device)


def load_speaker_encoder(config: Config, store: Store) -> SpeakerEncoder:
    """The ``speaker_model`` encoder on ``config.device``: loaded once per process per (weights, device) and
    shared by every stage that embeds voices (the offline diarizer, synthesis, the report's similarity)."""
    return _shared_encoder(store.path(config.speaker_model).resolve(), resolve_device(config.device))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0.0 when either is all zeros)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na > 0 and nb > 0 else 0.0
