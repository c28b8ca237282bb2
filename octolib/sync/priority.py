"""A sync runs at a lower CPU priority than the pages analysts wait for.

Why: on a small server (two cores here) a full sync keeps a core busy for minutes, and the
dashboards' page kernels, the Jupyter server and Voilà's renders compete with it while an
analyst waits for a page. A sync is background work that nobody watches finish to the
second: ``OCTO_SYNC_NICE`` (default 10, as ``nice`` counts) lowers the priority of the thread
that runs it, so the scheduler gives the pages the CPU first and the sync the rest. On Linux a
nice value belongs to a thread, so a sync started from the Sync page lowers only its own
thread, not the page's kernel.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["run_in_background_priority", "call_in_background_thread"]

T = TypeVar("T")

log = logging.getLogger(__name__)


def run_in_background_priority(nice: int) -> int:
    """Lower the calling thread's CPU priority by ``nice`` (0 = leave it); returns the new
    nice value. A priority that cannot be changed is logged, never an error: the sync runs."""
    if nice <= 0 or not hasattr(os, "nice"):
        return os.nice(0) if hasattr(os, "nice") else 0
    try:
        return os.nice(nice)
    except OSError as exc:
        log.info("could not lower the sync's CPU priority: %s", exc)
        return os.nice(0)


def call_in_background_thread(fn: Callable[[], T], nice: int) -> T:
    """``fn()`` in a thread of its own at the lower priority (joined; its result returned, its
    exception raised here), for a caller whose own thread must keep its priority (the
    scheduler's, which also answers its other jobs)."""
    box: dict[str, object] = {}

    def work() -> None:
        run_in_background_priority(nice)
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=work, name="octo-background-sync", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
