"""Anomalies in words: the text of a notification, rendered from the engine's typed facts.

Plain Python with no Home Assistant import, so that the evaluation renders exactly what
the integration shows. The caller says how an entity and an area are named: the
integration passes Home Assistant's friendly names and area names, the evaluation the
fallbacks `friendly_name` and `area_label`. The words are the integration's translations,
templates with named placeholders (`engine/phrases.py`): the integration passes those of the
user's language, English stands in for any not translated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from .engine.constants import RUN_WINDOW_HOURS, TYPE_UNUSUAL_VALUE
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
from .engine.phrases import Phrases, english_phrases
from .engine.results import Anomaly
from .engine.security_context import STATE_EMPTY, STATE_NIGHT, STATE_OCCUPIED
from .engine.value_words import VALUE_PHRASE_KEYS, explain as explain_value

__all__ = ["explain", "explain_incident", "friendly_name"]

# An entity id -> the name to show.
NameOf = Callable[[str], str]


class Verbs(NamedTuple):
    """The translation keys of the words of what a security sensor does."""

    said: str  # said of it: "opened", "was unlocked"
    had: str  # after "it had never": "opened", "been unlocked"
    held: str  # the state it may be left in: "open", "unlocked"


VerbsOf = Callable[[str], Verbs]
OPENED: Final = Verbs("security_door_action", "security_door_action_done", "security_door_left")
# What activity sensors (motion, occupancy, presence) did.
ACTIVITY: Final = Verbs("security_motion_action", "security_motion_action_done", "security_motion_left")
UNLOCKED: Final = Verbs("security_lock_action", "security_lock_action_done", "security_lock_left")
ALARM_CHANGED: Final = Verbs("security_alarm_action", "security_alarm_action_done", "security_alarm_left")
# What an area's occupancy sensors did, after "it had never".
_AREA_ACTIVE: Final = "security_area_action_done"


def opened(_entity_id: str) -> Verbs:
    """The words of a door or window: what a security sensor is taken to be without more."""
    return OPENED


# The home's state when it happened: "Front door opened at 03:10 while everyone was away".
_STATE_PHRASES: Final[Mapping[str, str]] = {
    STATE_EMPTY: "security_while_away",
    STATE_NIGHT: "security_while_asleep",
    STATE_OCCUPIED: "security_while_home",
}
# The home in a state, for the evidence: "with everyone away for 40 hours".
_STATE_SPANS: Final[Mapping[str, str]] = {
    STATE_EMPTY: "security_away_for",
    STATE_NIGHT: "security_asleep_for",
    STATE_OCCUPIED: "security_home_for",
}
# The state itself never seen in the window: there is no evidence of the activity either way.
_NEVER_IN_STATE: Final[Mapping[str, str]] = {
    STATE_EMPTY: "security_never_away",
    STATE_NIGHT: "security_never_asleep",
    STATE_OCCUPIED: "security_never_home",
}
# Below this many hours in the state, "never" would claim more than the history shows.
THIN_EVIDENCE_HOURS: Final = 24.0

# The translation keys of every explanation (strings.json, under "exceptions"), read in the
# user's language by the integration; English where a key is not translated.
ROUTINE_PHRASE_KEYS: Final = (
    "routine_missing",
    "routine_missing_evidence",
    "routine_missing_evidence_usual",
    "routine_missing_doubt",
)
SECURITY_PHRASE_KEYS: Final = (
    *OPENED,
    *ACTIVITY,
    *UNLOCKED,
    *ALARM_CHANGED,
    _AREA_ACTIVE,
    *_STATE_PHRASES.values(),
    *_STATE_SPANS.values(),
    *_NEVER_IN_STATE.values(),
    "security_entity_activity",
    "security_area_activity",
    "security_evidence",
    "security_evidence_without_hours",
    "security_had_not_yet",
    "security_had_never",
    "security_had_once",
    "security_had_times",
    "security_any_time",
    "security_between",
    "security_no_arrival",
    "security_open_too_long",
    "security_presence_doubt",
    "security_one_more_alert",
    "security_more_alerts",
)
ENERGY_PHRASE_KEYS: Final = ("energy_long_run", "energy_base_load", "energy_empty_home_draw", "energy_above_forecast")
DEVICE_PHRASE_KEYS: Final = ("device_left_on", "device_standby")
DURATION_PHRASE_KEYS: Final = (
    "duration_min",
    "duration_h",
    "duration_h_min",
    "duration_hour",
    "duration_hours",
    "duration_day",
    "duration_days",
    "duration_weeks",
)
PHRASE_KEYS: Final = (
    *ROUTINE_PHRASE_KEYS,
    *SECURITY_PHRASE_KEYS,
    *ENERGY_PHRASE_KEYS,
    *DEVICE_PHRASE_KEYS,
    *DURATION_PHRASE_KEYS,
    *VALUE_PHRASE_KEYS,
)
# The English of the missing routine's words.
ROUTINE_PHRASES: Final[Mapping[str, str]] = english_phrases(ROUTINE_PHRASE_KEYS)


def _had(verb: str, count: int, thin: bool, say: Phrases) -> str:
    """How often it had happened: "it had never opened", "it had been active only once"."""
    if count == 0:
        return say("security_had_not_yet" if thin else "security_had_never", action=verb)
    if count == 1:
        return say("security_had_once", action=verb)
    return say("security_had_times", action=verb, count=count)


def _window(facts: ActivityFacts, say: Phrases) -> str:
    if facts.start_hour == facts.end_hour:
        return say("security_any_time")
    return say("security_between", start=f"{facts.start_hour:02d}:00", end=f"{facts.end_hour:02d}:00")


def _activity(facts: ActivityFacts, name_of: NameOf, area_name: NameOf, verbs_of: VerbsOf, say: Phrases) -> str:
    home_state = say(_STATE_PHRASES[facts.state])
    at = f"{facts.at:%H:%M}"
    if facts.area is None:
        verbs = verbs_of(facts.entity_id)
        what = say(
            "security_entity_activity",
            name=name_of(facts.entity_id),
            action=say(verbs.said),
            time=at,
            home_state=home_state,
        )
        verb = say(verbs.had)
    else:
        what = say("security_area_activity", area=area_name(facts.area), time=at, home_state=home_state)
        verb = say(_AREA_ACTIVE)
    days = f"{facts.days_of_history:g}"
    if facts.hours_observed == 0:
        evidence = say(_NEVER_IN_STATE[facts.state], days=days, window=_window(facts, say))
    elif facts.hours_observed is not None:
        hours = round(facts.hours_observed)
        thin = facts.hours_observed < THIN_EVIDENCE_HOURS
        evidence = say(
            "security_evidence",
            days=days,
            time_in_state=say(_STATE_SPANS[facts.state], hours=_hours(hours, say)),
            window=_window(facts, say),
            history=_had(verb, facts.times_seen, thin, say),
        )
    else:  # stored before the evidence was kept
        evidence = say(
            "security_evidence_without_hours",
            days=days,
            history=_had(verb, facts.times_seen, False, say),
            window=_window(facts, say),
            home_state=home_state,
        )
    text = f"{what} {evidence}"
    if isinstance(facts, EntryWithoutArrival | ActivityWhenEmpty):
        text += " " + say("security_no_arrival", minutes=f"{facts.arrival_grace_minutes:g}")
    return text


def _open_too_long(facts: OpenTooLong, name_of: NameOf, verbs_of: VerbsOf, say: Phrases) -> str:
    return say(
        "security_open_too_long",
        name=name_of(facts.entity_id),
        state=say(verbs_of(facts.entity_id).held),
        minutes=f"{facts.open_minutes:g}",
        since=f"{facts.open_since:%H:%M}",
        days=f"{facts.days_of_history:g}",
        longest=f"{facts.longest_open_minutes:g}",
    )


def _presence_doubt(facts: PresenceDoubt, name_of: NameOf, say: Phrases) -> str:
    return say(
        "security_presence_doubt",
        name=name_of(facts.entity_id),
        away_since=f"{facts.away_since:%H:%M}",
        in_use_since=f"{facts.in_use_since:%H:%M}",
        minutes=f"{facts.in_use_minutes:g}",
    )


def _hours(hours: int, say: Phrases) -> str:
    """1 hour, 40 hours."""
    return say("duration_hour" if hours == 1 else "duration_hours", hours=hours)


def _duration(minutes: float, say: Phrases) -> str:
    """3 h 10 min, 45 min, 2 h."""
    hours, rest = divmod(round(minutes), 60)
    if not hours:
        return say("duration_min", minutes=rest)
    return say("duration_h_min", hours=hours, minutes=rest) if rest else say("duration_h", hours=hours)


def _learned_over(weeks: float, say: Phrases) -> str:
    """3 days, 1 day, 5 weeks: days below two weeks, where whole weeks would read 0 or 1."""
    if weeks < 2:
        days = max(1, round(weeks * 7))
        return say("duration_day" if days == 1 else "duration_days", days=days)
    return say("duration_weeks", weeks=round(weeks))


def _power(watts: float) -> str:
    return f"{watts / 1000:.1f} kW" if watts >= 1000 else f"{watts:.0f} W"


def _device(facts: DeviceLeftOn | DeviceStandby, name_of: NameOf, say: Phrases) -> str:
    name = name_of(facts.entity_id)
    if isinstance(facts, DeviceLeftOn):
        # The usual runs it is compared with started within RUN_WINDOW_HOURS of its start.
        first, last = ((facts.start_hour + offset) % 24 for offset in (-RUN_WINDOW_HOURS, RUN_WINDOW_HOURS))
        return say(
            "device_left_on",
            name=name,
            power=_power(facts.power_w),
            duration=_duration(facts.minutes, say),
            longest=_duration(facts.longest_minutes, say),
            earliest=f"{first:02d}:00",
            latest=f"{last:02d}:00",
            period=_learned_over(facts.weeks, say),
        )
    return say("device_standby", name=name, power=_power(facts.floor_w), usual_power=_power(facts.usual_floor_w))


def _routine_missing(facts: RoutineMissing, area_name: NameOf, say: Phrases) -> str:
    values = {
        "since": f"{facts.since:%H:%M}",
        "quiet": _duration(facts.quiet_minutes, say),
        "at": f"{facts.at:%H:%M}",
        "days_with": facts.days_with_activity,
        "days": facts.days_considered,
        "area": "" if facts.area is None else area_name(facts.area),
        "usual": "" if facts.usual_first is None else f"{facts.usual_first:%H:%M}",
    }
    key = "routine_missing"
    if facts.area is not None and facts.days_considered:
        key = "routine_missing_evidence_usual" if facts.usual_first is not None else "routine_missing_evidence"
    text = say(key, **values)
    return f"{text} {say('routine_missing_doubt')}" if facts.presence_doubted else text


def _energy(facts: AboveForecast | LongRun | BaseLoad | EmptyHomeDraw, say: Phrases) -> str:
    if isinstance(facts, LongRun):
        return say(
            "energy_long_run", floor=f"{facts.floor_w:.0f}", hours=f"{facts.hours:.1f}", usual=f"{facts.usual_w:.0f}"
        )
    if isinstance(facts, BaseLoad):
        return say("energy_base_load", floor=f"{facts.floor_w:.0f}", usual_floor=f"{facts.usual_floor_w:.0f}")
    if isinstance(facts, EmptyHomeDraw):
        return say("energy_empty_home_draw", floor=f"{facts.floor_w:.0f}", standby=f"{facts.standby_w:.0f}")
    return say(
        "energy_above_forecast",
        used=f"{facts.used_kwh:.2f}",
        hours=facts.hours,
        expected_high=f"{facts.expected_p90_kwh:.2f}",
        expected_usual=f"{facts.expected_p50_kwh:.2f}",
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
    sentence still starts with a capital. phrases: the translated texts of PHRASE_KEYS;
    English where missing. verbs_of: what a security sensor did (a door opened, a motion
    sensor detected activity).
    """
    text = _words(anomaly, name_of, area_name, Phrases(phrases), verbs_of)
    return text[:1].upper() + text[1:]


def _words(anomaly: Anomaly, name_of: NameOf, area_name: NameOf, say: Phrases, verbs_of: VerbsOf) -> str:
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts):
        return _activity(facts, name_of, area_name, verbs_of, say)
    if isinstance(facts, OpenTooLong):
        return _open_too_long(facts, name_of, verbs_of, say)
    if isinstance(facts, PresenceDoubt):
        return _presence_doubt(facts, name_of, say)
    if isinstance(facts, AboveForecast | LongRun | BaseLoad | EmptyHomeDraw):
        return _energy(facts, say)
    if isinstance(facts, RoutineMissing):
        return _routine_missing(facts, area_name, say)
    if isinstance(facts, DeviceLeftOn | DeviceStandby):
        return _device(facts, name_of, say)
    if anomaly.type == TYPE_UNUSUAL_VALUE and isinstance(facts, Mapping):
        try:
            return explain_value(facts, say)
        except (KeyError, TypeError, ValueError):
            pass  # facts without all the words need: the text the engine wrote with them
    # Anomaly types whose facts have no class yet carry their text.
    return anomaly.explanation


def _place(anomaly: Anomaly, name_of: NameOf, area_name: NameOf) -> str:
    facts = anomaly.facts
    if isinstance(facts, ActivityFacts) and facts.area is not None:
        return area_name(facts.area)
    return name_of(anomaly.entity_ids[0]) if anomaly.entity_ids else anomaly.type


def explain_incident(
    incident: Incident,
    name_of: NameOf = friendly_name,
    area_name: NameOf = area_label,
    verbs_of: VerbsOf = opened,
    phrases: Mapping[str, str] | None = None,
) -> str:
    """An incident in words: its first alert, how many followed and where, and any doubt.

    phrases: the translated texts of PHRASE_KEYS, as for explain(); English where missing.
    """
    first, *more = incident.anomalies
    text = explain(first, name_of, area_name, phrases, verbs_of)
    alerts = [anomaly for anomaly in more if not isinstance(anomaly.facts, PresenceDoubt)]
    if alerts:
        places = ", ".join(dict.fromkeys(_place(anomaly, name_of, area_name) for anomaly in alerts))
        key = "security_one_more_alert" if len(alerts) == 1 else "security_more_alerts"
        text += " " + Phrases(phrases)(key, count=len(alerts), places=places)
    for doubt in (anomaly for anomaly in more if isinstance(anomaly.facts, PresenceDoubt)):
        text += " " + explain(doubt, name_of, area_name, phrases)
    return text
