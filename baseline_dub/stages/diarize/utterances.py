"""Utterances: one speaker's stretch cut at its pauses into pieces Whisper translates without looping.

The unit that Whisper translates and the TTS speaks is an utterance, not a whole speaker turn: a clean
13 s monologue sent to Whisper base as one piece came back as a loop (compression ratio 6.98) and was
dropped, and a 90 s one as three short sentences. ``split_utterances`` cuts each single-speaker segment
at the pauses that voice activity detection (silero VAD on the separated vocals) finds inside it:

1. the speech regions inside the segment are taken (clipped to it); a segment with none is kept whole;
2. the regions fill pieces left to right; when the next region would take a piece past ``max_seconds``,
   the piece is cut at its longest pause that leaves it at least ``max_seconds / 2`` long, so a segment is
   cut about as few times as its length needs and always where the speaker pauses, never in a word (one
   region longer than ``max_seconds`` with no pause stays whole: Whisper reads up to 30 s, and longer
   audio in 30 s windows);
3. each cut gives the pause to both sides, at most ``pad`` seconds each (half the pause when shorter);
   the first piece starts where the segment starts and the last ends where it ends, so the pieces never
   overlap, stay inside the segment and lose no speech.

``speech_seconds``/``covered_seconds`` measure how much of the speech a set of dubbed segments covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from baseline_dub.stages.types import Segment

Region = tuple[float, float]


def clip_regions(speech: Iterable[Region], start: float, end: float) -> list[Region]:
    """The parts of ``speech`` regions that lie in ``[start, end]``, in order."""
    out = []
    for a, b in speech:
        a, b = max(a, start), min(b, end)
        if b > a:
            out.append((a, b))
    return out


def _split(regions: list[Region], max_seconds: float) -> list[list[Region]]:
    """Cut ``regions`` at pauses into as few pieces of at most ``max_seconds`` as a left-to-right fill gives.

    A piece grows region by region; when the next region would take it past ``max_seconds``, it is cut at its
    longest pause among those that leave it at least half of ``max_seconds`` long (its last pause when none
    does), and the regions after the cut start the next piece."""
    pieces: list[list[Region]] = []
    current: list[Region] = []
    for region in regions:
        if current and region[1] - current[0][0] > max_seconds:
            following = [*current[1:], region]  # the region after each possible cut
            late = [i for i in range(1, len(current) + 1) if current[i - 1][1] - current[0][0] >= max_seconds / 2]
            cut = max(late or [len(current)], key=lambda i: (following[i - 1][0] - current[i - 1][1], i))
            pieces.append(current[:cut])
            current = current[cut:]
        current.append(region)
    if current:
        pieces.append(current)
    return pieces


def split_utterances(segments: Sequence[Segment], speech: Sequence[Region], max_seconds: float,
                     pad: float = 0.1) -> list[Segment]:
    """Each segment cut at its pauses into utterances of at most ``max_seconds`` (see the module docstring).

    ``max_seconds <= 0`` returns the segments unchanged. Speakers and order are kept."""
    if max_seconds <= 0:
        return list(segments)
    out: list[Segment] = []
    for seg in segments:
        groups = _split(clip_regions(speech, seg.start, seg.end), max_seconds)
        if len(groups) < 2:
            out.append(seg)
            continue
        start = seg.start
        for left, right in zip(groups, groups[1:], strict=False):
            gap_start, gap_end = left[-1][1], right[0][0]
            give = min(pad, (gap_end - gap_start) / 2)
            out.append(Segment(round(start, 3), round(gap_start + give, 3), seg.speaker))
            start = gap_end - give
        out.append(Segment(round(start, 3), seg.end, seg.speaker))
    return out


def speech_seconds(speech: Iterable[Region]) -> float:
    """Total seconds of speech regions (assumed ordered and not overlapping, as VAD gives them)."""
    return float(sum(b - a for a, b in speech))


def covered_seconds(speech: Sequence[Region], segments: Iterable[Segment]) -> float:
    """Seconds of ``speech`` that lie under at least one of ``segments``."""
    spans = sorted((s.start, s.end) for s in segments)
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return float(sum(b - a for m in merged for a, b in clip_regions(speech, m[0], m[1])))
