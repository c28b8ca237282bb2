"""Python's cycle collector paused while a bulk read or table build makes many objects.

Why: reading a collection makes a dict per document (and a list per tag field), a page's
table a dict per row: hundreds of thousands of container objects at 10x the demo. Every
few hundred new container objects the collector walks the young ones, and every so often
all the objects alive; with the store's documents alive that walk grew faster than the
data: at 10x the demo it was a fifth to a third of the lists, contacts and engagement
pages' builds, and nothing at 1x (`benchmarks/bench_growth.py`, README "How cost grows").
These objects hold no reference cycles, so the collector has nothing to find in them;
reference counting frees them as before, and the collector runs again afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cyclic_gc_paused"]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """The cycle collector off inside the block, back on after it if it was on before.

    >>> with cyclic_gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
