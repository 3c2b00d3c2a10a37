"""Anomalies in words: the text of a notification, rendered from the engine's typed facts.

Plain Python with no Home Assistant import, so that the evaluation renders exactly what
the integration shows. The caller says how an entity is named: the integration passes
Home Assistant's friendly names, the evaluation the fallback `friendly_name`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from .engine.facts import (
    AboveForecast,
    ActivityFacts,
    ActivityWhenEmpty,
    BaseLoad,
    EmptyHomeDraw,
    EnergyFacts,
    EntryWithoutArrival,
    LongRun,
    OpenTooLong,
    PresenceDoubt,
    area_label,
    friendly_name,
)
from .engine.incidents import Incident
from .engine.results import Anomaly
from .engine.security_context import STATE_EMPTY, STATE_NIGHT, STATE_OCCUPIED

__all__ = ["explain", "explain_incident", "friendly_name"]

# An entity id -> the name to show.
NameOf = Callable[[str], str]

_STATE_PHRASES: Final[Mapping[str, str]] = {
    STATE_EMPTY: "while everyone was away",
    STATE_NIGHT: "at night while the home was occupied",
    STATE_OCCUPIED: "while someone was home",
}


def _times(count: int) -> str:
    return "never" if count == 0 else ("only once" if count == 1 else f"only {count} times")


def _activity(facts: ActivityFacts, name_of: NameOf) -> str:
    days = f"{facts.days_of_history:g}"
    if facts.area is None:
        what, verb = f"{name_of(facts.entity_id)} opened", "opened"
    else:
        what, verb = f"Activity in {area_label(facts.area)}", "been active"
    when = (
        "at any time of day"
        if facts.start_hour == facts.end_hour
        else f"between {facts.start_hour:02d}:00 and {facts.end_hour:02d}:00"
    )
    text = (
        f"{what} at {facts.at:%H:%M}; in {days} days it has {_times(facts.times_seen)} {verb} {when} "
        f"{_STATE_PHRASES[facts.state]}."
    )
    if isinstance(facts, EntryWithoutArrival | ActivityWhenEmpty):
        text += f" Nobody arrived within {facts.arrival_grace_minutes:g} minutes."
    return text


def _open_too_long(facts: OpenTooLong, name_of: NameOf) -> str:
    return (
        f"{name_of(facts.entity_id)} has been open for {facts.open_minutes:g} minutes since "
        f"{facts.open_since:%H:%M}; in {facts.days_of_history:g} days it was never open longer than "
        f"{facts.longest_open_minutes:g} minutes."
    )


def _presence_doubt(facts: PresenceDoubt, name_of: NameOf) -> str:
    return (
        f"{name_of(facts.entity_id)} has said away since {facts.away_since:%H:%M}, but the home has been in use "
        f"since {facts.in_use_since:%H:%M} ({facts.in_use_minutes:g} minutes): more likely a phone left at home "
        "than an intruder. Activity no longer alerts until someone arrives or leaves."
    )


def _energy(facts: EnergyFacts) -> str:
    if isinstance(facts, LongRun):
        return (
            f"Power has not dropped below {facts.floor_w:.0f} W for the last {facts.hours:.1f} h; at this time of "
            f"day the lowest draw over 3 hours is usually about {facts.usual_w:.0f} W. Something may have been "
            "left on."
        )
    if isinstance(facts, BaseLoad):
        return (
            f"Power has not dropped below {facts.floor_w:.0f} W for two days; on a usual day it falls to about "
            f"{facts.usual_floor_w:.0f} W. A device may be running constantly."
        )
    if isinstance(facts, EmptyHomeDraw):
        return (
            f"Nobody is home, yet the home has drawn at least {facts.floor_w:.0f} W for the last hour "
            f"(standby is about {facts.standby_w:.0f} W)."
        )
    return (
        f"The home used {facts.used_kwh:.2f} kWh in the last {facts.hours} hours; "
        f"at most {facts.expected_p90_kwh:.2f} kWh was expected (usually {facts.expected_p50_kwh:.2f})."
    )


def explain(anomaly: Anomaly, name_of: NameOf = friendly_name) -> str:
    """The anomaly in plain English, naming entities with name_of."""
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts):
        return _activity(facts, name_of)
    if isinstance(facts, OpenTooLong):
        return _open_too_long(facts, name_of)
    if isinstance(facts, PresenceDoubt):
        return _presence_doubt(facts, name_of)
    if isinstance(facts, AboveForecast | LongRun | BaseLoad | EmptyHomeDraw):
        return _energy(facts)
    # Anomaly types whose facts have no class yet carry their text.
    return anomaly.explanation


def _place(anomaly: Anomaly, name_of: NameOf) -> str:
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts) and facts.area is not None:
        return area_label(facts.area)
    return name_of(anomaly.entity_ids[0]) if anomaly.entity_ids else anomaly.type


def explain_incident(incident: Incident, name_of: NameOf = friendly_name) -> str:
    """An incident in plain English: its first alert, how many followed and where, and any doubt."""
    first, *more = incident.anomalies
    text = explain(first, name_of)
    alerts = [anomaly for anomaly in more if not isinstance(anomaly.facts, PresenceDoubt)]
    if alerts:
        places = ", ".join(dict.fromkeys(_place(anomaly, name_of) for anomaly in alerts))
        text += f" {len(alerts)} more {'alert' if len(alerts) == 1 else 'alerts'} followed ({places})."
    for doubt in (anomaly for anomaly in more if isinstance(anomaly.facts, PresenceDoubt)):
        text += " " + explain(doubt, name_of)
    return text
