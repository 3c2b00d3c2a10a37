"""A real Home Assistant for the benchmark: core, registries, optionally the recorder.

Built the way Home Assistant's own test harness builds one (no HTTP, no frontend), with
this repository's custom_components on the path and a temporary config directory, so
SmartML runs exactly as installed: config entry, collector, recorder bootstrap, executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
import time
from typing import Any

from homeassistant import loader
from homeassistant.core import HomeAssistant
from homeassistant.helpers import recorder as recorder_helper
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from .home import TIME_ZONE


@asynccontextmanager
async def running_hass(config_dir: str, db_path: str | None = None) -> AsyncIterator[HomeAssistant]:
    """A running Home Assistant; with db_path, the recorder writes to that SQLite file."""
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # let custom integrations load
        await hass.config.async_set_time_zone(TIME_ZONE)
        if db_path is not None:
            recorder_helper.async_initialize_recorder(hass)
            ok = await async_setup_component(
                hass, "recorder", {"recorder": {"db_url": f"sqlite:///{db_path}", "purge_keep_days": 60}}
            )
            assert ok, "recorder did not start"
            await hass.data[recorder_helper.DATA_RECORDER].db_connected
        await hass.async_block_till_done()
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


async def setup_smartml(hass: HomeAssistant, options: dict[str, Any]) -> MockConfigEntry:
    """Add a SmartML config entry with these options and set it up."""
    entry = MockConfigEntry(domain="smartml", title="SmartML", unique_id="smartml", data={}, options=options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id), "SmartML did not set up"
    await hass.async_block_till_done()
    return entry


@dataclass
class LagProbe:
    """Measures how late the event loop wakes a task that sleeps 1 ms at a time.

    Every wake-up later than `record_above` seconds is kept with its time, so that the
    lateness can be attributed to what ran in that window.
    """

    interval: float = 0.001
    record_above: float = 0.002
    samples: list[tuple[float, float]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin probing on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            late = time.perf_counter() - before - self.interval
            if late > self.record_above:
                self.samples.append((time.perf_counter(), late))

    def worst(self, start: float, end: float) -> float:
        """Largest lateness (seconds) of a wake-up that fell in [start, end]."""
        return max((late for ts, late in self.samples if ts >= start and ts - late <= end), default=0.0)

    def worst_beyond(self, start: float, end: float, pauses: list[tuple[float, float]]) -> float:
        """Largest lateness in [start, end] left after taking out the given pauses' overlap.

        Garbage-collector pauses stop every thread whoever triggers them; what remains of
        a late wake-up is time the loop spent on other work.
        """
        worst = 0.0
        for ts, late in self.samples:
            if ts < start or ts - late > end:
                continue
            overlap = sum(max(0.0, min(ts, b) - max(ts - late, a)) for a, b in pauses)
            worst = max(worst, late - overlap)
        return worst
