"""Collector: the state bus subscription that turns state changes into observations."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from .engine.observations import ObservationStore, state_unit

type ObservationListener = Callable[[str, str, float], None]


class Collector:
    """Appends each state change of the chosen entities to the observation store.

    The callback runs in the event loop for every state change of every chosen entity,
    so it does O(1) work and never raises: odd states are counted by the store.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        observations: ObservationStore,
        roles: Mapping[str, str],
        on_change: Callable[[], None],
    ) -> None:
        """Collect for the entities of roles; on_change is called after each stored observation."""
        self.hass = hass
        self.observations = observations
        self.roles = dict(roles)
        self.enabled = True
        self.events_seen = 0
        self._on_change = on_change
        self._listeners: list[ObservationListener] = []
        self._unsub: Callable[[], None] | None = None

    def add_listener(self, listener: ObservationListener) -> Callable[[], None]:
        """Call listener(entity_id, role, ts) after an observation was stored."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Record the current states, subscribe to changes; returns the unsubscribe function."""
        if self.enabled:
            self.async_record_current()
        self._unsub = async_track_state_change_event(self.hass, list(self.roles), self._async_state_changed)
        return self.async_stop

    @callback
    def async_record_current(self, since: float | None = None) -> None:
        """Record each current state not recorded yet, from when it changed.

        since: learning resumes now; a state that changed while it was paused is recorded
        from now, not from within the pause.
        """
        for entity_id, role in self.roles.items():
            state = self.hass.states.get(entity_id)
            if state is None:
                continue
            last = self.observations.last_time(entity_id)
            if last is None or state.last_updated_timestamp > last:
                ts = state.last_updated_timestamp if since is None else max(since, state.last_updated_timestamp)
                self.observations.add_state(entity_id, role, state.state, ts, state.attributes, self._unit(role))

    @callback
    def async_stop(self) -> None:
        """Unsubscribe."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None

    def _unit(self, role: str) -> str | None:
        """The unit of a role's states where they carry none (read each time: the home's may change)."""
        return state_unit(role, self.hass.config.units.temperature_unit)

    @callback
    def _async_state_changed(self, event: Event[EventStateChangedData]) -> None:
        self.events_seen += 1
        if not self.enabled:
            return
        new_state = event.data["new_state"]
        if new_state is None:  # entity removed
            return
        entity_id = event.data["entity_id"]
        role = self.roles.get(entity_id)
        if role is None:  # an entity this entry does not learn from
            return
        ts = new_state.last_updated_timestamp
        if self.observations.add_state(entity_id, role, new_state.state, ts, new_state.attributes, self._unit(role)):
            self._on_change()
            for listener in self._listeners:
                listener(entity_id, role, ts)
