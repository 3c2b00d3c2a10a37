"""Occupancy routines: targets, routine changes, calibration, arrival/departure, live score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.smartml.engine.constants import HOME
from custom_components.smartml.engine.exclusions import ExcludedPeriod
from custom_components.smartml.engine.live_score import LiveScore
from custom_components.smartml.engine.observations import ObservationStore, entity_roles
from custom_components.smartml.engine.occupancy import OccupancyModel
from custom_components.smartml.engine.occupancy_blend import (
    NAIVE,
    PRIOR_ROWS,
    band_of,
    choose_blend,
    day_ahead_shift,
    held_steps,
    shifted,
)
from custom_components.smartml.engine.occupancy_reasons import last_on
from custom_components.smartml.engine.occupancy_routine import EwIndex
from custom_components.smartml.engine.occupancy_spells import home_now, next_use
from custom_components.smartml.engine.occupancy_targets import occupancy_targets, run_lengths
from custom_components.smartml.engine.results import (
    CONTRIBUTION_ACTIVITY,
    CONTRIBUTION_AWAY,
    CONTRIBUTION_ROUTINE,
    MAX_CONTRIBUTIONS,
    OccupancyForecast,
)
from custom_components.smartml.engine.slots import slot_grid
from custom_components.smartml.fit_reasons import say_reason
from evaluation.convert import convert_casas
from evaluation.metrics import brier

TZ = "Europe/Berlin"
SLOT = 900.0
SPEC = {
    "timezone": TZ,
    "areas": {
        "office": {"occupancy": ["binary_sensor.office_motion"]},
        "kitchen": {"occupancy": ["binary_sensor.kitchen_motion"]},
    },
    "presence": ["person.alex"],
}
# A Monday.
START = datetime(2024, 1, 1, tzinfo=ZoneInfo(TZ))


def _ts(day: int, hour: float) -> float:
    """Epoch seconds of local `hour` on day `day` after START (DST-free January/February)."""
    return (START + timedelta(days=day, hours=hour)).timestamp()


def _add_interval(
    rows: list[tuple[str, str, float, None]], entity: str, on: str, off: str, start: float, end: float
) -> None:
    rows.append((entity, on, start, None))
    rows.append((entity, off, end, None))


def _office_worker(
    days: int, wfh_from_day: int | None = None, seed: int = 0, kitchen_from_day: int = 0
) -> ObservationStore:
    """Away 08:30-17:30 on weekdays; kitchen at breakfast and dinner; office on home days.

    From `wfh_from_day` on, Wednesdays are spent at home working in the office. The kitchen's
    sensor is read from `kitchen_from_day` on (added to the home then).
    """
    rng = np.random.default_rng(seed)
    # Each entity's state at the start, as the recorder's history gives it.
    rows: list[tuple[str, str, float, None]] = [
        ("person.alex", "home", _ts(0, 0), None),
        ("binary_sensor.kitchen_motion", "off", _ts(kitchen_from_day, 0), None),
        ("binary_sensor.office_motion", "off", _ts(0, 0), None),
    ]
    for day in range(days):
        weekday = (START + timedelta(days=day)).weekday()
        jitter = lambda: float(rng.normal(0.0, 0.15))  # noqa: E731 - hours
        _add_interval(
            rows, "binary_sensor.kitchen_motion", "on", "off", _ts(day, 7.2 + jitter()), _ts(day, 7.7 + jitter())
        )
        _add_interval(
            rows, "binary_sensor.kitchen_motion", "on", "off", _ts(day, 18.5 + jitter()), _ts(day, 19.3 + jitter())
        )
        working_from_home = wfh_from_day is not None and day >= wfh_from_day and weekday == 2
        if weekday < 5 and not working_from_home:
            _add_interval(rows, "person.alex", "not_home", "home", _ts(day, 8.5 + jitter()), _ts(day, 17.5 + jitter()))
        else:
            _add_interval(
                rows, "binary_sensor.office_motion", "on", "off", _ts(day, 9.0 + jitter()), _ts(day, 12.0 + jitter())
            )
            _add_interval(
                rows, "binary_sensor.office_motion", "on", "off", _ts(day, 13.0 + jitter()), _ts(day, 17.0 + jitter())
            )
    rows = [row for row in rows if row[0] != "binary_sensor.kitchen_motion" or row[2] >= _ts(kitchen_from_day, 0)]
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(SPEC))
    return store


def _p_at(model: OccupancyModel, store: ObservationStore, origin: float, target: float, scope: str) -> float:
    steps = np.array([round((target - origin) / SLOT) + 1])
    return float(model.probabilities(store, np.array([origin]), steps)[scope][0, 0])


def test_area_slot_is_occupied_when_a_sensor_was_on_in_it() -> None:
    store = ObservationStore()
    rows = [
        ("binary_sensor.office_motion", "on", 1000.0, None),
        ("binary_sensor.office_motion", "off", 1010.0, None),
        ("binary_sensor.office_motion", "on", 3 * SLOT + 10, None),
        ("binary_sensor.office_motion", "off", 6 * SLOT - 1, None),
    ]
    store.merge_states(rows, entity_roles(SPEC))
    starts = slot_grid(0.0, 8 * SLOT, 15)
    targets = occupancy_targets(store, SPEC, starts, SLOT)
    # A 10-second blip marks its slot; an on held from slot 3 into slot 5 marks 3, 4 and 5.
    assert targets["office"].tolist() == [False, True, False, True, True, True, False, False]
    assert "kitchen" not in targets  # no history, no target


def test_home_is_occupied_by_presence_or_any_area() -> None:
    store = ObservationStore()
    rows = [
        ("person.alex", "not_home", 0.0, None),
        ("person.alex", "home", 4 * SLOT + 1, None),
        ("binary_sensor.kitchen_motion", "on", SLOT + 5, None),
        ("binary_sensor.kitchen_motion", "off", SLOT + 50, None),
    ]
    store.merge_states(rows, entity_roles(SPEC))
    targets = occupancy_targets(store, SPEC, slot_grid(0.0, 6 * SLOT, 15), SLOT)
    assert targets[HOME].tolist() == [False, True, False, False, True, True]


def test_a_sensor_left_on_in_an_empty_home_is_no_room_in_use() -> None:
    rows = [
        ("person.alex", "not_home", 0.0, None),
        ("person.alex", "home", 4 * SLOT + 1, None),
        # Turned on by someone coming by, then left on until after they are back.
        ("binary_sensor.office_motion", "off", 0.0, None),
        ("binary_sensor.office_motion", "on", SLOT + 5, None),
        ("binary_sensor.office_motion", "off", 5 * SLOT + 50, None),
    ]
    grid = slot_grid(0.0, 6 * SLOT, 15)
    store = ObservationStore()
    store.merge_states(rows, entity_roles(SPEC))
    targets = occupancy_targets(store, SPEC, grid, SLOT)
    # The switch-on is a sign of someone; its level while everyone is away is not.
    assert targets[HOME].tolist() == [False, True, False, False, True, True]
    assert targets["office"].tolist() == [False, True, False, False, True, True]

    # Without a presence entity the sensors are all there is: their level counts.
    no_presence = {key: value for key, value in SPEC.items() if key != "presence"}
    store = ObservationStore()
    store.merge_states(rows[2:], entity_roles(no_presence))
    targets = occupancy_targets(store, no_presence, grid, SLOT)
    assert targets["office"].tolist() == [False, True, True, True, True, True]
    assert targets[HOME].tolist() == targets["office"].tolist()


def test_before_the_presence_is_first_read_the_sensors_are_all_there_is() -> None:
    rows = [
        ("binary_sensor.office_motion", "on", 0.0, None),
        ("binary_sensor.office_motion", "off", 5 * SLOT + 50, None),
        # The person entity appears later (added to the home, or its history starts then).
        ("person.alex", "not_home", 3 * SLOT + 1, None),
    ]
    store = ObservationStore()
    store.merge_states(rows, entity_roles(SPEC))
    targets = occupancy_targets(store, SPEC, slot_grid(0.0, 6 * SLOT, 15), SLOT)
    assert targets["office"].tolist() == [True, True, True, False, False, True]
    assert targets[HOME].tolist() == targets["office"].tolist()


def test_a_sensor_added_later_is_not_taught_that_its_room_was_empty_before() -> None:
    monday = _ts(28, 0)  # breakfast about 07:30, dinner about 18:45, nobody in the kitchen at noon
    # The second home's kitchen sensor joined on day 24: the weeks before were not read.
    for store in (_office_worker(days=28), _office_worker(days=28, kitchen_from_day=24)):
        model = OccupancyModel()
        model.fit(store, SPEC, monday)
        assert _p_at(model, store, monday, _ts(28, 7.5), "kitchen") > 0.5
        assert _p_at(model, store, monday, _ts(28, 18.75), "kitchen") > 0.5
        assert _p_at(model, store, monday, _ts(28, 12), "kitchen") < 0.5


def test_run_lengths_count_slots_since_the_last_change() -> None:
    y = np.array([0, 0, 1, 1, 1, 0], dtype=bool)
    assert run_lengths(y).tolist() == [1, 2, 1, 2, 3, 1]


def test_exponential_index_forgets_with_the_half_life() -> None:
    index = EwIndex.build(
        np.array([0, 0, 1]), np.array([0.0, 10.0, 0.0]), np.array([1.0, 0.0, 1.0]), n_index=2, half_life_s=10.0
    )
    weight, weighted = index.query(np.array([0, 0, 1]), np.array([10.0, 5.0, 10.0]), np.array([10.0, 10.0, 20.0]))
    # Index 0 at t=10: the old 1 weighs 0.5, the new 0 weighs 1; with a cut at 5 only the old one.
    np.testing.assert_allclose(weight, [1.5, 0.5, 0.25])
    np.testing.assert_allclose(weighted, [0.5, 0.5, 0.25])


def test_new_work_from_home_day_shows_within_a_week() -> None:
    # Four weeks of the old routine, then Wednesdays at home (day 28 is a Monday).
    store = _office_worker(days=42, wfh_from_day=30)
    model = OccupancyModel()
    # Before the change: Wednesday 11:00 office predicted empty from Tuesday 11:00.
    model.fit(store, SPEC, _ts(29, 0))
    before = _p_at(model, store, _ts(29, 11), _ts(30, 11), "office")
    assert before < 0.1
    # Six days after the first home Wednesday, the next Wednesday looks different.
    model.fit(store, SPEC, _ts(36, 0))
    assert model.enough_data() == (True, None)
    wednesday = _p_at(model, store, _ts(36, 11), _ts(37, 11), "office")
    thursday = _p_at(model, store, _ts(37, 11), _ts(38, 11), "office")
    home_wednesday = _p_at(model, store, _ts(36, 11), _ts(37, 11), HOME)
    home_thursday = _p_at(model, store, _ts(37, 11), _ts(38, 11), HOME)
    # One new Wednesday against four old ones: the office is more likely used than not,
    # and the home is several times likelier occupied than on the unchanged Thursday (the
    # day-ahead blend with the time-of-week routine, which still counts the old Wednesdays,
    # holds it under the classifier's own figure).
    assert wednesday > 0.5
    assert wednesday > 5 * thursday
    assert home_wednesday > 2.5 * home_thursday


def test_probabilities_are_calibrated_on_a_random_routine() -> None:
    # Kitchen used in a slot with a known probability that depends on the hour only.
    rng = np.random.default_rng(1)
    spec = {"timezone": TZ, "areas": {"kitchen": {"occupancy": ["binary_sensor.kitchen_motion"]}}}
    hours_profile = np.clip(np.sin(np.linspace(0, np.pi, 24)) * 0.7, 0.02, None)
    starts = slot_grid(_ts(0, 0), _ts(35, 0), 15)
    local_hour = ((starts - _ts(0, 0)) % 86_400 // 3600).astype(int)
    occupied = rng.random(len(starts)) < hours_profile[local_hour]
    rows = [("binary_sensor.kitchen_motion", "off", float(starts[0]), None)]
    for start in starts[occupied]:
        rows += [
            ("binary_sensor.kitchen_motion", "on", float(start + 1), None),
            ("binary_sensor.kitchen_motion", "off", float(start + SLOT - 1), None),
        ]
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(spec))
    model = OccupancyModel()
    model.fit(store, spec, _ts(28, 0))
    origins = starts[(starts >= _ts(28, 0)) & (starts < _ts(34, 0))]
    p = model.probabilities(store, origins, np.array([16]))["kitchen"][:, 0]
    truth_p = hours_profile[((origins + 15 * SLOT - _ts(0, 0)) % 86_400 // 3600).astype(int)]
    # Each prediction is near the true probability, and reliability holds per band.
    assert float(np.mean(np.abs(p - truth_p))) < 0.08
    target_idx = np.searchsorted(starts, origins) + 15
    outcome = occupied[target_idx].astype(float)
    for low, high in ((0.0, 0.2), (0.2, 0.5), (0.5, 1.0)):
        band = (p >= low) & (p < high)
        if band.sum() > 50:
            assert abs(float(p[band].mean()) - float(outcome[band].mean())) < 0.1
    assert brier(outcome, p) < brier(outcome, np.full(len(p), occupied[: target_idx[0]].mean()))


def test_an_overdue_arrival_and_use_are_expected_in_the_current_slot_not_in_the_past() -> None:
    store = _office_worker(days=28)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(28, 0))
    # Monday: out at 08:30 as usual, not back at 17:30; at 20:07 the return is overdue.
    store.merge_states([("person.alex", "not_home", _ts(28, 8.5), None)], entity_roles(SPEC))
    now = _ts(28, 20) + 7 * 60
    late = model.predict(store, now)
    assert late.home_occupied is False and late.expected_arrival is not None
    band = late.expected_arrival
    slot_start = _ts(28, 20)
    assert slot_start <= band.low <= band.ts <= band.high
    for outlook in late.areas.values():
        assert outlook.next_occupied is None or outlook.next_occupied >= slot_start
    # A minute later it has not moved: the sensors are not written again every minute.
    later = model.predict(store, now + 60)
    assert later.expected_arrival == band
    assert [o.next_occupied for o in later.areas.values()] == [o.next_occupied for o in late.areas.values()]


def test_expected_arrival_and_departure_follow_the_routine() -> None:
    store = _office_worker(days=35)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(28, 0))
    # Tuesday 10:00, away: back around 17:30.
    away = model.predict(store, _ts(29, 10))
    assert away.home_occupied is False
    assert away.expected_arrival is not None and away.expected_departure is None
    band = away.expected_arrival
    assert band.low <= band.ts <= band.high
    assert abs(band.ts - _ts(29, 17.5)) < 3600
    # Tuesday 07:00, home: leaving around 08:30.
    home = model.predict(store, _ts(29, 7))
    assert home.home_occupied is True and home.expected_departure is not None
    assert abs(home.expected_departure.ts - _ts(29, 8.5)) < 3600


def test_forecast_has_hourly_outlook_and_plain_dict() -> None:
    store = _office_worker(days=28)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(28, 0))
    forecast = model.predict(store, _ts(28, 6), hours=24)
    assert isinstance(forecast, OccupancyForecast)
    assert set(forecast.areas) == {"office", "kitchen"}
    kitchen = forecast.areas["kitchen"]
    assert len(kitchen.forecast) == 24 and 0.0 <= kitchen.probability <= 1.0
    # Breakfast at about 07:15 on a Monday morning.
    assert kitchen.next_occupied is not None and abs(kitchen.next_occupied - _ts(28, 7.25)) <= 1800
    assert forecast.expected_departure is not None and forecast.home is not None
    assert kitchen.forecast[0][0] == _ts(28, 6)


def test_not_enough_history_says_how_much_is_needed() -> None:
    store = _office_worker(days=2)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(1, 6))
    ready, reason = model.enough_data()
    assert not ready and reason is not None and say_reason(reason) == "needs 3 days of history, has 1.2"


def test_a_day_short_of_what_is_needed_never_reads_as_enough() -> None:
    """2.98 of 3 days reads "has 2.9": rounded to nearest it would say "has 3.0" and not ready."""
    model = OccupancyModel()
    model.fit(_office_worker(days=4), SPEC, _ts(2, 23.5))
    ready, reason = model.enough_data()
    assert not ready and reason is not None and say_reason(reason) == "needs 3 days of history, has 2.9"


def test_live_score_compares_with_baseline_and_round_trips() -> None:
    score = LiveScore()
    for i in range(30):
        outcome = np.array([i % 2 == 0])
        score.record("office", i * SLOT, 0.9 if i % 2 == 0 else 0.1, 0.5)
        score.resolve("office", np.array([i * SLOT]), outcome)
    skill, scored = score.skill("office")
    assert scored == 30 and skill == pytest.approx(1 - 0.01 / 0.25)
    restored = LiveScore.from_dict(json.loads(json.dumps(score.as_dict())))
    assert restored.skill("office") == (skill, 30)
    restored.prune(30 * SLOT + 8 * 86_400)
    assert restored.skill("office") == (None, 0)


def test_model_keeps_live_score_across_refits() -> None:
    store = _office_worker(days=28)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(27, 0))
    for hour in np.arange(0, 24, 0.25):
        model.predict(store, _ts(27, float(hour)))
    saved = json.loads(json.dumps(model.as_dict()))
    again = OccupancyModel.from_dict(saved)
    again.fit(store, SPEC, _ts(28, 0))
    forecast = again.predict(store, _ts(28, 0.1))
    assert forecast.areas["kitchen"].scored_slots >= 90
    assert forecast.areas["kitchen"].skill is not None


def test_slots_excluded_afterwards_leave_the_live_score() -> None:
    store = _office_worker(days=28)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(27, 0))
    for hour in np.arange(0, 24, 0.25):
        model.predict(store, _ts(27, float(hour)))
    assert model.predict(store, _ts(28, 0.1)).areas["kitchen"].scored_slots >= 90
    store.excluded = (ExcludedPeriod(_ts(27, 0), _ts(28, 0)),)
    again = OccupancyModel.from_dict(json.loads(json.dumps(model.as_dict())))
    again.fit(store, SPEC, _ts(28, 0))
    assert again.predict(store, _ts(28, 0.1)).areas["kitchen"].scored_slots == 0


def test_casas_log_converts_to_history_and_spec(tmp_path: Path) -> None:
    log = tmp_path / "data"
    log.write_text(
        "2010-11-04 00:03:50.209589 M003 ON Sleeping begin\n"
        "2010-11-04 00:03:57.399391 M003 OFF\n"
        "2010-11-04 00:15:08.984841 T002 21.5\n"
        "2010-11-04 08:00:00.000000 D001 OPEN Leave_Home begin\n"
        "2010-11-04 08:00:10.000000 D001 CLOSE Leave_Home end\n"
        "2010-11-04 17:00:00.000000 M021 ON Enter_Home begin\n"
        "2010-11-04 17:00:05.000000 M021 OFF Enter_Home end\n",
        encoding="utf-8",
    )
    (tmp_path / "areas.json").write_text(json.dumps({"M003": "Bedroom"}), encoding="utf-8")
    spec = convert_casas(tmp_path, tmp_path / "out")
    assert spec["areas"] == {
        "bedroom": {"occupancy": ["binary_sensor.m003_motion"]},
        "m021": {"occupancy": ["binary_sensor.m021_motion"]},
    }
    assert spec["security"] == ["binary_sensor.d001_door"]
    assert spec["presence"] == ["person.resident"]
    lines = (tmp_path / "out" / "history.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "entity_id,state,last_changed"
    assert "person.resident,not_home,2010-11-04T08:00:10-07:00" in lines
    assert "person.resident,home,2010-11-04T17:00:00-07:00" in lines
    assert not any("t002" in line for line in lines)
    assert datetime.fromisoformat(lines[1].split(",")[2]).astimezone(UTC).hour == 7


def test_leaving_at_an_unusual_hour_still_gets_an_arrival_estimate() -> None:
    store = _office_worker(days=28)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(28, 0))
    # Monday 06:50: the slots still say home, but the person has just left, hours early.
    store.merge_states([("person.alex", "not_home", _ts(28, 6.8), None)], entity_roles(SPEC))
    forecast = model.predict(store, _ts(28, 6.85))
    assert forecast.home_occupied is False and forecast.expected_departure is None
    assert forecast.expected_arrival is not None and forecast.expected_arrival.ts > _ts(28, 6.85)


def test_next_use_is_where_the_chance_of_a_use_reaches_one_half() -> None:
    # Slots at 0.2 each: the chance of a use is 1 - 0.8^k, past one half at k = 4.
    index, chance = next_use(np.full(10, 0.2))
    assert index == 3 and chance == pytest.approx(1 - 0.8**10)
    # A slot itself likely occupied is used by then.
    assert next_use(np.array([0.0, 0.0, 0.6, 0.0]))[0] == 2
    # Rarely likely at all: no use expected in the forecast.
    index, chance = next_use(np.full(10, 0.01))
    assert index is None and chance == pytest.approx(1 - 0.99**10)


def test_last_on_reads_only_what_was_known_then() -> None:
    store = ObservationStore()
    store.merge_states(
        [
            ("binary_sensor.office_motion", "on", 100.0, None),
            ("binary_sensor.office_motion", "off", 160.0, None),
            ("binary_sensor.office_motion", "on", 500.0, None),
        ],
        entity_roles(SPEC),
    )
    office = ["binary_sensor.office_motion"]
    assert last_on(store, office, 90.0) is None
    assert last_on(store, office, 130.0) == 130.0  # on now
    assert last_on(store, office, 400.0) == 160.0
    assert last_on(store, office, 600.0) == 600.0
    assert last_on(store, ["binary_sensor.kitchen_motion"], 600.0) is None
    # With everyone away, a sensor left on is no one there: its switch-on was the last sign.
    assert last_on(store, office, 600.0, level_counts=False) == 500.0


def test_with_everyone_away_the_home_is_not_taken_as_in_use() -> None:
    presence = ["person.alex", "person.sam"]
    store = ObservationStore()
    store.merge_states(
        [
            ("person.alex", "not_home", 100.0, None),
            ("person.sam", "home", 100.0, None),
            ("person.sam", "not_home", 300.0, None),
        ],
        entity_roles({**SPEC, "presence": presence}),
    )
    # Away only when every presence entity with a reading says so; with none, the sensors count.
    assert home_now(store, presence, 50.0, p_next=1.0)  # nothing known yet
    assert home_now(store, presence, 200.0, p_next=1.0)
    assert not home_now(store, presence, 400.0, p_next=1.0)
    assert home_now(store, [], 400.0, p_next=1.0)


def test_contributions_name_what_weighs_most_strongest_first() -> None:
    store = _office_worker(days=29)
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(28, 0))
    # Monday 12:00: everyone left for work at about 08:30.
    forecast = model.predict(store, _ts(28, 12))
    office = forecast.areas["office"]
    assert 1 <= len(office.contributions) <= MAX_CONTRIBUTIONS
    weights = [abs(c.weight) for c in office.contributions]
    assert weights == sorted(weights, reverse=True)
    kinds = {c.kind: c for c in office.contributions}
    # The office is empty and has been all day: that weighs most, against its use.
    assert office.contributions[0].kind == CONTRIBUTION_ACTIVITY and office.contributions[0].weight < 0
    assert kinds[CONTRIBUTION_ACTIVITY].active is False
    # On weekdays at noon it was never used in the four weeks (it is used on weekends).
    routine = kinds[CONTRIBUTION_ROUTINE]
    assert (routine.share, routine.weeks, routine.weekend) == (0.0, 4, False)
    home = {c.kind: c for c in forecast.home.contributions}
    assert home[CONTRIBUTION_ACTIVITY].active is False
    last_active = home[CONTRIBUTION_ACTIVITY].last_active
    assert last_active is not None and _ts(28, 7.5) < last_active < _ts(28, 9.5)
    assert CONTRIBUTION_AWAY in kinds or CONTRIBUTION_AWAY in home


def test_without_a_classifier_the_reason_weighs_the_routine_and_the_last_state() -> None:
    store = _office_worker(days=14)
    model = OccupancyModel(classifier="routine")
    model.fit(store, SPEC, _ts(14, 0))
    kitchen = model.predict(store, _ts(14, 7.5)).areas["kitchen"]
    assert {c.kind for c in kitchen.contributions} == {CONTRIBUTION_ROUTINE, CONTRIBUTION_ACTIVITY}


def test_a_blend_keeps_the_classifier_where_it_wins_and_leans_on_a_naive_forecast_that_wins() -> None:
    rng = np.random.default_rng(0)
    rows = 20_000
    truth = (rng.random(rows) < 0.3).astype(np.float64)
    steps = np.where(np.arange(rows) % 2 == 0, 1, 96).astype(np.int64)
    near = steps == 1
    # Near horizons: the classifier knows; far ones: it is noise and the overall rate is right.
    model = np.where(near, np.clip(truth + rng.normal(0, 0.05, rows), 0, 1), rng.random(rows))
    naive = np.stack([np.roll(truth, 1), np.full(rows, 0.5), np.full(rows, 0.3)])
    blend = choose_blend(model, naive, truth, steps)
    near_band, far_band = band_of(np.array([1, 96]))
    assert blend.weight[near_band] > 0.95
    assert blend.naive[far_band] == NAIVE.index("overall_rate") and blend.weight[far_band] < 0.2
    # A constant is pooled as a probability only (in log-odds it would only rescale the classifier).
    assert blend.log_odds_share[far_band] == 0.0
    blended = blend.apply(model, naive, steps, np.zeros(rows, dtype=bool))
    assert brier(truth[~near], blended[~near]) < brier(truth[~near], model[~near])


def test_a_sure_forecast_stays_sure_where_the_other_is_unsure_when_log_odds_pool_better() -> None:
    # A home occupied throughout: on half the rows the classifier is sure and the time of
    # week unsure (a past absence at that time), on the other half the other way round.
    rows = 20_000
    truth = np.ones(rows)
    classifier_sure = np.arange(rows) % 2 == 0
    model = np.where(classifier_sure, 0.999, 0.6)
    week = np.where(classifier_sure, 0.7, 0.999)
    naive = np.stack([np.zeros(rows), week, np.full(rows, 0.5)])
    steps = np.ones(rows, dtype=np.int64)
    blend = choose_blend(model, naive, truth, steps)
    band = int(band_of(steps[:1])[0])
    assert blend.naive[band] == NAIVE.index("time_of_week")
    # The hold-out's many rows give the log-odds pool nearly all the share.
    assert blend.log_odds_share[band] == pytest.approx(rows / (rows + PRIOR_ROWS))
    blended = blend.apply(model, naive, steps, np.zeros(rows, dtype=bool))
    # A weighted mean of 0.999 and 0.7 (or of 0.6 and 0.999) could not exceed 0.85 on both.
    assert blended.min() > 0.95
    assert brier(truth, blended) < 0.01


def test_few_held_out_rows_keep_the_classifier() -> None:
    truth = np.array([1.0, 0.0, 1.0, 0.0])
    blend = choose_blend(1.0 - truth, np.stack([truth, truth, truth]), truth, np.ones(4, dtype=np.int64))
    assert min(blend.weight) > 0.99


def test_beyond_its_record_the_last_state_holds_over_half_its_length_from_2_to_8_hours() -> None:
    # Empty 4, occupied 2, empty 3, occupied 5 slots.
    y = np.array([0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1], dtype=bool)
    origins = np.arange(1, len(y) + 1, dtype=np.int64)
    # The first run of each state has no record to beat; the second empty run stays within
    # 2 x 4 slots; the second occupied run goes beyond 2 x 2 slots at its 5th. Short runs
    # hold for 2 h (8 slots).
    expected = [8] * 4 + [8] * 2 + [0] * 3 + [0] * 4 + [8]
    assert held_steps(y, origins).tolist() == expected
    # A state never seen before holds at once; a long one over half its length, up to 8 h.
    first_absence = np.r_[np.ones(50), np.zeros(100)].astype(bool)
    assert held_steps(first_absence, np.array([51, 80, 150])).tolist() == [8, 15, 32]


def test_beyond_its_record_a_scope_keeps_its_last_state() -> None:
    rng = np.random.default_rng(1)
    rows = 4000
    steps = np.where(np.arange(rows) % 2 == 0, 1, 96).astype(np.int64)
    truth = np.ones(rows)
    blend = choose_blend(np.full(rows, 0.9), np.stack([truth, truth, truth]), truth, steps)
    near_and_far = np.array([1, 8, 9, 96], dtype=np.int64)
    model = rng.uniform(0.6, 0.9, 4)
    naive = np.stack([np.zeros(4), np.ones(4), np.ones(4)])
    weight = np.array(blend.weight)[band_of(near_and_far)]
    as_chosen = weight * model + (1 - weight) * naive[np.array(blend.naive)[band_of(near_and_far)], np.arange(4)]
    held = blend.apply(model, naive, near_and_far, near_and_far <= 8)
    # Within the held slots the last state (empty) answers alone; beyond, the blend as chosen.
    assert held[:2].tolist() == [0.0, 0.0]
    assert held[2:] == pytest.approx(as_chosen[2:])
    within = blend.apply(model, naive, near_and_far, np.zeros(4, dtype=bool))
    assert within == pytest.approx(as_chosen)
    assert within[:2].min() > 0.0


def _homebody_first_absence() -> tuple[OccupancyModel, ObservationStore]:
    """Home and in the kitchen daily for 12 days, never away; on day 12 away from 10:00."""
    rows: list[tuple[str, str, float, None]] = [("person.alex", "home", _ts(0, 0), None)]
    for day in range(13):
        _add_interval(rows, "binary_sensor.kitchen_motion", "on", "off", _ts(day, 7.5), _ts(day, 8.0))
        _add_interval(rows, "binary_sensor.office_motion", "on", "off", _ts(day, 9.0), _ts(day, 9.5))
    rows.append(("person.alex", "not_home", _ts(12, 10.0), None))
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(SPEC))
    model = OccupancyModel()
    model.fit(store, SPEC, _ts(12, 0))
    return model, store


def test_a_homebodys_first_absence_is_not_taken_for_presence() -> None:
    model, store = _homebody_first_absence()
    now = _ts(12, 11.0)
    assert _p_at(model, store, now, now, HOME) < 0.05
    assert _p_at(model, store, now, now + 3600, HOME) < 0.05
    # Away longer than ever before: the absence holds over half its length.
    later = _ts(12, 20.0)
    assert _p_at(model, store, later, later + 4 * 3600, HOME) < 0.05
    # Nobody home: the kitchen's breakfast routine waits too while the absence holds.
    next_morning = _ts(13, 5.0)
    assert _p_at(model, store, next_morning, _ts(13, 7.5), "kitchen") < 0.05


def test_while_the_home_is_away_beyond_its_record_no_area_is_likelier_in_use_at_any_horizon() -> None:
    model, store = _homebody_first_absence()
    # Ten hours into the absence the last state holds for five; breakfast is 11.5 h ahead.
    now = _ts(12, 20.0)
    breakfast = _ts(13, 7.5)
    home, kitchen = _p_at(model, store, now, breakfast, HOME), _p_at(model, store, now, breakfast, "kitchen")
    assert kitchen <= home
    # Beyond its record the home's day-ahead forecast is not corrected by its usual rate.
    model.day_ahead_shifts_[HOME] = -1.0
    assert _p_at(model, store, now, breakfast, HOME) == pytest.approx(home)


def test_the_day_ahead_shift_lowers_an_overforecast_to_the_rate_and_never_raises() -> None:
    rng = np.random.default_rng(3)
    truth = (rng.uniform(size=5000) < 0.03).astype(np.float64)
    overforecast = rng.uniform(0.05, 0.15, 5000)
    shift = day_ahead_shift(overforecast, truth)
    assert shift < 0.0
    assert shifted(overforecast, shift).mean() == pytest.approx(truth.mean(), abs=1e-6)
    # Used more often than forecast: left alone.
    assert day_ahead_shift(np.full(5000, 0.01), truth) == 0.0
    assert day_ahead_shift(np.array([]), np.array([])) == 0.0


def test_a_rarely_used_areas_day_ahead_shift_lowers_only_its_day_ahead_forecast() -> None:
    # Home all day; the kitchen at breakfast and dinner, the office most afternoons, a
    # storeroom opened for one slot a day at a random hour.
    rng = np.random.default_rng(5)
    spec = {**SPEC, "areas": {**SPEC["areas"], "storeroom": {"occupancy": ["binary_sensor.storeroom_door"]}}}
    rows: list[tuple[str, str, float, None]] = [("person.alex", "home", _ts(0, 0), None)]
    for day in range(21):
        _add_interval(rows, "binary_sensor.kitchen_motion", "on", "off", _ts(day, 7.5), _ts(day, 8.5))
        _add_interval(rows, "binary_sensor.kitchen_motion", "on", "off", _ts(day, 18.5), _ts(day, 19.5))
        _add_interval(rows, "binary_sensor.office_motion", "on", "off", _ts(day, 13.0), _ts(day, 17.0))
        opened = float(rng.uniform(8.0, 22.0))
        _add_interval(rows, "binary_sensor.storeroom_door", "on", "off", _ts(day, opened), _ts(day, opened + 0.05))
    store = ObservationStore(max_points=10**6)
    store.merge_states(rows, entity_roles(spec))
    model = OccupancyModel()
    model.fit(store, spec, _ts(20, 0))
    origins = np.array([_ts(20, hour) for hour in range(0, 24, 2)])
    steps = np.array([16, 32, 33, 96])
    # Forecast as often as it was used, a day ahead too: nothing to correct.
    assert model.day_ahead_shifts_ == dict.fromkeys(("office", "kitchen", "storeroom", HOME), 0.0)
    before = model.probabilities(store, origins, steps)["storeroom"]
    model.day_ahead_shifts_["storeroom"] = -1.0
    after = model.probabilities(store, origins, steps)["storeroom"]
    # Up to 8 h ahead unchanged; beyond, lower by the shift (the blend then mixes in a naive forecast).
    assert after[:, :2] == pytest.approx(before[:, :2])
    assert np.all(after[:, 2:] < before[:, 2:])
