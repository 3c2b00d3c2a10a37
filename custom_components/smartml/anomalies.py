"""Anomalies: what happens when a model reports one, and the user's feedback on it.

One path for security and energy anomalies: the bus event `smartml_anomaly`, the event
entity, the binary sensors (through the coordinator's listeners), and a notification to the
chosen notify service with mobile-app actions ("It was me" / "Show me"), or a persistent
notification when none is chosen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
import time
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    ANOMALY_ACTIVE_SECONDS,
    DOMAIN,
    EVENT_ANOMALY,
    KIND_ENERGY,
    LOGGER,
    MOBILE_ACTION_EVENT,
    MOBILE_ACTION_NORMAL,
)

RECENT_ANOMALIES = 50

type AnomalyListener = Callable[[dict[str, Any]], None]


class AnomalyManager:
    """Keeps recent anomalies, announces new ones and routes feedback back to the models."""

    def __init__(
        self,
        hass: HomeAssistant,
        notify_target: str | None,
        on_feedback: Callable[[dict[str, Any]], None],
    ) -> None:
        """Announce to notify_target (a notify service name) or as persistent notifications."""
        self.hass = hass
        self.notify_target = notify_target
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_ANOMALIES)
        self._on_feedback = on_feedback
        self._listeners: list[AnomalyListener] = []

    def add_listener(self, listener: AnomalyListener) -> Callable[[], None]:
        """Call listener(anomaly) for each new anomaly; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen for the mobile app's "It was me" action; returns the unsubscribe function."""
        return self.hass.bus.async_listen(MOBILE_ACTION_EVENT, self._async_mobile_action)

    def active(self, kind: str, now: float | None = None) -> list[dict[str, Any]]:
        """Anomalies of a kind still active (recent and not marked normal)."""
        now = time.time() if now is None else now
        return [
            anomaly
            for anomaly in self.recent
            if anomaly["kind"] == kind
            and not anomaly.get("dismissed")
            and now - anomaly.get("reported_at", anomaly["ts"]) < ANOMALY_ACTIVE_SECONDS
        ]

    def find(self, anomaly_id: str | None) -> dict[str, Any] | None:
        """An anomaly by id, or the latest one when id is None."""
        if anomaly_id is None:
            return self.recent[-1] if self.recent else None
        return next((a for a in reversed(self.recent) if a["id"] == anomaly_id), None)

    @callback
    def async_report(self, anomaly: Mapping[str, Any]) -> None:
        """Announce a new anomaly everywhere."""
        # Active from when it is reported: an entry may be held back until no arrival explains it.
        record = {**anomaly, "reported_at": time.time()}
        self.recent.append(record)
        self.hass.bus.async_fire(EVENT_ANOMALY, record)
        for listener in list(self._listeners):
            listener(record)
        self.hass.async_create_task(self._async_notify(record), eager_start=True)

    async def _async_notify(self, anomaly: dict[str, Any]) -> None:
        title = "SmartML: unusual energy use" if anomaly["kind"] == KIND_ENERGY else "SmartML: unusual activity"
        message = anomaly["explanation"]
        if not self.notify_target:
            persistent_notification.async_create(self.hass, message, title, f"{DOMAIN}_{anomaly['id']}")
            return
        data = {
            "tag": f"{DOMAIN}_{anomaly['id']}",
            "actions": [
                {"action": f"{MOBILE_ACTION_NORMAL}{anomaly['id']}", "title": "It was me"},
                {"action": "URI", "title": "Show me", "uri": f"/logbook?entity_id={','.join(anomaly['entity_ids'])}"},
            ],
        }
        try:
            await self.hass.services.async_call(
                "notify", self.notify_target, {"title": title, "message": message, "data": data}, blocking=True
            )
        except Exception:
            LOGGER.warning("Could not notify %s; showing a persistent notification instead", self.notify_target)
            persistent_notification.async_create(self.hass, message, title, f"{DOMAIN}_{anomaly['id']}")

    @callback
    def _async_mobile_action(self, event: Event) -> None:
        action = str(event.data.get("action", ""))
        if action.startswith(MOBILE_ACTION_NORMAL):
            self.async_mark_normal(action.removeprefix(MOBILE_ACTION_NORMAL))

    @callback
    def async_mark_normal(self, anomaly_id: str | None) -> dict[str, Any] | None:
        """Feedback: the anomaly was normal. Returns it, or None if unknown."""
        anomaly = self.find(anomaly_id)
        if anomaly is None:
            return None
        anomaly["dismissed"] = True
        self._on_feedback(anomaly)
        persistent_notification.async_dismiss(self.hass, f"{DOMAIN}_{anomaly['id']}")
        for listener in list(self._listeners):
            listener(anomaly)
        return anomaly
