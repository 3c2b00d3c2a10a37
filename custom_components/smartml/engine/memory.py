"""Give the memory freed by model work back to the operating system.

A fit or a prediction allocates and frees tens of megabytes of temporary arrays. glibc's
allocator keeps such freed pages for reuse, and in worker threads it rarely gets to
return them: Home Assistant would carry them for months beside everything else the home
runs. `malloc_trim` hands them back; its time is spent without the interpreter lock
(ctypes releases it), a millisecond or two. Where the allocator is not glibc's (musl, or
jemalloc preloaded as in Home Assistant's container image, which returns pages on its
own), this does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
import ctypes
from functools import cache
import os


@cache
def _glibc_trim() -> Callable[[int], int] | None:
    if "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        return None
    try:
        process = ctypes.CDLL(None)  # the symbols already loaded: libc's among them
    except OSError:
        return None
    return getattr(process, "malloc_trim", None)


def release_freed_memory() -> bool:
    """Return free allocator pages to the system; True if the allocator gave any back.

    Runs in a worker thread: the lookup loads no library, but the trim walks the heap.
    """
    trim = _glibc_trim()
    return trim is not None and bool(trim(0))
