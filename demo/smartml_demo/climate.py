"""The living room thermostat: the data's room temperature and a presence-driven setpoint."""

from __future__ import annotations

from typing import Any, ClassVar

from homeassistant.components.climate import ClimateEntity, ClimateEntityFeature, HVACAction, HVACMode
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_TEMPERATURE, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DemoHomeEntity
from .home import ENTITIES


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the thermostat."""
    async_add_entities(DemoThermostat(entry.runtime_data, spec) for spec in ENTITIES if spec.platform == "climate")


class DemoThermostat(DemoHomeEntity, ClimateEntity):
    """Follows the data's setpoint until someone sets it by hand (until the next scheduled change)."""

    extra_keys = ("indoor",)
    _attr_hvac_modes: ClassVar[list[HVACMode]] = [HVACMode.HEAT, HVACMode.OFF]
    _attr_supported_features = (
        ClimateEntityFeature.TARGET_TEMPERATURE | ClimateEntityFeature.TURN_ON | ClimateEntityFeature.TURN_OFF
    )
    _attr_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_target_temperature_step = 0.5
    _attr_min_temp = 7
    _attr_max_temp = 30

    @property
    def hvac_mode(self) -> HVACMode:
        """Heat unless turned off by hand."""
        return self.home.hvac_mode

    @property
    def target_temperature(self) -> float | None:
        """The setpoint."""
        return None if self.value is None else float(self.value)

    @property
    def current_temperature(self) -> float | None:
        """The living room temperature of the data."""
        indoor = self.home.values.get("indoor")
        return None if indoor is None else float(indoor)

    @property
    def hvac_action(self) -> HVACAction:
        """Heating while the room is below the setpoint."""
        return self.home.hvac_action()

    async def async_set_temperature(self, **kwargs: Any) -> None:
        """A change by hand, kept until the schedule's next change."""
        if (temperature := kwargs.get(ATTR_TEMPERATURE)) is not None:
            self.home.set_value("setpoint", str(float(temperature)))

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Turn heating on or off."""
        self.home.hvac_mode = hvac_mode
        self.async_write_ha_state()
