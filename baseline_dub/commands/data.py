"""``baseline-dub data check``: what an Anim-400K copy (or the bundled sample) holds, split by split."""

from __future__ import annotations

import argparse

from baseline_dub.commands import add_data_options
from baseline_dub.data.dataset import Dataset, SplitSummary


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="inspect a dataset: clips, audio, missing or bad audio, skipped entries")
    parser.add_argument("action", choices=("check",))
    add_data_options(parser, "folder with anim400k_annotations*.json and the audio, as downloaded, joined or "
                             "extracted (default: bundled sample)")
    parser.add_argument("--split", default=None, help="one split (default: all)")
    parser.add_argument("--show-missing", type=int, default=20, metavar="N",
                        help="list at most N missing (and N bad) clip ids per split (default 20)")
    parser.set_defaults(func=run)


def _listed(what: str, split: str, ids: tuple[str, ...], limit: int, suffix: str = "") -> list[str]:
    lines = [f"{what}: {split} {cid}{suffix}" for cid in ids[:limit]]
    if len(ids) > limit:
        lines.append(f"{what}: {split} ... and {len(ids) - limit} more")
    return lines


def _warnings(dataset: Dataset, summaries: list[SplitSummary]) -> list[str]:
    out = [f"warning: {w}" for w in dataset.source.warnings()]
    for s in summaries:
        if s.clips and not s.with_audio and not s.bad:
            out.append(f"warning: {dataset.no_audio_error(s.split, s.clips)}")
    return out


def run(args: argparse.Namespace) -> int:
    """Print the sources read, then per split: clips, with audio, missing audio, bad (0-byte) audio,
    multi-speaker, skipped; a warning when a split has no audio at all; exit 0."""
    dataset = Dataset.open(args.data, annotations=args.annotations, splits=[args.split] if args.split else None)
    print(f"annotations: {dataset.annotations}")
    print(f"audio:       {dataset.source.describe()}")
    if dataset.source.why:
        print(f"             ({dataset.source.why})")
    if dataset.has_videos:
        print(f"video:       {dataset.video_source.describe()}")
        if dataset.video_source.why:
            print(f"             ({dataset.video_source.why})")
    print(f"{'split':8s} {'clips':>7s} {'audio':>7s} {'missing':>8s} {'bad':>5s} {'multi':>7s} {'skipped':>8s}")
    summaries = [dataset.summary(s) for s in dataset.splits()]
    for s in summaries:
        print(f"{s.split:8s} {s.clips:7d} {s.with_audio:7d} {len(s.missing):8d} {len(s.bad):5d} {s.multi_speaker:7d} "
              f"{s.skipped:8d}")
    for s in summaries:
        for line in (_listed("missing audio", s.split, s.missing, args.show_missing)
                     + _listed("bad audio", s.split, s.bad, args.show_missing,
                               " (an empty, 0-byte file: download the audio again)")):
            print(line)
    for entry in dataset.skipped:
        print(f"skipped: {entry}")
    for line in _warnings(dataset, summaries):
        print(line)
    return 0
