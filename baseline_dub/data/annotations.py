"""Anim-400K annotations: the omnibus JSON -> ``Clip`` records, timestamps, and the optional sidecar.

The annotations file is one JSON object with keys ``train``/``val``/``test``; each is a list of shows,
a show holds ``episodes`` (a dict keyed by episode number) and each episode a list of ``clips``. It may be
gzip-compressed (``.json.gz``, read as it is). The older documented form, one object keyed by show name
whose values are shows (with ``episodes``) and no train/val/test, is read too: it says nothing of splits,
so its clips are put in one split named ``all`` (``run --split all``), never in train, val or test.

Policy for malformed input: a file that is not JSON, has no split lists, or a split that is not a list
is a ``DataError`` (nothing usable). A malformed show, episode or clip (missing key, wrong type, bad
timestamp, end before start, unsafe or duplicate clip id) is *skipped* and recorded in ``skipped`` with
a reason naming split/show/episode/clip index, because the rest of the file stays usable; pass
``strict=True`` to raise the first such problem as a ``DataError`` instead.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from baseline_dub.errors import DataError

SPLITS = ("train", "val", "test")
# The split the older per-show form (no train/val/test) is read into: not one of SPLITS, which it never says.
ALL_SPLIT = "all"
CLIP_KEYS = ("jp_clip", "en_clip", "jp_text", "en_text", "jp_start_time", "jp_end_time",
             "en_start_time", "en_end_time", "speakers")
# Accepted timestamps: "HH:MM:SS(.fff)", "H:MM:SS,fff" (SRT), "MM:SS(.f)", plain seconds "12.5";
# minutes and seconds below a higher unit must be < 60. JSON numbers are accepted as seconds too.
_TIMESTAMP = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:[.,]\d+)?)$")
_CLIP_ID = re.compile(r"^[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+$")
# Decoded audio may run a few tens of ms past the annotation's times (mp3 encoder padding); a difference
# beyond this is a truncated file, or audio that is not the annotated stretch.
DURATION_TOLERANCE_SECONDS = 0.5


@dataclass(frozen=True)
class DurationCheck:
    """The decoded audio's length against the annotation's (``Clip.duration_check``), in seconds:
    ``annotation_duration``, ``mismatch`` (audio minus annotation when beyond the tolerance, else ``None``) and
    the ``warning`` sentence for a mismatch."""

    annotation_duration: float
    mismatch: float | None
    warning: str | None


@dataclass(frozen=True)
class Clip:
    """One Anim-400K clip pair: the JP clip (``id``) and its EN dub (``en_clip``), times in seconds."""

    id: str
    en_clip: str
    jp_text: str
    en_text: str
    jp_start: float
    jp_end: float
    en_start: float
    en_end: float
    speakers: tuple[str, ...]
    show: str
    season: str
    episode: str
    index: int
    split: str
    backing_path: str | None = None
    mixing_ratio: float | None = None

    @property
    def id_folder(self) -> str:
        """The archive folder of the JP clip (``"db"`` for ``"db/db019ebb-..."``)."""
        return self.id.split("/", 1)[0]

    @property
    def speaker_count(self) -> int | None:
        """How many distinct episode-level speaker ids the annotation lists (``None`` when it lists none): a hint
        to diarization and the manifest's ``speakers_expected``, not ground truth."""
        return len(set(self.speakers)) or None

    @property
    def is_multi_speaker(self) -> bool:
        """More than one distinct episode-level speaker id is listed (a hint, not ground truth)."""
        return (self.speaker_count or 0) > 1

    @property
    def jp_duration(self) -> float:
        return self.jp_end - self.jp_start

    def duration_check(self, audio_seconds: float, tolerance: float = DURATION_TOLERANCE_SECONDS) -> DurationCheck:
        """Compare the decoded JP audio's length with the annotation's ``jp_start..jp_end``: the annotation's
        length, the mismatch (audio minus annotation, in seconds, when they differ by more than ``tolerance``;
        else ``None``) and, for a mismatch, a warning that names the clip and says what to check."""
        expected = self.jp_duration
        diff = audio_seconds - expected
        mismatch = round(diff, 3) if abs(diff) > tolerance else None
        if mismatch is None:
            return DurationCheck(round(expected, 3), None, None)
        what = "shorter" if diff < 0 else "longer"
        return DurationCheck(round(expected, 3), mismatch, (
            f"clip {self.id}: its audio lasts {audio_seconds:.2f} s, {abs(diff):.2f} s {what} than "
            f"the annotation's {expected:.2f} s ({self.jp_start:.3f}..{self.jp_end:.3f} s); the file "
            "may be truncated or not this clip's: check it or re-download it (dubbed as decoded)"))


@dataclass(frozen=True)
class Skipped:
    """A malformed annotation entry left out, with where it was and why."""

    split: str
    show: str
    episode: str | None
    index: int | None
    reason: str

    def __str__(self) -> str:
        where = f"split {self.split}, show {self.show!r}"
        if self.episode is not None:
            where += f", episode {self.episode}"
        if self.index is not None:
            where += f", clip #{self.index}"
        return f"{where}: {self.reason}"


def parse_timestamp(value: Any, clip: str | None = None) -> float:
    """Seconds from an Anim-400K timestamp string ("HH:MM:SS.mmm", "HH:MM:SS,mmm", "MM:SS.s", "12.5").

    JSON numbers are taken as seconds. Anything else (empty, negative, minutes or seconds >= 60 under a
    higher unit, NaN) raises a ``DataError`` naming ``clip``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"timestamp {value!r} is not a string", clip=clip)
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise DataError(f"timestamp {value!r} is not a non-negative number of seconds", clip=clip)
        return float(value)
    m = _TIMESTAMP.match(value.strip())
    if not m:
        raise DataError(f"bad timestamp {value!r}; expected HH:MM:SS.mmm, HH:MM:SS,mmm, MM:SS.s "
                        "or seconds like 12.5", clip=clip)
    first, second, secs = m.groups()
    hours, minutes = (first, second) if second is not None else (None, first)
    s = float(secs.replace(",", "."))
    if (minutes is not None and s >= 60) or (hours is not None and int(minutes) >= 60):
        raise DataError(f"bad timestamp {value!r}: minutes and seconds must be below 60", clip=clip)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + s


def _clip(raw: Any, *, split: str, show: str, season: str, episode: str, index: int) -> Clip:
    if not isinstance(raw, Mapping):
        raise DataError(f"clip entry is a {type(raw).__name__}, not an object")
    missing = [k for k in CLIP_KEYS if k not in raw]
    if missing:
        raise DataError(f"missing key(s) {', '.join(missing)}")
    for key in ("jp_clip", "en_clip", "jp_text", "en_text"):
        if not isinstance(raw[key], str):
            raise DataError(f"{key} is a {type(raw[key]).__name__}, not a string")
    cid = raw["jp_clip"]
    for key in ("jp_clip", "en_clip"):
        if not _CLIP_ID.match(raw[key]) or ".." in raw[key]:
            raise DataError(f"{key} {raw[key]!r} is not a clip id like 'db/db019ebb-...'")
    speakers = raw["speakers"]
    if not isinstance(speakers, list) or not all(isinstance(s, (str, int)) for s in speakers):
        raise DataError("speakers is not a list of speaker ids", clip=cid)
    times = [parse_timestamp(raw[k], cid) for k in ("jp_start_time", "jp_end_time",
                                                    "en_start_time", "en_end_time")]
    if times[1] < times[0] or times[3] < times[2]:
        raise DataError(f"end time before start time ({raw['jp_start_time']}..{raw['jp_end_time']}, "
                        f"{raw['en_start_time']}..{raw['en_end_time']})", clip=cid)
    return Clip(id=cid, en_clip=raw["en_clip"], jp_text=raw["jp_text"], en_text=raw["en_text"],
                jp_start=times[0], jp_end=times[1], en_start=times[2], en_end=times[3],
                speakers=tuple(str(s) for s in speakers), show=show, season=season,
                episode=episode, index=index, split=split)


def parse_split(split: str, shows: Any, *, strict: bool = False) -> tuple[list[Clip], list[Skipped]]:
    """The clips of one split's show list in file order, plus the malformed entries skipped."""
    if not isinstance(shows, list):
        raise DataError(f"split {split!r} is a {type(shows).__name__}, not a list of shows as in the Anim-400K "
                        "annotations (train/val/test, each a list of shows); fix or re-download the file")
    clips: list[Clip] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()

    def skip(show: str, episode: str | None, index: int | None, reason: str) -> None:
        entry = Skipped(split, show, episode, index, reason)
        if strict:
            raise DataError(f"malformed annotations: {entry}; fix the entry or open without strict")
        skipped.append(entry)

    for s_index, show in enumerate(shows):
        name = show.get("show") if isinstance(show, Mapping) else None
        if not isinstance(name, str):
            skip(f"#{s_index}", None, None, "show entry has no string 'show' name")
            continue
        episodes = show.get("episodes")
        if not isinstance(episodes, Mapping):
            skip(name, None, None, "show has no 'episodes' object")
            continue
        season = show.get("season")
        season = season if isinstance(season, str) else ""
        for ep_key, ep in episodes.items():
            ep_key = str(ep_key)
            if not isinstance(ep, Mapping) or not isinstance(ep.get("clips"), list):
                skip(name, ep_key, None, "episode has no 'clips' list")
                continue
            for c_index, raw in enumerate(ep["clips"]):
                try:
                    clip = _clip(raw, split=split, show=name, season=season, episode=ep_key, index=c_index)
                except DataError as exc:
                    skip(name, ep_key, c_index, str(exc))
                    continue
                if clip.id in seen:
                    skip(name, ep_key, c_index, f"duplicate clip id {clip.id}")
                    continue
                seen.add(clip.id)
                clips.append(clip)
    return clips, skipped


def _read_json(path: Path) -> Any:
    """The JSON in ``path``, gunzipped first when it starts with gzip's magic bytes (``.json.gz``)."""
    try:
        with path.open("rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gz else path.open("rb")) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: annotations file not found; pass the folder holding "
                        "anim400k_annotations*.json, or --annotations FILE") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: a damaged or truncated gzip file ({exc}); re-download the annotations") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); re-download the annotations file") from None


def _is_show(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("episodes"), Mapping)


def _by_split(path: Path, data: Any) -> dict[str, Any]:
    """The file's split -> show list: as it is, or the older per-show form as split ``all``; else an error
    that says what the file holds."""
    if isinstance(data, dict) and set(data) & set(SPLITS):
        return data
    if isinstance(data, dict) and data and all(_is_show(v) for v in data.values()):
        return {ALL_SPLIT: [{**show, "show": show.get("show", name)} for name, show in data.items()]}
    if isinstance(data, dict):
        keys = ", ".join(sorted(map(str, data))[:5]) + (", ..." if len(data) > 5 else "")
        what = f"a JSON object with keys {keys}" if data else "an empty JSON object"
    else:
        what = f"a JSON {type(data).__name__}" + (f" of {len(data)} items" if isinstance(data, list) else "")
    raise DataError(f"{path}: {what}, not Anim-400K annotations: expected an object with keys train/val/test "
                    "(each a list of shows), or the older form keyed by show name (each show with 'episodes'); "
                    "pass the anim400k_annotations*.json of the download")


def load_annotations(path: str | Path, splits: Iterable[str] | None = None, *, strict: bool = False
                     ) -> tuple[dict[str, list[Clip]], list[Skipped]]:
    """Read the omnibus annotations JSON (or ``.json.gz``) and return ``{split: clips}`` and the skipped entries.

    The whole file is parsed with the standard ``json`` module (about 10x its size in memory while
    parsing; see bench/annotations_load.py); only the requested ``splits`` (default: all present) are
    turned into ``Clip`` records and the raw objects are freed afterwards. The older per-show form gives
    one split, ``all`` (module docstring).
    """
    path = Path(path)
    data = _by_split(path, _read_json(path))
    present = [s for s in data if isinstance(s, str)]
    wanted = list(splits) if splits is not None else [s for s in present if s in (*SPLITS, ALL_SPLIT)]
    unknown = [s for s in wanted if s not in data]
    if unknown:
        note = (f" (the older form keyed by show, without train/val/test: its clips are read as split "
                f"{ALL_SPLIT!r}, pass --split {ALL_SPLIT})" if ALL_SPLIT in data else "")
        raise DataError(f"{path}: no split {', '.join(unknown)}; it has {', '.join(present)}{note}")
    out: dict[str, list[Clip]] = {}
    skipped: list[Skipped] = []
    for split in wanted:
        out[split], bad = parse_split(split, data.pop(split), strict=strict)
        skipped += bad
    return out, skipped


@dataclass(frozen=True)
class SidecarColumns:
    """Column (CSV) or field (JSON) names of the sidecar file."""

    clip_id: str = "clip_id"
    mixing_ratio: str = "mixing_ratio"
    backing: str = "backing"


def load_sidecar(path: str | Path, columns: SidecarColumns = SidecarColumns()
                 ) -> dict[str, tuple[str | None, float | None]]:
    """Per-clip ``(backing_path, mixing_ratio)`` from a sidecar CSV or JSON keyed by clip id.

    CSV: a header row with the ``columns`` names. JSON: a list of objects, or an object mapping clip id
    to an object. ``backing`` is resolved relative to the sidecar's folder; an empty cell means absent.
    A malformed row is a ``DataError`` naming the row (the sidecar is small and hand-made).
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                rows = [{columns.clip_id: k, **v} if isinstance(v, dict) else {columns.clip_id: k, "_": v}
                        for k, v in data.items()]
            elif isinstance(data, list):
                rows = data
            else:
                raise DataError(f"{path}: sidecar JSON must be a list or an object keyed by clip id")
        else:
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the sidecar ({exc})") from None
    out: dict[str, tuple[str | None, float | None]] = {}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not isinstance(row.get(columns.clip_id), str):
            raise DataError(f"{path}: row {n} has no {columns.clip_id!r} string; "
                            f"columns must be {columns.clip_id}, {columns.mixing_ratio}, {columns.backing}")
        ratio_raw = row.get(columns.mixing_ratio)
        ratio: float | None = None
        if ratio_raw not in (None, ""):
            try:
                ratio = float(ratio_raw)
            except (TypeError, ValueError):
                ratio = math.nan
            if not math.isfinite(ratio) or ratio < 0:
                raise DataError(f"{path}: row {n}: {columns.mixing_ratio} {ratio_raw!r} is not a number >= 0",
                                clip=row[columns.clip_id])
        backing = row.get(columns.backing)
        backing = str((path.parent / backing).resolve()) if isinstance(backing, str) and backing else None
        out[row[columns.clip_id]] = (backing, ratio)
    return out


def apply_sidecar(clips: list[Clip], sidecar: Mapping[str, tuple[str | None, float | None]]) -> list[Clip]:
    """``clips`` with ``backing_path``/``mixing_ratio`` filled from the sidecar where it has the id."""
    return [replace(c, backing_path=sidecar[c.id][0], mixing_ratio=sidecar[c.id][1])
            if c.id in sidecar else c for c in clips]
