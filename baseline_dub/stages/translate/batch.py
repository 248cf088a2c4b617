"""Batched Whisper decoding with per-segment temperature fallback, and the skip rules.

Many short segments share one encoder pass and one ``whisper.decode`` call (each padded to a 30 s
mel window exactly as ``whisper.transcribe`` pads its windows). Whisper's ``decode_with_fallback``
retries one segment at a higher temperature when its output looks wrong; here each temperature pass
re-decodes only the segments that still fail, as a smaller batch, reusing the encoder output.
At temperature 0 a batch gives the same text as decoding the segments one by one (the segments never
interact: each has its own rows, the padding is per segment); sampled fallbacks (temperature > 0)
are random in both cases.

The skip rules turn a decoding into an empty line, with the reason, when it is silence or a
hallucination, so that no speech is synthesized for it. A stock phrase of the bag (``hallucination.py``) is, like
a repetitive text, a reason to decode again at the next temperature, and an attempt that is neither is preferred.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from baseline_dub.stages.translate.hallucination import StockPhrases, deloop, long_loop

SAMPLE_RATE = 16000
WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class SkipRules:
    """Thresholds of the no-speech and hallucination rules (``TranslateConfig`` fills them). ``stock_phrases``:
    the bag (``None``: no bag), its ``unsure`` phrases skipped only over ``stock_unsure_no_speech`` or under
    ``stock_unsure_logprob``; ``deloop``: cut loops instead of dropping the line (``base.EngineBase``)."""

    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    max_ngram_repeats: int = 5
    silence_dbfs: float = -60.0
    fallback_on_logprob: bool = True
    stock_phrases: StockPhrases | None = None
    stock_unsure_no_speech: float = 0.6
    stock_unsure_logprob: float = -1.0
    deloop: bool = False


@dataclass(frozen=True)
class Decoded:
    """One segment's decoding: the final text, its evidence and the temperature that produced it."""

    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float


def compression_ratio(text: str) -> float:
    """Whisper's repetitiveness measure: UTF-8 length over zlib-compressed length (0 for empty text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def is_stock(text: str, avg_logprob: float, no_speech_prob: float, rules: SkipRules) -> bool:
    """Whether ``text`` is a stock phrase not to speak: a phrase of the bag's ``always`` section, or of its
    ``unsure`` section with weak evidence (no-speech probability over ``rules.stock_unsure_no_speech`` or average
    log-probability under ``rules.stock_unsure_logprob``). Never without a bag."""
    section = rules.stock_phrases.section(text) if rules.stock_phrases is not None else None
    if section == "unsure":
        return no_speech_prob > rules.stock_unsure_no_speech or avg_logprob < rules.stock_unsure_logprob
    return section == "always"


def needs_fallback(result: Any, rules: SkipRules) -> bool:
    """Whisper's ``decode_with_fallback`` test: retry when too repetitive or unlikely, unless silence; a stock
    phrase not to speak (:func:`is_stock`) is retried too.

    With ``rules.fallback_on_logprob`` off, only repetitive text and stock phrases trigger the fallback."""
    unlikely = rules.fallback_on_logprob and result.avg_logprob < rules.logprob_threshold
    retry = (result.compression_ratio > rules.compression_ratio_threshold or unlikely
             or is_stock(result.text, result.avg_logprob, result.no_speech_prob, rules))
    silence = result.no_speech_prob > rules.no_speech_threshold and result.avg_logprob < rules.logprob_threshold
    return retry and not silence


_WORD = re.compile(r"[\w']+", re.UNICODE)


def max_ngram_repeats(text: str, max_n: int = 5) -> int:
    """Longest run of one word n-gram (n = 1..``max_n``) repeated back to back, case-insensitive."""
    words = [w.lower() for w in _WORD.findall(text)]
    best = 1 if words else 0
    for n in range(1, max_n + 1):
        for start in range(n):
            grams = [tuple(words[i:i + n]) for i in range(start, len(words) - n + 1, n)]
            run = 1
            for prev, cur in zip(grams, grams[1:], strict=False):
                run = run + 1 if cur == prev else 1
                best = max(best, run)
    return best


def skip_reason(text: str, avg_logprob: float, no_speech_prob: float, ratio: float, rules: SkipRules) -> str | None:
    """Why a decoding must not be spoken, or ``None`` when it is a sentence to keep.

    ``no_speech``: Whisper's own rule (no-speech probability above its threshold and average
    log-probability below its threshold); ``empty``: no text; ``non_verbal``: no letter or digit
    (punctuation, music notes); ``hallucination``: a stock phrase of the bag (:func:`is_stock`), or only one
    said again and again; ``repetitive``: compression ratio above the threshold even after the
    temperature fallback; ``repeated_ngram``: one n-gram repeated ``max_ngram_repeats`` times in a row, or a
    phrase of 6 words or more said 3 times in a row (``hallucination.long_loop``).
    """
    if no_speech_prob > rules.no_speech_threshold and avg_logprob < rules.logprob_threshold:
        return "no_speech"
    if not text.strip():
        return "empty"
    if not any(ch.isalnum() for ch in text):
        return "non_verbal"
    if is_stock(text, avg_logprob, no_speech_prob, rules):
        return "hallucination"
    if ratio > rules.compression_ratio_threshold:
        return "repetitive"
    if max_ngram_repeats(text) >= rules.max_ngram_repeats or long_loop(text):
        return "repeated_ngram"
    return None


def is_silent(samples: np.ndarray, rules: SkipRules) -> bool:
    """True when the RMS level is below ``rules.silence_dbfs`` (digital silence is never decoded)."""
    if samples.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return rms <= 10.0 ** (rules.silence_dbfs / 20.0)


def segment_mel(samples: np.ndarray, n_mels: int) -> Any:
    """The 30 s log-mel window of one <= 30 s segment, padded like ``whisper.transcribe`` pads it."""
    import torch
    import whisper

    mel = whisper.log_mel_spectrogram(torch.from_numpy(samples), n_mels, padding=whisper.audio.N_SAMPLES)
    content = mel.shape[-1] - whisper.audio.N_FRAMES
    return whisper.pad_or_trim(mel[:, :content], whisper.audio.N_FRAMES)


def _grouped_task_class() -> type:
    from whisper.decoding import DecodingTask

    class GroupedTask(DecodingTask):
        """openai-whisper 20250625 no longer repeats the audio features per beam (or best-of sample),
        which only broadcasts for a batch of one: repeat them right after the encoder. The language
        must be set (``decode_batch`` detects it first), so the per-row language list is never used."""

        def _get_audio_features(self, mel: Any) -> Any:
            return super()._get_audio_features(mel).repeat_interleave(self.n_group, dim=0)

        def _detect_language(self, audio_features: Any, tokens: Any) -> Any:
            languages, probs = super()._detect_language(audio_features, tokens)
            return languages[:: self.n_group], probs

    return GroupedTask


def with_fallback(count: int, temperatures: Sequence[float], rules: SkipRules,
                  decode: Callable[[list[int], float], Sequence[Any]]) -> list[Decoded]:
    """Whisper's ``decode_with_fallback`` for ``count`` windows decoded together, shared by both engines:
    ``decode(indices, t)`` decodes those windows at temperature ``t``; each pass re-decodes only the windows
    that still need a fallback, and each window's accepted (or best) attempt is kept (``_best``)."""
    attempts: list[list[tuple[Any, float]]] = [[] for _ in range(count)]
    pending = list(range(count))
    for t in temperatures:
        retry = []
        for index, result in zip(pending, decode(pending, t), strict=True):
            attempts[index].append((result, t))
            if needs_fallback(result, rules):
                retry.append(index)
        pending = retry
        if not pending:
            break
    return [_best(tries, rules) for tries in attempts]


def per_language(languages: Sequence[str], decode: Callable[[list[int], str], list[Decoded]]) -> list[Decoded]:
    """Decode windows grouped by their (detected) language, ``decode(indices, language)``; results in order."""
    out: list[Decoded | None] = [None] * len(languages)
    for language in dict.fromkeys(languages):
        group = [i for i, lang in enumerate(languages) if lang == language]
        for i, d in zip(group, decode(group, language), strict=True):
            out[i] = d
    return [d for d in out if d is not None]


def _decode_with_fallback(model: Any, features: Any, options: dict[str, Any], temperatures: Sequence[float],
                          rules: SkipRules) -> list[Decoded]:
    """``with_fallback`` on openai-whisper's decoder, reusing the encoder output ``features``."""
    import whisper

    def decode(indices: list[int], t: float) -> Sequence[Any]:
        kwargs = dict(options)
        if t > 0:
            kwargs.pop("beam_size", None)
            kwargs.pop("patience", None)
        else:
            kwargs.pop("best_of", None)
        return _grouped_task_class()(model, whisper.DecodingOptions(**kwargs, temperature=t)).run(features[indices])

    return with_fallback(features.shape[0], temperatures, rules, decode)


def _says_something(result: Any, rules: SkipRules) -> bool:
    """Whether an attempt leaves a line to speak that is no stock phrase: its text, or with ``rules.deloop`` the
    loop of a repetitive text cut to what it says once."""
    text = result.text
    if result.compression_ratio > rules.compression_ratio_threshold:
        text = deloop(text) if rules.deloop else ""
    return bool(text.strip()) and not is_stock(text, result.avg_logprob, result.no_speech_prob, rules)


def _best(attempts: list[tuple[Any, float]], rules: SkipRules) -> Decoded:
    """The accepted attempt (the last one) or, when every temperature failed, the most likely of the first
    non-empty group of: attempts not too repetitive (as faster-whisper does) and no stock phrase
    (:func:`is_stock`); attempts that leave something to say once delooped; attempts not too repetitive; all
    (instead of Whisper's last, most random one). An attempt chosen after a first decoding that was a stock phrase
    replaces it only when it is at least as likely (average log-probability): a less likely sample is no better
    evidence of speech than the phrase, which is then kept (and skipped as a hallucination)."""
    result, t = attempts[-1]
    if needs_fallback(result, rules):
        fine = [a[0].compression_ratio <= rules.compression_ratio_threshold for a in attempts]
        says = [_says_something(a[0], rules) for a in attempts]
        groups = [[a for a, *keep in zip(attempts, *flags, strict=True) if all(keep)]
                  for flags in ((fine, says), (says,), (fine,), ())]
        result, t = max(next(g for g in groups if g), key=lambda a: a[0].avg_logprob)
    first = attempts[0][0]
    if result is not first and result.avg_logprob < first.avg_logprob and is_stock(
            first.text, first.avg_logprob, first.no_speech_prob, rules):
        result, t = attempts[0]
    return Decoded(text=result.text.strip(), language=result.language, avg_logprob=float(result.avg_logprob),
                   no_speech_prob=float(result.no_speech_prob), compression_ratio=float(result.compression_ratio),
                   temperature=float(t))


def decode_batch(model: Any, segments: Sequence[np.ndarray], options: dict[str, Any],
                 temperatures: Sequence[float], rules: SkipRules) -> list[Decoded]:
    """Decode <= 30 s segments (16 kHz mono float32) together, with per-segment temperature fallback.

    ``options`` are ``whisper.DecodingOptions`` fields (task, language, beam_size, best_of, fp16, ...);
    ``beam_size`` applies at temperature 0 and ``best_of`` above it, as in ``whisper.transcribe``.
    With ``language=None`` the language of every segment is detected in one batched pass, then the
    segments are decoded per detected language.
    """
    import torch

    if not segments:
        return []
    device = next(model.parameters()).device
    fp16 = bool(options.get("fp16", False))
    mels = torch.stack([segment_mel(s, model.dims.n_mels) for s in segments]).to(device)
    with torch.no_grad():
        features = model.encoder(mels.half() if fp16 else mels)
        if options.get("language") is not None:
            return _decode_with_fallback(model, features, options, temperatures, rules)
        _, probs = model.detect_language(features)
    languages = [max(p, key=p.get) for p in probs]
    return per_language(languages, lambda group, language: _decode_with_fallback(
        model, features[group], {**options, "language": language}, temperatures, rules))


def decode_long(model: Any, samples: np.ndarray, options: dict[str, Any], temperatures: Sequence[float],
                rules: SkipRules) -> Decoded:
    """A segment over 30 s: ``whisper.transcribe``'s long-form windowing, summarised as one decoding.

    The text joins Whisper's kept segments; the average log-probability is their token-count-weighted
    mean, the no-speech probability their minimum, the temperature their maximum.
    """
    import whisper

    kwargs = {k: v for k, v in options.items() if k not in ("without_timestamps",)}
    out = whisper.transcribe(
        model, samples, temperature=tuple(temperatures), verbose=None,
        compression_ratio_threshold=rules.compression_ratio_threshold,
        logprob_threshold=rules.logprob_threshold, no_speech_threshold=rules.no_speech_threshold,
        condition_on_previous_text=False, **kwargs,
    )
    segs = out["segments"]
    text = str(out["text"]).strip()
    if not segs:
        return Decoded(text="", language=str(out.get("language") or ""), avg_logprob=float("-inf"),
                       no_speech_prob=1.0, compression_ratio=0.0, temperature=0.0)
    weights = np.array([max(1, len(s["tokens"])) for s in segs], dtype=np.float64)
    logprob = float(np.average([s["avg_logprob"] for s in segs], weights=weights))
    return Decoded(text=text, language=str(out.get("language") or ""), avg_logprob=logprob,
                   no_speech_prob=float(min(s["no_speech_prob"] for s in segs)),
                   compression_ratio=compression_ratio(text),
                   temperature=float(max(s["temperature"] for s in segs)))
