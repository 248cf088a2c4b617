"""Manifest rows for tests, as the JSON of a run holds them."""

from __future__ import annotations

from pathlib import Path

from baseline_dub.outputs.record import to_json
from baseline_dub.runner.manifest import read_manifest


def manifest_rows(split_dir: Path) -> dict[str, dict]:
    """The last row of each clip as the manifest's JSON holds it (read by the one reader, written back)."""
    return {cid: to_json(record) for cid, record in read_manifest(split_dir).items()}
