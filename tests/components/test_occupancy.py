"""Occupancy predictions on a real Home Assistant, learned from recorder history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
import importlib.abc
import sys
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance, history
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import DOMAIN

from .conftest import HALL_MOTION, KITCHEN_MOTION, PERSON, set_home_states, setup_entry
from .recorder_day import async_minute_refreshes, async_recorded

DAYS = 6


async def record_routine(hass: HomeAssistant, freezer: FrozenDateTimeFactory, days: int = DAYS) -> None:
    """A household that cooks at 07:00 and 18:00 and is out from 08:30 to 17:30 on most days."""
    now = dt_util.utcnow()
    midnight = dt_util.start_of_local_day(now)
    freezer.move_to(midnight - timedelta(days=days, hours=1))
    set_home_states(hass)
    steps = [
        (7, 0, KITCHEN_MOTION, "on"),
        (7, 40, KITCHEN_MOTION, "off"),
        (8, 20, HALL_MOTION, "on"),
        (8, 25, HALL_MOTION, "off"),
        (8, 30, PERSON, "not_home"),
        (17, 30, PERSON, "home"),
        (17, 31, HALL_MOTION, "on"),
        (17, 35, HALL_MOTION, "off"),
        (18, 0, KITCHEN_MOTION, "on"),
        (19, 0, KITCHEN_MOTION, "off"),
    ]
    for day in range(days, 0, -1):
        # Plus one visit to the kitchen at an odd hour each day, as real homes have.
        odd_hour = (day * 5 + 1) % 24
        extra = [(odd_hour, 5, KITCHEN_MOTION, "on"), (odd_hour, 50, KITCHEN_MOTION, "off")]
        for hour, minute, entity_id, state in sorted(steps + extra, key=lambda step: (step[0], step[1])):
            moment = midnight - timedelta(days=day) + timedelta(hours=hour, minutes=minute)
            if moment >= now:
                break
            freezer.move_to(moment)
            hass.states.async_set(entity_id, state, {"device_class": "motion"} if "motion" in entity_id else {})
    freezer.move_to(now)
    await async_wait_recording_done(hass)


@pytest.fixture
def morning(freezer: FrozenDateTimeFactory) -> None:
    """Run the test at 06:50 local time, just before the kitchen routine."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=6, minutes=50))


async def test_entities_predict_routine_from_recorder_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    status = hass.states.get("sensor.smartml_learning_status")
    assert status.state == "ready", status.attributes

    probability = hass.states.get("sensor.kitchen_occupancy_probability")
    forecast = probability.attributes["forecast"]
    assert len(forecast) == 24

    # The kitchen is used from 07:00 and from 18:00 every day, and never at 03:00.
    def at(hour: int) -> float:
        moment = dt_util.start_of_local_day(dt_util.now() + timedelta(hours=1)) + timedelta(hours=hour, minutes=10)
        if moment < dt_util.now():
            moment += timedelta(days=1)
        for item in forecast:
            start = dt_util.parse_datetime(item["datetime"])
            if start <= moment < start + timedelta(hours=1):
                return item["probability"]
        raise AssertionError(f"no forecast for {moment}")

    assert at(7) > 0.5
    assert at(18) > 0.5
    assert at(3) < 0.2
    next_occupied = dt_util.parse_datetime(hass.states.get("sensor.kitchen_next_occupied").state)
    assert timedelta(0) <= next_occupied - dt_util.utcnow() <= timedelta(minutes=30)
    assert hass.states.get("binary_sensor.kitchen_occupancy_predicted").attributes["probability"] >= 0
    # Someone is home at 06:50 and usually leaves at 08:30.
    departure = dt_util.parse_datetime(hass.states.get("sensor.home_expected_departure").state)
    assert timedelta(hours=1) <= departure - dt_util.utcnow() <= timedelta(hours=2, minutes=30)
    assert hass.states.get("sensor.home_expected_arrival").state == "unknown"

    # Each area's accuracy is there for whoever checks the model, off until enabled.
    accuracy = er.async_get(hass).async_get("sensor.kitchen_occupancy_accuracy")
    assert accuracy is not None and accuracy.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get("sensor.kitchen_occupancy_accuracy") is None

    # The recorder keeps the probability, not the hourly forecast that changes with it.
    await async_wait_recording_done(hass)
    recorded = await get_instance(hass).async_add_executor_job(
        history.get_last_state_changes, hass, 1, "sensor.kitchen_occupancy_probability"
    )
    (row,) = recorded["sensor.kitchen_occupancy_probability"]
    assert row.state == probability.state and "forecast" not in row.attributes


async def test_predictions_follow_new_states_and_survive_restart(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    assert hass.states.get("sensor.home_expected_departure").state not in ("unknown", "unavailable")
    # Everyone leaves early: SmartML now expects an arrival instead of a departure.
    hass.states.async_set(PERSON, "not_home")
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=1))
    await mock_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    arrival = dt_util.parse_datetime(hass.states.get("sensor.home_expected_arrival").state)
    assert arrival > dt_util.utcnow()
    assert hass.states.get("sensor.home_expected_departure").state == "unknown"

    await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.kitchen_occupancy_probability").state not in ("unknown", "unavailable")


async def test_get_forecast_returns_hourly_probabilities(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    response = await hass.services.async_call(
        DOMAIN, "get_forecast", {"hours": 3, "areas": ["kitchen", "home"]}, blocking=True, return_response=True
    )
    assert set(response["occupancy"]) == {"kitchen", "home"}
    assert len(response["occupancy"]["kitchen"]) == 3
    assert 0.0 <= response["occupancy"]["home"][0]["probability"] <= 1.0


async def test_too_little_history_leaves_entities_unavailable_with_a_reason(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert hass.states.get("binary_sensor.kitchen_occupancy_predicted").state == "unavailable"
    assert hass.states.get("sensor.home_expected_arrival").state == "unavailable"
    assert hass.states.get("sensor.smartml_learning_status").attributes["reason"]


class _NoScikitLearn(importlib.abc.MetaPathFinder):
    """Refuses to find scikit-learn."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "sklearn" or fullname.startswith("sklearn."):
            raise ModuleNotFoundError(f"No module named {fullname!r}")


async def test_fit_runs_in_executor_without_scikit_learn(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        del sys.modules[name]
    # scikit-learn cannot be imported at all, as in a Home Assistant that never installed it.
    monkeypatch.setattr(sys, "meta_path", [_NoScikitLearn(), *sys.meta_path])
    await record_routine(hass, freezer)
    threads: list[str] = []
    coordinator_cls = __import__(
        "custom_components.smartml.fitting", fromlist=["SmartMLFitCoordinator"]
    ).SmartMLFitCoordinator
    original = coordinator_cls._fit

    def spy(self, *args):
        import threading

        threads.append(threading.current_thread().name)
        return original(self, *args)

    coordinator_cls._fit = spy
    try:
        await setup_entry(hass, mock_entry)
    finally:
        coordinator_cls._fit = original
    assert threads
    # SmartML's own worker thread, not the event loop's.
    assert all(name.startswith("smartml_models") for name in threads)
    # The models are numpy only: some 100 MB of scikit-learn and scipy stay out.
    assert "sklearn" not in sys.modules
    assert hass.states.get("sensor.smartml_learning_status").state == "ready"
    assert hass.states.get("sensor.kitchen_occupancy_probability").attributes["forecast"]


async def test_a_day_of_refreshes_adds_little_to_the_recorder(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    """24 hours of minute refreshes: no forecast in the recorder, and rows only for what changed visibly."""
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    await async_wait_recording_done(hass)
    ours = [e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), mock_entry.entry_id)]
    before = await async_recorded(hass, ours)

    def household(minute: int, now: datetime) -> None:
        # The household's day goes on, so the predictions move.
        local = dt_util.as_local(now)
        if (local.hour, local.minute) in ((7, 0), (18, 0)):
            hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
        elif (local.hour, local.minute) in ((7, 30), (19, 0)):
            hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
        if minute % 97 == 0:
            hass.states.async_set(HALL_MOTION, "on" if minute % 2 else "off", {"device_class": "motion"})

    await async_minute_refreshes(hass, freezer, mock_entry.runtime_data.coordinator, household)
    day = await async_recorded(hass, ours) - before

    assert not day.forecast, "a forecast attribute was recorded"
    # A row a minute per entity would be 1,440 a day each.
    assert day.rows < 40 * len(ours), (day.rows, len(ours))
    assert day.bytes < 2 * 1024 * 1024
    print(f"SmartML's {len(ours)} entities, a day of minute refreshes: {day.rows} rows, {day.bytes / 1024:.0f} kB")


async def test_a_prediction_that_moves_in_digits_nobody_sees_is_not_rewritten(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    sensor = "sensor.kitchen_occupancy_probability"
    writes: list[Event] = []

    @callback
    def ours(event_data: Mapping[str, Any]) -> bool:
        return bool(event_data["entity_id"] == sensor)

    for event_type in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED):
        hass.bus.async_listen(event_type, writes.append, event_filter=ours)

    def kitchen_moved_by(step: float) -> None:
        data = coordinator.data
        occupancy = data.prediction.occupancy
        kitchen = occupancy.areas["kitchen"]
        moved = replace(
            kitchen,
            probability=min(1.0, kitchen.probability + step),
            forecast=[(ts, min(1.0, p + step)) for ts, p in kitchen.forecast],
        )
        areas = {**occupancy.areas, "kitchen": moved}
        coordinator.async_set_updated_data(
            replace(data, prediction=replace(data.prediction, occupancy=replace(occupancy, areas=areas)))
        )

    kitchen_moved_by(0.0002)  # below the whole percent shown
    await hass.async_block_till_done()
    assert writes == []
    kitchen_moved_by(0.05)
    await hass.async_block_till_done()
    assert len(writes) == 1
    # The forecast is hourly: an hour on, it is rewritten even when the value shows the same.
    freezer.tick(timedelta(minutes=61))
    kitchen_moved_by(0.0002)
    await hass.async_block_till_done()
    assert len(writes) == 2
