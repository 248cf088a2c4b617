"""The split runner on Ray: one pipeline actor per GPU (or per N CPU cores), same outputs and manifest.

The driver plans exactly as ``run_split`` does (same selection, shard and resume rules), sends batches of
clip ids to an ``ActorPool``, and is the only writer of the manifest. Each actor loads the models once,
reads its clips' audio by id (random access; a tarball is indexed once per actor) and writes the dub files
itself, so every node must see the data and the output folder at the same paths (a shared file system)
and have this package and its weights installed (``make setup models`` on each node, or a Ray
``runtime_env``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from baseline_dub.errors import BaselineDubError, ConfigError
from baseline_dub.outputs.record import ClipRecord
from baseline_dub.runner.split import RunOptions, RunSummary, _Run, dub_rows


class PipelineActor:
    """Holds one ``DubPipeline`` and the dataset; ``dub(ids)`` returns manifest rows for those clips."""

    def __init__(self, options: dict[str, Any], threads: int) -> None:
        import torch

        from baseline_dub.data.dataset import Dataset
        from baseline_dub.pipeline import DubPipeline

        torch.set_num_threads(max(1, threads))
        self.opts = RunOptions(**options)
        self.dataset = Dataset.open(self.opts.data, annotations=self.opts.annotations)
        self.clips = {c.id: c for c in self.dataset.clips(self.opts.split)}
        self.pipeline = DubPipeline(self.opts.profile, device=self.opts.device, config_path=self.opts.config_path,
                                    announce=False, whisper=self.opts.whisper)

    def describe(self) -> tuple[str, float, str]:
        return self.pipeline.config.profile, self.pipeline.load_seconds, self.pipeline.provenance["whisper"]

    def dub(self, ids: list[str]) -> tuple[list[ClipRecord], float, float]:
        t0 = time.perf_counter()
        pairs: list[tuple[Any, Any]] = []
        for cid in ids:
            try:
                pairs.append((self.clips[cid], self.dataset.audio(cid)))
            except BaselineDubError as exc:
                pairs.append((self.clips[cid], exc))
        rows, seconds = dub_rows(self.pipeline, self.dataset, pairs, self.opts.split, Path(self.opts.out),
                                 self.opts.keep, self.opts.video)
        worker = f"ray-{os.getpid()}"
        return [dataclasses.replace(row, worker=worker) for row in rows], seconds, time.perf_counter() - t0


def run_split_ray(opts: RunOptions, address: str = "local", actors: int | None = None,
                  cpus_per_actor: int = 1) -> RunSummary:
    """Run a split on a Ray cluster (``local`` starts one on this machine); returns the summary."""
    import ray
    from ray.util import ActorPool

    opts = RunOptions(**{**asdict(opts), "out": str(Path(opts.out).resolve()),
                         **{k: str(Path(getattr(opts, k)).resolve()) if getattr(opts, k) else None
                            for k in ("data", "annotations")}})
    run = _Run.plan(opts)  # holds the shard's lock from here: released by finish() or close()
    if not run.todo:
        run.start(None, 0.0)
        return run.finish()
    try:
        if address == "local":
            ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    except BaseException:
        run.close()
        raise
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus and opts.device != "cpu":
            n, options = actors or gpus, {"num_gpus": 1, "num_cpus": cpus_per_actor}
        else:
            cpus = int(resources.get("CPU", 1))
            n, options = actors or max(1, cpus // cpus_per_actor), {"num_cpus": cpus_per_actor}
        if n < 1:
            raise ConfigError("--actors must be at least 1")
        try:
            remote_cls = ray.remote(PipelineActor).options(**options)
            pool_actors = [remote_cls.remote(asdict(opts), cpus_per_actor) for _ in range(n)]
            profile, load_seconds, whisper = ray.get(pool_actors[0].describe.remote())
            run.start(profile, load_seconds, whisper)
        except BaseException:
            run.close()
            raise
        order = [c.id for c in run.dataset.clips(opts.split) if c.id in run.todo]
        size = opts.batch_clips
        batches = [order[i:i + size] for i in range(0, len(order), size)]
        pool = ActorPool(pool_actors)
        try:
            for rows, seconds, elapsed in pool.map_unordered(lambda a, ids: a.dub.remote(ids), batches):
                run.record(rows, seconds, elapsed)
        finally:
            summary = run.finish()
        return summary
    finally:
        ray.shutdown()
