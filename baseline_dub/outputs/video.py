"""Dubbed video through ffmpeg: the source's video stream copied untouched, the dub and the original audio.

``mux_dub`` writes an mp4 holding, in this order: the source clip's video stream (``-c:v copy``: the same
packets), our dub as the first audio track (language ``eng``, the default track), the original Japanese
audio as the second (``jpn``) and the English subtitles as a soft ``mov_text`` track (``eng``). Both audio
tracks are AAC at 192 kb/s, the codec every mp4 player and browser plays; it is lossy, so the first track
decodes to the dub's samples within AAC's error, not bit-exactly (tests/test_video.py measures it). The
length is the video stream's: each audio track is cut or zero-padded to exactly that many samples before
encoding. The file is written to a ``.part`` temporary beside the target (ffmpeg creates it as any program does, so the
umask decides its mode) and renamed when ffmpeg is done.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from baseline_dub.atomic import part_path
from baseline_dub.audio import Audio, write_audio
from baseline_dub.errors import AudioError
from baseline_dub.outputs.subtitles import clip_cues, parse_srt, to_srt

AUDIO_BITRATE = "192k"


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe_video`` found: the video stream's codec, size, frame rate and duration (seconds)."""

    codec: str
    width: int
    height: int
    frame_rate: str
    duration: float


def _ffmpeg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise AudioError(f"{name} is not installed; it is needed for --video (run `make setup`, or apt install ffmpeg)")
    return found


def probe_video(path: str | Path) -> VideoInfo:
    """The first video stream of ``path`` (ffprobe); ``AudioError`` when there is none or it cannot be read."""
    proc = subprocess.run([_ffmpeg_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=codec_name,width,height,avg_frame_rate,duration:format=duration", "-of", "json",
                           str(path)], capture_output=True, text=True, check=False)
    try:
        info = json.loads(proc.stdout or "{}")
        stream = info["streams"][0]
    except (json.JSONDecodeError, KeyError, IndexError):
        raise AudioError(f"{path}: no readable video stream ({proc.stderr.strip()[-200:] or 'ffprobe found none'}); "
                         "pass a complete video file") from None
    duration = float(stream.get("duration") or info.get("format", {}).get("duration") or 0.0)
    if duration <= 0:
        raise AudioError(f"{path}: the video stream has no duration; pass a complete video file")
    return VideoInfo(stream.get("codec_name", "?"), int(stream.get("width", 0)), int(stream.get("height", 0)),
                     stream.get("avg_frame_rate", "0/0"), duration)


def mux_dub(video: str | Path, dub: Audio, original: Audio, subtitles_srt: str | Path | None,
            out: str | Path) -> Path:
    """Write ``out`` (mp4): ``video``'s video stream copied, ``dub`` (eng) then ``original`` (jpn) as AAC audio
    tracks cut or padded to the video's length, and ``subtitles_srt`` as a soft eng subtitle track."""
    video, out = Path(video), Path(out)
    info = probe_video(video)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(out)
    with tempfile.TemporaryDirectory(prefix="baseline-dub-mux-") as work:
        tracks = []
        for name, audio in (("dub", dub), ("original", original)):
            wav = Path(work) / f"{name}.wav"
            write_audio(wav, audio.fit_length(int(round(info.duration * audio.rate))))
            tracks.append(wav)
        inputs = ["-i", str(video), "-i", str(tracks[0]), "-i", str(tracks[1])]
        maps = ["-map", "0:v:0", "-map", "1:a:0", "-map", "2:a:0"]
        subs: list[str] = []
        if subtitles_srt is not None:  # cues past the video's end would make the mp4 longer than its video
            clipped = Path(work) / "dub.en.srt"
            cues = clip_cues(parse_srt(Path(subtitles_srt).read_text(encoding="utf-8")), info.duration)
            clipped.write_text(to_srt(cues), encoding="utf-8")
            inputs += ["-i", str(clipped)]
            maps += ["-map", "3:s:0"]
            subs = ["-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
        cmd = [_ffmpeg_tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-y", *inputs, *maps,
               "-c:v", "copy", "-c:a", "aac", "-b:a", AUDIO_BITRATE, *subs,
               "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=jpn",
               "-disposition:a:0", "default", "-disposition:a:1", "0",
               "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
               "-t", f"{info.duration:.6f}", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise AudioError(f"{video}: ffmpeg could not write the dubbed video ({proc.stderr.strip()[-300:]}); "
                         "check that the video file is complete")
    os.replace(tmp, out)
    return out

