"""The runner's bounded prefetch: order kept, producer never more than `depth` ahead, errors re-raised."""

from __future__ import annotations

import threading
import time

import pytest

from baseline_dub.runner.split import prefetched


def test_prefetch_keeps_order_and_stays_bounded():
    produced: list[int] = []
    lock = threading.Lock()

    def items():
        for i in range(20):
            with lock:
                produced.append(i)
            yield i

    seen = []
    for item in prefetched(items(), depth=2):
        time.sleep(0.01)  # a slow consumer: the producer must wait, not run ahead
        with lock:
            ahead = len(produced) - len(seen)
        assert ahead <= 2 + 2  # the queue, plus one item being put and one being handed over
        seen.append(item)
    assert seen == list(range(20))


def test_prefetch_reraises_the_producers_error_after_the_good_items():
    def items():
        yield 1
        yield 2
        raise ValueError("bad archive member")

    got = []
    with pytest.raises(ValueError, match="bad archive member"):
        for item in prefetched(items(), depth=4):
            got.append(item)
    assert got == [1, 2]
