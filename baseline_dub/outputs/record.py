"""The clip record: one typed, versioned row of the run manifest (``docs/manifest.md``), and its JSON.

A :class:`ClipRecord` is what a split run records of one clip attempt, whatever its :class:`Status`; its
:class:`SegmentRecord` s are what the dub did with each utterance. :func:`to_json` is the one writer and
:func:`from_json` the one reader of that JSON (the manifest's lines, a kept ``dub.json``); rows written
before the ``schema`` key existed (schema 0) read into the same types. ``Dub.record`` (in
``baseline_dub.outputs.dub``) makes a record from a ``Dub``; the runner adds where its files went.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# The version written in the ``schema`` key of new rows; rows without it are schema 0 (same keys, except that a
# row that is not a failure held its explanatory sentence under ``error`` where it now goes under ``note``).
SCHEMA = 1

JsonObject = dict[str, Any]


class Status(StrEnum):
    """A row's ``status``: ``done`` (English speech dubbed), ``no_speech`` (a dub that speaks nothing, its
    backing alone; :class:`NothingSpoken` says why), ``failed`` or ``missing_audio`` (no dub)."""

    DONE = "done"
    NO_SPEECH = "no_speech"
    FAILED = "failed"
    MISSING_AUDIO = "missing_audio"


# Statuses with an output that a rerun keeps: a clip with no speech is an outcome, recorded once.
FINISHED = (Status.DONE, Status.NO_SPEECH)


@dataclass(frozen=True)
class SegmentRecord:
    """One segment (utterance) of a dub: its slot, Whisper's text and evidence (``heard``: Whisper's own text when
    it is not what is spoken; ``delooped``: a loop cut to what it says once), the voice, and where the remix
    placed the synthesis (``placed_start``, ``stretch``, ``cut_seconds``, ``overrun_seconds``, ``rule``)."""

    start: float = 0.0
    end: float = 0.0
    speaker: str | None = None
    text: str = ""
    skipped: str | None = None
    heard: str | None = None
    delooped: bool = False
    language: str | None = None
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    synth_seconds: float | None = None
    voice: str | None = None
    voice_method: str | None = None
    voice_recipe: dict[str, float] | None = None
    similarity: float | None = None
    reference_seconds: float | None = None
    reference_source: str | None = None
    placed_start: float | None = None
    overrun_seconds: float | None = None
    stretch: float | None = None
    cut_seconds: float | None = None
    rule: str | None = None
    file: str | None = None

    @property
    def synthesized(self) -> bool:
        """Whether a synthesis of this segment sounds in the dub (not skipped, a length recorded)."""
        return not self.skipped and (self.synth_seconds or 0.0) > 0.0

    def sounding_span(self) -> tuple[float, float] | None:
        """Where the synthesis sounds in the dub, ``(start, end)`` seconds: from ``placed_start`` (else the slot
        start) for its length after any stretch and cut (``synth_seconds / stretch - cut_seconds``); ``None``
        when nothing was synthesized. The one definition the subtitles and the report's timing both use."""
        if not self.synthesized:
            return None
        start = self.placed_start if self.placed_start is not None else self.start
        sounding = (self.synth_seconds or 0.0) / max(self.stretch or 1.0, 1e-6) - (self.cut_seconds or 0.0)
        return start, start + max(0.0, sounding)


@dataclass(frozen=True)
class SubtitlePaths:
    """The subtitle files beside a dub, relative to the run folder (JSON ``subtitles``)."""

    en_vtt: str
    en_srt: str
    ja_vtt: str | None = None


@dataclass(frozen=True)
class VideoOutcome:
    """A ``--video`` run's dubbed video (JSON ``video``), or why there is none (``video_reason``,
    ``video_error``)."""

    path: str | None = None
    reason: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ClipRecord:
    """One clip attempt as the manifest records it (every key is described in ``docs/manifest.md``)."""

    clip_id: str
    status: Status = Status.DONE
    reason: str | None = None
    error: str | None = None
    note: str | None = None
    split: str | None = None
    jp_text: str | None = None
    en_text: str | None = None
    speakers_expected: int | None = None
    speakers_found: int | None = None
    host: str | None = None
    worker: str | None = None
    duration: float | None = None
    rate: int | None = None
    channels: int | None = None
    source_lufs: float | None = None
    dub_lufs: float | None = None
    mixing_ratio: float | None = None
    ratio_source: str | None = None
    profile: str | None = None
    whisper: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    separation_weights: str | None = None
    translate_engine: str | None = None
    translate_compute_type: str | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    speech_seconds: float | None = None
    covered_seconds: float | None = None
    coverage: float | None = None
    en_words_per_speech_second: float | None = None
    quality_flags: dict[str, str] = field(default_factory=dict)
    overlong_rule: str | None = None
    fit_duration: bool | None = None
    limiter_reduction_db: float | None = None
    annotation_duration: float | None = None
    duration_mismatch: float | None = None
    warning: str | None = None
    output: str | None = None
    parts: str | None = None
    segments: tuple[SegmentRecord, ...] = ()
    subtitles: SubtitlePaths | None = None
    video: VideoOutcome | None = None
    started: str | None = None
    finished: str | None = None
    schema: int = SCHEMA  # the schema it was read from (``to_json`` writes the current one)

    @property
    def has_dub(self) -> bool:
        """Whether the clip got a dub (``done`` or ``no_speech``)."""
        return self.status in FINISHED

    @property
    def hallucinated_lines(self) -> int:
        """Segments not spoken because Whisper gave a stock phrase it invents (``skipped: hallucination``)."""
        return sum(s.skipped == "hallucination" for s in self.segments)

    @property
    def delooped_lines(self) -> int:
        """Looping segments spoken cut to what they say once (``delooped``, with a synthesis in the dub)."""
        return sum(s.delooped and s.synthesized for s in self.segments)

    @property
    def message(self) -> str | None:
        """The row's sentence for a person: its ``error`` for a failure, else its ``note``."""
        return self.error if self.error is not None else self.note

    @property
    def outcome(self) -> str:
        """``done``, else the row's reason (else its status): what the report and summary count."""
        return Status.DONE if self.status == Status.DONE else str(self.reason or self.status)


# What every row holds, whatever its status (a failure row holds only these).
ROW_KEYS = ("clip_id", "split", "jp_text", "en_text", "speakers_expected", "speakers_found", "host", "worker",
            "status", "reason", "error", "output", "parts", "started", "finished", "schema")
# What only a run writes (a kept ``dub.json`` has the rest of a dub's record, and its provenance).
RUN_KEYS = ("split", "host", "worker", "error", "output", "parts", "subtitles", "annotation_duration",
            "duration_mismatch", "warning", "started", "finished")
_VIDEO_KEYS = {"path": "video", "reason": "video_reason", "error": "video_error"}


def segment_to_json(segment: SegmentRecord) -> JsonObject:
    """A segment's JSON object (the manifest's ``segments`` items)."""
    return dataclasses.asdict(segment)


def to_json(record: ClipRecord) -> JsonObject:
    """The record's JSON object: a failure row (``failed``, ``missing_audio``) holds the keys every row holds; a
    row with a dub holds them all (the ``video`` keys only when a ``--video`` run set them)."""
    out: JsonObject = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if not record.has_dub and f.name not in ROW_KEYS:
            continue
        if f.name == "status":
            out["status"] = str(value)
        elif f.name == "schema":
            out["schema"] = SCHEMA  # written in this schema's keys, whatever schema it was read from
        elif f.name == "segments":
            out["segments"] = [segment_to_json(s) for s in value]
        elif f.name == "subtitles":
            if value is not None:
                out["subtitles"] = {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
        elif f.name == "video":
            if value is not None:
                out.update({_VIDEO_KEYS[k]: v for k, v in dataclasses.asdict(value).items()})
        else:
            out[f.name] = dict(value) if isinstance(value, dict) else value
    return out


def dub_json(record: ClipRecord, provenance: Mapping[str, object]) -> JsonObject:
    """The JSON of a kept dub folder (``dub.json``): the record's dub keys (no run keys) and the provenance."""
    return {**{k: v for k, v in to_json(record).items() if k not in RUN_KEYS}, "provenance": dict(provenance)}


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def segment_from_json(data: Mapping[str, Any]) -> SegmentRecord:
    """A segment read back from its JSON object (missing keys take their defaults, unknown keys are ignored)."""
    return SegmentRecord(**_known(SegmentRecord, data))


def from_json(data: Mapping[str, Any]) -> ClipRecord:
    """The one reader: a manifest row (or ``dub.json``) into a :class:`ClipRecord`, from every schema. An old
    row's ``error`` on a row that is not a failure becomes its ``note``; an old ``dub.json``'s ``no_speech`` key
    (the reason) becomes ``status`` ``no_speech`` and its ``reason``; unknown keys are ignored."""
    raw = dict(data)
    if raw.get("no_speech"):  # an old dub.json: ``no_speech`` held the reason
        raw.setdefault("status", Status.NO_SPEECH)
        raw.setdefault("reason", raw["no_speech"])
    status = Status(raw.get("status") or Status.DONE)
    if status in FINISHED and raw.get("error") is not None and raw.get("note") is None:
        raw["note"], raw["error"] = raw["error"], None  # schema 0: the sentence of a no_speech row
    values = _known(ClipRecord, raw)
    values["status"] = status
    values["schema"] = int(raw.get("schema") or 0)
    values["segments"] = tuple(segment_from_json(s) for s in raw.get("segments") or ())
    values["models"] = dict(raw.get("models") or {})
    values["stage_seconds"] = dict(raw.get("stage_seconds") or {})
    values["quality_flags"] = dict(raw.get("quality_flags") or {})
    subs = raw.get("subtitles")
    values["subtitles"] = SubtitlePaths(**_known(SubtitlePaths, subs)) if subs else None
    values["video"] = (VideoOutcome(raw.get("video"), raw.get("video_reason"), raw.get("video_error"))
                       if any(k in raw for k in _VIDEO_KEYS.values()) else None)
    return ClipRecord(**values)


def json_keys() -> dict[str, set[str]]:
    """The JSON keys the types write: ``row`` (a clip's), ``segments`` and ``subtitles`` (its nested objects)."""
    row = {f.name for f in dataclasses.fields(ClipRecord)} - {"video"} | set(_VIDEO_KEYS.values())
    return {"row": row, "segments": {f.name for f in dataclasses.fields(SegmentRecord)},
            "subtitles": {f.name for f in dataclasses.fields(SubtitlePaths)}}
