"""Memory freed by model work goes back to the system where the allocator allows it."""

from __future__ import annotations

from collections.abc import Generator
import platform

import psutil
import pytest

from custom_components.smartml.engine import memory

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def fresh_lookup() -> Generator[None]:
    memory._glibc_trim.cache_clear()
    yield
    memory._glibc_trim.cache_clear()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_to_the_system() -> None:
    # Blocks under the allocator's mmap threshold live on its heap; one kept at the top
    # stops free() from shrinking the heap, as a fit's surviving model arrays do.
    blocks = [bytearray(64 * 1024) for _ in range(600)]
    kept = blocks[-1]
    del blocks
    before = psutil.Process().memory_info().rss
    assert memory.release_freed_memory()
    released = before - psutil.Process().memory_info().rss
    assert released > 20 * MB
    assert len(kept) == 64 * 1024


def test_other_allocators_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # jemalloc (preloaded in Home Assistant's container image) returns pages itself; glibc's
    # trim would only walk an empty heap there.
    monkeypatch.setenv("LD_PRELOAD", "/usr/local/lib/libjemalloc.so.2")
    assert memory.release_freed_memory() is False
