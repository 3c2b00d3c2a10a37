"""Anomalies: what happens when a model reports one, and the user's feedback on it.

One path for security and energy anomalies: the bus event `smartml_anomaly`, the event
entity, the binary sensors (through the coordinator's listeners), and a notification to the
chosen notify service with mobile-app actions ("It was me" / "Show me"), or a persistent
notification when none is chosen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import time

from homeassistant.components import persistent_notification
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    ANOMALY_ACTIVE_SECONDS,
    DOMAIN,
    EVENT_ANOMALY,
    LOGGER,
    MOBILE_ACTION_EVENT,
    MOBILE_ACTION_NORMAL,
)
from .engine.constants import KIND_ENERGY
from .engine.results import Anomaly, AnomalyJson
from .explain import explain

RECENT_ANOMALIES = 50

type AnomalyListener = Callable[[ReportedAnomaly], None]


@dataclass(slots=True)
class ReportedAnomaly:
    """An anomaly as announced: with its words, when it was reported, and whether it was normal."""

    anomaly: Anomaly
    explanation: str
    # Active from when it is reported: an entry may be held back until no arrival explains it.
    reported_at: float
    dismissed: bool = False

    def event_data(self) -> AnomalyEventData:
        """The data of the `smartml_anomaly` bus event."""
        return {**self.anomaly.as_json(), "explanation": self.explanation, "reported_at": self.reported_at}


class AnomalyEventData(AnomalyJson):
    """The bus event's data: the anomaly's JSON form and when it was reported."""

    reported_at: float


class AnomalyManager:
    """Keeps recent anomalies, announces new ones and routes feedback back to the models."""

    def __init__(
        self,
        hass: HomeAssistant,
        notify_target: str | None,
        on_feedback: Callable[[Anomaly], None],
        name_of: Callable[[str], str],
    ) -> None:
        """Announce to notify_target (a notify service name) or as persistent notifications.

        name_of gives an entity's friendly name, for the words of each anomaly.
        """
        self.hass = hass
        self.notify_target = notify_target
        self.recent: deque[ReportedAnomaly] = deque(maxlen=RECENT_ANOMALIES)
        self._on_feedback = on_feedback
        self._name_of = name_of
        self._listeners: list[AnomalyListener] = []

    def add_listener(self, listener: AnomalyListener) -> Callable[[], None]:
        """Call listener(reported) for each new anomaly and each marked normal; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen for the mobile app's "It was me" action; returns the unsubscribe function."""
        return self.hass.bus.async_listen(MOBILE_ACTION_EVENT, self._async_mobile_action)

    def active(self, kind: str, now: float | None = None) -> list[ReportedAnomaly]:
        """Anomalies of a kind still active (recent and not marked normal)."""
        now = time.time() if now is None else now
        return [
            reported
            for reported in self.recent
            if reported.anomaly.kind == kind
            and not reported.dismissed
            and now - reported.reported_at < ANOMALY_ACTIVE_SECONDS
        ]

    def find(self, anomaly_id: str | None) -> ReportedAnomaly | None:
        """An anomaly by id, or the latest one when id is None."""
        if anomaly_id is None:
            return self.recent[-1] if self.recent else None
        return next((r for r in reversed(self.recent) if r.anomaly.id == anomaly_id), None)

    def explain(self, anomaly: Anomaly) -> str:
        """An anomaly in words, with the home's friendly names; a sentence starts with a capital."""
        text = explain(anomaly, self._name_of)
        return text[:1].upper() + text[1:]

    @callback
    def async_report_new(self, anomalies: list[Anomaly], learning: bool, energy: bool) -> None:
        """Announce the anomalies not announced yet, while learning; energy ones only if wanted."""
        if not learning:
            return
        known = {reported.anomaly.id for reported in self.recent}
        for anomaly in anomalies:
            if anomaly.id not in known and (anomaly.kind != KIND_ENERGY or energy):
                self.async_report(anomaly)

    @callback
    def async_report(self, anomaly: Anomaly) -> None:
        """Announce a new anomaly everywhere."""
        reported = ReportedAnomaly(anomaly, self.explain(anomaly), time.time())
        self.recent.append(reported)
        self.hass.bus.async_fire(EVENT_ANOMALY, reported.event_data())
        for listener in list(self._listeners):
            listener(reported)
        self.hass.async_create_task(self._async_notify(reported), eager_start=True)

    async def _async_notify(self, reported: ReportedAnomaly) -> None:
        anomaly = reported.anomaly
        title = "SmartML: unusual energy use" if anomaly.kind == KIND_ENERGY else "SmartML: unusual activity"
        message = reported.explanation
        tag = f"{DOMAIN}_{anomaly.id}"
        if not self.notify_target:
            persistent_notification.async_create(self.hass, message, title, tag)
            return
        data = {
            "tag": tag,
            "actions": [
                {"action": f"{MOBILE_ACTION_NORMAL}{anomaly.id}", "title": "It was me"},
                {"action": "URI", "title": "Show me", "uri": f"/logbook?entity_id={','.join(anomaly.entity_ids)}"},
            ],
        }
        try:
            await self.hass.services.async_call(
                "notify", self.notify_target, {"title": title, "message": message, "data": data}, blocking=True
            )
        except Exception:
            LOGGER.warning("Could not notify %s; showing a persistent notification instead", self.notify_target)
            persistent_notification.async_create(self.hass, message, title, tag)

    @callback
    def _async_mobile_action(self, event: Event) -> None:
        action = str(event.data.get("action", ""))
        if action.startswith(MOBILE_ACTION_NORMAL):
            self.async_mark_normal(action.removeprefix(MOBILE_ACTION_NORMAL))

    @callback
    def async_mark_normal(self, anomaly_id: str | None) -> ReportedAnomaly | None:
        """Feedback: the anomaly was normal. Returns it, or None if unknown."""
        reported = self.find(anomaly_id)
        if reported is None:
            return None
        reported.dismissed = True
        self._on_feedback(reported.anomaly)
        persistent_notification.async_dismiss(self.hass, f"{DOMAIN}_{reported.anomaly.id}")
        for listener in list(self._listeners):
            listener(reported)
        return reported
