"""The resident's phone: home or away, from the data's Leaving activity."""

from __future__ import annotations

from homeassistant.components.device_tracker import SourceType, TrackerEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DemoHomeEntity
from .home import ENTITIES


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the tracker."""
    async_add_entities(DemoTracker(entry.runtime_data, spec) for spec in ENTITIES if spec.platform == "device_tracker")


class DemoTracker(DemoHomeEntity, TrackerEntity):
    """home / not_home as a zone name."""

    _attr_source_type = SourceType.ROUTER

    @property
    def location_name(self) -> str | None:
        """Home or away (not_home)."""
        return self.value
