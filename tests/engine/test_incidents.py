"""Incidents: alerts that belong together are told once; a new entry is never hidden."""

from __future__ import annotations

from datetime import UTC, datetime, time

from custom_components.smartml.engine.constants import (
    KIND_SECURITY,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_TIME,
)
from custom_components.smartml.engine.facts import (
    ActivityWhenEmpty,
    AnomalyFacts,
    EntryWithoutArrival,
    OpenTooLong,
    PresenceDoubt,
    UnusualTime,
)
from custom_components.smartml.engine.incidents import IncidentGrouper, is_door_alert, spell_of
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import explain_incident

DOOR = "binary_sensor.front_door"
KITCHEN = "binary_sensor.fridge"
MINUTE = 60.0
AWAY = "away:1000"


def _common(entity_id: str, area: str | None, state: str) -> dict[str, object]:
    return {
        "entity_id": entity_id,
        "area": area,
        "state": state,
        "day_type": "weekday",
        "at": time(13, 0),
        "start_hour": 0,
        "end_hour": 0,
        "times_seen": 0,
        "days_of_history": 20.0,
        "expected_per_hour": 0.0001,
        "threshold": 6.0,
    }


def _alert(ts: float, *, door: bool = False, state: str = "empty") -> Anomaly:
    entity_id, area = (DOOR, None) if door else (KITCHEN, "kitchen")
    facts: AnomalyFacts
    if state != "empty":
        type_, facts = TYPE_UNUSUAL_TIME, UnusualTime(**_common(entity_id, area, state))  # type: ignore[arg-type]
    elif door:
        type_ = TYPE_ENTRY_WITHOUT_ARRIVAL
        facts = EntryWithoutArrival(**_common(entity_id, area, state), arrival_grace_minutes=30.0)  # type: ignore[arg-type]
    else:
        type_ = TYPE_ACTIVITY_WHEN_EMPTY
        facts = ActivityWhenEmpty(**_common(entity_id, area, state), arrival_grace_minutes=30.0)  # type: ignore[arg-type]
    return Anomaly(f"{type_}-{ts}", KIND_SECURITY, type_, [entity_id], ts, 7.0, facts)


def test_a_burst_of_activity_while_away_is_one_incident() -> None:
    grouper = IncidentGrouper(quiet_s=60 * MINUTE, entry_quiet_s=10 * MINUTE)
    first, is_new = grouper.add(0.0, _alert(0.0), AWAY)
    assert is_new
    for minute in (3, 9, 40, 95):
        incident, is_new = grouper.add(minute * MINUTE, _alert(minute * MINUTE), AWAY)
        assert incident is first and not is_new
    assert len(grouper.incidents) == 1
    assert first.entity_ids == [KITCHEN] and len(first.anomalies) == 5


def test_a_door_opening_after_a_quiet_spell_always_opens_a_new_incident() -> None:
    grouper = IncidentGrouper(quiet_s=60 * MINUTE, entry_quiet_s=10 * MINUTE)
    old, _ = grouper.add(0.0, _alert(0.0), AWAY)
    # Amid ongoing activity the door joins; after 10 quiet minutes it is an entry of its own.
    joined, is_new = grouper.add(5 * MINUTE, _alert(5 * MINUTE, door=True), AWAY)
    assert joined is old and not is_new
    entry, is_new = grouper.add(20 * MINUTE, _alert(20 * MINUTE, door=True), AWAY)
    assert is_new and entry is not old
    assert old.end == 20 * MINUTE and entry.end is None


def test_an_incident_closes_after_its_quiet_window_and_other_spells_stay_apart() -> None:
    grouper = IncidentGrouper(quiet_s=60 * MINUTE)
    night, _ = grouper.add(0.0, _alert(0.0, state="night"), "night:2024-01-01")
    assert grouper.close_due(30 * MINUTE) is None
    assert grouper.close_due(60 * MINUTE) is night and night.end == 60 * MINUTE
    assert grouper.open_incident is None
    # Another night, hours later: a new incident.
    other, is_new = grouper.add(26 * 60 * MINUTE, _alert(26 * 60 * MINUTE, state="night"), "night:2024-01-02")
    assert is_new and other is not night


def test_later_evidence_of_the_same_spell_updates_the_closed_incident() -> None:
    grouper = IncidentGrouper(quiet_s=60 * MINUTE)
    first, _ = grouper.add(0.0, _alert(0.0), AWAY)
    grouper.close_due(2 * 60 * MINUTE)
    again, is_new = grouper.add(3 * 60 * MINUTE, _alert(3 * 60 * MINUTE), AWAY)
    assert again is first and not is_new and first.end is None
    different, is_new = grouper.add(6 * 60 * MINUTE, _alert(6 * 60 * MINUTE), "away:9999")
    assert is_new and different is not first


def test_activity_of_another_time_away_opens_its_own_incident_even_while_one_is_open() -> None:
    grouper = IncidentGrouper(quiet_s=60 * MINUTE)
    first, _ = grouper.add(0.0, _alert(0.0), AWAY)
    # Someone came and went within the hour: the next activity belongs to a new time away.
    later, is_new = grouper.add(45 * MINUTE, _alert(45 * MINUTE), "away:2500")
    assert is_new and later is not first and first.end == 45 * MINUTE
    # One without a spell (activity while someone is home, by day) joins whatever is open.
    assert grouper.add(50 * MINUTE, _alert(50 * MINUTE, state="occupied"), None) == (later, False)
    # An incident without a spell does not take in a time away that begins after it.
    other = IncidentGrouper(quiet_s=60 * MINUTE)
    by_day, _ = other.add(0.0, _alert(0.0, state="occupied"), None)
    away, is_new = other.add(40 * MINUTE, _alert(40 * MINUTE), AWAY)
    assert is_new and away is not by_day


def test_spells_and_openings_from_the_facts() -> None:
    local = datetime(2024, 1, 2, 3, 0, tzinfo=UTC)
    assert spell_of(_alert(0.0), local, 1000.0) == AWAY
    assert spell_of(_alert(0.0, state="night"), local, None) == "night:2024-01-01"
    assert spell_of(_alert(0.0, state="occupied"), local, 1000.0) is None
    held = OpenTooLong(
        entity_id=DOOR,
        open_since=time(12, 0),
        open_minutes=30.0,
        longest_open_minutes=5.0,
        limit_minutes=10.0,
        days_of_history=20.0,
    )
    held_open = Anomaly("o1", KIND_SECURITY, TYPE_OPEN_TOO_LONG, [DOOR], 0.0, 3.0, held)
    assert spell_of(held_open, local, 1000.0) is None
    # A door held open is a new situation too: it opens its own incident after a quiet spell.
    assert is_door_alert(_alert(0.0, door=True)) and not is_door_alert(_alert(0.0)) and is_door_alert(held_open)


def test_an_incident_in_words_names_its_first_alert_and_where_the_others_were() -> None:
    grouper = IncidentGrouper()
    incident, _ = grouper.add(0.0, _alert(0.0, door=True), AWAY)
    assert explain_incident(incident).startswith("Front door opened at 13:00 while everyone was away.")
    assert "followed" not in explain_incident(incident)
    grouper.add(MINUTE, _alert(MINUTE), AWAY)
    assert explain_incident(incident).endswith(" 1 more alert followed (Kitchen).")
    grouper.add(2 * MINUTE, _alert(2 * MINUTE), AWAY)
    assert explain_incident(incident).endswith(" 2 more alerts followed (Kitchen).")


def test_a_presence_doubt_joins_the_time_away_and_is_said_not_counted() -> None:
    grouper = IncidentGrouper()
    incident, _ = grouper.add(0.0, _alert(0.0, door=True), AWAY)
    grouper.close_due(2 * 3600.0)  # quiet for two hours: closed
    facts = PresenceDoubt(entity_id="person.alex", away_since=time(12, 0), in_use_since=time(13, 0), in_use_minutes=125)
    doubt = Anomaly("d1", KIND_SECURITY, TYPE_PRESENCE_DOUBT, ["person.alex"], 7500.0, 0.0, facts)
    assert spell_of(doubt, datetime(2024, 1, 2, 15, 5, tzinfo=UTC), 1000.0) == AWAY
    again, is_new = grouper.add(7500.0, doubt, AWAY)
    assert again is incident and not is_new  # it updates the incident of that time away
    text = explain_incident(incident)
    assert "followed" not in text
    assert text.endswith(
        " Alex has said away since 12:00, but the home has been in use since 13:00 (125 minutes): more likely "
        "a phone left at home than an intruder. Activity no longer alerts until someone arrives or leaves."
    )
    assert incident.entity_ids == [DOOR, "person.alex"]


def test_a_long_running_grouper_forgets_old_incidents() -> None:
    grouper = IncidentGrouper()
    grouper.add(0.0, _alert(0.0, door=True), AWAY)
    grouper.add(10 * 3600.0, _alert(10 * 3600.0, door=True), "away:2000")
    grouper.forget_before(5 * 3600.0)
    assert [incident.start for incident in grouper.incidents] == [10 * 3600.0]
    _, is_new = grouper.add(10 * 3600.0 + 4000.0, _alert(10 * 3600.0 + 4000.0), AWAY)
    assert is_new  # the forgotten time away is not reopened


def test_an_incident_marked_normal_takes_no_later_alert() -> None:
    grouper = IncidentGrouper()
    first, _ = grouper.add(0.0, _alert(0.0), AWAY)
    grouper.settle(first.id)
    # Within its quiet window and its spell, and a door within the entry's ten minutes: both new.
    later, is_new = grouper.add(5 * MINUTE, _alert(5 * MINUTE), AWAY)
    assert is_new and later is not first and first.end == 0.0
    grouper.settle(later.id)
    door, is_new = grouper.add(6 * MINUTE, _alert(6 * MINUTE, door=True), AWAY)
    assert is_new and door is not later


def test_a_door_held_open_opens_its_own_incident_at_once() -> None:
    grouper = IncidentGrouper()
    entry, _ = grouper.add(0.0, _alert(0.0, door=True), AWAY)
    held = OpenTooLong(
        entity_id=DOOR,
        open_since=time(12, 0),
        open_minutes=10.0,
        longest_open_minutes=4.0,
        limit_minutes=10.0,
        days_of_history=20.0,
    )
    incident, is_new = grouper.add(
        7 * MINUTE, Anomaly("o1", KIND_SECURITY, TYPE_OPEN_TOO_LONG, [DOOR], 7 * MINUTE, 3.0, held), None
    )
    assert is_new and incident is not entry
