"""Base entity shared by all SmartML platforms."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, SECTION_CLIMATE, SECTION_ENERGY, SECTION_HOME, SECTION_OCCUPANCY, SECTION_STATUS
from .coordinator import SmartMLCoordinator

HOME_SCOPE = "home"
# Home Assistant adds one call's entities in a single step of the event loop; a large home
# has well over a hundred SmartML sensors, so they are handed over a few at a time.
ADD_ENTITIES_BATCH = 4


async def async_add_in_batches(async_add_entities: AddConfigEntryEntitiesCallback, entities: Sequence[Entity]) -> None:
    """Add entities in batches, letting the event loop run between them."""
    for start in range(0, len(entities), ADD_ENTITIES_BATCH):
        async_add_entities(entities[start : start + ADD_ENTITIES_BATCH])
        await asyncio.sleep(0)


def scope_object_id(scope: str) -> str:
    """The entity id part of a scope: an area id as is, a climate entity by its object id."""
    return scope.partition(".")[2] or scope


def scoped_prediction(coordinator: SmartMLCoordinator, section: str, scope: str) -> Mapping[str, Any] | None:
    """The part of the coordinator's data an entity shows, or None when there is none yet."""
    data = coordinator.data
    if section == SECTION_STATUS:
        return {
            "status": data.status,
            "status_reason": data.status_reason,
            "observations": data.observations,
            "days_covered": data.days_covered,
            "skipped": data.skipped,
            "fit_seconds": data.fit_seconds,
        }
    predictions = data.predictions
    if section == SECTION_OCCUPANCY:
        result = predictions.get(SECTION_OCCUPANCY, {}).get("areas", {}).get(scope)
    elif section == SECTION_HOME:
        result = predictions.get(SECTION_OCCUPANCY, {}).get(SECTION_HOME)
    elif section == SECTION_CLIMATE:
        result = predictions.get(SECTION_CLIMATE, {}).get(scope)
    elif section == SECTION_ENERGY:
        result = predictions.get(SECTION_ENERGY)
    else:
        result = None
    return result if isinstance(result, Mapping) else None


class SmartMLEntity(CoordinatorEntity[SmartMLCoordinator]):
    """An entity of a SmartML entry: translated name, stable unique id, one device per scope.

    `scope` groups entities on devices: "home" for the whole home, an area id for an
    area's predictions, a climate entity id for a thermostat's.
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
        scope: str = HOME_SCOPE,
        scope_name: str | None = None,
    ) -> None:
        """Entity `key` within `scope` (its device), suggested as `<domain>.<object_id>`."""
        super().__init__(coordinator)
        self.entity_id = f"{self.entity_domain}.{object_id}"
        entry_id = coordinator.config_entry.entry_id
        self._attr_translation_key = key
        if scope == HOME_SCOPE:
            self._attr_unique_id = f"{entry_id}_{key}"
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, entry_id)},
                name=coordinator.config_entry.title,
                manufacturer="SmartML",
                model="Home routines",
                entry_type=DeviceEntryType.SERVICE,
            )
        else:
            self._attr_unique_id = f"{entry_id}_{scope}_{key}"
            self._attr_device_info = DeviceInfo(
                identifiers={(DOMAIN, f"{entry_id}_{scope}")},
                name=scope_name or scope,
                manufacturer="SmartML",
                model="Thermostat routines" if "." in scope else "Area routines",
                entry_type=DeviceEntryType.SERVICE,
                suggested_area=None if "." in scope else scope_name,
                via_device=(DOMAIN, entry_id),
            )
