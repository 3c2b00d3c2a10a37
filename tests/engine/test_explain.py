"""Anomalies in words: every phrasing explain() can produce, from typed facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import time
import itertools
from string import Formatter
from typing import Any

import pytest

from custom_components.smartml.engine.constants import (
    KIND_ENERGY,
    KIND_SECURITY,
    TYPE_ABOVE_FORECAST,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_TIME,
    TYPE_UNUSUAL_VALUE,
)
from custom_components.smartml.engine.facts import (
    AboveForecast,
    ActivityFacts,
    ActivityWhenEmpty,
    AnomalyFacts,
    BaseLoad,
    DeviceLeftOn,
    DeviceStandby,
    EmptyHomeDraw,
    EntryWithoutArrival,
    LongRun,
    OpenTooLong,
    PresenceDoubt,
    RoutineMissing,
    UnusualTime,
)
from custom_components.smartml.engine.incidents import Incident
from custom_components.smartml.engine.phrases import ENGLISH, Phrases
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import (
    ACTIVITY,
    ALARM_CHANGED,
    OPENED,
    PHRASE_KEYS,
    UNLOCKED,
    Verbs,
    explain,
    explain_incident,
    friendly_name,
)

DOOR = "binary_sensor.front_door"
KITCHEN_MOTION = "binary_sensor.kitchen_motion"


def _anomaly(type_: str, facts: AnomalyFacts) -> Anomaly:
    return Anomaly("a1", KIND_SECURITY, type_, [facts.entity_id], 1.0, 7.5, facts)


def _activity(cls: type[ActivityFacts], **changes: object) -> ActivityFacts:
    fields: dict[str, object] = {
        "entity_id": DOOR,
        "area": None,
        "state": "night",
        "day_type": "weekday",
        "at": time(3, 10),
        "start_hour": 1,
        "end_hour": 5,
        "times_seen": 0,
        "days_of_history": 21.0,
        "expected_per_hour": 0.0001,
        "threshold": 6.2,
    }
    if cls is not UnusualTime:
        fields["arrival_grace_minutes"] = 2.5
    fields.update(changes)
    return cls(**fields)  # type: ignore[arg-type]


def test_friendly_name_falls_back_to_the_object_id() -> None:
    assert friendly_name("binary_sensor.front_door") == "Front door"
    assert friendly_name("front_door") == "Front door"


def test_door_at_an_unusual_time_at_night() -> None:
    anomaly = _anomaly(TYPE_UNUSUAL_TIME, _activity(UnusualTime, hours_observed=84.0))
    assert explain(anomaly) == (
        "Front door opened at 03:10 at night while the home was occupied. In 21 days of history, with the home "
        "asleep for 84 hours between 01:00 and 05:00, it had never opened."
    )


def test_never_is_not_said_on_a_few_hours_of_evidence() -> None:
    facts = _activity(EntryWithoutArrival, state="empty", start_hour=18, end_hour=21, hours_observed=5.2)
    assert explain(_anomaly(TYPE_ENTRY_WITHOUT_ARRIVAL, facts)) == (
        "Front door opened at 03:10 while everyone was away. In 21 days of history, with everyone away for "
        "5 hours between 18:00 and 21:00, it had not yet opened. Nobody arrived within 2.5 minutes."
    )


def test_an_hour_of_evidence_is_one_hour() -> None:
    facts = _activity(UnusualTime, start_hour=3, end_hour=4, hours_observed=1.2, times_seen=1)
    assert "asleep for 1 hour between 03:00 and 04:00, it had opened only once." in explain(
        _anomaly(TYPE_UNUSUAL_TIME, facts)
    )


def test_area_seen_once_while_someone_was_home() -> None:
    facts = _activity(
        UnusualTime, entity_id=KITCHEN_MOTION, area="living_room", state="occupied", times_seen=1, hours_observed=60.0
    )
    assert explain(_anomaly(TYPE_UNUSUAL_TIME, facts)) == (
        "Activity in Living room at 03:10 while someone was home. In 21 days of history, with someone home for "
        "60 hours between 01:00 and 05:00, it had been active only once."
    )


def test_entry_without_arrival_in_a_window_across_midnight() -> None:
    facts = _activity(
        EntryWithoutArrival,
        state="empty",
        start_hour=22,
        end_hour=5,
        times_seen=3,
        days_of_history=8.5,
        hours_observed=30.4,
    )
    assert explain(_anomaly(TYPE_ENTRY_WITHOUT_ARRIVAL, facts)) == (
        "Front door opened at 03:10 while everyone was away. In 8.5 days of history, with everyone away for "
        "30 hours between 22:00 and 05:00, it had opened only 3 times. Nobody arrived within 2.5 minutes."
    )


def test_activity_when_empty_at_any_time_of_day() -> None:
    facts = _activity(
        ActivityWhenEmpty,
        entity_id=KITCHEN_MOTION,
        area="kitchen",
        state="empty",
        start_hour=14,
        end_hour=14,
        hours_observed=250.0,
    )
    assert explain(_anomaly(TYPE_ACTIVITY_WHEN_EMPTY, facts)) == (
        "Activity in Kitchen at 03:10 while everyone was away. In 21 days of history, with everyone away for "
        "250 hours at any time of day, it had never been active. Nobody arrived within 2.5 minutes."
    )


def test_facts_stored_without_their_evidence_still_read_well() -> None:
    """Anomalies stored before the hours of evidence were kept (feedback, old events)."""
    assert explain(_anomaly(TYPE_UNUSUAL_TIME, _activity(UnusualTime))) == (
        "Front door opened at 03:10 at night while the home was occupied. In 21 days of history it had never "
        "opened between 01:00 and 05:00 at night while the home was occupied."
    )


def test_presence_doubt() -> None:
    facts = PresenceDoubt(
        entity_id="person.alex", away_since=time(11, 27), in_use_since=time(11, 37), in_use_minutes=40.0
    )
    anomaly = Anomaly("d1", KIND_SECURITY, TYPE_PRESENCE_DOUBT, ["person.alex"], 1.0, 0.0, facts)
    assert explain(anomaly, {"person.alex": "Alex"}.__getitem__) == (
        "Alex has said away since 11:27, but the home has been in use since 11:37 (40 minutes): more likely a "
        "phone left at home than an intruder. Activity no longer alerts until someone arrives or leaves."
    )
    assert PresenceDoubt.from_json(facts.as_json()) == facts


def test_door_held_open() -> None:
    facts = OpenTooLong(
        entity_id=DOOR,
        open_since=time(11, 5),
        open_minutes=42.5,
        longest_open_minutes=12.0,
        limit_minutes=24.0,
        days_of_history=21.0,
    )
    assert explain(_anomaly(TYPE_OPEN_TOO_LONG, facts)) == (
        "Front door has been open for 42.5 minutes since 11:05; in 21 days it was never open longer than 12 minutes."
    )


@pytest.mark.parametrize(
    "facts",
    [
        _activity(UnusualTime),
        OpenTooLong(
            entity_id=DOOR,
            open_since=time(11, 5),
            open_minutes=42.5,
            longest_open_minutes=12.0,
            limit_minutes=24.0,
            days_of_history=21.0,
        ),
    ],
)
def test_doors_are_named_by_the_caller(facts: AnomalyFacts) -> None:
    text = explain(_anomaly(TYPE_UNUSUAL_TIME, facts), {DOOR: "Porte d'entrée"}.__getitem__)
    assert text.startswith("Porte d'entrée ")


def test_areas_are_named_by_the_caller_or_from_their_id() -> None:
    facts = _activity(UnusualTime, entity_id=KITCHEN_MOTION, area="kitchen")
    anomaly = _anomaly(TYPE_UNUSUAL_TIME, facts)
    assert explain(anomaly, lambda entity_id: "unused").startswith("Activity in Kitchen ")
    assert explain(anomaly, area_name={"kitchen": "Cuisine"}.__getitem__).startswith("Activity in Cuisine ")


def test_facts_without_a_class_keep_their_text() -> None:
    anomaly = Anomaly("e1", KIND_ENERGY, TYPE_ABOVE_FORECAST, ["sensor.power"], 1.0, 2.0, {"kwh": 1.5}, "Above.")
    assert explain(anomaly) == "Above."


# A translation of every explanation's words, to show each template reaches the text with its
# placeholders filled (Dutch-like: the words need not be good Dutch, only other than English).
DUTCH: dict[str, str] = {
    "security_door_action": "ging open",
    "security_door_action_done": "opengegaan",
    "security_door_left": "open",
    "security_motion_action": "zag beweging",
    "security_motion_action_done": "beweging gezien",
    "security_motion_left": "aan",
    "security_lock_action": "werd ontgrendeld",
    "security_lock_action_done": "ontgrendeld",
    "security_lock_left": "ontgrendeld",
    "security_alarm_action": "veranderde van stand",
    "security_alarm_action_done": "van stand veranderd",
    "security_alarm_left": "uitgeschakeld",
    "security_area_action_done": "actief geweest",
    "security_while_away": "terwijl iedereen weg was",
    "security_while_asleep": "'s nachts terwijl er iemand thuis was",
    "security_while_home": "terwijl er iemand thuis was",
    "security_away_for": "met iedereen weg gedurende {hours}",
    "security_asleep_for": "met het huis in slaap gedurende {hours}",
    "security_home_for": "met iemand thuis gedurende {hours}",
    "security_never_away": "In {days} dagen geschiedenis was iedereen nooit eerder weg {window}.",
    "security_never_asleep": "In {days} dagen geschiedenis sliep het huis nooit eerder {window}.",
    "security_never_home": "In {days} dagen geschiedenis was er nooit eerder iemand thuis {window}.",
    "security_entity_activity": "{name} {action} om {time} {home_state}.",
    "security_area_activity": "Activiteit in {area} om {time} {home_state}.",
    "security_evidence": "In {days} dagen geschiedenis, {time_in_state} {window}, {history}.",
    "security_evidence_without_hours": "In {days} dagen geschiedenis {history} {window} {home_state}.",
    "security_had_not_yet": "was hij nog niet {action}",
    "security_had_never": "was hij nooit {action}",
    "security_had_once": "was hij maar één keer {action}",
    "security_had_times": "was hij maar {count} keer {action}",
    "security_any_time": "op elk uur van de dag",
    "security_between": "tussen {start} en {end}",
    "security_no_arrival": "Binnen {minutes} minuten kwam niemand aan.",
    "security_open_too_long": (
        "{name} staat al {minutes} minuten {state}, sinds {since}; in {days} dagen stond hij nooit langer dan "
        "{longest} minuten {state}."
    ),
    "security_presence_doubt": (
        "{name} zegt weg sinds {away_since}, maar het huis is in gebruik sinds {in_use_since} ({minutes} minuten)."
    ),
    "security_one_more_alert": "Daarna nog {count} melding ({places}).",
    "security_more_alerts": "Daarna nog {count} meldingen ({places}).",
    "value_higher": "{name} gaf {value} rond {time}, hoger dan alles in {period} (hoogstens {highest}).",
    "value_lower": "{name} gaf {value} rond {time}, lager dan alles in {period} (minstens {lowest}).",
    "value_unusual_change": "{name} gaf {value} rond {time}; zo veranderde hij niet in {period}.",
    "value_unusual_change_after": (
        "{name} gaf {value} rond {time}, vlak na {previous}; zo veranderde hij niet in {period}."
    ),
    "value_last_day": "de laatste dag",
    "value_last_days": "de laatste {days} dagen",
    "energy_long_run": "Al {hours} u niet onder {floor} W; meestal rond {usual} W op dit uur.",
    "energy_base_load": "Twee dagen niet onder {floor} W; meestal zakt het tot {usual_floor} W.",
    "energy_empty_home_draw": "Niemand thuis, toch minstens {floor} W (stand-by is {standby} W).",
    "energy_above_forecast": "{used} kWh in {hours} uur; tot {expected_high} kWh verwacht (meestal {expected_usual}).",
    "device_left_on": (
        "{name} verbruikt al {duration} {power}; gestart tussen {earliest} en {latest} draaide hij in {period} "
        "nooit langer dan {longest}."
    ),
    "device_standby": "{name} zakte een dag niet onder {power}; meestal tot {usual_power}.",
    "duration_min": "{minutes} min",
    "duration_h": "{hours} u",
    "duration_h_min": "{hours} u {minutes} min",
    "duration_hour": "{hours} uur",
    "duration_hours": "{hours} uren",
    "duration_day": "{days} dag",
    "duration_days": "{days} dagen",
    "duration_weeks": "{weeks} weken",
    "routine_missing": "Geen activiteit sinds {since} ({quiet}) terwijl er iemand thuis is.",
    "routine_missing_evidence": "Geen activiteit sinds {since} ({quiet}); {days_with}/{days} in {area} vóór {at}.",
    "routine_missing_evidence_usual": (
        "Geen activiteit sinds {since} ({quiet}); {days_with}/{days} dagen in {area} vóór {at} (meestal {usual})."
    ),
    "routine_missing_doubt": "De laatste activiteit was aan een deur.",
}


class _Recorded(dict[str, str]):
    """Translated phrases that note each key asked for."""

    def __init__(self, phrases: Mapping[str, str]) -> None:
        super().__init__(phrases)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}


def _left_open(entity_id: str) -> OpenTooLong:
    return OpenTooLong(
        entity_id=entity_id,
        open_since=time(11, 5),
        open_minutes=42.5,
        longest_open_minutes=12.0,
        limit_minutes=24.0,
        days_of_history=21.0,
    )


def test_every_kind_of_explanation_is_told_in_the_phrases_given() -> None:
    assert {key: _placeholders(text) for key, text in DUTCH.items()} == {
        key: _placeholders(ENGLISH[key]) for key in PHRASE_KEYS
    }
    dutch = _Recorded(DUTCH)
    doubt = PresenceDoubt(
        entity_id="person.alex", away_since=time(11, 27), in_use_since=time(11, 37), in_use_minutes=40.0
    )

    def told(facts: AnomalyFacts, verbs: Verbs = OPENED) -> str:
        return explain(_anomaly(TYPE_UNUSUAL_TIME, facts), phrases=dutch, verbs_of=lambda entity_id: verbs)

    # Security: a door, a lock and an area, each way the evidence is told.
    assert told(_activity(UnusualTime, hours_observed=84.0)) == (
        "Front door ging open om 03:10 's nachts terwijl er iemand thuis was. In 21 dagen geschiedenis, met het "
        "huis in slaap gedurende 84 uren tussen 01:00 en 05:00, was hij nooit opengegaan."
    )
    assert told(_activity(EntryWithoutArrival, state="empty", hours_observed=5.2, times_seen=3), UNLOCKED) == (
        "Front door werd ontgrendeld om 03:10 terwijl iedereen weg was. In 21 dagen geschiedenis, met iedereen weg "
        "gedurende 5 uren tussen 01:00 en 05:00, was hij maar 3 keer ontgrendeld. Binnen 2.5 minuten kwam niemand aan."
    )
    assert told(
        _activity(ActivityWhenEmpty, area="kitchen", state="occupied", start_hour=9, end_hour=9, hours_observed=0.0)
    ) == (
        "Activiteit in Kitchen om 03:10 terwijl er iemand thuis was. In 21 dagen geschiedenis was er nooit eerder "
        "iemand thuis op elk uur van de dag. Binnen 2.5 minuten kwam niemand aan."
    )
    assert told(_activity(UnusualTime, state="empty", times_seen=1), ACTIVITY) == (
        "Front door zag beweging om 03:10 terwijl iedereen weg was. In 21 dagen geschiedenis was hij maar één keer "
        "beweging gezien tussen 01:00 en 05:00 terwijl iedereen weg was."
    )
    assert told(_left_open("lock.back_door"), UNLOCKED) == (
        "Back door staat al 42.5 minuten ontgrendeld, sinds 11:05; in 21 dagen stond hij nooit langer dan 12 minuten "
        "ontgrendeld."
    )
    assert told(doubt) == "Alex zegt weg sinds 11:27, maar het huis is in gebruik sinds 11:37 (40 minuten)."
    door, kitchen = (_anomaly(TYPE_UNUSUAL_TIME, _activity(UnusualTime, area=area)) for area in (None, "kitchen"))
    incident = Incident(start=0.0, last=0.0, spell=None, anomalies=[door, kitchen, kitchen])
    assert explain_incident(incident, phrases=dutch).endswith(" Daarna nog 2 meldingen (Kitchen).")
    assert explain_incident(replace(incident, anomalies=[door, kitchen]), phrases=dutch).endswith(
        " Daarna nog 1 melding (Kitchen)."
    )

    # Energy, devices and the routine, with their durations.
    def said(facts: AnomalyFacts) -> str:
        return explain(Anomaly("e1", KIND_ENERGY, "energy", ["switch.kettle"], 1.0, 1.0, facts), phrases=dutch)

    assert said(LongRun(floor_w=3491.6, threshold_w=1.0, usual_w=539.5, hours=4.04, hour=3)) == (
        "Al 4.0 u niet onder 3492 W; meestal rond 540 W op dit uur."
    )
    assert said(BaseLoad(floor_w=240.0, threshold_w=1.0, usual_floor_w=120.0, standby_w=50.0)) == (
        "Twee dagen niet onder 240 W; meestal zakt het tot 120 W."
    )
    assert said(EmptyHomeDraw(floor_w=300.0, threshold_w=1.0, standby_w=80.0)) == (
        "Niemand thuis, toch minstens 300 W (stand-by is 80 W)."
    )
    assert said(AboveForecast(used_kwh=12.345, expected_p50_kwh=2.0, expected_p90_kwh=3.333, hours=6)) == (
        "12.35 kWh in 6 uur; tot 3.33 kWh verwacht (meestal 2.00)."
    )
    left_on = DeviceLeftOn(
        entity_id="switch.kettle", power_w=2400.0, minutes=650.4, longest_minutes=60.0, start_hour=2, weeks=0.14
    )
    assert said(left_on) == (
        "Kettle verbruikt al 10 u 50 min 2.4 kW; gestart tussen 20:00 en 08:00 draaide hij in 1 dag nooit langer "
        "dan 1 u."
    )
    assert said(replace(left_on, minutes=45.0, weeks=1.0)).endswith(" in 7 dagen nooit langer dan 1 u.")
    assert " 45 min " in said(replace(left_on, minutes=45.0))
    assert said(replace(left_on, weeks=7.4)).endswith(" in 7 weken nooit langer dan 1 u.")
    assert said(DeviceStandby(entity_id="switch.tv", floor_w=5.0, usual_floor_w=0.5, threshold_w=1.0)) == (
        "Tv zakte een dag niet onder 5 W; meestal tot 0 W."
    )

    routine = RoutineMissing(
        since=time(7, 0),
        at=time(11, 0),
        quiet_minutes=240.0,
        day_type="weekday",
        area="kitchen",
        days_with_activity=9,
        days_considered=10,
        usual_first=None,
        expected_bouts=3.0,
        threshold=1.0,
        presence_doubted=True,
        days_of_history=20.0,
    )
    assert said(routine) == (
        "Geen activiteit sinds 07:00 (4 u); 9/10 in Kitchen vóór 11:00. De laatste activiteit was aan een deur."
    )
    assert said(replace(routine, usual_first=time(7, 5), presence_doubted=False)).endswith("(meestal 07:05).")
    assert said(replace(routine, area=None, presence_doubted=False)) == (
        "Geen activiteit sinds 07:00 (4 u) terwijl er iemand thuis is."
    )

    # A watched sensor's unusual value, each way it is told.
    value = {"name": "Garage temperature", "value": 41.2, "unit": "°C", "local_time": "00:26", "days_of_history": 2}
    spans: list[dict[str, object]] = [
        {"highest": 24.3},
        {"lowest": 45.0},
        {"lowest": 10.0, "highest": 50.0, "previous": 20.0, "days_of_history": 1},
        {"lowest": 10.0, "highest": 50.0},
    ]
    assert [
        explain(Anomaly("v", KIND_SECURITY, TYPE_UNUSUAL_VALUE, [], 1.0, 1.0, {**value, **span}), phrases=dutch)
        for span in spans
    ] == [
        "Garage temperature gaf 41.2 °C rond 00:26, hoger dan alles in de laatste 2 dagen (hoogstens 24.3 °C).",
        "Garage temperature gaf 41.2 °C rond 00:26, lager dan alles in de laatste 2 dagen (minstens 45 °C).",
        "Garage temperature gaf 41.2 °C rond 00:26, vlak na 20 °C; zo veranderde hij niet in de laatste dag.",
        "Garage temperature gaf 41.2 °C rond 00:26; zo veranderde hij niet in de laatste 2 dagen.",
    ]

    # The rest of the words: the other sensors' verbs, the other states.
    for verbs in (OPENED, ACTIVITY, UNLOCKED, ALARM_CHANGED):
        told(_left_open(DOOR), verbs)
        for state, thin in itertools.product(("empty", "night", "occupied"), (1.0, 50.0)):
            told(_activity(UnusualTime, state=state, hours_observed=0.0), verbs)
            told(_activity(UnusualTime, state=state, hours_observed=thin), verbs)
    assert dutch.asked == set(PHRASE_KEYS)


def test_a_translation_that_cannot_be_filled_in_is_said_in_english() -> None:
    say = Phrases({"duration_h": "{uren} u", "duration_min": "{minutes} min."})
    assert say("duration_h", hours=2) == "2 h"
    assert say("duration_min", minutes=5) == "5 min."
    assert say("duration_weeks", weeks=3) == "3 weeks"
