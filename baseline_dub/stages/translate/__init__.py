"""Translation stage: single-speaker Japanese segment audio -> English ``Translation`` (Whisper translate).

Both profiles run openai-whisper; they differ only in weights. ``paper`` loads the size named in
``configs/paper.yaml`` (default ``large-v2``; ``turbo`` is refused because it was not trained to
translate); ``offline`` loads Whisper ``base`` converted from CTranslate2 by
``baseline_dub.stages.translate.convert``. Checkpoints are read with ``torch.load(weights_only=True)``
through the model store, and must fill the model with no missing or unexpected key.

Segments are decoded in batches (``baseline_dub.stages.translate.batch``). A segment judged silent or
hallucinated comes back as ``Translation(text="", skipped=<reason>)`` so that no speech is made for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

from baseline_dub.audio import Audio
from baseline_dub.config import Config, TranslateConfig
from baseline_dub.devices import resolve_device
from baseline_dub.errors import ConfigError
from baseline_dub.stages.translate.batch import (
    SAMPLE_RATE,
    WINDOW_SECONDS,
    Decoded,
    SkipRules,
    decode_batch,
    decode_long,
    is_silent,
    skip_reason,
)
from baseline_dub.stages.types import Translation
from baseline_dub.store import Store

TASKS = ("translate", "transcribe")
# Whisper checkpoints that cannot translate (trained on transcription only).
NO_TRANSLATE = ("turbo", "large-v3-turbo")


class Translator(Protocol):
    """What the pipeline needs from a translation backend."""

    def translate_batch(self, audios: Sequence[Audio], language: str | None = None) -> list[Translation]:
        """English text and evidence for each segment, in order (``language``: source, default config)."""
        ...

    def translate(self, audio: Audio, language: str | None = None) -> Translation:
        """One segment's English text and evidence."""
        ...

    def transcribe_batch(self, audios: Sequence[Audio], language: str = "en") -> list[Translation]:
        """Same-language transcripts (``task=transcribe``), e.g. to measure the intelligibility of TTS."""
        ...


# The 100 most frequent English words (function words mostly): about half of running English text.
_COMMON_EN = frozenset("""
the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only
come its over think also back after use two how our work first well way even new want because any these
give day most us is are was were am has had did does don't it's i'm can't you're that's there's
""".split())
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")


def english_evidence(text: str) -> dict[str, float]:
    """How English a line looks: ``ascii_share`` (ASCII among its letters), ``common_share`` (its words
    among the 100 most frequent English words) and ``words``. Used to check translations automatically.
    """
    letters = [c for c in text if c.isalpha()]
    words = _WORD_RE.findall(text.lower())
    ascii_share = sum(c.isascii() for c in letters) / len(letters) if letters else 0.0
    common_share = sum(w in _COMMON_EN for w in words) / len(words) if words else 0.0
    return {"ascii_share": ascii_share, "common_share": common_share, "words": float(len(words))}


def looks_english(text: str) -> bool:
    """True for a line of English: >= 95 % ASCII letters, >= 2 words, >= 20 % of them among the 100 most
    frequent English words (running English text has ~50 %, romanized Japanese or noise words ~0 %)."""
    e = english_evidence(text)
    return e["ascii_share"] >= 0.95 and e["words"] >= 2 and e["common_share"] >= 0.2


def _dims_name(dims: Any) -> str | None:
    """The official Whisper size with these dimensions (for its alignment heads), if any."""
    sizes = {(4, 384): "tiny", (6, 512): "base", (12, 768): "small", (24, 1024): "medium"}
    if dims.n_vocab >= 51865 and (dims.n_text_layer, dims.n_text_state) in sizes:
        return sizes[(dims.n_text_layer, dims.n_text_state)]
    if (dims.n_audio_layer, dims.n_text_layer, dims.n_text_state) == (32, 32, 1280):
        return "large-v3" if dims.n_mels == 128 else "large-v2"
    if (dims.n_audio_layer, dims.n_text_layer) == (32, 4):
        return "turbo"
    return None


def load_whisper(store: Store, name: str, device: str, task: str = "translate") -> Any:
    """Load registry entry ``name`` as ``whisper.model.Whisper`` on ``device`` (weights_only, strict keys).

    Raises ``ConfigError`` for a checkpoint not in Whisper's ``{"dims", "model_state_dict"}`` format, for
    any missing, unexpected or misshapen key, and, when ``task`` is ``translate``, for ``turbo`` (which
    was not trained to translate; it may still transcribe).
    """
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    entry = store.entry(name)
    translating = task == "translate"
    if translating and (entry.source.get("name") in NO_TRANSLATE or "turbo" in name):
        raise ConfigError(f"translate.model {name!r} is Whisper turbo, which was not trained to translate; "
                          "set translate.model to a multilingual size such as whisper-large-v2")
    path = store.path(name)
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or "dims" not in checkpoint or "model_state_dict" not in checkpoint:
        raise ConfigError(f"{path}: not an openai-whisper checkpoint (needs 'dims' and 'model_state_dict'); "
                          f"delete it and run `baseline-dub models download --model {name}`")
    dims = ModelDimensions(**checkpoint["dims"])
    size = _dims_name(dims)
    if translating and size == "turbo":
        raise ConfigError(f"{path}: these are Whisper turbo weights, which cannot translate; use another size")
    model = Whisper(dims)
    try:
        result = model.load_state_dict(checkpoint["model_state_dict"], strict=False)
    except RuntimeError as exc:  # shape mismatches
        raise ConfigError(f"{path}: checkpoint does not fit Whisper{dims}: {exc}") from None
    if result.missing_keys or result.unexpected_keys:
        raise ConfigError(f"{path}: checkpoint does not fit Whisper{dims}: missing {result.missing_keys[:5]}, "
                          f"unexpected {result.unexpected_keys[:5]}; re-create it with `make models`")
    if size in whisper._ALIGNMENT_HEADS:
        model.set_alignment_heads(whisper._ALIGNMENT_HEADS[size])
    return model.to(device).eval()


class WhisperTranslator:
    """openai-whisper speech translation of segment batches (both profiles)."""

    def __init__(self, model: Any, config: TranslateConfig, device: str, model_name: str = "") -> None:
        if config.task not in TASKS:
            raise ConfigError(f"translate.task: {config.task!r} is not one of {', '.join(TASKS)}")
        if min(config.batch_size, config.cpu_batch_size, config.beam_size) < 1 or not config.temperatures:
            raise ConfigError("translate: batch_size and beam_size must be >= 1 and temperatures non-empty")
        if config.task == "translate" and not model.is_multilingual:
            raise ConfigError("translate.model is an English-only Whisper, which cannot translate; "
                              "use a multilingual size")
        self.model = model
        self.config = config
        self.device = device
        self.model_name = model_name
        self.batch_size = config.batch_size if device.startswith("cuda") else config.cpu_batch_size
        self.rules = SkipRules(
            no_speech_threshold=config.no_speech_threshold, logprob_threshold=config.logprob_threshold,
            compression_ratio_threshold=config.compression_ratio_threshold,
            max_ngram_repeats=config.max_ngram_repeats, silence_dbfs=config.silence_dbfs,
            fallback_on_logprob=config.fallback_on_logprob,
        )

    def _options(self, task: str, language: str | None) -> dict[str, Any]:
        return {
            "task": task, "language": language, "beam_size": self.config.beam_size,
            "best_of": self.config.best_of, "without_timestamps": True,
            "fp16": bool(self.config.fp16 and self.device.startswith("cuda")),
        }

    def _capped(self, options: dict[str, Any], longest_samples: int) -> dict[str, Any]:
        """Options with ``sample_len`` capped by the longest segment's duration (see TranslateConfig)."""
        rate = self.config.max_tokens_per_second
        if rate <= 0:
            return options
        return {**options, "sample_len": min(224, 16 + math.ceil(longest_samples / SAMPLE_RATE * rate))}

    def _run(self, audios: Sequence[Audio], task: str, language: str) -> list[Translation]:
        import torch
        from whisper.tokenizer import LANGUAGES

        if language != "auto" and language not in LANGUAGES:
            raise ConfigError(f"language {language!r} is not a Whisper language code; use auto or one of "
                              "ja, en, ... (see whisper.tokenizer.LANGUAGES)")
        lang = None if language == "auto" else language
        options = self._options(task, lang)
        samples = [a.to(SAMPLE_RATE, 1).samples[0] for a in audios]
        decoded: list[Decoded | None] = [None] * len(samples)
        short = [i for i, s in enumerate(samples)
                 if not is_silent(s, self.rules) and s.size <= WINDOW_SECONDS * SAMPLE_RATE]
        cuda = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda):  # seeded sampled fallbacks; other stages' RNG untouched
            torch.manual_seed(0)
            for k in range(0, len(short), self.batch_size):
                chunk = short[k:k + self.batch_size]
                out = decode_batch(self.model, [samples[i] for i in chunk],
                                   self._capped(options, max(samples[i].size for i in chunk)),
                                   self.config.temperatures, self.rules)
                for i, d in zip(chunk, out, strict=True):
                    decoded[i] = d
            for i, s in enumerate(samples):
                if decoded[i] is None and not is_silent(s, self.rules):
                    decoded[i] = decode_long(self.model, s, options, self.config.temperatures, self.rules)
        return [self._judge(d, lang or "") for d in decoded]

    def _judge(self, d: Decoded | None, language: str) -> Translation:
        if d is None:
            return Translation(text="", language=language, avg_logprob=float("-inf"), no_speech_prob=1.0,
                               compression_ratio=0.0, skipped="silence")
        reason = skip_reason(d.text, d.avg_logprob, d.no_speech_prob, d.compression_ratio, self.rules)
        return Translation(text="" if reason else d.text, language=d.language, avg_logprob=d.avg_logprob,
                           no_speech_prob=d.no_speech_prob, compression_ratio=d.compression_ratio,
                           temperature=d.temperature, skipped=reason)

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


def load_translator(config: Config, store: Store) -> WhisperTranslator:
    """The translation backend of ``config``'s profile, model loaded once on the configured device."""
    device = resolve_device(config.device)
    model = load_whisper(store, config.translate.model, device, config.translate.task)
    return WhisperTranslator(model, config.translate, device, model_name=config.translate.model)
