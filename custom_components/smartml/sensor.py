"""Sensors: learning status and the predictions of each model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, Platform, UnitOfEnergy, UnitOfPower, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .climate_control import from_celsius
from .compat import percentage_unit
from .const import (
    STATUS_COLLECTING,
    STATUS_PAUSED,
    STATUS_READY,
    STATUS_TRAINING,
)
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator, SmartMLData
from .engine.constants import HOME
from .engine.results import Band, ClimatePrediction, EnergyOutlook, OccupancyForecast, ScopeForecast
from .entity import (
    FORECAST_ATTRIBUTE,
    SKIPPED_STATES_ATTRIBUTE,
    WrittenOnVisibleChange,
    async_add_in_batches,
    comparable_attributes,
    energy_forecast,
    occupancy_forecast,
    scope_object_id,
    setpoint_forecast,
    timestamp,
)
from .reasons import REASON_ATTRIBUTE, Phrases, async_reason_phrases, forecast_reason

PARALLEL_UPDATES = 0

ATTR_TARGET_SETPOINT = "target_setpoint"
# "%" in the form the running release asks for (an enumerator from 2026.7).
PERCENT = percentage_unit()


def _band(band: Band | None) -> dict[str, object]:
    if band is None:
        return {}
    return {"earliest": timestamp(band.low), "latest": timestamp(band.high), "confidence": round(band.confidence, 2)}


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100.0 * share, 1)


def _environment(area: ScopeForecast) -> dict[str, float]:
    """The chance the area is in use now by its environmental sensors (light, CO2), where it has them.

    To the whole per cent: it is written with the state, so noise below that is not.
    """
    if area.virtual_probability is None:
        return {}
    return {"environment_probability": float(round(100.0 * area.virtual_probability))}


def _status(data: SmartMLData, _scope: str) -> SmartMLData:
    return data


def _scope(data: SmartMLData, scope: str) -> ScopeForecast | None:
    return None if data.prediction is None else data.prediction.scope(scope)


def _home(data: SmartMLData, _scope: str) -> OccupancyForecast | None:
    occupancy = None if data.prediction is None else data.prediction.occupancy
    return None if occupancy is None or occupancy.home is None else occupancy


def _energy(data: SmartMLData, _scope: str) -> EnergyOutlook | None:
    return None if data.prediction is None else data.prediction.energy


def _zone(data: SmartMLData, scope: str) -> ClimatePrediction | None:
    return None if data.prediction is None else data.prediction.climate.get(scope)


def _thermal_zone(data: SmartMLData, scope: str) -> ClimatePrediction | None:
    """The thermostat's prediction once its thermal fit can be trusted (no rates before)."""
    zone = _zone(data, scope)
    return None if zone is None or zone.heating_rate is None else zone


@dataclass(frozen=True, kw_only=True)
class SmartMLSensorDescription[P](SensorEntityDescription):
    """A sensor reading one value (and attributes) from its part of the coordinator's data.

    `object_id` may hold "{scope}" (an area id or climate object id); `part_fn` finds the
    part for a scope, None while its model is not ready.
    """

    object_id: str
    part_fn: Callable[[SmartMLData, str], P | None]
    value_fn: Callable[[P], StateType | datetime]
    attrs_fn: Callable[[P], Mapping[str, object]] | None = None
    # An occupancy outlook whose `reason` attribute says what weighs most in it.
    explained: bool = False


STATUS_SENSORS: tuple[SmartMLSensorDescription[SmartMLData], ...] = (
    SmartMLSensorDescription(
        key="learning_status",
        part_fn=_status,
        object_id="smartml_learning_status",
        device_class=SensorDeviceClass.ENUM,
        options=[STATUS_COLLECTING, STATUS_TRAINING, STATUS_READY, STATUS_PAUSED],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status.status,
        attrs_fn=lambda status: {
            # The observation count and days covered are sensors of their own: as attributes
            # here too, each new observation would write the status again.
            "reason": status.status_reason,
            SKIPPED_STATES_ATTRIBUTE: dict(status.skipped),
            "last_fit_seconds": status.fit_seconds,
            "recovery": None if status.recovery is None else status.recovery.as_dict(),
        },
    ),
    SmartMLSensorDescription(
        key="observations",
        part_fn=_status,
        object_id="smartml_observations",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.observations,
    ),
    SmartMLSensorDescription(
        key="days_covered",
        part_fn=_status,
        object_id="smartml_days_covered",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement="d",
        suggested_display_precision=1,
        value_fn=lambda status: status.days_covered,
    ),
)

AREA_SENSORS: tuple[SmartMLSensorDescription[ScopeForecast], ...] = (
    SmartMLSensorDescription(
        key="occupancy_probability",
        part_fn=_scope,
        object_id="{scope}_occupancy_probability",
        native_unit_of_measurement=PERCENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda area: _percent(area.probability),
        attrs_fn=lambda area: {"forecast": occupancy_forecast(area)} | _environment(area),
        explained=True,
    ),
    SmartMLSensorDescription(
        key="next_occupied",
        part_fn=_scope,
        object_id="{scope}_next_occupied",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda area: timestamp(area.next_occupied),
        # Unknown only when no use is expected in the forecast: these say so.
        attrs_fn=lambda area: {
            "expected_within_forecast": area.next_occupied is not None,
            "chance_within_forecast": round(area.chance_within_forecast, 2),
        },
    ),
    SmartMLSensorDescription(
        key="occupancy_accuracy",
        part_fn=_scope,
        object_id="{scope}_occupancy_accuracy",
        entity_category=EntityCategory.DIAGNOSTIC,
        # One per area, and read when checking the model, not every day.
        entity_registry_enabled_default=False,
        native_unit_of_measurement=PERCENT,
        suggested_display_precision=0,
        value_fn=lambda area: _percent(area.skill),
        attrs_fn=lambda area: {"scored_slots": area.scored_slots},
    ),
)

# The home's occupancy outlook reads like an area's.
HOME_SCOPE_SENSORS: tuple[SmartMLSensorDescription[ScopeForecast], ...] = (
    SmartMLSensorDescription(
        key="home_occupancy_probability",
        part_fn=_scope,
        object_id="home_occupancy_probability",
        native_unit_of_measurement=PERCENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda home: _percent(home.probability),
        attrs_fn=lambda home: {"forecast": occupancy_forecast(home)},
        explained=True,
    ),
)

HOME_SENSORS: tuple[SmartMLSensorDescription[OccupancyForecast], ...] = (
    SmartMLSensorDescription(
        key="expected_arrival",
        part_fn=_home,
        object_id="home_expected_arrival",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda home: None if home.expected_arrival is None else timestamp(home.expected_arrival.ts),
        attrs_fn=lambda home: _band(home.expected_arrival),
    ),
    SmartMLSensorDescription(
        key="expected_departure",
        part_fn=_home,
        object_id="home_expected_departure",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda home: None if home.expected_departure is None else timestamp(home.expected_departure.ts),
        attrs_fn=lambda home: _band(home.expected_departure),
    ),
)

ENERGY_SENSORS: tuple[SmartMLSensorDescription[EnergyOutlook], ...] = (
    SmartMLSensorDescription(
        key="energy_forecast_next_hour",
        part_fn=_energy,
        object_id="energy_forecast_next_hour",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda energy: round(energy.forecast.next_hour, 3),
        attrs_fn=lambda energy: {
            "p10": round(energy.forecast.next_hour_p10, 3),
            "p90": round(energy.forecast.next_hour_p90, 3),
        },
    ),
    SmartMLSensorDescription(
        key="energy_forecast_today",
        part_fn=_energy,
        object_id="energy_forecast_today",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda energy: round(energy.forecast.rest_of_today, 3),
        attrs_fn=lambda energy: {"forecast": energy_forecast(energy.forecast)},
    ),
    SmartMLSensorDescription(
        key="energy_forecast_tomorrow",
        part_fn=_energy,
        object_id="energy_forecast_tomorrow",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda energy: round(energy.forecast.tomorrow, 3),
    ),
    SmartMLSensorDescription(
        key="power_baseline",
        part_fn=_energy,
        object_id="power_baseline",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda energy: round(energy.baseline_w, 1),
    ),
    SmartMLSensorDescription(
        key="standby_power",
        part_fn=_energy,
        object_id="standby_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda energy: round(energy.standby_w, 1),
    ),
    SmartMLSensorDescription(
        key="energy_forecast_accuracy",
        part_fn=_energy,
        object_id="energy_forecast_accuracy",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=PERCENT,
        suggested_display_precision=0,
        value_fn=lambda energy: _percent(energy.skill),
        attrs_fn=lambda energy: {"scored_hours": energy.scored_hours},
    ),
)

# A rate of warming: converted by the size of a degree, not as a temperature is.
RATE_CELSIUS: Final = "°C/h"
RATE_FAHRENHEIT: Final = "°F/h"
FAHRENHEIT_DEGREES_PER_CELSIUS: Final = 9 / 5

CLIMATE_SENSORS: tuple[SmartMLSensorDescription[ClimatePrediction], ...] = (
    SmartMLSensorDescription(
        key="predicted_setpoint",
        part_fn=_zone,
        object_id="{scope}_predicted_setpoint",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda zone: zone.setpoint_now,
        attrs_fn=lambda zone: {"forecast": setpoint_forecast(zone), "mode": zone.mode},
    ),
    SmartMLSensorDescription(
        key="preheat_start",
        part_fn=_zone,
        object_id="{scope}_preheat_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda zone: timestamp(zone.preheat_start),
        attrs_fn=lambda zone: {
            "target_time": timestamp(zone.preheat_target_time),
            ATTR_TARGET_SETPOINT: zone.preheat_target_setpoint,
        },
    ),
    SmartMLSensorDescription(
        key="heating_rate",
        part_fn=_thermal_zone,
        object_id="{scope}_heating_rate",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=RATE_CELSIUS,
        suggested_display_precision=2,
        value_fn=lambda zone: zone.heating_rate,
        attrs_fn=lambda zone: {"time_constant_hours": zone.tau_hours, "confidence": zone.confidence},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors of an entry: status, then one set per area, the home, energy and each thermostat."""
    coordinator = entry.runtime_data.coordinator
    phrases = await async_reason_phrases(hass)
    entities: list[SmartMLSensor[Any]] = [SmartMLSensor(coordinator, d) for d in STATUS_SENSORS]
    for area_id, area_name in coordinator.area_names.items():
        entities.extend(SmartMLSensor(coordinator, d, area_id, area_name, phrases) for d in AREA_SENSORS)
    if coordinator.has_occupancy:
        entities.extend(SmartMLSensor(coordinator, d, phrases=phrases) for d in HOME_SCOPE_SENSORS)
        # Without presence entities a quiet home (asleep) is not an empty one: no arrival to expect.
        if coordinator.has_presence:
            entities.extend(SmartMLSensor(coordinator, d) for d in HOME_SENSORS)
    if coordinator.has_energy_forecast:
        entities.extend(SmartMLSensor(coordinator, d) for d in ENERGY_SENSORS)
    for climate_id, zone_name in coordinator.climate_names.items():
        entities.extend(ClimateSensor(coordinator, d, climate_id, zone_name) for d in CLIMATE_SENSORS)
    await async_add_in_batches(coordinator, Platform.SENSOR, async_add_entities, entities)


class SmartMLSensor[P](WrittenOnVisibleChange, SensorEntity):
    """A sensor described by a SmartMLSensorDescription."""

    entity_domain = "sensor"
    # Hourly forecasts change with every state and would fill the recorder (kilobytes a row,
    # megabytes an area a day); smartml.get_forecast serves them. A reason is words about
    # the moment, of no use in history. The skipped states' count grows with every
    # unavailable reading of any entity: it is written with the rest, never on its own.
    _unrecorded_attributes = frozenset({FORECAST_ATTRIBUTE, REASON_ATTRIBUTE, SKIPPED_STATES_ATTRIBUTE})
    entity_description: SmartMLSensorDescription[P]

    def __init__(
        self,
        coordinator: SmartMLCoordinator,
        description: SmartMLSensorDescription[P],
        scope: str = HOME,
        scope_name: str | None = None,
        phrases: Phrases | None = None,
    ) -> None:
        """Create from its description, for a scope (area id, climate entity id or home).

        phrases: the reason phrases, for a description that is `explained`.
        """
        super().__init__(
            coordinator,
            description.key,
            object_id=description.object_id.format(scope=scope_object_id(scope)),
            scope=scope,
            scope_name=scope_name,
        )
        self.entity_description = description
        self._scope = scope
        self._phrases = phrases

    @property
    def _part(self) -> P | None:
        data = self.coordinator.data
        return None if data is None else self.entity_description.part_fn(data, self._scope)

    @property
    def available(self) -> bool:
        """Unavailable until the model has what it needs (the status sensor says why)."""
        return super().available and self._part is not None

    def _visible(self) -> object:
        """The value as displayed (at its display precision), and the attributes but the forecast."""
        value = self.native_value
        precision = self.entity_description.suggested_display_precision
        if isinstance(value, float) and precision is not None:
            value = round(value, precision)
        attributes = self.extra_state_attributes or {}
        return (self.available, value, comparable_attributes(attributes))

    @property
    def native_value(self) -> StateType | datetime:
        """The described value."""
        part = self._part
        return None if part is None else self.entity_description.value_fn(part)

    @property
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """The described attributes."""
        part = self._part
        if part is None or self.entity_description.attrs_fn is None:
            return None
        attributes = self.entity_description.attrs_fn(part)
        if isinstance(part, ScopeForecast) and self._phrases is not None and self.entity_description.explained:
            attributes = {**attributes, REASON_ATTRIBUTE: forecast_reason(part, self._phrases)}
        return attributes


class ClimateSensor(SmartMLSensor[ClimatePrediction]):
    """A thermostat's prediction; the predicted setpoint can be applied with smartml.apply_setpoint."""

    @property
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """The described attributes, their setpoints in the home's unit as the thermostat shows them.

        Home Assistant converts the state of a temperature sensor, never its attributes.
        """
        attributes = super().extra_state_attributes
        unit = self.hass.config.units.temperature_unit
        if attributes is None or unit == UnitOfTemperature.CELSIUS:
            return attributes

        def shown(celsius: object) -> object:
            if not isinstance(celsius, (int, float)):
                return celsius
            return round(from_celsius(celsius, unit), 1)

        converted = dict(attributes)
        if ATTR_TARGET_SETPOINT in converted:
            converted[ATTR_TARGET_SETPOINT] = shown(converted[ATTR_TARGET_SETPOINT])
        forecast = converted.get(FORECAST_ATTRIBUTE)
        if isinstance(forecast, list):
            converted[FORECAST_ATTRIBUTE] = [{**hour, "setpoint": shown(hour["setpoint"])} for hour in forecast]
        return converted

    @property
    def _fahrenheit_rate(self) -> bool:
        return (
            self.entity_description.native_unit_of_measurement == RATE_CELSIUS
            and self.hass.config.units.temperature_unit == UnitOfTemperature.FAHRENHEIT
        )

    @property
    def native_unit_of_measurement(self) -> str | None:
        """°F/h for the rate of warming in a home that reads °F."""
        return RATE_FAHRENHEIT if self._fahrenheit_rate else super().native_unit_of_measurement

    @property
    def native_value(self) -> StateType | datetime:
        """The described value; a rate of warming in °F/h in a home that reads °F."""
        value = super().native_value
        if self._fahrenheit_rate and isinstance(value, int | float):
            return float(value) * FAHRENHEIT_DEGREES_PER_CELSIUS
        return value

    async def async_apply_setpoint(self, **kwargs: Any) -> None:
        """Set the thermostat to the prediction, within the guard rails."""
        await self.coordinator.setpoints.async_apply(self._scope, self._part, **kwargs)
