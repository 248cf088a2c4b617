"""A dataset of real speech and music recorded by other people, in the true Anim-400K release layout.

``build(folder)`` writes ``anim400k_annotations_real.json`` (``train``/``val``/``test``, shows -> ``episodes``
-> ``clips``, string timestamps, ``speakers`` as the release lists them) and the audio as 48 kHz stereo mp3
inside ``anim400k_audio_clips.tar.gz`` split into ``.part-00``, ``.part-01``, ... (numeric suffixes, as the
official download names them). Every clip is made from ``../shared/data/real`` only (read in place); the
``test`` split holds, one of each kind (``KINDS``):

- ``single13``: ReazonSpeech's ``test_ja_2`` (one man reading, 11.25 s) with quiet lead and tail: 13.4 s;
- ``single75``: the same speaker's utterances (cut at the pauses in his recording) joined in a seeded
  order with 0.4-1.2 s pauses into about 75 s: a long single-speaker stretch;
- ``conversation``: three different real speakers (Common Voice's woman 38843402 and man 38853932,
  ReazonSpeech's man) taking turns with 0.5 s gaps, twice round: three speakers annotated;
- ``dialogue``: a J-Moshi two-person dialogue (its two channels, one speaker each, mixed): two annotated;
- ``music``: 10 s of Brahms' Hungarian Dance No. 5 (an orchestra, no voice); one speaker annotated, as a
  music-only stretch of an episode may be;
- ``noise``: 6 s of pink-ish noise at a moderate level; one speaker annotated.

``REFERENCE`` says, per kind, how many speakers are really there and whether it holds speech at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, load_audio
from support.hostile_split import _tarball, _timestamp, encode_mp3
from support.shared import REAL_DIR

REAL = REAL_DIR
RATE = 48000
KINDS = ("single13", "single75", "conversation", "dialogue", "music", "noise")
# kind -> (speakers really there, holds speech)
REFERENCE = {"single13": (1, True), "single75": (1, True), "conversation": (3, True), "dialogue": (2, True),
             "music": (0, False), "noise": (0, False)}
ANNOTATED = {"single13": 1, "single75": 1, "conversation": 3, "dialogue": 2, "music": 1, "noise": 1}
PART_BYTES = 400_000
READER = "ja_speech/test_ja_2.wav"
CONVERSATION = ("ja_speech/common_voice_ja_38843402_16k.wav", "ja_speech/common_voice_ja_38853932_16k.wav", READER)
DIALOGUE = "ja_dialogue/jmoshi-62-cont.wav"


def clip_id(kind: str) -> str:
    """A release-shaped id (``<2 hex>/<uuid>``) for each kind, stable across runs."""
    n = KINDS.index(kind) + 1
    return f"r{n}/r{n}00{n:04x}-0000-4000-8000-{n:012x}"


def _mono(name: str) -> np.ndarray:
    return load_audio(REAL / name).to(RATE, 1).samples[0]


def _utterances(wav: np.ndarray, min_pause: float = 0.25) -> list[np.ndarray]:
    """Cut a recording at its pauses (20 ms frames 30 dB under the loudest), dropping the silences."""
    frame = RATE // 50
    rms = np.sqrt(np.mean(wav[: wav.size // frame * frame].reshape(-1, frame) ** 2, axis=1)) + 1e-9
    loud = 20 * np.log10(rms / rms.max()) > -30
    pieces, start, quiet = [], None, 0
    for i, on in enumerate(loud):
        if on:
            start = i if start is None else start
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * frame / RATE >= min_pause:
                pieces.append(wav[start * frame:(i - quiet + 1) * frame])
                start, quiet = None, 0
    if start is not None:
        pieces.append(wav[start * frame:])
    return [p for p in pieces if p.size > RATE // 4]


def _join(pieces: list[np.ndarray], pauses: list[float], lead: float = 0.5, tail: float = 0.5) -> np.ndarray:
    out = [np.zeros(int(lead * RATE), np.float32)]
    for piece, pause in zip(pieces, pauses, strict=True):
        out += [piece.astype(np.float32), np.zeros(int(pause * RATE), np.float32)]
    out.append(np.zeros(int(tail * RATE), np.float32))
    return np.concatenate(out)


def _stereo(mono: np.ndarray, seed: int, floor_db: float = -70.0) -> Audio:
    """Two identical channels with a faint noise floor (as a broadcast has), peak at most -1 dBFS."""
    rng = np.random.default_rng(seed)
    mix = np.stack([mono, mono]) + rng.standard_normal((2, mono.size)).astype(np.float32) * 10 ** (floor_db / 20)
    peak = float(np.abs(mix).max())
    return Audio((mix * min(1.0, 0.89 / peak)).astype(np.float32), RATE)


def _audio() -> dict[str, Audio]:
    reader = _mono(READER)
    lines = _utterances(reader)
    rng = np.random.default_rng(75)
    order: list[np.ndarray] = []
    pauses: list[float] = []
    while sum(p.size for p in order) / RATE + sum(pauses) < 74.0:  # about 75 s with the lead and tail
        for i in rng.permutation(len(lines)):
            order.append(lines[i])
            pauses.append(float(rng.uniform(0.4, 1.2)))
            if sum(p.size for p in order) / RATE + sum(pauses) >= 74.0:
                break
    speakers = [_mono(name) for name in CONVERSATION]
    duo = load_audio(REAL / DIALOGUE).to(RATE, 2).samples
    music = load_audio(REAL / "music" / "brahms_hungarian_dance_5.hq.ogg").to(RATE, 2).slice(12.0, 22.0)
    noise = np.cumsum(np.random.default_rng(6).standard_normal((2, 6 * RATE)), axis=1)
    noise -= np.convolve(noise[0], np.ones(480) / 480, mode="same")[None, :]
    noise = noise / np.abs(noise).max() * 0.1
    return {
        "single13": _stereo(_join([reader], [1.15], lead=1.0, tail=0.0), 13),
        "single75": _stereo(_join(order, pauses), 75),
        "conversation": _stereo(_join(speakers * 2, [0.5] * 6), 3),
        "dialogue": _stereo(duo.mean(axis=0), 2),
        "music": Audio(music.samples.astype(np.float32), RATE),
        "noise": Audio(noise.astype(np.float32), RATE),
    }


def build(folder: Path) -> dict[str, str]:
    """Write the real-audio dataset into ``folder``; returns ``{kind: clip id}`` (every kind in ``KINDS``)."""
    folder.mkdir(parents=True, exist_ok=True)
    clips, members, start = [], {}, 60.0
    for kind, audio in _audio().items():
        cid = clip_id(kind)
        members[f"anim400k_audio_clips/{cid}.mp3"] = encode_mp3(audio)
        speakers = [f"SPEAKER_{i:02d}" for i in range(ANNOTATED[kind])]
        clips.append({"jp_clip": cid, "en_clip": cid.replace("-0000-", "-1111-"), "jp_text": "", "en_text": "",
                      "jp_start_time": _timestamp(start), "jp_end_time": _timestamp(start + audio.duration),
                      "en_start_time": _timestamp(start), "en_end_time": _timestamp(start + audio.duration),
                      "speakers": speakers})
        start += 120.0
    show = {"show": "Real Speech", "season": "Real Speech Season 1", "episodes": {"1": {"clips": clips}}}
    (folder / "anim400k_annotations_real.json").write_text(json.dumps({"train": [], "val": [], "test": [show]}))
    data = _tarball(members)
    for i in range(0, len(data), PART_BYTES):
        (folder / f"anim400k_audio_clips.tar.gz.part-{i // PART_BYTES:02d}").write_bytes(data[i:i + PART_BYTES])
    return {kind: clip_id(kind) for kind in KINDS}
