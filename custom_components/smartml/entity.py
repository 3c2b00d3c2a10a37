"""Base entity shared by all SmartML platforms."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
import time
from typing import Final, TypedDict, cast

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .compat import via_home_device
from .const import DOMAIN
from .coordinator import SmartMLCoordinator
from .engine.constants import HOME
from .engine.results import ClimatePrediction, EnergyForecast, ScopeForecast

# Home Assistant adds one call's entities in a single step of the event loop; a large home
# has well over a hundred SmartML sensors, so they are handed over a few at a time.
ADD_ENTITIES_BATCH = 4


async def async_add_in_batches(
    coordinator: SmartMLCoordinator,
    platform: Platform,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: Sequence[Entity],
) -> None:
    """Add a platform's entities in batches, letting the event loop run between them.

    The entry remembers what each platform offered, none included, to remove the rest.
    """
    coordinator.offered_unique_ids[platform] = {str(entity.unique_id) for entity in entities}
    for start in range(0, len(entities), ADD_ENTITIES_BATCH):
        async_add_entities(entities[start : start + ADD_ENTITIES_BATCH])
        await asyncio.sleep(0)


def scope_object_id(scope: str) -> str:
    """The entity id part of a scope: an area id as is, a climate entity by its object id."""
    return scope.partition(".")[2] or scope


def iso_time(ts: float) -> str:
    """An epoch time as ISO 8601 in UTC, as Home Assistant's forecasts carry times."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def left_on_unique_id(entry_id: str, device: str) -> str:
    """The unique id of a watched device's "left on" sensor."""
    return f"{entry_id}_{device}_left_on"


def timestamp(ts: float | None) -> datetime | None:
    """An epoch time as the datetime a timestamp sensor shows."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def occupancy_forecast(scope: ScopeForecast) -> list[OccupancyHour]:
    """An area's (or the home's) hourly occupancy forecast, as attributes and responses carry it."""
    return [{"datetime": iso_time(ts), "probability": round(p, 4)} for ts, p in scope.forecast]


def energy_forecast(forecast: EnergyForecast) -> list[EnergyHour]:
    """The hourly energy forecast with its P10-P90 band."""
    return [
        {"datetime": iso_time(ts), "p10": p10, "p50": p50, "p90": p90}
        for ts, p10, p50, p90 in zip(forecast.ts, forecast.p10, forecast.p50, forecast.p90, strict=True)
    ]


def setpoint_forecast(zone: ClimatePrediction) -> list[SetpointHour]:
    """A thermostat's hourly setpoint forecast."""
    return [{"datetime": iso_time(ts), "setpoint": setpoint} for ts, setpoint in zone.forecast]


class OccupancyHour(TypedDict):
    """One hour of an occupancy forecast."""

    datetime: str
    probability: float


class EnergyHour(TypedDict):
    """One hour of the energy forecast (kWh)."""

    datetime: str
    p10: float
    p50: float
    p90: float


class SetpointHour(TypedDict):
    """One hour of a setpoint forecast (°C)."""

    datetime: str
    setpoint: float


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
        scope: str = HOME,
        scope_name: str | None = None,
    ) -> None:
        """Entity `key` within `scope` (its device), suggested as `<domain>.<object_id>`."""
        super().__init__(coordinator)
        self.entity_id = f"{self.entity_domain}.{object_id}"
        entry_id = coordinator.config_entry.entry_id
        self._attr_translation_key = key
        if scope == HOME:
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
            device_info = DeviceInfo(
                identifiers={(DOMAIN, f"{entry_id}_{scope}")},
                name=scope_name or scope,
                manufacturer="SmartML",
                model="Thermostat routines" if "." in scope else "Area routines",
                entry_type=DeviceEntryType.SERVICE,
                suggested_area=None if "." in scope else scope_name,
            )
            self._attr_device_info = cast(
                DeviceInfo, {**device_info, **via_home_device(coordinator.home_device_id, entry_id)}
            )

    async def async_added_to_hass(self) -> None:
        """Follow the coordinator, then what the entity itself listens to."""
        await super().async_added_to_hass()
        self._async_added()

    @callback
    def _async_added(self) -> None:
        """Subscribe to what the entity listens to besides the coordinator (none by default).

        Entities subscribe here rather than in their own `async_added_to_hass`, so that the
        one class that has that hook also has `async_entity_id_changed` below.
        """

    @callback
    def async_entity_id_changed(self, old_entity_id: str) -> None:
        """Take a new entity id in place (2026.11 on): nothing subscribed here is keyed on it.

        Releases from 2026.11 rename an entity in place only if the classes that have
        `async_added_to_hass` also have this hook; otherwise they remove it and add it again.
        Releases before never call it.
        """
        inherited = getattr(super(), "async_entity_id_changed", None)
        if inherited is not None:
            inherited(old_entity_id)


class OwnState(SmartMLEntity):
    """An entity whose state is SmartML's own (a switch, the anomalies told), not a prediction.

    It stays available when a prediction refresh fails: learning can still be paused, and an
    alert still shows.
    """

    @property
    def available(self) -> bool:
        """Always: nothing of it comes from the refresh."""
        return True


# Attributes the recorder does not keep, and that do not make a state worth writing.
FORECAST_ATTRIBUTE: Final = "forecast"
# A count that grows with each unknown or unavailable state of any watched entity.
SKIPPED_STATES_ATTRIBUTE: Final = "skipped_states"
UNWRITTEN_CHANGES: Final = frozenset({FORECAST_ATTRIBUTE, SKIPPED_STATES_ATTRIBUTE})
# Forecasts are hourly: a state whose visible part is unchanged is still rewritten this
# often, so that its forecast attribute follows the hours.
REWRITE_SECONDS: Final = 3600.0


class WrittenOnVisibleChange(SmartMLEntity):
    """An entity whose state is written when what a person sees changes, and at least hourly.

    Predictions are refreshed every minute and drift in their last digits; writing each
    would put a row a minute per entity into the recorder for nothing anyone sees.
    """

    _last_visible: object = None
    _last_written: float = -REWRITE_SECONDS

    def _visible(self) -> object:
        """What a person sees: availability, the state, the attributes but the forecast and counts."""
        attributes = self.extra_state_attributes or {}
        return (self.available, self.state, comparable_attributes(attributes))

    @callback
    def _async_added(self) -> None:
        """The state written when the entity is added is the first one seen."""
        super()._async_added()
        self._last_visible, self._last_written = self._visible(), time.time()

    @callback
    def _handle_coordinator_update(self) -> None:
        visible = self._visible()
        now = time.time()
        if visible == self._last_visible and now - self._last_written < REWRITE_SECONDS:
            return
        self._last_visible, self._last_written = visible, now
        super()._handle_coordinator_update()


def comparable_attributes(attributes: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Attributes as compared for a rewrite: all but the forecast and the skipped states' count."""
    return tuple(sorted((key, repr(value)) for key, value in attributes.items() if key not in UNWRITTEN_CHANGES))
