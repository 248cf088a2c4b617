"""What the remix mixes besides the syntheses: the backing track and the mixing ratio, with where it came from.

The paper's backing track and per-clip mixing ratio are not in the public release; a dataset may bring them
(a sidecar). The backing is the sidecar's, brought to the source's rate, channel count and length, else the
separator's. The ratio is, in order: the one the caller gives (``given``), the sidecar's (``sidecar``), else
the one estimated from the source mix and the separated stems (``estimated``, :mod:`.mixing_ratio`).
"""

from __future__ import annotations

from baseline_dub.audio import Audio
from baseline_dub.stages.remix.mixing_ratio import estimate_mixing_ratio
from baseline_dub.stages.types import Stems


def known_ratio(given: float | None, sidecar: float | None) -> tuple[float | None, str | None]:
    """The ratio known before the remix and its source: the caller's (``given``) over the dataset's sidecar
    (``sidecar``); ``(None, None)`` when neither is known, and the remix estimates it."""
    if given is not None:
        return given, "given"
    if sidecar is not None:
        return sidecar, "sidecar"
    return None, None


def backing_and_ratio(source: Audio, stems: Stems, target_lufs: float, backing: Audio | None = None,
                      ratio: float | None = None, ratio_source: str | None = None) -> tuple[Audio, tuple[float, str]]:
    """The backing to mix (``backing``, the sidecar's, fitted to ``source``; else the separated one) and the
    ``(ratio, source)`` to mix it at: ``ratio`` as given (``ratio_source``, default ``given``), else the
    ratio estimated from ``source`` and ``stems`` at ``target_lufs`` (``estimated``)."""
    if backing is not None:
        backing = backing.to(source.rate, source.channels).fit_length(source.frames)
    else:
        backing = stems.backing
    if ratio is not None:
        return backing, (ratio, ratio_source or "given")
    return backing, (estimate_mixing_ratio(source, stems.vocals, stems.backing, target_lufs), "estimated")
