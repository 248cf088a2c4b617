"""``baseline-dub run``: dub a whole split (resumable, shardable), print the summary.

Exit code: 0 when every clip with audio was dubbed (``done``, or ``no_speech``: a clip with nothing to
speak is an outcome, dubbed as its backing alone), 1 when any clip failed (reasons in the manifest and
printed; also the clips an archive that broke in the middle of the run never reached), 2 for a bad option, data
(none of the selected clips has audio, say) or output folder, or an output shard another run holds (nothing
dubbed).
"""

from __future__ import annotations

import argparse
import sys

from baseline_dub.commands import add_data_options, add_model_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="dub every clip of a dataset split (resumable)")
    parser.add_argument("--split", default="test", help="train, val or test (default test)")
    add_data_options(parser, "Anim-400K folder: the annotations and the audio as downloaded, joined or extracted "
                             "(default: the bundled sample)")
    parser.add_argument("--out", default="runs/baseline", help="output folder (default runs/baseline)")
    parser.add_argument("--shard", default=None, help="I/N: only the clips whose id hashes to I mod N")
    parser.add_argument("--limit", type=int, default=None, help="at most N clips (of this shard)")
    parser.add_argument("--keep", action="store_true", help="also keep each clip's vocals and backing stems")
    parser.add_argument("--video", action="store_true",
                        help="also write each clip's dubbed video <clip>.mp4 from the dataset's anim400k_video_clips "
                             "(video stream copied, dub and original audio tracks, English subtitles)")
    parser.add_argument("--batch-clips", type=int, default=1, help="clips per stage batch (GPU: 8 or more)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--ray", default=None, metavar="local|ADDRESS",
                        help="run on Ray: 'local' starts a cluster here, or a cluster address")
    parser.add_argument("--actors", type=int, default=None, help="Ray pipeline actors (default: one per GPU, "
                        "else one per --cpus-per-actor cores)")
    parser.add_argument("--cpus-per-actor", type=int, default=1, help="CPU cores per Ray actor (default 1)")
    parser.add_argument("--no-lock", action="store_true",
                        help="do not lock the output shard (only for file systems without flock: then make sure "
                             "no other run writes the same shard; stray .part files are left alone)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baseline_dub.errors import ConfigError
    from baseline_dub.runner.split import RunOptions, parse_shard, run_split

    for option, value in (("--actors", args.actors), ("--cpus-per-actor", args.cpus_per_actor)):
        if value is not None and value < 1:
            raise ConfigError(f"{option} {value}: must be 1 or more")
    opts = RunOptions(
        split=args.split, data=args.data, annotations=args.annotations, out=args.out, profile=args.profile,
        device=args.device,
        config_path=args.config, shard=parse_shard(args.shard) if args.shard else None, limit=args.limit,
        keep=args.keep, video=args.video, batch_clips=args.batch_clips, progress=not args.no_progress,
        lock=not args.no_lock, whisper=args.whisper,
    )
    if args.ray:
        from baseline_dub.runner.ray_backend import run_split_ray

        summary = run_split_ray(opts, args.ray, actors=args.actors, cpus_per_actor=args.cpus_per_actor)
    else:
        summary = run_split(opts)
    print("\n".join(summary.lines()))
    if summary.n_failed:
        print(f"{summary.n_failed} clip(s) failed: their reasons are in the manifest under {args.out}/{args.split}/",
              file=sys.stderr)
        return 1
    return 0
