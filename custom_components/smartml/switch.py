"""switch.smartml_learning: pause or resume learning from the state bus."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .entity import SmartMLEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the learning switch."""
    async_add_entities([LearningSwitch(entry.runtime_data.coordinator)])


class LearningSwitch(SmartMLEntity, SwitchEntity):
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
        self.coordinator.async_set_learning(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Pause collecting."""
        self.coordinator.async_set_learning(False)
