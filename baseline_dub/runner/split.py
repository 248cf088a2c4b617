"""The split runner: dub every clip of a split, resumably, recording each clip in the manifest.

Outputs mirror the dataset (``baseline_dub.runner.clip_files``). The manifest (``docs/manifest.md``) gets one
fsynced row per finished clip, so after a kill a rerun skips what is finished (``done``, and ``no_speech``
clips, whose dub is their backing alone) and redoes only the clip that was in flight. ``--shard I/N`` keeps
the clips whose id hashes to I mod N. Before any model loads, the output folder is checked and the run
takes its shard's lock (``baseline_dub.runner.lock``): a second run of the same shard stops at once, and
each run deletes only the stray ``.part`` files it owns. A selection none of whose clips has audio is an
error before any model loads (the models load once the first batch of audio is read). An archive that
breaks in the middle of a run ends the stream: the clips finished stay finished, those not reached are
recorded as failed with the archive's error, and the summary is printed as after any other failure.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from baseline_dub.atomic import atomic_write_text
from baseline_dub.errors import BaselineDubError, ConfigError, DataError, MissingAudioError
from baseline_dub.outputs.record import ClipRecord, Status
from baseline_dub.runner.clip_files import (  # noqa: F401  (output_paths, save_dub: part of this module's API)
    _now,
    add_video,
    failure_row,
    output_paths,
    prepare_out,
    result_rows,
    save_dub,
    stray_parts,
)
from baseline_dub.runner.lock import OutputLock
from baseline_dub.runner.manifest import (
    ManifestWriter,
    done_ids,
    manifest_name,
    read_manifest,
)
from baseline_dub.runner.shards import in_shard, is_whole_split, parse_shard  # noqa: F401
from baseline_dub.runner.stream import batched, chained, prefetched  # noqa: F401  (prefetched: part of the API)
from baseline_dub.runner.summary import RunSummary

if TYPE_CHECKING:
    from tqdm import tqdm

    from baseline_dub.audio import Audio
    from baseline_dub.data.annotations import Clip
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.outputs.dub import Dub
    from baseline_dub.pipeline import DubPipeline

    Decoded = tuple[Clip, Audio | BaselineDubError]  # a clip and its audio, or why it has none


@dataclass(frozen=True)
class RunOptions:
    """What to run: split, data source (``annotations``: the annotations file, when not the one in ``data``),
    output folder, profile (``whisper``: a Whisper release instead of the profile's own), shard, limit, batching;
    ``video``: also write each clip's dubbed video from the dataset's video clips."""

    split: str = "test"
    data: str | None = None
    annotations: str | None = None
    out: str = "runs/baseline"
    profile: str = "auto"
    device: str | None = None
    config_path: str | None = None
    shard: tuple[int, int] | None = None
    limit: int | None = None
    keep: bool = False
    video: bool = False
    batch_clips: int = 1
    progress: bool = True
    lock: bool = True
    whisper: str | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit {self.limit}: must be 1 or more (leave it out to run every clip)")
        if self.batch_clips < 1:
            raise ConfigError(f"--batch-clips {self.batch_clips}: must be 1 or more (1 on a CPU, 8 or more on a GPU)")


def select(dataset: Dataset, opts: RunOptions) -> list[Clip]:
    """The clips of this run: the split's clips in this shard, the first ``limit`` of them."""
    clips = [c for c in dataset.clips(opts.split) if in_shard(c.id, opts.shard)]
    return clips[: opts.limit] if opts.limit else clips


def dub_results(pipeline: DubPipeline, dataset: Dataset, batch: list[Decoded]
                ) -> tuple[list[tuple[Clip, Dub | BaselineDubError]], float]:
    """Dub a batch of (clip, audio or error) pairs: ``(clip, Dub or error)`` pairs and the audio seconds dubbed."""
    from baseline_dub.pipeline import clip_input

    ready = []
    outcome: dict[str, Dub | BaselineDubError] = {}
    for clip, audio in batch:
        if isinstance(audio, BaselineDubError):
            outcome[clip.id] = audio
            continue
        try:
            ready.append((clip, clip_input(clip, dataset, audio=audio)))
        except BaselineDubError as exc:
            outcome[clip.id] = exc
    results = pipeline.dub_batch([item for _, item in ready]) if ready else []
    for (clip, _), result in zip(ready, results, strict=True):
        outcome[clip.id] = result
    return [(clip, outcome[clip.id]) for clip, _ in batch], sum(item.audio.duration for _, item in ready)


def dub_rows(pipeline: DubPipeline, dataset: Dataset, batch: list[Decoded], split: str, out: Path,
             keep: bool, video: bool = False) -> tuple[list[ClipRecord], float]:
    """Dub a batch, write its outputs, return (manifest records, audio seconds): what a Ray actor does per
    batch."""
    started = _now()
    pairs, seconds = dub_results(pipeline, dataset, batch)
    return result_rows(pairs, split, out, keep, started, dataset.video if video else None), seconds


@dataclass
class _Run:
    """One run's plan and bookkeeping: what to do, its lock, the manifest writer, the summary, the progress bar."""

    opts: RunOptions
    dataset: Dataset
    out: Path
    todo: set[str]
    summary: RunSummary
    lock: OutputLock | None = None
    video_rows: dict[str, ClipRecord] = field(default_factory=dict)  # finished clips needing only a video
    recorded: set[str] = field(default_factory=set)  # clips given a manifest row by this run
    stream_errors: list[DataError] = field(default_factory=list)  # the archive error that ended the stream
    writer: ManifestWriter | None = None
    bar: tqdm | None = None
    started_at: float = field(default_factory=time.perf_counter)

    @property
    def split_dir(self) -> Path:
        return self.out / self.opts.split

    @property
    def summary_name(self) -> str:
        return manifest_name(self.opts.shard).replace("manifest", "summary").replace(".jsonl", ".json")

    @classmethod
    def plan(cls, opts: RunOptions) -> _Run:
        """Open the data, check the output folder and take the shard's lock (all before any model loads),
        then choose the clips not finished yet."""
        from baseline_dub.data.dataset import Dataset

        dataset = Dataset.open(opts.data, annotations=opts.annotations)
        dataset.require_split(opts.split)
        for note in (dataset.source.why, dataset.video_source.why if opts.video else ""):
            if note:
                print(f"data: {note}", file=sys.stderr)
        if opts.video and not dataset.has_videos:
            raise ConfigError(
                f"--video: the dataset at {dataset.annotations.parent} has no video clips (an "
                "anim400k_video_clips folder, or anim400k_video_clips.tar.gz and its .part-* files, beside the "
                "annotations); get them or run without --video")
        out = Path(opts.out)
        split_dir = prepare_out(out, opts.split)
        lock = OutputLock(split_dir, opts.shard).acquire() if opts.lock else None
        try:
            chosen = select(dataset, opts)
            done_before = done_ids(out, opts.split)
            video_rows: dict[str, ClipRecord] = {}
            if opts.video:  # finished by a run without --video, or before its video arrived: mux it now
                rows = read_manifest(split_dir)
                lacking = {cid for cid in done_before if lacks_video(rows[cid], out, dataset)}
                video_rows = {cid: rows[cid] for cid in lacking if has_subtitles(rows[cid], out)}
                done_before -= lacking - video_rows.keys()  # rows from before subtitles existed: dubbed again
            todo = {c.id for c in chosen if c.id not in done_before}
            if todo and len(todo) == len(chosen) and dataset.any_audio(chosen) is False:
                raise dataset.no_audio_error(opts.split, len(chosen))
            summary = RunSummary(selected=len(chosen), already_done=len(chosen) - len(todo),
                                 skipped_entries=[str(s) for s in dataset.skipped_in(opts.split)])
            run = cls(opts, dataset, out, todo, summary, lock, video_rows=video_rows)
            summary.summary_path = str(run.split_dir / run.summary_name)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return run

    def start(self, pipeline_profile: str | None, load_seconds: float, whisper: str | None = None) -> None:
        """Delete the stray temporary files this run owns, open the manifest and the progress bar; the summary
        records the profile and the Whisper (release) that dub."""
        from tqdm import tqdm

        self.summary.profile = pipeline_profile
        self.summary.whisper = whisper
        self.summary.load_seconds = load_seconds
        if self.lock is not None:  # without the lock another run may own any of them: leave them be
            for stale in stray_parts(self.split_dir, self.opts.shard, is_whole_split(self.opts.shard),
                                     {self.summary_name}):
                stale.unlink(missing_ok=True)  # a temporary file left by a kill: never an output
        self.writer = ManifestWriter(self.split_dir / manifest_name(self.opts.shard))
        self.bar = tqdm(total=len(self.todo), unit="clip", disable=not self.opts.progress, file=sys.stderr,
                        desc=f"dub {self.opts.split}")
        for cid, row in sorted(self.video_rows.items()):
            try:
                source: Audio | BaselineDubError = self.dataset.audio(cid)
            except BaselineDubError as exc:
                source = exc
            row = add_video(row, source, self.dataset.video, self.out)
            self.writer.write(row)
            self.summary.videos_added += row.video is not None and row.video.path is not None
            self._count_video(row)

    def _count_video(self, row: ClipRecord) -> None:
        """Count and say a ``--video`` clip whose dubbed video could not be made."""
        from tqdm import tqdm

        if row.video is not None and row.video.reason:
            self.summary.missing_video[row.video.reason] += 1
            tqdm.write(f"video: {row.video.error}", file=sys.stderr)

    def record(self, rows: list[ClipRecord], audio_seconds: float, processing_seconds: float,
               quiet: bool = False) -> None:
        """Write rows to the manifest (durably) and count them; ``quiet``: no line per failed row."""
        from tqdm import tqdm

        assert self.writer is not None
        self.summary.audio_seconds += audio_seconds
        self.summary.processing_seconds += processing_seconds
        for row in rows:
            self.writer.write(row)
            self.recorded.add(row.clip_id)
            self._count_video(row)
            if row.duration_mismatch is not None:
                self.summary.duration_mismatch += 1
                tqdm.write(f"duration: {row.warning}", file=sys.stderr)
            if row.has_dub:
                self.summary.add_coverage(row)
                for note in row.quality_flags.values():
                    tqdm.write(f"clip {row.clip_id}: {note}", file=sys.stderr)
            if row.status == Status.DONE:
                self.summary.done += 1
            elif row.status == Status.NO_SPEECH:
                self.summary.nothing_spoken[str(row.reason)] += 1
                tqdm.write(f"no speech: {row.note}", file=sys.stderr)
            elif row.status == Status.MISSING_AUDIO:
                self.summary.missing += 1
                tqdm.write(f"missing: {row.error}", file=sys.stderr)
            else:
                self.summary.failed[str(row.reason)] += 1
                if not quiet:
                    tqdm.write(f"failed: {row.error}", file=sys.stderr)
            self.bar.update(1)

    def stream(self) -> Iterator[list[Decoded]]:
        """The batches of (clip, audio or error) to dub, decoded ahead by a thread; an archive error ends it and
        is kept in ``stream_errors``."""
        def until_error(pairs: Iterator[Decoded]) -> Iterator[Decoded]:
            try:
                yield from pairs
            except DataError as exc:
                self.stream_errors.append(exc)

        pairs = ((c, a) for c, a in self.dataset.stream(self.opts.split) if c.id in self.todo)
        return prefetched(batched(until_error(pairs), self.opts.batch_clips), depth=2)

    def first_batch(self, batches: Iterator[list[Decoded]]) -> list[Decoded] | None:
        """The first batch, read before any model loads: an archive error before any clip, or a selection none
        of whose clips has audio (an archive yields the missing clips last), is raised here."""
        first = next(batches, None)
        if first is None and self.stream_errors:
            raise self.stream_errors[0]
        if (first and self.dataset.missing_come_last and isinstance(first[0][1], MissingAudioError)
                and self.summary.already_done == 0):
            raise self.dataset.no_audio_error(self.opts.split, self.summary.selected)
        return first

    def record_unreached(self) -> None:
        """After an archive error: a failed row for each clip to do that the stream never reached, one line."""
        from tqdm import tqdm

        if not self.stream_errors:
            return
        error = self.stream_errors[0]
        started = _now()
        unreached = [c for c in self.dataset.clips(self.opts.split) if c.id in self.todo - self.recorded]
        rows = [failure_row(c, self.opts.split, DataError(
            f"not read, the audio archive broke before it: {error}; the clips finished are kept, rerun after "
            "downloading again", clip=c.id), started) for c in unreached]
        tqdm.write(f"failed: {error} ({len(rows)} clip(s) not read)", file=sys.stderr)
        self.record(rows, 0.0, 0.0, quiet=True)

    def finish(self) -> RunSummary:
        """Close the manifest, write the summary file, release the lock; returns the summary."""
        try:
            self.summary.wall_seconds = time.perf_counter() - self.started_at
            if self.bar is not None:
                self.bar.close()
            if self.writer is not None:
                self.writer.close()
            atomic_write_text(self.split_dir / self.summary_name, json.dumps(self.summary.as_dict(), indent=1))
        finally:
            self.close()
        return self.summary

    def close(self) -> None:
        """Release the lock (idempotent): after ``finish``, or when the run stops before it starts."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def has_subtitles(row: ClipRecord, out: Path) -> bool:
    """Whether a finished clip's record names its English SubRip file and the file is there (to mux a video)."""
    return row.subtitles is not None and bool(row.subtitles.en_srt) and (out / row.subtitles.en_srt).is_file()


def lacks_video(row: ClipRecord, out: Path, dataset: Dataset) -> bool:
    """A finished clip whose dubbed video is not on disk although the dataset now holds its video clip."""
    path = row.video.path if row.video is not None else None
    return not (path and (out / path).is_file()) and dataset.has_video(row.clip_id)


def run_split(opts: RunOptions, pipeline: DubPipeline | None = None) -> RunSummary:
    """Dub the selected clips not yet finished; returns the summary (also written to ``summary.json``).

    Three things overlap, each bounded: a thread decodes the next batches of audio (two ahead), the main
    thread runs the models, and a writer thread writes finished dubs and their manifest rows (at most two
    batches waiting), so that neither decoding nor writing leaves the GPU idle. The models load after the
    first batch is read (``_Run.first_batch``).
    """
    from baseline_dub.pipeline import DubPipeline

    run = _Run.plan(opts)
    try:
        batches = run.stream() if run.todo else iter(())
        first = run.first_batch(batches) if run.todo else None
        if first is not None and pipeline is None:
            pipeline = DubPipeline(opts.profile, device=opts.device, config_path=opts.config_path,
                                   whisper=opts.whisper)
        run.start(pipeline.config.profile if pipeline is not None else None, getattr(pipeline, "load_seconds", 0.0),
                  pipeline.provenance.get("whisper") if pipeline is not None else None)
    except BaseException:
        run.close()
        raise
    pending_writes: deque[Future] = deque()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline-dub-write") as writer:
            for batch in chained(first, batches):
                started, t0 = _now(), time.perf_counter()
                pairs, seconds = dub_results(pipeline, run.dataset, batch)
                elapsed = time.perf_counter() - t0

                def write(pairs=pairs, seconds=seconds, elapsed=elapsed, started=started) -> None:
                    t1 = time.perf_counter()
                    rows = result_rows(pairs, opts.split, run.out, opts.keep, started,
                                       run.dataset.video if opts.video else None)
                    run.record(rows, seconds, elapsed + time.perf_counter() - t1)

                pending_writes.append(writer.submit(write))
                while len(pending_writes) > 2 or (pending_writes and pending_writes[0].done()):
                    pending_writes.popleft().result()  # bounded: at most two batches waiting to be written
            while pending_writes:
                pending_writes.popleft().result()
        run.record_unreached()
    finally:
        summary = run.finish()
    return summary

