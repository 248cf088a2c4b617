"""What both Whisper engines share: settings checks, the skip rules, the judgement of a decoding, the API.

An engine subclasses ``EngineBase`` and implements ``_run(audios, task, language)``, returning one
``Decoded`` (or ``None`` for a segment never decoded because it is digitally silent) per segment; this
class turns them into ``Translation`` rows with the same skip reasons whatever the engine, and cuts the loops of
a looping line (``translate.deloop``) so that what it says once is spoken instead of nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from baseline_dub.audio import Audio
from baseline_dub.config import TranslateConfig
from baseline_dub.errors import ConfigError
from baseline_dub.stages.translate.batch import Decoded, SkipRules, compression_ratio, skip_reason
from baseline_dub.stages.translate.hallucination import deloop, stock_phrases
from baseline_dub.stages.types import Translation

TASKS = ("translate", "transcribe")
LOOPS = ("repetitive", "repeated_ngram")  # the skip reasons of a looping line, which delooping may save
SAMPLE_LEN = 224  # openai-whisper's most tokens per window: n_text_ctx // 2


def token_cap(config: TranslateConfig, seconds: float) -> int:
    """Most tokens to decode for a window of ``seconds``: ``16 + seconds * max_tokens_per_second``, at most
    Whisper's 224 (224 when the rate is 0)."""
    rate = config.max_tokens_per_second
    return SAMPLE_LEN if rate <= 0 else min(SAMPLE_LEN, 16 + math.ceil(seconds * rate))


def skip_rules(config: TranslateConfig) -> SkipRules:
    """The no-speech and hallucination rules of ``config`` (the package's bag when ``stock_phrases`` is on)."""
    return SkipRules(
        no_speech_threshold=config.no_speech_threshold, logprob_threshold=config.logprob_threshold,
        compression_ratio_threshold=config.compression_ratio_threshold,
        max_ngram_repeats=config.max_ngram_repeats, silence_dbfs=config.silence_dbfs,
        fallback_on_logprob=config.fallback_on_logprob,
        stock_phrases=stock_phrases() if config.stock_phrases else None,
        stock_unsure_no_speech=config.stock_unsure_no_speech, stock_unsure_logprob=config.stock_unsure_logprob,
        deloop=config.deloop,
    )


def judge(d: Decoded, rules: SkipRules) -> Translation:
    """A decoding as the line to speak: its text, or an empty text with the ``skipped`` reason and Whisper's text
    kept as ``heard``. With ``rules.deloop``, a looping text (``LOOPS``) is cut to what it says once
    (``hallucination.deloop``) and kept, ``delooped``, when the cut passes the rules; a cut that is a stock phrase
    is skipped as ``hallucination``."""
    text = d.text
    reason = skip_reason(text, d.avg_logprob, d.no_speech_prob, d.compression_ratio, rules)
    delooped = False
    if reason in LOOPS and rules.deloop:
        cut = deloop(text)
        again = skip_reason(cut, d.avg_logprob, d.no_speech_prob, compression_ratio(cut), rules)
        if again is None:
            text, reason, delooped = cut, None, True
        elif again == "hallucination":
            reason = again
    return Translation(text="" if reason else text, language=d.language, avg_logprob=d.avg_logprob,
                       no_speech_prob=d.no_speech_prob, compression_ratio=d.compression_ratio,
                       temperature=d.temperature, skipped=reason, heard=d.text if d.text != text or reason else "",
                       delooped=delooped)


def check_language(language: str) -> str | None:
    """``None`` for ``auto``, else the Whisper language code (``ConfigError`` for an unknown one)."""
    from whisper.tokenizer import LANGUAGES

    if language != "auto" and language not in LANGUAGES:
        raise ConfigError(f"language {language!r} is not a Whisper language code; use auto or one of "
                          "ja, en, ... (see whisper.tokenizer.LANGUAGES)")
    return None if language == "auto" else language


class EngineBase:
    """Segment batches -> ``Translation`` rows; engines fill in ``_run``."""

    engine = ""

    def __init__(self, config: TranslateConfig, device: str, model_name: str = "", compute_type: str = "",
                 seed: int = 0) -> None:
        self.device = device
        self.model_name = model_name
        self.compute_type = compute_type
        self.seed = seed  # of the sampled fallbacks (the profile's ``seed``)
        self.configure(config)

    def configure(self, config: TranslateConfig) -> None:
        """Decode with ``config`` from now on (task, decoding, batch size and the skip rules; the loaded model
        stays): how a benchmark compares settings on one loaded model. ``ConfigError`` for settings that cannot
        decode."""
        if config.task not in TASKS:
            raise ConfigError(f"translate.task: {config.task!r} is not one of {', '.join(TASKS)}")
        if min(config.batch_size, config.cpu_batch_size, config.beam_size) < 1 or not config.temperatures:
            raise ConfigError("translate: batch_size and beam_size must be >= 1 and temperatures non-empty")
        self.config = config
        self.batch_size = config.batch_size if self.device.startswith("cuda") else config.cpu_batch_size
        self.rules = skip_rules(config)

    def _run(self, audios: Sequence[Audio], task: str, language: str) -> list[Translation]:
        raise NotImplementedError

    def _judge(self, d: Decoded | None, language: str) -> Translation:
        return Translation.nothing("silence", language) if d is None else judge(d, self.rules)

    def translate_batch(self, audios: Sequence[Audio], language: str | None = None) -> list[Translation]:
        """English text and evidence for each segment, in order: ``config.task`` from ``language``
        (default ``config.language``; ``auto`` detects it per segment)."""
        return self._run(audios, self.config.task, language or self.config.language)

    def translate(self, audio: Audio, language: str | None = None) -> Translation:
        """One segment's English text and evidence."""
        return self.translate_batch([audio], language)[0]

    def transcribe_batch(self, audios: Sequence[Audio], language: str = "en") -> list[Translation]:
        """Transcripts in ``language`` (``auto`` detects it): ``task=transcribe``, same batching and rules."""
        return self._run(audios, "transcribe", language)

    def describe(self) -> dict[str, str]:
        """What the manifest records of this engine: ``translate_engine``, ``translate_compute_type``."""
        return {"translate_engine": self.engine, "translate_compute_type": self.compute_type}
