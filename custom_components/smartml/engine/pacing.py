"""How computations in worker threads share the machine with Home Assistant.

Pacing: CPython gives the interpreter lock to a waiting thread only after the thread
holding it has run for the switch interval (5 ms). A fit or a history conversion running
in a worker would make every wake-up of Home Assistant's event loop wait that long. Work
run under `paced()` hands the lock over for a moment at least every `SLICE_SECONDS` at
the `pace()` calls in its loops and helpers, so the event loop waits about a millisecond
at most; the work runs a few per cent slower. Elsewhere (the event loop, evaluation
scripts) `pace()` does nothing.

Threads: the fits' matrices are small, so BLAS and OpenMP pools get one thread
(`one_blas_thread()`): more would only compete with Home Assistant for the cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

SLICE_SECONDS = 0.002
# Long enough for the kernel to wake the thread waiting for the lock and let it take it:
# after 50 µs on a virtual machine the worker often took the lock back first, and the event
# loop waited out the whole switch interval.
PAUSE_SECONDS = 0.0002

# The packages whose native libraries hold the thread pools the fits use.
POOL_PACKAGES = ("numpy", "scipy", "sklearn")

_local = threading.local()
_controllers: dict[tuple[bool, ...], ThreadpoolController] = {}


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


def one_blas_thread() -> AbstractContextManager[Any]:
    """Limit the BLAS and OpenMP thread pools to one thread in the block (worker threads).

    Finding the pools reads the process's memory map and matches every library in it,
    holding the interpreter lock for milliseconds in a large process, so it is done again
    only when one of POOL_PACKAGES has been imported since: the modules other integrations
    keep importing bring no pool the fits use.
    """
    from threadpoolctl import ThreadpoolController

    loaded = tuple(name in sys.modules for name in POOL_PACKAGES)
    controller = _controllers.get(loaded)
    if controller is None:
        _controllers.clear()
        controller = _controllers[loaded] = ThreadpoolController()
    limiter: AbstractContextManager[Any] = controller.limit(limits=1)
    return limiter
