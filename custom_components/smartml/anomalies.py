"""Anomalies: what happens when a model reports one, and the user's feedback on it.

One path for security and energy anomalies: the bus event `smartml_anomaly`, the event
entity, the binary sensors (through the coordinator's listeners), and a notification to the
chosen notify service with mobile-app actions ("It was me" / "Show me"), or a persistent
notification when none is chosen.

Security alerts that belong together (the same time away, the same night, activity still
going on) are told as one incident (`engine/incidents.py`): one event, one notification,
one episode of the binary sensor. Later alerts of the incident update its words and
entities (and the persistent notification) without telling anyone again; feedback on an
incident teaches the models every alert in it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import math
import time
from typing import Any, Final, TypedDict

from homeassistant.components import persistent_notification
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.translation import async_get_translations

from .const import (
    ANOMALY_ACTIVE_SECONDS,
    DOMAIN,
    EVENT_ANOMALY,
    LOGGER,
    MOBILE_ACTION_EVENT,
    MOBILE_ACTION_NORMAL,
)
from .engine.constants import KIND_ENERGY, KIND_ROUTINE, KIND_SECURITY, TYPE_UNUSUAL_VALUE
from .engine.facts import area_label
from .engine.incidents import INCIDENT_QUIET_SECONDS, IncidentGrouper
from .engine.observations import ACTIVITY_DEVICE_CLASSES
from .engine.phrases import Phrases
from .engine.results import Anomaly, AnomalyJson
from .explain import ACTIVITY, ALARM_CHANGED, OPENED, PHRASE_KEYS, UNLOCKED, Verbs, explain, explain_incident
from .home_spec import device_class

RECENT_ANOMALIES = 50
# Incidents older than this are closed for good: a spell away or a night does not last longer.
FORGET_INCIDENTS_SECONDS = 3 * 86_400.0
# The words of a notification, by translation key (under "exceptions", as the explanations').
NOTIFICATION_PHRASE_KEYS: Final = (
    "notification_security",
    "notification_energy",
    "notification_routine",
    "notification_it_was_me",
    "notification_show_me",
)
TITLE_KEYS: Final = {KIND_ENERGY: "notification_energy", KIND_ROUTINE: "notification_routine"}
# What security sensors other than doors, windows and activity sensors did: by domain, or by
# device class (a domain name is no device class, and the other way round).
SENSOR_VERBS: Final[dict[str, Verbs]] = {"lock": UNLOCKED, "alarm_control_panel": ALARM_CHANGED}

type AnomalyListener = Callable[[ReportedAnomaly], None]


@dataclass(slots=True)
class ReportedAnomaly:
    """What a person was told once: an anomaly, or a security incident of several alerts.

    `anomaly` is the alert that opened it; `parts` every alert in it, that one included.
    """

    anomaly: Anomaly
    explanation: str
    # Active from when it is reported: an entry may be held back until no arrival explains it.
    reported_at: float
    dismissed: bool = False
    # A missing routine ends when the home shows activity again.
    ended: bool = False
    parts: list[Anomaly] = field(default_factory=list)
    # When its last alert came; an incident stays active until it has been quiet a while.
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        """A single anomaly is its own only part."""
        if not self.parts:
            self.parts = [self.anomaly]
        self.updated_at = self.updated_at or self.reported_at

    @property
    def entity_ids(self) -> list[str]:
        """Every entity involved, in the order they first alerted."""
        return list(dict.fromkeys(e for part in self.parts for e in part.entity_ids))

    def as_json(self) -> ReportedJson:
        """The stored form, so that what was told outlives a restart."""
        return {
            "anomaly": self.anomaly.as_json(),
            "explanation": self.explanation,
            "reported_at": self.reported_at,
            "dismissed": self.dismissed,
            "ended": self.ended,
            "parts": [part.as_json() for part in self.parts],
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportedAnomaly:
        """Rebuild the stored form; raises KeyError/TypeError/ValueError when malformed."""
        return cls(
            anomaly=Anomaly.from_json(data["anomaly"]),
            explanation=str(data["explanation"]),
            reported_at=float(data["reported_at"]),
            dismissed=bool(data.get("dismissed", False)),
            ended=bool(data.get("ended", False)),
            parts=[Anomaly.from_json(part) for part in data.get("parts", [])],
            updated_at=float(data.get("updated_at", 0.0)),
        )

    def event_data(self) -> AnomalyEventData:
        """The data of the `smartml_anomaly` bus event."""
        return {
            **self.anomaly.as_json(),
            "entity_ids": self.entity_ids,
            "explanation": self.explanation,
            "reported_at": self.reported_at,
        }


class ReportedJson(TypedDict):
    """The stored form of what was told."""

    anomaly: AnomalyJson
    explanation: str
    reported_at: float
    dismissed: bool
    ended: bool
    parts: list[AnomalyJson]
    updated_at: float


class AnomalyEventData(AnomalyJson):
    """The bus event's data: the anomaly's JSON form and when it was reported."""

    reported_at: float


async def async_exception_texts(hass: HomeAssistant) -> dict[str, str]:
    """SmartML's free texts ("exceptions" in the translations) by key, in the home's language.

    Home Assistant fills in English where a text is not translated. The anomalies' words and
    the learning status's reasons are kept there.
    """
    strings = await async_get_translations(hass, hass.config.language, "exceptions", [DOMAIN])
    prefix = f"component.{DOMAIN}.exceptions."
    return {
        key.removeprefix(prefix).removesuffix(".message"): text
        for key, text in strings.items()
        if key.startswith(prefix) and key.endswith(".message")
    }


class AnomalyManager:
    """Keeps recent anomalies, announces new ones and routes feedback back to the models."""

    def __init__(
        self,
        hass: HomeAssistant,
        notify_target: str | None,
        on_feedback: Callable[[Anomaly], None],
        name_of: Callable[[str], str],
        spell_of: Callable[[Anomaly], str | None] = lambda anomaly: None,
        area_name: Callable[[str], str] = area_label,
    ) -> None:
        """Announce to notify_target (a notify service name) or as persistent notifications.

        name_of gives an entity's friendly name and area_name an area's name (by id), for the
        words of each anomaly; spell_of the time away or night a security alert belongs to,
        for grouping it into an incident.
        """
        self.hass = hass
        self.notify_target = notify_target
        self.recent: deque[ReportedAnomaly] = deque(maxlen=RECENT_ANOMALIES)
        self._on_feedback = on_feedback
        self._name_of = name_of
        self._area_name = area_name
        self._spell_of = spell_of
        self._listeners: list[AnomalyListener] = []
        self._new_listeners: list[AnomalyListener] = []
        self._incidents = IncidentGrouper()
        # The words of anomalies and notifications translated in strings.json, in the user's language.
        self._phrases: dict[str, str] = {}

    async def async_load_phrases(self) -> None:
        """Read the translated words of anomalies and notifications in Home Assistant's language."""
        texts = await async_exception_texts(self.hass)
        self._phrases = {key: texts[key] for key in (*PHRASE_KEYS, *NOTIFICATION_PHRASE_KEYS) if key in texts}

    def _phrase(self, key: str) -> str:
        """A notification's words in Home Assistant's language, English when not translated."""
        return Phrases(self._phrases)(key)

    def _title(self, anomaly: Anomaly) -> str:
        return self._phrase(TITLE_KEYS.get(anomaly.kind, "notification_security"))

    def restore(self, stored: list[Any]) -> None:
        """Take back what was told before a restart, without telling it again.

        Its sensors show it as before, "It was me" on an older notification still finds it,
        and the models' alerts already told are not announced twice. Malformed items are
        left out.
        """
        for item in stored:
            try:
                self.recent.append(ReportedAnomaly.from_json(item))
            except (KeyError, TypeError, ValueError):
                LOGGER.debug("Left out a stored anomaly that could not be read: %s", item)

    def stored(self) -> list[ReportedJson]:
        """What was told, in the form `restore` takes."""
        return [reported.as_json() for reported in self.recent]

    def forget_incidents(self) -> None:
        """Start grouping afresh (smartml.reset): the new models' alerts are new incidents."""
        self._incidents = IncidentGrouper()

    def add_listener(self, listener: AnomalyListener, new_only: bool = False) -> Callable[[], None]:
        """Call listener(reported) for each new, updated or dismissed anomaly; returns the remover.

        new_only: only for what is told anew (a new anomaly or incident), not for updates.
        """
        listeners = self._new_listeners if new_only else self._listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen for the mobile app's "It was me" action; returns the unsubscribe function."""
        return self.hass.bus.async_listen(MOBILE_ACTION_EVENT, self._async_mobile_action)

    def active(self, kind: str, now: float | None = None) -> list[ReportedAnomaly]:
        """Anomalies of a kind still active (not marked normal, not ended).

        A security incident is active until it has been quiet a while, a missing routine
        until the home shows activity again, any other anomaly for a while after it came.
        """
        now = time.time() if now is None else now
        window = {KIND_SECURITY: INCIDENT_QUIET_SECONDS, KIND_ROUTINE: math.inf}.get(kind, ANOMALY_ACTIVE_SECONDS)
        return [
            reported
            for reported in self.recent
            if reported.anomaly.kind == kind
            and not reported.dismissed
            and not reported.ended
            and now - reported.updated_at < window
        ]

    @callback
    def async_end(self, kind: str) -> None:
        """The situation of the active anomalies of a kind is over (activity is back)."""
        for reported in self.active(kind):
            reported.ended = True
            for listener in list(self._listeners):
                listener(reported)

    def find(self, anomaly_id: str | None) -> ReportedAnomaly | None:
        """What was told by the id of any of its alerts, or the latest when id is None."""
        if anomaly_id is None:
            return self.recent[-1] if self.recent else None
        return next((r for r in reversed(self.recent) if any(p.id == anomaly_id for p in r.parts)), None)

    def explain(self, anomaly: Anomaly) -> str:
        """An anomaly in words, with the home's friendly names."""
        return explain(anomaly, self._name_of, self._area_name, self._phrases, self._verbs_of)

    def _verbs_of(self, entity_id: str) -> Verbs:
        """What a security sensor did, by its kind: a door opens, a motion sensor detects activity."""
        # A lock entity, or a binary sensor of the lock device class ("on" is unlocked).
        kind = entity_id.partition(".")[0]
        if kind not in SENSOR_VERBS:
            kind = device_class(self.hass, entity_id) or ""
        if kind in SENSOR_VERBS:
            return SENSOR_VERBS[kind]
        return ACTIVITY if kind in ACTIVITY_DEVICE_CLASSES else OPENED

    @callback
    def async_report_new(self, anomalies: list[Anomaly], learning: bool, energy: bool, routine: bool = True) -> None:
        """Announce the anomalies not announced yet, while learning; energy and routine ones only if wanted."""
        if not learning:
            return
        known = {part.id for reported in self.recent for part in reported.parts}
        wanted = {KIND_ENERGY: energy, KIND_ROUTINE: routine}
        for anomaly in anomalies:
            if anomaly.id not in known and wanted.get(anomaly.kind, True):
                self.async_report(anomaly)

    @callback
    def async_report(self, anomaly: Anomaly) -> None:
        """Announce a new anomaly everywhere, or add a security alert to its open incident."""
        now = time.time()
        # A watched sensor's unusual value (a freezer warming) is its own story: grouped into an
        # open incident, or one marked normal, it would be told to no one.
        if anomaly.kind != KIND_SECURITY or anomaly.type == TYPE_UNUSUAL_VALUE:
            self._async_tell(ReportedAnomaly(anomaly, self.explain(anomaly), now))
            return
        incident, is_new = self._incidents.add(now, anomaly, self._spell_of(anomaly))
        words = explain_incident(incident, self._name_of, self._area_name, self._verbs_of, self._phrases)
        # What was told of the incident: found by the id of the alert that opened it.
        told = None if is_new else self.find(incident.id)
        if told is None:
            told = ReportedAnomaly(incident.anomalies[0], words, now, parts=list(incident.anomalies))
            self._incidents.forget_before(now - FORGET_INCIDENTS_SECONDS)
            self._async_tell(told)
            return
        told.parts = list(incident.anomalies)
        told.explanation = words
        told.updated_at = now
        for listener in list(self._listeners):
            listener(told)
        if not told.dismissed and not self.notify_target:
            # The persistent notification is replaced in place; a phone is not told twice.
            persistent_notification.async_create(self.hass, words, self._title(anomaly), _tag(told))

    @callback
    def _async_tell(self, reported: ReportedAnomaly) -> None:
        self.recent.append(reported)
        self.hass.bus.async_fire(EVENT_ANOMALY, reported.event_data())
        for listener in [*self._listeners, *self._new_listeners]:
            listener(reported)
        self.hass.async_create_task(self._async_notify(reported), eager_start=True)

    async def _async_notify(self, reported: ReportedAnomaly) -> None:
        anomaly = reported.anomaly
        title = self._title(anomaly)
        message = reported.explanation
        tag = _tag(reported)
        if not self.notify_target:
            persistent_notification.async_create(self.hass, message, title, tag)
            return
        data = {
            "tag": tag,
            "actions": [
                {"action": f"{MOBILE_ACTION_NORMAL}{anomaly.id}", "title": self._phrase("notification_it_was_me")},
                {
                    "action": "URI",
                    "title": self._phrase("notification_show_me"),
                    "uri": f"/logbook?entity_id={','.join(reported.entity_ids)}",
                },
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
        """Feedback: the anomaly (or the incident it is part of) was normal; None if unknown.

        Every alert of an incident is taught, so that none of them alerts again.
        """
        reported = self.find(anomaly_id)
        if reported is None:
            return None
        reported.dismissed = True
        self._incidents.settle(reported.anomaly.id)
        for part in reported.parts:
            self._on_feedback(part)
        persistent_notification.async_dismiss(self.hass, _tag(reported))
        for listener in list(self._listeners):
            listener(reported)
        return reported


def _tag(reported: ReportedAnomaly) -> str:
    """The notification's tag: one per anomaly or incident, so that an update replaces it."""
    return f"{DOMAIN}_{reported.anomaly.id}"
