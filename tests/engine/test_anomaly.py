"""Security anomalies and the streaming detector: synthetic homes and series, plus real fixtures."""

from __future__ import annotations

from datetime import datetime, time, timedelta
import json
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.smartml.engine.anomaly import (
    KIND_SECURITY,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_TIME,
    Anomaly,
    SecurityModel,
)
from custom_components.smartml.engine.facts import ActivityWhenEmpty, EntryWithoutArrival, PresenceDoubt, UnusualTime
from custom_components.smartml.engine.incidents import is_door_alert
from custom_components.smartml.engine.observations import ObservationStore, entity_roles
from custom_components.smartml.engine.replay import load_replay
from custom_components.smartml.engine.security_context import LEAVING_MAX_SECONDS, RUN_GAP_SECONDS
from custom_components.smartml.engine.security_live import quiet_span
from custom_components.smartml.engine.security_rates import (
    MIN_DEPARTURE_GRACE_SECONDS,
    doubted_spells,
    leaving_doors,
    near_moments,
)
from custom_components.smartml.engine.security_threshold import held_out_threshold, min_threshold, source_thresholds
from custom_components.smartml.engine.streaming import StreamingDetector
from custom_components.smartml.explain import explain
from custom_components.smartml.fit_reasons import say_reason, say_reasons

FIXTURES = Path(__file__).parent.parent / "fixtures"
TZ = ZoneInfo("Europe/Paris")
DOOR = "binary_sensor.front_door"
PERSON = "person.alex"
KITCHEN = "binary_sensor.kitchen_motion"
LIVING = "binary_sensor.living_motion"
SPEC = {
    "timezone": "Europe/Paris",
    "areas": {"kitchen": {"occupancy": [KITCHEN]}, "living": {"occupancy": [LIVING]}},
    "presence": [PERSON],
    "security": [DOOR],
}
FIRST_DAY = datetime(2024, 3, 4, tzinfo=TZ)  # a Monday


def _at(day: int, hour: float) -> float:
    return (FIRST_DAY + timedelta(days=day, hours=hour)).timestamp()


def _home(days: int = 21) -> ObservationStore:
    """A routine: away 09:00-17:00 on weekdays (door on leaving and arriving), kitchen busy in
    the morning, the evening and weekend days, and a cat in the living room every night at a
    random hour between 01:00 and 05:00."""
    rng = np.random.default_rng(1)
    roles = entity_roles(SPEC)
    rows: list[tuple[str, str, float]] = [(PERSON, "home", _at(0, 0)), (DOOR, "off", _at(0, 0))]
    for day in range(days):
        weekday = (FIRST_DAY + timedelta(days=day)).weekday() < 5
        busy = [*np.arange(7.0, 8.5, 0.25), *np.arange(18.0, 23.0, 0.25)]
        if not weekday:
            busy += list(np.arange(10.0, 17.0, 0.5))
        for hour in busy:
            rows += [(KITCHEN, "on", _at(day, hour)), (KITCHEN, "off", _at(day, hour + 0.1))]
        cat = float(rng.uniform(1.0, 5.0))
        rows += [(LIVING, "on", _at(day, cat)), (LIVING, "off", _at(day, cat + 0.02))]
        if weekday:
            leave, back = 9.0 + rng.uniform(-0.3, 0.3), 17.0 + rng.uniform(-0.5, 0.5)
            rows += [(DOOR, "on", _at(day, leave)), (PERSON, "not_home", _at(day, leave) + 5)]
            rows += [(DOOR, "off", _at(day, leave) + 20)]
            rows += [(DOOR, "on", _at(day, back)), (PERSON, "home", _at(day, back) + 10)]
            rows += [(DOOR, "off", _at(day, back) + 30)]
        else:
            rows += [(DOOR, "on", _at(day, 11.0)), (DOOR, "off", _at(day, 11.0) + 15)]
    store = ObservationStore(max_points=10**6)
    for entity_id, state, ts in sorted(rows, key=lambda r: r[2]):
        store.add_state(entity_id, roles[entity_id], state, ts)
    return store


@pytest.fixture(scope="module")
def fitted() -> SecurityModel:
    model = SecurityModel()
    model.fit(_home(), SPEC, _at(21, 0))
    return model


def _fresh(days: int = 21, sensitivity: str = "medium") -> SecurityModel:
    model = SecurityModel(sensitivity=sensitivity)
    model.fit(_home(days), SPEC, _at(days, 0))
    return model


def _reported(model: SecurityModel, ts: float) -> list[Anomaly]:
    """What check_open_durations reports over the next hour after ts."""
    out: list[Anomaly] = []
    for minute in range(1, 61):
        out += model.check_open_durations(ts + 60.0 * minute)
    return out


def test_model_learns_night_graces_and_threshold(fitted: SecurityModel) -> None:
    assert fitted.ready() == (True, None)
    assert fitted.night_hours_[3] and not fitted.night_hours_[12]
    assert fitted.arrival_grace_s_ <= 300 and fitted.departure_grace_s_ <= 300
    assert math.isfinite(fitted.threshold_)


def test_door_at_night_in_empty_home_raises_anomaly() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 23.0))  # everyone left late in the evening
    assert model.check(DOOR, 1.0, _at(22, 3 + 10 / 60)) is None  # waits for an arrival
    model.check(DOOR, 0.0, _at(22, 3 + 10 / 60) + 20)
    found = _reported(model, _at(22, 3 + 10 / 60))
    assert [a.type for a in found] == [TYPE_ENTRY_WITHOUT_ARRIVAL]
    anomaly = found[0]
    assert anomaly.kind == KIND_SECURITY and anomaly.entity_ids == [DOOR]
    assert "03:10" in explain(anomaly) and "away" in explain(anomaly)
    assert isinstance(anomaly.facts, EntryWithoutArrival)
    assert anomaly.facts.state == "empty" and anomaly.facts.at == time(3, 10)


def test_routine_arrival_is_not_flagged() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(DOOR, 1.0, _at(21, 17.0))
    model.check(PERSON, 1.0, _at(21, 17.0) + 10)
    model.check(DOOR, 0.0, _at(21, 17.0) + 30)
    assert _reported(model, _at(21, 17.0)) == []


def test_cat_at_night_is_rare_but_normal() -> None:
    model = _fresh()
    assert model.check(LIVING, 1.0, _at(21, 2.5)) is None
    assert _reported(model, _at(21, 2.5)) == []


def test_door_at_night_while_asleep_is_an_unusual_time() -> None:
    model = _fresh()
    model.check(DOOR, 1.0, _at(21, 3.2))
    model.check(DOOR, 0.0, _at(21, 3.2) + 20)
    found = _reported(model, _at(21, 3.2))
    assert [a.type for a in found] == [TYPE_UNUSUAL_TIME]
    assert "at night" in explain(found[0])


def test_feedback_suppresses_the_same_situation() -> None:
    model = _fresh()
    model.check(DOOR, 1.0, _at(21, 3.2))
    model.check(DOOR, 0.0, _at(21, 3.2) + 20)
    first = _reported(model, _at(21, 3.2))
    assert len(first) == 1
    model.add_feedback(Anomaly.from_json(json.loads(json.dumps(first[0].as_json()))))
    model.check(DOOR, 1.0, _at(22, 3.4))
    model.check(DOOR, 0.0, _at(22, 3.4) + 20)
    assert _reported(model, _at(22, 3.4)) == []
    # Feedback is plain JSON and survives a refit.
    saved = json.loads(json.dumps(model.feedback_as_dict()))
    again = _fresh()
    again.load_feedback(saved)
    again.check(DOOR, 1.0, _at(22, 3.4))
    again.check(DOOR, 0.0, _at(22, 3.4) + 20)
    assert _reported(again, _at(22, 3.4)) == []


# The kitchen's motion sensor picked for security too, as a homeowner may: it is no door.
MOTION_ON_THE_LIST = {
    **SPEC,
    "areas": {"living": {"occupancy": [LIVING]}},
    "security": [DOOR, KITCHEN],
    "device_classes": {DOOR: "door", KITCHEN: "motion"},
}


def _fitted_with_motion_on_the_list() -> SecurityModel:
    model = SecurityModel()
    model.fit(_home(), MOTION_ON_THE_LIST, _at(21, 0))
    assert model.ready()[0]
    return model


def test_a_motion_sensor_on_the_security_list_is_the_household_s_while_home() -> None:
    model = _fitted_with_motion_on_the_list()
    # Up at 03:00 to the kitchen, where the sensor never fired at night: no "unusual time".
    for minute in (0, 12, 24):  # each past the 10 quiet minutes that would have been a new alert
        model.check(KITCHEN, 1.0, _at(21, 3.0) + 60 * minute)
        model.check(KITCHEN, 0.0, _at(21, 3.0) + 60 * minute + 30)
    assert _reported(model, _at(21, 3.0)) == []
    # Held on for hours (an occupancy sensor), it is no door held open either.
    assert KITCHEN not in model.open_limit_s_ and DOOR in model.open_limit_s_
    # The door keeps its own watch.
    model.check(DOOR, 1.0, _at(22, 3.2))
    model.check(DOOR, 0.0, _at(22, 3.2) + 20)
    assert [a.type for a in _reported(model, _at(22, 3.2))] == [TYPE_UNUSUAL_TIME]


def test_a_motion_sensor_on_the_security_list_tells_activity_while_away() -> None:
    model = _fitted_with_motion_on_the_list()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(KITCHEN, 1.0, _at(21, 12.0))
    found = _reported(model, _at(21, 12.0))
    assert [a.type for a in found] == [TYPE_ACTIVITY_WHEN_EMPTY]
    assert found[0].entity_ids == [KITCHEN] and isinstance(found[0].facts, ActivityWhenEmpty)
    # Someone moving in the home: it joins what is already told rather than opening a new incident.
    assert not is_door_alert(found[0])
    assert found[0].facts.source == f"entity:{KITCHEN}"
    assert explain(found[0]).startswith("Kitchen motion opened at 12:00 while everyone was away.")


def test_an_alarm_panel_disarmed_for_days_is_the_household_in_not_a_door_held_open() -> None:
    panel = "alarm_control_panel.home"
    spec = {**SPEC, "security": [DOOR, panel]}
    store = _home()
    # Armed while out on weekdays; disarmed each evening and all weekend (64 hours at most).
    store.add_state(panel, "security", "disarmed", _at(0, 0))
    for day in range(21):
        if (FIRST_DAY + timedelta(days=day)).weekday() < 5:
            store.add_state(panel, "security", "armed_away", _at(day, 8.0))
            store.add_state(panel, "security", "disarmed", _at(day, 18.0))
    model = SecurityModel()
    model.fit(store, spec, _at(21, 0))
    assert panel not in model.open_limit_s_ and DOOR in model.open_limit_s_
    # A week's holiday at home: disarmed since Friday evening, still on the next Saturday.
    assert [a for a in model.check_open_durations(_at(26, 12.0)) if a.type == TYPE_OPEN_TOO_LONG] == []


def _away_with_an_entry_at(model: SecurityModel, ts: float) -> list[Anomaly]:
    """The door opens at ts while everyone is already away, then the kitchen."""
    model.check(DOOR, 1.0, ts)
    model.check(DOOR, 0.0, ts + 20)
    model.check(KITCHEN, 1.0, ts + 60)
    return _reported(model, ts)


def _away_with_an_entry(model: SecurityModel) -> list[Anomaly]:
    """Everyone leaves at 09:00 on a weekday; the door opens at 11:00, then the kitchen."""
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(DOOR, 1.0, _at(21, 11.0))
    model.check(DOOR, 0.0, _at(21, 11.0) + 20)
    model.check(KITCHEN, 1.0, _at(21, 11.0) + 60)
    return _reported(model, _at(21, 11.0))


def test_an_entry_while_away_is_reported_within_the_door_grace() -> None:
    model = _fresh()
    found = _away_with_an_entry(model)
    assert found[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    assert found[0].ts == _at(21, 11.0)
    # The door's own lag to an arrival (seconds here) decides, not the fixed half hour of old.
    assert model.entry_grace_s_ <= model.arrival_grace_s_ <= 300


def test_an_arrival_explains_what_waits_even_after_its_grace_ran_out() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(DOOR, 1.0, _at(21, 11.0))
    model.check(DOOR, 0.0, _at(21, 11.0) + 20)
    # The phone says home a few seconds after the grace, before the next check.
    model.check(PERSON, 1.0, _at(21, 11.0) + model.entry_grace_s_ + 5)
    assert _reported(model, _at(21, 11.0)) == []


def _leave_with_trips(model: SecurityModel, trips: list[float]) -> list[Anomaly]:
    """Everyone leaves at 09:00 on a weekday; the door is used `trips` seconds after."""
    left = _at(21, 9.0)
    model.check(PERSON, 0.0, left)
    for after in trips:
        model.check(DOOR, 1.0, left + after)
        model.check(DOOR, 0.0, left + after + 10)
    return _reported(model, left)


def test_going_back_in_for_the_keys_is_still_the_leaving() -> None:
    model = _fresh()
    grace = model.departure_grace_s_
    # Out within the grace, back in for the keys five minutes later, out again.
    assert _leave_with_trips(model, [grace - 30, grace + 300, grace + 330]) == []
    # The same door five minutes after the grace, with no first trip, is an entry.
    found = _leave_with_trips(_fresh(), [grace + 300])
    assert [a.type for a in found] == [TYPE_ENTRY_WITHOUT_ARRIVAL]
    # A trip long after the last one is no longer the leaving.
    found = _leave_with_trips(_fresh(), [grace - 30, grace + RUN_GAP_SECONDS + 60])
    assert [a.type for a in found] == [TYPE_ENTRY_WITHOUT_ARRIVAL]


def test_a_later_trip_out_excuses_the_door_not_the_home() -> None:
    model = _fresh()
    grace = model.departure_grace_s_
    left = _at(21, 9.0)
    assert _leave_with_trips(model, [grace - 30, grace + 300]) == []
    # Someone in the kitchen two minutes after the second trip: not the leaving.
    model.check(KITCHEN, 1.0, left + grace + 420)
    assert [a.type for a in _reported(model, left + grace + 420)] == [TYPE_ACTIVITY_WHEN_EMPTY]


def test_a_door_minutes_after_a_quick_households_leaving_is_still_theirs() -> None:
    model = _fresh()
    # Every past leaving went out within seconds; a slower one is still a leaving.
    assert model.departure_grace_s_ == MIN_DEPARTURE_GRACE_SECONDS
    assert _leave_with_trips(model, [MIN_DEPARTURE_GRACE_SECONDS - 60]) == []


def _refit_after_two_trips_out(stayed: bool) -> SecurityModel:
    """Everyone leaves at 09:00 on day 21, the door is used 3 and 10 minutes later, refit at 10:00."""
    store = _home()
    left = _at(21, 9.0)
    rows = [(PERSON, "not_home", left, None)]
    rows += [
        (DOOR, state, left + after + shift, None) for after in (180, 600) for state, shift in (("on", 0), ("off", 10))
    ]
    if stayed:  # back in for good: the kitchen in use from 09:30
        rows += [
            (KITCHEN, state, _at(21, 9.5 + k / 4) + shift, None)
            for k in range(2)
            for state, shift in (("on", 0), ("off", 30))
        ]
    store.merge_states(rows, entity_roles(SPEC))
    model = SecurityModel()
    model.fit(store, SPEC, _at(21, 10.0))
    return model


def test_a_refit_after_a_leaving_of_two_trips_still_watches_the_empty_home() -> None:
    model = _refit_after_two_trips_out(stayed=False)
    assert model.doubt_since_ is None
    assert _away_with_an_entry_at(model, _at(21, 12.0))[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    # Someone who went back in and stayed: a fit learns that time away as the home in use,
    # but does not start the live doubt from it (a pet moves too); the next activity alerts.
    stayed = _refit_after_two_trips_out(stayed=True)
    assert stayed.doubt_since_ is None
    stayed.check(KITCHEN, 1.0, _at(21, 10.1))
    assert [a.type for a in _reported(stayed, _at(21, 10.1))] == [TYPE_ACTIVITY_WHEN_EMPTY]


def test_after_a_second_trip_out_activity_in_the_home_is_someone_back_in() -> None:
    departures, arrivals, graces = np.array([0.0]), np.array([10_000.0]), (300.0, 120.0)
    doors, activity = np.array([60.0, 400.0]), np.array([900.0, 2000.0])
    assert doubted_spells(doors, departures, arrivals, graces, 20_000.0, activity) == [(900.0, 10_000.0)]
    # One trip only: activity while away is what the empty home does (a pet), not a return.
    assert doubted_spells(doors[:1], departures, arrivals, graces, 20_000.0, activity) == []
    # Activity within the last trip's grace is the leaving.
    assert doubted_spells(doors, departures, arrivals, graces, 20_000.0, np.array([650.0])) == []


def test_a_trip_twenty_minutes_on_is_no_longer_the_leaving() -> None:
    # Every 7 minutes, then 9 (beyond the grace of the last trip, within the run gap).
    trips = [120.0, 540.0, 960.0, 1500.0]
    assert leaving_doors(np.array(trips), np.array([0.0]), np.zeros(0), 300.0).tolist() == trips[:3]
    found = _leave_with_trips(_fresh(), trips)
    assert [a.type for a in found] == [TYPE_ENTRY_WITHOUT_ARRIVAL]
    assert found[0].ts == _at(21, 9.0) + trips[-1]


def test_a_restart_right_after_two_trips_out_keeps_the_leaving() -> None:
    model = _refit_after_two_trips_out(stayed=False)
    # A third trip nine minutes after the second is still the leaving after the refit.
    model.check(DOOR, 1.0, _at(21, 9.0) + 600 + 540)
    model.check(DOOR, 0.0, _at(21, 9.0) + 600 + 550)
    assert _reported(model, _at(21, 9.0) + 600 + 540) == []


def test_near_moments_reads_before_and_after_apart() -> None:
    moments = np.array([100.0, 1000.0])
    times = np.array([40.0, 95.0, 100.0, 130.0, 170.0, 990.0])
    assert near_moments(moments, times, 10.0, 60.0).tolist() == [False, True, True, True, False, True]
    assert near_moments(np.zeros(0), times, 10.0, 60.0).tolist() == [False] * 6


def test_the_leaving_doors_are_a_run_from_the_departure() -> None:
    departures, arrivals = np.array([0.0]), np.array([5000.0])
    doors = np.array([60.0, 400.0, 900.0, 900.0 + RUN_GAP_SECONDS + 1, 4000.0])
    assert leaving_doors(doors, departures, arrivals, 120.0).tolist() == [60.0, 400.0, 900.0]
    # The first trip must come within the departure's grace.
    assert leaving_doors(doors[1:], departures, arrivals, 120.0).tolist() == []
    # Never past the next arrival, nor past an hour.
    assert leaving_doors(doors, departures, np.array([300.0]), 120.0).tolist() == [60.0]
    steady = np.arange(60.0, 2 * LEAVING_MAX_SECONDS, RUN_GAP_SECONDS - 1)
    assert leaving_doors(steady, departures, np.zeros(0), 120.0).max() <= LEAVING_MAX_SECONDS


def test_a_room_busy_once_while_away_does_not_blind_the_door() -> None:
    store = _home()
    # One Thursday the living room was used during the absence (a wrong label, a visitor):
    # its held-out day is the most surprising of all, above a door opening while away.
    store.merge_states([(LIVING, "on", _at(3, 12.0), None), (LIVING, "off", _at(3, 12.05), None)], entity_roles(SPEC))
    model = SecurityModel()
    model.fit(store, SPEC, _at(21, 0))
    living, door = model.sources_["area:living"], model.sources_[f"entity:{DOOR}"]
    assert living.threshold == model.threshold_ > door.threshold == min_threshold("medium")
    found = _away_with_an_entry(model)
    assert found[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    assert model.threshold_ > found[0].score  # the home's threshold alone would have missed it


def test_each_source_may_only_lower_the_home_threshold() -> None:
    full = np.ones(20, dtype=bool)
    quiet, noisy = np.full(20, 0.5), np.r_[9.0, np.full(19, 1.0)]
    home = held_out_threshold(np.maximum(quiet, noisy), full, 1 / 14, "medium").threshold
    found = source_thresholds(np.vstack([quiet, noisy]), full, 1 / 14, "medium", home)
    # The quiet source's own days allow the floor; the noisy one keeps the home's threshold.
    assert found == [min_threshold("medium"), home]
    assert source_thresholds(np.zeros((0, 20)), full, 1 / 14, "medium", home) == []


def test_after_an_alert_while_away_continued_activity_is_doubted_not_alerted() -> None:
    model = _fresh()
    assert _away_with_an_entry(model)[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    # An hour of cooking while the phone still says away: no new alert, one doubt, said once.
    later: list[Anomaly] = []
    for minute in range(5, 65, 5):
        model.check(KITCHEN, 1.0, _at(21, 11.0) + 60 * minute)
        model.check(KITCHEN, 0.0, _at(21, 11.0) + 60 * minute + 30)
        model.check(DOOR, 1.0, _at(21, 11.0) + 60 * minute + 40)
        model.check(DOOR, 0.0, _at(21, 11.0) + 60 * minute + 50)
        later += model.check_open_durations(_at(21, 11.0) + 60 * minute + 60)
    assert [a.type for a in later] == [TYPE_PRESENCE_DOUBT]
    assert isinstance(later[0].facts, PresenceDoubt)
    assert later[0].facts.away_since == time(9, 0) and later[0].facts.in_use_since == time(11, 0)
    assert later[0].entity_ids == [PERSON]
    # Once said, the doubt holds for the rest of the time away: a door hours later is theirs.
    assert _away_with_an_entry_at(model, _at(21, 15.0)) == []
    # An arrival ends the doubt: the next time away alerts afresh.
    model.check(PERSON, 1.0, _at(21, 17.0))
    model.check(PERSON, 0.0, _at(21, 18.0))
    model.check(DOOR, 1.0, _at(21, 19.0))
    model.check(DOOR, 0.0, _at(21, 19.0) + 20)
    assert [a.type for a in _reported(model, _at(21, 19.0))] == [TYPE_ENTRY_WITHOUT_ARRIVAL]


def test_a_pet_s_alert_does_not_hide_a_later_entry() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(KITCHEN, 1.0, _at(21, 10.0))  # the cat, once
    assert [a.type for a in _reported(model, _at(21, 10.0))] == [TYPE_ACTIVITY_WHEN_EMPTY]
    found = _away_with_an_entry_at(model, _at(21, 14.0))
    assert found and found[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    assert not any(a.type == TYPE_PRESENCE_DOUBT for a in found)


def test_a_refit_or_a_restart_does_not_make_a_lapsing_doubt_last() -> None:
    roles = entity_roles(SPEC)
    store = _home()
    store.add_state(PERSON, roles[PERSON], "not_home", _at(21, 9.0))
    store.add_state(DOOR, roles[DOOR], "on", _at(21, 11.0))
    store.add_state(DOOR, roles[DOOR], "off", _at(21, 11.0) + 20)
    live = _fresh()
    live.check(PERSON, 0.0, _at(21, 9.0))
    assert _away_with_an_entry_at(live, _at(21, 11.0))[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    for previous in (live, None):  # a refit at 11:40, or a restart then
        again = SecurityModel()
        again.fit(store, SPEC, _at(21, 11.0) + 40 * 60)
        if previous is not None:
            again.watch_.continue_from(previous.watch_)
        # Nothing followed the door: hours later, another entry is told.
        found = _away_with_an_entry_at(again, _at(21, 15.0))
        assert found and found[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL


def test_it_was_me_on_activity_while_away_is_no_standing_disarm() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(KITCHEN, 1.0, _at(21, 12.0))  # the robot vacuum
    vacuum = _reported(model, _at(21, 12.0))
    assert [a.type for a in vacuum] == [TYPE_ACTIVITY_WHEN_EMPTY]
    model.add_feedback(vacuum[0])
    # The next day it runs again at the same hour: taught, so nothing is told ...
    model.check(PERSON, 1.0, _at(21, 17.0))
    model.check(PERSON, 0.0, _at(22, 9.0))
    model.check(KITCHEN, 1.0, _at(22, 12.1))
    assert _reported(model, _at(22, 12.1)) == []
    # ... but a door minutes later is still an entry: only a taught entry means someone is in.
    found = _away_with_an_entry_at(model, _at(22, 12.2))
    assert found and found[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL


def test_a_refit_keeps_what_waits_and_the_doubt() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(DOOR, 1.0, _at(21, 11.0))
    refit = _fresh()  # fitted on the same history: it knows nothing of the live events
    refit.check(PERSON, 0.0, _at(21, 9.0))
    refit.watch_.continue_from(model.watch_)
    # The door, seen opening live before the swap, is also still open an hour later.
    assert [a.type for a in _reported(refit, _at(21, 11.0))] == [TYPE_ENTRY_WITHOUT_ARRIVAL, TYPE_OPEN_TOO_LONG]
    # The home stays in use: the doubt is said once it has been a quarter of an hour.
    for minute in (5, 10, 15):
        refit.check(KITCHEN, 1.0, _at(21, 11.0) + 60 * minute)
    assert [a.type for a in refit.check_open_durations(_at(21, 11.25) + 60)] == [TYPE_PRESENCE_DOUBT]
    again = _fresh()
    again.check(PERSON, 0.0, _at(21, 9.0))
    again.watch_.continue_from(refit.watch_)
    again.check(KITCHEN, 1.0, _at(21, 11.25) + 300)
    assert again.check_open_durations(_at(21, 11.25) + 900) == []  # still doubted, already said


def test_an_entry_waiting_for_its_grace_outlives_a_restart() -> None:
    roles = entity_roles(SPEC)
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    model.check(DOOR, 1.0, _at(21, 11.0))
    model.check(DOOR, 0.0, _at(21, 11.0) + 20)
    saved = json.loads(json.dumps(model.live_state()))
    assert [item["anomaly"]["type"] for item in saved["pending"]] == [TYPE_ENTRY_WITHOUT_ARRIVAL]

    def restarted(arrival: float | None) -> SecurityModel:
        """Home Assistant restarts a minute later: the fit at startup has the door in its history."""
        store = _home()
        store.add_state(PERSON, roles[PERSON], "not_home", _at(21, 9.0))
        store.add_state(DOOR, roles[DOOR], "on", _at(21, 11.0))
        store.add_state(DOOR, roles[DOOR], "off", _at(21, 11.0) + 20)
        if arrival is not None:
            store.add_state(PERSON, roles[PERSON], "home", arrival)
        again = SecurityModel()
        again.fit(store, SPEC, _at(21, 11.0) + 60)
        again.restore_live(saved)
        return again

    assert [a.type for a in restarted(None).check_open_durations(_at(21, 11.5))] == [TYPE_ENTRY_WITHOUT_ARRIVAL]
    # Someone came home during the restart: the door was them.
    assert restarted(_at(21, 11.0) + 30).check_open_durations(_at(21, 11.5)) == []
    # What another version wrote is skipped.
    skipped = restarted(None)
    skipped.watch_.restore_pending([{"due": 0.0, "anomaly": {"id": 3}}, "x"])
    assert [a.type for a in skipped.check_open_durations(_at(21, 11.5))] == [TYPE_ENTRY_WITHOUT_ARRIVAL]


def test_a_refit_carries_a_departure_and_an_arrival_seen_while_it_ran() -> None:
    model = _fresh()
    model.check(PERSON, 0.0, _at(21, 9.0))
    refit = _fresh()  # its history ended before the departure
    refit.watch_.continue_from(model.watch_)
    assert refit.watch_.away_since == _at(21, 9.0)
    assert _away_with_an_entry_at(refit, _at(21, 11.0))[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL
    # Back home while the next fit ran: the one after it must not take the home as empty.
    refit.check(PERSON, 1.0, _at(21, 13.0))
    again = _fresh()
    again.check(PERSON, 0.0, _at(21, 9.0))  # its history ended in that time away
    again.watch_.continue_from(refit.watch_)
    assert again.watch_.away_since is None
    found = [a.type for a in _away_with_an_entry_at(again, _at(21, 14.0))]
    assert TYPE_ENTRY_WITHOUT_ARRIVAL not in found and TYPE_ACTIVITY_WHEN_EMPTY not in found


def test_a_watch_starts_from_the_latest_readings_of_its_copy() -> None:
    """The copy of the observations was taken after the fit's time, with a departure in it."""
    learning = _fresh(days=3)
    assert not learning.ready()[0]  # its watch saw nothing live
    store = _home()
    store.add_state(PERSON, entity_roles(SPEC)[PERSON], "not_home", _at(21, 9.0))
    refit = SecurityModel()
    refit.fit(store, SPEC, _at(21, 8.9))
    refit.watch_.continue_from(learning.watch_)
    assert refit.watch_.away_since == _at(21, 9.0)
    # The door right after it is the leaving; an hour later it is an entry.
    assert _away_with_an_entry_at(refit, _at(21, 9.0) + 60) == []
    assert _away_with_an_entry_at(refit, _at(21, 10.0))[0].type == TYPE_ENTRY_WITHOUT_ARRIVAL


def test_a_door_the_live_watch_never_heard_of_stays_open_after_a_refit() -> None:
    """A door opened while Home Assistant restarted: the copy has it, the running watch does not."""
    model = _fresh()
    model.check(KITCHEN, 1.0, _at(21, 10.5))  # the watch is live, only it missed the door
    store = _home()
    store.add_state(DOOR, entity_roles(SPEC)[DOOR], "on", _at(21, 10.0))
    refit = SecurityModel()
    refit.fit(store, SPEC, _at(21, 11.0))
    refit.watch_.continue_from(model.watch_)
    limit = refit.open_limit_s_[DOOR]
    assert [a.type for a in refit.check_open_durations(_at(21, 10.0) + limit + 1)] == [TYPE_OPEN_TOO_LONG]


def test_a_time_away_in_which_the_door_opened_is_learned_as_a_return() -> None:
    """History: one weekday the phone said away all day while the door opened and the home was used."""
    store = _home()
    roles = entity_roles(SPEC)
    stuck = [(PERSON, "not_home", _at(21, 9.0)), (DOOR, "on", _at(21, 9.5)), (DOOR, "off", _at(21, 9.5) + 20)]
    stuck += [(KITCHEN, "on", _at(21, 10.0)), (KITCHEN, "off", _at(21, 10.1))]
    for entity_id, state, ts in stuck:
        store.add_state(entity_id, roles[entity_id], state, ts)
    model = SecurityModel()
    model.fit(store, SPEC, _at(21, 12.0))
    assert model.doubt_since_ == _at(21, 9.5)
    door = model.sources_[f"entity:{DOOR}"]
    # Neither the opening nor the cooking is learned as activity while everyone was away.
    assert sum(sum(day) for day in door.counts[1]) == 0
    assert sum(sum(day) for day in model.sources_["area:kitchen"].counts[1]) == 0
    # Live, the watch starts doubted: nothing more alerts in that time away.
    model.check(KITCHEN, 1.0, _at(21, 12.5))
    assert _reported(model, _at(21, 12.5)) == []


def test_a_state_kept_from_long_ago_adds_no_quiet_days() -> None:
    store = _home()
    window = "binary_sensor.bedroom_window"
    spec = {**SPEC, "security": [DOOR, window]}
    store.add_state(window, entity_roles(spec)[window], "off", _at(-60, 0))  # shut for two months
    model = SecurityModel()
    model.fit(store, spec, _at(21, 0))
    assert model.days_ == pytest.approx(_fresh().days_)
    assert model.calibration_.days == _fresh().calibration_.days


def test_explanation_windows_cover_only_hours_spent_in_the_state() -> None:
    night_only = [1.0 if 1 <= h < 5 else 0.0 for h in range(24)]
    assert quiet_span([0.0] * 24, 3, night_only) == (1, 4)  # 01:00-05:00, not round the clock
    across_midnight = [1.0 if h >= 22 or h < 6 else 0.0 for h in range(24)]
    assert quiet_span([0.0] * 24, 2, across_midnight) == (-2, 5)  # 22:00-06:00
    first, last = quiet_span([0.0] * 24, 12, [1.0] * 24)
    assert last == first + 23  # the whole day
    busy_evening = [5.0 if 18 <= h < 22 else 0.0 for h in range(24)]
    assert quiet_span(busy_evening, 3, [1.0] * 24) == (-2, 17)  # 22:00-18:00: the hours without any


def test_calibration_is_measured_on_held_out_days_and_widened_while_short() -> None:
    model = _fresh(days=40)
    calibration = model.calibration_
    # The home's threshold has half the target (the doors and areas share the other half).
    assert calibration.days >= 38 and calibration.days_needed == 37
    assert model.threshold_ >= calibration.threshold
    assert model.calibration_note() is None
    young = _fresh(days=21)
    assert young.calibration_.days < young.calibration_.days_needed
    note = say_reasons([young.calibration_note()] if young.calibration_note() else [])
    assert note.startswith(f"{young.calibration_.days} days to calibrate alerts on") and "needs 37" in note


def test_held_out_threshold_exceeds_the_held_out_days_and_widens_when_few() -> None:
    maxima = np.array([2.0, 5.0, 3.0, 9.0, 1.0, 4.0, 0.0])
    full = np.ones(len(maxima), dtype=bool)
    few = held_out_threshold(maxima, full, 1 / 14, "medium")
    # 7 days cannot show one false alarm in 14 days: above the worst day, by the shortfall.
    assert few.days == 7 and few.days_needed == 18
    assert few.threshold == pytest.approx(9.0 + math.log(1 / (1 / 14 * 0.75 * 8)))
    many = np.arange(60, dtype=float)
    enough = held_out_threshold(many, np.ones(60, dtype=bool), 1 / 14, "high")
    # 60 days at three times the rate (0.16 a day): the 8 worst days would alert, 9 / 61 <= 0.16.
    assert enough.threshold == pytest.approx(51.0 + 1e-9)
    partial = full.copy()
    partial[3] = False  # a day with too few hours is not held out
    assert held_out_threshold(maxima, partial, 1 / 14, "medium").threshold < few.threshold


def test_door_held_open_is_reported_once_and_feedback_raises_the_limit() -> None:
    model = _fresh()
    model.check(DOOR, 1.0, _at(21, 11.0))  # a routine Saturday opening that stays open
    limit = model.open_limit_s_[DOOR]
    assert model.check_open_durations(_at(21, 11.0) + limit - 60) == []
    found = model.check_open_durations(_at(21, 11.0) + limit + 1)
    assert [a.type for a in found] == [TYPE_OPEN_TOO_LONG]
    assert model.check_open_durations(_at(21, 11.0) + limit + 120) == []
    model.add_feedback(found[0])
    assert model.open_limit_s_[DOOR] > limit


def test_nothing_is_flagged_during_the_learning_period() -> None:
    model = _fresh(days=3)
    ready, reason = model.ready()
    assert not ready and reason is not None and "learning" in say_reason(reason)
    model.check(PERSON, 0.0, _at(3, 1.0))
    assert model.check(DOOR, 1.0, _at(3, 3.0)) is None
    assert _reported(model, _at(3, 3.0)) == []


def test_higher_sensitivity_lowers_the_threshold() -> None:
    thresholds = [_fresh(sensitivity=s).threshold_ for s in ("low", "medium", "high")]
    assert thresholds[0] >= thresholds[1] >= thresholds[2]


def test_anomaly_round_trips_through_json() -> None:
    facts = UnusualTime(
        entity_id=DOOR,
        area=None,
        state="night",
        day_type="weekday",
        at=time(3, 10),
        start_hour=1,
        end_hour=5,
        times_seen=0,
        days_of_history=21.0,
        expected_per_hour=0.0001,
        threshold=6.2,
    )
    anomaly = Anomaly("a1", KIND_SECURITY, TYPE_UNUSUAL_TIME, [DOOR], 1.0, 7.5, facts)
    assert Anomaly.from_json(json.loads(json.dumps(anomaly.as_json()))) == anomaly


def test_anomaly_stored_by_an_earlier_release_still_loads_and_teaches() -> None:
    """A feedback entry the store kept: the anomaly dict with its explanation and facts."""
    stored = {
        "id": "5f1c0a9e2b7d",
        "kind": "security",
        "type": "unusual_time",
        "entity_ids": [DOOR],
        "ts": _at(21, 3.2),
        "score": 7.1,
        "explanation": "Front door opened at 03:12; in 21 days it has never opened between 01:00 and 06:00 "
        "at night while the home was occupied.",
        "facts": {
            "source": f"entity:{DOOR}",
            "name": "Front door",
            "entity_id": DOOR,
            "state": "night",
            "hour": 3,
            "day_type": "weekday",
            "local_time": "03:12",
            "span_start": "01:00",
            "span_end": "06:00",
            "times_seen_in_span": 0,
            "days_of_history": 21.0,
            "expected_per_hour": 0.00012,
            "threshold": 6.9,
        },
    }
    anomaly = Anomaly.from_json(stored)
    assert isinstance(anomaly.facts, UnusualTime) and anomaly.facts.source == f"entity:{DOOR}"
    # Its facts read as they were stored, and render in today's words.
    assert explain(anomaly) == (
        "Front door opened at 03:12 at night while the home was occupied. In 21 days of history it had never "
        "opened between 01:00 and 06:00 at night while the home was occupied."
    )
    assert anomaly.as_json()["facts"] == stored["facts"]
    model = _fresh()
    model.load_feedback([anomaly])
    model.check(DOOR, 1.0, _at(22, 3.4))
    model.check(DOOR, 0.0, _at(22, 3.4) + 20)
    assert _reported(model, _at(22, 3.4)) == []


def test_real_home_day_is_quiet_and_an_injected_night_entry_is_caught() -> None:
    """Ordóñez home A: fit on the first week, replay the next day with and without an intrusion."""
    replay = load_replay(FIXTURES / "ordonez_a_history.csv", FIXTURES / "ordonez_a_home.json")
    roles = entity_roles(replay.spec)
    cutoff, next_cutoff = next(iter(replay.days(7)))
    store = ObservationStore(max_points=10**6)
    store.merge_states([r for r in replay.history.rows if r[2] < cutoff], roles)
    model = SecurityModel()
    model.fit(store, replay.spec, cutoff)
    assert model.ready()[0]
    door = replay.spec["security"][0]
    events = sorted(
        (r[2], r[0], 1.0 if r[1] in ("on", "home") else 0.0)
        for r in replay.history.rows
        if cutoff <= r[2] < next_cutoff
    )
    raised = []
    for ts, entity_id, value in events:
        raised += model.check_open_durations(ts)
        if (anomaly := model.check(entity_id, value, ts)) is not None:
            raised.append(anomaly)
    raised += model.check_open_durations(next_cutoff)
    assert raised == []
    # The next night, ten minutes into the hours the home was learned to sleep.
    first_night_hour = next(h for h in range(24) if model.night_hours_[h] and not model.night_hours_[h - 1])
    intrusion = next_cutoff + first_night_hour * 3600.0 + 600.0
    model.check(door, 1.0, intrusion)
    model.check(door, 0.0, intrusion + 20)
    found = _reported(model, intrusion)
    assert found and found[0].entity_ids == [door]


# ---------------------------------------------------------------- streaming detector


def _wave(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10.0 + 3.0 * np.sin(2 * np.pi * t / 96) + rng.normal(0, 0.3, n)


def test_streaming_detector_catches_a_spike() -> None:
    values = _wave(2000)
    values[1700] += 6.0
    detector = StreamingDetector(learning_points=500)
    scores = np.array([detector.update(60.0 * i, v) for i, v in enumerate(values.tolist())])
    assert scores[1700] > 0.5
    # The 10-value shape scale still holds the spike for the next values.
    episode = np.arange(1700, 1710)
    assert scores.argmax() in episode
    assert np.all(scores[:500] == 0.0)  # learning period
    assert np.delete(scores, episode).max() < 0.2 * scores[1700]


def test_streaming_detector_memory_is_constant() -> None:
    detector = StreamingDetector(learning_points=100)
    sizes = []
    # Both sizes are taken once the ring of recent values is full.
    for i, value in enumerate(_wave(12000).tolist()):
        detector.update(60.0 * i, value)
        if i in (5999, 11999):
            sizes.append(len(json.dumps(detector.as_dict())))
    ring_before = detector._ring.shape
    assert abs(sizes[1] - sizes[0]) < 0.05 * sizes[0]
    assert len(detector.as_dict()["recent"]) == max(k + memory for k, memory in detector.scales)
    assert detector._ring.shape == ring_before


def test_streaming_state_round_trips_through_json() -> None:
    values = _wave(1500, seed=3).tolist()
    detector = StreamingDetector(learning_points=200)
    for i, value in enumerate(values[:1000]):
        detector.update(60.0 * i, value)
    restored = StreamingDetector.from_dict(json.loads(json.dumps(detector.as_dict())))
    for i, value in enumerate(values[1000:], start=1000):
        assert restored.update(60.0 * i, value) == pytest.approx(detector.update(60.0 * i, value))


def test_streaming_state_of_an_older_version_starts_fresh() -> None:
    old = {"version": 1, "scales": [[1, 2000], [10, 500]], "learning_points": 300, "count": 5}
    detector = StreamingDetector.from_dict(old)
    assert detector.count == 0 and detector.learning_points == 300
    assert detector.scales == StreamingDetector().scales


def test_streaming_detector_ignores_non_finite_values() -> None:
    detector = StreamingDetector(learning_points=10)
    assert detector.update(0.0, math.nan) == 0.0
    assert detector.count == 0


def test_streaming_detector_flags_the_nab_jump_inside_its_window() -> None:
    """NAB art_daily_jumpsup (MIT): the highest score after the probation lies in the labelled window."""
    raw = np.genfromtxt(FIXTURES / "nab_art_daily_jumpsup.csv", delimiter=",", skip_header=1, dtype=str)
    times = np.array([s.replace(" ", "T") for s in raw[:, 0]], dtype="datetime64[s]")
    values = raw[:, 1].astype(float)
    detector = StreamingDetector(learning_points=604)
    epoch = times.astype("int64").astype(float)
    scores = np.array([detector.update(t, v) for t, v in zip(epoch.tolist(), values.tolist(), strict=True)])
    window = (times >= np.datetime64("2014-04-10T16:15")) & (times <= np.datetime64("2014-04-12T01:45"))
    assert scores[window].max() > scores[~window].max()
