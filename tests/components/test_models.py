"""Security, energy and climate predictions on a real Home Assistant with recorded history."""

from __future__ import annotations

from datetime import timedelta
import threading
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.smartml.const import DOMAIN, EVENT_ANOMALY
from custom_components.smartml.diagnostics import async_get_config_entry_diagnostics
from custom_components.smartml.engine.results import Anomaly

from .conftest import FRONT_DOOR, PERSON, THERMOSTAT, setup_entry
from .home_history import record_home


@pytest.fixture
def at_night(freezer: FrozenDateTimeFactory) -> None:
    """Tests start at 03:05 local time."""
    freezer.move_to(dt_util.start_of_local_day(dt_util.now() + timedelta(days=1)) + timedelta(hours=3, minutes=5))


async def _open_front_door(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory) -> None:
    """Open and close the front door, then let the time an arrival would take pass."""
    freezer.tick(timedelta(hours=1))
    hass.states.async_set(FRONT_DOOR, "on", {"device_class": "door"})
    await hass.async_block_till_done()
    freezer.tick(timedelta(seconds=30))
    hass.states.async_set(FRONT_DOOR, "off", {"device_class": "door"})
    await hass.async_block_till_done()
    freezer.tick(timedelta(minutes=40))
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_door_at_night_when_away_raises_anomaly(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    at_night: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    events = async_capture_events(hass, EVENT_ANOMALY)
    hass.states.async_set(PERSON, "not_home")
    await hass.async_block_till_done()
    await _open_front_door(hass, mock_entry, freezer)

    assert len(events) == 1
    anomaly = events[0].data
    assert anomaly["kind"] == "security"
    assert FRONT_DOOR in anomaly["entity_ids"]
    assert anomaly["explanation"]
    sensor = hass.states.get("binary_sensor.security_anomaly")
    assert sensor.state == "on"
    assert sensor.attributes["explanation"] == anomaly["explanation"]
    assert hass.states.get("event.smartml_anomaly").attributes["id"] == anomaly["id"]

    # "It was me": no repeat for the same door (the feedback's own effect is tested in
    # tests/engine/test_anomaly.py).
    await hass.services.async_call(DOMAIN, "report_false_alarm", {"event_id": anomaly["id"]}, blocking=True)
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    await _open_front_door(hass, mock_entry, freezer)
    assert len(events) == 1

    # A refit from scratch keeps the feedback and what the models learned live. The feedback
    # (up to 500 items) is read in the model worker, not on the event loop.
    coordinator = mock_entry.runtime_data.coordinator
    live_before = coordinator.models.live_state()
    read_in: set[str] = set()
    from_json = Anomaly.from_json

    def spied(_cls: type[Anomaly], data: dict[str, Any]) -> Anomaly:
        read_in.add(threading.current_thread().name)
        return from_json(data)

    monkeypatch.setattr(Anomaly, "from_json", classmethod(spied))
    await coordinator.async_retrain()
    assert read_in and "MainThread" not in read_in
    assert [item.id for item in coordinator.models.feedback] == [anomaly["id"]]
    assert coordinator.models.security.feedback_
    assert any(live_before["occupancy"]["live"].values())
    assert coordinator.models.live_state()["occupancy"] == live_before["occupancy"]


async def test_nothing_fires_during_the_learning_period(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    at_night: None,
) -> None:
    await record_home(hass, freezer, days=2)
    await setup_entry(hass, mock_entry)
    events = async_capture_events(hass, EVENT_ANOMALY)
    hass.states.async_set(PERSON, "not_home")
    await _open_front_door(hass, mock_entry, freezer)
    assert events == []
    assert hass.states.get("binary_sensor.security_anomaly").state == "off"
    assert "Security: " in hass.states.get("sensor.smartml_learning_status").attributes["reason"]


async def test_energy_forecast_and_baselines_from_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    at_night: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    next_hour = float(hass.states.get("sensor.energy_forecast_next_hour").state)
    # Nights draw about 350 W here.
    assert 0.2 < next_hour < 0.6
    today = hass.states.get("sensor.energy_forecast_today")
    assert len(today.attributes["forecast"]) == 48
    assert float(hass.states.get("sensor.energy_forecast_tomorrow").state) > 5
    assert 150 <= float(hass.states.get("sensor.standby_power").state) <= 400
    assert float(hass.states.get("sensor.power_baseline").state) > 0

    response = await hass.services.async_call(DOMAIN, "get_forecast", {"hours": 6}, blocking=True, return_response=True)
    # By default every area and the whole home.
    assert set(response["occupancy"]) == {*mock_entry.runtime_data.coordinator.area_names, "home"}
    assert len(response["occupancy"]["home"]) == 6
    assert len(response["energy"]) == 6
    assert response["energy"][0]["p10"] <= response["energy"][0]["p50"] <= response["energy"][0]["p90"]


async def test_energy_entities_unavailable_without_history(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    from .conftest import set_home_states

    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    assert hass.states.get("sensor.energy_forecast_next_hour").state == "unavailable"
    assert hass.states.get("sensor.power_baseline").state == "unavailable"


async def test_thermostat_predictions_from_history(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    setpoint = hass.states.get("sensor.living_room_predicted_setpoint")
    assert setpoint.state not in ("unknown", "unavailable")
    forecast = setpoint.attributes["forecast"]
    assert max(item["setpoint"] for item in forecast) == pytest.approx(21.0, abs=0.6)
    assert min(item["setpoint"] for item in forecast) == pytest.approx(17.0, abs=0.6)
    # Simulated at 1.8 °C/h of heating (0.9 °C per half hour).
    rate = float(hass.states.get("sensor.living_room_heating_rate").state)
    assert rate == pytest.approx(1.8, rel=0.25)
    preheat = hass.states.get("sensor.living_room_preheat_start")
    assert preheat.state not in ("unavailable",)


async def test_the_preheat_aims_at_the_same_return_as_the_quarter_hours_pass(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    targets = []
    for _ in range(3):  # 16:40, 16:55, 17:10: each in another quarter of the hour
        targets.append(hass.states.get("sensor.living_room_preheat_start").attributes.get("target_time"))
        freezer.tick(timedelta(minutes=15))
        await mock_entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
    assert targets[0] is not None and len(set(targets)) == 1


async def test_heating_rate_unavailable_until_its_fit_can_be_trusted(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    # The radiator never warms the room: it heats all the time, which tells nothing of its rate.
    await record_home(hass, freezer, heating_per_step=0.0)
    await setup_entry(hass, mock_entry)
    assert hass.states.get("sensor.living_room_predicted_setpoint").state not in ("unknown", "unavailable")
    assert hass.states.get("sensor.living_room_heating_rate").state == "unavailable"
    reason = hass.states.get("sensor.smartml_learning_status").attributes["reason"]
    assert "living room: how fast the room heats is not" in reason.lower()


async def test_learning_status_gives_no_thermal_reason_once_the_fit_is_trusted(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await setup_entry(hass, mock_entry)
    assert hass.states.get("sensor.living_room_heating_rate").state not in ("unknown", "unavailable")
    assert "how fast the room heats" not in hass.states.get("sensor.smartml_learning_status").attributes["reason"]


async def _real_thermostat(hass: HomeAssistant, min_temp: float = 7, max_temp: float = 30) -> None:
    """Replace the recorded thermostat state by a real generic_thermostat entity."""
    from homeassistant.setup import async_setup_component

    hass.states.async_remove(THERMOSTAT)
    hass.states.async_set("sensor.living_temp", "19.5", {"unit_of_measurement": "°C"})
    # generic_thermostat switches its heater through homeassistant.turn_on/turn_off.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"heater": {}}})
    assert await async_setup_component(
        hass,
        "climate",
        {
            "climate": {
                "platform": "generic_thermostat",
                "name": "Living room",
                "heater": "input_boolean.heater",
                "target_sensor": "sensor.living_temp",
                "initial_hvac_mode": "heat",
                "target_temp": 20,
                "min_temp": min_temp,
                "max_temp": max_temp,
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == 20


async def test_apply_setpoint_sets_the_thermostat(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await _real_thermostat(hass)
    await setup_entry(hass, mock_entry)
    predicted = float(hass.states.get("sensor.living_room_predicted_setpoint").state)
    await hass.services.async_call(
        DOMAIN, "apply_setpoint", {"entity_id": "sensor.living_room_predicted_setpoint"}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == predicted


async def test_apply_setpoint_respects_the_thermostat_range(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await _real_thermostat(hass, min_temp=18.5)
    await setup_entry(hass, mock_entry)
    assert float(hass.states.get("sensor.living_room_predicted_setpoint").state) < 18.5
    await hass.services.async_call(
        DOMAIN, "apply_setpoint", {"entity_id": "sensor.living_room_predicted_setpoint"}, blocking=True
    )
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == 18.5


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("set_temperature", {"temperature": 23}), "setpoint_manual_override"),
        (("set_hvac_mode", {"hvac_mode": "off"}), "setpoint_hvac_off"),
    ],
)
async def test_apply_setpoint_guard_rails(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    change: tuple[str, dict],
    key: str,
) -> None:
    await record_home(hass, freezer)
    await _real_thermostat(hass)
    await setup_entry(hass, mock_entry)
    service, data = change
    await hass.services.async_call("climate", service, {"entity_id": THERMOSTAT, **data}, blocking=True)
    await hass.async_block_till_done()
    before = dict(hass.states.get(THERMOSTAT).attributes)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "apply_setpoint", {"entity_id": "sensor.living_room_predicted_setpoint"}, blocking=True
        )
    assert err.value.translation_key == key
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == before["temperature"]

    # A manual change is respected only for the hold time the caller allows.
    if key == "setpoint_manual_override":
        await hass.services.async_call(
            DOMAIN,
            "apply_setpoint",
            {"entity_id": "sensor.living_room_predicted_setpoint", "manual_hold_minutes": 0},
            blocking=True,
        )
        assert hass.states.get(THERMOSTAT).attributes["temperature"] != 23


async def test_auto_apply_keeps_the_thermostat_at_the_prediction(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer)
    await _real_thermostat(hass)
    await setup_entry(hass, mock_entry)
    predicted = float(hass.states.get("sensor.living_room_predicted_setpoint").state)
    assert predicted != 20

    await hass.services.async_call("switch", "turn_on", {"entity_id": "switch.living_room_auto_apply"}, blocking=True)
    await mock_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == predicted

    # Off again: SmartML leaves a manual change alone.
    await hass.services.async_call("switch", "turn_off", {"entity_id": "switch.living_room_auto_apply"}, blocking=True)
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": THERMOSTAT, "temperature": 18}, blocking=True
    )
    await mock_entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(THERMOSTAT).attributes["temperature"] == 18


async def test_radiator_valve_without_hvac_action_gets_a_preheat_start_from_its_past_raises(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await record_home(hass, freezer, hvac_action=False)
    await setup_entry(hass, mock_entry)
    # Its heating response is not known well enough to show, but the time its raises took is.
    assert hass.states.get("sensor.living_room_heating_rate").state == "unavailable"
    preheat = hass.states.get("sensor.living_room_preheat_start")
    start = dt_util.parse_datetime(preheat.state)
    assert start is not None
    # The household's evening step to 21 °C comes at 17:30; the room takes about two hours to get there.
    evening_step = dt_util.start_of_local_day() + timedelta(hours=17, minutes=30)
    assert dt_util.now() - timedelta(minutes=1) <= start <= evening_step
    assert preheat.attributes["target_setpoint"] == pytest.approx(21.0)
    # Diagnostics say what timed it, without when.
    diagnostics = await async_get_config_entry_diagnostics(hass, mock_entry)
    zone = diagnostics["predictions"]["climate"][THERMOSTAT]
    assert zone["preheat_planned"] is True
    assert zone["preheat_method"] == "approach"
    assert zone["preheat_raises"] >= 5
    assert "mode" not in zone and isinstance(diagnostics["predictions"]["anomalies"], int)
    # Nor whether anyone is home now (an expected arrival is given only to an empty home).
    assert "expected_arrival" not in diagnostics["predictions"]["occupancy"]
