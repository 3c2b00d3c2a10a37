"""Sensors: learning status and the predictions of each model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import (
    SECTION_CLIMATE,
    SECTION_ENERGY,
    SECTION_HOME,
    SECTION_OCCUPANCY,
    SECTION_STATUS,
    STATUS_COLLECTING,
    STATUS_PAUSED,
    STATUS_READY,
    STATUS_TRAINING,
)
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .entity import SmartMLEntity, async_add_in_batches, scope_object_id, scoped_prediction

PARALLEL_UPDATES = 0

ATTR_TARGET_SETPOINT = "target_setpoint"


def _timestamp(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _band(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if not value:
        return {}
    return {
        "earliest": _timestamp(value.get("low")),
        "latest": _timestamp(value.get("high")),
        "confidence": value.get("confidence"),
    }


@dataclass(frozen=True, kw_only=True)
class SmartMLSensorDescription(SensorEntityDescription):
    """A sensor reading one value (and attributes) from a section of the predictions.

    `object_id` may hold "{scope}" (an area id or climate object id).
    """

    section: str
    object_id: str
    value_fn: Callable[[Mapping[str, Any]], StateType | datetime]
    attrs_fn: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


STATUS_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="learning_status",
        section=SECTION_STATUS,
        object_id="smartml_learning_status",
        device_class=SensorDeviceClass.ENUM,
        options=[STATUS_COLLECTING, STATUS_TRAINING, STATUS_READY, STATUS_PAUSED],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda status: status["status"],
        attrs_fn=lambda status: {
            "reason": status["status_reason"],
            "observations": status["observations"],
            "days_covered": status["days_covered"],
            "skipped_states": status["skipped"],
            "last_fit_seconds": status["fit_seconds"],
        },
    ),
    SmartMLSensorDescription(
        key="observations",
        section=SECTION_STATUS,
        object_id="smartml_observations",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status["observations"],
    ),
    SmartMLSensorDescription(
        key="days_covered",
        section=SECTION_STATUS,
        object_id="smartml_days_covered",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement="d",
        suggested_display_precision=1,
        value_fn=lambda status: status["days_covered"],
    ),
)

AREA_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="occupancy_probability",
        section=SECTION_OCCUPANCY,
        object_id="{scope}_occupancy_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda area: round(100.0 * area["probability"], 1),
        attrs_fn=lambda area: {"forecast": area.get("forecast", [])},
    ),
    SmartMLSensorDescription(
        key="next_occupied",
        section=SECTION_OCCUPANCY,
        object_id="{scope}_next_occupied",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda area: _timestamp(area.get("next_occupied")),
    ),
    SmartMLSensorDescription(
        key="occupancy_accuracy",
        section=SECTION_OCCUPANCY,
        object_id="{scope}_occupancy_accuracy",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda area: None if area.get("skill") is None else round(100.0 * area["skill"], 1),
        attrs_fn=lambda area: {"scored_slots": area.get("scored_slots", 0)},
    ),
)

HOME_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="home_occupancy_probability",
        section=SECTION_HOME,
        object_id="home_occupancy_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda home: round(100.0 * home["probability"], 1),
        attrs_fn=lambda home: {"forecast": home.get("forecast", [])},
    ),
    SmartMLSensorDescription(
        key="expected_arrival",
        section=SECTION_HOME,
        object_id="home_expected_arrival",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda home: _timestamp((home.get("expected_arrival") or {}).get("ts")),
        attrs_fn=lambda home: _band(home.get("expected_arrival")),
    ),
    SmartMLSensorDescription(
        key="expected_departure",
        section=SECTION_HOME,
        object_id="home_expected_departure",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda home: _timestamp((home.get("expected_departure") or {}).get("ts")),
        attrs_fn=lambda home: _band(home.get("expected_departure")),
    ),
)

ENERGY_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="energy_forecast_next_hour",
        section=SECTION_ENERGY,
        object_id="energy_forecast_next_hour",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda energy: energy["next_hour"],
        attrs_fn=lambda energy: {"p10": energy.get("next_hour_p10"), "p90": energy.get("next_hour_p90")},
    ),
    SmartMLSensorDescription(
        key="energy_forecast_today",
        section=SECTION_ENERGY,
        object_id="energy_forecast_today",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda energy: energy["today"],
        attrs_fn=lambda energy: {"forecast": energy.get("forecast", [])},
    ),
    SmartMLSensorDescription(
        key="energy_forecast_tomorrow",
        section=SECTION_ENERGY,
        object_id="energy_forecast_tomorrow",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda energy: energy["tomorrow"],
    ),
    SmartMLSensorDescription(
        key="power_baseline",
        section=SECTION_ENERGY,
        object_id="power_baseline",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda energy: energy["baseline_w"],
    ),
    SmartMLSensorDescription(
        key="standby_power",
        section=SECTION_ENERGY,
        object_id="standby_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda energy: energy["standby_w"],
    ),
    SmartMLSensorDescription(
        key="energy_forecast_accuracy",
        section=SECTION_ENERGY,
        object_id="energy_forecast_accuracy",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda energy: None if energy.get("skill") is None else round(100.0 * energy["skill"], 1),
        attrs_fn=lambda energy: {"scored_hours": energy.get("scored_hours", 0)},
    ),
)

CLIMATE_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="predicted_setpoint",
        section=SECTION_CLIMATE,
        object_id="{scope}_predicted_setpoint",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda zone: zone["setpoint"],
        attrs_fn=lambda zone: {"forecast": zone.get("forecast", []), "mode": zone.get("mode")},
    ),
    SmartMLSensorDescription(
        key="preheat_start",
        section=SECTION_CLIMATE,
        object_id="{scope}_preheat_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda zone: _timestamp(zone.get("preheat_start")),
        attrs_fn=lambda zone: {
            "target_time": _timestamp(zone.get("preheat_target_time")),
            ATTR_TARGET_SETPOINT: zone.get("preheat_target_setpoint"),
        },
    ),
    SmartMLSensorDescription(
        key="heating_rate",
        section=SECTION_CLIMATE,
        object_id="{scope}_heating_rate",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement="°C/h",
        suggested_display_precision=2,
        value_fn=lambda zone: zone.get("heating_rate"),
        attrs_fn=lambda zone: {"time_constant_hours": zone.get("tau_hours"), "confidence": zone.get("confidence")},
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors of an entry: status, then one set per area, the home, energy and each thermostat."""
    coordinator = entry.runtime_data.coordinator
    entities: list[SmartMLSensor] = [SmartMLSensor(coordinator, d) for d in STATUS_SENSORS]
    for area_id, area_name in coordinator.area_names.items():
        entities.extend(SmartMLSensor(coordinator, d, area_id, area_name) for d in AREA_SENSORS)
    if coordinator.has_occupancy:
        entities.extend(SmartMLSensor(coordinator, d) for d in HOME_SENSORS)
    if coordinator.has_energy:
        entities.extend(SmartMLSensor(coordinator, d) for d in ENERGY_SENSORS)
    for climate_id, zone_name in coordinator.climate_names.items():
        entities.extend(ClimateSensor(coordinator, d, climate_id, zone_name) for d in CLIMATE_SENSORS)
    await async_add_in_batches(async_add_entities, entities)


class SmartMLSensor(SmartMLEntity, SensorEntity):
    """A sensor described by a SmartMLSensorDescription."""

    entity_domain = "sensor"
    entity_description: SmartMLSensorDescription

    def __init__(
        self,
        coordinator: SmartMLCoordinator,
        description: SmartMLSensorDescription,
        scope: str = "home",
        scope_name: str | None = None,
    ) -> None:
        """Create from its description, for a scope (area id, climate entity id or home)."""
        super().__init__(
            coordinator,
            description.key,
            object_id=description.object_id.format(scope=scope_object_id(scope)),
            scope=scope,
            scope_name=scope_name,
        )
        self.entity_description = description
        self._scope = scope

    @property
    def _prediction(self) -> Mapping[str, Any] | None:
        return scoped_prediction(self.coordinator, self.entity_description.section, self._scope)

    @property
    def available(self) -> bool:
        """Unavailable until the model has what it needs (the status sensor says why)."""
        return super().available and self._prediction is not None

    @property
    def native_value(self) -> StateType | datetime:
        """The described value."""
        prediction = self._prediction
        return None if prediction is None else self.entity_description.value_fn(prediction)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The described attributes."""
        prediction = self._prediction
        if prediction is None or self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(prediction)


class ClimateSensor(SmartMLSensor):
    """A thermostat's prediction; the predicted setpoint can be applied with smartml.apply_setpoint."""

    async def async_apply_setpoint(self, **kwargs: Any) -> None:
        """Set the thermostat to the prediction, within the guard rails."""
        await self.coordinator.async_apply_setpoint(self._scope, **kwargs)
