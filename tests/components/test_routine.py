"""Missing routine on a real Home Assistant with recorded history: alert, switch, sensor problem."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
import shutil
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.smartml.const import CONF_ROUTINE_ANOMALIES, DOMAIN, EVENT_ANOMALY, ISSUE_SENSOR_SILENT
from custom_components.smartml.diagnostics import async_get_config_entry_diagnostics
from custom_components.smartml.engine.constants import KIND_ROUTINE, TYPE_ROUTINE_MISSING
from custom_components.smartml.engine.facts import RoutineMissing
from custom_components.smartml.engine.results import Anomaly

from .conftest import FRONT_DOOR, KITCHEN_MOTION, PERSON, door_anomaly, set_home_states, setup_entry
from .home_history import record_home

BLUEPRINT = "routine_missing_check_on.yaml"


@pytest.fixture
def before_dawn(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 05:00 local time, before the household gets up (06:30)."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=5))


async def _morning(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, hours: float) -> None:
    """Let the morning pass in steps of 10 minutes with no activity, the person at home."""
    coordinator = entry.runtime_data.coordinator
    for _ in range(round(hours * 6)):
        freezer.tick(timedelta(minutes=10))
        await coordinator.async_refresh()
        await hass.async_block_till_done()


async def _recorded_home(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory) -> list[Event]:
    """The home's history recorded and SmartML set up; the anomaly events from then on."""
    await record_home(hass, freezer)
    await setup_entry(hass, entry)
    return async_capture_events(hass, EVENT_ANOMALY)


async def _quiet_morning(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory) -> list[Event]:
    """The home's history recorded, SmartML set up, then four hours of a morning with no activity."""
    events = await _recorded_home(hass, entry, freezer)
    await _morning(hass, entry, freezer, hours=4)
    return events


def _routine_told(events: list[Event]) -> list[dict[str, Any]]:
    """The data of the missing-routine anomalies among the captured events."""
    return [event.data for event in events if event.data["type"] == "routine_missing"]


async def test_quiet_morning_raises_one_routine_missing_incident(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
) -> None:
    events = await _quiet_morning(hass, mock_entry, freezer)

    routine = _routine_told(events)
    assert len(routine) == 1
    anomaly = routine[0]
    assert anomaly["kind"] == "routine"
    # The household is up by 07:00 every day: the alert comes in the morning, not at night.
    alerted = dt_util.as_local(dt_util.utc_from_timestamp(anomaly["ts"]))
    assert 7 <= alerted.hour < 9
    assert anomaly["explanation"].startswith("No activity in the home since 19:00")
    # Every recorded day someone was home there was kitchen activity by the alert's time.
    assert (
        f"on 10 of the last 10 days with someone home there was activity in kitchen by {alerted:%H:%M}"
        in (anomaly["explanation"])
    )
    assert anomaly["facts"]["area"] == "kitchen"
    sensor = hass.states.get("binary_sensor.routine_anomaly")
    assert sensor is not None
    assert sensor.state == "on"
    assert sensor.attributes["explanation"] == anomaly["explanation"]
    assert hass.states.get("event.smartml_anomaly").attributes["event_type"] == "routine_missing"
    # Diagnostics show what the alert was calibrated on, not when the household gets up.
    routine_learned = (await async_get_config_entry_diagnostics(hass, mock_entry))["routine"]
    assert routine_learned["calibration_days"] >= 9 and routine_learned["areas_with_a_usual_first_activity"] == 2

    # Activity ends the silence; the next quiet spell of a normal length does not alert.
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.routine_anomaly").state == "off"
    await _morning(hass, mock_entry, freezer, hours=1)
    assert len(_routine_told(events)) == 1


async def test_a_silence_told_before_a_restart_is_not_told_again(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
) -> None:
    events = await _quiet_morning(hass, mock_entry, freezer)
    assert len(_routine_told(events)) == 1

    told = _routine_told(events)[0]
    assert hass.states.get("binary_sensor.routine_anomaly").state == "on"

    # Home Assistant restarts while the home is still silent: the models are fitted afresh.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    await _morning(hass, mock_entry, freezer, hours=1)

    assert len(_routine_told(events)) == 1
    # What was told came back with it: the sensor still shows it, and "It was me" still finds it.
    state = hass.states.get("binary_sensor.routine_anomaly")
    assert state.state == "on" and state.attributes["explanation"] == told["explanation"]
    response = await hass.services.async_call(
        DOMAIN, "report_false_alarm", {"event_id": told["id"]}, blocking=True, return_response=True
    )
    assert response is not None
    assert hass.states.get("binary_sensor.routine_anomaly").state == "off"


async def test_a_silence_after_coming_in_through_the_door_is_not_doubted(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
) -> None:
    events = await _recorded_home(hass, mock_entry, freezer)
    # Out for the night, back at 05:30 through the front door, and then nothing.
    hass.states.async_set(PERSON, "not_home")
    freezer.tick(timedelta(minutes=30))
    hass.states.async_set(PERSON, "home")
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    freezer.tick(timedelta(minutes=1))
    hass.states.async_set(FRONT_DOOR, "off", {"device_class": "door"})
    await hass.async_block_till_done()

    await _morning(hass, mock_entry, freezer, hours=4)

    routine = _routine_told(events)
    assert len(routine) == 1
    assert routine[0]["explanation"].startswith("No activity in the home since 05:31")
    # Whoever just came in is in: no doubt that the home may be empty.
    assert routine[0]["facts"]["presence_doubted"] is False
    assert "may be empty" not in routine[0]["explanation"]


async def test_options_switch_turns_routine_alerts_off(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    result = await hass.config_entries.options.async_init(mock_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    defaults = {key.schema: key.default() for key in result["data_schema"].schema if callable(key.default)}
    assert defaults[CONF_ROUTINE_ANOMALIES] is True
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**defaults, CONF_ROUTINE_ANOMALIES: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert mock_entry.options[CONF_ROUTINE_ANOMALIES] is False
    events = async_capture_events(hass, EVENT_ANOMALY)

    await _morning(hass, mock_entry, freezer, hours=4)

    assert _routine_told(events) == []
    sensor = hass.states.get("binary_sensor.routine_anomaly")
    assert sensor is None or sensor.state == "unavailable"


async def test_sensor_unavailable_is_a_repair_issue_not_a_missing_routine(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
    issue_registry: ir.IssueRegistry,
) -> None:
    events = await _recorded_home(hass, mock_entry, freezer)
    issue_id = f"{ISSUE_SENSOR_SILENT}_{mock_entry.entry_id}"
    hass.states.async_set(KITCHEN_MOTION, "unavailable", {"device_class": "motion"})
    await hass.async_block_till_done()

    await _morning(hass, mock_entry, freezer, hours=4)

    # The kitchen sensor gives most of the morning's activity: its silence is not the household's.
    assert _routine_told(events) == []
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == ISSUE_SENSOR_SILENT
    assert "kitchen" in issue.translation_placeholders["entities"].lower()

    # Back: the issue goes.
    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    await _morning(hass, mock_entry, freezer, hours=0.2)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_a_sensor_told_silent_is_not_told_so_while_learning_is_paused(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
    issue_registry: ir.IssueRegistry,
) -> None:
    await _recorded_home(hass, mock_entry, freezer)
    issue_id = f"{ISSUE_SENSOR_SILENT}_{mock_entry.entry_id}"
    hass.states.async_set(KITCHEN_MOTION, "unavailable", {"device_class": "motion"})
    await hass.async_block_till_done()
    await _morning(hass, mock_entry, freezer, hours=2)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    # Paused for a holiday, the battery replaced meanwhile: nothing is watched, nothing is told.
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    hass.states.async_set(KITCHEN_MOTION, "off", {"device_class": "motion"})
    await hass.async_block_till_done()
    await _morning(hass, mock_entry, freezer, hours=0.2)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


def _routine_anomaly() -> Anomaly:
    facts = RoutineMissing(
        since=time(22, 40),
        at=time(9, 30),
        quiet_minutes=650,
        day_type="weekday",
        area="kitchen",
        days_with_activity=9,
        days_considered=10,
        usual_first=time(7, 50),
        expected_bouts=6.2,
        threshold=4.1,
        presence_doubted=False,
        days_of_history=20.0,
    )
    return Anomaly(
        id="r1",
        kind=KIND_ROUTINE,
        type=TYPE_ROUTINE_MISSING,
        entity_ids=[KITCHEN_MOTION],
        ts=0.0,
        score=6.2,
        facts=facts,
    )


async def test_a_morning_while_learning_is_paused_is_not_told_after_it(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    before_dawn: None,
) -> None:
    events = await _recorded_home(hass, mock_entry, freezer)
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.smartml_learning"}, blocking=True)
    await _morning(hass, mock_entry, freezer, hours=4)
    await hass.services.async_call("switch", "turn_on", {"entity_id": "switch.smartml_learning"}, blocking=True)
    await _morning(hass, mock_entry, freezer, hours=0.5)
    # Paused, nothing was heard: the morning was not watched, so it is no missing routine now.
    assert _routine_told(events) == []
    assert hass.states.get("binary_sensor.routine_anomaly").state == "off"
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_SENSOR_SILENT}_{mock_entry.entry_id}")
    # Watched again and still silent: it is told once it is far longer than usual.
    await _morning(hass, mock_entry, freezer, hours=3)
    assert len(_routine_told(events)) == 1


async def test_check_on_blueprint_notifies_the_chosen_person(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    calls: list[ServiceCall] = []
    hass.services.async_register("notify", "mobile_app_daughter", calls.append)
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    source = Path(__file__).parents[2] / "blueprints" / "automation" / "smartml" / BLUEPRINT
    target = Path(hass.config.path("blueprints", "automation", "smartml"))
    await hass.async_add_executor_job(lambda: target.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(shutil.copy, source, target / BLUEPRINT)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": f"smartml/{BLUEPRINT}",
                    "input": {
                        "resident": PERSON,
                        "notify_service": "notify.mobile_app_daughter",
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()

    mock_entry.runtime_data.coordinator.anomalies.async_report(_routine_anomaly())
    await hass.async_block_till_done()
    # A reload restores the last event (from unavailable): it is not told again.
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    # Security alerts are not for this automation.
    mock_entry.runtime_data.coordinator.anomalies.async_report(door_anomaly("a2"))
    await hass.async_block_till_done()

    assert len(calls) == 1
    assert calls[0].data["message"] == (
        "No activity in the home since 22:40 (10 h 50 min) while someone is home; on 9 of the last 10 days with "
        "someone home there was activity in kitchen by 09:30 (usually first at 07:50)."
    )
    assert calls[0].data["title"].startswith("Check on")
