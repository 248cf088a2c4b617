"""The runner's stream of work: clips in batches, decoded ahead by a thread, the first batch read on its own."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any


def batched(stream: Iterator[tuple[Any, Any]], size: int) -> Iterator[list[tuple[Any, Any]]]:
    """``stream`` in lists of ``size`` items (the last one shorter)."""
    batch: list[tuple[Any, Any]] = []
    for pair in stream:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def prefetched(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """Iterate ``items`` produced by a background thread, at most ``depth`` ahead (decoding overlaps dubbing)."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, depth))
    done = object()

    def produce() -> None:
        try:
            for item in items:
                buffer.put(item)
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put((done, exc))
            return
        buffer.put((done, None))

    threading.Thread(target=produce, daemon=True, name="baseline-dub-decode").start()
    while True:
        item = buffer.get()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is done:
            if item[1] is not None:
                raise item[1]
            return
        yield item


def chained(first: list[tuple[Any, Any]] | None, rest: Iterator[list[tuple[Any, Any]]]
            ) -> Iterator[list[tuple[Any, Any]]]:
    """``first`` (a batch read ahead, None when there was none) then the ``rest``."""
    if first is not None:
        yield first
        yield from rest
