"""``baseline-dub translate INPUT [--language ja|en|auto] [--json]``: the English of one speaker's speech file.

The file is translated as the pipeline translates a clip annotated single-speaker, by the same function
(``stages.diarize.single_speaker_utterances``): silero VAD finds its speech, the file is trimmed to it and cut at
its pauses into utterances of at most ``diarize.max_utterance_seconds``, and Whisper decodes each utterance under
the stage's rules (``stages.translate``). ``--language en`` on English audio transcribes it (``task=transcribe``),
which is how synthesized speech is checked for intelligibility; it goes the same way.

Output: one line of text per usable utterance, in order, and a note on stderr for each skipped one (its span and
why); ``--json`` prints JSON Lines instead, one object per utterance, skipped ones included (``start``, ``end``,
``text``, ``skipped``, Whisper's evidence, and the profile, model, sha256 and engine). Speech never gives an empty
output with exit status 0: when nothing usable comes out (no speech heard, or every utterance skipped) stderr
says why in one sentence naming the file and the exit status is 1 (:data:`NOTHING_USABLE`); an error (a file
that is not audio, a bad option) exits 2, as for every command.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from baseline_dub.audio import Audio, load_audio
from baseline_dub.commands import add_model_options
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store
from baseline_dub.models.whispers import whisper_of

if TYPE_CHECKING:
    from baseline_dub.config import Config
    from baseline_dub.stages.translate import EngineBase
    from baseline_dub.stages.types import Segment, Translation

NOTHING_USABLE = 1  # the exit status when the file gave no usable line (stderr says why)

DESCRIPTION = """\
The English of one speaker's speech file, translated as the pipeline translates a clip annotated single-speaker:
silero VAD finds the speech, the file is trimmed to it and cut at its pauses into utterances of at most
diarize.max_utterance_seconds (offline 10 s, paper 30 s), and Whisper translates each utterance."""

EPILOG = """\
output: one line per usable utterance, in order; each skipped utterance (Whisper's rules: no_speech, repetitive,
...) is a note on stderr with its time span and reason. --json: JSON Lines, one object per utterance, skipped
ones included: start, end (seconds in the file), text, skipped, language, avg_logprob, no_speech_prob,
compression_ratio, temperature, profile, model, sha256, translate_engine, translate_compute_type, input.

exit status: 0 when at least one utterance gave text; 1 when nothing usable came out (no speech heard, or
every utterance skipped): stderr says why, naming the file; 2 on an error (a file that is not audio, a bad
option, missing weights)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``translate`` to the command line's sub-commands (``cli.py`` calls each command module's ``register``)."""
    parser = sub.add_parser("translate", help="English text of a Japanese speech file, utterance by utterance",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="an audio file holding one speaker's speech (any length)")
    parser.add_argument("--language", default=None,
                        help="source language: ja (default from config), en (transcribe English), auto (detect)")
    parser.add_argument("--json", action="store_true",
                        help="print JSON Lines: one object per utterance, with its start, end and Whisper's evidence")
    add_model_options(parser)
    parser.set_defaults(func=run)


def utterances(audio: Audio, config: Config, store: Store) -> list[Segment]:
    """The utterances of a single speaker's ``audio``, exactly as the pipeline finds those of a clip annotated
    single-speaker: silero VAD (loaded alone, without the diarization backend), then
    ``single_speaker_utterances``; ``[]`` when VAD hears no speech."""
    from baseline_dub.stages.diarize import load_speech_detector, single_speaker_utterances

    speech = load_speech_detector(config, store).speech(audio)
    return single_speaker_utterances(speech, audio.duration, config.diarize)


def decode(translator: EngineBase, audio: Audio, segments: list[Segment], language: str) -> list[Translation]:
    """Whisper's text for each utterance of ``audio``, in one batch as the pipeline decodes a clip's segments:
    translated from ``language`` (the profile's task), or transcribed when ``language`` is ``en``."""
    pieces = [audio.slice(s.start, s.end) for s in segments]
    if language == "en":
        return translator.transcribe_batch(pieces, language="en")
    return translator.translate_batch(pieces, language)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def json_line(segment: Segment, result: Translation, evidence: dict[str, Any]) -> str:
    """One utterance as a JSON Lines row: ``start``, ``end``, the ``Translation``'s fields (a log-probability of
    minus infinity as ``null``) and ``evidence`` (profile, model, sha256, engine, input)."""
    record: dict[str, Any] = {"start": segment.start, "end": segment.end, **dataclasses.asdict(result)}
    record["avg_logprob"] = _finite(result.avg_logprob)
    return json.dumps({**record, **evidence}, ensure_ascii=False)


def nothing_usable(name: str, audio: Audio, results: list[Translation]) -> str:
    """The one sentence, naming the file, that says why ``name`` gave no usable line."""
    from baseline_dub.stages.translate import no_usable_text

    if not results:
        return (f"{name}: no speech heard (silero VAD found none in its {audio.duration:.1f} s), nothing to "
                "translate; if speech is buried under music, translate its vocals (baseline-dub separate)")
    refused = no_usable_text(results)
    why = refused.why if refused else "Whisper gave no usable English text"
    return f"{name}: {why} for any of the {len(results)} utterance(s) where silero VAD heard speech"


def run(args: argparse.Namespace) -> int:
    """Translate ``args.input`` utterance by utterance and print each line (or JSON Lines with ``--json``); the
    exit status is 0 when a line of text came out, :data:`NOTHING_USABLE` (1) with the reason on stderr when none
    did. Errors the user can cause (unreadable file, bad language, missing weights) are raised for ``cli.py``."""
    from baseline_dub.stages.translate import load_translator  # torch: only when run (fast --help)
    from baseline_dub.stages.translate.base import check_language

    audio = load_audio(args.input)
    store = Store()
    config = resolve_config(args.profile, store, args.config, args.device, whisper=args.whisper,
                            task="transcribe" if args.language == "en" else "translate")
    language = args.language or config.translate.language
    check_language(language)
    segments = utterances(audio, config, store)
    results: list[Translation] = []
    evidence: dict[str, Any] = {}
    if segments:
        translator = load_translator(config, store)
        results = decode(translator, audio, segments, language)
        evidence = dict(profile=config.profile, whisper=whisper_of(config, store), model=translator.model_name,
                        sha256=store.sha256(translator.model_name), **translator.describe(), input=args.input)
    for segment, result in zip(segments, results, strict=True):
        if args.json:
            print(json_line(segment, result, evidence))
        elif result.text:
            print(result.text)
        else:
            print(f"{args.input}: {segment.start:.2f}-{segment.end:.2f} s skipped ({result.skipped})", file=sys.stderr)
    if any(r.text for r in results):
        return 0
    print(nothing_usable(args.input, audio, results), file=sys.stderr)
    return NOTHING_USABLE
