"""What MUSHRA tests build from: a tiny Anim-400K folder and fake split runs, made in a temporary folder.

The gold EN audio is real speech (../shared/data/real) over real music, or synthetic noise; the
baseline run has a manifest, the extra system ``other`` has none. Clip B's baseline dub is a
"gating edge" signal (:func:`gating_edge_noise`): a one-pass loudness normalisation of it misses
-23 LUFS by far more than 0.05 LU, which the build must not. Used through the session fixture
``mushra_inputs`` (tests/conftest.py) by ``test_mushra_build.py``, ``test_webmushra_yaml.py`` and
``test_webmushra_client.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from baseline_dub.audio import Audio, load_audio, write_audio

A, B, C, D, E = (f"aa/aa00000{i}-clip" for i in range(1, 6))
BASELINE_MODELS = {"whisper-base": "c809f29c" * 8, "kokoro-82m-int8": "6e742170" * 8}  # what its rows record


@dataclass(frozen=True)
class MushraInputs:
    """The dataset folder, the two run folders, and the two baseline dubs as written."""

    root: Path
    data: Path
    dubs: Path
    other: Path
    dub_a: Audio
    dub_b: Audio


def noise(seconds: float, rate: int, channels: int, seed: int) -> np.ndarray:
    """Gaussian noise at 0.1 RMS with a syllable-rate (3 Hz) envelope, ``(channels, frames)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * np.arange(n) / rate) ** 2
    return (0.1 * rng.standard_normal((channels, n)) * env).astype(np.float32)


def gating_edge_noise(rate: int, channels: int, seed: int = 4) -> np.ndarray:
    """8 s, the same noise in every channel: 2 s at -20 dBFS RMS, 1.5 s at -33, 1.5 s at -70.5, 3 s at -20.

    Cut to its first 5 s (clip B's reference length) and normalised down to -23 LUFS in one pass, the
    -70.5 dB stretch falls below BS.1770's -70 LUFS absolute gate, the relative gate rises, the -33 dB
    stretch stops counting, and the result is about 1.9 LU too loud (-21.1 LUFS).
    """
    rng = np.random.default_rng(seed)
    levels = [(2.0, -20.0), (1.5, -33.0), (1.5, -70.5), (3.0, -20.0)]
    parts = [10 ** (db / 20) * rng.standard_normal(int(s * rate)) for s, db in levels]
    return np.repeat(np.concatenate(parts)[None, :], channels, axis=0).astype(np.float32)  # same in every channel


def _clip(jp: str, en: str) -> dict:
    return {"jp_clip": jp, "en_clip": en, "jp_text": "テスト", "en_text": "test",
            "jp_start_time": "00:00:01.000", "jp_end_time": "00:00:08.000",
            "en_start_time": "00:00:01.000", "en_end_time": "00:00:09.000", "speakers": ["s1"]}


def make_mushra_inputs(root: Path, real_dir: Path) -> MushraInputs:
    """Write the dataset and runs under ``root`` (clips A-E; only A and B can become items)."""
    data = root / "data"
    clips_dir = data / "anim400k_audio_clips"
    en = {c: c.replace("aa/aa", "bb/bb") for c in (A, B, C, D, E)}
    episode = {"clips": [_clip(c, en[c]) for c in (A, B, C, D, E)]}
    show = {"show": "Fixture Show", "season": "1", "episodes": {"1": episode}}
    annotations = {"train": [], "val": [], "test": [show]}
    data.mkdir(parents=True)
    (data / "anim400k_annotations.json").write_text(json.dumps(annotations, ensure_ascii=False))
    # A: 3 s of music, then real speech over the music: 14.25 s of 44.1 kHz stereo (longer than 12 s).
    speech = load_audio(real_dir / "ja_speech" / "test_ja_2.wav")
    music = load_audio(real_dir / "music" / "brahms_hungarian_dance_5.hq.ogg").to(speech.rate, speech.channels)
    lead = int(3.0 * speech.rate)
    mix = music.samples[:, : lead + speech.frames] * 0.25
    mix[:, lead:] += speech.samples
    write_audio(clips_dir / f"{en[A]}.wav", Audio(mix, speech.rate))
    # B: 5 s of modulated noise, 48 kHz mono, as an mp3 (the dataset's own format).
    sf.write(clips_dir / f"{en[B]}.mp3", noise(5.0, 48000, 1, 1).T, 48000, format="MP3")
    for c in (D, E):  # C has no EN audio at all
        write_audio(clips_dir / f"{en[c]}.wav", Audio(noise(4.0, 16000, 1, 2), 16000))
    for c in (A, B, C, D, E):
        write_audio(clips_dir / f"{c}.wav", Audio(noise(4.0, 16000, 1, 3), 16000))
    # Baseline run: A's dub is 3 s of silence then real Japanese speech, 9.8 s at 16 kHz mono (shorter
    # than the reference); B's is 8 s of 24 kHz stereo gating-edge noise (longer). D failed; E has no file.
    dubs = root / "runs" / "baseline"
    voice = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav")
    dub_a = Audio(np.concatenate([np.zeros((1, 3 * voice.rate), np.float32), voice.samples], axis=1), voice.rate)
    dub_b = Audio(gating_edge_noise(24000, 2), 24000)
    write_audio(dubs / "test" / f"{A}.wav", dub_a)
    write_audio(dubs / "test" / f"{B}.wav", dub_b)
    made = {"profile": "offline", "whisper": "base", "models": dict(BASELINE_MODELS)}
    rows = [{"clip_id": A, "status": "done", "output": f"test/{A}.wav", **made},
            {"clip_id": B, "status": "done", "output": f"test/{B}.wav", **made},
            {"clip_id": D, "status": "failed", "reason": "no_speech", "output": None}]
    (dubs / "test" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    other = root / "runs" / "other"
    for c in (A, B):
        lead_in = np.zeros((1, 3 * 22050), np.float32)  # like the baseline: nothing said in the first 3 s
        write_audio(other / "test" / f"{c}.wav", Audio(np.concatenate([lead_in, noise(4.0, 22050, 1, 5)], 1), 22050))
    return MushraInputs(root, data, dubs, other, dub_a, dub_b)
