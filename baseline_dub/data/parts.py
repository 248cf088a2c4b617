"""Split archive parts (``anim400k_audio_clips.tar.gz.part-00`` ... ``part-05``): their order, gaps and sizes.

The hub ships each archive as numbered parts (``.part-00``, ``.part-01``, ...; ``split`` makes ``.part-aa``,
``.part-ab``, ... the same way). ``part_files`` returns every part of a set in order and refuses a set with a
gap, naming the missing part ("part-03 is missing: the parts go 00, 01, 02, 04, 05"): nothing after a gap can
be read. A first part that does not begin an archive means the parts before it are missing. A truncated part
cannot be told from its name; ``size_warnings`` names a part smaller than the last full-size one (``split -b``
makes every part but the last the same size) and ``damage_hint`` says which part to re-download when reading
fails.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from pathlib import Path

from baseline_dub.errors import DataError

PART_MARK = ".part-"
# The first bytes of an archive: gzip, bzip2, xz; a plain tar has "ustar" at offset 257.
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def glob_escape(name: str) -> str:
    """``name`` with the glob characters ``*?[`` escaped, to glob for files that start with it."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def part_base(name: str) -> str:
    """The archive name of a part (``x.tar.gz`` for ``x.tar.gz.part-03``), or ``name`` itself."""
    return re.sub(rf"{re.escape(PART_MARK)}[^.]*$", "", name)


def part_suffix(path: Path) -> str:
    """The suffix after ``.part-`` (``"03"``)."""
    return path.name.rsplit(PART_MARK, 1)[1]


def _natural(path: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def _value(suffix: str) -> int | None:
    """The position a suffix stands for: ``"03"`` -> 3, ``"ab"`` -> 1; None for other suffixes."""
    if suffix.isdigit():
        return int(suffix)
    if suffix and all(c in string.ascii_lowercase for c in suffix):
        value = 0
        for c in suffix:
            value = value * 26 + string.ascii_lowercase.index(c)
        return value
    return None


def _suffix(value: int, like: str) -> str:
    """The suffix for position ``value`` written like ``like`` (same digits or letters, same width)."""
    if like.isdigit():
        return str(value).zfill(len(like))
    letters = ""
    for _ in range(len(like)):
        value, rest = divmod(value, 26)
        letters = string.ascii_lowercase[rest] + letters
    return letters


def begins_archive(path: Path) -> bool:
    """Whether ``path`` starts with a gzip, bzip2 or xz header or a tar header (the first part of a set)."""
    with path.open("rb") as fh:
        head = fh.read(262)
    return head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar"


def missing_parts(parts: Sequence[Path]) -> list[str]:
    """The suffixes of the parts missing between the first and the last of a set (empty when the names are
    not numbered alike)."""
    suffixes = [part_suffix(p) for p in parts]
    values = [_value(s) for s in suffixes]
    if not suffixes or None in values or (len({len(s) for s in suffixes}) > 1 and not suffixes[0].isdigit()):
        return []
    numbers = sorted(v for v in values if v is not None)
    return [_suffix(v, suffixes[0]) for v in range(numbers[0], numbers[-1] + 1) if v not in numbers]


def part_files(first: Path) -> list[Path]:
    """All ``<name>.part-*`` files beside ``first`` (a part or the archive's name), in natural order.

    A set with a gap, or whose first part does not begin an archive, is a ``DataError`` naming the missing
    part and the parts present.
    """
    base = part_base(first.name)
    parts = sorted(first.parent.glob(f"{glob_escape(base)}{PART_MARK}*"), key=_natural)
    if not parts:
        raise DataError(f"{first}: no {base}{PART_MARK}* files found")
    have = ", ".join(part_suffix(p) for p in parts)
    gaps = missing_parts(parts)
    if gaps:
        lacking = ", ".join(f"part-{g}" for g in gaps)
        problem = f"{lacking} {'is' if len(gaps) == 1 else 'are'} missing: the parts go {have}"
    elif parts[0].stat().st_size and not begins_archive(parts[0]):
        problem = (f"the first part present, {parts[0].name}, does not begin an archive: the part(s) before it "
                   f"are missing (the parts go {have})")
    else:
        return parts
    raise DataError(f"{first.parent}: {base} {problem}; nothing after a missing part can be read: download it "
                    "again (rerunning `huggingface-cli download` fetches only the files it lacks)")


def size_warnings(parts: Sequence[Path]) -> list[str]:
    """One line per part smaller than the largest part before the last (a part cut short by an interrupted
    download), naming it and what to do; empty for a single file or evenly cut parts."""
    if len(parts) < 2:
        return []
    sizes = [p.stat().st_size for p in parts]
    full = max(sizes[:-1])
    return [f"{p.name} is {size:,} bytes while the parts before the last are up to {full:,}: it looks truncated, "
            "download it again" for p, size in zip(parts[:-1], sizes[:-1], strict=True) if size < full]


def damage_hint(paths: Sequence[Path]) -> str:
    """What to re-download when an archive (one file or its parts) cannot be read to its end."""
    if len(paths) == 1:
        return (f"{paths[0].name} is damaged or incomplete (an interrupted download, or a `cat` of parts that "
                "was stopped or missed a part): download it again, or join every part again")
    warnings = size_warnings(paths)
    if warnings:
        return "; ".join(warnings)
    return (f"the parts go {', '.join(part_suffix(p) for p in paths)}: the last, {paths[-1].name}, may be "
            "incomplete or parts after it missing; download them again")
