"""Spleeter's 2-stem model in PyTorch: its STFT, its U-Net and its ratio mask, layer for layer.

Everything follows Deezer's ``spleeter/model/__init__.py`` and ``spleeter/model/functions/unet.py``
(2stems.json): 44.1 kHz stereo, a periodic Hann window of 4096 samples with hop 1024 after one frame
of leading zeros (``tf.signal.stft(pad_end=True)``), magnitudes of the first F=1024 bins cut into
segments of T=512 frames, one U-Net per stem (six stride-2 5x5 conv encoders 16..512 with batch norm
and LeakyReLU(0.2); six stride-2 5x5 transposed-conv decoders with ReLU then batch norm, skips from
the encoders' pre-norm convs, dropout off at inference; a 4x4 dilation-2 conv with sigmoid that
multiplies the input), masks ``(s_i^2 + eps/2) / (sum_j s_j^2 + eps)`` extended with zeros to 2049
bins, and the inverse STFT as Spleeter does it (overlap-add of Hann-windowed frames times 2/3).
The layout is channels-first ``(batch, 2, T, F)``; TF's ``padding="same"`` is reproduced exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baseline_dub.models.converters.spleeter import CHANNELS, FILTERS

SAMPLE_RATE = 44100
FRAME_LENGTH = 4096
FRAME_STEP = 1024
N_BINS = FRAME_LENGTH // 2 + 1  # 2049
F_BINS = 1024
T_FRAMES = 512
EPSILON = 1e-10
WINDOW_COMPENSATION = 2.0 / 3.0
SEGMENT_SAMPLES = T_FRAMES * FRAME_STEP  # samples covered by one U-Net segment
BN_EPS = 1e-3  # Keras BatchNormalization default
STEMS = ("vocals", "accompaniment")


class _Encoder(nn.Module):
    """Conv2D(5x5, stride 2, TF "same") -> batch norm (the activation is applied by the U-Net)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=5, stride=2)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TF "same" for an even input, kernel 5, stride 2: 1 before, 2 after, on both axes.
        return self.conv(F.pad(x, (1, 2, 1, 2)))


class _Decoder(nn.Module):
    """Conv2DTranspose(5x5, stride 2, TF "same") -> ReLU -> batch norm."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, kernel_size=5, stride=2)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)[:, :, 1:-2, 1:-2]  # TF "same": output = 2 * input, crop 1 before, 2 after
        return self.bn(F.relu(y))


class SpleeterUNet(nn.Module):
    """One stem's U-Net: magnitude ``(B, 2, T, F)`` in, the stem's magnitude estimate out.

    Parameter names: ``enc{1..6}.conv``, ``enc{1..6}.bn``, ``dec{1..6}.conv``, ``dec{1..6}.bn``, ``out``.
    ``enc6.bn`` exists (Spleeter creates and trains it) but, as in Spleeter, its output is unused.
    """

    def __init__(self) -> None:
        super().__init__()
        chans = (CHANNELS, *FILTERS)
        for i in range(6):
            self.add_module(f"enc{i + 1}", _Encoder(chans[i], chans[i + 1]))
        dec_out = (*FILTERS[4::-1], 1)  # 256, 128, 64, 32, 16, 1
        dec_in = (FILTERS[5], *(2 * c for c in FILTERS[4::-1]))  # 512, 512, 256, 128, 64, 32
        for i in range(6):
            self.add_module(f"dec{i + 1}", _Decoder(dec_in[i], dec_out[i]))
        self.out = nn.Conv2d(1, CHANNELS, kernel_size=4, dilation=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        convs = []
        h = x
        for i in range(1, 7):
            enc = getattr(self, f"enc{i}")
            c = enc(h)
            convs.append(c)
            if i < 6:  # Spleeter computes enc6's norm and activation but never uses them
                h = F.leaky_relu(enc.bn(c), 0.2)
        u = convs[5]
        for i in range(1, 6):
            u = torch.cat([convs[5 - i], getattr(self, f"dec{i}")(u)], dim=1)
        u = self.dec6(u)
        return torch.sigmoid(self.out(u)) * x


def hann_window(device: torch.device | str | None = None) -> torch.Tensor:
    """``tf.signal.hann_window(4096, periodic=True)``."""
    return torch.hann_window(FRAME_LENGTH, periodic=True, dtype=torch.float32, device=device)


def num_frames(n_samples: int) -> int:
    """STFT frames Spleeter computes for ``n_samples`` (one leading zero frame, ``pad_end=True``)."""
    return -(-(n_samples + FRAME_LENGTH) // FRAME_STEP)


def stft(wave: torch.Tensor, lead: int = 0) -> torch.Tensor:
    """Spleeter's STFT of ``(N, C, L)`` float audio: complex ``(N, C, frames, 2049)``.

    ``lead`` (at most 4096) samples at the start are context before the signal proper: they take
    the place of Spleeter's leading zeros, so a chunk of a longer signal gets the same frames as
    the whole signal would.
    """
    if not 0 <= lead <= FRAME_LENGTH:
        raise ValueError(f"lead must be within 0..{FRAME_LENGTH}, got {lead}")
    n_samples = wave.shape[-1] - lead
    frames = num_frames(n_samples)
    total = (frames - 1) * FRAME_STEP + FRAME_LENGTH
    padded = F.pad(wave, (FRAME_LENGTH - lead, total - FRAME_LENGTH - n_samples))
    framed = padded.unfold(-1, FRAME_LENGTH, FRAME_STEP)  # N, C, frames, 4096
    return torch.fft.rfft(framed * hann_window(wave.device), n=FRAME_LENGTH)


def istft(spec: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Spleeter's inverse: windowed overlap-add times 2/3, cropped to the input's ``n_samples``."""
    n, c, frames, _ = spec.shape
    framed = torch.fft.irfft(spec, n=FRAME_LENGTH) * hann_window(spec.device)  # N, C, frames, 4096
    total = (frames - 1) * FRAME_STEP + FRAME_LENGTH
    cols = framed.reshape(n * c, frames, FRAME_LENGTH).transpose(1, 2)  # (N*C, 4096, frames)
    wave = F.fold(cols, output_size=(1, total), kernel_size=(1, FRAME_LENGTH), stride=(1, FRAME_STEP))
    wave = wave.reshape(n, c, total) * WINDOW_COMPENSATION
    return wave[..., FRAME_LENGTH:FRAME_LENGTH + n_samples]


def to_segments(spec: torch.Tensor) -> torch.Tensor:
    """Magnitudes of the first 1024 bins, zero-padded and cut into ``(N*S, 2, 512, 1024)`` segments."""
    n, c, frames, _ = spec.shape
    mag = spec[..., :F_BINS].abs()
    segs = -(-frames // T_FRAMES)
    mag = F.pad(mag, (0, 0, 0, segs * T_FRAMES - frames))
    return mag.reshape(n, c, segs, T_FRAMES, F_BINS).transpose(1, 2).reshape(n * segs, c, T_FRAMES, F_BINS)


def ratio_masks(estimates: list[torch.Tensor]) -> list[torch.Tensor]:
    """Spleeter's masks from the stems' estimates (separation exponent 2, eps split over the stems)."""
    powers = [e**2 for e in estimates]
    total = sum(powers) + EPSILON
    return [(p + EPSILON / len(estimates)) / total for p in powers]


def from_segments(mask: torch.Tensor, n: int, frames: int) -> torch.Tensor:
    """``(N*S, 2, 512, 1024)`` segment masks -> ``(N, 2, frames, 2049)``, zero above bin 1024."""
    ns, c, t, f = mask.shape
    segs = ns // n
    mask = mask.reshape(n, segs, c, t, f).transpose(1, 2).reshape(n, c, segs * t, f)[:, :, :frames]
    return F.pad(mask, (0, N_BINS - F_BINS))
