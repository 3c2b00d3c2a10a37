"""Cooperative pacing of long computations in worker threads.

CPython gives the interpreter lock to a waiting thread only after the thread holding it
has run for the switch interval (5 ms). A fit or a history conversion running in a
worker would make every wake-up of Home Assistant's event loop wait that long. Work run
under `paced()` hands the lock over for a moment at least every `SLICE_SECONDS` at the
`pace()` calls in its loops and helpers, so the event loop waits about a millisecond at
most; the work runs a few per cent slower. Elsewhere (the event loop, evaluation
scripts) `pace()` does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import threading
import time

SLICE_SECONDS = 0.002
# Long enough for the kernel to wake a thread waiting for the lock and let it take it.
PAUSE_SECONDS = 0.00005

_local = threading.local()


def pace() -> None:
    """Let other threads run if this one has held the interpreter for a slice."""
    due: float | None = getattr(_local, "due", None)
    if due is not None and time.perf_counter() >= due:
        time.sleep(PAUSE_SECONDS)
        _local.due = time.perf_counter() + SLICE_SECONDS


@contextmanager
def paced() -> Iterator[None]:
    """Pace the work this thread does in the block."""
    outer: float | None = getattr(_local, "due", None)
    _local.due = time.perf_counter() + SLICE_SECONDS
    try:
        yield
    finally:
        _local.due = outer
