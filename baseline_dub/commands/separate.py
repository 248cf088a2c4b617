"""``baseline-dub separate INPUT --out DIR``: DIR/vocals.wav and DIR/backing.wav (Spleeter 2 stems)."""

from __future__ import annotations

import argparse
from pathlib import Path

from baseline_dub.audio import load_audio, write_audio
from baseline_dub.commands import add_model_options
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``separate`` sub-command."""
    parser = sub.add_parser("separate", help="split audio into vocals and backing (Spleeter 2 stems)")
    parser.add_argument("input", help="any audio file soundfile or ffmpeg can read")
    parser.add_argument("--out", required=True, help="folder for vocals.wav and backing.wav")
    add_model_options(parser, whisper=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Separate one file; the stems keep the input's rate, channel count and length."""
    from baseline_dub.stages.separate import load_separator  # torch: only when run (fast --help)
    audio = load_audio(args.input)
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device)
    stems = load_separator(config, store).separate(audio)
    out = Path(args.out)
    for name, stem in (("vocals", stems.vocals), ("backing", stems.backing)):
        print(write_audio(out / f"{name}.wav", stem))
    return 0
