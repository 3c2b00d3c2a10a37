"""The collector on a real state bus, odd states included, and the learning switch."""

from __future__ import annotations

import time

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import ENERGY, FRONT_DOOR, KITCHEN_MOTION, PERSON, POWER, THERMOSTAT, set_home_states, setup_entry


async def test_collector_converts_states_and_skips_garbage(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    observations = mock_entry.runtime_data.coordinator.state.observations
    stream = [
        (KITCHEN_MOTION, "on", {}),
        (KITCHEN_MOTION, "unknown", {}),
        (KITCHEN_MOTION, "unavailable", {}),
        (KITCHEN_MOTION, "off", {}),
        (FRONT_DOOR, "on", {}),
        (PERSON, "Work", {}),
        (POWER, "1.5", {"unit_of_measurement": "kW"}),
        (POWER, "banana", {"unit_of_measurement": "W"}),
        (POWER, "nan", {"unit_of_measurement": "W"}),
        (POWER, "1e12", {"unit_of_measurement": "W"}),
        (POWER, "12", {"unit_of_measurement": "furlongs"}),
        (ENERGY, "1250500", {"unit_of_measurement": "Wh"}),
        (THERMOSTAT, "off", {"temperature": "warm", "current_temperature": 18.0, "hvac_action": "idle"}),
    ]
    for entity_id, state, attributes in stream:
        hass.states.async_set(entity_id, state, attributes)
    await hass.async_block_till_done()

    assert list(observations.channels[KITCHEN_MOTION].values) == [0.0, 1.0, 0.0]
    assert list(observations.channels[FRONT_DOOR].values) == [0.0, 1.0]
    assert list(observations.channels[PERSON].values) == [1.0, 0.0]
    # 350 W at start and 1.5 kW fall in one 5-minute bucket: the mean is kept.
    power = observations.channels[POWER]
    assert power.bucket_count == 2
    assert power.bucket_value / power.bucket_count == (350 + 1500) / 2
    assert observations.channels[ENERGY].bucket_value == 1250.5
    assert list(observations.channels[f"{THERMOSTAT}|hvac_mode"].values) == [1.0, 0.0]
    assert list(observations.channels[f"{THERMOSTAT}|hvac_action"].values) == [1.0, 0.0]
    assert observations.skipped == {
        "unknown": 1,
        "unavailable": 1,
        "not_numeric": 2,
        "out_of_range": 1,
        "unsupported": 1,
    }


async def test_learning_switch_pauses_collection_and_is_persisted(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    assert hass.states.get("switch.smartml_learning").state == "off"
    assert hass.states.get("sensor.smartml_learning_status").state == "paused"

    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[KITCHEN_MOTION].values) == [0.0]

    await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("switch.smartml_learning").state == "off"

    # Resumed: the kitchen turned on while paused, so it is on from now (not from within the pause).
    resumed = time.time()
    await hass.services.async_call("switch", "turn_on", {"entity_id": "switch.smartml_learning"}, blocking=True)
    observations = mock_entry.runtime_data.coordinator.state.observations
    kitchen = observations.channels[KITCHEN_MOTION]
    assert list(kitchen.values) == [0.0, 1.0] and kitchen.times[-1] >= resumed
    # Nothing was heard while paused: the models learn nothing of that time (the kitchen was
    # not "off" throughout), as from any period excluded.
    coordinator = mock_entry.runtime_data.coordinator
    [paused] = coordinator.state.excluded
    assert paused.entities == () and paused.start < paused.end <= time.time()
    assert paused.end >= resumed
    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert list(observations.channels[KITCHEN_MOTION].values) == [0.0, 1.0, 0.0]
    assert hass.states.get("sensor.smartml_learning_status").state == "collecting"


async def test_removed_entity_does_not_break_collection(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_remove(KITCHEN_MOTION)
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    await hass.async_block_till_done()
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[FRONT_DOOR].values) == [0.0, 1.0]
