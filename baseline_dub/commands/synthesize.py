"""``baseline-dub synthesize --text T --reference WAV --out WAV``: English speech in a reference's voice."""

from __future__ import annotations

import argparse
import json
import sys

from baseline_dub.audio import load_audio, write_audio
from baseline_dub.commands import add_model_options
from baseline_dub.errors import AudioError, StageError
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("synthesize", help="speak English text in the voice of a reference recording")
    parser.add_argument("--text", required=True, help="the English text to speak")
    parser.add_argument("--reference", required=True, help="audio of the voice to use (any format ffmpeg reads)")
    parser.add_argument("--out", required=True, help="output .wav or .flac")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed (default: the config's)")
    add_model_options(parser, whisper=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize ``--text`` with ``--reference``'s voice into ``--out``; provenance as JSON on stdout."""
    if not args.out.lower().endswith((".wav", ".flac")):
        raise AudioError(f"{args.out}: --out must end in .wav or .flac")
    reference = load_audio(args.reference)
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device)
    from baseline_dub.stages.synthesize import load_synthesizer

    result = load_synthesizer(config, store).synthesize(args.text, reference, seed=args.seed)
    if result.audio is None:
        hint = {"empty_text": "give --text some words to speak",
                "silent_reference": "--reference holds no sound; give a recording of the voice"}
        raise StageError(f"nothing was synthesized ({result.skipped}); {hint.get(result.skipped or '', '')}")
    write_audio(args.out, result.audio)
    info = {"out": args.out, "profile": config.profile, "voice_method": result.voice_method,
            "voice": result.voice, "voice_recipe": result.extra.get("voice_recipe"),
            "reference_seconds": round(result.reference_seconds, 3),
            "reference_source": result.reference_source, "similarity": result.similarity,
            "seconds": round(result.audio.duration, 3), "rate": result.audio.rate,
            "spoken_text": result.extra.get("spoken_text")}
    json.dump(info, sys.stdout)
    print()
    return 0
