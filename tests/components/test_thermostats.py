"""Thermostats as they come: offline, holding a target range; SmartML keeps going with each."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
import math
from pathlib import Path
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.climate import (
    ATTR_TARGET_TEMP_HIGH,
    ATTR_TARGET_TEMP_LOW,
    ClimateEntity,
    ClimateEntityFeature,
    HVACMode,
)
from homeassistant.components.recorder import Recorder
from homeassistant.const import ATTR_TEMPERATURE, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util.unit_system import US_CUSTOMARY_SYSTEM
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, setup_test_component_platform

from custom_components.smartml.const import DOMAIN
from custom_components.smartml.engine.observations import ObservationStore

from .conftest import THERMOSTAT, setup_entry
from .home_history import record_home

PREDICTED_SETPOINT = "sensor.living_room_predicted_setpoint"
AUTO_APPLY = "switch.living_room_auto_apply"
LEARNING = "switch.smartml_learning"


class Thermostat(ClimateEntity):
    """A thermostat of the living room as an integration offers it: in its own unit, online or not."""

    _attr_name = "Living room"
    _attr_should_poll = False

    def __init__(
        self,
        *,
        hvac_mode: HVACMode = HVACMode.HEAT,
        temperature: float | None = 20.0,
        span: tuple[float, float] | None = None,
        unit: str = UnitOfTemperature.CELSIUS,
        step: float | None = None,
        rounds_to: float | None = None,
        min_temp: float | None = None,
        preset: str | None = None,
    ) -> None:
        """Hold a target temperature, or only a target range (span).

        step: the step it declares; rounds_to: the step it keeps setpoints to, declared or not.
        """
        self._attr_hvac_modes = [HVACMode.OFF, HVACMode.HEAT, HVACMode.COOL, HVACMode.HEAT_COOL]
        self._attr_hvac_mode = hvac_mode
        self._attr_temperature_unit = unit
        self._attr_target_temperature = temperature
        self._attr_current_temperature = temperature
        if step is not None:
            self._attr_target_temperature_step = step
        if min_temp is not None:
            self._attr_min_temp = min_temp
        self._attr_target_temperature_low, self._attr_target_temperature_high = span or (None, None)
        self._attr_supported_features = (
            ClimateEntityFeature.TARGET_TEMPERATURE_RANGE if span else ClimateEntityFeature.TARGET_TEMPERATURE
        )
        if preset is not None:
            self._attr_preset_modes, self._attr_preset_mode = ["none", "away"], preset
            self._attr_supported_features |= ClimateEntityFeature.PRESET_MODE
        self.online = True
        self.asked = 0
        self.sent: list[float] = []
        self.rounds_to = rounds_to
        self.hangs = False

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Turned off (or on) at the thermostat."""
        self._attr_hvac_mode = hvac_mode
        self.async_write_ha_state()

    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Take the setpoint, or fail as a device that cannot be reached does, or never answer."""
        self.asked += 1
        if self.hangs:
            await asyncio.Event().wait()
        if not self.online:
            raise HomeAssistantError("The thermostat does not answer")
        temperature = kwargs.get(ATTR_TEMPERATURE, self._attr_target_temperature)
        if ATTR_TEMPERATURE in kwargs:
            self.sent.append(kwargs[ATTR_TEMPERATURE])
        if temperature is not None and self.rounds_to:
            temperature = math.floor(temperature / self.rounds_to + 0.5) * self.rounds_to  # half up, as devices do
        self._attr_target_temperature = temperature
        self._attr_target_temperature_low = kwargs.get(ATTR_TARGET_TEMP_LOW, self._attr_target_temperature_low)
        self._attr_target_temperature_high = kwargs.get(ATTR_TARGET_TEMP_HIGH, self._attr_target_temperature_high)
        self.async_write_ha_state()


async def _home_with(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    thermostat: Thermostat,
    eco_setpoint: float = 17.0,
) -> None:
    """The recorded home, its thermostat now this one, and SmartML set up."""
    await record_home(
        hass,
        freezer,
        fahrenheit=hass.config.units is US_CUSTOMARY_SYSTEM,
        eco_setpoint=eco_setpoint,
        hvac_mode=str(thermostat.hvac_mode),
    )
    hass.states.async_remove(THERMOSTAT)
    setup_test_component_platform(hass, "climate", [thermostat])
    assert await async_setup_component(hass, "climate", {"climate": {"platform": "test"}})
    await hass.async_block_till_done()
    assert hass.states.get(THERMOSTAT) is not None
    await setup_entry(hass, entry)


async def _refresh(hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, minutes: float) -> None:
    freezer.tick(timedelta(minutes=minutes))
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


class _NoLimitsThermostat(Thermostat):
    """A device that reports no limits: its min_temp and max_temp attributes are None."""

    _attr_min_temp = None
    _attr_max_temp = None


async def test_a_thermostat_without_limits_leaves_smartml_running(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    await _home_with(hass, mock_entry, freezer, _NoLimitsThermostat())
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    for _ in range(2):
        await _refresh(hass, mock_entry, freezer, 1)
        assert mock_entry.runtime_data.coordinator.last_update_success
        for entity_id in ("switch.smartml_learning", "sensor.kitchen_occupancy_probability", PREDICTED_SETPOINT):
            assert hass.states.get(entity_id).state != "unavailable"


@pytest.mark.parametrize("ends", ["answers", "switched_off", "turned_off_at_the_thermostat", "unloaded"])
async def test_a_thermostat_that_refuses_leaves_smartml_running(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    caplog: pytest.LogCaptureFixture,
    ends: str,
) -> None:
    thermostat = Thermostat()
    await _home_with(hass, mock_entry, freezer, thermostat)
    predicted = float(hass.states.get(PREDICTED_SETPOINT).state)
    assert predicted != 20
    thermostat.online = False
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    coordinator = mock_entry.runtime_data.coordinator

    for _ in range(3):
        await _refresh(hass, mock_entry, freezer, 1)
        assert coordinator.last_update_success
        for entity_id in ("sensor.smartml_learning_status", "sensor.kitchen_occupancy_probability", PREDICTED_SETPOINT):
            assert hass.states.get(entity_id).state != "unavailable"
    # Told once, without a traceback, and not asked again at every refresh.
    told = [r for r in caplog.records if r.levelno >= logging.WARNING and THERMOSTAT in r.getMessage()]
    assert len(told) == 1
    assert told[0].exc_info is None
    assert "does not answer" in told[0].getMessage()
    assert thermostat.asked == 1
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == 20

    # Asked again every 15 minutes; refusing for an hour raises a repair issue.
    issues = ir.async_get(hass)
    issue_id = f"setpoint_refused_{THERMOSTAT}"
    for tries in range(2, 6):
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        await _refresh(hass, mock_entry, freezer, 15)
        assert thermostat.asked == tries
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert "does not answer" in issue.translation_placeholders["error"]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING and THERMOSTAT in r.getMessage()]) == 1

    if ends == "switched_off":
        # Auto-apply off: SmartML leaves the thermostat alone, and the issue goes.
        await hass.services.async_call("switch", "turn_off", {"entity_id": AUTO_APPLY}, blocking=True)
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        await _refresh(hass, mock_entry, freezer, 15)
        assert thermostat.asked == 5
        return
    if ends == "turned_off_at_the_thermostat":
        # Back, but turned off: nothing is refused any more, nothing is sent.
        thermostat.online = True
        await hass.services.async_call("climate", "set_hvac_mode", {"entity_id": THERMOSTAT, "hvac_mode": "off"})
        await _refresh(hass, mock_entry, freezer, 15)
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        assert thermostat.asked == 5
        return
    if ends == "unloaded":
        # Nothing asks the thermostat any more (an options change reloads, the entry may go).
        assert await hass.config_entries.async_unload(mock_entry.entry_id)
        assert issues.async_get_issue(DOMAIN, issue_id) is None
        return
    # Back online: the next try sets it (people are home by now), and the issue goes.
    thermostat.online = True
    await _refresh(hass, mock_entry, freezer, 15)
    now_predicted = float(hass.states.get(PREDICTED_SETPOINT).state)
    assert now_predicted != predicted
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == round(now_predicted * 2) / 2
    assert coordinator.setpoints.manual_changes == {}
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_an_unavailable_thermostat_is_skipped_until_it_is_back(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    thermostat = Thermostat()
    await _home_with(hass, mock_entry, freezer, thermostat)
    thermostat._attr_available = False
    thermostat.async_write_ha_state()
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    for _ in range(6):
        await _refresh(hass, mock_entry, freezer, 15)
    assert thermostat.asked == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and THERMOSTAT in r.getMessage()]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"setpoint_refused_{THERMOSTAT}") is None
    thermostat._attr_available = True
    thermostat.async_write_ha_state()
    await _refresh(hass, mock_entry, freezer, 1)
    assert thermostat.asked == 1


async def test_apply_setpoint_to_a_thermostat_that_refuses_says_so(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    thermostat = Thermostat()
    await _home_with(hass, mock_entry, freezer, thermostat)
    thermostat.online = False
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "setpoint_refused"
    assert "does not answer" in str(err.value)
    assert THERMOSTAT in str(err.value)


async def test_a_thermostat_holding_a_range_keeps_its_width_around_the_prediction(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    thermostat = Thermostat(hvac_mode=HVACMode.HEAT_COOL, temperature=None, span=(20.0, 24.0))
    await _home_with(hass, mock_entry, freezer, thermostat)
    predicted = float(hass.states.get(PREDICTED_SETPOINT).state)
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    await _refresh(hass, mock_entry, freezer, 1)
    attributes = hass.states.get(THERMOSTAT).attributes
    assert ATTR_TEMPERATURE not in attributes
    assert (attributes[ATTR_TARGET_TEMP_LOW], attributes[ATTR_TARGET_TEMP_HIGH]) == (predicted - 2, predicted + 2)
    # SmartML's own change is not taken for someone's, so it keeps following the prediction.
    coordinator = mock_entry.runtime_data.coordinator
    assert coordinator.setpoints.manual_changes == {}
    assert coordinator.last_update_success


async def test_a_range_moved_against_the_thermostat_s_limit_is_set_once(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    """The range cannot be centred on the prediction: it is set as near as the minimum allows, once."""
    thermostat = Thermostat(hvac_mode=HVACMode.HEAT_COOL, temperature=None, span=(16.0, 22.0), min_temp=15.0)
    await _home_with(hass, mock_entry, freezer, thermostat)
    assert float(hass.states.get(PREDICTED_SETPOINT).state) < 18
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    for _ in range(5):
        await _refresh(hass, mock_entry, freezer, 1)
    attributes = hass.states.get(THERMOSTAT).attributes
    assert (attributes[ATTR_TARGET_TEMP_LOW], attributes[ATTR_TARGET_TEMP_HIGH]) == (15.0, 21.0)
    assert thermostat.asked == 1
    assert mock_entry.runtime_data.coordinator.setpoints.manual_changes == {}


async def test_a_thermostat_that_never_answers_holds_nothing_up(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test clock stands still: the wait is cut at once, as the real one is after 30 s.
    monkeypatch.setattr("custom_components.smartml.climate_control.SET_TIMEOUT_SECONDS", 0)
    thermostat = Thermostat()
    await _home_with(hass, mock_entry, freezer, thermostat)
    thermostat.hangs = True
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    await _refresh(hass, mock_entry, freezer, 1)
    assert mock_entry.runtime_data.coordinator.last_update_success
    assert thermostat.asked == 1
    told = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and THERMOSTAT in r.getMessage()]
    assert len(told) == 1 and "no answer" in told[0]


async def test_a_fahrenheit_home_is_learned_in_celsius_and_set_in_fahrenheit(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    """A home on the US customary system: the thermostat is at 68 °F, the household's eco setpoint is 62.6 °F."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    thermostat = Thermostat(temperature=68.0, unit=UnitOfTemperature.FAHRENHEIT)
    await _home_with(hass, mock_entry, freezer, thermostat)
    coordinator = mock_entry.runtime_data.coordinator
    # Recorder history and the live state alike are kept in °C.
    observed = coordinator.state.observations.channels[f"{THERMOSTAT}|temperature"]
    assert sorted({round(v, 1) for v in observed.values}) == [17.0, 20.0, 20.5, 21.0]
    assert observed.values[-1] == pytest.approx(20.0)
    predicted = hass.states.get(PREDICTED_SETPOINT)
    assert predicted.attributes["unit_of_measurement"] == UnitOfTemperature.FAHRENHEIT
    assert float(predicted.state) == pytest.approx(62.6, abs=0.5)
    # Its forecast too: 21 °C when people are up and home, 17 °C otherwise.
    forecast = [hour["setpoint"] for hour in predicted.attributes["forecast"]]
    assert max(forecast) == pytest.approx(69.8, abs=1.1)
    assert min(forecast) == pytest.approx(62.6, abs=1.1)
    target = hass.states.get("sensor.living_room_preheat_start").attributes["target_setpoint"]
    assert target == pytest.approx(69.8, abs=1.1) and target == round(target, 1)
    # The thermal fit sees one unit: the zone heats 1.8 °C/h, as recorded, shown as 3.2 °F/h.
    rate = hass.states.get("sensor.living_room_heating_rate")
    assert rate.attributes["unit_of_measurement"] == "°F/h"
    assert float(rate.state) == pytest.approx(1.8 * 9 / 5, rel=0.25)

    await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    # Sent to the thermostat's step: whole degrees Fahrenheit.
    assert thermostat.target_temperature == round(float(predicted.state))
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == pytest.approx(62.6, abs=1.0)
    assert coordinator.setpoints.manual_changes == {}


async def test_a_fahrenheit_home_s_thermostat_kept_in_fahrenheit_before_is_read_again_in_celsius(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    """An earlier release kept this home's thermostat as it showed it, in °F, with no unit to tell."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    earlier = ObservationStore()
    for hour, setpoint in enumerate((62.6, 68.9, 69.8, 68.0)):
        earlier.add_state(THERMOSTAT, "climate", "heat", time.time() - (10 - hour) * 3600, {"temperature": setpoint})
    key = f"{DOMAIN}.{mock_entry.entry_id}.observations"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 5,
        "key": key,
        "data": {"observations": earlier.as_dict(), "bootstrapped": {THERMOSTAT: time.time() - 3600}},
    }
    thermostat = Thermostat(temperature=68.0, unit=UnitOfTemperature.FAHRENHEIT)
    await _home_with(hass, mock_entry, freezer, thermostat)
    observed = mock_entry.runtime_data.coordinator.state.observations.channels[f"{THERMOSTAT}|temperature"]
    assert max(observed.values) < 25  # all in °C, the recorder's history read again
    assert float(hass.states.get(PREDICTED_SETPOINT).state) == pytest.approx(62.6, abs=0.5)


async def test_a_fahrenheit_home_imports_its_history_in_celsius(
    hass: HomeAssistant, mock_entry: MockConfigEntry, tmp_path: Path
) -> None:
    """A history export of the home is in the home's unit: 68 °F is learned as 20 °C."""
    hass.config.units = US_CUSTOMARY_SYSTEM
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    export = tmp_path / "history.csv"
    export.write_text(
        "entity_id,state,last_changed,attributes\n"
        f'{THERMOSTAT},heat,2026-11-20T06:00:00+00:00,"{{""temperature"": 68, ""current_temperature"": 59}}"\n',
        encoding="utf-8",
    )
    await setup_entry(hass, mock_entry)
    await hass.services.async_call(DOMAIN, "import_history", {"path": str(export)}, blocking=True, return_response=True)
    channels = mock_entry.runtime_data.coordinator.state.observations.channels
    assert list(channels[f"{THERMOSTAT}|temperature"].values) == [pytest.approx(20.0)]
    assert list(channels[f"{THERMOSTAT}|current_temperature"].values) == [pytest.approx(15.0)]


@pytest.mark.parametrize(
    ("declared", "sent"),
    [
        # It says it takes whole degrees: SmartML sends one.
        (1.0, 16.0),
        # It says nothing and rounds 16.5 up: its answer is still SmartML's own.
        (None, 16.5),
    ],
)
async def test_a_thermostat_with_whole_degree_steps_keeps_following_the_prediction(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    declared: float | None,
    sent: float,
) -> None:
    """The household's eco setpoint is 16.5 °C; the thermostat keeps whole degrees."""
    thermostat = Thermostat(step=declared, rounds_to=1.0)
    await _home_with(hass, mock_entry, freezer, thermostat, eco_setpoint=16.5)
    assert float(hass.states.get(PREDICTED_SETPOINT).state) == pytest.approx(16.5, abs=0.2)
    coordinator = mock_entry.runtime_data.coordinator
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    for _ in range(3):
        await _refresh(hass, mock_entry, freezer, 1)
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] in (16.0, 17.0)
    # Not taken for a change by hand, and not sent again at every refresh.
    assert coordinator.setpoints.manual_changes == {}
    assert thermostat.sent == [sent]

    # A step by hand afterwards is someone's: SmartML leaves it for the hold time.
    current = hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE]
    await _set_by_hand(hass, current + 1)
    await _refresh(hass, mock_entry, freezer, 1)
    assert THERMOSTAT in coordinator.setpoints.manual_changes
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == current + 1


async def _auto_applied(
    hass: HomeAssistant, entry: MockConfigEntry, freezer: FrozenDateTimeFactory, step: float
) -> Thermostat:
    """The recorded home with a thermostat of this step, auto-apply on and applied once."""
    thermostat = Thermostat(step=step)
    await _home_with(hass, entry, freezer, thermostat)
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    await _refresh(hass, entry, freezer, 1)
    assert thermostat.sent
    return thermostat


async def _set_by_hand(hass: HomeAssistant, setpoint: float) -> None:
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": THERMOSTAT, ATTR_TEMPERATURE: setpoint}, blocking=True
    )


@pytest.mark.parametrize("then", ["reloaded", "learning_paused"])
async def test_a_setpoint_set_by_hand_is_kept_over_a_reload_and_while_learning_is_paused(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    then: str,
) -> None:
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.5)
    if then == "learning_paused":
        await hass.services.async_call("switch", "turn_off", {"entity_id": LEARNING}, blocking=True)
    await _set_by_hand(hass, 23.0)
    await _refresh(hass, mock_entry, freezer, 1)
    if then == "reloaded":
        assert await hass.config_entries.async_reload(mock_entry.entry_id)
        await hass.async_block_till_done()
    await _refresh(hass, mock_entry, freezer, 5)
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == 23.0
    assert thermostat.sent[1:] == [23.0]  # the hand's, and nothing from SmartML since


async def test_a_change_by_hand_while_learning_is_paused_is_held_once_it_resumes(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    """Paused for a party, turned up to 23 °C by hand, learning back on: 23 °C stays for the hold."""
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.5)
    await hass.services.async_call("switch", "turn_off", {"entity_id": LEARNING}, blocking=True)
    await _refresh(hass, mock_entry, freezer, 1)
    await _set_by_hand(hass, 23.0)
    await _refresh(hass, mock_entry, freezer, 1)
    await hass.services.async_call("switch", "turn_on", {"entity_id": LEARNING}, blocking=True)
    for _ in range(5):
        await _refresh(hass, mock_entry, freezer, 1)
    assert thermostat.sent[1:] == [23.0]
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == 23.0
    assert THERMOSTAT in mock_entry.runtime_data.coordinator.setpoints.manual_changes


async def test_apply_setpoint_while_learning_is_paused_keeps_to_the_hold(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    """Asked for, a setpoint is set while paused too; a change by hand made meanwhile is held."""
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.5)
    await hass.services.async_call("switch", "turn_off", {"entity_id": LEARNING}, blocking=True)
    coordinator = mock_entry.runtime_data.coordinator
    # SmartML's own setpoint, set twice, is no change by hand.
    for _ in range(2):
        await _refresh(hass, mock_entry, freezer, 1)
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert len(thermostat.sent) == 3
    assert coordinator.setpoints.manual_changes == {}

    await _set_by_hand(hass, 23.0)
    await _refresh(hass, mock_entry, freezer, 1)
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert refused.value.translation_key == "setpoint_manual_override"
    await hass.services.async_call("switch", "turn_on", {"entity_id": LEARNING}, blocking=True)
    await _refresh(hass, mock_entry, freezer, 5)
    assert thermostat.sent[-1] == 23.0
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == 23.0


async def test_a_small_nudge_of_a_fine_stepped_thermostat_is_someone_s(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.1)
    await _refresh(hass, mock_entry, freezer, 20)
    nudged = thermostat.sent[-1] + 0.2
    await _set_by_hand(hass, nudged)
    await _refresh(hass, mock_entry, freezer, 1)
    assert THERMOSTAT in mock_entry.runtime_data.coordinator.setpoints.manual_changes
    assert hass.states.get(THERMOSTAT).attributes[ATTR_TEMPERATURE] == pytest.approx(nudged)


async def test_a_thermostat_on_a_preset_of_its_own_is_left_alone(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    thermostat = Thermostat(preset="away")
    await _home_with(hass, mock_entry, freezer, thermostat)
    await hass.services.async_call("switch", "turn_on", {"entity_id": AUTO_APPLY}, blocking=True)
    await _refresh(hass, mock_entry, freezer, 5)
    assert thermostat.sent == []
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert refused.value.translation_key == "setpoint_preset"


@pytest.mark.parametrize(
    ("shows", "reason"),
    [("fan_only", "setpoint_hvac_mode"), ("dry", "setpoint_hvac_mode"), ("no_target", "setpoint_no_target")],
)
async def test_a_thermostat_without_a_target_temperature_now_is_not_sent_setpoints(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
    shows: str,
    reason: str,
) -> None:
    """A heat pump turned to fan only or dry, or showing no target temperature: left alone, not asked each minute."""
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.5)
    if shows != "dry":  # many drop their target temperature in fan only
        thermostat._attr_target_temperature = None
        thermostat.async_write_ha_state()
    if shows != "no_target":
        thermostat._attr_hvac_modes = [*thermostat.hvac_modes, HVACMode(shows)]
        await hass.services.async_call(
            "climate", "set_hvac_mode", {"entity_id": THERMOSTAT, "hvac_mode": shows}, blocking=True
        )
    await hass.async_block_till_done()
    asked = thermostat.asked
    for _ in range(10):
        await _refresh(hass, mock_entry, freezer, 1)
    assert thermostat.asked == asked
    assert hass.states.get(PREDICTED_SETPOINT).state != "unavailable"
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert refused.value.translation_key == reason
    assert thermostat.asked == asked


async def test_a_thermostat_switched_to_cooling_is_not_given_heating_setpoints(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    evening: None,
) -> None:
    thermostat = await _auto_applied(hass, mock_entry, freezer, step=0.5)
    await hass.services.async_call(
        "climate", "set_hvac_mode", {"entity_id": THERMOSTAT, "hvac_mode": HVACMode.COOL}, blocking=True
    )
    await hass.async_block_till_done()  # the change is recorded before the next refresh
    sent = len(thermostat.sent)
    await _refresh(hass, mock_entry, freezer, 5)
    assert len(thermostat.sent) == sent
    assert hass.states.get(PREDICTED_SETPOINT).state == "unavailable"
    # Home Assistant calls no service of an unavailable entity: nothing is set either way.
    await hass.services.async_call(DOMAIN, "apply_setpoint", {"entity_id": PREDICTED_SETPOINT}, blocking=True)
    assert len(thermostat.sent) == sent
