"""Where Anim-400K audio (and video) comes from: an extracted folder, a tarball, or its split parts, never extracted.

Archive members map to clip ids by their last two path parts (``<id_folder>/<id>.<ext>``), so
``anim400k_audio_clips/db/db01....mp3``, the doubled ``anim400k_audio_clips/anim400k_audio_clips/...``
and ``./``-prefixed names all work. A member with an absolute path or ``..``, or a link pointing out of
the archive folder, raises ``UnsafeArchiveError``; member bytes are only ever read into memory.

Random access on a tarball (``TarSource.read``) builds, on first use, an in-memory index id ->
(offset, size) in the decompressed stream with one full pass (one decompression of the archive, about
100 bytes per member). Each later read seeks the decompressed stream: forward seeks decompress only the
gap, backward ones restart from the archive's beginning, so reading in archive order (``stream``) is the
cheap way through a whole split; random reads cost up to one decompression of the archive each.

The video clips (``anim400k_video_clips/<id_folder>/<id>.mp4``) are laid out and shipped like the audio; the
same sources read them, with the media kind's folder name and extensions (``MEDIA``).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from baseline_dub.errors import DataError, UnsafeArchiveError

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg", ".m4a", ".opus", ".aac")
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".m4v")
ARCHIVE_FOLDER = "anim400k_audio_clips"
VIDEO_FOLDER = "anim400k_video_clips"
# media kind -> (archive folder name, member extensions)
MEDIA = {"audio": (ARCHIVE_FOLDER, AUDIO_EXTENSIONS), "video": (VIDEO_FOLDER, VIDEO_EXTENSIONS)}
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)


class ConcatReader(io.RawIOBase):
    """Several files read (and seeked) as one byte stream: ``archive.tar.gz.part-aa``, ``-ab``, ..."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self.sizes = [p.stat().st_size for p in self.paths]
        self.total = sum(self.sizes)
        self.pos = 0
        self._index = -1
        self._fh: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.total}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        start = 0
        for i, size in enumerate(self.sizes):
            if self.pos < start + size:
                if i != self._index:
                    self.close_part()
                    self._fh, self._index = self.paths[i].open("rb"), i
                assert self._fh is not None
                self._fh.seek(self.pos - start)
                n = self._fh.readinto(memoryview(buffer)[: start + size - self.pos])
                self.pos += n or 0
                return n or 0
            start += size
        return 0

    def close_part(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh, self._index = None, -1

    def close(self) -> None:
        self.close_part()
        super().close()


def _natural(path: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def part_files(first: Path) -> list[Path]:
    """All ``<name>.part-*`` files beside ``first`` (a part or the base name), in natural order."""
    base = re.sub(r"\.part-[^.]*$", "", first.name)
    parts = sorted(first.parent.glob(f"{glob_escape(base)}.part-*"), key=_natural)
    if not parts:
        raise DataError(f"{first}: no {base}.part-* files found")
    return parts


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _decompressed(raw: io.RawIOBase) -> BinaryIO:
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    magic = buffered.peek(6)[:6]
    if magic[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    if magic[:3] == b"BZh":
        return bz2.BZ2File(buffered)  # type: ignore[return-value]
    if magic[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(buffered)  # type: ignore[return-value]
    return buffered  # type: ignore[return-value]


def member_key(info: tarfile.TarInfo, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> str | None:
    """The clip id an archive member holds (``db/db01...``), None for other files (extensions other than
    ``extensions``); refuses unsafe names."""
    name = info.name
    norm = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or norm == ".." or norm.startswith("../") \
            or ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path or '..'; refusing to read "
                                 "this archive (it is not a genuine Anim-400K tarball)")
    if info.issym() or info.islnk():
        target = info.linkname if info.islnk() else posixpath.join(posixpath.dirname(norm), info.linkname)
        tnorm = posixpath.normpath(target)
        if info.linkname.startswith("/") or tnorm == ".." or tnorm.startswith("../"):
            raise UnsafeArchiveError(f"archive member {name!r} links to {info.linkname!r} outside the archive; "
                                     "refusing to read this archive")
        return None
    if not info.isfile():
        return None
    parts = norm.split("/")
    stem, ext = posixpath.splitext(parts[-1])
    if ext.lower() not in extensions or len(parts) < 2:
        return None
    return f"{parts[-2]}/{stem}"


class TarSource:
    """Audio (or video) inside a tarball (``.tar``, ``.tar.gz``/bz2/xz) or its split parts, read as one stream."""

    def __init__(self, paths: Sequence[Path], extensions: Sequence[str] = AUDIO_EXTENSIONS) -> None:
        self.paths = list(paths)
        self.extensions = tuple(extensions)
        self.index: dict[str, tuple[int, int]] | None = None
        self._reader: BinaryIO | None = None

    def describe(self) -> str:
        return str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} parts)"

    def _open(self) -> BinaryIO:
        return _decompressed(ConcatReader(self.paths))

    def scan(self, read: bool = True) -> Iterator[tuple[str, bytes]]:
        """``(clip_id, bytes)`` for every audio member in archive order, one pass; fills the index.

        With ``read=False`` the bytes are empty (the data is still decompressed, to skip over it).
        """
        index: dict[str, tuple[int, int]] = {}
        with self._open() as fh:
            try:
                tar = tarfile.open(fileobj=fh, mode="r|")
                for info in tar:
                    key = member_key(info, self.extensions)
                    if key is None or key in index:
                        continue
                    index[key] = (info.offset_data, info.size)
                    member = tar.extractfile(info) if read else None
                    yield key, member.read() if member is not None else b""
            except _ARCHIVE_ERRORS as exc:
                raise DataError(f"{self.describe()}: the archive is damaged or truncated ({exc}); "
                                "re-download it (all .part-* files)") from None
        self.index = index

    def build_index(self) -> dict[str, tuple[int, int]]:
        """The id -> (offset, size) index, built with one pass over the archive on first call."""
        if self.index is None:
            for _ in self.scan(read=False):
                pass
        assert self.index is not None
        return self.index

    def has(self, clip_id: str) -> bool:
        return clip_id in self.build_index()

    def read(self, clip_id: str) -> tuple[bytes, str] | None:
        """The member's bytes and name for ``clip_id``, or None when the archive lacks it."""
        where = self.build_index().get(clip_id)
        if where is None:
            return None
        if self._reader is None:
            self._reader = self._open()
        try:
            self._reader.seek(where[0])  # kept open: reading forward decompresses only the gap
            data = self._reader.read(where[1])
        except _ARCHIVE_ERRORS as exc:
            self.close()
            raise DataError(f"{self.describe()}: cannot read {clip_id} ({exc}); re-download the archive") from None
        return data, f"{self.describe()}:{clip_id}"

    def close(self) -> None:
        """Close the handle kept for random access (reopened on the next ``read``)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class FolderSource:
    """Audio (or video) extracted under a folder: ``<root>/<id_folder>/<id>.<ext>``."""

    def __init__(self, root: Path, extensions: Sequence[str] = AUDIO_EXTENSIONS) -> None:
        self.root = root
        self.extensions = tuple(extensions)

    def describe(self) -> str:
        return str(self.root)

    def path(self, clip_id: str) -> Path | None:
        for ext in self.extensions:
            p = self.root / f"{clip_id}{ext}"
            if p.is_file():
                return p
        return None

    def has(self, clip_id: str) -> bool:
        return self.path(clip_id) is not None

    def read(self, clip_id: str) -> tuple[bytes, str] | None:
        p = self.path(clip_id)
        return (p.read_bytes(), str(p)) if p is not None else None


class NoSource:
    """No audio (or video) at all next to the annotations: every clip is reported missing."""

    def __init__(self, where: Path, kind: str = "audio") -> None:
        self.where = where
        self.kind = kind

    def describe(self) -> str:
        return f"no {self.kind} found in {self.where}"

    def has(self, clip_id: str) -> bool:
        return False

    def read(self, clip_id: str) -> tuple[bytes, str] | None:
        return None


AudioSource = TarSource | FolderSource | NoSource


def folder_root(folder: Path, name: str = ARCHIVE_FOLDER) -> Path:
    """The folder holding the ``<id_folder>/`` sub-folders, unwrapping a doubled archive folder ``name``."""
    while (folder / name).is_dir():
        folder = folder / name
    return folder


def find_source(audio: Path | None, near: Path, kind: str = "audio") -> AudioSource:
    """The ``kind`` (``audio`` or ``video``) source for an explicit path, or else the one found in ``near``.

    Looked for in ``near``, in order (for audio; ``anim400k_video_clips`` for video): an extracted
    ``anim400k_audio_clips/`` folder, then ``anim400k_audio_clips.tar.gz`` (or ``.tar``), then
    ``anim400k_audio_clips.tar.gz.part-*``.
    """
    folder, extensions = MEDIA[kind]
    if audio is not None:
        if audio.is_dir():
            return FolderSource(folder_root(audio, folder), extensions)
        if ".part-" in audio.name:
            return TarSource(part_files(audio), extensions)
        if audio.is_file():
            return TarSource([audio], extensions)
        if list(audio.parent.glob(f"{glob_escape(audio.name)}.part-*")):
            return TarSource(part_files(audio), extensions)
        raise DataError(f"{audio}: no such {kind} folder, tarball or .part-* files")
    if (near / folder).is_dir():
        return FolderSource(folder_root(near / folder, folder), extensions)
    for name in (f"{folder}.tar.gz", f"{folder}.tgz", f"{folder}.tar"):
        if (near / name).is_file():
            return TarSource([near / name], extensions)
    if list(near.glob(f"{folder}.tar*.part-*")):
        return TarSource(part_files(next(iter(near.glob(f"{folder}.tar*.part-*")))), extensions)
    return NoSource(near, kind)
