"""What a split run writes: the output folder's checks, each clip's files and manifest row, stray ``.part`` files.

Outputs mirror the dataset: ``OUT/<split>/<id_folder>/<clip>.wav`` (written atomically), with each
segment's synthesis in ``OUT/<split>/<id_folder>/<clip>/seg-NN.flac``, its subtitles beside it
(``<clip>.en.vtt``, ``<clip>.en.srt``, ``<clip>.ja.vtt``; ``baseline_dub.outputs.subtitles``) and, with ``--video``,
``<clip>.mp4`` (``baseline_dub.outputs.video``). A row's ``status`` is ``done``
(English speech dubbed), ``no_speech`` (nothing to speak: the dub is the backing alone), ``failed`` or
``missing_audio`` (see ``docs/manifest.md``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from baseline_dub.atomic import PART_SUFFIX
from baseline_dub.errors import AudioError, BaselineDubError, ConfigError, MissingAudioError, StageError
from baseline_dub.outputs.record import ClipRecord, Status, SubtitlePaths, VideoOutcome
from baseline_dub.outputs.subtitles import write_subtitles
from baseline_dub.runner.shards import in_shard

if TYPE_CHECKING:
    from baseline_dub.audio import Audio
    from baseline_dub.data.annotations import Clip
    from baseline_dub.outputs.dub import Dub

# ``.<target name>.<random>.part``: the temporary files of ``baseline_dub.atomic`` (and of older mkstemp).
_PART = re.compile(r"^\.(?P<target>.+)\.[0-9A-Za-z_]+" + re.escape(PART_SUFFIX) + "$")
# What a clip writes beside its folder, longest first: ``<clip>`` + one of these.
CLIP_FILE_SUFFIXES = (".en.vtt", ".en.srt", ".ja.vtt", ".wav", ".mp4")
# clip id -> (video bytes, name): ``Dataset.video``
VideoReader = Callable[[str], tuple[bytes, str]]


def output_paths(out: Path, split: str, clip_id: str) -> tuple[Path, Path]:
    """(dub wav, parts folder) for a clip id such as ``db/db019ebb-...``."""
    rel = Path(split) / clip_id
    return out / rel.with_name(rel.name + ".wav"), out / rel


def prepare_out(out: Path, split: str) -> Path:
    """Create ``OUT/<split>`` and check it is a writable folder, before any model loads; returns it.

    ``--out`` naming a file, or a place that cannot be created or written, is a ``ConfigError``.
    """
    split_dir = out / split
    for path in (out, split_dir):
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--out {out}: {path} is a file, not a folder; pass a folder to write the dubs "
                              "into (it is created when missing)")
    try:
        split_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create {split_dir} ({exc.strerror or exc}); pass a folder you "
                          "can write to") from None
    if not os.access(split_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: {split_dir} is not writable by this user; pass a folder you can write to")
    return split_dir


def _is_part(name: str) -> bool:
    return name.startswith(".") and _PART.match(name) is not None


def _target(name: str) -> str:
    match = _PART.match(name)
    assert match is not None
    return match["target"]


def stray_parts(split_dir: Path, shard: tuple[int, int] | None, whole: bool, own_files: set[str]) -> list[Path]:
    """The temporary files under ``split_dir`` that this run owns, so may delete (it holds the lock).

    A run of the whole split owns every one. A shard owns those of its own clips (by the id's hash: the
    ``<clip>.wav`` beside its folder, anything in ``<id_folder>/<clip>/``) and of its own files in the
    split folder (``own_files``: its summary); never another shard's. Only the shard's own clip folders
    are listed, so a shard of N reads about 1/N of the tree."""
    owned: list[Path] = []
    with os.scandir(split_dir) as top:
        for entry in top:
            if entry.is_file() and _is_part(entry.name) and (whole or _target(entry.name) in own_files):
                owned.append(Path(entry.path))
            elif entry.is_dir() and not entry.name.startswith("."):
                owned += _stray_in_id_folder(Path(entry.path), shard, whole)
    return owned


def _stray_in_id_folder(folder: Path, shard: tuple[int, int] | None, whole: bool) -> list[Path]:
    owned: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file() and _is_part(entry.name):
                clip = f"{folder.name}/{clip_name(_target(entry.name))}"
                if whole or in_shard(clip, shard):
                    owned.append(Path(entry.path))
            elif entry.is_dir() and (whole or in_shard(f"{folder.name}/{entry.name}", shard)):
                owned += [p for p in Path(entry.path).rglob(f".*{PART_SUFFIX}") if p.is_file() and _is_part(p.name)]
    return owned


def clip_name(file_name: str) -> str:
    """The clip a file beside the clip folders belongs to: ``<clip>.wav``, ``.mp4``, ``.en.vtt`` ... -> ``<clip>``."""
    for suffix in CLIP_FILE_SUFFIXES:
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _where() -> dict[str, str]:
    """Where a row was made: ``host`` and ``worker`` (process)."""
    return {"host": socket.gethostname(), "worker": f"pid-{os.getpid()}"}


def failure_row(clip: Clip, split: str, error: BaselineDubError, started: str) -> ClipRecord:
    """The record of a clip without a dub: ``missing_audio`` or ``failed``, with the error's reason and message,
    the annotation's texts and speaker count."""
    status = Status.MISSING_AUDIO if isinstance(error, MissingAudioError) else Status.FAILED
    return ClipRecord(clip_id=clip.id, split=split, jp_text=clip.jp_text, en_text=clip.en_text,
                      speakers_expected=clip.speaker_count, status=status, reason=error.reason,
                      error=str(error), started=started, finished=_now(), **_where())


def save_video(dub: Audio, source: Audio, clip_id: str, wav: Path, srt: Path, video: VideoReader,
               out: Path) -> VideoOutcome:
    """Write ``<clip>.mp4`` beside the dub (audio ``dub``) from the clip's source video and decoded ``source``. A
    clip without a video (or whose video cannot be muxed) keeps its audio dub: the outcome's ``path`` is
    ``None`` and its ``reason``/``error`` say why and what to do."""
    from baseline_dub.outputs.video import mux_dub

    try:
        data, _ = video(clip_id)
        with tempfile.NamedTemporaryFile(prefix="baseline-dub-video-", suffix=".mp4") as src:
            src.write(data)
            src.flush()
            mp4 = mux_dub(src.name, dub, source, srt, wav.with_suffix(".mp4"))
    except BaselineDubError as exc:
        return VideoOutcome(None, exc.reason, str(exc))
    return VideoOutcome(str(mp4.relative_to(out)))


def add_video(record: ClipRecord, source: Audio | BaselineDubError, video: VideoReader, out: Path) -> ClipRecord:
    """A finished clip's record with its dubbed video added, muxed from the dub and subtitles already on disk (no
    model runs); ``source`` is the clip's decoded audio, or the error that stopped decoding it."""
    from baseline_dub.audio import load_audio

    if isinstance(source, BaselineDubError):
        outcome = VideoOutcome(None, source.reason, str(source))
    else:
        assert record.output is not None and record.subtitles is not None  # lacks_video / has_subtitles chose it
        wav = out / record.output
        outcome = save_video(load_audio(wav), source, record.clip_id, wav, out / record.subtitles.en_srt, video, out)
    return dataclasses.replace(record, video=outcome)


def save_dub(dub: Dub, clip: Clip, split: str, out: Path, keep: bool, started: str,
             video: VideoReader | None = None) -> ClipRecord:
    """Write a clip's outputs atomically and return its record (``done``, or ``no_speech``): the dub, each
    synthesis, the subtitles and, when ``video`` reads the clip's source video, the dubbed video."""
    from baseline_dub.audio import write_audio

    wav, parts = output_paths(out, split, clip.id)
    t0 = time.perf_counter()
    files = dub.save_parts(parts, stems=keep)
    write_audio(wav, dub.audio)
    record = dub.record(clip, files)
    subs = write_subtitles(wav, record.segments, dub.source.duration, clip.jp_text)
    rel = {k: str(p.relative_to(out)) for k, p in subs.items()}
    outcome = (save_video(dub.audio, dub.source, clip.id, wav, subs["en_srt"], video, out)
               if video is not None else None)
    return dataclasses.replace(
        record, split=split, output=str(wav.relative_to(out)), parts=str(parts.relative_to(out)),
        subtitles=SubtitlePaths(rel["en_vtt"], rel["en_srt"], rel.get("ja_vtt")), video=outcome,
        stage_seconds={**record.stage_seconds, "write": round(time.perf_counter() - t0, 4)},
        started=started, finished=_now(), **_where())


def result_rows(pairs: Sequence[tuple[Clip, Dub | BaselineDubError]], split: str, out: Path, keep: bool,
                started: str, video: VideoReader | None = None) -> list[ClipRecord]:
    """Write each dub's files atomically and return the manifest records (failures recorded with their reason);
    with ``video`` (``Dataset.video``) each dub also gets its dubbed video (``save_dub``)."""
    rows = []
    for clip, result in pairs:
        if isinstance(result, BaselineDubError):
            rows.append(failure_row(clip, split, result, started))
            continue
        try:
            rows.append(save_dub(result, clip, split, out, keep, started, video))
        except BaselineDubError as exc:
            rows.append(failure_row(clip, split, exc, started))
        except OSError as exc:
            err = AudioError(f"cannot write its output ({exc}); check the space and permissions of --out",
                             clip=clip.id)
            rows.append(failure_row(clip, split, err, started))
        except Exception as exc:  # a bug in writing one clip never stops the run: recorded with its reason
            err = StageError(f"writing its output failed: {type(exc).__name__}: {exc}", clip=clip.id)
            rows.append(failure_row(clip, split, err, started))
    return rows
