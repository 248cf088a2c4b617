"""``baseline-dub diarize INPUT [--num-speakers N]``: single-speaker segments as RTTM lines on stdout."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from baseline_dub.audio import load_audio
from baseline_dub.commands import add_model_options
from baseline_dub.errors import ConfigError
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store
from baseline_dub.stages.types import Segment


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("diarize", help="split speech into single-speaker segments (RTTM on stdout)")
    parser.add_argument("input", help="an audio file (vocals or a full mix)")
    parser.add_argument("--num-speakers", type=int, default=None, help="how many speakers (a hint)")
    parser.add_argument("--single-speaker", action="store_true",
                        help="the clip has one speaker: trim it to speech unless the config diarizes every clip")
    add_model_options(parser, whisper=False)
    parser.set_defaults(func=run)


def rttm_lines(segments: list[Segment], uri: str) -> list[str]:
    """RTTM ``SPEAKER`` lines (NIST format: times in seconds, 3 decimals) for one file."""
    uri = re.sub(r"\s+", "_", uri) or "audio"
    return [f"SPEAKER {uri} 1 {s.start:.3f} {s.duration:.3f} <NA> <NA> {s.speaker} <NA> <NA>" for s in segments]


def run(args: argparse.Namespace) -> int:
    from baseline_dub.stages.diarize import load_diarizer  # torch: only when run (fast --help)
    if args.num_speakers is not None and args.num_speakers < 1:
        raise ConfigError(f"--num-speakers must be at least 1, got {args.num_speakers}")
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device)
    audio = load_audio(args.input)
    diarizer = load_diarizer(config, store)
    segments = diarizer.diarize(audio, args.num_speakers, False if args.single_speaker else None)
    for line in rttm_lines(segments, Path(args.input).stem):
        print(line)
    return 0
