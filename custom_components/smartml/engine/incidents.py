"""Incidents: the alerts that belong together, told once.

A person wants one notification per incident, not one per sensor event: a resident whose
phone says "away" while they cook sets off an alert at every cupboard otherwise. An alert
joins the open incident when it comes within the quiet window of that incident's last
alert and belongs to the same spell (the same time away, the same night; an alert without
a spell joins any). A door opening after the incident has been quiet for `entry_quiet_s`,
and a door held open too long, always open a new incident, so that an intrusion never
hides inside an old one and a door still open is told. An incident closes once its quiet
window has passed without a new alert; one the household marked normal is settled, and
what comes after it is a new incident.

Plain Python (no numpy): it runs in the event loop beside the live checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from .facts import ActivityFacts, OpenTooLong, PresenceDoubt
from .results import Anomaly
from .security_context import STATE_EMPTY, STATE_NIGHT

# Chosen on Ordóñez home A (the alerts of one injected intrusion span at most 8 minutes
# there), checked on van Kasteren 2008: every window from 10 minutes to 4 hours counts the
# same incidents on both homes.
INCIDENT_QUIET_SECONDS: Final = 3600.0
ENTRY_QUIET_SECONDS: Final = 600.0
# A night belongs to the evening it started: local noon to noon.
_NIGHT_SHIFT: Final = timedelta(hours=12)


def spell_of(anomaly: Anomaly, local: datetime, departed_at: float | None) -> str | None:
    """The spell an alert belongs to: this time away, this night, or None (no spell).

    `local` is the alert's local time, `departed_at` the start of the current time away.
    """
    facts = anomaly.facts
    if isinstance(facts, PresenceDoubt):
        return None if departed_at is None else f"away:{departed_at:.0f}"
    if not isinstance(facts, ActivityFacts):
        return None
    if facts.state == STATE_EMPTY and departed_at is not None:
        return f"away:{departed_at:.0f}"
    if facts.state == STATE_NIGHT:
        return f"night:{(local - _NIGHT_SHIFT).date().isoformat()}"
    return None


def is_door_alert(anomaly: Anomaly) -> bool:
    """Whether the alert is a door, window or lock opening, or one held open.

    Either is a new situation a person must hear of (and may have to act on), not more of
    what an incident already told.
    """
    facts = anomaly.facts
    return (isinstance(facts, ActivityFacts) and facts.is_door) or isinstance(facts, OpenTooLong)


@dataclass(slots=True)
class Incident:
    """Alerts told as one: when it started, its last alert, its spell, when it closed."""

    start: float
    last: float
    spell: str | None
    anomalies: list[Anomaly] = field(default_factory=list)
    end: float | None = None  # None while open

    @property
    def id(self) -> str:
        """The id of the alert that opened it."""
        return self.anomalies[0].id

    @property
    def type(self) -> str:
        """The type of the alert that opened it."""
        return self.anomalies[0].type

    @property
    def entity_ids(self) -> list[str]:
        """Every entity involved, in the order they first alerted."""
        return list(dict.fromkeys(e for anomaly in self.anomalies for e in anomaly.entity_ids))


class IncidentGrouper:
    """Groups alerts into incidents as they are raised, in time order."""

    def __init__(self, quiet_s: float = INCIDENT_QUIET_SECONDS, entry_quiet_s: float = ENTRY_QUIET_SECONDS) -> None:
        """`quiet_s` closes an incident; `entry_quiet_s` separates a door opening from it."""
        self.quiet_s = quiet_s
        self.entry_quiet_s = min(entry_quiet_s, quiet_s)
        self.incidents: list[Incident] = []
        self._open: Incident | None = None
        self._by_spell: dict[str, Incident] = {}

    @property
    def open_incident(self) -> Incident | None:
        """The incident still open, if any."""
        return self._open

    def close_due(self, now: float) -> Incident | None:
        """Close the open incident if it has been quiet long enough; the one closed, if any."""
        incident = self._open
        if incident is None or now - incident.last < self.quiet_s:
            return None
        incident.end = incident.last + self.quiet_s
        self._open = None
        return incident

    def forget_before(self, ts: float) -> None:
        """Drop the incidents whose last alert came before ts (a long-running grouper's memory)."""
        self.incidents = [i for i in self.incidents if i.last >= ts or i is self._open]
        self._by_spell = {spell: i for spell, i in self._by_spell.items() if i.last >= ts or i is self._open}

    def settle(self, incident_id: str) -> None:
        """The household said the incident was normal: no later alert joins it.

        Marked normal, an incident is told no more; an alert joining it would be told to no one.
        """
        if self._open is not None and self._open.id == incident_id:
            self._open.end = self._open.last
            self._open = None
        self._by_spell = {spell: i for spell, i in self._by_spell.items() if i.id != incident_id}

    def add(self, when: float, anomaly: Anomaly, spell: str | None) -> tuple[Incident, bool]:
        """File an alert raised at `when`; (its incident, whether that incident is new).

        An incident of the same spell that had closed opens again (later evidence updates
        it); only a new incident is worth a new notification.
        """
        self.close_due(when)
        incident = self._belongs_to(when, anomaly, spell)
        is_new = incident is None
        if incident is None:
            incident = Incident(start=when, last=when, spell=spell)
            self.incidents.append(incident)
        if self._open is not None and self._open is not incident:
            self._open.end = when  # superseded: the other incident carries on
        incident.anomalies.append(anomaly)
        incident.last = when
        incident.end = None
        incident.spell = incident.spell or spell
        if incident.spell is not None:
            self._by_spell[incident.spell] = incident
        self._open = incident
        return incident, is_new

    def _belongs_to(self, when: float, anomaly: Anomaly, spell: str | None) -> Incident | None:
        current = self._open
        if isinstance(anomaly.facts, OpenTooLong):
            return None
        if is_door_alert(anomaly):
            # An opening joins only activity that is still going on.
            if current is not None and when - current.last < self.entry_quiet_s:
                return current
            return None
        if current is not None and (spell is None or current.spell == spell):
            return current
        return self._by_spell.get(spell) if spell is not None else None
