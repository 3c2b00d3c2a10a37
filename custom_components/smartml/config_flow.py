"""Config flow: pick what SmartML learns from, in the UI.

The user, options and reconfigure steps share one form. Occupancy and environmental
sensors are grouped by the area they have in Home Assistant, so the per-area models
follow the home's own area registry; sensors without an area count for the whole home.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import area_registry as ar, device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .const import (
    CONF_AREAS,
    CONF_CLIMATE,
    CONF_DEVICES,
    CONF_ENERGY,
    CONF_ENERGY_ANOMALIES,
    CONF_ENVIRONMENT,
    CONF_EXCLUDE_CALENDAR,
    CONF_HISTORY_DAYS,
    CONF_NOTIFY,
    CONF_OCCUPANCY,
    CONF_OUTDOOR_TEMPERATURE,
    CONF_POWER,
    CONF_PRESENCE,
    CONF_ROUTINE_ANOMALIES,
    CONF_SECURITY,
    CONF_SECURITY_SENSORS,
    CONF_SENSITIVITY,
    DEFAULT_HISTORY_DAYS,
    DEFAULT_SENSITIVITY,
    DOMAIN,
    ENERGY_UNITS,
    ENVIRONMENT_DEVICE_CLASSES,
    MAX_HISTORY_DAYS,
    MIN_HISTORY_DAYS,
    OCCUPANCY_DEVICE_CLASSES,
    OCCUPANCY_DOMAINS,
    POWER_UNITS,
    PRESENCE_DOMAINS,
    SECURITY_DEVICE_CLASSES,
    SECURITY_DOMAINS,
    SENSITIVITIES,
)
from .engine.constants import HOME
from .history import recorder_keep_days


def home_area_as_the_home(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with the sensors of an area called "Home" listed for the whole home.

    Its id is the whole home's scope id: as an area of its own, its entities would clash with
    the home's.
    """
    areas = dict(options.get(CONF_AREAS) or {})
    home_area = areas.pop(HOME, None) or {}
    moved = {
        key: [*(options.get(key) or []), *(home_area.get(key) or [])] for key in (CONF_OCCUPANCY, CONF_ENVIRONMENT)
    }
    return {**options, CONF_AREAS: areas, **moved}


ENTITY_LISTS = (
    CONF_OCCUPANCY,
    CONF_PRESENCE,
    CONF_ENVIRONMENT,
    CONF_POWER,
    CONF_ENERGY,
    CONF_CLIMATE,
    CONF_SECURITY,
    CONF_SECURITY_SENSORS,
    CONF_DEVICES,
)
# The notify action that sends to notify entities: it needs an entity target SmartML does not
# choose, so alerts sent with it would fail.
NOTIFY_ENTITY_ACTION = "send_message"
# Lists stored as chosen (occupancy and environment sensors are grouped by area).
AS_CHOSEN = (CONF_PRESENCE, CONF_POWER, CONF_ENERGY, CONF_CLIMATE, CONF_SECURITY, CONF_SECURITY_SENSORS, CONF_DEVICES)
# Lists that give SmartML something to learn on their own (environment needs occupancy).
LEARNABLE = (CONF_OCCUPANCY, *AS_CHOSEN)
ALLOWED_DOMAINS: dict[str, list[str]] = {
    CONF_OCCUPANCY: OCCUPANCY_DOMAINS,
    CONF_PRESENCE: PRESENCE_DOMAINS,
    CONF_ENVIRONMENT: ["sensor"],
    CONF_POWER: ["sensor"],
    CONF_ENERGY: ["sensor"],
    CONF_CLIMATE: ["climate"],
    CONF_SECURITY: SECURITY_DOMAINS,
    CONF_SECURITY_SENSORS: ["sensor"],
    CONF_OUTDOOR_TEMPERATURE: ["sensor"],
    CONF_EXCLUDE_CALENDAR: ["calendar"],
    CONF_DEVICES: ["sensor"],
}


def _entity_selector(config: EntitySelectorConfig) -> EntitySelector:
    return EntitySelector(config)


SELECTORS: dict[str, EntitySelector] = {
    CONF_OCCUPANCY: _entity_selector(
        {"multiple": True, "filter": {"domain": OCCUPANCY_DOMAINS, "device_class": OCCUPANCY_DEVICE_CLASSES}}
    ),
    CONF_PRESENCE: _entity_selector({"multiple": True, "filter": {"domain": PRESENCE_DOMAINS}}),
    CONF_ENVIRONMENT: _entity_selector(
        {"multiple": True, "filter": {"domain": "sensor", "device_class": ENVIRONMENT_DEVICE_CLASSES}}
    ),
    CONF_POWER: _entity_selector(
        {"multiple": True, "filter": {"domain": "sensor", "device_class": SensorDeviceClass.POWER}}
    ),
    CONF_ENERGY: _entity_selector(
        {"multiple": True, "filter": {"domain": "sensor", "device_class": SensorDeviceClass.ENERGY}}
    ),
    CONF_CLIMATE: _entity_selector({"multiple": True, "filter": {"domain": "climate"}}),
    CONF_SECURITY: _entity_selector(
        {
            "multiple": True,
            "filter": [
                {"domain": "binary_sensor", "device_class": SECURITY_DEVICE_CLASSES},
                {"domain": ["lock", "alarm_control_panel"]},
                {"domain": "cover", "device_class": ["door", "garage", "gate"]},
            ],
        }
    ),
    # Any numeric sensor (temperature, power, CO2, water flow ...); validation checks it is numeric.
    CONF_SECURITY_SENSORS: _entity_selector({"multiple": True, "filter": {"domain": "sensor"}}),
    CONF_OUTDOOR_TEMPERATURE: _entity_selector(
        {"filter": {"domain": "sensor", "device_class": SensorDeviceClass.TEMPERATURE}}
    ),
    CONF_EXCLUDE_CALENDAR: _entity_selector({"filter": {"domain": "calendar"}}),
    CONF_DEVICES: _entity_selector(
        {
            "multiple": True,
            "filter": {"domain": "sensor", "device_class": [SensorDeviceClass.POWER, SensorDeviceClass.ENERGY]},
        }
    ),
}


def _entity_area(hass: HomeAssistant, entity_id: str) -> str | None:
    """The area of an entity, or of its device."""
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None:
        return None
    if entry.area_id:
        return entry.area_id
    if entry.device_id and (device := dr.async_get(hass).async_get(entry.device_id)):
        return device.area_id
    return None


def proposed_occupancy(hass: HomeAssistant) -> list[str]:
    """Motion/occupancy/presence sensors that have an area: the default selection."""
    areas = ar.async_get(hass)
    proposed = []
    for state in hass.states.async_all(OCCUPANCY_DOMAINS):
        if state.attributes.get(ATTR_DEVICE_CLASS) not in OCCUPANCY_DEVICE_CLASSES:
            continue
        area_id = _entity_area(hass, state.entity_id)
        if area_id and areas.async_get_area(area_id):
            proposed.append(state.entity_id)
    return sorted(proposed)


def _flatten(options: Mapping[str, Any], key: str) -> list[str]:
    """All entities of a list, in areas and outside them."""
    found = list(options.get(key, []))
    for area in options.get(CONF_AREAS, {}).values():
        found.extend(area.get(key, []))
    return found


def form_defaults(hass: HomeAssistant, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Form values from stored options, or the proposals for a new home."""
    if not options:
        return {
            CONF_OCCUPANCY: proposed_occupancy(hass),
            # People with a tracker: a person without one never changes state.
            CONF_PRESENCE: sorted(
                state.entity_id for state in hass.states.async_all("person") if state.attributes.get("device_trackers")
            ),
            # No more than the recorder keeps: asked for more, it could only say it has less.
            CONF_HISTORY_DAYS: max(MIN_HISTORY_DAYS, min(DEFAULT_HISTORY_DAYS, recorder_keep_days(hass) or math.inf)),
            CONF_SENSITIVITY: DEFAULT_SENSITIVITY,
            CONF_ENERGY_ANOMALIES: True,
            CONF_ROUTINE_ANOMALIES: True,
        }
    values: dict[str, Any] = {key: _flatten(options, key) for key in ENTITY_LISTS}
    for key in (
        CONF_OUTDOOR_TEMPERATURE,
        CONF_NOTIFY,
        CONF_HISTORY_DAYS,
        CONF_SENSITIVITY,
        CONF_ENERGY_ANOMALIES,
        CONF_EXCLUDE_CALENDAR,
        CONF_ROUTINE_ANOMALIES,
    ):
        if options.get(key) is not None:
            values[key] = options[key]
    return values


def build_schema(hass: HomeAssistant, defaults: Mapping[str, Any]) -> vol.Schema:
    """The one form of the user, options and reconfigure steps."""
    notify_services = sorted(set(hass.services.async_services_for_domain("notify")) - {NOTIFY_ENTITY_ACTION})
    fields: dict[Any, Any] = {}
    for key in ENTITY_LISTS:
        fields[vol.Optional(key, default=list(defaults.get(key, [])))] = SELECTORS[key]
    outdoor = defaults.get(CONF_OUTDOOR_TEMPERATURE)
    fields[vol.Optional(CONF_OUTDOOR_TEMPERATURE, description={"suggested_value": outdoor})] = SELECTORS[
        CONF_OUTDOOR_TEMPERATURE
    ]
    fields[vol.Optional(CONF_NOTIFY, description={"suggested_value": defaults.get(CONF_NOTIFY)})] = SelectSelector(
        SelectSelectorConfig(options=notify_services, custom_value=True, mode=SelectSelectorMode.DROPDOWN)
    )
    fields[vol.Required(CONF_HISTORY_DAYS, default=defaults.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS))] = (
        NumberSelector(
            NumberSelectorConfig(
                min=MIN_HISTORY_DAYS, max=MAX_HISTORY_DAYS, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="d"
            )
        )
    )
    fields[vol.Required(CONF_SENSITIVITY, default=defaults.get(CONF_SENSITIVITY, DEFAULT_SENSITIVITY))] = (
        SelectSelector(SelectSelectorConfig(options=SENSITIVITIES, translation_key=CONF_SENSITIVITY))
    )
    fields[vol.Required(CONF_ENERGY_ANOMALIES, default=defaults.get(CONF_ENERGY_ANOMALIES, True))] = BooleanSelector()
    calendar = defaults.get(CONF_EXCLUDE_CALENDAR)
    fields[vol.Optional(CONF_EXCLUDE_CALENDAR, description={"suggested_value": calendar})] = SELECTORS[
        CONF_EXCLUDE_CALENDAR
    ]
    fields[vol.Required(CONF_ROUTINE_ANOMALIES, default=defaults.get(CONF_ROUTINE_ANOMALIES, True))] = BooleanSelector()
    return vol.Schema(fields)


def _entity_error(hass: HomeAssistant, key: str, entity_id: str) -> str | None:
    """Why an entity cannot serve in list `key`, as a translation key, or None."""
    if entity_id.partition(".")[0] not in ALLOWED_DOMAINS[key]:
        return "wrong_domain"
    state = hass.states.get(entity_id)
    if state is None:
        return None if er.async_get(hass).async_get(entity_id) else "entity_not_found"
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if key == CONF_POWER and unit not in POWER_UNITS:
        return "wrong_unit_power"
    if key == CONF_ENERGY:
        if unit not in ENERGY_UNITS:
            return "wrong_unit_energy"
        if state.attributes.get("state_class") not in (SensorStateClass.TOTAL_INCREASING, SensorStateClass.TOTAL):
            return "energy_not_cumulative"
    if key == CONF_SECURITY_SENSORS and not _is_numeric(state):
        return "not_numeric"
    if key == CONF_DEVICES:
        return _device_error(unit, state.attributes.get("state_class"))
    return None


def _device_error(unit: object, state_class: object) -> str | None:
    """A watched device reports power (W, kW) or cumulative energy (Wh, kWh, total increasing)."""
    if unit in POWER_UNITS:
        return None
    if unit not in ENERGY_UNITS:
        return "wrong_unit_device"
    if state_class != SensorStateClass.TOTAL_INCREASING:
        return "device_energy_not_cumulative"
    return None


def _is_numeric(state: State) -> bool:
    """Whether a sensor reports numbers: a unit, a measurement state class or a number now.

    A sensor that is unavailable or unknown right now gets the benefit of the doubt.
    """
    attributes = state.attributes
    if attributes.get(ATTR_UNIT_OF_MEASUREMENT) or attributes.get("state_class"):
        return True
    if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return True
    try:
        return math.isfinite(float(state.state))
    except ValueError:
        return False


def validate_input(hass: HomeAssistant, user_input: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the form and turn it into entry options (the home spec keys)."""
    errors: dict[str, str] = {}
    lists = {key: list(dict.fromkeys(user_input.get(key) or [])) for key in ENTITY_LISTS}
    if not any(lists[key] for key in LEARNABLE):
        errors["base"] = "no_entities"
    for key, entity_ids in lists.items():
        for entity_id in entity_ids:
            if error := _entity_error(hass, key, entity_id):
                errors[key] = error
                break
    # A device's own meter would count twice in the house total.
    if CONF_DEVICES not in errors and set(lists[CONF_DEVICES]) & set(lists[CONF_POWER] + lists[CONF_ENERGY]):
        errors[CONF_DEVICES] = "device_in_house_total"
    outdoor = user_input.get(CONF_OUTDOOR_TEMPERATURE) or None
    if outdoor and (error := _entity_error(hass, CONF_OUTDOOR_TEMPERATURE, outdoor)):
        errors[CONF_OUTDOOR_TEMPERATURE] = error
    calendar = user_input.get(CONF_EXCLUDE_CALENDAR) or None
    if calendar and (error := _entity_error(hass, CONF_EXCLUDE_CALENDAR, calendar)):
        errors[CONF_EXCLUDE_CALENDAR] = error
    notify = (user_input.get(CONF_NOTIFY) or "").removeprefix("notify.") or None
    if notify == NOTIFY_ENTITY_ACTION:
        errors[CONF_NOTIFY] = "notify_needs_entity"
    elif notify and not hass.services.has_service("notify", notify):
        errors[CONF_NOTIFY] = "notify_not_found"

    areas: dict[str, dict[str, list[str]]] = {}
    unassigned: dict[str, list[str]] = {CONF_OCCUPANCY: [], CONF_ENVIRONMENT: []}
    for key in (CONF_OCCUPANCY, CONF_ENVIRONMENT):
        for entity_id in lists[key]:
            area_id = _entity_area(hass, entity_id)
            if area_id is None:
                unassigned[key].append(entity_id)
            else:
                areas.setdefault(area_id, {CONF_OCCUPANCY: [], CONF_ENVIRONMENT: []})[key].append(entity_id)
    # An environmental sensor is learned against its area's occupancy sensors: alone, never
    # (nor in an area called "Home", whose sensors count for the whole home).
    if not errors.keys() & {CONF_ENVIRONMENT, CONF_OCCUPANCY} and (
        unassigned[CONF_ENVIRONMENT]
        or any(
            area[CONF_ENVIRONMENT] and (area_id == HOME or not area[CONF_OCCUPANCY]) for area_id, area in areas.items()
        )
    ):
        errors[CONF_ENVIRONMENT] = "environment_without_occupancy"
    # A device is watched for being left on: an energy anomaly.
    if lists[CONF_DEVICES] and not user_input.get(CONF_ENERGY_ANOMALIES, True) and CONF_DEVICES not in errors:
        errors[CONF_DEVICES] = "devices_need_energy_anomalies"
    options: dict[str, Any] = {
        CONF_AREAS: areas,
        CONF_OCCUPANCY: unassigned[CONF_OCCUPANCY],
        CONF_ENVIRONMENT: unassigned[CONF_ENVIRONMENT],
        **{key: lists[key] for key in AS_CHOSEN},
        CONF_OUTDOOR_TEMPERATURE: outdoor,
        CONF_NOTIFY: notify,
        CONF_HISTORY_DAYS: int(user_input.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS)),
        CONF_SENSITIVITY: user_input.get(CONF_SENSITIVITY, DEFAULT_SENSITIVITY),
        CONF_ENERGY_ANOMALIES: bool(user_input.get(CONF_ENERGY_ANOMALIES, True)),
        CONF_EXCLUDE_CALENDAR: calendar,
        CONF_ROUTINE_ANOMALIES: bool(user_input.get(CONF_ROUTINE_ANOMALIES, True)),
    }
    return home_area_as_the_home(options), errors


class SmartMLConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up SmartML for the home (one entry per Home Assistant instance)."""

    VERSION = 1
    # 2: an area called "Home" stands for the whole home (its sensors are the home's own).
    MINOR_VERSION = 2

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the entities to learn from."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = validate_input(self.hass, user_input)
            if not errors:
                return self.async_create_entry(title="SmartML", data={}, options=options)
        defaults = user_input if user_input is not None else form_defaults(self.hass, None)
        return self.async_show_form(step_id="user", data_schema=build_schema(self.hass, defaults), errors=errors)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the entities; what was learned for kept entities stays."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = validate_input(self.hass, user_input)
            if not errors:
                return self.async_update_reload_and_abort(entry, options=options)
        defaults = user_input if user_input is not None else form_defaults(self.hass, entry.options)
        return self.async_show_form(step_id="reconfigure", data_schema=build_schema(self.hass, defaults), errors=errors)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: Any) -> SmartMLOptionsFlow:
        """The options flow."""
        return SmartMLOptionsFlow()


class SmartMLOptionsFlow(OptionsFlowWithReload):
    """Change the same choices as the user step, keeping what was learned; saving reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the form."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = validate_input(self.hass, user_input)
            if not errors:
                return self.async_create_entry(data=options)
        defaults = user_input if user_input is not None else form_defaults(self.hass, self.config_entry.options)
        return self.async_show_form(step_id="init", data_schema=build_schema(self.hass, defaults), errors=errors)
