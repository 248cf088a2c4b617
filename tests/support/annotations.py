"""Anim-400K annotation files built in a test's folder: clips, shows and the file, as the release lays them out."""

from __future__ import annotations

import json
from pathlib import Path


def clip_entry(jp: str, en: str | None = None, start: str = "00:00:01.000", end: str = "00:00:04.500",
               speakers: list | None = None, **extra) -> dict:
    """One clip of an annotations file, as the release writes it: ``jp`` (``"<folder>/<id>"``), its EN clip,
    texts, string timestamps and speakers; ``extra`` adds or replaces fields."""
    entry = {"jp_clip": jp, "en_clip": en or jp.replace("/", "/en-"), "jp_text": "こんにちは",
             "en_text": "Hello", "jp_start_time": start, "jp_end_time": end,
             "en_start_time": "0:00:02.000", "en_end_time": "0:00:05.250",
             "speakers": ["SPEAKER_00"] if speakers is None else speakers}
    entry.update(extra)
    return entry


def show(name: str, episodes: dict, **extra) -> dict:
    """One show of an annotations file: ``episodes`` maps an episode name to its list of clips."""
    return {"show": name, "season": f"{name} S1", "genres": [], "characters": {},
            "episodes": {k: {"url": "u", "synopsis": "", "clips": v} for k, v in episodes.items()}, **extra}


def write_annotations(folder: Path, data: dict, name: str = "anim400k_annotations.json") -> Path:
    """``data`` (split -> shows) written as ``folder/name`` (UTF-8 JSON, Japanese kept as is)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path
