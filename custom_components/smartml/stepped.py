"""A coordinator that tells its entities of new data a few at a time.

A large home has well over a hundred SmartML entities; writing all their states in one
step of the event loop stalls it, so they are told in steps of LISTENERS_PER_STEP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

LISTENERS_PER_STEP = 16


class SteppedUpdateCoordinator[T](DataUpdateCoordinator[T]):
    """DataUpdateCoordinator whose listener updates are spread over steps of the event loop."""

    config_entry: ConfigEntry

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As DataUpdateCoordinator."""
        super().__init__(*args, **kwargs)
        # The entities' update callbacks, in the order they subscribed.
        self._entity_updates: dict[object, CALLBACK_TYPE] = {}
        self._listener_sweep: asyncio.Task[None] | None = None

    @callback
    def async_add_listener(self, update_callback: CALLBACK_TYPE, context: Any = None) -> Callable[[], None]:
        """Subscribe an entity; its callback is also kept here for the stepped updates."""
        remove = super().async_add_listener(update_callback, context)
        key = object()
        self._entity_updates[key] = update_callback

        @callback
        def remove_listener() -> None:
            self._entity_updates.pop(key, None)
            remove()

        return remove_listener

    @callback
    def async_update_listeners(self) -> None:
        """Tell the entities of new data, a few per step of the event loop.

        The first few are told at once; a sweep still running restarts with the newest data.
        """
        if self._listener_sweep is not None and not self._listener_sweep.done():
            self._listener_sweep.cancel()
        self._listener_sweep = self.config_entry.async_create_task(
            self.hass, self._async_sweep_listeners(), f"{self.name} entity updates", eager_start=True
        )

    async def async_tell_listeners(self) -> None:
        """Update the entities and wait until all of them are (for user actions)."""
        self.async_update_listeners()
        while (sweep := self._listener_sweep) is not None and not sweep.done():
            await asyncio.wait([sweep])

    async def _async_sweep_listeners(self) -> None:
        listeners = list(self._entity_updates.items())
        for first in range(0, len(listeners), LISTENERS_PER_STEP):
            if first:
                await asyncio.sleep(0)
            for key, update in listeners[first : first + LISTENERS_PER_STEP]:
                if key in self._entity_updates:  # its entity may have gone meanwhile
                    update()
