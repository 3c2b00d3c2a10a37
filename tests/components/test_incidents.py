"""Security incidents on a real Home Assistant: told once, updated in place, taught as a whole."""

from __future__ import annotations

from datetime import timedelta
import json
import re
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.persistent_notification import _async_get_or_create_notifications
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.smartml.const import (
    CONF_NOTIFY,
    CONF_OCCUPANCY,
    CONF_ROUTINE_ANOMALIES,
    CONF_SECURITY,
    DOMAIN,
    EVENT_ANOMALY,
)
from custom_components.smartml.diagnostics import async_get_config_entry_diagnostics
from custom_components.smartml.engine.constants import KIND_SECURITY, TYPE_PRESENCE_DOUBT, TYPE_UNUSUAL_VALUE
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.fitting import SmartMLFitCoordinator

from .conftest import FRONT_DOOR, HALL_MOTION, KITCHEN_MOTION, PERSON, home_options, setup_entry
from .home_history import record_home


@pytest.fixture
def at_night(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 02:05 local time."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=2, minutes=5))


async def _minutes(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, n: int) -> None:
    """Let n minutes pass, refreshing every minute as the integration does."""
    for _ in range(n):
        freezer.tick(timedelta(minutes=1))
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()


async def _pulse(hass: HomeAssistant, entity_id: str, device_class: str) -> None:
    hass.states.async_set(entity_id, "on", {"device_class": device_class})
    await hass.async_block_till_done()
    hass.states.async_set(entity_id, "off", {"device_class": device_class})
    await hass.async_block_till_done()


async def _night_out_with_a_busy_home(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Everyone leaves at 02:05; at 03:05 the door opens, then the home is busy for 40 minutes."""
    hass.states.async_set(PERSON, "not_home")
    await hass.async_block_till_done()
    await _minutes(hass, entry, freezer, 60)
    await _pulse(hass, FRONT_DOOR, "door")
    for _ in range(8):
        await _minutes(hass, entry, freezer, 5)
        await _pulse(hass, KITCHEN_MOTION, "motion")
        await _pulse(hass, HALL_MOTION, "motion")
    await _minutes(hass, entry, freezer, 5)


@pytest.fixture
async def notified(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, at_night: None
) -> tuple[MockConfigEntry, list[ServiceCall]]:
    """The small home with a fortnight of history, notifying a phone of security alerts only.

    The tests leave the home without activity for a day while the person is home: a
    missing routine, told on its own path (tests/components/test_routine.py).
    """
    calls: list[ServiceCall] = []
    await record_home(hass, freezer)
    hass.services.async_register("notify", "mobile_app_phone", calls.append)
    options = home_options(**{CONF_NOTIFY: "mobile_app_phone", CONF_ROUTINE_ANOMALIES: False})
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=options)
    await setup_entry(hass, entry)
    return entry, calls


async def test_a_burst_of_activity_while_away_is_one_incident_and_one_notification(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = notified
    events = async_capture_events(hass, EVENT_ANOMALY)
    await _night_out_with_a_busy_home(hass, entry, freezer)

    assert len(events) == 1 and len(calls) == 1
    assert events[0].data["type"] == "entry_without_arrival"
    assert events[0].data["entity_ids"][0] == FRONT_DOOR
    assert hass.states.get("event.smartml_anomaly").attributes["id"] == events[0].data["id"]
    sensor = hass.states.get("binary_sensor.security_anomaly")
    assert sensor.state == "on" and sensor.attributes["active_count"] == 1
    # The incident grew: the presence doubt joined it, and its words say so.
    told = entry.runtime_data.coordinator.anomalies.find(events[0].data["id"])
    assert told is not None and TYPE_PRESENCE_DOUBT in [part.type for part in told.parts]
    assert sensor.attributes["alerts"] == len(told.parts) >= 2
    assert PERSON in sensor.attributes["entities"]
    assert sensor.attributes["explanation"].startswith("Front door opened at 03:05 while everyone was away.")
    assert (
        "Alex has said away since 02:05, but the home has been in use since 03:05" in sensor.attributes["explanation"]
    )
    assert calls[0].data["message"] == events[0].data["explanation"]  # the phone was told once, at the start

    # Diagnostics show what the alerts were calibrated on.
    security = (await async_get_config_entry_diagnostics(hass, entry))["security"]
    assert security["calibration_days"] >= 9 and security["calibration_days_needed"] == 37
    assert security["threshold"] >= 3.0 and security["entry_grace_s"] <= security["arrival_grace_s"]
    # The leaving has its floor; activity while home waits only the home's own lag for a departure.
    assert security["departure_wait_s"] <= security["departure_grace_s"] and security["departure_grace_s"] >= 300

    # Quiet for the incident's window: the episode ends.
    await _minutes(hass, entry, freezer, 61)
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"


async def test_an_unusual_value_during_an_incident_is_told_on_its_own(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = notified
    events = async_capture_events(hass, EVENT_ANOMALY)
    await _night_out_with_a_busy_home(hass, entry, freezer)
    assert len(events) == 1 and len(calls) == 1  # the incident is open
    freezer_warm = Anomaly(
        id="freezer",
        kind=KIND_SECURITY,
        type=TYPE_UNUSUAL_VALUE,
        entity_ids=["sensor.freezer_temperature"],
        ts=time.time(),
        score=9.0,
        facts={"entity_id": "sensor.freezer_temperature", "value": -5.0},
        explanation="Freezer temperature read -5 °C around 03:50.",
    )
    entry.runtime_data.coordinator.anomalies.async_report(freezer_warm)
    await hass.async_block_till_done()
    assert [event.data["type"] for event in events] == ["entry_without_arrival", "unusual_value"]
    assert len(calls) == 2 and calls[1].data["message"] == events[1].data["explanation"]


async def test_a_motion_sensor_on_the_security_list_is_no_door(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, at_night: None
) -> None:
    """The hall's motion sensor picked for security: up at night it is the household, away it is told."""
    await record_home(hass, freezer)
    options = home_options(**{CONF_OCCUPANCY: [], CONF_SECURITY: [FRONT_DOOR, HALL_MOTION]})
    options[CONF_ROUTINE_ANOMALIES] = False
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=options)
    await setup_entry(hass, entry)
    events = async_capture_events(hass, EVENT_ANOMALY)
    # 02:05, everyone home: the hall at an hour it never saw, three times past the quiet window.
    for _ in range(3):
        await _pulse(hass, HALL_MOTION, "motion")
        await _minutes(hass, entry, freezer, 15)
    assert events == []

    hass.states.async_set(PERSON, "not_home")
    await hass.async_block_till_done()
    await _minutes(hass, entry, freezer, 60)
    await _pulse(hass, HALL_MOTION, "motion")
    await _minutes(hass, entry, freezer, 10)
    assert [event.data["type"] for event in events] == ["activity_when_empty"]
    assert events[0].data["explanation"].startswith("Hall motion detected activity at 03:50 while everyone was away.")
    # Held on, a motion sensor is no door left open.
    hass.states.async_set(HALL_MOTION, "on", {"device_class": "motion"})
    await _minutes(hass, entry, freezer, 120)
    assert [event.data["type"] for event in events] == ["activity_when_empty"]


async def test_a_sensor_whose_attributes_change_while_everyone_is_away_is_no_activity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = notified
    events = async_capture_events(hass, EVENT_ANOMALY)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    hass.states.async_set(PERSON, "not_home")
    await hass.async_block_till_done()
    await _minutes(hass, entry, freezer, 60)
    # Still "on", only its battery reading changed: no one moved in the empty home.
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion", "battery": 80})
    hass.states.async_set(PERSON, "not_home", {"latitude": 52.1, "longitude": 5.1})
    await hass.async_block_till_done()
    await _minutes(hass, entry, freezer, 30)
    assert events == [] and calls == []
    # A real change still counts.
    await _pulse(hass, FRONT_DOOR, "door")
    await _minutes(hass, entry, freezer, 30)
    assert [event.data["type"] for event in events] == ["entry_without_arrival"]


async def test_feedback_on_an_incident_teaches_all_of_it_and_its_repeat_stays_quiet(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = notified
    coordinator = entry.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_ANOMALY)
    await _night_out_with_a_busy_home(hass, entry, freezer)
    assert len(events) == 1

    response = await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"event_id": events[0].data["id"]}, blocking=True, return_response=True
    )
    told = coordinator.anomalies.find(events[0].data["id"])
    assert told is not None and told.dismissed
    assert response is not None and response["entity_ids"] == told.entity_ids
    assert [item.id for item in coordinator.models.feedback] == [part.id for part in told.parts]
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"

    # The next night, the same at the same times: back home now, out again at 02:05.
    hass.states.async_set(PERSON, "home")
    await _minutes(hass, entry, freezer, 24 * 60 - 105)
    await _night_out_with_a_busy_home(hass, entry, freezer)
    assert len(events) == 1 and len(calls) == 1


async def test_an_incident_updates_its_persistent_notification_in_place(
    recorder_mock: Recorder, hass: HomeAssistant, freezer: FrozenDateTimeFactory, at_night: None
) -> None:
    await record_home(hass, freezer)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options())
    await setup_entry(hass, entry)
    await _night_out_with_a_busy_home(hass, entry, freezer)

    notifications = [n for key, n in _async_get_or_create_notifications(hass).items() if key.startswith(DOMAIN)]
    assert len(notifications) == 1
    assert "has said away since 02:05" in notifications[0]["message"]


async def test_an_entry_waiting_for_its_grace_survives_a_refit(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    entry, calls = notified
    events = async_capture_events(hass, EVENT_ANOMALY)
    hass.states.async_set(PERSON, "not_home")
    await _minutes(hass, entry, freezer, 60)
    await _pulse(hass, FRONT_DOOR, "door")
    # A refit starts before anyone could have arrived: the entry still waits, and is told.
    await entry.runtime_data.coordinator.async_retrain()
    await _minutes(hass, entry, freezer, 10)
    assert [event.data["type"] for event in events] == ["entry_without_arrival"]
    assert len(calls) == 1


async def test_diagnostics_tell_nothing_of_the_routine(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, notified: tuple[MockConfigEntry, list[ServiceCall]]
) -> None:
    """Diagnostics go into public bug reports: no forecast, no time of day, no epoch time."""
    entry, _calls = notified
    await _night_out_with_a_busy_home(hass, entry, freezer)  # an incident, so anomalies exist
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["predictions"]["occupancy"]["scopes"]["kitchen"]["forecast_hours"] == 24
    assert diagnostics["security"]["night_hours"] >= 3
    text = json.dumps(diagnostics)
    assert '"forecast"' not in text
    assert not re.search(r"\d\d:\d\d", text), "a time of day"
    assert not re.search(r"\b1[6-9]\d{8}(\.\d+)?\b", text), "an epoch time"
    for word in ("arrival", "departure", "explanation", "preheat_start", "restored_until"):
        assert f'"{word}"' not in text


async def test_a_departure_while_the_first_fit_runs_is_known_to_the_watch(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    at_night: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await record_home(hass, freezer)
    fit = SmartMLFitCoordinator._fit

    def fit_while_leaving(self: SmartMLFitCoordinator, *args: Any) -> Any:
        # The person leaves as Home Assistant starts, before anything listens.
        hass.loop.call_soon_threadsafe(hass.states.async_set, PERSON, "not_home")
        time.sleep(0.2)
        return fit(self, *args)

    monkeypatch.setattr(SmartMLFitCoordinator, "_fit", fit_while_leaving)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options())
    await setup_entry(hass, entry)
    events = async_capture_events(hass, EVENT_ANOMALY)
    # The door an hour later is an entry while away, not a door of an occupied home.
    await _minutes(hass, entry, freezer, 60)
    await _pulse(hass, FRONT_DOOR, "door")
    await _minutes(hass, entry, freezer, 10)
    assert [event.data["type"] for event in events] == ["entry_without_arrival"]
