"""The house's power and energy meters and the outdoor temperature."""

from __future__ import annotations

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfEnergy, UnitOfPower, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DemoHomeEntity
from .home import ENTITIES

UNITS = {"power": UnitOfPower.WATT, "energy": UnitOfEnergy.KILO_WATT_HOUR, "outdoor": UnitOfTemperature.CELSIUS}


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the sensors."""
    async_add_entities(DemoSensor(entry.runtime_data, spec) for spec in ENTITIES if spec.platform == "sensor")


class DemoSensor(DemoHomeEntity, SensorEntity):
    """A numeric reading of the data."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self._attr_device_class = SensorDeviceClass(self.spec.device_class)
        self._attr_native_unit_of_measurement = UNITS[self.spec.key]
        self._attr_state_class = (
            SensorStateClass.TOTAL_INCREASING if self.spec.key == "energy" else SensorStateClass.MEASUREMENT
        )

    @property
    def native_value(self) -> float | None:
        """The current reading."""
        return None if self.value is None else float(self.value)
