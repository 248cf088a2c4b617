"""Offline synthesis: Kokoro-82M (``kokoro-onnx``) speaking English with the voice nearest the reference.

No voice-cloning weights ship offline, so this backend does not clone: Kokoro voices are style
vectors, and each shipped voice is embedded once with Resemblyzer by synthesizing
:data:`CALIBRATION_TEXT`. A reference is spoken by the candidate whose embedding has the highest
cosine with the reference's (``voice_method="nearest voice"``): a shipped voice or, with
``blend_voices``, the 50/50 mix of the two nearest (``"a+b"``, embedded the first time it is
asked for). The embeddings are cached in memory per process and on disk under
``<models>/cache/``, keyed by the sha256 of the model, voices and speaker encoder. Kokoro's ONNX
graph is deterministic: the same inputs give the same samples.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from baseline_dub.atomic import atomic_write_bytes
from baseline_dub.audio import Audio
from baseline_dub.config import Config
from baseline_dub.errors import StageError
from baseline_dub.speaker import RATE as SPEAKER_RATE
from baseline_dub.speaker import SpeakerEncoder
from baseline_dub.stages.synthesize.backend import Spoken
from baseline_dub.store import Store

CALIBRATION_TEXT = ("The quick brown fox jumps over the lazy dog, "
                    "and then it walks slowly back home to rest by the warm fire.")
KOKORO_RATE = 24000
_LANGUAGES = {"en": "en-us", "en-us": "en-us", "en-gb": "en-gb"}
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
    """Kokoro-82M with the shipped voice (or 50/50 mix of two) nearest each reference."""

    name = "kokoro"
    voice_method = "nearest voice"
    rate = KOKORO_RATE
    reference_rate = SPEAKER_RATE

    def __init__(self, model_path: Path, voices_path: Path, encoder: SpeakerEncoder, *, device: str = "cpu",
                 language: str = "en", speed: float = 1.0, blend_voices: bool = True,
                 cache_dir: Path | None = None, cache_key: str = "") -> None:
        from kokoro_onnx import Kokoro

        if language not in _LANGUAGES:
            raise ValueError(f"Kokoro speaks English here; language {language!r} is not one of {sorted(_LANGUAGES)}")
        self.kokoro = Kokoro.from_session(_session(model_path, device), str(voices_path))
        self.lang = _LANGUAGES[language]
        self.speed = speed
        self.encoder = encoder
        with np.load(voices_path, allow_pickle=False) as voices:
            self.styles = {name: np.asarray(voices[name], dtype=np.float32) for name in sorted(voices.files)}
        self.blend_voices = blend_voices
        key = hashlib.sha256("\n".join([cache_key, CALIBRATION_TEXT, self.lang, str(self.speed)]).encode()).hexdigest()
        self._cache_path = cache_dir / f"kokoro-voice-embeddings-{key[:24]}.npz" if cache_dir and cache_key else None
        self.embeddings = _EMBEDDINGS.setdefault(key, self._read_cache())
        self._embed_missing(list(self.styles))

    def style(self, voice: str) -> np.ndarray:
        """The style vectors of a shipped voice, or of ``a+b``: the mean of two voices' styles."""
        names = voice.split("+")
        return np.mean([self.styles[n] for n in names], axis=0).astype(np.float32)

    def render(self, text: str, style: np.ndarray) -> np.ndarray:
        """Kokoro's float32 waveform (24 kHz) of one English text piece in one style."""
        try:
            samples, rate = self.kokoro.create(text, voice=style, speed=self.speed, lang=self.lang)
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

    def _embed_missing(self, voices: list[str]) -> None:
        """Embed the calibration sentence of each voice not embedded yet; persist the cache."""
        missing = [v for v in voices if v not in self.embeddings]
        if not missing:
            return
        audios = [Audio(self.render(CALIBRATION_TEXT, self.style(v)), self.rate) for v in missing]
        self.embeddings.update(zip(missing, self.encoder.embed_many(audios), strict=True))
        if self._cache_path is not None:
            _atomic_savez(self._cache_path, self.embeddings)

    def scores(self, reference_embedding: np.ndarray) -> list[tuple[str, float]]:
        """Shipped voices (and, with blending, the mix of the best two) by cosine to the reference, best first."""
        def ranked(names: list[str]) -> list[tuple[str, float]]:
            norm = max(float(np.linalg.norm(reference_embedding)), 1e-9)
            sims = [float(self.embeddings[n] @ reference_embedding) / norm for n in names]
            return sorted(zip(names, sims, strict=True), key=lambda p: (-p[1], p[0]))

        singles = ranked(sorted(self.styles))
        if not self.blend_voices or len(singles) < 2:
            return singles
        blend = "+".join(sorted([singles[0][0], singles[1][0]]))
        self._embed_missing([blend])
        return ranked([*sorted(self.styles), blend])

    def speak(self, chunks: Sequence[str], reference: Audio, reference_embedding: np.ndarray,
              seed: int) -> Spoken:
        """Speak ``chunks`` with the voice nearest ``reference_embedding``; ``seed`` is unused since
        Kokoro is deterministic."""
        ranked = self.scores(reference_embedding)
        voice = ranked[0][0]
        style = self.style(voice)
        pieces = tuple(self.render(chunk, style) for chunk in chunks)
        return Spoken(pieces, voice, {"voice_similarity": ranked[0][1],
                                      "voice_scores": {n: round(s, 4) for n, s in ranked}})


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` of plain float arrays atomically (a cache: failures to write are ignored)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        return


def load_kokoro(config: Config, store: Store, encoder: SpeakerEncoder, device: str) -> KokoroBackend:
    """The Kokoro backend from the store entries ``synthesize.model`` (ONNX) and ``synthesize.voices_model``.

    ``encoder`` must be the ``config.speaker_model`` encoder: its sha256 keys the embeddings cache.
    """
    cfg = config.synthesize
    paths = store.require([cfg.model, cfg.voices_model])
    cache_key = "|".join(f"{n}={store.expected_sha256(n)}" for n in (cfg.model, cfg.voices_model,
                                                                       config.speaker_model))
    return KokoroBackend(paths[cfg.model], paths[cfg.voices_model], encoder, device=device,
                         language=cfg.language, speed=cfg.speed, blend_voices=cfg.blend_voices,
                         cache_dir=store.root / "cache", cache_key=cache_key)
