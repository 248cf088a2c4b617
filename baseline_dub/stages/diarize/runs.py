"""Runs of a frame mask: where a per-frame decision (speech, a speaker's activity) holds, as index ranges."""

from __future__ import annotations

import numpy as np


def mask_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, end)`` indices of each run of ``True`` in a 1-d mask (``end`` exclusive)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
