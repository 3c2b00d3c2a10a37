"""Occupancy predictions on a real Home Assistant, learned from recorder history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import importlib.abc
import json
from pathlib import Path
import sys
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance, history
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.smartml.const import CONF_AREAS, CONF_ENVIRONMENT, CONF_OCCUPANCY, CONF_PRESENCE, DOMAIN
from custom_components.smartml.engine.constants import HOME
from custom_components.smartml.engine.results import (
    CONTRIBUTION_ACTIVITY,
    CONTRIBUTION_AWAY,
    CONTRIBUTION_ELSEWHERE,
    CONTRIBUTION_ROUTINE,
    Contribution,
)
from custom_components.smartml.reasons import reason

from .conftest import HALL_MOTION, KITCHEN_MOTION, PERSON, home_options, set_home_states, setup_entry
from .recorder_day import async_minute_refreshes, async_recorded

SPARE_ROOM_MOTION = "binary_sensor.spare_room_motion"
KITCHEN_LIGHT = "sensor.kitchen_illuminance"
LUX = {"device_class": "illuminance", "unit_of_measurement": "lx", "state_class": "measurement"}
# 2026-01-05 12:00 UTC, and a clock that shows UTC, for the reason's words.
NOW = 1_767_614_400.0


def _utc_clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


DAYS = 6


async def record_routine(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, days: int = DAYS, light: str | None = None
) -> None:
    """A household that cooks at 07:00 and 18:00 and is out from 08:30 to 17:30 on most days.

    light: an illuminance sensor of the kitchen, bright while it is in use.
    """
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
            if light and entity_id == KITCHEN_MOTION:
                hass.states.async_set(light, "320" if state == "on" else "4", LUX)
    freezer.move_to(now)
    await async_wait_recording_done(hass)


@pytest.fixture
def night(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 03:01 local time, when the recorded household never uses the kitchen."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=3, minutes=1))


async def _hours_pass(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, hours: int) -> None:
    """Let hours pass, refreshing each hour."""
    for _ in range(hours):
        freezer.tick(timedelta(hours=1))
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()


def _assert_kitchen_not_in_use(hass: HomeAssistant) -> None:
    kitchen = hass.states.get("binary_sensor.kitchen_occupancy_predicted")
    assert kitchen.state == "off", kitchen.attributes
    assert "in use now" not in kitchen.attributes["reason"]


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
    predicted = hass.states.get("binary_sensor.kitchen_occupancy_predicted")
    assert predicted.attributes["probability"] >= 0
    # A forecast, not someone detected: the area's occupancy triggers must not take it for one.
    assert "device_class" not in predicted.attributes
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


def _phrases_on_disk() -> dict[str, str]:
    """The reason phrases as the integration's English translation file holds them."""
    path = Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations" / "en.json"
    sensor = json.loads(path.read_text(encoding="utf-8"))["entity"]["sensor"]
    return dict(sensor["occupancy_probability"]["state_attributes"]["reason"]["state"])


def _opening(template: str) -> str:
    """A phrase's words before its first placeholder."""
    return template.split("{", maxsplit=1)[0]


async def test_reason_names_the_strongest_contribution_in_the_integrations_words(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    phrases = _phrases_on_disk()
    prediction = mock_entry.runtime_data.coordinator.prediction
    for scope, entity_ids in (
        ("kitchen", ("sensor.kitchen_occupancy_probability", "binary_sensor.kitchen_occupancy_predicted")),
        (HOME, ("sensor.home_occupancy_probability", "binary_sensor.home_occupancy_predicted")),
    ):
        strongest = prediction.scope(scope).contributions[0]
        # The strongest contribution comes first, in the words of the translation file.
        expected = {
            CONTRIBUTION_ROUTINE: ("routine_usually", "routine_rarely"),
            CONTRIBUTION_ACTIVITY: ("activity_now", "activity_at", "idle_since", "idle_day", "idle_days"),
            CONTRIBUTION_AWAY: ("away",),
            CONTRIBUTION_ELSEWHERE: ("elsewhere",),
        }[strongest.kind]
        for entity_id in entity_ids:
            reason = hass.states.get(entity_id).attributes["reason"]
            first = reason.split(", ")[0]
            assert any(first.startswith(_opening(phrases[key])) for key in expected), (entity_id, reason, strongest)
            assert 1 <= len(reason.split(", ")) <= 3


async def test_reason_is_not_written_to_the_recorder(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    entity_ids = ["sensor.kitchen_occupancy_probability", "binary_sensor.kitchen_occupancy_predicted"]
    await async_wait_recording_done(hass)
    for entity_id in entity_ids:
        assert hass.states.get(entity_id).attributes["reason"]
        recorded = await get_instance(hass).async_add_executor_job(history.get_last_state_changes, hass, 1, entity_id)
        (row,) = recorded[entity_id]
        assert row.state == hass.states.get(entity_id).state
        assert "reason" not in row.attributes


async def test_a_room_used_daily_has_a_next_use_after_its_last_use_of_the_day(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    # 20:30, after the evening meal: the kitchen is next used tomorrow, not "unknown".
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=20, minutes=30))
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    state = hass.states.get("sensor.kitchen_next_occupied")
    next_use = dt_util.parse_datetime(state.state)
    assert next_use is not None, state
    assert timedelta(0) < next_use - dt_util.utcnow() <= timedelta(hours=12)
    assert state.attributes["expected_within_forecast"] is True
    assert state.attributes["chance_within_forecast"] >= 0.5


async def test_a_room_never_used_says_no_use_is_expected_in_the_forecast(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    # The spare room's sensor has been there, off, since before the recorded weeks.
    now = dt_util.utcnow()
    freezer.move_to(now - timedelta(days=DAYS + 2))
    hass.states.async_set(SPARE_ROOM_MOTION, "off", {"device_class": "motion"})
    freezer.move_to(now)
    await record_routine(hass, freezer)
    areas = {
        "kitchen": {CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: []},
        "spare_room": {CONF_OCCUPANCY: [SPARE_ROOM_MOTION], CONF_ENVIRONMENT: []},
    }
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_AREAS: areas}))
    await setup_entry(hass, entry)
    state = hass.states.get("sensor.spare_room_next_occupied")
    assert state.state == "unknown"
    assert state.attributes["expected_within_forecast"] is False
    assert state.attributes["chance_within_forecast"] < 0.5
    reason = hass.states.get("sensor.spare_room_occupancy_probability").attributes["reason"]
    assert _opening(_phrases_on_disk()["routine_rarely"]) in reason or "no activity" in reason


@pytest.mark.parametrize(
    ("contribution", "words"),
    [
        (
            Contribution(CONTRIBUTION_ROUTINE, 1.2, share=0.78, weeks=4, weekend=False),
            "usually occupied at this time on weekdays (78 % over the last 4 weeks)",
        ),
        (
            Contribution(CONTRIBUTION_ROUTINE, -0.3, share=0.1, weeks=1, weekend=True),
            "rarely occupied at this time on weekends (10 % over the last week)",
        ),
        (Contribution(CONTRIBUTION_ROUTINE, 0.4), "usually occupied at this time"),
        (Contribution(CONTRIBUTION_ACTIVITY, 3.0, active=True, last_active=NOW), "in use now"),
        (Contribution(CONTRIBUTION_ACTIVITY, 1.0, active=False, last_active=NOW - 240), "last activity at 11:56"),
        (Contribution(CONTRIBUTION_ACTIVITY, -2.0, active=False, last_active=NOW - 7200), "no activity since 10:00"),
        (Contribution(CONTRIBUTION_ACTIVITY, -2.0, active=False, last_active=NOW - 90_000), "no activity for a day"),
        (
            Contribution(CONTRIBUTION_ACTIVITY, -2.0, active=False, last_active=NOW - 3 * 86_400),
            "no activity for 3 days",
        ),
        (Contribution(CONTRIBUTION_ACTIVITY, -2.0, active=False), "no activity recorded yet"),
        (Contribution(CONTRIBUTION_AWAY, -1.0), "everyone is away"),
        (Contribution(CONTRIBUTION_ELSEWHERE, 0.5), "activity in another room in the last hour"),
    ],
)
def test_each_contribution_reads_as_its_phrase(contribution: Contribution, words: str) -> None:
    assert reason([contribution], _phrases_on_disk(), NOW, _utc_clock) == words


def test_a_reason_joins_the_contributions_strongest_first_and_is_none_without_them() -> None:
    both = (Contribution(CONTRIBUTION_AWAY, -3.0), Contribution(CONTRIBUTION_ROUTINE, 0.4))
    assert reason(both, _phrases_on_disk(), NOW, _utc_clock) == "everyone is away, usually occupied at this time"
    assert reason((), _phrases_on_disk(), NOW, _utc_clock) is None


async def test_environmental_sensors_tell_whether_the_area_is_in_use_now(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    morning: None,
) -> None:
    hass.states.async_set(KITCHEN_LIGHT, "4", LUX)
    await record_routine(hass, freezer, light=KITCHEN_LIGHT)
    areas = {
        "kitchen": {CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: [KITCHEN_LIGHT]},
        # Environmental sensors alone have nothing to be learned against: no entities.
        "cellar": {CONF_OCCUPANCY: [], CONF_ENVIRONMENT: ["sensor.cellar_co2"]},
    }
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_AREAS: areas}))
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    # The cellar's device from a release that gave such an area entities: it goes.
    devices.async_get_or_create(config_entry_id=entry.entry_id, identifiers={(DOMAIN, f"{entry.entry_id}_cellar")})
    await setup_entry(hass, entry)
    assert devices.async_get_device({(DOMAIN, f"{entry.entry_id}_cellar")}) is None
    probability = "sensor.kitchen_occupancy_probability"
    assert hass.states.get(probability).attributes["environment_probability"] < 50
    assert hass.states.get("sensor.cellar_occupancy_probability") is None
    # Someone sits still in the kitchen with the light on: the motion sensor is off.
    freezer.tick(timedelta(minutes=6))  # readings are kept as 5-minute means
    hass.states.async_set(KITCHEN_LIGHT, "320", LUX)
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=1))
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(probability).attributes["environment_probability"] > 50


async def test_a_motion_sensor_gone_offline_while_on_does_not_keep_its_area_in_use(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    night: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=1))
    hass.states.async_set(KITCHEN_MOTION, "unavailable", {})
    await hass.async_block_till_done()

    await _hours_pass(hass, mock_entry, freezer, 10)  # to 13:00, when the household is out

    _assert_kitchen_not_in_use(hass)


async def test_predictions_follow_the_home_while_learning_is_paused(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    night: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    freezer.tick(timedelta(minutes=2))
    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    await hass.async_block_till_done()

    await _hours_pass(hass, mock_entry, freezer, 10)

    _assert_kitchen_not_in_use(hass)
    # Nothing of the pause is learned: the last reading kept is the "on" before it.
    assert coordinator.state.observations.channels[KITCHEN_MOTION].values[-1] == 1.0


async def test_a_home_without_presence_asleep_is_not_said_to_be_empty(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    night: None,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_PRESENCE: []}))
    await record_routine(hass, freezer)
    await setup_entry(hass, entry)

    reasons = [
        hass.states.get(entity_id).attributes["reason"]
        for entity_id in (
            "sensor.kitchen_occupancy_probability",
            "binary_sensor.kitchen_occupancy_predicted",
            "sensor.home_occupancy_probability",
        )
    ]
    assert reasons[0] and not any("everyone is away" in text for text in reasons), reasons
    # No one's comings and goings are known: no dawn is taken for an arrival.
    assert hass.states.get("sensor.home_expected_arrival") is None
    assert hass.states.get("sensor.home_expected_departure") is None


async def test_an_area_in_use_now_is_predicted_in_use(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    night: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    freezer.tick(timedelta(seconds=30))
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=1))
    await mock_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()

    predicted = hass.states.get("binary_sensor.kitchen_occupancy_predicted")
    assert "in use now" in predicted.attributes["reason"]
    assert predicted.state == "on", predicted.attributes
    assert float(hass.states.get("sensor.kitchen_occupancy_probability").state) == 100.0


async def test_an_area_added_with_a_new_sensor_waits_for_its_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    night: None,
) -> None:
    await record_routine(hass, freezer)
    await setup_entry(hass, mock_entry)
    study = "binary_sensor.study_motion"
    hass.states.async_set(study, "off", {"device_class": "motion"})
    areas = {
        "kitchen": {CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: []},
        "study": {CONF_OCCUPANCY: [study], CONF_ENVIRONMENT: []},
    }
    hass.config_entries.async_update_entry(mock_entry, options=home_options(**{CONF_AREAS: areas}))
    await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()

    # Read for seconds: nothing is known of the study's routine yet; the kitchen's stands.
    assert hass.states.get("sensor.study_occupancy_probability").state == "unavailable"
    assert hass.states.get("binary_sensor.study_occupancy_predicted").state == "unavailable"
    assert hass.states.get("sensor.kitchen_occupancy_probability").state not in ("unknown", "unavailable")
