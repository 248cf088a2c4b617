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

import re
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
           "english_evidence", "load_translator", "looks_english", "no_usable_text", "read_whisper_checkpoint"]


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
