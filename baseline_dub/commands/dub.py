"""``baseline-dub dub INPUT --out WAV``: dub one audio file (``--video IN.mp4``: and its video)."""

from __future__ import annotations

import argparse
import json

from baseline_dub.commands import add_model_options


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dub", help="dub one audio file into English")
    parser.add_argument("input", nargs="?", default=None,
                        help="any audio file soundfile or ffmpeg reads (default: the --video file's audio)")
    parser.add_argument("--out", required=True, help="the dub (.wav or .flac); its subtitles are written beside it "
                                                     "(OUT.en.vtt, OUT.en.srt)")
    parser.add_argument("--video", default=None, metavar="IN.mp4",
                        help="also write the dubbed video OUT.mp4: this video's stream copied, the dub then the "
                             "original audio as tracks (eng, jpn), the English subtitles as a soft track")
    parser.add_argument("--mixing-ratio", type=float, default=None,
                        help="vocal weight in [0, 1] (default: estimated from the input)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="also write stems, each synthesis and dub.json into DIR")
    parser.add_argument("--single-speaker", action="store_true", help="skip diarization (one speaker)")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from baseline_dub.audio import load_audio, write_audio
    from baseline_dub.errors import ConfigError
    from baseline_dub.outputs.record import dub_json
    from baseline_dub.outputs.subtitles import write_subtitles
    from baseline_dub.outputs.video import mux_dub, probe_video
    from baseline_dub.pipeline import DubInput, DubPipeline

    if args.mixing_ratio is not None and not 0.0 <= args.mixing_ratio <= 1.0:
        raise ConfigError(f"--mixing-ratio {args.mixing_ratio}: must be between 0 and 1")
    source = args.input or args.video
    if source is None:
        raise ConfigError("dub: pass INPUT (an audio file) or --video IN.mp4 (its audio is dubbed)")
    if args.video:
        probe_video(args.video)  # a bad video fails before any model loads
    item = DubInput(audio=load_audio(source), clip_id=source, mixing_ratio=args.mixing_ratio,
                    ratio_source="given" if args.mixing_ratio is not None else None,
                    multi_speaker=False if args.single_speaker else None)
    pipeline = DubPipeline(args.profile, device=args.device, config_path=args.config, whisper=args.whisper)
    dub = pipeline.dub(item)
    out = Path(args.out)
    write_audio(out, dub.audio)
    record = dub.record()
    subs = write_subtitles(out, record.segments, dub.source.duration)
    video = mux_dub(args.video, dub.audio, dub.source, subs["en_srt"], out.with_suffix(".mp4")) if args.video else None
    if args.keep:
        dub.save(args.keep)
    print(json.dumps({"out": args.out, "subtitles": [str(p) for p in subs.values()],
                      **({"video": str(video)} if video else {}),
                      **{k: v for k, v in dub_json(record, {}).items()
                         if k not in ("models", "segments", "provenance")},
                      "texts": dub.texts}, ensure_ascii=False, indent=1))
    return 0
