"""SmartML's own worker thread: every fit and prediction runs there, one at a time."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from homeassistant.core import Event, HomeAssistant

from .const import DOMAIN
from .engine.memory import release_freed_memory


class WorkerStoppedError(Exception):
    """Model work asked for after the entry unloaded or Home Assistant stopped."""


class ModelWorker:
    """One thread for model work.

    A fit never competes with another on a small machine, and the memory numpy hands back
    after a fit stays with one thread's allocator arena for the next fit, instead of one
    arena per executor thread growing with each refit.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Create; the thread starts with the first job."""
        self.hass = hass
        self._executor: ThreadPoolExecutor | None = None
        # Stopped for good: a fit or prediction still on its way finds no thread to run in.
        self.stopped = False

    async def async_run[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run model work in the worker thread; raises WorkerStoppedError once stopped."""
        if self.stopped:
            raise WorkerStoppedError
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{DOMAIN}_models")
        return await self.hass.loop.run_in_executor(self._executor, _run_and_release, func, *args)

    async def async_stop(self, _event: Event | None = None) -> None:
        """Let the thread finish its job and end (entry unloaded, Home Assistant stopping)."""
        self.stopped = True
        if (executor := self._executor) is not None:
            self._executor = None
            await self.hass.async_add_executor_job(executor.shutdown)


def _run_and_release[T](func: Callable[..., T], *args: Any) -> T:
    """Worker: run model work, then give back the pages its temporary arrays held."""
    try:
        return func(*args)
    finally:
        release_freed_memory()
