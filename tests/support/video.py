"""Video test helpers: make a small mp4 with ffmpeg, read its streams with ffprobe, decode a track, compare."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio


def make_mp4(path: Path, seconds: float, audio: Path | None = None, fps: int = 10) -> Path:
    """ffmpeg's test pattern for ``seconds`` (160x90, H.264), with ``audio`` as an AAC track when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc=size=160x90:rate={fps}:duration={seconds}"]
    if audio is not None:
        cmd += ["-i", str(audio), "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-t", str(seconds)]
    subprocess.run([*cmd, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def streams(path: Path) -> tuple[list[dict], float]:
    """``(streams, format duration)`` as ffprobe reports them."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=index,codec_type,codec_name,duration,sample_rate,channels:stream_tags=language:"
                          "format=duration", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    return info["streams"], float(info["format"]["duration"])


def video_hash(path: Path) -> str:
    """md5 of the video stream's packets (``-c copy``): equal when the stream was copied untouched."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "streamhash",
                           "-hash", "md5", "-"], capture_output=True, text=True, check=True).stdout.strip()


def decode_track(path: Path, index: int, channels: int) -> np.ndarray:
    """Audio track ``index`` decoded by ffmpeg as float32 ``(channels, frames)`` at its own rate."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", f"0:a:{index}", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, channels).T


def snr_db(decoded: np.ndarray, reference: Audio) -> float:
    """Signal-to-error ratio (dB) of ``decoded`` against ``reference`` over the reference's length."""
    n = reference.frames
    assert decoded.shape[1] >= n - 1, (decoded.shape, n)
    ref = reference.samples[:, : min(n, decoded.shape[1])]
    err = decoded[:, : ref.shape[1]] - ref
    return float(10 * np.log10(np.sum(ref ** 2) / max(np.sum(err ** 2), 1e-20)))
