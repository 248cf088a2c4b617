"""The Anim-400K dataset: annotations + audio source + optional sidecar, behind one ``Dataset`` object.

``Dataset.open(None)`` is the bundled sample (``data/sample/``). ``Dataset.open(folder)`` takes a
folder holding ``anim400k_annotations*.json`` (or ``.json.gz``) and the audio in any layout the download
leaves: ``anim400k_audio_clips.tar.gz.part-*`` inside an ``anim400k_audio_clips/`` folder (as
``huggingface-cli download`` leaves them) or beside it, the joined ``.tar.gz``, or the extracted clips
(the doubled ``anim400k_audio_clips/anim400k_audio_clips/`` layout too); nothing is extracted
(``baseline_dub.data.layout`` says how one is chosen when several are present).
An optional ``anim400k_sidecar.csv``/``.json`` beside the annotations adds per-clip backing track and
mixing ratio. The video clips, when the copy has them, are found the same way under the name
``anim400k_video_clips`` (``video=`` points elsewhere). See ``baseline_dub.data.annotations`` for the
timestamp formats, the older per-show form and the skip/error policy, and ``baseline_dub.data.sources``
for the archive safety rules and the cost of random access on a tarball.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from baseline_dub.audio import Audio, decode_bytes
from baseline_dub.config import SAMPLE_DIR
from baseline_dub.data.annotations import (
    ALL_SPLIT,
    SPLITS,
    Clip,
    SidecarColumns,
    Skipped,
    apply_sidecar,
    load_annotations,
    load_sidecar,
)
from baseline_dub.data.layout import find_source
from baseline_dub.data.sources import MEDIA, AudioSource, NoSource, TarSource
from baseline_dub.errors import AudioError, BaselineDubError, DataError, MissingAudioError, MissingVideoError

ANNOTATIONS_STEM = "anim400k_annotations*"
ANNOTATIONS_GLOB = f"{ANNOTATIONS_STEM}.json"
ANNOTATIONS_SUFFIXES = (".json", ".json.gz")
SIDECAR_NAMES = ("anim400k_sidecar.csv", "anim400k_sidecar.json")
MEDIA_FOLDERS = frozenset(name for name, _ in MEDIA.values())  # anim400k_audio_clips, anim400k_video_clips

__all__ = ["SAMPLE_DIR", "Clip", "Dataset", "Skipped", "SidecarColumns", "SplitSummary"]


@dataclass(frozen=True)
class SplitSummary:
    """Counts for one split, as ``baseline-dub data check`` prints them."""

    split: str
    clips: int
    with_audio: int
    missing: tuple[str, ...]
    multi_speaker: int
    skipped: int
    bad: tuple[str, ...] = ()  # clips whose audio file is empty (0 bytes): a failed download or extraction


def _annotation_files(folder: Path) -> list[Path]:
    return sorted(p for suffix in ANNOTATIONS_SUFFIXES for p in folder.glob(f"{ANNOTATIONS_STEM}{suffix}"))


def _dataset_folder(folder: Path) -> Path:
    """``folder``, or its parent when ``folder`` is the ``anim400k_audio_clips/`` (or video) folder of a download
    with the annotations beside it (``--data`` naming that folder, or a part or tarball in it)."""
    if folder.name in MEDIA_FOLDERS and not _annotation_files(folder) \
            and _annotation_files(folder.parent):
        return folder.parent
    return folder


def _annotations_in(folder: Path) -> Path:
    found = _annotation_files(folder)
    if not found:
        hint = ""
        if folder.name in MEDIA_FOLDERS:
            hint = f" ({folder.name}/ is a media folder: pass the folder holding it and the annotations)"
        raise DataError(f"{folder}: no {ANNOTATIONS_GLOB} (or .json.gz) here{hint}; point --data at the folder "
                        "holding the Anim-400K annotations and the audio, or pass --annotations FILE")
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataError(f"{folder}: several annotation files ({names}); pass the one to read with --annotations "
                        "FILE (annotations= in Python), or keep one")
    return found[0]


class Dataset:
    """Clips by split, their audio (JP and EN) and per-clip extras, read from one Anim-400K copy."""

    def __init__(self, clips: dict[str, list[Clip]], skipped: list[Skipped], source: AudioSource,
                 annotations: Path, video_source: AudioSource | None = None) -> None:
        self._clips = clips
        self.video_source = video_source if video_source is not None else NoSource(annotations.parent, "video")
        self.skipped = skipped
        self.source = source
        self.annotations = annotations
        self._by_id = {c.id: c for split in clips.values() for c in split}

    @classmethod
    def open(cls, data: str | Path | None = None, *, annotations: str | Path | None = None,
             audio: str | Path | None = None, video: str | Path | None = None, sidecar: str | Path | None = None,
             sidecar_columns: SidecarColumns | None = None, splits: Iterable[str] | None = None,
             strict: bool = False) -> Dataset:
        """Open a dataset: ``data`` is a folder (or the annotations JSON, or the audio tarball/part; the
        ``anim400k_audio_clips/`` folder of a download, or a part in it, stands for the folder above it).

        ``None`` (and no ``annotations``) opens the bundled sample. Explicit ``annotations`` (``.json`` or
        ``.json.gz``), ``audio``
        (folder, tarball or one ``.part-*``), ``video`` (the same for the video clips) and ``sidecar`` override
        what is found in the folder.
        ``splits`` limits which splits are turned into clips (the JSON is parsed whole regardless);
        ``strict`` makes malformed entries errors instead of skipped (see ``baseline_dub.data.annotations``).
        """
        folder: Path | None = None
        audio_path = Path(audio) if audio is not None else None
        if data is None and annotations is None:
            folder = SAMPLE_DIR
        elif data is not None:
            path = Path(data).expanduser()
            if path.is_dir():
                folder = _dataset_folder(path)
            elif path.name.lower().endswith(ANNOTATIONS_SUFFIXES) and path.is_file():
                annotations = annotations or path
                folder = path.parent
            elif path.exists() or list(path.parent.glob(f"{path.name}.part-*")):
                audio_path = audio_path or path
                folder = _dataset_folder(path.parent)
            else:
                raise DataError(f"{path}: no such folder or file; --data takes the folder holding "
                                "anim400k_annotations*.json and the audio")
        ann = Path(annotations) if annotations is not None else _annotations_in(folder)  # type: ignore[arg-type]
        folder = folder or ann.parent
        clips, skipped = load_annotations(ann, splits, strict=strict)
        side = Path(sidecar) if sidecar is not None else next(
            (ann.parent / n for n in SIDECAR_NAMES if (ann.parent / n).is_file()), None)
        if side is not None:
            table = load_sidecar(side, sidecar_columns or SidecarColumns())
            clips = {s: apply_sidecar(cs, table) for s, cs in clips.items()}
        return cls(clips, skipped, find_source(audio_path, folder), ann,
                   find_source(Path(video) if video is not None else None, folder, "video"))

    def splits(self) -> list[str]:
        """The split names loaded, in train/val/test order (then any others)."""
        return sorted(self._clips, key=lambda s: (SPLITS.index(s) if s in SPLITS else len(SPLITS), s))

    def clips(self, split: str, multi_speaker: bool | None = None) -> list[Clip]:
        """A split's clips in annotation order; ``multi_speaker`` keeps only multi (True) or single."""
        self.require_split(split)
        clips = self._clips[split]
        if multi_speaker is None:
            return list(clips)
        return [c for c in clips if c.is_multi_speaker == multi_speaker]

    def clip(self, clip_id: str) -> Clip:
        """The clip whose JP id is ``clip_id``."""
        try:
            return self._by_id[clip_id]
        except KeyError:
            raise DataError(f"no clip {clip_id!r} in {self.annotations}") from None

    def skipped_in(self, split: str) -> list[Skipped]:
        """The malformed annotation entries of ``split`` that were left out (``baseline-dub data check`` lists
        them too), each naming its show, episode and clip index and why."""
        return [s for s in self.skipped if s.split == split]

    def has_audio(self, clip_id: str) -> bool:
        """Whether the audio source holds ``clip_id`` (a JP or EN id); builds a tarball's index once."""
        return self.source.has(clip_id)

    def _missing(self, clip_id: str) -> MissingAudioError:
        return MissingAudioError(
            f"no audio in {self.source.describe()}; some Anim-400K clips have none (skip the clip), "
            "otherwise check that --data holds the whole audio download (every .part-* file)", clip=clip_id)

    def _decode(self, data: bytes, name: str, clip_id: str) -> Audio:
        if not data:
            raise AudioError(f"{name}: the audio file is empty (0 bytes), a failed download or extraction; "
                             "download the audio again (or extract it again)", clip=clip_id)
        return decode_bytes(data, name)

    def audio(self, clip_id: str) -> Audio:
        """Decode the audio of a JP or EN clip id; ``MissingAudioError`` when the source lacks it, ``AudioError``
        when its file is empty or undecodable."""
        found = self.source.read(clip_id)
        if found is None:
            raise self._missing(clip_id)
        data, name = found
        return self._decode(data, name, clip_id)

    def any_audio(self, clips: list[Clip], index: bool = False) -> bool | None:
        """Whether any of ``clips`` has audio: False or True when that is cheap to know (no source, a folder, a
        tarball already indexed, or ``index``: index it now, one pass), else None (``stream`` yields an
        archive's missing clips last, so its first item tells: ``missing_come_last``)."""
        if isinstance(self.source, TarSource) and self.source.index is None and not index:
            return None
        return any(self.source.has(c.id) for c in clips)

    @property
    def missing_come_last(self) -> bool:
        """Whether ``stream`` yields every clip with audio before the missing ones (an archive's order)."""
        return isinstance(self.source, TarSource)

    def no_audio_error(self, split: str, count: int) -> DataError:
        """The error for a selection of ``count`` clips of ``split`` none of which has audio: where the audio
        was looked for, what was found there, and what to do."""
        where = self.source.describe()
        if isinstance(self.source, NoSource):
            fix = ("download the audio (huggingface-cli download davidchan/anim400k --repo-type dataset --include "
                   "\"anim400k_audio_clips/*\" --local-dir DIR) and pass DIR, the folder holding the annotations")
        else:
            held = len(self.source.build_index()) if isinstance(self.source, TarSource) else None
            where += f", which holds {held} other clips" if held is not None else ""
            fix = ("are these annotations those of this audio? pass the matching anim400k_annotations*.json "
                   "with --annotations FILE")
        return DataError(f"none of the {count} selected clips of split {split!r} has audio: looked in {where}; "
                         f"{fix}")

    def require_split(self, split: str) -> None:
        """A ``DataError`` unless ``split`` was loaded, listing the splits there are (and, for the older per-show
        form, that its clips are in split ``all``)."""
        if split in self._clips:
            return
        note = (f" (the older annotations form keyed by show, without train/val/test: its clips are read as split "
                f"{ALL_SPLIT!r}, pass --split {ALL_SPLIT})" if ALL_SPLIT in self._clips else "")
        raise DataError(f"no split {split!r} in {self.annotations}; it has {', '.join(self.splits())}{note}")

    @property
    def has_videos(self) -> bool:
        """Whether this copy has a video source (an ``anim400k_video_clips`` folder, tarball or parts)."""
        return not isinstance(self.video_source, NoSource)

    def has_video(self, clip_id: str) -> bool:
        """Whether the video source holds ``clip_id``; builds a tarball's index once."""
        return self.video_source.has(clip_id)

    def video(self, clip_id: str) -> tuple[bytes, str]:
        """The video clip's bytes and a name for messages (its extension last); ``MissingVideoError`` when the
        source lacks it."""
        found = self.video_source.read(clip_id)
        if found is None:
            raise MissingVideoError(
                f"no video in {self.video_source.describe()}; the audio dub is written without one (get the "
                "Anim-400K video clips, anim400k_video_clips.tar.gz and every .part-* file, beside the "
                "annotations, or run without --video)", clip=clip_id)
        return found

    def stream(self, split: str) -> Iterator[tuple[Clip, Audio | BaselineDubError]]:
        """Each clip of ``split`` with its JP audio, or the error that stopped it (missing, undecodable).

        From a tarball: archive order in one pass without extraction, then the clips never found (with
        ``MissingAudioError``) in annotation order. From a folder: annotation order.
        """
        clips = self.clips(split)
        if not isinstance(self.source, TarSource):
            for clip in clips:
                try:
                    yield clip, self.audio(clip.id)
                except BaselineDubError as exc:
                    yield clip, exc
            return
        wanted = {c.id: c for c in clips}
        for key, data in self.source.scan():
            clip = wanted.pop(key, None)
            if clip is None:
                continue
            try:
                yield clip, self._decode(data, f"{self.source.describe()}:{key}", key)
            except BaselineDubError as exc:
                yield clip, exc
        for clip in clips:
            if clip.id in wanted:
                yield clip, self._missing(clip.id)

    def summary(self, split: str) -> SplitSummary:
        """Clip, audio, missing-audio, bad (0-byte) audio, multi-speaker and skipped counts of ``split`` (JP
        audio); builds a tarball's index once."""
        clips = self.clips(split)
        sizes = {c.id: self.source.size(c.id) for c in clips}
        missing = tuple(cid for cid, size in sizes.items() if size is None)
        bad = tuple(cid for cid, size in sizes.items() if size == 0)
        return SplitSummary(split, len(clips), len(clips) - len(missing) - len(bad), missing,
                            sum(c.is_multi_speaker for c in clips), len(self.skipped_in(split)), bad)
