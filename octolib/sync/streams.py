"""Fetch several paged units at once on worker threads; hand their pages to one consumer thread.

Why: with ~100 ms per request, one thread reading one list's contacts makes fewer requests
per second than the 10/s the account allows. The client's token bucket keeps the sum of
all workers within the limit. Pages of one unit arrive in order; units interleave. The
consumer (the sync, which owns the store) saves each page and checkpoints its cursor, so
workers never touch the store.

A bounded queue keeps workers at most a few pages ahead of the consumer; closing the
generator (an error in the consumer, Ctrl-C) stops the workers at their next page.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Generator, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["stream_units", "PAGE", "DONE", "ERROR"]

log = logging.getLogger(__name__)

U = TypeVar("U", bound=Hashable)

PAGE, DONE, ERROR = "page", "done", "error"


class _Stopped(Exception):
    pass


def stream_units(
    units: Iterable[U],
    produce: Callable[[U], Iterable[Any]],
    workers: int,
    *,
    ahead: int = 4,
) -> Generator[tuple[U, str, Any], None, None]:
    """Yield ``(unit, PAGE, page)`` for every page ``produce(unit)`` yields, then ``(unit, DONE, None)``.

    If ``produce`` raises, ``(unit, ERROR, exception)`` is yielded instead of ``DONE`` and the
    other units go on; the consumer decides whether to stop (by closing the generator).
    """
    todo = list(units)
    if not todo:
        return
    workers = max(1, min(workers, len(todo)))
    out: queue.Queue[tuple[U, str, Any]] = queue.Queue(maxsize=max(2, workers * ahead))
    stop = threading.Event()

    def put(item: tuple[U, str, Any]) -> None:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def work(unit: U) -> None:
        if stop.is_set():
            return
        try:
            for page in produce(unit):
                put((unit, PAGE, page))
                if stop.is_set():
                    raise _Stopped
            put((unit, DONE, None))
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who decides
            try:
                put((unit, ERROR, exc))
            except _Stopped:
                return

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="octolib-sync")
    try:
        for unit in todo:
            pool.submit(work, unit)
        finished = 0
        while finished < len(todo):
            item = out.get()
            if item[1] in (DONE, ERROR):
                finished += 1
            yield item
    finally:
        stop.set()
        while True:  # unblock workers waiting to put
            try:
                out.get_nowait()
            except queue.Empty:
                break
        pool.shutdown(wait=True, cancel_futures=True)
