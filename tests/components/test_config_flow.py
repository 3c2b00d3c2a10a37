"""Config, options and reconfigure flows, every error included."""

from __future__ import annotations

from typing import Any

from homeassistant import config_entries
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartml.const import (
    CONF_AREAS,
    CONF_DEVICES,
    CONF_ENERGY,
    CONF_ENVIRONMENT,
    CONF_EXCLUDE_CALENDAR,
    CONF_HISTORY_DAYS,
    CONF_NOTIFY,
    CONF_OCCUPANCY,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_POWER,
    CONF_PRESENCE,
    CONF_SECURITY,
    CONF_SECURITY_SENSORS,
    DOMAIN,
)

from .conftest import (
    ENERGY,
    FRONT_DOOR,
    HALL_MOTION,
    KITCHEN_MOTION,
    PERSON,
    POWER,
    home_options,
    set_home_states,
    setup_entry,
)


@pytest.fixture
def kitchen_area(hass: HomeAssistant) -> str:
    """A kitchen area with the kitchen motion sensor on a device in it, and a CO2 sensor."""
    area = ar.async_get(hass).async_create("Kitchen")
    entry = MockConfigEntry(domain="test")
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, identifiers={("test", "k")})
    dr.async_get(hass).async_update_device(device.id, area_id=area.id)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "binary_sensor", "test", "kitchen", suggested_object_id="kitchen_motion", device_id=device.id
    )
    # The hall sensor is registered but has no area, nor has a device.
    registry.async_get_or_create("binary_sensor", "test", "hall", suggested_object_id="hall_motion")
    co2 = registry.async_get_or_create("sensor", "test", "co2", suggested_object_id="kitchen_co2")
    registry.async_update_entity(co2.entity_id, area_id=area.id)
    set_home_states(hass)
    hass.states.async_set("sensor.kitchen_co2", "600", {"device_class": "carbon_dioxide", "unit_of_measurement": "ppm"})
    return area.id


def _user_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        CONF_OCCUPANCY: [KITCHEN_MOTION, HALL_MOTION],
        CONF_PRESENCE: [PERSON],
        CONF_ENVIRONMENT: ["sensor.kitchen_co2"],
        CONF_POWER: [POWER],
        CONF_ENERGY: [ENERGY],
        CONF_SECURITY: [FRONT_DOOR],
        CONF_SECURITY_SENSORS: [],
        CONF_DEVICES: [],
        CONF_HISTORY_DAYS: 14,
        "sensitivity": "high",
        "energy_anomalies": False,
    }
    data.update(overrides)
    return data


async def test_user_step_proposes_area_sensors_and_creates_entry(hass: HomeAssistant, kitchen_area: str) -> None:
    hass.states.async_set("person.sam", "home", {"device_trackers": ["device_tracker.sam_phone"]})
    hass.states.async_set("person.guest", "unknown", {"device_trackers": []})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"].schema
    defaults = {str(key): key.default() for key in schema if callable(getattr(key, "default", None))}
    # Sensors in an area are proposed; the hall sensor has no area and is not.
    assert defaults[CONF_OCCUPANCY] == [KITCHEN_MOTION]
    assert defaults[CONF_PRESENCE] == ["person.sam"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY
    options = result["options"]
    assert options[CONF_AREAS] == {
        kitchen_area: {CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: ["sensor.kitchen_co2"]}
    }
    assert options[CONF_OCCUPANCY] == [HALL_MOTION]
    assert options[CONF_HISTORY_DAYS] == 14
    assert options["sensitivity"] == "high"
    assert options[CONF_NOTIFY] is None


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        (
            {
                CONF_OCCUPANCY: [],
                CONF_ENVIRONMENT: [],
                CONF_PRESENCE: [],
                CONF_POWER: [],
                CONF_ENERGY: [],
                CONF_SECURITY: [],
            },
            "base",
            "no_entities",
        ),
        ({CONF_OCCUPANCY: ["light.kitchen"]}, CONF_OCCUPANCY, "wrong_domain"),
        ({CONF_SECURITY: ["binary_sensor.ghost"]}, CONF_SECURITY, "entity_not_found"),
        ({CONF_POWER: ["sensor.kitchen_co2"]}, CONF_POWER, "wrong_unit_power"),
        ({CONF_ENERGY: [POWER]}, CONF_ENERGY, "wrong_unit_energy"),
        ({CONF_ENERGY: ["sensor.energy_today"]}, CONF_ENERGY, "energy_not_cumulative"),
        ({CONF_OUTDOOR_TEMPERATURE: "climate.living_room"}, CONF_OUTDOOR_TEMPERATURE, "wrong_domain"),
        ({CONF_NOTIFY: "notify.nobody"}, CONF_NOTIFY, "notify_not_found"),
        ({CONF_NOTIFY: "notify.send_message"}, CONF_NOTIFY, "notify_needs_entity"),
        ({CONF_SECURITY_SENSORS: ["sensor.weather"]}, CONF_SECURITY_SENSORS, "not_numeric"),
        ({CONF_SECURITY_SENSORS: [FRONT_DOOR]}, CONF_SECURITY_SENSORS, "wrong_domain"),
        ({CONF_SECURITY_SENSORS: ["sensor.ghost"]}, CONF_SECURITY_SENSORS, "entity_not_found"),
        ({CONF_EXCLUDE_CALENDAR: "calendar.ghost"}, CONF_EXCLUDE_CALENDAR, "entity_not_found"),
        ({CONF_DEVICES: ["sensor.kitchen_co2"]}, CONF_DEVICES, "wrong_unit_device"),
        ({CONF_DEVICES: ["sensor.energy_today"]}, CONF_DEVICES, "device_energy_not_cumulative"),
        ({CONF_DEVICES: [ENERGY]}, CONF_DEVICES, "device_in_house_total"),
        ({CONF_DEVICES: [FRONT_DOOR]}, CONF_DEVICES, "wrong_domain"),
        # Learned against nothing: a humidity sensor without an area, the kitchen's CO2 without its motion sensor.
        ({CONF_ENVIRONMENT: ["sensor.hall_humidity"]}, CONF_ENVIRONMENT, "environment_without_occupancy"),
        ({CONF_OCCUPANCY: [HALL_MOTION]}, CONF_ENVIRONMENT, "environment_without_occupancy"),
        # Watched for being left on, an energy anomaly, with energy anomalies off.
        ({CONF_DEVICES: ["sensor.washer_power"]}, CONF_DEVICES, "devices_need_energy_anomalies"),
    ],
)
async def test_user_step_errors(
    hass: HomeAssistant, kitchen_area: str, overrides: dict[str, Any], field: str, error: str
) -> None:
    hass.states.async_set("sensor.energy_today", "3", {"unit_of_measurement": "kWh", "state_class": "measurement"})
    hass.states.async_set("sensor.weather", "sunny")
    hass.states.async_set("sensor.hall_humidity", "48", {"device_class": "humidity", "unit_of_measurement": "%"})
    hass.states.async_set("sensor.washer_power", "3", {"unit_of_measurement": "W", "device_class": "power"})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(**overrides))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    # The form comes back with what the user typed, and can then be completed.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input())
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_an_environmental_sensor_in_an_area_called_home_is_refused(hass: HomeAssistant) -> None:
    """An area called "Home" counts for the whole home, where environmental sensors learn nothing."""
    home = ar.async_get(hass).async_create("Home")
    registry = er.async_get(hass)
    for domain, object_id in (("binary_sensor", "kitchen_motion"), ("sensor", "hall_co2")):
        entity = registry.async_get_or_create(domain, "test", object_id, suggested_object_id=object_id)
        registry.async_update_entity(entity.entity_id, area_id=home.id)
    set_home_states(hass)
    hass.states.async_set("sensor.hall_co2", "600", {"device_class": "carbon_dioxide", "unit_of_measurement": "ppm"})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_ENVIRONMENT: ["sensor.hall_co2"]})
    )
    assert result["errors"] == {CONF_ENVIRONMENT: "environment_without_occupancy"}


async def test_a_device_to_watch_alone_is_enough(hass: HomeAssistant, kitchen_area: str) -> None:
    hass.states.async_set("sensor.washer_power", "3", {"unit_of_measurement": "W", "device_class": "power"})
    nothing_else = {key: [] for key in (CONF_OCCUPANCY, CONF_PRESENCE, CONF_ENVIRONMENT, CONF_POWER, CONF_ENERGY)}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _user_input(
            **nothing_else, **{CONF_SECURITY: [], CONF_DEVICES: ["sensor.washer_power"], "energy_anomalies": True}
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_DEVICES] == ["sensor.washer_power"]


async def test_devices_to_watch_are_stored_apart_from_the_house_total(hass: HomeAssistant, kitchen_area: str) -> None:
    hass.states.async_set("sensor.oven_plug_power", "3", {"unit_of_measurement": "W", "device_class": "power"})
    hass.states.async_set(
        "sensor.dryer_energy",
        "12.4",
        {"unit_of_measurement": "Wh", "device_class": "energy", "state_class": "total_increasing"},
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _user_input(**{CONF_DEVICES: ["sensor.oven_plug_power", "sensor.dryer_energy"], "energy_anomalies": True}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    options = result["options"]
    assert options[CONF_DEVICES] == ["sensor.oven_plug_power", "sensor.dryer_energy"]
    assert options[CONF_POWER] == [POWER] and options[CONF_ENERGY] == [ENERGY]


async def test_registry_entity_without_state_is_accepted(hass: HomeAssistant, kitchen_area: str) -> None:
    er.async_get(hass).async_get_or_create("binary_sensor", "test", "garage", suggested_object_id="garage_door")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_SECURITY: ["binary_sensor.garage_door"]})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_numeric_sensors_to_watch_are_stored_and_enough_on_their_own(
    hass: HomeAssistant, kitchen_area: str
) -> None:
    hass.states.async_set("sensor.garage_temperature", "12.5", {"unit_of_measurement": "°C"})
    # No unit, but a number now: accepted; unavailable now: given the benefit of the doubt.
    hass.states.async_set("sensor.water_meter_pulses", "42")
    hass.states.async_set("sensor.freezer", "unavailable")
    watched = ["sensor.garage_temperature", "sensor.water_meter_pulses", "sensor.freezer"]
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    nothing_else = {key: [] for key in (CONF_OCCUPANCY, CONF_PRESENCE, CONF_ENVIRONMENT, CONF_POWER, CONF_ENERGY)}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**nothing_else, **{CONF_SECURITY: [], CONF_SECURITY_SENSORS: watched})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"][CONF_SECURITY_SENSORS] == watched


async def test_notify_target_is_stored_without_prefix(hass: HomeAssistant, kitchen_area: str) -> None:
    hass.services.async_register("notify", "mobile_app_phone", lambda call: None)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_NOTIFY: "notify.mobile_app_phone"})
    )
    assert result["options"][CONF_NOTIFY] == "mobile_app_phone"


async def test_second_entry_is_refused(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    mock_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] in ("single_instance_allowed", "already_configured")


async def test_options_flow_changes_entities_and_keeps_learned_data(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()
    old = mock_entry.runtime_data.coordinator.state.observations
    assert KITCHEN_MOTION in old.channels

    result = await hass.config_entries.options.async_init(mock_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(getattr(key, "default", None))
    }
    assert defaults[CONF_OCCUPANCY] == [HALL_MOTION, KITCHEN_MOTION]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_OCCUPANCY: ["light.x"]})
    )
    assert result["errors"] == {CONF_OCCUPANCY: "wrong_domain"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_OCCUPANCY: [KITCHEN_MOTION], CONF_SECURITY: []})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert mock_entry.options[CONF_SECURITY] == []
    kept = mock_entry.runtime_data.coordinator.state.observations
    assert list(kept.channels[KITCHEN_MOTION].values) == [0.0, 1.0]
    assert FRONT_DOOR not in kept.channels


async def test_reconfigure_updates_entry_and_keeps_learned_data(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    hass.states.async_set(KITCHEN_MOTION, "on", {"device_class": "motion"})
    await hass.async_block_till_done()

    result = await mock_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_POWER: [ENERGY]})
    )
    assert result["errors"] == {CONF_POWER: "wrong_unit_power"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_HISTORY_DAYS: 7})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert mock_entry.options[CONF_HISTORY_DAYS] == 7
    observations = mock_entry.runtime_data.coordinator.state.observations
    assert list(observations.channels[KITCHEN_MOTION].values) == [0.0, 1.0]


async def test_options_flow_shows_and_keeps_watched_sensors(hass: HomeAssistant) -> None:
    garage = "sensor.garage_temperature"
    hass.states.async_set(garage, "12.5", {"unit_of_measurement": "°C"})
    set_home_states(hass)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=DOMAIN, options=home_options(**{CONF_SECURITY_SENSORS: [garage]}))
    await setup_entry(hass, entry)
    assert entry.runtime_data.coordinator.roles[garage] == "security_sensor"

    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(getattr(key, "default", None))
    }
    assert defaults[CONF_SECURITY_SENSORS] == [garage]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_SECURITY_SENSORS: [garage, POWER]})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_SECURITY_SENSORS] == [garage, POWER]
    # A sensor already learned in another role keeps it (power in W).
    assert entry.runtime_data.coordinator.roles[POWER] == "power"


async def test_the_device_of_a_removed_area_is_removed(hass: HomeAssistant, mock_entry: MockConfigEntry) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry = dr.async_get(hass)
    kitchen = (DOMAIN, f"{mock_entry.entry_id}_kitchen")
    assert registry.async_get_device(identifiers={kitchen}) is not None

    # The kitchen sensor has no area in Home Assistant: saved again, the options lose the area.
    result = await hass.config_entries.options.async_init(mock_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_OCCUPANCY: [KITCHEN_MOTION]})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert not mock_entry.options["areas"]
    assert registry.async_get_device(identifiers={kitchen}) is None
    assert registry.async_get_device(identifiers={(DOMAIN, mock_entry.entry_id)}) is not None


async def test_entities_of_a_removed_meter_and_device_are_removed(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    oven = "sensor.oven_power"
    hass.states.async_set(oven, "2", {"unit_of_measurement": "W", "device_class": "power"})
    mock_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(mock_entry, options={**mock_entry.options, CONF_DEVICES: [oven]})
    await setup_entry(hass, mock_entry)
    registry = er.async_get(hass)
    meter_and_device = ("sensor.energy_forecast_next_hour", "binary_sensor.oven_power_left_on")
    for entity_id in meter_and_device:
        assert registry.async_get(entity_id) is not None, entity_id
    # A prediction the user disabled is still offered: it must stay, and stay disabled.
    disabled = "sensor.home_occupancy_probability"
    registry.async_update_entity(disabled, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(mock_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_POWER: [], CONF_ENERGY: [], CONF_DEVICES: []})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    for entity_id in meter_and_device:
        assert registry.async_get(entity_id) is None, entity_id
        assert hass.states.get(entity_id) is None, entity_id
    entry = registry.async_get(disabled)
    assert entry is not None and entry.disabled_by is er.RegistryEntryDisabler.USER
    assert hass.states.get("binary_sensor.home_occupancy_predicted") is not None


async def test_a_platform_that_fails_to_set_up_keeps_its_entities(
    hass: HomeAssistant, mock_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry = er.async_get(hass)
    renamed = registry.async_update_entity("sensor.energy_forecast_next_hour", name="Next hour's kWh")

    async def broken(*_args: Any) -> None:
        raise RuntimeError("translations could not be read")

    # The sensor platform fails before offering anything: its entities are not stale.
    monkeypatch.setattr("custom_components.smartml.sensor.async_reason_phrases", broken)
    assert await hass.config_entries.async_reload(mock_entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(renamed.entity_id) == renamed
    assert registry.async_get("binary_sensor.home_occupancy_predicted") is not None


async def test_binary_sensors_go_when_the_home_no_longer_has_any(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> None:
    set_home_states(hass)
    await setup_entry(hass, mock_entry)
    registry = er.async_get(hass)
    assert registry.async_get("binary_sensor.home_occupancy_predicted") is not None

    # Cut down to the house meter alone: no platform offers a binary sensor any more.
    result = await hass.config_entries.options.async_init(mock_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        _user_input(**{CONF_OCCUPANCY: [], CONF_PRESENCE: [], CONF_SECURITY: [], CONF_ENVIRONMENT: []}),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    left = [e.entity_id for e in er.async_entries_for_config_entry(registry, mock_entry.entry_id)]
    assert not [entity_id for entity_id in left if entity_id.startswith("binary_sensor.")]
    assert "sensor.energy_forecast_next_hour" in left


async def test_an_area_called_home_stands_for_the_whole_home(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Its id is the whole home's scope: its sensors count for the home, and no entity ids clash."""
    area = ar.async_get(hass).async_create("Home")
    assert area.id == "home"
    hall = er.async_get(hass).async_get_or_create("binary_sensor", "test", "hall", suggested_object_id="hall_motion")
    assert hall.entity_id == HALL_MOTION
    er.async_get(hass).async_update_entity(HALL_MOTION, area_id=area.id)
    set_home_states(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(**{CONF_ENVIRONMENT: [], CONF_OCCUPANCY: [HALL_MOTION]})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["options"][CONF_AREAS] == {}
    assert result["options"][CONF_OCCUPANCY] == [HALL_MOTION]
    assert "does not generate unique IDs" not in caplog.text
    assert hass.states.get("binary_sensor.home_occupancy_predicted") is not None


async def test_a_new_home_asks_for_no_more_history_than_the_recorder_keeps(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    set_home_states(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(getattr(key, "default", None))
    }
    assert defaults[CONF_HISTORY_DAYS] == get_instance(hass).keep_days == 10

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**defaults, CONF_OCCUPANCY: [HALL_MOTION], CONF_PRESENCE: [PERSON]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # Accepting the proposals raises no repair issue: nothing needs the household's hand.
    assert [issue for (domain, _), issue in ir.async_get(hass).issues.items() if domain == DOMAIN] == []
