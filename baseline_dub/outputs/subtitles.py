"""Subtitles of a dub: WebVTT and SubRip cues from the segment texts at the times the remix placed them.

A cue says what the dub says and when: a segment's English text from its placed start (``placed_start``,
else the diarized ``start``) for as long as its synthesis sounds after any stretch and cut
(``synth_seconds / stretch - cut_seconds``), clipped to the clip and to the next cue's start so that cues
never overlap. Skipped segments and empty texts give no cue. The Japanese side has one cue for the whole
clip, the annotation's ``jp_text`` (Anim-400K has no per-line times). Files are UTF-8 with ``\\n`` line ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from baseline_dub.atomic import atomic_write_text
from baseline_dub.outputs.record import SegmentRecord

# Shorter cues are rounding, not speech.
_MIN_CUE_SECONDS = 0.05


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``text`` shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str


def sounding_span(seg: SegmentRecord) -> tuple[float, float] | None:
    """Where a segment's synthesis sounds in the dub (``SegmentRecord.sounding_span``): the one definition the
    subtitles and the report's timing both use."""
    return seg.sounding_span()


def dub_cues(segments: Iterable[SegmentRecord], duration: float | None = None) -> list[Cue]:
    """The English cues of a dub from its segment records (``Dub.segment_records()`` / a record's ``segments``)."""
    spans: list[tuple[float, float, str]] = []
    for seg in segments:
        text = " ".join((seg.text or "").split())
        if seg.skipped or not text:
            continue
        span = seg.sounding_span()
        if span is None:  # no synthesis length known: the slot
            start = seg.placed_start if seg.placed_start is not None else seg.start
            span = (start, start + seg.end - seg.start)
        spans.append((*span, text))
    spans.sort(key=lambda s: s[0])
    cues = []
    for i, (start, end, text) in enumerate(spans):
        if i + 1 < len(spans):
            end = min(end, spans[i + 1][0])
        if duration is not None:
            end = min(end, duration)
        if end - start >= _MIN_CUE_SECONDS:
            cues.append(Cue(round(start, 3), round(end, 3), text))
    return cues


def source_cues(jp_text: str | None, duration: float) -> list[Cue]:
    """The Japanese cue: the whole clip, the annotation's ``jp_text`` (none when it has no text)."""
    text = " ".join(str(jp_text or "").split())
    return [Cue(0.0, round(duration, 3), text)] if text and duration > 0 else []


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, int(round(seconds * 1000)))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def _safe(text: str) -> str:
    # "-->" would end a cue timing line early; a blank line would end the cue.
    return text.replace("-->", "->").replace("\n", " ")


def to_vtt(cues: Sequence[Cue], language: str | None = None) -> str:
    """WebVTT text of the cues (a ``Language:`` header when given)."""
    head = "WEBVTT" + (f"\nLanguage: {language}" if language else "") + "\n\n"
    body = "".join(f"{i}\n{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_safe(c.text)}\n\n"
                   for i, c in enumerate(cues, 1))
    return head + body


def to_srt(cues: Sequence[Cue]) -> str:
    """SubRip text of the cues."""
    return "".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_safe(c.text)}\n\n"
                   for i, c in enumerate(cues, 1))


def _seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.strip().replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def parse_srt(text: str) -> list[Cue]:
    """The cues of SubRip text as ``to_srt`` writes it (index line, timing line, text lines, blank line)."""
    cues = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        lines = block.split("\n")
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = lines[timing].split("-->")
        cues.append(Cue(_seconds(start), _seconds(end), " ".join(lines[timing + 1:])))
    return cues


def clip_cues(cues: Sequence[Cue], seconds: float) -> list[Cue]:
    """The cues cut at ``seconds`` (a video's length): later ones dropped, one that runs past it shortened."""
    return [Cue(c.start, min(c.end, round(seconds, 3)), c.text) for c in cues
            if min(c.end, seconds) - c.start >= _MIN_CUE_SECONDS]


def subtitle_paths(dub: Path) -> dict[str, Path]:
    """The companions of ``<clip>.wav``: ``en_vtt`` (``<clip>.en.vtt``), ``en_srt`` and ``ja_vtt``."""
    stem = dub.with_suffix("")
    return {"en_vtt": stem.with_name(stem.name + ".en.vtt"), "en_srt": stem.with_name(stem.name + ".en.srt"),
            "ja_vtt": stem.with_name(stem.name + ".ja.vtt")}


def write_subtitles(dub: Path, segments: Iterable[SegmentRecord], duration: float,
                    jp_text: str | None = None) -> dict[str, Path]:
    """Write ``<clip>.en.vtt`` and ``<clip>.en.srt`` (and ``<clip>.ja.vtt`` when ``jp_text``) beside the dub
    ``<clip>.wav``, atomically; returns what was written by kind."""
    paths = subtitle_paths(dub)
    cues = dub_cues(segments, duration)
    written = {"en_vtt": atomic_write_text(paths["en_vtt"], to_vtt(cues, "en")),
               "en_srt": atomic_write_text(paths["en_srt"], to_srt(cues))}
    ja = source_cues(jp_text, duration)
    if ja:
        written["ja_vtt"] = atomic_write_text(paths["ja_vtt"], to_vtt(ja, "ja"))
    return written
