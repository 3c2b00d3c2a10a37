"""Anomalies in words: every phrasing explain() can produce, from typed facts."""

from __future__ import annotations

from datetime import time

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
)
from custom_components.smartml.engine.facts import (
    ActivityFacts,
    ActivityWhenEmpty,
    AnomalyFacts,
    EntryWithoutArrival,
    OpenTooLong,
    PresenceDoubt,
    UnusualTime,
)
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import explain, friendly_name

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
