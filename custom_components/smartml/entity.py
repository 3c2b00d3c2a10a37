"""Base entity shared by all SmartML platforms."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SmartMLCoordinator


class SmartMLEntity(CoordinatorEntity[SmartMLCoordinator]):
    """An entity of a SmartML entry: translated name, stable unique id, one device per scope.

    `scope` groups entities on devices: "home" for the whole home, an area id for an
    area's predictions, an entity id for a climate zone.
    """

    _attr_has_entity_name = True
    # The platform's domain, for the entity ids that DESIGN.md promises (e.g. switch.smartml_learning).
    entity_domain: str

    def __init__(
        self,
        coordinator: SmartMLCoordinator,
        key: str,
        *,
        object_id: str,
        scope: str = "home",
        scope_name: str | None = None,
    ) -> None:
        """Entity `key` within `scope` (its device), suggested as `<domain>.<object_id>`."""
        super().__init__(coordinator)
        self.entity_id = f"{self.entity_domain}.{object_id}"
        entry_id = coordinator.config_entry.entry_id
        self._attr_translation_key = key
        self._attr_unique_id = f"{entry_id}_{key}" if scope == "home" else f"{entry_id}_{scope}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id if scope == "home" else f"{entry_id}_{scope}")},
            name=scope_name or coordinator.config_entry.title,
            manufacturer="SmartML",
            model="Home routines" if scope == "home" else "Area routines",
            entry_type=DeviceEntryType.SERVICE,
        )
