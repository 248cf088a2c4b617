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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DONE, FAILED, MISSING, NO_SPEECH = "done", "failed", "missing_audio", "no_speech"
# Statuses with an output that a rerun keeps: a clip with no speech is an outcome, recorded once.
FINISHED = (DONE, NO_SPEECH)


def manifest_name(shard: tuple[int, int] | None) -> str:
    """File name of the manifest for a shard (``None`` = the whole split)."""
    if shard is None or shard[1] == 1:
        return "manifest.jsonl"
    return f"manifest.shard-{shard[0]}-of-{shard[1]}.jsonl"


def _rows_of(path: Path) -> Iterable[dict[str, Any]]:
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


def read_manifest(split_dir: str | Path) -> dict[str, dict[str, Any]]:
    """``{clip_id: last row}`` over every manifest file in a split's output folder (sorted, stable)."""
    latest: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(split_dir).glob("manifest*.jsonl")):
        for row in _rows_of(path):
            latest[row["clip_id"]] = row
    return latest


def done_ids(out_dir: str | Path, split: str) -> set[str]:
    """Clip ids that are finished: last row ``done`` or ``no_speech``, and the output file still exists."""
    out_dir = Path(out_dir)
    return {
        cid for cid, row in read_manifest(out_dir / split).items()
        if row.get("status") in FINISHED and row.get("output") and (out_dir / row["output"]).is_file()
    }


def recorded_models(rows: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, list[str]]]:
    """What made these rows' dubs, as the rows record it: ``(profiles, {model: sha256s})``, each sorted. Only
    rows with an output record them (``done``, ``no_speech``); one profile and one sha256 a model is the rule."""
    profiles: set[str] = set()
    models: dict[str, set[str]] = {}
    for row in rows:
        if row.get("profile"):
            profiles.add(str(row["profile"]))
        for name, digest in (row.get("models") or {}).items():
            models.setdefault(name, set()).add(str(digest))
    return sorted(profiles), {name: sorted(models[name]) for name in sorted(models)}


class ManifestWriter:
    """Appends rows durably: each row is one ``write`` of a full line, flushed and fsynced."""

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

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False, default=_jsonable) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
