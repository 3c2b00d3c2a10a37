"""switch.smartml_learning: pause or resume learning from the state bus."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .entity import OwnState, async_add_in_batches, scope_object_id

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the learning switch and an auto-apply switch per thermostat."""
    coordinator = entry.runtime_data.coordinator
    entities: list[SwitchEntity] = [LearningSwitch(coordinator)]
    entities.extend(
        AutoApplySwitch(coordinator, climate_id, name) for climate_id, name in coordinator.climate_names.items()
    )
    await async_add_in_batches(coordinator, Platform.SWITCH, async_add_entities, entities)


class LearningSwitch(OwnState, SwitchEntity):
    """On while SmartML collects observations; the choice survives restarts."""

    entity_domain = "switch"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, coordinator: SmartMLCoordinator) -> None:
        """Create the switch."""
        super().__init__(coordinator, "learning", object_id="smartml_learning")

    @property
    def is_on(self) -> bool:
        """Whether learning is on."""
        return self.coordinator.learning

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Resume collecting."""
        await self.coordinator.async_set_learning(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Pause collecting."""
        await self.coordinator.async_set_learning(False)


class AutoApplySwitch(OwnState, SwitchEntity):
    """On while SmartML keeps a thermostat at the predicted setpoint (off by default)."""

    entity_domain = "switch"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, coordinator: SmartMLCoordinator, climate_id: str, zone_name: str) -> None:
        """Create for one thermostat."""
        super().__init__(
            coordinator,
            "auto_apply",
            object_id=f"{scope_object_id(climate_id)}_auto_apply",
            scope=climate_id,
            scope_name=zone_name,
        )
        self._climate_id = climate_id

    @property
    def is_on(self) -> bool:
        """Whether auto-apply is on."""
        return self._climate_id in self.coordinator.setpoints.auto_apply

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Keep the thermostat at the prediction."""
        await self.coordinator.async_set_auto_apply(self._climate_id, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Leave the thermostat alone."""
        await self.coordinator.async_set_auto_apply(self._climate_id, False)
