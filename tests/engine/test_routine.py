"""Missing routine: a synthetic home that gets up every morning, and what it learns of it."""

from __future__ import annotations

import copy
from datetime import datetime, time, timedelta
import json
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.smartml.engine.constants import KIND_ROUTINE, TYPE_ROUTINE_MISSING
from custom_components.smartml.engine.exclusions import ExcludedPeriod
from custom_components.smartml.engine.facts import RoutineMissing
from custom_components.smartml.engine.observations import ObservationStore, entity_roles
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.engine.routine import RoutineModel, bout_starts
from custom_components.smartml.engine.routine_live import chance_still_out, doubted_surprise
from custom_components.smartml.explain import ROUTINE_PHRASES, explain

TZ = ZoneInfo("Europe/Paris")
DOOR = "binary_sensor.front_door"
PERSON = "person.alex"
KITCHEN = "binary_sensor.kitchen_motion"
BED = "binary_sensor.bed_pressure"
SPEC = {
    "timezone": "Europe/Paris",
    "areas": {"kitchen": {"occupancy": [KITCHEN]}, "bedroom": {"occupancy": [BED]}},
    "presence": [PERSON],
    "security": [DOOR],
}
FIRST_DAY = datetime(2024, 3, 4, tzinfo=TZ)  # a Monday


def _at(day: int, hour: float) -> float:
    return (FIRST_DAY + timedelta(days=day, hours=hour)).timestamp()


def _home(days: int = 14) -> ObservationStore:
    """Someone living alone: in bed 23:00-07:00 (give or take), the kitchen every 20 minutes
    in the morning and the evening, out 10:00-16:00 through the front door."""
    rng = np.random.default_rng(3)
    rows: list[tuple[str, str, float, None]] = [(PERSON, "home", _at(0, 0), None)]
    for day in range(days):
        up = 7.0 + rng.uniform(-0.3, 0.3)
        rows.append((BED, "off", _at(day, up), None))
        for hour in [*np.arange(up + 0.2, 10.0, 1 / 3), *np.arange(16.2, 23.0, 1 / 3)]:
            rows += [(KITCHEN, "on", _at(day, hour), None), (KITCHEN, "off", _at(day, hour + 0.05), None)]
        rows += [(DOOR, "on", _at(day, 10.0), None), (DOOR, "off", _at(day, 10.01), None)]
        rows.append((PERSON, "not_home", _at(day, 10.02), None))
        rows.append((PERSON, "home", _at(day, 16.0), None))
        rows += [(DOOR, "on", _at(day, 15.99), None), (DOOR, "off", _at(day, 16.0), None)]
        rows.append((BED, "on", _at(day, 23.0 + rng.uniform(-0.3, 0.3)), None))
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(SPEC))
    return store


@pytest.fixture(scope="module")
def fitted() -> RoutineModel:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    return model


def _first_alert(model: RoutineModel, start: float, end: float) -> Anomaly | None:
    """The first alert of checks every 5 minutes from `start` to `end` (hours) on day 14."""
    checks = (model.check(_at(14, minute / 60), None) for minute in range(int(start * 60), int(end * 60), 5))
    return next((found for found in checks if found is not None), None)


def _watch_morning(model: RoutineModel, bed_off: float | None, until: float) -> list[Anomaly]:
    """Check every 5 minutes from 06:00 to `until` (hours) on day 14; the bed empties at bed_off."""
    raised: list[Anomaly] = []
    model.observe(BED, 1.0, _at(13, 23.0))
    for minute in range(6 * 60, int(until * 60), 5):
        now = _at(14, minute / 60)
        if bed_off is not None and now >= _at(14, bed_off) and model.watch_._held:
            model.observe(BED, 0.0, _at(14, bed_off))
        if (found := model.check(now, None)) is not None:
            raised.append(found)
    return raised


def test_a_morning_without_getting_up_is_not_a_missing_routine_while_in_bed(fitted: RoutineModel) -> None:
    # The bed shows someone there: resting, whatever the hour.
    assert fitted.holding_ == {BED: pytest.approx(fitted.holding_[BED])}
    assert _watch_morning(fitted, bed_off=None, until=11.0) == []


def test_up_and_then_silent_raises_one_explained_alert(fitted: RoutineModel) -> None:
    raised = _watch_morning(fitted, bed_off=7.0, until=11.0)
    assert math.isfinite(fitted.threshold_)
    assert len(raised) == 1
    anomaly = raised[0]
    assert (anomaly.kind, anomaly.type) == (KIND_ROUTINE, TYPE_ROUTINE_MISSING)
    facts = anomaly.facts
    assert isinstance(facts, RoutineMissing)
    assert facts.since == time(7, 0)
    # The kitchen is busy every 20 minutes after getting up: an hour of silence is far outside it.
    assert facts.quiet_minutes <= 90
    assert facts.area == "kitchen" and facts.days_with_activity == facts.days_considered == 10
    assert explain(anomaly).startswith("No activity in the home since 07:00")
    assert RoutineMissing.from_json(facts.as_json()) == facts


def test_marked_normal_the_same_silence_does_not_alert_again(fitted: RoutineModel) -> None:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    first = _watch_morning(model, bed_off=7.0, until=11.0)
    model.add_feedback(first[0])
    model.fit(_home(), SPEC, _at(14, 0))
    model.load_feedback(first)
    alerted = datetime.fromtimestamp(first[0].ts, TZ)
    assert _watch_morning(model, bed_off=7.0, until=alerted.hour + alerted.minute / 60 + 0.25) == []


def test_a_silence_begun_at_a_door_is_doubted_until_longer_than_the_outings(fitted: RoutineModel) -> None:
    # Out 10:00-16:00 every day: the household's outings last six hours.
    assert fitted.outings_ == pytest.approx([6 * 3600 - 72.0] * 14)
    assert 0.0 < fitted.empty_chance_ < 1.0
    soon, later = chance_still_out(fitted.outings_, 3600.0), chance_still_out(fitted.outings_, 7 * 3600.0)
    assert soon > 0.9 > 0.1 > later
    assert doubted_surprise(10.0, fitted.empty_chance_, soon) < doubted_surprise(10.0, fitted.empty_chance_, later)
    assert doubted_surprise(10.0, 0.0) == pytest.approx(10.0)


def test_a_silence_after_a_door_alerts_once_longer_than_the_outings_however_often_it_was_empty() -> None:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    model.empty_chance_ = 0.5  # a household that often goes out without its presence noticing
    model.observe(BED, 1.0, _at(13, 23.0))
    model.observe(BED, 0.0, _at(14, 7.0))
    model.observe(DOOR, 1.0, _at(14, 7.5))
    model.observe(DOOR, 0.0, _at(14, 7.51))
    found = _first_alert(model, 8, 20)
    assert found is not None and isinstance(found.facts, RoutineMissing) and found.facts.presence_doubted
    assert 5.5 * 60 <= found.facts.quiet_minutes <= 8 * 60


def test_unavailable_kitchen_is_not_a_missing_routine(fitted: RoutineModel) -> None:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    model.observe(BED, 1.0, _at(13, 23.0))
    model.observe(BED, 0.0, _at(14, 7.0))
    assert model.check(_at(14, 10.0), None, unavailable=[KITCHEN]) is None
    assert model.check(_at(14, 10.0), None) is not None


def test_a_sensor_silent_far_longer_than_ever_is_a_sensor_problem(fitted: RoutineModel) -> None:
    now = _at(17, 12.0)
    last = {KITCHEN: _at(14, 22.0), BED: now - 3600.0, DOOR: now - 600.0}
    assert fitted.silent_sensors(now, last) == [KITCHEN]
    assert fitted.silent_sensors(now, {**last, KITCHEN: now - 3600.0}) == []


def test_a_sensor_used_now_and_then_is_never_a_sensor_problem() -> None:
    window = "binary_sensor.bedroom_window"
    spec = {**SPEC, "security": [DOOR, window]}
    store = _home()
    # Opened on two days of the fourteen: a window shut for the winter.
    store.merge_states(
        [(window, "off", _at(0, 0), None), (window, "on", _at(2, 9.0), None), (window, "off", _at(5, 9.0), None)],
        entity_roles(spec),
    )
    model = RoutineModel()
    model.fit(store, spec, _at(14, 0))
    assert window in model.sensors_ and window not in model.longest_silence_s_
    # Aired every morning for three weeks, then shut for the winter: judged no more a week on.
    aired = _home(28)
    aired.merge_states(
        [(window, state, _at(day, hour), None) for day in range(21) for state, hour in (("on", 8.0), ("off", 8.5))],
        entity_roles(spec),
    )
    shut = RoutineModel()
    shut.fit(aired, spec, _at(28, 0))
    assert window not in shut.longest_silence_s_
    now = _at(17, 12.0)
    last = {KITCHEN: _at(14, 22.0), BED: now - 3600.0, DOOR: now - 600.0, window: _at(5, 9.0)}
    assert model.silent_sensors(now, last) == [KITCHEN]


def test_days_before_the_sensors_were_recorded_are_no_silence() -> None:
    window = "binary_sensor.bedroom_window"
    power = "sensor.house_power"
    spec = {**SPEC, "security": [DOOR, window], "power": [power]}
    store = _home()
    roles = entity_roles(spec)
    # A window shut for two months, kept as its state since then, and a power meter recorded
    # for four weeks: neither says the home was silent before its sensors were recorded.
    store.merge_states([(window, "off", _at(-60, 0), None)], roles)
    store.merge_states([(power, str(300 + day % 7), _at(day, 12.0), None) for day in range(-28, 14)], roles)
    model = RoutineModel()
    model.fit(store, spec, _at(14, 0))
    assert model.days_ == pytest.approx(14 - 7 / 24, abs=0.3)  # from the first change, the first morning
    assert model.calibration_.days <= 14
    assert _watch_morning(model, bed_off=7.0, until=11.0)  # the morning's silence is still told


def test_sensors_installed_two_days_ago_are_still_learning() -> None:
    power = "sensor.house_power"
    spec = {**SPEC, "power": [power]}
    rows = [(power, str(300 + day % 7), _at(day, 12.0), None) for day in range(-26, 2)]
    store = _home(days=2)
    store.merge_states(rows, entity_roles(spec))
    model = RoutineModel()
    model.fit(store, spec, _at(2, 0))
    assert not model.ready()[0]


def test_a_sensor_outage_excluded_inside_a_silence_does_not_raise_the_threshold() -> None:
    full = _home(28)
    roles = entity_roles(SPEC)
    # The sensors were dead from 19:30 to 22:30 one evening, the person at home; the user
    # excluded exactly that span. What is left of the silence around it is ordinary.
    down_from, down_to = _at(10, 19.5), _at(10, 22.5)
    states = {PERSON: ("not_home", "home")}
    rows = [
        (entity_id, states.get(entity_id, ("off", "on"))[int(value > 0.5)], ts, None)
        for entity_id, channel in full.channels.items()
        for ts, value in zip(channel.times, channel.values, strict=True)
        if entity_id == PERSON or not down_from <= ts < down_to
    ]
    thresholds = []
    for excluded in ((), (ExcludedPeriod(down_from, down_to, (), "sensors down"),)):
        store = ObservationStore(max_points=10**6)
        store.merge_states(sorted(rows, key=lambda r: r[2]), roles)
        store.excluded = excluded
        model = RoutineModel()
        model.fit(store, SPEC, _at(28, 0))
        thresholds.append(model.threshold_)
    reference = RoutineModel()
    reference.fit(full, SPEC, _at(28, 0))
    assert thresholds[1] <= 1.5 * reference.threshold_ < thresholds[0]


def test_bouts_join_changes_close_together() -> None:
    times = np.array([0.0, 100.0, 500.0, 1200.0, 1300.0])
    assert bout_starts(times, 600.0).tolist() == [0.0, 1200.0]


def test_a_busy_hour_is_many_bouts_not_one() -> None:
    """Motion every minute for an hour: a bout every five minutes, counted from the run's start."""
    busy = np.arange(0.0, 3600.0, 60.0) + 7.0
    later = np.array([5000.0, 5100.0])
    bouts = bout_starts(np.concatenate([busy, later]), 300.0, split=300.0)
    assert bouts.tolist() == [*(busy[::5]).tolist(), 5000.0]


def test_a_busy_home_that_falls_silent_is_told_within_two_hours() -> None:
    """Motion every two minutes all day (never five minutes apart): a midday silence is not usual."""
    rows: list[tuple[str, str, float, None]] = [(PERSON, "home", _at(0, 0), None)]
    for day in range(15):
        rows.append((BED, "off", _at(day, 7.0), None))
        end = 11.0 if day == 14 else 23.0
        for hour in np.arange(7.05, end, 1 / 30):
            rows += [(KITCHEN, "on", _at(day, hour), None), (KITCHEN, "off", _at(day, hour + 0.01), None)]
        if day < 14:
            rows.append((BED, "on", _at(day, 23.0), None))
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(SPEC))
    model = RoutineModel()
    model.fit(store, SPEC, _at(14, 10.0))
    for entity_id, value, ts, _ in rows:
        if _at(14, 10.0) <= ts:
            model.observe(entity_id, 1.0 if value in ("on", "home") else 0.0, ts)
    told = [
        when for minute in range(11 * 60, 15 * 60, 5) if model.check(when := _at(14, minute / 60), None) is not None
    ]
    assert told and told[0] <= _at(14, 13.0)


def test_not_ready_before_the_learning_days() -> None:
    model = RoutineModel()
    model.fit(_home(days=3), SPEC, _at(3, 0))
    assert model.ready()[0] is False
    assert model.check(_at(3, 12.0), None) is None


def test_the_words_translated_in_strings_json_are_the_english_ones() -> None:
    strings = json.loads((Path(__file__).parents[2] / "custom_components" / "smartml" / "strings.json").read_text())
    assert {key: strings["exceptions"][key]["message"] for key in ROUTINE_PHRASES} == dict(ROUTINE_PHRASES)


def test_the_words_follow_the_phrases_given() -> None:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    anomaly = _watch_morning(model, bed_off=7.0, until=11.0)[0]
    assert isinstance(anomaly.facts, RoutineMissing)
    german = {"routine_missing_evidence_usual": "Keine Aktivität seit {since}; {area} {days_with}/{days} bis {at}."}
    assert (
        explain(anomaly, phrases=german) == f"Keine Aktivität seit 07:00; Kitchen 10/10 bis {anomaly.facts.at:%H:%M}."
    )


def test_a_silence_begun_at_a_door_alerts_later_and_says_why() -> None:
    def first_alert(last: str) -> Anomaly:
        model = RoutineModel()
        model.fit(_home(), SPEC, _at(14, 0))
        model.observe(BED, 1.0, _at(13, 23.0))
        model.observe(BED, 0.0, _at(14, 7.0))
        model.observe(last, 1.0, _at(14, 7.5))
        model.observe(last, 0.0, _at(14, 7.51))
        found = _first_alert(model, 7.6, 14)
        assert found is not None
        return found

    at_door, in_kitchen = first_alert(DOOR), first_alert(KITCHEN)
    assert isinstance(at_door.facts, RoutineMissing) and at_door.facts.presence_doubted
    assert isinstance(in_kitchen.facts, RoutineMissing) and not in_kitchen.facts.presence_doubted
    # The home may be empty after a door: it takes a longer silence to be as surprising.
    assert at_door.facts.quiet_minutes > in_kitchen.facts.quiet_minutes
    assert "the home may be empty" in explain(at_door)


def test_a_silence_begun_by_someone_arriving_is_not_doubted() -> None:
    """The door that closes as the presence turns home is someone coming in, not going out unseen."""
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    model.observe(PERSON, 0.0, _at(14, 10.02))
    model.observe(DOOR, 1.0, _at(14, 15.99))
    model.observe(PERSON, 1.0, _at(14, 15.995))
    model.observe(DOOR, 0.0, _at(14, 16.0))
    found = _first_alert(model, 16, 23)
    assert found is not None and isinstance(found.facts, RoutineMissing)
    assert not found.facts.presence_doubted
    assert found.facts.since == time(16, 0)


def test_a_refit_does_not_tell_the_same_silence_again() -> None:
    before = RoutineModel()
    before.fit(_home(), SPEC, _at(14, 0))
    told = _watch_morning(before, bed_off=7.0, until=11.0)
    assert len(told) == 1
    after = RoutineModel()
    after.fit(_home(), SPEC, _at(14, 0))
    after.watch_.continue_from(before.watch_)
    assert after.check(_at(14, 11.5), None) is None
    # What the previous watch saw live (the bed emptied at 07:00) carries over too.
    assert after.watch_.silence_start == _at(14, 7.0)


def test_a_watch_that_was_still_learning_hands_over_nothing() -> None:
    learning = RoutineModel()
    learning.fit(_home(3), SPEC, _at(3, 0))
    assert not learning.ready()[0]  # so it was never told what happened live
    after = RoutineModel()
    after.fit(_home(), SPEC, _at(14, 0))
    after.watch_.continue_from(learning.watch_)
    # In bed since about 23:00 (this fit's history): a quiet night, not a missing routine.
    assert _first_alert(after, 0, 6.5) is None


def test_changes_at_the_same_moment_begin_the_silence_at_the_first_sensor_as_the_fit_does(
    fitted: RoutineModel,
) -> None:
    model = copy.deepcopy(fitted)
    first, second = model.sensors_[0], model.sensors_[1]
    model.observe(second, 0.0, _at(14, 8.0))
    model.observe(first, 0.0, _at(14, 8.0))
    model.observe(second, 0.0, _at(14, 8.0))
    found = _first_alert(model, 8, 14)
    assert found is not None and found.entity_ids == [first]


def test_a_refit_carries_who_left_while_it_ran() -> None:
    """Two people home; one leaves while the refit runs, the other after the swap: nobody is in."""
    sam = "person.sam"
    spec = {**SPEC, "presence": [PERSON, sam]}

    def fitted() -> RoutineModel:
        store = _home()
        store.merge_states([(sam, "home", _at(0, 0), None)], entity_roles(spec))
        model = RoutineModel()
        model.fit(store, spec, _at(14, 0))
        return model

    before = fitted()
    before.observe(sam, 0.0, _at(14, 9.0))  # after the refit's history ended: someone is still home
    after = fitted()
    after.watch_.continue_from(before.watch_)
    after.observe(PERSON, 0.0, _at(14, 10.0))
    assert _first_alert(after, 10, 23) is None


def test_a_refit_takes_over_each_person_from_whichever_watch_read_them_last() -> None:
    """The running watch missed Alex leaving (a restart filled it in); it saw Sam leave later."""
    sam = "person.sam"
    spec = {**SPEC, "presence": [PERSON, sam]}
    store = _home()
    store.merge_states([(sam, "home", _at(0, 0), None)], entity_roles(spec))
    before = RoutineModel()
    before.fit(store, spec, _at(14, 0))
    store.merge_states([(PERSON, "not_home", _at(14, 9.0), None)], entity_roles(spec))
    before.observe(sam, 0.0, _at(14, 9.5))
    after = RoutineModel()
    after.fit(store, spec, _at(14, 9.2))
    after.watch_.continue_from(before.watch_)
    assert _first_alert(after, 9.5, 23) is None  # nobody is home


def _first_alert_after(model: RoutineModel, start: float, unavailable_until: float | None = None) -> float:
    """Check every minute from `start` (hours, day 14); the hour of the first alert."""
    for minute in range(int(start * 60), 20 * 60):
        hour = minute / 60
        down = [KITCHEN, BED] if unavailable_until is not None and hour < unavailable_until else []
        if model.check(_at(14, hour), None, unavailable=down) is not None:
            return hour
    raise AssertionError("no alert")


def _up_at_seven() -> RoutineModel:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    model.observe(BED, 1.0, _at(13, 23.0))
    model.observe(BED, 0.0, _at(14, 7.0))
    return model


def test_time_home_assistant_was_down_is_no_silence() -> None:
    usual = _first_alert_after(_up_at_seven(), 7.0) - 7.0
    restarted = _up_at_seven()
    restarted.check(_at(14, 7.0), None)
    # Down from 07:05 to 09:00 (a power cut): the checks stopped, and start again after the restart.
    restarted.restore_live({"watched_until": _at(14, 7 + 5 / 60)})
    assert _first_alert_after(restarted, 9.0) >= 9.0 + usual - 10 / 60


def test_time_the_sensors_were_unavailable_is_no_silence() -> None:
    usual = _first_alert_after(_up_at_seven(), 7.0) - 7.0
    # The kitchen and the bed unavailable from 07:20 to 09:30: when they are back, the silence
    # is not two hours longer for it.
    blinded = _up_at_seven()
    for minute in range(7 * 60, 7 * 60 + 20):
        assert blinded.check(_at(14, minute / 60), None) is None
    assert _first_alert_after(blinded, 7 + 20 / 60, unavailable_until=9.5) >= 9.5 + usual - 25 / 60


def test_the_explanation_compares_the_same_clock_across_a_change_of_summer_time() -> None:
    # Summer time began on 31 March 2024: the morning of 2 April compares with the mornings before it.
    model = RoutineModel()
    model.fit(_home(29), SPEC, _at(29, 0))
    model.observe(BED, 1.0, _at(28, 23.0))
    model.observe(BED, 0.0, _at(29, 7.0))
    found = next(a for minute in range(7 * 60, 11 * 60, 5) if (a := model.check(_at(29, minute / 60), None)))
    assert isinstance(found.facts, RoutineMissing)
    # Up at 07:00 give or take 20 minutes, in the kitchen 12 minutes later: most days by 07:25.
    assert found.facts.area == "kitchen" and found.facts.days_considered == 10
    assert found.facts.days_with_activity >= 7


def test_time_not_watched_before_a_restart_stays_not_watched() -> None:
    usual = _first_alert_after(_up_at_seven(), 7.0) - 7.0
    blinded = _up_at_seven()
    for minute in range(7 * 60, int(9.5 * 60)):
        down = [KITCHEN, BED] if minute >= 7 * 60 + 20 else []
        assert blinded.check(_at(14, minute / 60), None, unavailable=down) is None
    # Restarted (to bring the sensors back) for a minute at 09:30.
    restarted = _up_at_seven()
    restarted.restore_live(json.loads(json.dumps(blinded.live_state())))
    assert _first_alert_after(restarted, 9.5 + 1 / 60) >= 9.5 + usual - 25 / 60


def test_a_clock_set_back_leaves_no_span_the_wrong_way_round() -> None:
    usual = _first_alert_after(_up_at_seven(), 7.0) - 7.0
    model = _up_at_seven()
    model.restore_live({"watched_until": _at(14, 10.0)})  # saved before the clock was set back
    assert _first_alert_after(model, 7.0, unavailable_until=9.0) >= 9.0 + usual - 10 / 60
    assert all(b > a for a, b in model.watch_._unwatched)


def test_after_a_long_pause_no_sensor_is_silent_for_it(fitted: RoutineModel) -> None:
    model = RoutineModel()
    model.fit(_home(), SPEC, _at(14, 0))
    model.check(_at(14, 8.0), None)
    # Learning paused for three days: nothing heard, nothing checked. The kitchen reports again.
    now = _at(17, 8.0)
    model.check(now, None)
    last = {KITCHEN: now, BED: _at(14, 7.0), DOOR: _at(14, 7.5)}
    assert model.silent_sensors(now, last) == []
    assert fitted.silent_sensors(now, last) == [BED]  # a watch that was not paused (a door is not judged)


def test_the_told_silence_outlives_a_restart() -> None:
    before = RoutineModel()
    before.fit(_home(), SPEC, _at(14, 0))
    assert len(_watch_morning(before, bed_off=7.0, until=11.0)) == 1
    saved = json.loads(json.dumps(before.live_state()))
    assert saved == {"told_silence": _at(14, 7.0), "watched_until": _at(14, 10 + 55 / 60), "unwatched": []}

    def started_again(saved: dict[str, object]) -> RoutineModel:
        """A fit at startup knows only what was recorded: the bed emptied at 07:00, then nothing."""
        model = RoutineModel()
        model.fit(_home(), SPEC, _at(14, 0))
        model.restore_live(saved)
        model.observe(BED, 1.0, _at(13, 23.0))
        model.observe(BED, 0.0, _at(14, 7.0))
        return model

    assert started_again(saved).check(_at(14, 11.5), None) is None
    assert started_again({}).check(_at(14, 11.5), None) is not None
    assert started_again({"told_silence": None}).watch_.told is None
