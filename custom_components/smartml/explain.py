"""Anomalies in words: the text of a notification, rendered from the engine's typed facts.

Plain Python with no Home Assistant import, so that the evaluation renders exactly what
the integration shows. The caller says how an entity and an area are named: the
integration passes Home Assistant's friendly names and area names, the evaluation the
fallbacks `friendly_name` and `area_label`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
from pathlib import Path
from typing import Final, NamedTuple

from .engine.constants import RUN_WINDOW_HOURS
from .engine.facts import (
    AboveForecast,
    ActivityFacts,
    ActivityWhenEmpty,
    BaseLoad,
    DeviceLeftOn,
    DeviceStandby,
    EmptyHomeDraw,
    EntryWithoutArrival,
    LongRun,
    OpenTooLong,
    PresenceDoubt,
    RoutineMissing,
    area_label,
    friendly_name,
)
from .engine.incidents import Incident
from .engine.results import Anomaly
from .engine.security_context import STATE_EMPTY, STATE_NIGHT, STATE_OCCUPIED

__all__ = ["explain", "explain_incident", "friendly_name"]

# An entity id -> the name to show.
NameOf = Callable[[str], str]


class Verbs(NamedTuple):
    """The words of what a security sensor does."""

    said: str  # said of it: "opened", "was unlocked"
    had: str  # after "it had never": "opened", "been unlocked"
    held: str  # the state it may be left in: "open", "unlocked"


VerbsOf = Callable[[str], Verbs]
OPENED: Final = Verbs("opened", "opened", "open")


def opened(_entity_id: str) -> Verbs:
    """The words of a door or window: what a security sensor is taken to be without more."""
    return OPENED


_STATE_PHRASES: Final[Mapping[str, str]] = {
    STATE_EMPTY: "while everyone was away",
    STATE_NIGHT: "at night while the home was occupied",
    STATE_OCCUPIED: "while someone was home",
}
# The home in a state, for the evidence: "with everyone away for 40 hours".
_STATE_SPANS: Final[Mapping[str, str]] = {
    STATE_EMPTY: "with everyone away",
    STATE_NIGHT: "with the home asleep",
    STATE_OCCUPIED: "with someone home",
}
# The state itself never seen in the window: there is no evidence of the activity either way.
_NEVER_IN_STATE: Final[Mapping[str, str]] = {
    STATE_EMPTY: "everyone had never been away",
    STATE_NIGHT: "the home had never been asleep",
    STATE_OCCUPIED: "no one had been home",
}
# Below this many hours in the state, "never" would claim more than the history shows.
THIN_EVIDENCE_HOURS: Final = 24.0


def _had(verb: str, count: int, thin: bool) -> str:
    """How often it had happened: "had never opened", "had been active only once"."""
    if count == 0:
        return f"had not yet {verb}" if thin else f"had never {verb}"
    return f"had {verb} only once" if count == 1 else f"had {verb} only {count} times"


def _window(facts: ActivityFacts) -> str:
    if facts.start_hour == facts.end_hour:
        return "at any time of day"
    return f"between {facts.start_hour:02d}:00 and {facts.end_hour:02d}:00"


def _activity(facts: ActivityFacts, name_of: NameOf, area_name: NameOf, verbs_of: VerbsOf) -> str:
    if facts.area is None:
        verbs = verbs_of(facts.entity_id)
        what, verb = f"{name_of(facts.entity_id)} {verbs.said}", verbs.had
    else:
        what, verb = f"Activity in {area_name(facts.area)}", "been active"
    days = f"In {facts.days_of_history:g} days of history"
    text = f"{what} at {facts.at:%H:%M} {_STATE_PHRASES[facts.state]}. "
    if facts.hours_observed == 0:
        text += f"{days}, {_NEVER_IN_STATE[facts.state]} {_window(facts)} before."
    elif facts.hours_observed is not None:
        hours = round(facts.hours_observed)
        evidence = f"{_STATE_SPANS[facts.state]} for {hours} hour{'' if hours == 1 else 's'} {_window(facts)}"
        thin = facts.hours_observed < THIN_EVIDENCE_HOURS
        text += f"{days}, {evidence}, it {_had(verb, facts.times_seen, thin)}."
    else:  # stored before the evidence was kept
        text += f"{days} it {_had(verb, facts.times_seen, False)} {_window(facts)} {_STATE_PHRASES[facts.state]}."
    if isinstance(facts, EntryWithoutArrival | ActivityWhenEmpty):
        text += f" Nobody arrived within {facts.arrival_grace_minutes:g} minutes."
    return text


def _open_too_long(facts: OpenTooLong, name_of: NameOf, verbs_of: VerbsOf) -> str:
    held = verbs_of(facts.entity_id).held
    return (
        f"{name_of(facts.entity_id)} has been {held} for {facts.open_minutes:g} minutes since "
        f"{facts.open_since:%H:%M}; in {facts.days_of_history:g} days it was never {held} longer than "
        f"{facts.longest_open_minutes:g} minutes."
    )


def _presence_doubt(facts: PresenceDoubt, name_of: NameOf) -> str:
    return (
        f"{name_of(facts.entity_id)} has said away since {facts.away_since:%H:%M}, but the home has been in use "
        f"since {facts.in_use_since:%H:%M} ({facts.in_use_minutes:g} minutes): more likely a phone left at home "
        "than an intruder. Activity no longer alerts until someone arrives or leaves."
    )


def _duration(minutes: float) -> str:
    """3 h 10 min, 45 min, 2 h."""
    hours, rest = divmod(round(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _learned_over(weeks: float) -> str:
    """3 days, 1 day, 5 weeks: days below two weeks, where whole weeks would read 0 or 1."""
    if weeks < 2:
        days = max(1, round(weeks * 7))
        return f"{days} day" if days == 1 else f"{days} days"
    return f"{round(weeks)} weeks"


def _power(watts: float) -> str:
    return f"{watts / 1000:.1f} kW" if watts >= 1000 else f"{watts:.0f} W"


def _device(facts: DeviceLeftOn | DeviceStandby, name_of: NameOf) -> str:
    name = name_of(facts.entity_id)
    if isinstance(facts, DeviceLeftOn):
        # The usual runs it is compared with started within RUN_WINDOW_HOURS of its start.
        first, last = ((facts.start_hour + offset) % 24 for offset in (-RUN_WINDOW_HOURS, RUN_WINDOW_HOURS))
        return (
            f"{name} has drawn {_power(facts.power_w)} for {_duration(facts.minutes)}; it has never run longer "
            f"than {_duration(facts.longest_minutes)} when started between {first:02d}:00 and {last:02d}:00 "
            f"in {_learned_over(facts.weeks)}. It may have been left on."
        )
    return (
        f"{name} has not dropped below {_power(facts.floor_w)} for a day; it usually falls to about "
        f"{_power(facts.usual_floor_w)}. It may no longer switch off."
    )


# The words of a missing routine, by translation key. Their one source is the integration's
# translations (under "exceptions", where Home Assistant keeps an integration's free text):
# the English ones are read here once, at import (Home Assistant imports integrations in its
# executor), for the evaluation and as the fallback; the integration passes the user's language.
ROUTINE_PHRASE_KEYS: Final = (
    "routine_missing",
    "routine_missing_evidence",
    "routine_missing_evidence_usual",
    "routine_missing_doubt",
)


def english_phrases(keys: tuple[str, ...]) -> dict[str, str]:
    """The English words of these translation keys (under "exceptions"), the fallback of the user's language."""
    exceptions = json.loads((Path(__file__).parent / "translations" / "en.json").read_text(encoding="utf-8"))
    return {key: str(exceptions["exceptions"][key]["message"]) for key in keys}


ROUTINE_PHRASES: Final[Mapping[str, str]] = english_phrases(ROUTINE_PHRASE_KEYS)


def _routine_missing(facts: RoutineMissing, area_name: NameOf, phrases: Mapping[str, str]) -> str:
    def phrase(key: str) -> str:
        return phrases.get(key) or ROUTINE_PHRASES[key]

    values = {
        "since": f"{facts.since:%H:%M}",
        "quiet": _duration(facts.quiet_minutes),
        "at": f"{facts.at:%H:%M}",
        "days_with": facts.days_with_activity,
        "days": facts.days_considered,
        "area": "" if facts.area is None else area_name(facts.area),
        "usual": "" if facts.usual_first is None else f"{facts.usual_first:%H:%M}",
    }
    key = "routine_missing"
    if facts.area is not None and facts.days_considered:
        key = "routine_missing_evidence_usual" if facts.usual_first is not None else "routine_missing_evidence"
    text = phrase(key).format(**values)
    return f"{text} {phrase('routine_missing_doubt')}" if facts.presence_doubted else text


def _energy(facts: AboveForecast | LongRun | BaseLoad | EmptyHomeDraw) -> str:
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


def explain(
    anomaly: Anomaly,
    name_of: NameOf = friendly_name,
    area_name: NameOf = area_label,
    phrases: Mapping[str, str] | None = None,
    verbs_of: VerbsOf = opened,
) -> str:
    """The anomaly in words, naming entities with name_of and areas (by id) with area_name.

    Names are used as the home shows them ("alex" for a person without a friendly name); the
    sentence still starts with a capital. phrases: the translated words of the anomaly
    types that have them (ROUTINE_PHRASE_KEYS); English where missing. verbs_of: what a
    security sensor did (a door opened, a motion sensor detected activity).
    """
    text = _words(anomaly, name_of, area_name, phrases or {}, verbs_of)
    return text[:1].upper() + text[1:]


def _words(anomaly: Anomaly, name_of: NameOf, area_name: NameOf, phrases: Mapping[str, str], verbs_of: VerbsOf) -> str:
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts):
        return _activity(facts, name_of, area_name, verbs_of)
    if isinstance(facts, OpenTooLong):
        return _open_too_long(facts, name_of, verbs_of)
    if isinstance(facts, PresenceDoubt):
        return _presence_doubt(facts, name_of)
    if isinstance(facts, AboveForecast | LongRun | BaseLoad | EmptyHomeDraw):
        return _energy(facts)
    if isinstance(facts, RoutineMissing):
        return _routine_missing(facts, area_name, phrases)
    if isinstance(facts, DeviceLeftOn | DeviceStandby):
        return _device(facts, name_of)
    # Anomaly types whose facts have no class yet carry their text.
    return anomaly.explanation


def _place(anomaly: Anomaly, name_of: NameOf, area_name: NameOf) -> str:
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts) and facts.area is not None:
        return area_name(facts.area)
    return name_of(anomaly.entity_ids[0]) if anomaly.entity_ids else anomaly.type


def explain_incident(
    incident: Incident, name_of: NameOf = friendly_name, area_name: NameOf = area_label, verbs_of: VerbsOf = opened
) -> str:
    """An incident in plain English: its first alert, how many followed and where, and any doubt."""
    first, *more = incident.anomalies
    text = explain(first, name_of, area_name, verbs_of=verbs_of)
    alerts = [anomaly for anomaly in more if not isinstance(anomaly.facts, PresenceDoubt)]
    if alerts:
        places = ", ".join(dict.fromkeys(_place(anomaly, name_of, area_name) for anomaly in alerts))
        text += f" {len(alerts)} more {'alert' if len(alerts) == 1 else 'alerts'} followed ({places})."
    for doubt in (anomaly for anomaly in more if isinstance(anomaly.facts, PresenceDoubt)):
        text += " " + explain(doubt, name_of, area_name)
    return text
