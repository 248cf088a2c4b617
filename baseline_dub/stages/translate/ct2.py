"""The ``ctranslate2`` engine: Whisper on CTranslate2 (the engine of faster-whisper), same rules as openai-whisper.

The model is ``ctranslate2.models.Whisper`` on a CTranslate2 model folder from the store (``model.bin``,
``config.json``, a vocabulary; the offline profile's Whisper ``base`` ships in exactly that form), loaded
from that local folder only: nothing is ever downloaded. faster-whisper's ``WhisperModel`` is not used to
decode because it fetches a tokenizer from the Hugging Face hub when the folder has none and applies its
own windowing and fallback; here the loop is the project's:

- the input is the same 30 s log-mel window as the openai-whisper engine's (``batch.segment_mel``);
- the prompt is openai-whisper's ``<|startoftranscript|><|ja|><|translate|><|notimestamps|>`` (its own
  tokenizer, which also turns the tokens back into text);
- temperature 0 decodes with ``beam_size`` (greedy at 1) and ``patience``, each later temperature samples ``best_of``
  candidates; only the segments that still need a fallback (``batch.needs_fallback``: repetitive, a stock phrase,
  or unlikely with ``fallback_on_logprob``, unless silence) are decoded again, and when every temperature
  fails the most likely attempt that is not repetitive is kept: the same loop as the other engine's
  (``batch.with_fallback``);
- ``max_tokens_per_second`` caps the tokens as in the other engine; sampling is seeded (the profile's ``seed``)
  per call, so that a clip's text never depends on the clips decoded before it: CTranslate2 seeds each of its
  worker threads' generators once, at the thread's first draw (``set_random_seed`` does not reseed a thread that
  has drawn), so the model is reopened, with new threads, before the first sampled decode of each call (base:
  0.25-0.4 s on this project's CPU, only for the calls that need a sampled fallback);
- a segment over 30 s is cut into 30 s windows decoded in the same batch and joined (openai-whisper's
  engine seeks by timestamps instead; diarized segments are rarely that long).

The segments of one call are decoded together (``batch_size`` at a time) and never with another clip's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config, TranslateConfig
from baseline_dub.errors import ConfigError
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store
from baseline_dub.stages.translate.base import EngineBase, check_language, token_cap
from baseline_dub.stages.translate.batch import (
    SAMPLE_RATE,
    WINDOW_SECONDS,
    Decoded,
    compression_ratio,
    is_silent,
    per_language,
    segment_mel,
    with_fallback,
)
from baseline_dub.stages.types import Translation

ENGINE = "ctranslate2"


@dataclass(frozen=True)
class Attempt:
    """One decoding of one window at one temperature (the fields ``needs_fallback`` and ``_best`` read)."""

    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    tokens: int


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto`` -> float32 on the CPU and float16 on CUDA; anything else is checked against what CTranslate2
    supports on ``device``. On the CPU, int8 measured at most 1.25x faster than float32 (the 30 s encoder window
    dominates either way) and changed 6 of 14 segments' text against openai-whisper, where float32 changed
    none (bench/translate_engines.py), so float32 it is; ``compute_type: int8`` remains a setting."""
    import ctranslate2

    kind = "cuda" if device.startswith("cuda") else "cpu"
    chosen = {"cpu": "float32", "cuda": "float16"}[kind] if compute_type == "auto" else compute_type
    supported = ctranslate2.get_supported_compute_types(kind)
    if chosen != "default" and chosen not in supported:
        raise ConfigError(f"translate.compute_type: {chosen!r} is not supported by CTranslate2 on {kind} "
                          f"(supported: {', '.join(sorted(supported))})")
    return chosen


def ct2_folder(store: Store, config: TranslateConfig) -> Path:
    """The verified CTranslate2 model folder of ``config.ct2_model`` (a folder entry, or a ``model.bin``
    entry whose ``ct2_files`` companions lie beside it)."""
    paths = store.require([config.ct2_model, *config.ct2_files])
    main = paths[config.ct2_model]
    folder = main if main.is_dir() else main.parent
    for name in config.ct2_files:
        if paths[name].parent != folder:
            raise ConfigError(f"translate.ct2_files: {name} is at {paths[name]}, not beside {main}; a CTranslate2 "
                              "model folder holds model.bin, config.json and the vocabulary together")
    if not (folder / "model.bin").is_file() or not (folder / "config.json").is_file():
        raise ConfigError(f"{folder}: not a CTranslate2 model folder (needs model.bin and config.json)")
    return folder


def open_ct2_whisper(folder: Path, device: str, compute_type: str) -> Any:
    """``ctranslate2.models.Whisper`` from a local folder (CUDA index from ``cuda:N``)."""
    import ctranslate2

    kind, _, index = device.partition(":")
    return ctranslate2.models.Whisper(str(folder), device=kind, device_index=int(index or 0),
                                      compute_type=compute_type)


def _windows(samples: np.ndarray) -> list[np.ndarray]:
    """A segment as <= 30 s windows (one window when it is no longer)."""
    step = int(WINDOW_SECONDS * SAMPLE_RATE)
    return [samples[k:k + step] for k in range(0, max(1, samples.size), step)]


def _joined(parts: list[Decoded]) -> Decoded:
    """Windows of one long segment as one decoding, summarised like ``batch.decode_long`` (kept windows'
    text; log-probability weighted by words, minimum no-speech probability, maximum temperature)."""
    if len(parts) == 1:
        return parts[0]
    kept = [p for p in parts if p.text] or parts
    text = " ".join(p.text for p in kept).strip()
    weights = np.array([max(1, len(p.text.split())) for p in kept], dtype=np.float64)
    return Decoded(text=text, language=kept[0].language,
                   avg_logprob=float(np.average([p.avg_logprob for p in kept], weights=weights)),
                   no_speech_prob=float(min(p.no_speech_prob for p in kept)),
                   compression_ratio=compression_ratio(text), temperature=max(p.temperature for p in kept))


class CT2Translator(EngineBase):
    """CTranslate2 Whisper speech translation of segment batches."""

    engine = ENGINE

    def __init__(self, model: Any, config: TranslateConfig, device: str, model_name: str = "",
                 compute_type: str = "", seed: int = 0, reopen: Callable[[], Any] | None = None) -> None:
        super().__init__(config, device, model_name, compute_type, seed)
        if config.task == "translate" and not model.is_multilingual:
            raise ConfigError("translate.ct2_model is an English-only Whisper, which cannot translate; "
                              "use a multilingual size")
        self.model = model
        self.reopen = reopen  # the model opened again (new worker threads, seeded at their first draw)
        self._seeded = False  # whether this call's sampled decodes run on a model opened after its seed was set

    def _sampling_model(self) -> None:
        """Before the first sampled decode of a call: the model opened anew after ``set_random_seed`` (see the
        module docstring), so that the call's sampled fallbacks are the same whatever was decoded before."""
        if self.reopen is not None and not self._seeded:
            self.model = None  # the old worker threads end before the new ones start
            self.model = self.reopen()
        self._seeded = True

    def _tokenizer(self, task: str, language: str | None) -> Any:
        from whisper.tokenizer import get_tokenizer

        return get_tokenizer(True, num_languages=self.model.num_languages, language=language, task=task)

    def _detect(self, features: Any) -> list[str]:
        return [pairs[0][0][2:-2] for pairs in self.model.detect_language(features)]

    def _generate(self, features: np.ndarray, prompt: list[int], temperature: float, max_new: int) -> list[Any]:
        import ctranslate2

        cfg = self.config
        sampled = temperature > 0
        return self.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features)), [prompt] * len(features),
            beam_size=1 if sampled else cfg.beam_size, num_hypotheses=cfg.best_of if sampled else 1,
            patience=1.0 if sampled else cfg.patience, length_penalty=1.0, max_length=len(prompt) + max_new,
            return_scores=True,
            return_no_speech_prob=True, suppress_blank=True, suppress_tokens=[-1],
            sampling_topk=0 if sampled else 1, sampling_temperature=temperature if sampled else 1.0)

    def _attempt(self, result: Any, tokenizer: Any, language: str) -> Attempt:
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = tokenizer.decode(tokens).strip()
        # CTranslate2's score is the sum of log-probabilities over the length: back to openai-whisper's
        # sum / (tokens + 1) (the end-of-text token counts there), as faster-whisper does
        avg = result.scores[0] * len(tokens) / (len(tokens) + 1)
        return Attempt(text=text, language=language, avg_logprob=float(avg),
                       no_speech_prob=float(result.no_speech_prob), compression_ratio=compression_ratio(text),
                       tokens=len(tokens))

    def _decode_group(self, features: np.ndarray, task: str, language: str, max_new: int) -> list[Decoded]:
        """Temperature fallback for windows of one language (``batch.with_fallback``)."""
        tokenizer = self._tokenizer(task, language)
        prompt = list(tokenizer.sot_sequence_including_notimestamps)

        def decode(indices: list[int], t: float) -> list[Attempt]:
            if t > 0:
                self._sampling_model()
            results = self._generate(features[indices], prompt, t, max_new)
            return [self._attempt(r, tokenizer, language) for r in results]

        return with_fallback(len(features), self.config.temperatures, self.rules, decode)

    def _decode_windows(self, windows: list[np.ndarray], task: str, language: str | None) -> list[Decoded]:
        import ctranslate2

        mels = np.stack([segment_mel(w, self.model.n_mels).numpy() for w in windows]).astype(np.float32)
        encoded = self.model.encode(ctranslate2.StorageView.from_array(mels), to_cpu=True)
        features = np.asarray(encoded)
        max_new = token_cap(self.config, max(w.size for w in windows) / SAMPLE_RATE)
        languages = [language] * len(windows) if language else self._detect(encoded)
        return per_language(languages, lambda group, lang: self._decode_group(features[group], task, lang, max_new))

    def _run(self, audios: Sequence[Audio], task: str, language: str) -> list[Translation]:
        import ctranslate2

        lang = check_language(language)
        samples = [a.to(SAMPLE_RATE, 1).samples[0] for a in audios]
        owners: list[int] = []
        windows: list[np.ndarray] = []
        for i, s in enumerate(samples):
            if not is_silent(s, self.rules):
                for w in _windows(s):
                    owners.append(i)
                    windows.append(w)
        ctranslate2.set_random_seed(self.seed)  # seeded sampled fallbacks, as the other engine's torch seed
        self._seeded = False
        decoded: list[Decoded] = []
        for k in range(0, len(windows), self.batch_size):
            decoded += self._decode_windows(windows[k:k + self.batch_size], task, lang)
        parts: list[list[Decoded]] = [[] for _ in samples]
        for owner, d in zip(owners, decoded, strict=True):
            parts[owner].append(d)
        return [self._judge(_joined(p) if p else None, lang or "") for p in parts]


def load_ct2_translator(config: Config, store: Store) -> CT2Translator:
    """``translate.ct2_model`` loaded once with CTranslate2 on ``config.device`` at ``translate.compute_type``;
    sampling seeded by ``seed``."""
    cfg, device = config.translate, resolve_device(config.device)
    compute_type = resolve_compute_type(cfg.compute_type, device)
    folder = ct2_folder(store, cfg)
    return CT2Translator(open_ct2_whisper(folder, device, compute_type), cfg, device, model_name=cfg.ct2_model,
                         compute_type=compute_type, seed=config.seed,
                         reopen=lambda: open_ct2_whisper(folder, device, compute_type))
