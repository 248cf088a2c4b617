"""``--shard I/N``: the deterministic partition of a split's clips by the sha1 of their id."""

from __future__ import annotations

import hashlib

from baseline_dub.errors import ConfigError


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 0 <= I < N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/8") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def in_shard(clip_id: str, shard: tuple[int, int] | None) -> bool:
    """Deterministic partition by the clip id's sha1, independent of order and machine."""
    if shard is None:
        return True
    return int(hashlib.sha1(clip_id.encode()).hexdigest(), 16) % shard[1] == shard[0]


def is_whole_split(shard: tuple[int, int] | None) -> bool:
    """True for no shard or ``0/1``: the run owns every clip of the split."""
    return shard is None or shard[1] == 1
