"""Binary sensors: predicted occupancy per area and for the home, and active anomalies."""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .anomalies import ReportedAnomaly
from .const import CONF_DEVICES
from .coordinator import SmartMLConfigEntry, SmartMLCoordinator
from .engine.constants import HOME, KIND_ENERGY, KIND_ROUTINE, KIND_SECURITY, TYPE_DEVICE_LEFT_ON
from .engine.results import ScopeForecast
from .entity import (
    FORECAST_ATTRIBUTE,
    SmartMLEntity,
    WrittenOnVisibleChange,
    async_add_in_batches,
    left_on_unique_id,
    scope_object_id,
)
from .home_spec import entity_name
from .reasons import REASON_ATTRIBUTE, Phrases, async_reason_phrases, forecast_reason

PARALLEL_UPDATES = 0
OCCUPIED_THRESHOLD = 0.5


async def async_setup_entry(
    hass: HomeAssistant, entry: SmartMLConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Add occupancy predictions and anomaly sensors."""
    coordinator = entry.runtime_data.coordinator
    phrases = await async_reason_phrases(hass)
    entities: list[BinarySensorEntity] = [
        OccupancyPredictedSensor(coordinator, area_id, area_name, phrases)
        for area_id, area_name in coordinator.area_names.items()
    ]
    if coordinator.has_occupancy:
        entities.append(OccupancyPredictedSensor(coordinator, HOME, None, phrases))
    if coordinator.has_security:
        entities.append(AnomalySensor(coordinator, KIND_SECURITY))
    if coordinator.has_energy_anomalies:
        entities.append(AnomalySensor(coordinator, KIND_ENERGY))
        entities += [
            DeviceLeftOnSensor(coordinator, device, entity_name(hass, device))
            for device in entry.options.get(CONF_DEVICES) or []
        ]
    if coordinator.has_routine_anomalies:
        entities.append(AnomalySensor(coordinator, KIND_ROUTINE))
    await async_add_in_batches(coordinator, Platform.BINARY_SENSOR, async_add_entities, entities)


class OccupancyPredictedSensor(WrittenOnVisibleChange, BinarySensorEntity):
    """On when the area (or home) is predicted occupied in the next slot."""

    entity_domain = "binary_sensor"
    # No occupancy device class: a forecast in the area must not be taken for someone
    # detected there (Home Assistant's area occupancy triggers go by the device class).
    _unrecorded_attributes = frozenset({FORECAST_ATTRIBUTE, REASON_ATTRIBUTE})

    def __init__(self, coordinator: SmartMLCoordinator, scope: str, scope_name: str | None, phrases: Phrases) -> None:
        """Create for an area, or for the home (scope HOME), explained with the reason phrases."""
        key = "home_occupancy_predicted" if scope == HOME else "occupancy_predicted"
        object_id = key if scope == HOME else f"{scope}_{key}"
        super().__init__(coordinator, key, object_id=object_id, scope=scope, scope_name=scope_name)
        self._scope = scope
        self._phrases = phrases

    @property
    def _forecast(self) -> ScopeForecast | None:
        prediction = self.coordinator.prediction
        return None if prediction is None else prediction.scope(self._scope)

    @property
    def available(self) -> bool:
        """Unavailable until the occupancy model is ready."""
        return super().available and self._forecast is not None

    @property
    def is_on(self) -> bool | None:
        """Predicted occupied in the next slot."""
        forecast = self._forecast
        return None if forecast is None else forecast.probability >= OCCUPIED_THRESHOLD

    @property
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """The probability behind the prediction, and why."""
        forecast = self._forecast
        if forecast is None:
            return None
        # To the percent shown: finer digits change every minute and nobody sees them.
        return {
            "probability": round(forecast.probability, 2),
            REASON_ATTRIBUTE: forecast_reason(forecast, self._phrases),
        }


class _FollowsAnomalies(SmartMLEntity, BinarySensorEntity):
    """A binary sensor written as soon as an anomaly it shows is reported or marked normal."""

    entity_domain = "binary_sensor"

    @callback
    def _async_added(self) -> None:
        super()._async_added()
        self.async_on_remove(self.coordinator.anomalies.add_listener(self._async_anomaly))

    @callback
    def _async_anomaly(self, reported: ReportedAnomaly) -> None:
        if self._shows(reported):
            self.async_write_ha_state()

    def _shows(self, reported: ReportedAnomaly) -> bool:
        """Whether this sensor shows the anomaly."""
        raise NotImplementedError


class AnomalySensor(_FollowsAnomalies):
    """On while a security incident (or an energy anomaly) is active, with its explanation.

    A security incident is one episode: on from its first alert until it has been quiet for
    the incident window, however many alerts it gathers.
    """

    def __init__(self, coordinator: SmartMLCoordinator, kind: str) -> None:
        """Create for one kind of anomaly."""
        super().__init__(coordinator, f"{kind}_anomaly", object_id=f"{kind}_anomaly")
        self._kind = kind
        self._attr_device_class = (
            BinarySensorDeviceClass.SAFETY if kind == KIND_SECURITY else BinarySensorDeviceClass.PROBLEM
        )

    def _shows(self, reported: ReportedAnomaly) -> bool:
        return reported.anomaly.kind == self._kind

    @property
    def available(self) -> bool:
        """Security alerts come with each event: their sensor works when a prediction refresh fails.

        Energy and missing-routine alerts are found by the refresh itself: while it fails,
        nothing is watched, and the sensor says so.
        """
        return self._kind == KIND_SECURITY or super().available

    @property
    def is_on(self) -> bool:
        """Whether an anomaly of this kind is active."""
        return bool(self.coordinator.anomalies.active(self._kind))

    @property
    def extra_state_attributes(self) -> Mapping[str, object]:
        """The latest active anomaly, explained."""
        active = self.coordinator.anomalies.active(self._kind)
        if not active:
            return {}
        latest = active[-1]
        return {
            "anomaly_id": latest.anomaly.id,
            "anomaly_type": latest.anomaly.type,
            "score": latest.anomaly.score,
            "entities": latest.entity_ids,
            "alerts": len(latest.parts),
            "explanation": latest.explanation,
            "active_count": len(active),
        }


class DeviceLeftOnSensor(_FollowsAnomalies):
    """On while a watched device runs far longer than it ever has at that time of day."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(self, coordinator: SmartMLCoordinator, device: str, device_name: str) -> None:
        """Create for one watched device (a power or energy sensor)."""
        super().__init__(coordinator, "device_left_on", object_id=f"{scope_object_id(device)}_left_on")
        self._attr_unique_id = left_on_unique_id(coordinator.config_entry.entry_id, device)
        self._attr_translation_placeholders = {"device": device_name}
        self._device = device

    def _shows(self, reported: ReportedAnomaly) -> bool:
        return self._device in reported.anomaly.entity_ids

    def _latest(self) -> ReportedAnomaly | None:
        """The newest left-on alert of this device that was told."""
        for reported in reversed(self.coordinator.anomalies.recent):
            if reported.anomaly.type == TYPE_DEVICE_LEFT_ON and self._device in reported.anomaly.entity_ids:
                return reported
        return None

    @property
    def is_on(self) -> bool:
        """On while the device runs past its limit, unless its alert was marked normal."""
        prediction = self.coordinator.prediction
        running = prediction is not None and self._device in prediction.left_on
        latest = self._latest()
        return running and latest is not None and not latest.dismissed

    @property
    def extra_state_attributes(self) -> Mapping[str, object]:
        """Why, in words."""
        latest = self._latest()
        if not self.is_on or latest is None:
            return {}
        return {"anomaly_id": latest.anomaly.id, "explanation": latest.explanation}
