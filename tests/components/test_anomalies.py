"""The anomaly path: bus event, event entity, binary sensor, notification, feedback."""

from __future__ import annotations

from dataclasses import replace
from datetime import time as dt_time, timedelta
import json
from pathlib import Path
import threading
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.persistent_notification import _async_get_or_create_notifications
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

import custom_components.smartml
from custom_components.smartml.anomalies import (
    ACTIVITY,
    NOTIFICATION_PHRASE_KEYS,
    SENSOR_VERBS,
    TITLE_KEYS,
    ReportedAnomaly,
)
from custom_components.smartml.const import CONF_NOTIFY, DOMAIN, EVENT_ANOMALY
from custom_components.smartml.coordinator import SmartMLCoordinator
from custom_components.smartml.engine.constants import (
    KIND_SECURITY,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_STUCK_ON,
    TYPE_UNUSUAL_VALUE,
)
from custom_components.smartml.engine.facts import ActivityWhenEmpty, EntryWithoutArrival, OpenTooLong
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import OPENED, PHRASE_KEYS

from .conftest import (
    FRONT_DOOR,
    KITCHEN_MOTION,
    HeldFit,
    door_anomaly,
    home_options,
    set_home_states,
    setup_entry,
)


async def test_reported_anomaly_reaches_every_output(hass: HomeAssistant) -> None:
    calls: list[ServiceCall] = []
    hass.services.async_register("notify", "mobile_app_phone", calls.append)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_NOTIFY: "mobile_app_phone"}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"

    entry.runtime_data.coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()

    sensor = hass.states.get("binary_sensor.security_anomaly")
    assert sensor.state == "on"
    assert sensor.attributes["explanation"].startswith("Front door opened at 03:10")
    assert sensor.attributes["entities"] == [FRONT_DOOR]
    event_entity = hass.states.get("event.smartml_anomaly")
    assert event_entity.attributes["event_type"] == "entry_without_arrival"
    assert event_entity.attributes["id"] == "a1"
    assert len(events) == 1
    assert events[0].data["explanation"] == sensor.attributes["explanation"]
    assert len(calls) == 1
    assert calls[0].data["message"] == sensor.attributes["explanation"]
    assert calls[0].data["data"]["actions"][0] == {"action": "SMARTML_NORMAL_a1", "title": "It was me"}


def _speak_dutch(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, dutch: dict[str, str]) -> None:
    """Home Assistant in Dutch, with these of SmartML's texts translated."""

    async def translations(hass: HomeAssistant, language: str, category: str, integrations: Any) -> dict[str, str]:
        assert (language, category) == ("nl", "exceptions")
        return {f"component.{DOMAIN}.exceptions.{key}.message": text for key, text in dutch.items()}

    monkeypatch.setattr("custom_components.smartml.anomalies.async_get_translations", translations)
    hass.config.language = "nl"


async def test_notifications_speak_home_assistants_language(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    dutch = {
        "notification_security": "SmartML: ongewone activiteit",
        "notification_it_was_me": "Dat was ik",
        "notification_show_me": "Laat zien",
    }

    _speak_dutch(hass, monkeypatch, dutch)
    entry, calls = await _phone_home(hass)

    entry.runtime_data.coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()

    assert calls[0].data["title"] == "SmartML: ongewone activiteit"
    assert [action["title"] for action in calls[0].data["data"]["actions"]] == ["Dat was ik", "Laat zien"]


async def test_explanations_speak_home_assistants_language(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    dutch = {
        "security_door_action": "ging open",
        "security_door_action_done": "opengegaan",
        "security_while_away": "terwijl iedereen weg was",
        "security_entity_activity": "{name} {action} om {time} {home_state}.",
        "security_evidence_without_hours": "In {days} dagen {history} {window} {home_state}.",
        "security_had_never": "was hij nooit {action}",
        "security_between": "tussen {start} en {end}",
        "security_no_arrival": "Binnen {minutes} minuten kwam niemand aan.",
        "value_higher": "{name} gaf {value} rond {time}, hoger dan alles in {period} (hoogstens {highest}).",
        "value_last_days": "de laatste {days} dagen",
    }

    _speak_dutch(hass, monkeypatch, dutch)
    entry, calls = await _phone_home(hass)
    events: list[Event] = async_capture_events(hass, EVENT_ANOMALY)
    facts = {
        "name": "Garage",
        "value": 41.2,
        "unit": "°C",
        "local_time": "00:26",
        "highest": 24.3,
        "days_of_history": 2,
    }
    warm = Anomaly("v1", KIND_SECURITY, TYPE_UNUSUAL_VALUE, ["sensor.garage"], time.time(), 1.0, facts, "Garage read")

    door = (
        "Front door ging open om 03:10 terwijl iedereen weg was. In 28 dagen was hij nooit opengegaan tussen 01:00 "
        "en 05:00 terwijl iedereen weg was. Binnen 30 minuten kwam niemand aan."
    )
    value = "Garage gaf 41.2 °C rond 00:26, hoger dan alles in de laatste 2 dagen (hoogstens 24.3 °C)."
    anomalies = entry.runtime_data.coordinator.anomalies
    anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.security_anomaly").attributes["explanation"] == door
    anomalies.async_report(warm)
    await hass.async_block_till_done()

    assert {event.data["type"]: event.data["explanation"] for event in events} == {
        TYPE_ENTRY_WITHOUT_ARRIVAL: door,
        TYPE_UNUSUAL_VALUE: value,
    }
    assert sorted(call.data["message"] for call in calls) == sorted([door, value])


def test_every_phrase_key_the_code_uses_is_in_strings_json() -> None:
    folder = Path(custom_components.smartml.__file__).parent
    strings = json.loads((folder / "strings.json").read_text(encoding="utf-8"))
    assert json.loads((folder / "translations" / "en.json").read_text(encoding="utf-8")) == strings
    keys = {*PHRASE_KEYS, *NOTIFICATION_PHRASE_KEYS}
    assert {*OPENED, *ACTIVITY, *(key for verbs in SENSOR_VERBS.values() for key in verbs)} <= keys
    assert set(TITLE_KEYS.values()) <= keys
    assert sorted(keys - set(strings["exceptions"])) == []


@pytest.mark.parametrize(
    ("entity_id", "attributes", "said", "never"),
    [
        ("binary_sensor.garden_motion", {"device_class": "motion"}, "detected activity at 03:10", "detected activity"),
        ("lock.back_door", {}, "was unlocked at 03:10", "been unlocked"),
        ("binary_sensor.back_door_lock", {"device_class": "lock"}, "was unlocked at 03:10", "been unlocked"),
        ("binary_sensor.patio_door", {"device_class": "door"}, "opened at 03:10", "opened"),
    ],
)
async def test_a_security_sensor_is_told_in_the_words_of_its_kind(
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    entity_id: str,
    attributes: dict[str, str],
    said: str,
    never: str,
) -> None:
    set_home_states(hass)
    hass.states.async_set(entity_id, "off", attributes)
    await setup_entry(hass, mock_entry)
    door = door_anomaly()
    assert isinstance(door.facts, EntryWithoutArrival)
    alert = replace(door, entity_ids=[entity_id], facts=replace(door.facts, entity_id=entity_id))
    mock_entry.runtime_data.coordinator.anomalies.async_report(alert)
    await hass.async_block_till_done()
    explanation = hass.states.get("binary_sensor.security_anomaly").attributes["explanation"]
    assert said in explanation and f"it had never {never}" in explanation


@pytest.mark.parametrize(
    ("entity_id", "held"), [("lock.back_door", "has been unlocked for 200 minutes"), (FRONT_DOOR, "has been open for")]
)
async def test_a_lock_left_unlocked_is_told_unlocked_not_open(
    hass: HomeAssistant, mock_entry: MockConfigEntry, entity_id: str, held: str
) -> None:
    set_home_states(hass)
    hass.states.async_set(entity_id, "unlocked" if entity_id.startswith("lock.") else "on")
    await setup_entry(hass, mock_entry)
    facts = OpenTooLong(
        entity_id=entity_id,
        open_since=dt_time(9, 0),
        open_minutes=200.0,
        longest_open_minutes=90.0,
        limit_minutes=180.0,
        days_of_history=28.0,
    )
    left = Anomaly(
        id="left", kind="security", type=TYPE_OPEN_TOO_LONG, entity_ids=[entity_id], ts=0.0, score=1.0, facts=facts
    )
    mock_entry.runtime_data.coordinator.anomalies.async_report(left)
    await hass.async_block_till_done()
    explanation = hass.states.get("binary_sensor.security_anomaly").attributes["explanation"]
    assert held in explanation
    assert f"it was never {held.split()[2]} longer than 90 minutes" in explanation


async def test_a_failed_prediction_refresh_leaves_the_alerts_and_switches_working(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator

    async def failing_refresh(self: SmartMLCoordinator) -> None:
        raise UpdateFailed("a model failed")

    monkeypatch.setattr(SmartMLCoordinator, "_async_update_data", failing_refresh)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert not coordinator.last_update_success
    assert hass.states.get("sensor.smartml_learning_status").state == "unavailable"

    coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.security_anomaly").state == "on"
    assert hass.states.get("event.smartml_anomaly").attributes["id"] == "a1"
    # Energy anomalies are found by the refresh itself: while it fails, nothing is watched.
    assert hass.states.get("binary_sensor.energy_anomaly").state == "unavailable"
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    assert not coordinator.learning
    assert hass.states.get("switch.living_room_auto_apply").state == "off"


async def test_it_was_me_action_marks_normal_and_is_persisted(hass: HomeAssistant) -> None:
    hass.services.async_register("notify", "mobile_app_phone", lambda call: None)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_NOTIFY: "mobile_app_phone"}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.coordinator
    coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()

    hass.bus.async_fire("mobile_app_notification_action", {"action": "SMARTML_NORMAL_a1"})
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    assert [a["id"] for a in coordinator.state.feedback] == ["a1"]
    # Said again, from a second phone or by the service: taught once all the same.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "SMARTML_NORMAL_a1"})
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "a1"}, blocking=True)
    await hass.async_block_till_done()
    assert [a["id"] for a in coordinator.state.feedback] == ["a1"]

    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert [a["id"] for a in entry.runtime_data.coordinator.state.feedback] == ["a1"]


async def test_without_notify_target_a_persistent_notification_appears(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("b2"))
    await hass.async_block_till_done()
    assert f"{DOMAIN}_b2" in _async_get_or_create_notifications(hass)

    response = await hass.services.async_call(DOMAIN, "report_false_alarm", {}, blocking=True, return_response=True)
    assert response == {"event_id": "b2", "type": "entry_without_arrival", "entity_ids": [FRONT_DOOR]}
    assert f"{DOMAIN}_b2" not in _async_get_or_create_notifications(hass)
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"


async def test_failing_notifier_falls_back_to_persistent_notification(hass: HomeAssistant) -> None:
    def broken(call: ServiceCall) -> None:
        raise RuntimeError("phone unreachable")

    hass.services.async_register("notify", "mobile_app_phone", broken)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_NOTIFY: "mobile_app_phone"}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("c3"))
    await hass.async_block_till_done()
    assert f"{DOMAIN}_c3" in _async_get_or_create_notifications(hass)


async def test_energy_anomaly_turns_on_energy_sensor_only(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("e1", "energy", TYPE_STUCK_ON))
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.energy_anomaly").state == "on"
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    assert hass.states.get("event.smartml_anomaly").attributes["event_type"] == "long_run"


async def test_it_was_me_said_while_a_refit_runs_teaches_the_new_models(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    coordinator = mock_entry.runtime_data.coordinator
    coordinator.anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()
    fitter = coordinator.fitter
    fit = fitter._fit
    running, answered = threading.Event(), threading.Event()

    def slow_fit(*args: Any) -> Any:
        running.set()
        answered.wait(10)
        return fit(*args)

    fitter._fit = slow_fit  # type: ignore[method-assign]
    refit = hass.async_create_task(fitter.async_refresh())
    await hass.async_add_executor_job(running.wait, 10)
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "a1"}, blocking=True)
    answered.set()
    await refit
    await hass.async_block_till_done()
    assert coordinator.models is not None
    assert [anomaly.id for anomaly in coordinator.models.feedback] == ["a1"]


def _activity_while_away(anomaly_id: str, entity_id: str, area: str, at: dt_time) -> Anomaly:
    facts = ActivityWhenEmpty(
        entity_id=entity_id,
        area=area,
        state="empty",
        day_type="weekday",
        at=at,
        start_hour=9,
        end_hour=17,
        times_seen=0,
        days_of_history=28.0,
        expected_per_hour=0.001,
        threshold=6.0,
        arrival_grace_minutes=5.0,
    )
    return Anomaly(anomaly_id, KIND_SECURITY, TYPE_ACTIVITY_WHEN_EMPTY, [entity_id], time.time(), 9.0, facts)


async def _phone_home(hass: HomeAssistant) -> tuple[MockConfigEntry, list[ServiceCall]]:
    calls: list[ServiceCall] = []
    hass.services.async_register("notify", "mobile_app_phone", calls.append)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_NOTIFY: "mobile_app_phone"}))
    set_home_states(hass)
    await setup_entry(hass, entry)
    return entry, calls


async def test_an_alert_after_it_was_me_is_told_as_a_new_incident(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry, calls = await _phone_home(hass)
    anomalies = entry.runtime_data.coordinator.anomalies
    events = async_capture_events(hass, EVENT_ANOMALY)
    anomalies.async_report(_activity_while_away("kitchen", KITCHEN_MOTION, "kitchen", dt_time(10, 0)))
    await hass.async_block_till_done()
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": "kitchen"}, blocking=True)

    # Within the incident's quiet hour, another room: the cleaner was marked normal, this is not.
    freezer.tick(timedelta(minutes=30))
    anomalies.async_report(_activity_while_away("bedroom", "binary_sensor.bedroom_motion", "bedroom", dt_time(10, 30)))
    await hass.async_block_till_done()

    assert [event.data["id"] for event in events] == ["kitchen", "bedroom"]
    assert len(calls) == 2
    assert hass.states.get("binary_sensor.security_anomaly").state == "on"


async def test_a_door_held_open_right_after_its_entry_is_told(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry, calls = await _phone_home(hass)
    anomalies = entry.runtime_data.coordinator.anomalies
    events = async_capture_events(hass, EVENT_ANOMALY)
    anomalies.async_report(door_anomaly())
    await hass.async_block_till_done()

    freezer.tick(timedelta(minutes=7))
    facts = OpenTooLong(
        entity_id=FRONT_DOOR,
        open_since=dt_time(3, 10),
        open_minutes=10.0,
        longest_open_minutes=4.0,
        limit_minutes=10.0,
        days_of_history=28.0,
    )
    held = Anomaly("held", KIND_SECURITY, TYPE_OPEN_TOO_LONG, [FRONT_DOOR], time.time(), 1.0, facts)
    anomalies.async_report(held)
    await hass.async_block_till_done()

    assert [event.data["type"] for event in events] == ["entry_without_arrival", "open_too_long"]
    assert len(calls) == 2


async def test_it_was_me_tapped_while_smartml_starts_is_heard(
    hass: HomeAssistant, hass_storage: dict[str, Any], held_first_fit: HeldFit
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options())
    key = f"{DOMAIN}.{entry.entry_id}"
    # Told before the restart: its notification is still on the phone.
    told = ReportedAnomaly(door_anomaly(), "Front door opened at 03:10.", time.time())
    hass_storage[key] = {"version": 1, "minor_version": 6, "key": key, "data": {"anomalies": [told.as_json()]}}
    set_home_states(hass)

    async def tap_it_was_me() -> None:
        hass.bus.async_fire("mobile_app_notification_action", {"action": "SMARTML_NORMAL_a1"})
        await hass.async_block_till_done()

    await held_first_fit.async_set_up(hass, entry, tap_it_was_me)

    coordinator = entry.runtime_data.coordinator
    assert [item["id"] for item in coordinator.state.feedback] == ["a1"]
    assert coordinator.anomalies.find("a1").dismissed
