"""Offline synthesis: Kokoro-82M (``kokoro-onnx``) speaking English with the voice, or blend, nearest the speaker.

No voice-cloning weights ship offline, so this backend does not clone (``voice_method="nearest
voice"``): it searches Kokoro v1.0's voices (``voices.py``; the 54 of ``kokoro-js``, of which the
English ones by default) and their blends for the one whose speech sounds nearest the
reference, by the Resemblyzer cosine of :data:`CALIBRATION_TEXT` spoken by each candidate
(``voice_search.py``; at most ``k (k - 1) / 2 + 3`` syntheses of that line per speaker). The
calibration embeddings are cached in memory per process and on disk under ``<models>/cache/``
(written atomically, keyed by the sha256 of the model, the voices and the speaker encoder, the
calibration text, speed and accent rule): each single voice is embedded once per model, each blend
once the first time it is judged. Kokoro's ONNX graph is deterministic: the same inputs give the
same samples.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio
from baseline_dub.config import Config, SynthesizeConfig
from baseline_dub.errors import StageError
from baseline_dub.models.converters.kokoro_voices import save_npz
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store
from baseline_dub.stages.speaker import RATE as SPEAKER_RATE
from baseline_dub.stages.speaker import SpeakerEncoder, load_speaker_encoder
from baseline_dub.stages.synthesize.backend import Spoken
from baseline_dub.stages.synthesize.pitch import gender_of_f0, median_f0
from baseline_dub.stages.synthesize.voice_search import VoiceChoice, search_voice
from baseline_dub.stages.synthesize.voices import VoiceRecipe, select_voices, voice_language

CALIBRATION_TEXT = "I never thought we would meet again in a place like this, my old friend."
KOKORO_RATE = 24000
F0_SECONDS = 12.0  # the reference's pitch is measured on its first 12 s (pYIN's cost grows with length)
_LANGUAGES = {"en": "", "en-us": "en-us", "en-gb": "en-gb"}
_EMBEDDINGS: dict[str, dict[str, np.ndarray]] = {}


def _session(model_path: Path, device: str):  # noqa: ANN202 (onnxruntime type)
    """An onnxruntime session on CUDA when the device is CUDA and the provider exists, else the CPU."""
    import onnxruntime as rt

    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in rt.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    options = rt.SessionOptions()
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit():
        options.intra_op_num_threads = int(threads)
    return rt.InferenceSession(str(model_path), sess_options=options, providers=providers)


class KokoroBackend:
    """Kokoro-82M with the voice (or blend) nearest each speaker; see the module docstring."""

    name = "kokoro"
    voice_method = "nearest voice"
    rate = KOKORO_RATE
    reference_rate = SPEAKER_RATE

    def __init__(self, model_path: Path, voices_path: Path, encoder: SpeakerEncoder, *, device: str = "cpu",
                 config: SynthesizeConfig | None = None, cache_dir: Path | None = None,
                 cache_key: str = "") -> None:
        from kokoro_onnx import Kokoro

        self.config = config or SynthesizeConfig()
        if self.config.language not in _LANGUAGES:
            raise ValueError(f"Kokoro speaks English here; language {self.config.language!r} is not one of "
                             f"{sorted(_LANGUAGES)}")
        self.kokoro = Kokoro.from_session(_session(model_path, device), str(voices_path))
        self.encoder = encoder
        with np.load(voices_path, allow_pickle=False) as voices:
            names = select_voices(voices.files, self.config.voice_prefixes)
            self.styles = {name: np.asarray(voices[name], dtype=np.float32) for name in names}
        key = hashlib.sha256("\n".join([cache_key, CALIBRATION_TEXT, self.config.language,
                                        str(self.config.speed)]).encode()).hexdigest()
        self._cache_path = cache_dir / f"kokoro-voice-embeddings-{key[:24]}.npz" if cache_dir and cache_key else None
        self.embeddings = _EMBEDDINGS.setdefault(key, self._read_cache())
        missing = [VoiceRecipe.of({n: 1.0}) for n in self.styles if n not in self.embeddings]
        if missing:
            self._embed_new(missing)
            self._write_cache()

    def language(self, recipe: VoiceRecipe) -> str:
        """The espeak language of a recipe: forced by ``language``, else its heaviest voice's accent."""
        return _LANGUAGES[self.config.language] or voice_language(recipe.main)

    def render(self, text: str, recipe: VoiceRecipe) -> np.ndarray:
        """Kokoro's float32 waveform (24 kHz) of one English text piece spoken by ``recipe``."""
        try:
            samples, rate = self.kokoro.create(text, voice=recipe.style(self.styles), speed=self.config.speed,
                                               lang=self.language(recipe))
        except ValueError as exc:  # kokoro-onnx: text with no phonemes in its vocabulary
            raise StageError(f"Kokoro cannot speak {text!r} ({exc}); give English text") from exc
        if rate != self.rate:
            raise RuntimeError(f"Kokoro returned {rate} Hz audio, expected {self.rate}")
        return np.asarray(samples, dtype=np.float32)

    def _read_cache(self) -> dict[str, np.ndarray]:
        if self._cache_path is None or not self._cache_path.is_file():
            return {}
        try:
            with np.load(self._cache_path, allow_pickle=False) as data:
                return {name: np.asarray(data[name], dtype=np.float32) for name in data.files}
        except (OSError, ValueError):
            return {}

    def _write_cache(self) -> None:
        """Persist every calibration embedding known (a cache: a failure to write is ignored)."""
        if self._cache_path is not None:
            try:
                save_npz(self._cache_path, {**self._read_cache(), **self.embeddings})
            except OSError:
                return

    def _embed_new(self, recipes: Sequence[VoiceRecipe]) -> None:
        audios = [Audio(self.render(CALIBRATION_TEXT, r), self.rate) for r in recipes]
        self.embeddings.update(zip([r.key for r in recipes], self.encoder.embed_many(audios), strict=True))

    def calibration_embedding(self, recipe: VoiceRecipe) -> tuple[np.ndarray, bool]:
        """The embedding of the calibration line spoken by ``recipe`` and whether it was synthesized now."""
        if recipe.key in self.embeddings:
            return self.embeddings[recipe.key], False
        self._embed_new([recipe])
        return self.embeddings[recipe.key], True

    def choose(self, reference: Audio, reference_embedding: np.ndarray) -> VoiceChoice:
        """The voice search of ``voice_search`` for one speaker's reference (mono, 16 kHz)."""
        cfg = self.config
        start = time.perf_counter()
        f0 = median_f0(reference.slice(0.0, min(reference.duration, F0_SECONDS)))
        gender = gender_of_f0(f0, cfg.male_f0_below, cfg.female_f0_above)
        singles = {n: self.embeddings[n] for n in self.styles}
        ranked, fresh = search_voice(reference_embedding, singles, gender, self.calibration_embedding,
                                     k=cfg.voice_search_k, blend=cfg.blend_voices)
        if fresh:
            self._write_cache()
        return VoiceChoice(ranked[0], tuple(ranked), f0, gender, fresh, time.perf_counter() - start)

    def speak_as(self, chunks: Sequence[str], choice: VoiceChoice) -> Spoken:
        """Speak ``chunks`` with a chosen voice; ``extra`` records its recipe and the search."""
        pieces = tuple(self.render(chunk, choice.recipe) for chunk in chunks)
        return Spoken(pieces, choice.recipe.key, {"voice_recipe": choice.recipe.as_dict(),
                                                  "voice_similarity": round(choice.chosen.score, 4),
                                                  "voice_choice": choice.summary()})

    def speak(self, chunks: Sequence[str], reference: Audio, reference_embedding: np.ndarray,
              seed: int) -> Spoken:
        """Speak ``chunks`` with the voice searched for this one reference; ``seed`` is unused since
        Kokoro is deterministic."""
        return self.speak_as(chunks, self.choose(reference, reference_embedding))


def load_kokoro(config: Config, store: Store) -> KokoroBackend:
    """The Kokoro backend from the store entries ``synthesize.model`` (ONNX) and ``synthesize.voices_model``, on
    ``config.device``, with the shared ``speaker_model`` encoder (whose sha256 keys the embeddings cache)."""
    cfg = config.synthesize
    device = resolve_device(config.device)
    encoder = load_speaker_encoder(config, store)
    paths = store.require([cfg.model, cfg.voices_model])
    cache_key = "|".join(f"{n}={store.expected_sha256(n)}" for n in (cfg.model, cfg.voices_model,
                                                                       config.speaker_model))
    return KokoroBackend(paths[cfg.model], paths[cfg.voices_model], encoder, device=device, config=cfg,
                         cache_dir=store.root / "cache", cache_key=cache_key)
