"""Sensors: learning status and the predictions of each model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .const import STATUS_COLLECTING, STATUS_PAUSED, STATUS_READY, STATUS_TRAINING
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator, SmartMLData
from .entity import SmartMLEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SmartMLSensorDescription(SensorEntityDescription):
    """A sensor reading one value (and attributes) from the coordinator's data."""

    object_id: str
    value_fn: Callable[[SmartMLData], StateType]
    attrs_fn: Callable[[SmartMLData], Mapping[str, Any]] | None = None


STATUS_SENSORS: tuple[SmartMLSensorDescription, ...] = (
    SmartMLSensorDescription(
        key="learning_status",
        object_id="smartml_learning_status",
        device_class=SensorDeviceClass.ENUM,
        options=[STATUS_COLLECTING, STATUS_TRAINING, STATUS_READY, STATUS_PAUSED],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.status,
        attrs_fn=lambda data: {
            "reason": data.status_reason,
            "observations": data.observations,
            "days_covered": data.days_covered,
            "skipped_states": data.skipped,
            "last_fit_seconds": data.fit_seconds,
        },
    ),
    SmartMLSensorDescription(
        key="observations",
        object_id="smartml_observations",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.observations,
    ),
    SmartMLSensorDescription(
        key="days_covered",
        object_id="smartml_days_covered",
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement="d",
        suggested_display_precision=1,
        value_fn=lambda data: data.days_covered,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors of an entry."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(SmartMLSensor(coordinator, description) for description in STATUS_SENSORS)


class SmartMLSensor(SmartMLEntity, SensorEntity):
    """A sensor described by a SmartMLSensorDescription."""

    entity_domain = "sensor"
    entity_description: SmartMLSensorDescription

    def __init__(self, coordinator: SmartMLCoordinator, description: SmartMLSensorDescription) -> None:
        """Create from its description."""
        super().__init__(coordinator, description.key, object_id=description.object_id)
        self.entity_description = description

    @property
    def native_value(self) -> StateType:
        """The described value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The described attributes."""
        if self.entity_description.attrs_fn is None:
            return None
        return self.entity_description.attrs_fn(self.coordinator.data)
