"""Call a sampling function every few seconds in a background thread while a `with` block runs.

For samplers that watch a load run from the side (saturation.CpuSampler). pg.ConnectionSampler has the
same loop of its own, which could move here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def every(interval_s: float, sample: Callable[[], None], *, at_start: bool = False) -> Iterator[None]:
    """sample() every interval_s seconds until the block ends (and once at once, with at_start)."""
    stop = threading.Event()

    def loop():
        if at_start:
            sample()
        while not stop.wait(interval_s):
            sample()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
