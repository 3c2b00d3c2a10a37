"""Entities learn of new data a few per step of the event loop, and all of them do."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.coordinator import SmartMLCoordinator
from custom_components.smartml.stepped import LISTENERS_PER_STEP

from .conftest import POWER, set_home_states, setup_entry


async def _coordinator(hass: HomeAssistant, entry: MockConfigEntry) -> SmartMLCoordinator:
    set_home_states(hass)
    await setup_entry(hass, entry)
    await hass.async_block_till_done()
    return entry.runtime_data.coordinator


def _numbered_listeners(coordinator: SmartMLCoordinator, count: int, calls: list[int]) -> list[Callable[[], None]]:
    """Add listeners that record their number when told; return their removers."""
    removers = []
    for number in range(count):

        @callback
        def listener(number: int = number) -> None:
            calls.append(number)

        removers.append(coordinator.async_add_listener(listener))
    return removers


async def test_listeners_are_told_in_steps_and_all_of_them(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    coordinator = await _coordinator(hass, mock_entry)
    calls: list[int] = []
    count = 3 * LISTENERS_PER_STEP + 5
    # The integration's own entities subscribed first.
    already = len(
        [e for e in er.async_entries_for_config_entry(er.async_get(hass), mock_entry.entry_id) if not e.disabled]
    )
    removers = _numbered_listeners(coordinator, count, calls)

    coordinator.async_update_listeners()
    told_at_once = len(calls)
    # One listener goes away before the sweep reaches it: it must not be called.
    removers[-1]()
    await hass.async_block_till_done()

    assert told_at_once == max(0, LISTENERS_PER_STEP - already)
    assert sorted(calls) == list(range(count - 1))


async def test_a_new_update_restarts_the_sweep_with_every_listener(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    coordinator = await _coordinator(hass, mock_entry)
    calls: list[int] = []
    count = 4 * LISTENERS_PER_STEP
    _numbered_listeners(coordinator, count, calls)

    coordinator.async_update_listeners()
    await asyncio.sleep(0)
    calls.clear()
    coordinator.async_update_listeners()  # the first sweep is still running
    await hass.async_block_till_done()

    assert sorted(calls) == list(range(count))


async def test_learning_switch_returns_once_every_entity_shows_it(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    coordinator = await _coordinator(hass, mock_entry)
    told: list[bool] = []
    count = 3 * LISTENERS_PER_STEP
    for _ in range(count):
        coordinator.async_add_listener(lambda: told.append(coordinator.learning))

    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)

    assert told == [False] * count
    assert hass.states.get("switch.smartml_learning").state == "off"
    assert hass.states.get("sensor.smartml_learning_status").state == "paused"


async def test_a_flaky_sensor_does_not_rewrite_the_learning_status(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    """A power meter that drops out every minute: each refresh counts one more skipped state."""
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    status = "sensor.smartml_learning_status"
    written = hass.states.get(status).last_updated
    for _ in range(3):
        hass.states.async_set(POWER, "unavailable")
        hass.states.async_set(POWER, "350", {"unit_of_measurement": "W", "device_class": "power"})
        await coordinator.async_refresh()
        await hass.async_block_till_done()
    assert coordinator.state.observations.skipped["unavailable"] == 3
    assert hass.states.get(status).last_updated == written
