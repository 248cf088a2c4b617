"""The split runner: dub every clip of a split, resumably, recording each clip in the manifest.

Outputs mirror the dataset: ``OUT/<split>/<id_folder>/<clip>.wav`` (written atomically), with each
segment's synthesis in ``OUT/<split>/<id_folder>/<clip>/seg-NN.flac``. The manifest
(``docs/manifest.md``) gets one fsynced row per finished clip, so after a kill a rerun skips what is done
and redoes only the clip that was in flight. ``--shard I/N`` keeps the clips whose id hashes to I mod N.
"""

from __future__ import annotations

import hashlib
import os
import queue
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline_dub.atomic import atomic_write_text
from baseline_dub.errors import BaselineDubError, ConfigError, MissingAudioError
from baseline_dub.runner.manifest import DONE, FAILED, MISSING, ManifestWriter, done_ids, manifest_name


@dataclass(frozen=True)
class RunOptions:
    """What to run: split, data source, output folder, profile, shard, limit, batching."""

    split: str = "test"
    data: str | None = None
    out: str = "runs/baseline"
    profile: str = "auto"
    device: str | None = None
    config_path: str | None = None
    shard: tuple[int, int] | None = None
    limit: int | None = None
    keep: bool = False
    batch_clips: int = 1
    progress: bool = True


@dataclass
class RunSummary:
    """Counts and cost of one run (``already_done`` are clips skipped because a previous run did them)."""

    selected: int = 0
    already_done: int = 0
    done: int = 0
    missing: int = 0
    failed: Counter = field(default_factory=Counter)
    audio_seconds: float = 0.0
    processing_seconds: float = 0.0
    load_seconds: float = 0.0
    wall_seconds: float = 0.0
    profile: str | None = None

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds of processing per second of audio dubbed (model loading excluded)."""
        return self.processing_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def lines(self) -> list[str]:
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        per_hour = 3600 * (self.done + self.n_failed) / self.wall_seconds if self.wall_seconds else 0.0
        return [
            f"profile          {self.profile}",
            f"clips selected   {self.selected} (already done before this run: {self.already_done})",
            f"done             {self.done}",
            f"missing audio    {self.missing}",
            f"failed           {self.n_failed} ({failed})",
            f"audio dubbed     {self.audio_seconds:.1f} s",
            f"processing       {self.processing_seconds:.1f} s (+ {self.load_seconds:.1f} s loading models)",
            f"real-time factor {self.rtf:.3f} (processing seconds per audio second)",
            f"wall time        {self.wall_seconds:.1f} s ({per_hour:.0f} clips/hour)",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {"selected": self.selected, "already_done": self.already_done, "done": self.done,
                "missing_audio": self.missing, "failed": dict(self.failed), "audio_seconds": self.audio_seconds,
                "processing_seconds": self.processing_seconds, "load_seconds": self.load_seconds,
                "wall_seconds": self.wall_seconds,
                "real_time_factor": self.rtf, "profile": self.profile}


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 0 <= I < N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/8") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def in_shard(clip_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic partition by the clip id's sha1, independent of order and machine."""
    if shard is None:
        return True
    return int(hashlib.sha1(clip_id.encode()).hexdigest(), 16) % shard[1] == shard[0]


def output_paths(out: Path, split: str, clip_id: str) -> tuple[Path, Path]:
    """(dub wav, parts folder) for a clip id such as ``db/db019ebb-...``."""
    rel = Path(split) / clip_id
    return out / rel.with_name(rel.name + ".wav"), out / rel


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def base_row(clip: Any, split: str) -> dict[str, Any]:
    return {"clip_id": clip.id, "split": split, "jp_text": clip.jp_text, "en_text": clip.en_text,
            "host": socket.gethostname(), "worker": f"pid-{os.getpid()}"}


def failure_row(clip: Any, split: str, error: BaselineDubError, started: str) -> dict[str, Any]:
    status = MISSING if isinstance(error, MissingAudioError) else FAILED
    return {**base_row(clip, split), "status": status, "reason": error.reason, "error": str(error),
            "output": None, "parts": None, "started": started, "finished": _now()}


def save_dub(dub: Any, clip: Any, split: str, out: Path, keep: bool, started: str) -> dict[str, Any]:
    """Write a clip's outputs atomically and return its manifest row."""
    from baseline_dub.audio import write_audio

    wav, parts = output_paths(out, split, clip.id)
    t0 = time.perf_counter()
    files = dub.save_parts(parts, stems=keep)
    write_audio(wav, dub.audio)
    record = dub.record()
    record["stage_seconds"]["write"] = round(time.perf_counter() - t0, 4)
    return {**base_row(clip, split), **record, "status": DONE, "reason": None, "error": None,
            "output": str(wav.relative_to(out)), "parts": str(parts.relative_to(out)),
            "segments": dub.segment_rows(files), "started": started, "finished": _now()}


def select(dataset: Any, opts: RunOptions) -> list[Any]:
    """The clips of this run: the split's clips in this shard, the first ``limit`` of them."""
    clips = [c for c in dataset.clips(opts.split) if in_shard(c.id, opts.shard)]
    return clips[: opts.limit] if opts.limit else clips


def _batches(stream: Iterator[tuple[Any, Any]], size: int) -> Iterator[list[tuple[Any, Any]]]:
    batch: list[tuple[Any, Any]] = []
    for pair in stream:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def dub_results(pipeline: Any, dataset: Any, batch: list[tuple[Any, Any]]) -> tuple[list[tuple[Any, Any]], float]:
    """Dub a batch of (clip, audio or error) pairs: ``(clip, Dub or error)`` pairs and the audio seconds dubbed."""
    from baseline_dub.pipeline import clip_input

    ready, outcome = [], {}
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


def result_rows(pairs: list[tuple[Any, Any]], split: str, out: Path, keep: bool, started: str) -> list[dict[str, Any]]:
    """Write each dub's files atomically and return the manifest rows (failures recorded with their reason)."""
    rows = []
    for clip, result in pairs:
        if isinstance(result, BaselineDubError):
            rows.append(failure_row(clip, split, result, started))
            continue
        try:
            rows.append(save_dub(result, clip, split, out, keep, started))
        except (BaselineDubError, OSError) as exc:
            err = exc if isinstance(exc, BaselineDubError) else BaselineDubError(f"cannot write output: {exc}")
            rows.append(failure_row(clip, split, err, started))
    return rows


def dub_rows(pipeline: Any, dataset: Any, batch: list[tuple[Any, Any]], split: str, out: Path,
             keep: bool) -> tuple[list[dict[str, Any]], float]:
    """Dub a batch, write its outputs, return (manifest rows, audio seconds): what a Ray actor does per batch."""
    started = _now()
    pairs, seconds = dub_results(pipeline, dataset, batch)
    return result_rows(pairs, split, out, keep, started), seconds


def prefetched(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """Iterate ``items`` produced by a background thread, at most ``depth`` ahead (decoding overlaps dubbing)."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    done = object()

    def produce() -> None:
        try:
            for item in items:
                buffer.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put((done, exc))
            return
        buffer.put((done, None))

    threading.Thread(target=produce, daemon=True, name="baseline-dub-decode").start()
    while True:
        item = buffer.get()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is done:
            if item[1] is not None:
                raise item[1]
            return
        yield item


@dataclass
class _Run:
    """One run's plan and bookkeeping: what to do, the manifest writer, the summary, the progress bar."""

    opts: RunOptions
    dataset: Any
    out: Path
    todo: set[str]
    summary: RunSummary
    writer: ManifestWriter | None = None
    bar: Any = None
    started_at: float = field(default_factory=time.perf_counter)

    @classmethod
    def plan(cls, opts: RunOptions) -> _Run:
        from baseline_dub.data.dataset import Dataset

        dataset = Dataset.open(opts.data)
        if opts.split not in dataset.splits():
            raise ConfigError(
                f"split {opts.split!r} is not in the annotations; splits: {', '.join(dataset.splits())}")
        out = Path(opts.out)
        chosen = select(dataset, opts)
        done_before = done_ids(out, opts.split)
        todo = {c.id for c in chosen if c.id not in done_before}
        summary = RunSummary(selected=len(chosen), already_done=len(chosen) - len(todo))
        return cls(opts, dataset, out, todo, summary)

    def start(self, pipeline_profile: str | None, load_seconds: float) -> None:
        from tqdm import tqdm

        self.summary.profile = pipeline_profile
        self.summary.load_seconds = load_seconds
        split_dir = self.out / self.opts.split
        if self.opts.shard is None and split_dir.is_dir():  # shards may run at once: leave their files be
            for stale in split_dir.rglob(".*.part"):
                stale.unlink(missing_ok=True)  # a temporary file left by a kill: never an output
        self.writer = ManifestWriter(self.out / self.opts.split / manifest_name(self.opts.shard))
        self.bar = tqdm(total=len(self.todo), unit="clip", disable=not self.opts.progress, file=sys.stderr,
                        desc=f"dub {self.opts.split}")

    def record(self, rows: list[dict[str, Any]], audio_seconds: float, processing_seconds: float) -> None:
        """Write rows to the manifest (durably) and count them."""
        from tqdm import tqdm

        assert self.writer is not None
        self.summary.audio_seconds += audio_seconds
        self.summary.processing_seconds += processing_seconds
        for row in rows:
            self.writer.write(row)
            if row["status"] == DONE:
                self.summary.done += 1
            elif row["status"] == MISSING:
                self.summary.missing += 1
                tqdm.write(f"missing: {row['error']}", file=sys.stderr)
            else:
                self.summary.failed[row["reason"]] += 1
                tqdm.write(f"failed: {row['error']}", file=sys.stderr)
            self.bar.update(1)

    def finish(self) -> RunSummary:
        import json

        self.summary.wall_seconds = time.perf_counter() - self.started_at
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()
        name = manifest_name(self.opts.shard).replace("manifest", "summary").replace(".jsonl", ".json")
        path = self.out / self.opts.split / name
        atomic_write_text(path, json.dumps(self.summary.as_dict(), indent=1))
        return self.summary


def run_split(opts: RunOptions, pipeline: Any = None) -> RunSummary:
    """Dub the selected clips not yet done; returns the summary (also written to ``summary.json``).

    Three things overlap, each bounded: a thread decodes the next batches of audio (two ahead), the main
    thread runs the models, and a writer thread writes finished dubs and their manifest rows (at most two
    batches waiting), so that neither decoding nor writing leaves the GPU idle.
    """
    from baseline_dub.pipeline import DubPipeline

    run = _Run.plan(opts)
    if run.todo and pipeline is None:
        pipeline = DubPipeline(opts.profile, device=opts.device, config_path=opts.config_path)
    run.start(pipeline.config.profile if pipeline is not None else None, getattr(pipeline, "load_seconds", 0.0))
    pending_writes: deque[Future] = deque()
    try:
        stream = ((c, a) for c, a in run.dataset.stream(opts.split) if c.id in run.todo)
        batches = prefetched(_batches(stream, max(1, opts.batch_clips)), depth=2)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline-dub-write") as writer:
            for batch in batches:
                started, t0 = _now(), time.perf_counter()
                pairs, seconds = dub_results(pipeline, run.dataset, batch)
                elapsed = time.perf_counter() - t0

                def write(pairs=pairs, seconds=seconds, elapsed=elapsed, started=started) -> None:
                    t1 = time.perf_counter()
                    rows = result_rows(pairs, opts.split, run.out, opts.keep, started)
                    run.record(rows, seconds, elapsed + time.perf_counter() - t1)

                pending_writes.append(writer.submit(write))
                while len(pending_writes) > 2 or (pending_writes and pending_writes[0].done()):
                    pending_writes.popleft().result()  # bounded: at most two batches waiting to be written
            while pending_writes:
                pending_writes.popleft().result()
    finally:
        summary = run.finish()
    return summary
