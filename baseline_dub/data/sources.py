"""How Anim-400K audio (and video) is read: an extracted folder, a tarball, or its split parts, never extracted.

Archive members map to clip ids by their last two path parts (``<id_folder>/<id>.<ext>``), so
``anim400k_audio_clips/db/db01....mp3``, the doubled ``anim400k_audio_clips/anim400k_audio_clips/...``
and ``./``-prefixed names all work. A member with an absolute path or ``..``, or a link pointing out of
the archive folder, raises ``UnsafeArchiveError``; member bytes are only ever read into memory.

Random access on a tarball (``TarSource.read``) builds, on first use, an in-memory index id ->
(offset, size) in the decompressed stream with one full pass (one decompression of the archive, about
100 bytes per member). Each later read seeks the decompressed stream: forward seeks decompress only the
gap, backward ones restart from the archive's beginning, so reading in archive order (``stream``) is the
cheap way through a whole split; random reads cost up to one decompression of the archive each. A pass
reads the compressed stream to its end, so a truncated or damaged archive is an error naming the part to
download again (``baseline_dub.data.parts``), never a silently shorter list of clips.

The video clips (``anim400k_video_clips/<id_folder>/<id>.mp4``) are laid out and shipped like the audio; the
same sources read them, with the media kind's folder name and extensions (``MEDIA``). Which source a
dataset folder holds is found by ``baseline_dub.data.layout``; each source's ``why`` says why it was chosen
when the folder held several.
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

from baseline_dub.data.parts import damage_hint, size_warnings
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
        self.why = ""

    def describe(self) -> str:
        """The archive's path (its first part and how many more)."""
        return str(self.paths[0]) if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} parts)"

    def warnings(self) -> list[str]:
        """Parts that look truncated by their size (``baseline_dub.data.parts.size_warnings``)."""
        return size_warnings(self.paths)

    def _damaged(self, exc: BaseException, what: str = "the archive is damaged or truncated") -> DataError:
        return DataError(f"{self.describe()}: {what} ({type(exc).__name__}: {exc}); {damage_hint(self.paths)}")

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
                while fh.read(1 << 20):  # to the compressed stream's end: its checksum, and nothing cut short
                    pass
            except _ARCHIVE_ERRORS as exc:
                raise self._damaged(exc) from None
        self.index = index

    def build_index(self) -> dict[str, tuple[int, int]]:
        """The id -> (offset, size) index, built with one pass over the archive on first call."""
        if self.index is None:
            for _ in self.scan(read=False):
                pass
        assert self.index is not None
        return self.index

    def has(self, clip_id: str) -> bool:
        """Whether the archive holds ``clip_id`` (builds the index once)."""
        return clip_id in self.build_index()

    def size(self, clip_id: str) -> int | None:
        """The member's size in bytes, None when the archive lacks it (builds the index once)."""
        where = self.build_index().get(clip_id)
        return where[1] if where is not None else None

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
            raise self._damaged(exc, f"cannot read {clip_id}") from None
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
        self.why = ""

    def describe(self) -> str:
        """The folder's path."""
        return str(self.root)

    def warnings(self) -> list[str]:
        """Nothing to warn about a folder as a whole (a 0-byte file is counted per clip)."""
        return []

    def path(self, clip_id: str) -> Path | None:
        for ext in self.extensions:
            p = self.root / f"{clip_id}{ext}"
            if p.is_file():
                return p
        return None

    def has(self, clip_id: str) -> bool:
        """Whether the folder holds ``<clip_id>.<ext>``."""
        return self.path(clip_id) is not None

    def size(self, clip_id: str) -> int | None:
        """The clip file's size in bytes, None when the folder lacks it."""
        p = self.path(clip_id)
        return p.stat().st_size if p is not None else None

    def read(self, clip_id: str) -> tuple[bytes, str] | None:
        """The clip file's bytes and path, None when the folder lacks it."""
        p = self.path(clip_id)
        return (p.read_bytes(), str(p)) if p is not None else None


class NoSource:
    """No audio (or video) at all next to the annotations: every clip is reported missing. ``found`` says what
    was there instead (``baseline_dub.data.layout.inventory``)."""

    def __init__(self, where: Path, kind: str = "audio", found: str = "") -> None:
        self.where = where
        self.kind = kind
        self.found = found
        self.why = ""

    def describe(self) -> str:
        """Where the media was looked for, and what was found there instead."""
        return f"no {self.kind} found in {self.where}" + (f" ({self.found})" if self.found else "")

    def warnings(self) -> list[str]:
        """Nothing beyond ``describe``."""
        return []

    def has(self, clip_id: str) -> bool:
        return False

    def size(self, clip_id: str) -> int | None:
        return None

    def read(self, clip_id: str) -> tuple[bytes, str] | None:
        return None


AudioSource = TarSource | FolderSource | NoSource
