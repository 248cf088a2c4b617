"""Translation stage: single-speaker Japanese segment audio -> English ``Translation`` (Whisper translate).

Two engines run the same Whisper weights with the same decoding rules (task, language, beam / best-of,
temperature fallback, the no-speech and repetition rules, the skip reasons), chosen by ``translate.engine``:

- ``openai-whisper`` (``openai_engine``): the paper's package, on ``translate.model`` (an openai-whisper
  checkpoint). The paper profile's default, for fidelity.
- ``ctranslate2`` (``ct2``): CTranslate2, the engine of faster-whisper, on ``translate.ct2_model`` (a
  CTranslate2 model folder) at ``translate.compute_type``. The offline profile's default: its Whisper
  ``base`` ships as CTranslate2 weights, which this engine runs directly (on this project's 2-core CPU 1.5x
  faster greedy, 3.3x at beam 5: bench/translate_engines.py).

Segments are decoded in batches, per clip (never across clips). A segment judged silent or hallucinated
comes back as ``Translation(text="", skipped=<reason>)`` so that no speech is made for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from baseline_dub.audio import Audio
from baseline_dub.config import Config
from baseline_dub.models.store import Store
from baseline_dub.stages.translate.base import TASKS, EngineBase
from baseline_dub.stages.translate.openai_engine import (
    NO_TRANSLATE,
    WhisperTranslator,
    _dims_name,
    load_openai_translator,
    read_whisper_checkpoint,
)
from baseline_dub.stages.types import NothingSpoken, NothingToSpeak, Translation

__all__ = ["NO_TRANSLATE", "TASKS", "EngineBase", "Translator", "WhisperTranslator", "_dims_name",
           "load_translator", "no_usable_text", "read_whisper_checkpoint"]


class Translator(Protocol):
    """What the pipeline needs from a translation backend."""

    engine: str
    compute_type: str
    model_name: str

    def translate_batch(self, audios: Sequence[Audio], language: str | None = None) -> list[Translation]:
        """English text and evidence for each segment, in order (``language``: source, default config)."""
        ...

    def translate(self, audio: Audio, language: str | None = None) -> Translation:
        """One segment's English text and evidence."""
        ...

    def transcribe_batch(self, audios: Sequence[Audio], language: str = "en") -> list[Translation]:
        """Same-language transcripts (``task=transcribe``), e.g. to measure the intelligibility of TTS."""
        ...

    def describe(self) -> dict[str, str]:
        """``translate_engine`` and ``translate_compute_type``, for the manifest."""
        ...


def no_usable_text(translations: Sequence[Translation]) -> NothingToSpeak | None:
    """``no_usable_text`` when a clip's segments were translated and Whisper's rules refused every text (the
    sentence lists their ``skipped`` reasons); ``None`` when some text is left, or there was nothing to translate."""
    if not translations or any(t.text for t in translations):
        return None
    reasons = sorted({t.skipped or "empty" for t in translations})
    return NothingToSpeak(NothingSpoken.NO_USABLE_TEXT, f"Whisper gave no usable English text ({', '.join(reasons)})")


def load_translator(config: Config, store: Store) -> EngineBase:
    """The translation engine of ``config`` (``translate.engine``), model loaded once on the configured device."""
    if config.translate.engine == "ctranslate2":
        from baseline_dub.stages.translate.ct2 import load_ct2_translator

        return load_ct2_translator(config, store)
    return load_openai_translator(config, store)
