"""Real single-speaker lines for measuring what the dub says (``bench/adequacy.py`` and the adequacy tests).

Built once from ``../shared/data/real`` (read in place), as Anim-400K clips are: one speaker's line, music under it.

- ``reference_lines()``: the six ``ja_speech`` files that have an English reference (``references_en.tsv``), each
  padded with 0.5 s of silence and mixed with a backing track 15 LU under the speech (integrated loudness, BS.1770);
  every line under every backing of ``BACKINGS`` (both music files, three offsets each), so a corpus figure is
  the mean of several backings and its spread can be read.
- ``jmoshi_lines()``: the J-Moshi dialogues cut into single-speaker lines: each channel where it is more than
  6 dB over the other (and over -45 dBFS), pieces closer than 0.3 s merged, 1-5 s kept; the speaker's own channel
  alone, padded with 0.5 s of silence, under Brahms 15 LU down. They have no reference text.
- ``non_speech_lines()``: 10 s excerpts of both music files (every 5 s) and of noise, with no voice at all.

Every ``Line`` holds its clean speech (``clean``: the padded line, mono, ``None`` for non-speech) and the mix that
is dubbed (``mix``: stereo, 48 kHz).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import numpy as np

from baseline_dub.audio import Audio, decode_bytes, load_audio, loudness
from support.hostile_split import encode_mp3
from support.shared import REAL_DIR

RATE = 48000
PAD_SECONDS = 0.5
MUSIC_UNDER_LU = 15.0
VIBE = "Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
BRAHMS = "brahms_hungarian_dance_5.hq.ogg"
# (music file, offset seconds): three stretches of each track (Vibe Ace is 61 s, Brahms 46 s; lines are <= 14 s).
BACKINGS = ((VIBE, 3.0), (VIBE, 23.0), (VIBE, 43.0), (BRAHMS, 2.0), (BRAHMS, 16.0), (BRAHMS, 30.0))
# J-Moshi line cutting: 20 ms frames; a channel speaks alone where it is over -45 dBFS and 6 dB over the other.
FRAME_SECONDS = 0.02
MIN_DBFS = -45.0
OVER_OTHER_DB = 6.0
MERGE_GAP_SECONDS = 0.3
LINE_SECONDS = (1.0, 5.0)
NOISE_LUFS = -25.0


@dataclass(frozen=True, eq=False)
class Line:
    """One line to dub: ``name`` (``file@backing``), ``kind`` (``reference``, ``jmoshi``, ``music``, ``noise``),
    the clean padded speech (``None`` for non-speech), the mix, the English reference (``None`` without one) and
    the backing's name."""

    name: str
    kind: str
    clean: Audio | None
    mix: Audio
    reference: str | None
    backing: str


def references() -> dict[str, str]:
    """``file name -> English reference`` of ``ja_speech/references_en.tsv``."""
    with (REAL_DIR / "ja_speech" / "references_en.tsv").open(newline="", encoding="utf-8") as f:
        return {row["file"]: row["english_reference"] for row in csv.DictReader(f, delimiter="\t")}


def backing_name(music: str, offset: float) -> str:
    """A short name of a backing: ``vibe+23`` or ``brahms+16``."""
    return f"{'vibe' if music == VIBE else 'brahms'}+{offset:g}"


@cache
def _music(name: str) -> Audio:
    return load_audio(REAL_DIR / "music" / name).to(RATE, 2)


def _padded(mono: np.ndarray) -> Audio:
    pad = np.zeros(int(PAD_SECONDS * RATE), np.float32)
    return Audio(np.concatenate([pad, mono.astype(np.float32), pad]), RATE)


def mix_under(speech: Audio, music: str, offset: float, under_lu: float = MUSIC_UNDER_LU) -> Audio:
    """``speech`` (mono) as stereo with ``music`` from ``offset`` s mixed ``under_lu`` LU under it (integrated
    loudness of each), peak kept under -1 dBFS."""
    stereo = speech.with_channels(2)
    bed = _music(music).slice(offset, offset + speech.duration).fit_length(stereo.frames)
    bed = bed.gained(loudness(stereo) - under_lu - loudness(bed))
    mix = stereo.samples + bed.samples
    return Audio(mix * min(1.0, 0.89 / float(np.abs(mix).max())), RATE)


@cache
def reference_lines(backings: tuple[tuple[str, float], ...] = BACKINGS) -> tuple[Line, ...]:
    """The six reference lines under each of ``backings`` (line-major order)."""
    out = []
    for name, text in sorted(references().items()):
        clean = _padded(load_audio(REAL_DIR / "ja_speech" / name).to(RATE, 1).samples[0])
        for music, offset in backings:
            out.append(Line(f"{name.removesuffix('.wav')}@{backing_name(music, offset)}", "reference", clean,
                            mix_under(clean, music, offset), text, backing_name(music, offset)))
    return tuple(out)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def channel_lines(stereo: Audio) -> list[tuple[int, float, float]]:
    """``(channel, start, end)`` of each single-speaker line of a one-speaker-per-channel recording (the module's
    rule: louder than ``MIN_DBFS`` and ``OVER_OTHER_DB`` over the other channel, gaps under 0.3 s merged,
    ``LINE_SECONDS`` long)."""
    size = int(FRAME_SECONDS * stereo.rate)
    n = stereo.frames // size
    frames = stereo.samples[:, : n * size].astype(np.float64).reshape(2, n, size)
    level = 10 * np.log10(np.mean(frames ** 2, axis=2) + 1e-12)
    out = []
    for ch in (0, 1):
        alone = (level[ch] > MIN_DBFS) & (level[ch] > level[1 - ch] + OVER_OTHER_DB)
        merged: list[list[int]] = []
        for a, b in _runs(alone):
            if merged and (a - merged[-1][1]) * FRAME_SECONDS < MERGE_GAP_SECONDS:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        out += [(ch, a * FRAME_SECONDS, b * FRAME_SECONDS) for a, b in merged
                if LINE_SECONDS[0] <= (b - a) * FRAME_SECONDS <= LINE_SECONDS[1]]
    return sorted(out, key=lambda x: (x[1], x[0]))


@cache
def jmoshi_lines(music: str = BRAHMS, offset: float = 10.0) -> tuple[Line, ...]:
    """Every single-speaker line of the ten J-Moshi dialogues (the speaker's own channel), under ``music``."""
    out = []
    for path in sorted((REAL_DIR / "ja_dialogue").glob("*.wav")):
        stereo = load_audio(path).resample(RATE)
        for ch, start, end in channel_lines(stereo):
            clean = _padded(stereo.samples[ch, int(start * RATE):int(end * RATE)])
            name = f"{path.stem.removesuffix('-cont')}.ch{ch}@{start:.1f}"
            out.append(Line(name, "jmoshi", clean, mix_under(clean, music, offset), None,
                            backing_name(music, offset)))
    return tuple(out)


def _noise(seconds: float, seed: int, colour: str) -> Audio:
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((2, int(seconds * RATE)))
    if colour == "brown":  # integrated white noise, its drift removed (a rumble)
        white = np.cumsum(white, axis=1)
        white -= np.array([np.convolve(c, np.ones(480) / 480, mode="same") for c in white])
    noise = Audio(white.astype(np.float32), RATE)
    return noise.gained(NOISE_LUFS - loudness(noise))


@cache
def non_speech_lines(seconds: float = 10.0, step: float = 5.0) -> tuple[Line, ...]:
    """Excerpts with no voice: ``seconds`` of each music file every ``step`` seconds, Brahms from 12 s (the
    ``music`` clip of ``real_dataset``), and that through an mp3 as ``real_dataset`` writes it (the separated vocals
    then hold a breath of "speech" on which Whisper base says "I'm sorry."), white and brown noise."""
    starts = [(name, float(t)) for name in (VIBE, BRAHMS)
              for t in np.arange(0.0, _music(name).duration - seconds + 1e-9, step)] + [(BRAHMS, 12.0)]
    out = [Line(f"music@{backing_name(music, offset)}", "music", None,
                _music(music).slice(offset, offset + seconds), None, backing_name(music, offset))
           for music, offset in starts]
    released = decode_bytes(encode_mp3(out[-1].mix), "music.mp3")  # through mp3, as real_dataset's clip
    out.append(Line(f"{out[-1].name}.mp3", "music", None, released, None, out[-1].backing))
    out += [Line(f"noise@{colour}", "noise", None, _noise(seconds, i, colour), None, colour)
            for i, colour in enumerate(("white", "brown"))]
    return tuple(out)
