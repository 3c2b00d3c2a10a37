"""Persistence: what was learned survives restarts; a broken store never blocks setup."""

from __future__ import annotations

import base64
import struct
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.const import DOMAIN, ISSUE_STORE_CORRUPT

from .conftest import FRONT_DOOR, KITCHEN_MOTION, set_home_states, setup_entry


async def test_learned_state_survives_restart(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    # Home Assistant's final write at shutdown flushes the delayed save.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    saved = hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"]
    assert saved["version"] == 1
    channel = saved["data"]["observations"]["channels"][KITCHEN_MOTION]
    # Two base64 strings of little-endian float64 per channel, not a number per point.
    assert struct.unpack("<2d", base64.b64decode(channel["v"])) == (0.0, 1.0)
    times = struct.unpack("<2d", base64.b64decode(channel["t"]))
    assert times[0] < times[1]

    await hass.config_entries.async_unload(mock_entry.entry_id)
    hass.states.async_remove(KITCHEN_MOTION)
    assert await hass.config_entries.async_setup(mock_entry.entry_id)
    await hass.async_block_till_done()
    restored = mock_entry.runtime_data.coordinator.state.observations
    assert list(restored.channels[KITCHEN_MOTION].values) == [0.0, 1.0]


@pytest.mark.parametrize(
    "data",
    [
        {"observations": "garbage"},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": [1, 2], "v": [1]}}, "roles": {}}},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": "AAA=", "v": "AAA="}}, "roles": {}}},
        {"observations": {"channels": {KITCHEN_MOTION: {"kind": "state", "t": [2, 1], "v": [1, 0]}}, "roles": {}}},
        {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "weird", "t": [], "v": []}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            }
        },
        ["not", "an", "object"],
    ],
)
async def test_corrupt_store_is_set_aside_and_setup_continues(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any], data: Any
) -> None:
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {"version": 1, "minor_version": 1, "key": "x", "data": data}
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    issues = [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN and i.startswith(ISSUE_STORE_CORRUPT)]
    assert len(issues) == 1
    observations = mock_entry.runtime_data.coordinator.state.observations
    # Collection starts again from the current states.
    assert list(observations.channels[FRONT_DOOR].values) == [0.0]


async def test_store_of_version_1_1_with_number_lists_loads(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    now = time.time()
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": "x",
        "data": {
            "observations": {
                "channels": {KITCHEN_MOTION: {"kind": "state", "t": [now - 120, now - 60], "v": [1.0, 0.0]}},
                "roles": {KITCHEN_MOTION: "occupancy"},
            }
        },
    }
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert not [i for (domain, i) in ir.async_get(hass).issues if domain == DOMAIN]
    restored = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(restored.times[:2]) == [now - 120, now - 60]
    assert list(restored.values[:2]) == [1.0, 0.0]


async def test_store_from_a_newer_version_is_set_aside(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    hass_storage[f"{DOMAIN}.{mock_entry.entry_id}"] = {"version": 9, "minor_version": 1, "key": "x", "data": {}}
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    assert any(domain == DOMAIN for (domain, _) in ir.async_get(hass).issues)


async def test_removing_entry_deletes_store(
    hass: HomeAssistant, mock_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await hass.config_entries.async_unload(mock_entry.entry_id)
    assert f"{DOMAIN}.{mock_entry.entry_id}" in hass_storage
    await hass.config_entries.async_remove(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert f"{DOMAIN}.{mock_entry.entry_id}" not in hass_storage
