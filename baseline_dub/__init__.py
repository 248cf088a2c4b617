"""baseline-dub: the Anim-400K baseline dub (Spleeter, PyAnnote, Whisper, YourTTS, remix) at scale."""

from __future__ import annotations

__version__ = "0.1.0"
