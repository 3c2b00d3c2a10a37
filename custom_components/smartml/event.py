"""event.smartml_anomaly: one event per anomaly, security or energy, with its explanation."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .anomalies import ReportedAnomaly
from .const import ANOMALY_TYPES
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .entity import OwnState, async_add_in_batches

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add the anomaly event entity."""
    coordinator = entry.runtime_data.coordinator
    await async_add_in_batches(coordinator, Platform.EVENT, async_add_entities, [AnomalyEvent(coordinator)])


class AnomalyEvent(OwnState, EventEntity):
    """Fires once per anomaly or security incident, with the type of the alert that opened it.

    Its attributes carry the explanation and the entities involved when it was told.
    """

    entity_domain = "event"

    def __init__(self, coordinator: SmartMLCoordinator) -> None:
        """Create the event entity."""
        super().__init__(coordinator, "anomaly", object_id="smartml_anomaly")
        self._attr_event_types = list(ANOMALY_TYPES)

    @callback
    def _async_added(self) -> None:
        """Fire on each new anomaly or incident."""
        super()._async_added()
        self.async_on_remove(self.coordinator.anomalies.add_listener(self._async_anomaly, new_only=True))

    @callback
    def _async_anomaly(self, reported: ReportedAnomaly) -> None:
        anomaly = reported.anomaly
        event_type = anomaly.type if anomaly.type in ANOMALY_TYPES else anomaly.kind
        self._trigger_event(
            event_type,
            {
                "id": anomaly.id,
                "kind": anomaly.kind,
                "entity_ids": reported.entity_ids,
                "score": anomaly.score,
                "explanation": reported.explanation,
            },
        )
        self.async_write_ha_state()
