"""An entry's home spec, its entities' friendly names, and renames within its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import CONF_AREAS, CONF_OCCUPANCY, CONF_SECURITY
from .engine.observations import SPEC_DEVICE_CLASSES


def build_spec(hass: HomeAssistant, options: Mapping[str, Any]) -> dict[str, object]:
    """The home spec (DESIGN.md) of an entry: its options and the home's time zone.

    With the device class of each security entity: a motion sensor there is no door.
    """
    kinds = {e: kind for e in options.get(CONF_SECURITY) or [] if (kind := device_class(hass, e))}
    return {**options, "timezone": hass.config.time_zone, SPEC_DEVICE_CLASSES: kinds}


def device_class(hass: HomeAssistant, entity_id: str) -> str | None:
    """An entity's device class: the registry's, else its state's.

    The registry knows it before the entity's own integration has started.
    """
    entry = er.async_get(hass).async_get(entity_id)
    if entry is not None and (registered := entry.device_class or entry.original_device_class):
        return str(registered)
    state = hass.states.get(entity_id)
    kind = state.attributes.get(ATTR_DEVICE_CLASS) if state is not None else None
    return str(kind) if kind else None


def occupancy_areas(options: Mapping[str, Any]) -> list[str]:
    """The areas with an occupancy sensor, the only ones with entities.

    Environmental sensors are learned against the area's occupancy sensors: alone, they
    have nothing to learn from.
    """
    return [area for area, sensors in (options.get(CONF_AREAS) or {}).items() if (sensors or {}).get(CONF_OCCUPANCY)]


def entity_name(hass: HomeAssistant, entity_id: str) -> str:
    """A friendly name, also before the entity has a state (SmartML may start first).

    Without a state, as Home Assistant will name it: the name given to it, else its device's
    name before its own ("Washer Power", not "Power").
    """
    if state := hass.states.get(entity_id):
        return state.name
    if entry := er.async_get(hass).async_get(entity_id):
        if entry.name:
            return entry.name
        device = dr.async_get(hass).async_get(entry.device_id) if entry.device_id else None
        device_name = (device.name_by_user or device.name) if device is not None else None
        if entry.has_entity_name and device_name:
            return f"{device_name} {entry.original_name}" if entry.original_name else device_name
        if entry.original_name:
            return entry.original_name
    return entity_id.partition(".")[2].replace("_", " ").capitalize()


def renamed(value: Any, old: str, new: str) -> Any:
    """JSON-like data with one entity id replaced, in values and in mapping keys.

    Also in the alerts' keys of a watched device, "<anomaly type>:<entity id>" (entity ids
    hold no colon, so nothing else ends in ":" and one).
    """
    if isinstance(value, str):
        if value == old:
            return new
        head, colon, tail = value.rpartition(":")
        return f"{head}{colon}{new}" if colon and tail == old else value
    if isinstance(value, list | tuple):
        return [renamed(item, old, new) for item in value]
    if isinstance(value, Mapping):
        return {renamed(key, old, new): renamed(item, old, new) for key, item in value.items()}
    return value


def rename_in_options(options: Mapping[str, Any], old: str, new: str) -> dict[str, object]:
    """Entry options with one entity id replaced everywhere it is listed."""
    return {key: renamed(value, old, new) for key, value in options.items()}


def presence_now(hass: HomeAssistant, spec: Mapping[str, Any]) -> bool | None:
    """Anyone home by the spec's presence entities; None when none of them knows."""
    states = [state.state for entity_id in spec.get("presence") or [] if (state := hass.states.get(entity_id))]
    known = [state for state in states if state not in ("unknown", "unavailable")]
    return any(state == "home" for state in known) if known else None
