"""A small Anim-400K dataset folder of hostile clips, in the exact release layout, for the runner's tests.

``build(folder)`` writes ``anim400k_annotations_hostile.json`` (keys ``train``/``val``/``test``, shows ->
``episodes`` -> ``clips``, string timestamps) and ``anim400k_audio_clips.tar.gz`` with members
``anim400k_audio_clips/<id_folder>/<id>.<ext>``, as the release has them. The ``test`` split holds, one of each:

- ``normal``, ``normal2``: two clips of the bundled sample (mp3), unchanged;
- ``silent``: 3 s of digital silence (mp3);
- ``short``: 0.05 s cut from real Japanese speech (mp3);
- ``nospeech_text``: real speech decimated 3x without filtering (a "chipmunk" 3.75 s, mp3) in which the VAD
  finds speech but Whisper's own no-speech rule refuses the text;
- ``six_channel``: 5.1 FLAC (L R C LFE Ls Rs), real Japanese speech in the centre over real music;
- ``nan``: a float WAV whose samples hold NaN and inf;
- ``truncated``: the sample's 4.43 s two-speaker mp3 cut to its first 30 % of bytes (1.33 s of audio);
- ``missing``: annotated, no audio in the archive;
and one malformed entry (a bad timestamp) that the annotations reader skips.
"""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.data.dataset import Dataset
from support.shared import REAL_DIR

REAL = REAL_DIR
RATE = 44100
KINDS = ("normal", "silent", "short", "nospeech_text", "six_channel", "nan", "truncated", "normal2", "missing")
SAMPLE_NORMAL = "10/103ab210-ba6c-48ad-9f68-f5f98fcc1991"
SAMPLE_NORMAL2 = "66/66494503-ebbd-4bfc-bded-37355918b64a"
SAMPLE_LONG = "39/3955089c-ea37-432e-ae07-996f6f9fde32"  # 4.429 s, two speakers


def _sample_script():
    """The sample's generator (scripts/make_sample_dataset.py): its bit-exact mp3 encoder, tarball, timestamps."""
    spec = importlib.util.spec_from_file_location("make_sample_dataset", PROJECT_ROOT / "scripts" /
                                                  "make_sample_dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE_SCRIPT = _sample_script()
encode_mp3, _timestamp, _tarball = SAMPLE_SCRIPT.encode_mp3, SAMPLE_SCRIPT.timestamp, SAMPLE_SCRIPT.tarball


def clip_id(kind: str) -> str:
    """A release-shaped id (``<2 hex>/<uuid>``) for each kind, stable across runs."""
    n = KINDS.index(kind) + 1
    return f"e{n}/e{n}00{n:04x}-0000-4000-8000-{n:012x}"


def _encode(audio: Audio, fmt: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio.samples.T, audio.rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def _entry(kind: str, seconds: float, speakers: list[str], start: float) -> dict:
    cid = clip_id(kind)
    return {"jp_clip": cid, "en_clip": cid.replace("-0000-", "-1111-"), "jp_text": f"({kind})",
            "en_text": f"({kind})", "jp_start_time": _timestamp(start), "jp_end_time": _timestamp(start + seconds),
            "en_start_time": _timestamp(start), "en_end_time": _timestamp(start + seconds), "speakers": speakers}


def _audio() -> dict[str, tuple[bytes, str, float]]:
    """kind -> (file bytes, extension, seconds the annotation gives)."""
    sample = Dataset.open(None)
    speech = load_audio(REAL / "ja_speech" / "test_ja_2.wav").to(RATE, 1)
    music = load_audio(REAL / "music" / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg").to(RATE, 2).slice(10.0, 14.0)
    tarball = (PROJECT_ROOT / "data" / "sample" / "anim400k_audio_clips.tar.gz").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
        mp3 = {m.name.split("/", 1)[1].rsplit(".", 1)[0]: tar.extractfile(m).read()
               for m in tar.getmembers() if m.isfile()}
    out: dict[str, tuple[bytes, str, float]] = {}
    for kind, cid in (("normal", SAMPLE_NORMAL), ("normal2", SAMPLE_NORMAL2)):
        out[kind] = (mp3[cid], "mp3", sample.clip(cid).jp_duration)
    out["silent"] = (encode_mp3(Audio.silence(3.0, RATE, 2)), "mp3", 3.0)
    out["short"] = (encode_mp3(speech.slice(1.0, 1.05).with_channels(2)), "mp3", 0.05)
    chipmunk = Audio(speech.samples[:, ::3][:, : int(3.75 * RATE)].copy(), RATE).with_channels(2)
    out["nospeech_text"] = (encode_mp3(chipmunk), "mp3", 3.75)
    voice = speech.slice(0.0, 4.0).samples[0]
    bed = music.scaled(0.25).samples
    five_one = np.stack([bed[0], bed[1], voice, 0.5 * bed.mean(axis=0), 0.5 * bed[0], 0.5 * bed[1]])
    out["six_channel"] = (_encode(Audio(five_one, RATE), "FLAC", "PCM_24"), "flac", 4.0)
    broken = speech.slice(0.0, 3.0).with_channels(2).samples.copy()
    broken[0, 1000:1010] = np.nan
    broken[1, 5000] = np.inf
    out["nan"] = (_encode(Audio(broken, RATE), "WAV", "FLOAT"), "wav", 3.0)
    whole = mp3[SAMPLE_LONG]
    out["truncated"] = (whole[: int(len(whole) * 0.3)], "mp3", sample.clip(SAMPLE_LONG).jp_duration)
    return out


def build(folder: Path) -> dict[str, str]:
    """Write the hostile dataset into ``folder``; returns ``{kind: clip id}`` (every kind in ``KINDS``)."""
    folder.mkdir(parents=True, exist_ok=True)
    audio = _audio()
    clips, members, start = [], {}, 60.0
    for kind in KINDS:
        data, ext, seconds = audio.get(kind, (b"", "", 3.0))
        two = kind == "truncated"
        clips.append(_entry(kind, seconds, ["SPEAKER_00", "SPEAKER_01"] if two else ["SPEAKER_00"], start))
        if data:
            members[f"anim400k_audio_clips/{clip_id(kind)}.{ext}"] = data
        start += 15.0
    bad = _entry("normal", 3.0, ["SPEAKER_00"], start)
    bad.update(jp_clip="e0/e0000000-0000-4000-8000-000000000000", jp_end_time="not a time")
    clips.insert(3, bad)
    show = {"show": "Hostile Show", "season": "Hostile Show Season 1", "episodes": {"1": {"clips": clips}}}
    annotations = {"train": [], "val": [], "test": [show]}
    (folder / "anim400k_annotations_hostile.json").write_text(json.dumps(annotations, indent=1))
    (folder / "anim400k_audio_clips.tar.gz").write_bytes(_tarball(members))
    return {kind: clip_id(kind) for kind in KINDS}


# Fields that say when, where and how fast a clip ran: the only ones allowed to differ between two runs.
RUN_FIELDS = {"stage_seconds", "started", "finished", "host", "worker"}


def output_hashes(out: Path, split: str = "test") -> dict[str, str]:
    """sha256 of every dub and synthesis a run wrote under ``out/split``, by path relative to ``out``."""
    import hashlib

    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((out / split).rglob("*")) if p.is_file() and p.suffix in (".wav", ".flac")}


def assert_same_runs(one: Path, two: Path, split: str = "test", min_files: int = 7) -> None:
    """Two runs of one split wrote the same manifest rows (but for ``RUN_FIELDS``) and the same bytes
    (at least ``min_files`` dubs and syntheses)."""
    from baseline_dub.outputs.record import to_json
    from baseline_dub.runner.manifest import read_manifest

    a, b = ({cid: to_json(r) for cid, r in read_manifest(run / split).items()} for run in (one, two))
    assert set(a) == set(b)
    for cid in a:
        assert {k: v for k, v in a[cid].items() if k not in RUN_FIELDS} == \
               {k: v for k, v in b[cid].items() if k not in RUN_FIELDS}, cid
    hashes = output_hashes(one, split)
    assert len(hashes) >= min_files and hashes == output_hashes(two, split)  # every dub and synthesis, byte for byte

