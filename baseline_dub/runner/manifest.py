"""The run manifest (``docs/manifest.md``): one JSON line per clip attempt, appended and fsynced.

A split run writes ``OUT/<split>/manifest.jsonl``; a sharded run (``--shard I/N``) writes
``manifest.shard-I-of-N.jsonl`` so that array jobs never append to one file at once. Readers take every
``manifest*.jsonl`` of the split folder; the last row of a ``clip_id`` is its state. A line cut short by a
kill (only ever the last line of a file) is ignored. A clip is *finished* (never redone) when its last row
is ``done`` or ``no_speech`` and its output file exists; ``failed`` clips are retried by the next run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from baseline_dub.outputs.record import FINISHED, ClipRecord, JsonObject, Status, from_json, to_json

DONE, FAILED, MISSING, NO_SPEECH = Status.DONE, Status.FAILED, Status.MISSING_AUDIO, Status.NO_SPEECH
__all__ = ["DONE", "FAILED", "FINISHED", "MISSING", "NO_SPEECH", "ManifestWriter", "done_ids", "manifest_name",
           "read_manifest", "recorded_models", "recorded_whispers"]


def manifest_name(shard: tuple[int, int] | None) -> str:
    """File name of the manifest for a shard (``None`` = the whole split)."""
    if shard is None or shard[1] == 1:
        return "manifest.jsonl"
    return f"manifest.shard-{shard[0]}-of-{shard[1]}.jsonl"


def _rows_of(path: Path) -> Iterator[JsonObject]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: that attempt did not finish
            if isinstance(row, dict) and "clip_id" in row:
                yield row


def manifest_files(split_dir: str | Path) -> list[Path]:
    """Every manifest file of a split's output folder, sorted."""
    return sorted(Path(split_dir).glob("manifest*.jsonl"))


def read_manifest(split_dir: str | Path) -> dict[str, ClipRecord]:
    """``{clip_id: last record}`` over every manifest file in a split's output folder (sorted, stable), each row
    read by the one reader (``baseline_dub.outputs.record.from_json``), old rows included."""
    latest: dict[str, ClipRecord] = {}
    for path in manifest_files(split_dir):
        for row in _rows_of(path):
            record = from_json(row)
            latest[record.clip_id] = record
    return latest


def done_ids(out_dir: str | Path, split: str) -> set[str]:
    """Clip ids that are finished: last row ``done`` or ``no_speech``, and the output file still exists."""
    out_dir = Path(out_dir)
    return {
        cid for cid, rec in read_manifest(out_dir / split).items()
        if rec.status in FINISHED and rec.output and (out_dir / rec.output).is_file()
    }


def recorded_models(rows: Iterable[ClipRecord]) -> tuple[list[str], dict[str, list[str]]]:
    """What made these rows' dubs, as the rows record it: ``(profiles, {model: sha256s})``, each sorted. Only
    rows with an output record them (``done``, ``no_speech``); one profile and one sha256 a model is the rule."""
    profiles: set[str] = set()
    models: dict[str, set[str]] = {}
    for row in rows:
        if row.profile:
            profiles.add(row.profile)
        for name, digest in row.models.items():
            models.setdefault(name, set()).add(str(digest))
    return sorted(profiles), {name: sorted(models[name]) for name in sorted(models)}


def recorded_whispers(rows: Iterable[ClipRecord]) -> list[str]:
    """The Whisper releases that translated these rows' dubs, as the rows record them (sorted; rows written before
    the ``whisper`` key record none). One is the rule."""
    return sorted({row.whisper for row in rows if row.has_dub and row.whisper})


class ManifestWriter:
    """Appends records durably (``to_json``, the one writer): each row is one ``write`` of a full line, flushed
    and fsynced."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _repair_tail(self) -> None:
        """Make sure a line cut by a kill does not glue itself to the next row."""
        if self.path.is_file() and self.path.stat().st_size:
            with open(self.path, "rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def write(self, record: ClipRecord) -> None:
        self._fh.write(json.dumps(to_json(record), ensure_ascii=False, default=_jsonable) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(value: object) -> object:
    item = getattr(value, "item", None)
    if callable(item):  # a numpy scalar
        return item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
