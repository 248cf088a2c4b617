"""Where a dataset folder keeps its audio (and video): every layout a download or an unpacking leaves.

``huggingface-cli download davidchan/anim400k --repo-type dataset --include "anim400k_audio_clips/*"
--local-dir anim400k`` leaves ``anim400k/anim400k_audio_clips/anim400k_audio_clips.tar.gz.part-00`` ...
``part-05``: the parts inside a folder of the archive's name. From there a user may ``cat`` the parts into
``anim400k_audio_clips.tar.gz`` (in that folder or beside it) and may extract it, which gives the doubled
``anim400k_audio_clips/anim400k_audio_clips/<id_folder>/<id>.mp3``. ``find_source`` looks in the dataset
folder and in ``anim400k_audio_clips/`` (unwrapping doubled folders) for:

1. extracted clips (``<id_folder>/<id>.<ext>`` files): read first, in place, the fastest;
2. a tarball ``anim400k_audio_clips.tar.gz`` (``.tgz``, ``.tar``) and part sets
   ``anim400k_audio_clips.tar*.part-*``: the largest is read (a shorter one is an interrupted ``cat`` or
   download); a tarball and parts of the same size hold the same bytes, and the one file is read.

When several are present the chosen source's ``why`` says which one is read and why. When none is,
``NoSource.found`` says what the places looked in hold instead ("a folder with 6 .part-* files and no .mp3").
A part set with a gap is an error naming the missing part (``baseline_dub.data.parts``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from baseline_dub.data.parts import PART_MARK, glob_escape, part_base, part_files, part_suffix
from baseline_dub.data.sources import MEDIA, AudioSource, FolderSource, NoSource, TarSource
from baseline_dub.errors import DataError

TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_INVENTORY_LIMIT = 2000  # directory entries looked at when describing a folder that holds no clips


@dataclass(frozen=True)
class _Archive:
    """A tarball or a part set found, with its size in bytes (all parts together)."""

    paths: tuple[Path, ...]
    size: int

    @property
    def is_parts(self) -> bool:
        return len(self.paths) > 1 or PART_MARK in self.paths[0].name

    def label(self) -> str:
        if len(self.paths) > 1:
            return f"the {len(self.paths)} parts {self.paths[0]}..{part_suffix(self.paths[-1])}"
        return f"the part {self.paths[0]}" if self.is_parts else str(self.paths[0])

    @property
    def verb(self) -> str:
        return "hold" if self.is_parts else "holds"


def folder_root(folder: Path, name: str) -> Path:
    """The folder holding the ``<id_folder>/`` sub-folders, unwrapping a doubled archive folder ``name``."""
    while (folder / name).is_dir():
        folder = folder / name
    return folder


def holds_clips(root: Path, extensions: Sequence[str]) -> bool:
    """Whether ``root`` holds at least one ``<id_folder>/<id>.<ext>`` file (stops at the first found)."""
    try:
        with os.scandir(root) as top:
            for sub in top:
                if not sub.is_dir():
                    continue
                with os.scandir(sub.path) as inner:
                    if any(e.name.lower().endswith(tuple(extensions)) and e.is_file() for e in inner):
                        return True
    except OSError:
        return False
    return False


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def inventory(folder: Path, extensions: Sequence[str]) -> str:
    """What ``folder`` holds, for a message about media not found there ("a folder with 6 .part-* files and no
    .mp3 file in <id_folder>/ sub-folders"); looks at no more than a couple of thousand entries."""
    if not folder.exists():
        return f"{folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    parts = tarballs = media = others = subdirs = 0
    try:
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if n >= _INVENTORY_LIMIT:
                    break
                name = entry.name.lower()
                if entry.is_dir():
                    subdirs += 1
                elif PART_MARK in name:
                    parts += 1
                elif name.endswith(TARBALL_SUFFIXES):
                    tarballs += 1
                elif name.endswith(tuple(extensions)):
                    media += 1
                else:
                    others += 1
    except OSError as exc:
        return f"{folder} cannot be read ({exc})"
    ext = extensions[0]
    held = [_count(n, one, many) for n, one, many in (
        (parts, f"{PART_MARK}* file", f"{PART_MARK}* files"), (tarballs, "tarball", "tarballs"),
        (media, f"{ext} file directly in it", f"{ext} files directly in it"),
        (subdirs, "sub-folder", "sub-folders"), (others, "other file", "other files")) if n]
    what = "an empty folder" if not held else "a folder with " + ", ".join(held)
    return f"{folder}: {what} and no {extensions[0]} file in <id_folder>/ sub-folders"


def _archives(folder: Path, name: str) -> tuple[list[_Archive], list[DataError]]:
    """The tarballs named ``name.tar.gz`` (``.tgz``, ``.tar``) and part sets ``name.tar*.part-*`` in ``folder``,
    and the errors of part sets that lack a part."""
    found = [_Archive((folder / f"{name}{suffix}",), (folder / f"{name}{suffix}").stat().st_size)
             for suffix in TARBALL_SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    broken: list[DataError] = []
    bases = sorted({part_base(p.name) for p in folder.glob(f"{glob_escape(name)}.tar*{PART_MARK}*") if p.is_file()})
    for base in bases:
        try:
            paths = tuple(part_files(folder / base))
        except DataError as exc:
            broken.append(exc)
            continue
        found.append(_Archive(paths, sum(p.stat().st_size for p in paths)))
    return found, broken


def _why_archive(chosen: _Archive, others: list[_Archive]) -> str:
    notes = []
    for other in others:
        if other.size == chosen.size:
            notes.append(f"{other.label()} {other.verb} the same bytes"
                         + (" (the tarball is the parts joined: one file)" if other.is_parts else ""))
        else:
            notes.append(f"{other.label()} {other.verb} only {other.size:,} bytes (an interrupted download or "
                         "`cat`?), not read")
    return f"reading {chosen.label()} ({chosen.size:,} bytes); " + "; ".join(notes) if notes else ""


def _in_folder(places: list[Path], name: str, extensions: Sequence[str]) -> AudioSource | None:
    """The source found in ``places``: extracted clips under the first (doubled folders unwrapped), tarballs
    and part sets in any; None when none. A part set lacking a part is an error unless another source is there
    (then the chosen source's ``why`` names it)."""
    root = folder_root(places[0], name)
    extracted = root if places[0].is_dir() and holds_clips(root, extensions) else None
    archives: list[_Archive] = []
    broken: list[DataError] = []
    for place in places:
        if place.is_dir():
            more, errors = _archives(place, name)
            archives += more
            broken += errors
    archives.sort(key=lambda a: (-a.size, a.is_parts))
    if extracted is None and not archives:
        if broken:
            raise broken[0]
        return None
    skipped = [f"not read: {exc}" for exc in broken]
    if extracted is not None:
        source: AudioSource = FolderSource(extracted, extensions)
        if archives or broken:
            beside = ", ".join(a.label() for a in archives) or "the incomplete parts"
            source.why = "; ".join([f"reading the extracted clips in {extracted}, not {beside} (if the extraction "
                                    "did not finish, move the extracted folder away)", *skipped])
        return source
    source = TarSource(archives[0].paths, extensions)
    source.why = "; ".join(w for w in [_why_archive(archives[0], archives[1:]), *skipped] if w)
    return source


def find_source(media: Path | None, near: Path, kind: str = "audio") -> AudioSource:
    """The ``kind`` (``audio`` or ``video``) source: the one at ``media`` when given (a folder, tarball or part),
    else the one found in ``near`` and in its ``anim400k_audio_clips/`` (``anim400k_video_clips/``) folder.

    Nothing found is a ``NoSource`` that says what those folders hold; an explicit ``media`` that holds
    nothing usable is a ``DataError``.
    """
    name, extensions = MEDIA[kind]
    if media is not None:
        if media.is_dir():
            found = _in_folder([media], name, extensions)
            if found is None:
                raise DataError(f"{kind} {inventory(media, extensions)}, no {name}.tar.gz or {PART_MARK}* files; "
                                f"pass the folder holding the {kind} clips, their tarball or its parts")
            return found
        if PART_MARK in media.name:
            return TarSource(part_files(media), extensions)
        if media.is_file():
            return TarSource([media], extensions)
        if list(media.parent.glob(f"{glob_escape(media.name)}{PART_MARK}*")):
            return TarSource(part_files(media), extensions)
        raise DataError(f"{media}: no such {kind} folder, tarball or {PART_MARK}* files")
    found = _in_folder([near / name, near], name, extensions)
    if found is not None:
        return found
    looked = inventory(near / name, extensions) if (near / name).exists() else (
        f"{near} holds no {name}/ folder, {name}.tar.gz or {name}.tar.gz{PART_MARK}* files")
    return NoSource(near, kind, looked)
