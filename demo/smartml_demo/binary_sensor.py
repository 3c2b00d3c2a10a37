"""Room activity and the front door of the demo home."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DemoHomeEntity
from .home import ENTITIES


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the binary sensors."""
    async_add_entities(
        DemoBinarySensor(entry.runtime_data, spec) for spec in ENTITIES if spec.platform == "binary_sensor"
    )


class DemoBinarySensor(DemoHomeEntity, BinarySensorEntity):
    """On while the room's sensors (or the door) are active in the data."""

    @property
    def device_class(self) -> BinarySensorDeviceClass | None:
        """Motion, occupancy or door."""
        return BinarySensorDeviceClass(self.spec.device_class) if self.spec.device_class else None

    @property
    def is_on(self) -> bool | None:
        """Whether the data has the sensor active now."""
        return None if self.value is None else self.value == "on"
