"""baseline-dub: the Anim-400K baseline dub (Spleeter, PyAnnote, Whisper, YourTTS, remix) at scale.

``from baseline_dub import dub_clip, DubPipeline, Dataset`` (imported lazily: ``import baseline_dub`` stays cheap).
"""

from __future__ import annotations

from typing import Any

from baseline_dub.models.telemetry import pyannote_telemetry_off

pyannote_telemetry_off()  # before anything can import pyannote.audio (baseline_dub/models/telemetry.py)

__version__ = "0.1.0"
__all__ = ["Dataset", "Dub", "DubPipeline", "dub_clip", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("dub_clip", "DubPipeline"):
        from baseline_dub import pipeline

        return getattr(pipeline, name)
    if name == "Dub":
        from baseline_dub.outputs.dub import Dub

        return Dub
    if name == "Dataset":
        from baseline_dub.data.dataset import Dataset

        return Dataset
    raise AttributeError(f"module 'baseline_dub' has no attribute {name!r}")
