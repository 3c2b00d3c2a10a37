"""Plays the demo data: the history into the recorder once, then the next days live.

The first time the demo starts, the days before now are written as state changes with
their own timestamps (the recorder stores them like any other state), so SmartML finds
real history when it is set up. From then on a one-second tick applies the data's changes
as their time comes; SMARTML_DEMO_SPEED=60 plays an hour a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.climate import HVACAction, HVACMode
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import SIGNAL_UPDATE
from .home import ENTITIES, HISTORY_DAYS, PERSON, Calendar, Timeline

_LOGGER = logging.getLogger(__name__)
TICK = timedelta(seconds=1)
HYSTERESIS = 0.3


class DemoHome:
    """Current values of the demo's data keys and the clock that advances them."""

    def __init__(self, hass: HomeAssistant, timeline: Timeline, calendar: Calendar, speed: float) -> None:
        self.hass = hass
        self.timeline = timeline
        self.calendar = calendar
        self.speed = max(speed, 0.01)
        self.hvac_mode = HVACMode.HEAT
        self._started = dt_util.utcnow()
        self._position = self._started
        cycle, offset = calendar.to_position(self._started)
        self.values: dict[str, str] = timeline.state_at(offset, cycle)
        by_key: dict[str, list[str]] = {}
        for spec in ENTITIES:
            by_key.setdefault(spec.key, []).append(spec.entity_id)
        by_key.setdefault("resident", []).append(PERSON)
        by_key.setdefault("indoor", []).extend(by_key["setpoint"])
        self._entities_by_key = by_key

    def data_time(self, now: datetime) -> datetime:
        """Where the data's clock is at a real time (ahead of it when sped up)."""
        return self._started + (now - self._started) * self.speed

    def hvac_action(self, values: dict[str, str] | None = None) -> HVACAction:
        """Heating while the room is below the setpoint."""
        values = values if values is not None else self.values
        if self.hvac_mode == HVACMode.OFF:
            return HVACAction.OFF
        try:
            below = float(values["indoor"]) < float(values["setpoint"]) - HYSTERESIS
        except (KeyError, ValueError):
            return HVACAction.IDLE
        return HVACAction.HEATING if below else HVACAction.IDLE

    @callback
    def set_value(self, key: str, value: str) -> None:
        """Change one key now (a change by hand)."""
        self.values[key] = value
        async_dispatcher_send(self.hass, SIGNAL_UPDATE, frozenset({key}))

    @callback
    def async_start(self) -> Callable[[], None]:
        """Start the live tick; returns its cancel function."""
        return async_track_time_interval(self.hass, self._tick, TICK, name="smartml_demo feeder")

    @callback
    def _tick(self, now: datetime) -> None:
        position = self.data_time(now)
        changed: set[str] = set()
        for _, key, value in self.calendar.changes(self.timeline, self._position, position):
            if self.values.get(key) != value:
                self.values[key] = value
                changed.add(key)
        self._position = position
        if changed:
            async_dispatcher_send(self.hass, SIGNAL_UPDATE, frozenset(changed))

    @callback
    def async_write_history(self, now: datetime) -> int:
        """Write the days before now as past state changes; returns how many."""
        start = dt_util.start_of_local_day(now - timedelta(days=HISTORY_DAYS))
        cycle, offset = self.calendar.to_position(start)
        values = self.timeline.state_at(offset, cycle)
        written = self.async_write_values(start, values, list(values), first=True)
        for moment, key, value in self.calendar.changes(self.timeline, start, now):
            if values.get(key) == value and key != "indoor":
                continue
            values[key] = value
            written += self.async_write_values(moment, values, [key])
        _LOGGER.info("Wrote %s state changes of the demo home's history since %s", written, start)
        return written

    @callback
    def async_write_values(
        self, moment: datetime, values: Mapping[str, str], keys: Iterable[str], *, first: bool = False
    ) -> int:
        """Set the entities of `keys` to what `values` holds, as of `moment`; returns how many states.

        first: the state may equal the live one and must still become a row.
        """
        written = 0
        for key in keys:
            for entity_id in self._entities_by_key.get(key, []):
                if (current := self.hass.states.get(entity_id)) is None:
                    continue
                attrs: dict[str, Any] = dict(current.attributes)
                state = values[key]
                if entity_id.startswith("binary_sensor."):
                    state = "on" if state == "on" else "off"
                elif entity_id.startswith("climate."):
                    attrs |= {
                        "temperature": float(values["setpoint"]),
                        "current_temperature": float(values["indoor"]),
                        "hvac_action": self.hvac_action(dict(values)),
                    }
                    state = HVACMode.HEAT
                self.hass.states.async_set(entity_id, state, attrs, force_update=first, timestamp=moment.timestamp())
                written += 1
        return written
