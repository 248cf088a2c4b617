"""The ``openai-whisper`` engine: openai-whisper's own model and decoding (the paper's package).

``paper`` loads the size named in ``configs/paper.yaml`` (default ``large-v2``; ``turbo`` is refused
because it was not trained to translate); ``offline`` can load Whisper ``base`` converted from CTranslate2
by ``baseline_dub.models.converters.whisper_ct2``. Checkpoints are read with ``torch.load(weights_only=True)``
through the model store, and must fill the model with no missing or unexpected key. Segments are decoded
in batches (``baseline_dub.stages.translate.batch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    decode_batch,
    decode_long,
    is_silent,
)
from baseline_dub.stages.types import Translation

# Whisper checkpoints that cannot translate (trained on transcription only).
NO_TRANSLATE = ("turbo", "large-v3-turbo")


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


def read_whisper_checkpoint(store: Store, name: str, device: str, task: str = "translate") -> Any:
    """Read registry entry ``name`` as ``whisper.model.Whisper`` on ``device`` (weights_only, strict keys).

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


class WhisperTranslator(EngineBase):
    """openai-whisper speech translation of segment batches (both profiles)."""

    engine = "openai-whisper"

    def __init__(self, model: Any, config: TranslateConfig, device: str, model_name: str = "", seed: int = 0) -> None:
        fp16 = bool(config.fp16 and device.startswith("cuda"))
        super().__init__(config, device, model_name, compute_type="float16" if fp16 else "float32", seed=seed)
        if config.task == "translate" and not model.is_multilingual:
            raise ConfigError("translate.model is an English-only Whisper, which cannot translate; "
                              "use a multilingual size")
        self.model = model

    def _options(self, task: str, language: str | None) -> dict[str, Any]:
        return {
            "task": task, "language": language, "beam_size": self.config.beam_size,
            "patience": self.config.patience, "best_of": self.config.best_of, "without_timestamps": True,
            "fp16": bool(self.config.fp16 and self.device.startswith("cuda")),
        }

    def _capped(self, options: dict[str, Any], longest_samples: int) -> dict[str, Any]:
        """Options with ``sample_len`` capped by the longest segment's duration (see TranslateConfig)."""
        if self.config.max_tokens_per_second <= 0:
            return options
        return {**options, "sample_len": token_cap(self.config, longest_samples / SAMPLE_RATE)}

    def _run(self, audios: Sequence[Audio], task: str, language: str) -> list[Translation]:
        import torch

        lang = check_language(language)
        options = self._options(task, lang)
        samples = [a.to(SAMPLE_RATE, 1).samples[0] for a in audios]
        decoded: list[Decoded | None] = [None] * len(samples)
        short = [i for i, s in enumerate(samples)
                 if not is_silent(s, self.rules) and s.size <= WINDOW_SECONDS * SAMPLE_RATE]
        cuda = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda):  # seeded sampled fallbacks; other stages' RNG untouched
            torch.manual_seed(self.seed)
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


def load_openai_translator(config: Config, store: Store) -> WhisperTranslator:
    """``translate.model`` loaded once with openai-whisper on ``config.device``; sampling seeded by ``seed``."""
    cfg, device = config.translate, resolve_device(config.device)
    model = read_whisper_checkpoint(store, cfg.model, device, cfg.task)
    return WhisperTranslator(model, cfg, device, model_name=cfg.model, seed=config.seed)
