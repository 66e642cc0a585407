"""Running context sources side by side under one deadline.

A slow source (a cold index, a vector search waiting for the embedder) is skipped, never
waited for: its result is simply not used.  The pool is small and shared so abandoned work
cannot pile up without bound.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from attrs import frozen

log = logging.getLogger(__name__)
T = TypeVar("T")

_pool: cf.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> cf.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = cf.ThreadPoolExecutor(max_workers=6, thread_name_prefix="stead-context")
        return _pool


@frozen
class Outcome:
    """A source's result, or why there is none ("deadline (100 ms)", "error: ...")."""

    name: str
    value: object = None
    skipped: str = ""
    ms: float = 0.0


def run_sources(sources: Mapping[str, Callable[[], T]], deadline_s: float) -> dict[str, Outcome]:
    """Start every source at once; collect those finished within `deadline_s`."""
    start = time.perf_counter()
    pool = _executor()

    def timed(fn: Callable[[], T]) -> tuple[T, float]:
        t0 = time.perf_counter()
        value = fn()
        return value, (time.perf_counter() - t0) * 1000

    futures = {name: pool.submit(timed, fn) for name, fn in sources.items()}
    done, _ = cf.wait(list(futures.values()), timeout=max(0.0, deadline_s))
    out: dict[str, Outcome] = {}
    for name, fut in futures.items():
        ms = (time.perf_counter() - start) * 1000
        if fut not in done:
            fut.cancel()
            out[name] = Outcome(name, None, f"deadline ({deadline_s * 1000:.0f} ms)", ms)
            continue
        exc = fut.exception()
        if exc is not None:
            log.debug("context source %s failed", name, exc_info=exc)
            out[name] = Outcome(name, None, f"error: {exc}", ms)
        else:
            value, took = fut.result()
            out[name] = Outcome(name, value, "", took)
    return out
