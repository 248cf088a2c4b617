"""``baseline-dub translate INPUT [--language ja|en|auto] [--json]``: English text of one speech file.

``--language en`` on English audio transcribes it (``task=transcribe``), which is how synthesized
speech is checked for intelligibility. ``--json`` prints the text with Whisper's evidence. The no-speech rule
is the pipeline's: silero VAD first (no speech heard: ``skipped: no_speech``, nothing decoded; speech: the
input trimmed to it), then Whisper's rules.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from typing import TYPE_CHECKING

from baseline_dub.audio import Audio, load_audio
from baseline_dub.commands import add_model_options
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store
from baseline_dub.models.whispers import whisper_of
from baseline_dub.stages.types import Translation

if TYPE_CHECKING:
    from baseline_dub.config import Config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("translate", help="English text of a Japanese speech file (Whisper)")
    parser.add_argument("input", help="an audio file holding one speaker's speech")
    parser.add_argument("--language", default=None,
                        help="source language: ja (default from config), en (transcribe English), auto (detect)")
    parser.add_argument("--json", action="store_true", help="print JSON with the evidence")
    add_model_options(parser)
    parser.set_defaults(func=run)


def _speech(audio: Audio, config: Config, store: Store) -> Audio | None:
    """The pipeline's no-speech rule, applied to the input: voice activity first (silero VAD, as the pipeline
    runs it on a clip's vocals), so audio in which it hears no speech is no speech, and speech is trimmed to
    it as a single-speaker clip is; Whisper's own rules then judge the text."""
    from baseline_dub.stages.diarize import SpeechDetector, speech_span

    cfg = config.diarize
    span = speech_span(SpeechDetector(store.path(cfg.vad_model), cfg.vad_threshold).speech(audio),
                       cfg.speech_pad_seconds, audio.duration)
    return None if span is None else audio.slice(*span)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run(args: argparse.Namespace) -> int:
    from baseline_dub.stages.translate import load_translator  # torch: only when run (fast --help)
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device, whisper=args.whisper,
                            task="transcribe" if args.language == "en" else "translate")
    audio = load_audio(args.input)
    translator = load_translator(config, store)
    language = args.language or config.translate.language
    speech = _speech(audio, config, store)
    if speech is None:
        result = Translation.nothing("no_speech")
    elif language == "en":
        result = translator.transcribe_batch([speech], language="en")[0]
    else:
        result = translator.translate(speech, language)
    if args.json:
        record = dataclasses.asdict(result)
        record["avg_logprob"] = _finite(result.avg_logprob)
        record.update(profile=config.profile, whisper=whisper_of(config, store), model=translator.model_name,
                      sha256=store.sha256(translator.model_name), **translator.describe(), input=args.input)
        print(json.dumps(record, ensure_ascii=False, indent=1))
    else:
        print(result.text)
    return 0
