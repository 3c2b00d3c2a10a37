"""The recorder missing, slow, failing or excluding entities; entities renamed, removed or
changing unit; the entry reloaded while states keep changing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, history as recorder_history
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from sqlalchemy.exc import OperationalError

from custom_components.smartml import history
from tests.components.conftest import (
    FRONT_DOOR,
    HALL_MOTION,
    KITCHEN_MOTION,
    POWER,
    THERMOSTAT,
    force_history_api,
    set_home_states,
    setup_entry,
)


async def _record_days(hass: HomeAssistant, freezer: FrozenDateTimeFactory, days: int = 3) -> None:
    now = dt_util.utcnow()
    set_home_states(hass)
    for day in range(days, 0, -1):
        freezer.move_to(now - timedelta(days=day))
        hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
        freezer.tick(timedelta(minutes=5))
        hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
        hass.states.async_set(HALL_MOTION, "off", {"device_class": "motion"})
    freezer.move_to(now)
    await async_wait_recording_done(hass)


# --- recorder ---------------------------------------------------------------------------


async def test_without_recorder_setup_collects_live_states(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    assert "recorder" not in hass.config.components
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert list(mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION].values) == [0.0, 1.0]


async def test_history_is_read_once_the_recorder_is_back(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert mock_entry.runtime_data.coordinator.state.bootstrapped == {}


@pytest.fixture(params=["states table", "history api"])
def recorder_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way history is read: the states table, and the history API when the table's schema has changed."""
    if request.param == "history api":
        force_history_api(monkeypatch)
    return str(request.param)


async def test_recorder_boundary_rows_and_entity_groups_are_all_read(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    recorder_reader: str,
) -> None:
    """History is read in batches (through the API: a day and a few entities at a time); none falls between reads."""
    now = dt_util.utcnow()
    set_home_states(hass)
    start = now - timedelta(days=28)
    boundaries = [start + timedelta(days=d) for d in (1, 2, 5)]
    for moment in boundaries:
        freezer.move_to(moment)
        hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        freezer.move_to(moment + timedelta(seconds=1))
        hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    freezer.move_to(now)
    await async_wait_recording_done(hass)
    monkeypatch.setattr(history, "RECORDER_ROWS_PER_READ", 1)
    monkeypatch.setattr(history, "RECORDER_ENTITIES_PER_READ", 2)
    # Windows of exactly a day, so that rows fall on the reads' boundaries.
    for name in ("RECORDER_FIRST_WINDOW", "RECORDER_MIN_WINDOW", "RECORDER_MAX_WINDOW"):
        monkeypatch.setattr(history, name, timedelta(days=1))
    await setup_entry(hass, mock_entry)
    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    on_times = [t for t, v in zip(kitchen.times, kitchen.values, strict=True) if v == 1.0]
    assert on_times == pytest.approx([m.timestamp() for m in boundaries])
    # Every configured entity was read although they were split into groups.
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert {FRONT_DOOR, HALL_MOTION, POWER, f"{THERMOSTAT}|temperature"} <= set(observations.channels)


async def test_slow_recorder_delays_setup_but_loses_no_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    recorder_reader: str,
) -> None:
    await _record_days(hass, freezer)
    real = history.session_scope

    @contextmanager
    def slow(**kwargs: Any) -> Iterator[Any]:
        time.sleep(0.02)  # a busy database on an SD card
        with real(**kwargs) as session:
            yield session

    # Both readers open their sessions through this helper (the history API as well).
    with patch.object(history, "session_scope", slow), patch.object(recorder_history, "session_scope", slow):
        await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(kitchen.values).count(1.0) == 3


async def test_recorder_database_error_does_not_fail_setup(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _record_days(hass, freezer)

    @contextmanager
    def locked(**_kwargs: Any) -> Iterator[Any]:
        raise OperationalError("SELECT", {}, Exception("database is locked"))
        yield

    # The states table fails, and so does the history API it falls back to.
    with patch.object(history, "session_scope", locked), patch.object(recorder_history, "session_scope", locked):
        await setup_entry(hass, mock_entry)
    assert mock_entry.state is ConfigEntryState.LOADED
    coordinator = mock_entry.runtime_data.coordinator
    assert coordinator.state.bootstrapped == {}  # read again at the next start
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert list(coordinator.state.observations.channels[KITCHEN_MOTION].values)[-1] == 1.0


async def test_excluded_entity_still_learns_from_live_states(
    recorder_mock: Recorder, hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    recorder_mock.entity_filter = lambda entity_id: entity_id != KITCHEN_MOTION
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    kitchen = mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION]
    assert list(kitchen.values) == [0.0, 1.0]
    recorder_mock.entity_filter = None


# --- entities ---------------------------------------------------------------------------


async def test_unit_change_is_converted_not_mixed(
    hass: HomeAssistant, mock_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    power = mock_entry.runtime_data.coordinator.state.observations.channels[POWER]
    # One reading per 5-minute bucket, so each is kept as its own point.
    for state, unit in (("0.4", "kW"), ("500", "W"), ("3", "BTU/h"), ("0.0006", "MW")):
        freezer.tick(timedelta(minutes=5))
        hass.states.async_set(POWER, state, {"unit_of_measurement": unit, "device_class": "power"})
        await hass.async_block_till_done()
    power.flush()
    assert list(power.values)[-3:] == pytest.approx([400.0, 500.0, 600.0])
    assert mock_entry.runtime_data.coordinator.state.observations.skipped["unsupported"] == 1


async def test_thermostat_switching_to_fahrenheit_stays_in_celsius(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(
        THERMOSTAT, "heat", {"temperature": 70.0, "current_temperature": 68.0, "unit_of_measurement": "°F"}
    )
    await hass.async_block_till_done()
    setpoint = mock_entry.runtime_data.coordinator.state.observations.channels[f"{THERMOSTAT}|temperature"]
    assert list(setpoint.values)[-1] == pytest.approx(21.11, abs=0.01)


async def test_removed_from_registry_entity_stops_quietly(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "kitchen", suggested_object_id="kitchen_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry.async_remove(KITCHEN_MOTION)
    hass.states.async_remove(KITCHEN_MOTION)
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[KITCHEN_MOTION].values) == [0.0]  # what it learned is kept
    assert list(observations.channels[FRONT_DOOR].values) == [0.0, 1.0]


async def test_renamed_entity_does_not_break_the_entry(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "kitchen", suggested_object_id="kitchen_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry.async_update_entity(KITCHEN_MOTION, new_entity_id="binary_sensor.kitchen_presence")
    hass.states.async_remove(KITCHEN_MOTION)
    hass.states.async_set("binary_sensor.kitchen_presence", "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    # What was learned follows the entity to its new id.
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert KITCHEN_MOTION not in observations.channels
    assert "binary_sensor.kitchen_presence" in observations.channels
    assert "binary_sensor.kitchen_presence" in mock_entry.options["areas"]["kitchen"]["occupancy"]


async def test_renamed_entity_keeps_being_learned_from(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    registry = er.async_get(hass)
    registry.async_get_or_create("binary_sensor", "test", "kitchen", suggested_object_id="kitchen_motion")
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry.async_update_entity(KITCHEN_MOTION, new_entity_id="binary_sensor.kitchen_presence")
    await hass.async_block_till_done()
    hass.states.async_set("binary_sensor.kitchen_presence", "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert "binary_sensor.kitchen_presence" in observations.channels


# --- reload under load ----------------------------------------------------------------


async def test_reload_while_states_keep_changing(
    hass: HomeAssistant, mock_entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    for i in range(20):
        hass.states.async_set(KITCHEN_MOTION, "on" if i % 2 else "off", {"device_class": "motion"})
        await hass.async_block_till_done()
    before = len(mock_entry.runtime_data.coordinator.state.observations.channels[KITCHEN_MOTION].times)
    stop = asyncio.Event()

    async def storm() -> None:
        i = 0
        while not stop.is_set():
            hass.states.async_set(HALL_MOTION, "on" if i % 2 else "off", {"device_class": "motion"})
            hass.states.async_set(POWER, str(300 + i % 50), {"unit_of_measurement": "W"})
            i += 1
            await asyncio.sleep(0)

    task = hass.async_create_background_task(storm(), "state storm")
    for _ in range(3):
        assert await hass.config_entries.async_reload(mock_entry.entry_id)
    stop.set()
    await task
    await hass.async_block_till_done()
    assert mock_entry.state is ConfigEntryState.LOADED
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert len(observations.channels[KITCHEN_MOTION].times) == before  # nothing learned was lost
    assert len(observations.channels[HALL_MOTION].times) > 1
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") and "smartml" in r.name]
