"""``baseline-dub data check``: what an Anim-400K copy (or the bundled sample) holds, split by split."""

from __future__ import annotations

import argparse

from baseline_dub.data.dataset import Dataset


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="inspect a dataset: clips, audio, missing audio, skipped entries")
    parser.add_argument("action", choices=("check",))
    parser.add_argument("--data", default=None,
                        help="folder with anim400k_annotations*.json and the audio (default: bundled sample)")
    parser.add_argument("--split", default=None, help="one split (default: all)")
    parser.add_argument("--show-missing", type=int, default=20, metavar="N",
                        help="list at most N missing clip ids per split (default 20)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print per split: clips, with audio, missing audio, multi-speaker, skipped; exit 0."""
    dataset = Dataset.open(args.data, splits=[args.split] if args.split else None)
    print(f"annotations: {dataset.annotations}")
    print(f"audio:       {dataset.source.describe()}")
    print(f"{'split':8s} {'clips':>7s} {'audio':>7s} {'missing':>8s} {'multi':>7s} {'skipped':>8s}")
    summaries = [dataset.summary(s) for s in dataset.splits()]
    for s in summaries:
        print(f"{s.split:8s} {s.clips:7d} {s.with_audio:7d} {len(s.missing):8d} {s.multi_speaker:7d} {s.skipped:8d}")
    for s in summaries:
        for cid in s.missing[: args.show_missing]:
            print(f"missing audio: {s.split} {cid}")
        if len(s.missing) > args.show_missing:
            print(f"missing audio: {s.split} ... and {len(s.missing) - args.show_missing} more")
    for entry in dataset.skipped:
        print(f"skipped: {entry}")
    return 0
