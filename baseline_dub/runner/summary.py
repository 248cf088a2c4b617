"""``RunSummary``: what one split run did, as printed at its end and written to ``summary.json``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from baseline_dub.outputs.record import ClipRecord


@dataclass
class RunSummary:
    """Counts and cost of one run.

    ``already_done`` are clips a previous run finished (``done`` or ``no_speech``), skipped now;
    ``nothing_spoken`` counts ``no_speech`` rows by reason: the clips with nothing to speak (dubbed as their
    backing alone: an outcome, not a failure); ``duration_mismatch`` the clips whose audio length differs from the
    annotation's times; ``skipped_entries`` the split's malformed annotation entries left out (each as
    ``baseline-dub data check`` prints it), listed in ``summary.json`` under ``skipped_entry_list``;
    ``missing_video`` counts, by reason, the clips dubbed without their video (``--video``: no video clip in
    the data, or one ffmpeg could not read). ``quality_flags`` counts, by flag, the finished clips whose dub
    lacks something (``low_coverage``: over 2 s of speech, under half of it dubbed; ``fewer_speakers``);
    ``speech_seconds``/``covered_seconds``/``en_words`` add up the clips' speech coverage; ``hallucinations``
    counts the lines not spoken because Whisper gave a stock phrase (``skipped: hallucination``) and ``delooped``
    the looping lines spoken cut to what they say once. ``profile`` and ``whisper`` (the Whisper release that
    translated, e.g. ``base``) say what dubbed.
    """

    selected: int = 0
    already_done: int = 0
    done: int = 0
    missing: int = 0
    failed: Counter = field(default_factory=Counter)
    nothing_spoken: Counter = field(default_factory=Counter)
    missing_video: Counter = field(default_factory=Counter)
    videos_added: int = 0
    duration_mismatch: int = 0
    quality_flags: Counter = field(default_factory=Counter)
    speech_seconds: float = 0.0
    covered_seconds: float = 0.0
    en_words: float = 0.0
    hallucinations: int = 0
    delooped: int = 0
    skipped_entries: list[str] = field(default_factory=list)
    summary_path: str | None = None
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0
    load_seconds: float = 0.0
    wall_seconds: float = 0.0
    profile: str | None = None
    whisper: str | None = None

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def n_nothing_spoken(self) -> int:
        return sum(self.nothing_spoken.values())

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds of processing per second of audio dubbed (model loading excluded)."""
        return self.processing_seconds / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def overall_coverage(self) -> float | None:
        """Seconds of source speech under a dubbed utterance over all speech seconds of the clips dubbed now."""
        return self.covered_seconds / self.speech_seconds if self.speech_seconds else None

    def add_coverage(self, row: ClipRecord) -> None:
        """Count a finished clip's coverage figures, quality flags, hallucinated and delooped lines."""
        for flag in row.quality_flags:
            self.quality_flags[flag] += 1
        self.hallucinations += row.hallucinated_lines
        self.delooped += row.delooped_lines
        speech = row.speech_seconds or 0.0
        self.speech_seconds += speech
        self.covered_seconds += row.covered_seconds or 0.0
        self.en_words += (row.en_words_per_speech_second or 0.0) * speech

    def _coverage_line(self) -> str:
        cov = self.overall_coverage
        if cov is None:
            return "speech covered   - (no speech in the clips dubbed now)"
        flags = ", ".join(f"{k}: {v}" for k, v in sorted(self.quality_flags.items())) or "none"
        return (f"speech covered   {100 * cov:.0f} % of {self.speech_seconds:.1f} s of source speech, "
                f"{self.en_words / self.speech_seconds:.2f} English words per speech second; flagged clips: {flags}")

    def lines(self) -> list[str]:
        """The printed summary, one figure a line."""
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        quiet = ", ".join(f"{k}: {v}" for k, v in sorted(self.nothing_spoken.items()))
        finished = self.done + self.n_nothing_spoken + self.n_failed
        per_hour = 3600 * finished / self.wall_seconds if self.wall_seconds else 0.0
        where = f"listed under skipped_entry_list in {self.summary_path or 'summary.json'}"
        return [
            f"profile          {self.profile}",
            f"whisper          {self.whisper}",
            f"clips selected   {self.selected} (finished before this run: {self.already_done})",
            f"done             {self.done}",
            f"no speech        {self.n_nothing_spoken}"
            + (f" ({quiet}; dubbed as their backing alone)" if quiet else ""),
            f"missing audio    {self.missing}",
            *([f"no video         {sum(self.missing_video.values())} ("
               + ", ".join(f"{k}: {v}" for k, v in sorted(self.missing_video.items()))
               + "; their audio dub is written, video_error in the manifest)"] if self.missing_video else []),
            *([f"videos added     {self.videos_added} (clips finished before, their dubbed video muxed now)"]
              if self.videos_added else []),
            f"failed           {self.n_failed} ({failed})",
            f"duration differs {self.duration_mismatch} (audio length vs the annotation's times; "
            "duration_mismatch in the manifest)",
            self._coverage_line(),
            f"invented lines   {self.hallucinations} not spoken (a stock phrase Whisper invents: skipped "
            f"hallucination); looping lines spoken delooped: {self.delooped}",
            f"skipped entries  {len(self.skipped_entries)} malformed annotation entries of this split"
            + (f" ({where}, and by `baseline-dub data check`)" if self.skipped_entries else ""),
            f"audio dubbed     {self.audio_seconds:.1f} s",
            f"processing       {self.processing_seconds:.1f} s (+ {self.load_seconds:.1f} s loading models)",
            f"real-time factor {self.rtf:.3f} (processing seconds per audio second)",
            f"wall time        {self.wall_seconds:.1f} s ({per_hour:.0f} clips/hour)",
        ]

    def as_dict(self) -> dict[str, Any]:
        """The ``summary.json`` object."""
        return {"selected": self.selected, "already_done": self.already_done, "done": self.done,
                "no_speech": dict(self.nothing_spoken), "missing_audio": self.missing, "failed": dict(self.failed),
                "missing_video": dict(self.missing_video), "videos_added": self.videos_added,
                "duration_mismatch": self.duration_mismatch, "skipped_entries": len(self.skipped_entries),
                "skipped_entry_list": list(self.skipped_entries), "audio_seconds": self.audio_seconds,
                "processing_seconds": self.processing_seconds, "load_seconds": self.load_seconds,
                "wall_seconds": self.wall_seconds, "real_time_factor": self.rtf, "profile": self.profile,
                "whisper": self.whisper,
                "speech_seconds": round(self.speech_seconds, 3), "covered_seconds": round(self.covered_seconds, 3),
                "coverage": None if self.overall_coverage is None else round(self.overall_coverage, 4),
                "en_words_per_speech_second": round(self.en_words / self.speech_seconds, 3)
                if self.speech_seconds else None,
                "quality_flags": dict(self.quality_flags), "hallucinations": self.hallucinations,
                "delooped": self.delooped}
