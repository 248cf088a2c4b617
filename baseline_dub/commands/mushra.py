"""``baseline-dub mushra build|analyze``: a webMUSHRA listening test from a split run, and its results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from baseline_dub.commands import add_data_options
from baseline_dub.errors import ConfigError


def _system(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"--system takes NAME=DIR, got {text!r}")
    return name, Path(folder)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("mushra", help="build a webMUSHRA listening test, or analyse its results")
    actions = parser.add_subparsers(dest="mushra_command", required=True, metavar="ACTION")

    build = actions.add_parser("build", help="stimuli + webMUSHRA config from a split run's dubs")
    build.add_argument("--split", default="test", help="dataset split (default test)")
    add_data_options(build, "Anim-400K folder (default: the bundled sample)")
    build.add_argument("--dubs", required=True, type=Path,
                       help="the --out folder of `baseline-dub run` (holds SPLIT/manifest.jsonl)")
    build.add_argument("--system", action="append", type=_system, default=[], metavar="NAME=DIR",
                       help="another system's run folder (same layout), shown as condition NAME; repeatable")
    build.add_argument("--items", type=int, default=10, help="number of clips (pages) in the test (default 10)")
    build.add_argument("--seed", type=int, default=0, help="seed of the clip choice (default 0)")
    build.add_argument("--rate", type=int, default=48000, help="sample rate of every stimulus (default 48000)")
    build.add_argument("--lufs", type=float, default=-23.0, help="loudness of every stimulus (default -23)")
    build.add_argument("--max-seconds", type=float, default=12.0,
                       help="longest stimulus, at most 12 (default 12; longer clips keep their most speech-rich part)")
    build.add_argument("--out", required=True, type=Path,
                       help="output folder; its name becomes the test's name (copy it into webMUSHRA/configs/)")
    build.set_defaults(func=run_build)

    analyze = actions.add_parser("analyze", help="post-screening, mean and 95%% CI, box plot of mushra.csv")
    analyze.add_argument("results", type=Path, help="webMUSHRA's results/<testId>/mushra.csv")
    analyze.add_argument("--out", type=Path, default=None, help="report folder (default: beside RESULTS)")
    analyze.add_argument("--no-anchor-screening", action="store_true",
                         help="screen on the hidden reference only, not also on the mid anchor")
    analyze.set_defaults(func=run_analyze)


def run_build(args: argparse.Namespace) -> int:
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.mushra.stimuli import BuildOptions, build_mushra

    options = BuildOptions(split=args.split, items=args.items, seed=args.seed, rate=args.rate,
                           target_lufs=args.lufs, max_seconds=args.max_seconds)
    options.check()
    systems = dict(args.system)
    if len(systems) != len(args.system):
        raise ConfigError("two --system options share a NAME; give each system its own name")
    dataset = Dataset.open(args.data, annotations=args.annotations, splits=[args.split])
    dataset.require_split(args.split)
    clips = dataset.clips(args.split)
    if clips and not dataset.any_audio(clips, index=True):
        raise dataset.no_audio_error(args.split, len(clips))
    result = build_mushra(dataset, args.dubs, args.out, options, systems)
    print("\n".join(result.lines()))
    for s in result.skipped:
        print(f"skipped {s.clip_id}: {s.reason}", file=sys.stderr)
    if len(result.items) < options.items:
        print(f"warning: only {len(result.items)} of {options.items} requested items had gold EN audio and dubs",
              file=sys.stderr)
    print(f"serve it: copy {args.out} into webMUSHRA/configs/ and open "
          f"/?config={args.out.name}/{result.config.name} (see {args.out / 'README.txt'})")
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from baseline_dub.mushra.analysis import analyze, write_report

    results = analyze(args.results, mid_anchor_rule=not args.no_anchor_screening)
    out = args.out or args.results.parent
    paths = write_report(results, out)
    for warning in results.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print("\n".join(results.lines()))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
