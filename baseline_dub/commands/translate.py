"""``baseline-dub translate INPUT [--language ja|en|auto] [--json]``: English text of one speech file.

``--language en`` on English audio transcribes it (``task=transcribe``), which is how synthesized
speech is checked for intelligibility. ``--json`` prints the text with Whisper's evidence.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math

from baseline_dub.audio import load_audio
from baseline_dub.commands import add_model_options
from baseline_dub.profiles import resolve_config
from baseline_dub.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("translate", help="English text of a Japanese speech file (Whisper)")
    parser.add_argument("input", help="an audio file holding one speaker's speech")
    parser.add_argument("--language", default=None,
                        help="source language: ja (default from config), en (transcribe English), auto (detect)")
    parser.add_argument("--json", action="store_true", help="print JSON with the evidence")
    add_model_options(parser)
    parser.set_defaults(func=run)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run(args: argparse.Namespace) -> int:
    from baseline_dub.stages.translate import load_translator  # torch: only when run (fast --help)
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device)
    audio = load_audio(args.input)
    translator = load_translator(config, store)
    language = args.language or config.translate.language
    if language == "en":
        result = translator.transcribe_batch([audio], language="en")[0]
    else:
        result = translator.translate(audio, language)
    if args.json:
        record = dataclasses.asdict(result)
        record["avg_logprob"] = _finite(result.avg_logprob)
        record.update(profile=config.profile, model=translator.model_name,
                      sha256=store.sha256(translator.model_name), **translator.describe(), input=args.input)
        print(json.dumps(record, ensure_ascii=False, indent=1))
    else:
        print(result.text)
    return 0
