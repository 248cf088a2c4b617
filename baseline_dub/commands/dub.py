"""``baseline-dub dub INPUT --out WAV``: dub one audio file."""

from __future__ import annotations

import argparse
import json

from baseline_dub.commands import add_model_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dub", help="dub one audio file into English")
    parser.add_argument("input", help="any audio file soundfile or ffmpeg reads")
    parser.add_argument("--out", required=True, help="the dub (.wav or .flac)")
    parser.add_argument("--mixing-ratio", type=float, default=None,
                        help="vocal weight in [0, 1] (default: estimated from the input)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="also write stems, each synthesis and dub.json into DIR")
    parser.add_argument("--single-speaker", action="store_true", help="skip diarization (one speaker)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from baseline_dub.audio import load_audio, write_audio
    from baseline_dub.errors import ConfigError
    from baseline_dub.pipeline import DubInput, DubPipeline

    if args.mixing_ratio is not None and not 0.0 <= args.mixing_ratio <= 1.0:
        raise ConfigError(f"--mixing-ratio {args.mixing_ratio}: must be between 0 and 1")
    item = DubInput(audio=load_audio(args.input), clip_id=args.input, mixing_ratio=args.mixing_ratio,
                    ratio_source="given" if args.mixing_ratio is not None else None,
                    multi_speaker=False if args.single_speaker else None)
    pipeline = DubPipeline(args.profile, device=args.device, config_path=args.config)
    dub = pipeline.dub(item)
    write_audio(args.out, dub.audio)
    if args.keep:
        dub.save(args.keep)
    print(json.dumps({"out": args.out, **{k: v for k, v in dub.record().items() if k != "models"},
                      "texts": dub.texts}, ensure_ascii=False, indent=1))
    return 0
