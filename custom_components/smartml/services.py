"""Services of SmartML, registered once in async_setup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.helpers.typing import VolDictType
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonValueType
import voluptuous as vol

from .const import (
    ATTR_AREAS,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_END,
    ATTR_ENTITIES,
    ATTR_EVENT_ID,
    ATTR_HOURS,
    ATTR_MANUAL_HOLD_MINUTES,
    ATTR_PATH,
    ATTR_REASON,
    ATTR_START,
    DEFAULT_FORECAST_HOURS,
    DEFAULT_MANUAL_HOLD_MINUTES,
    DOMAIN,
    MAX_EXCLUDED_DAYS,
    MAX_FORECAST_HOURS,
    MAX_MANUAL_HOLD_MINUTES,
    SERVICE_APPLY_SETPOINT,
    SERVICE_EXCLUDE_PERIOD,
    SERVICE_FORGET_DATA,
    SERVICE_GET_FORECAST,
    SERVICE_IMPORT_HISTORY,
    SERVICE_REMOVE_EXCLUDED_PERIOD,
    SERVICE_REPORT_FALSE_ALARM,
    SERVICE_RESET,
    SERVICE_RETRAIN,
)
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .engine.constants import HOME
from .engine.exclusions import ExcludedPeriod
from .engine.results import HomePrediction
from .entity import energy_forecast, occupancy_forecast

ENTRY_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
IMPORT_SCHEMA = ENTRY_SCHEMA.extend({vol.Required(ATTR_PATH): vol.All(cv.string, vol.Length(min=1, max=4096))})
# Types only; ranges and names are checked in the handlers so errors are translated.
FORECAST_SCHEMA = ENTRY_SCHEMA.extend(
    {
        vol.Optional(ATTR_HOURS, default=DEFAULT_FORECAST_HOURS): vol.Coerce(int),
        vol.Optional(ATTR_AREAS): vol.All(cv.ensure_list, [cv.string]),
    }
)
FEEDBACK_SCHEMA = ENTRY_SCHEMA.extend({vol.Optional(ATTR_EVENT_ID): cv.string})
PERIOD_SCHEMA = ENTRY_SCHEMA.extend({vol.Required(ATTR_START): cv.datetime, vol.Required(ATTR_END): cv.datetime})
EXCLUDE_SCHEMA = PERIOD_SCHEMA.extend(
    {
        vol.Optional(ATTR_ENTITIES): cv.entity_ids,
        vol.Optional(ATTR_REASON): vol.All(cv.string, vol.Length(max=200)),
    }
)
FORGET_SCHEMA = PERIOD_SCHEMA.extend({vol.Required(ATTR_ENTITY_ID): cv.entity_id})
APPLY_SETPOINT_SCHEMA: VolDictType = {
    # The selector's own range; a NaN fails it too (a negative or NaN hold would never hold).
    vol.Optional(ATTR_MANUAL_HOLD_MINUTES, default=DEFAULT_MANUAL_HOLD_MINUTES): vol.All(
        vol.Coerce(float), vol.Range(min=0, max=MAX_MANUAL_HOLD_MINUTES)
    )
}


def coordinator_for(hass: HomeAssistant, call: ServiceCall) -> SmartMLCoordinator:
    """The coordinator of the entry a call names (or the only loaded one)."""
    entry_id: str | None = call.data.get(ATTR_CONFIG_ENTRY_ID)
    entries: list[SmartMLConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED and (entry_id is None or entry.entry_id == entry_id)
    ]
    if not entries:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"entry_id": entry_id or "-"},
        )
    return entries[0].runtime_data.coordinator


async def _async_retrain(call: ServiceCall) -> None:
    await coordinator_for(call.hass, call).async_retrain()


async def _async_reset(call: ServiceCall) -> None:
    await coordinator_for(call.hass, call).async_reset()


async def _async_import_history(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    result = await coordinator.async_import_history(call.data[ATTR_PATH])
    return cast(ServiceResponse, result.as_dict())


def _validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders or None
    )


async def _async_get_forecast(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    if not coordinator.has_occupancy and not coordinator.has_energy_forecast:
        raise _validation_error("nothing_to_forecast")
    hours: int = call.data[ATTR_HOURS]
    if not 1 <= hours <= MAX_FORECAST_HOURS:
        raise _validation_error("invalid_hours", hours=str(hours), max=str(MAX_FORECAST_HOURS))
    every = [*coordinator.area_names, HOME] if coordinator.has_occupancy else list(coordinator.area_names)
    areas: list[str] = call.data.get(ATTR_AREAS) or every
    if unknown := [area for area in areas if area not in coordinator.area_names and area != HOME]:
        raise _validation_error("unknown_area", areas=", ".join(unknown), known=", ".join(coordinator.area_names))
    prediction = coordinator.prediction
    if prediction is None or (prediction.occupancy is None and prediction.energy is None):
        raise _validation_error("not_ready", reason=coordinator.data.status_reason if coordinator.data else "")
    return forecast_response(prediction, areas, hours)


async def _async_report_false_alarm(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    anomaly_id: str | None = call.data.get(ATTR_EVENT_ID)
    reported = coordinator.anomalies.async_mark_normal(anomaly_id)
    if reported is None and anomaly_id is None:
        raise _validation_error("no_anomaly")
    if reported is None:
        raise _validation_error("unknown_anomaly", event_id=anomaly_id or "")
    anomaly = reported.anomaly
    return {"event_id": anomaly.id, "type": anomaly.type, "entity_ids": list[JsonValueType](reported.entity_ids)}


def _period(call: ServiceCall, longest_days: int | None = MAX_EXCLUDED_DAYS) -> tuple[float, float]:
    """The call's start and end as epoch seconds (a time without zone is local), checked."""
    start, end = (_epoch(call.data[key]) for key in (ATTR_START, ATTR_END))
    if end <= start:
        raise _validation_error("period_not_ordered", start=_shown(start), end=_shown(end))
    if longest_days is not None and end - start > timedelta(days=longest_days).total_seconds():
        raise _validation_error("period_too_long", max_days=str(longest_days))
    return start, end


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return value.timestamp()


def _shown(ts: float) -> str:
    return dt_util.as_local(dt_util.utc_from_timestamp(ts)).isoformat(timespec="minutes")


def _learned_entities(coordinator: SmartMLCoordinator, entity_ids: list[str]) -> list[str]:
    """The entities, all of which SmartML must learn from."""
    if unknown := [entity_id for entity_id in entity_ids if entity_id not in coordinator.roles]:
        raise _validation_error("entities_not_learned", entities=", ".join(unknown))
    return entity_ids


async def _async_exclude_period(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    start, end = _period(call)
    entities = _learned_entities(coordinator, list(call.data.get(ATTR_ENTITIES) or []))
    period = ExcludedPeriod(start, end, tuple(entities), call.data.get(ATTR_REASON, ""))
    excluded = await coordinator.async_exclude_period(period)
    return {"excluded_periods": excluded}


async def _async_remove_excluded_period(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    start, end = _period(call, longest_days=None)
    removed = await coordinator.async_remove_excluded_periods(start, end)
    if not removed:
        raise _validation_error("no_excluded_period", start=_shown(start), end=_shown(end))
    return {"removed_periods": removed, "excluded_periods": len(coordinator.state.excluded)}


async def _async_forget_data(call: ServiceCall) -> ServiceResponse:
    coordinator = coordinator_for(call.hass, call)
    start, end = _period(call)
    entity_id = _learned_entities(coordinator, [call.data[ATTR_ENTITY_ID]])[0]
    forgotten = await coordinator.async_forget_data(entity_id, start, end)
    if not forgotten:
        raise _validation_error("nothing_to_forget", entity_id=entity_id, start=_shown(start), end=_shown(end))
    return {"forgotten_readings": forgotten}


def forecast_response(prediction: HomePrediction, areas: list[str], hours: int) -> ServiceResponse:
    """The smartml.get_forecast response: hourly occupancy per area (and home), and energy."""
    scopes = {area: prediction.scope(area) for area in areas}
    response: dict[str, JsonValueType] = {
        "occupancy": {
            area: [] if scope is None else cast(list[JsonValueType], occupancy_forecast(scope)[:hours])
            for area, scope in scopes.items()
        }
    }
    if prediction.energy is not None:
        response["energy"] = cast(list[JsonValueType], energy_forecast(prediction.energy.forecast)[:hours])
    return response


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the domain services."""
    hass.services.async_register(DOMAIN, SERVICE_RETRAIN, _async_retrain, schema=ENTRY_SCHEMA)
    # What deletes readings or reads files is for administrators, as the recorder's purge is.
    service.async_register_admin_service(hass, DOMAIN, SERVICE_RESET, _async_reset, schema=ENTRY_SCHEMA)
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_IMPORT_HISTORY,
        _async_import_history,
        schema=IMPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_FORECAST,
        _async_get_forecast,
        schema=FORECAST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXCLUDE_PERIOD,
        _async_exclude_period,
        schema=EXCLUDE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REMOVE_EXCLUDED_PERIOD,
        _async_remove_excluded_period,
        schema=PERIOD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_FORGET_DATA,
        _async_forget_data,
        schema=FORGET_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REPORT_FALSE_ALARM,
        _async_report_false_alarm,
        schema=FEEDBACK_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_APPLY_SETPOINT,
        entity_domain="sensor",
        # Only the predicted setpoints: any other SmartML sensor gets a translated "not supported".
        entity_device_classes=[SensorDeviceClass.TEMPERATURE],
        schema=APPLY_SETPOINT_SCHEMA,
        func="async_apply_setpoint",
    )
