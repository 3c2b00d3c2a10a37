"""Excluded periods in the engine: spans, slot masks, forgotten readings and the occupancy routines."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.smartml.engine.exclusions import ExcludedPeriod, merged_spans
from custom_components.smartml.engine.observations import (
    KIND_MEAN,
    KIND_STATE,
    ChannelBuffer,
    ObservationStore,
    entity_roles,
)
from custom_components.smartml.engine.occupancy import OccupancyModel
from custom_components.smartml.engine.occupancy_routine import build_routines
from custom_components.smartml.engine.slots import counted

from .test_occupancy import SPEC, _office_worker, _ts


def test_spans_merge_and_concern_only_the_models_reading_their_entities() -> None:
    periods = [
        ExcludedPeriod(10.0, 20.0),
        ExcludedPeriod(15.0, 30.0, ("sensor.power",)),
        ExcludedPeriod(40.0, 50.0, ("binary_sensor.door",)),
    ]
    assert merged_spans(periods) == [(10.0, 30.0), (40.0, 50.0)]
    assert merged_spans(periods, ["binary_sensor.door"]) == [(10.0, 20.0), (40.0, 50.0)]
    assert merged_spans(periods, ["sensor.power"]) == [(10.0, 30.0)]


def test_counted_leaves_out_times_inside_spans() -> None:
    times = np.array([0.0, 1.0, 2.5, 3.0, 5.0, 6.0])
    assert counted(times, [(1.0, 3.0), (5.0, 6.0)]).tolist() == [True, False, False, True, False, True]
    assert counted(times, []).all()


def test_a_period_round_trips_and_a_reversed_one_is_refused() -> None:
    period = ExcludedPeriod(1.0, 2.0, ("sensor.power",), "spike")
    assert ExcludedPeriod.from_json(period.as_json()) == period
    with pytest.raises(ValueError, match="end after"):
        ExcludedPeriod.from_json({"start": 2.0, "end": 1.0})


def test_forgetting_readings_drops_points_and_an_open_bucket() -> None:
    state = ChannelBuffer(KIND_STATE)
    for ts, value in ((0.0, 0.0), (10.0, 1.0), (20.0, 0.0), (30.0, 1.0)):
        state.append(ts, value)
    assert state.drop_between(5.0, 25.0) == 2
    assert list(state.times) == [0.0, 30.0]
    mean = ChannelBuffer(KIND_MEAN)
    mean.append(0.0, 5.0)
    mean.append(400.0, 9000.0)  # still in its open five-minute bucket
    assert mean.drop_between(300.0, 600.0) == 1
    mean.append(700.0, 7.0)
    mean.flush()
    assert list(mean.values) == [5.0, 7.0]


def test_forgetting_readings_leaves_a_state_channel_in_the_state_the_span_ended_in() -> None:
    door = ChannelBuffer(KIND_STATE)
    for ts, value in ((0.0, 1.0), (50.0, 0.0), (60.0, 1.0), (70.0, 0.0), (200.0, 1.0)):
        door.append(ts, value)
    assert door.drop_between(40.0, 100.0) == 3
    assert list(zip(door.times, door.values, strict=True)) == [(0.0, 1.0), (100.0, 0.0), (200.0, 1.0)]
    # A span still running ends now; one ending in the state it started in keeps nothing.
    running = ChannelBuffer(KIND_STATE)
    for ts, value in ((0.0, 0.0), (10.0, 1.0), (20.0, 0.0), (30.0, 1.0)):
        running.append(ts, value)
    assert running.drop_between(25.0, 1000.0, now=40.0) == 1
    assert list(zip(running.times, running.values, strict=True)) == [(0.0, 0.0), (10.0, 1.0), (20.0, 0.0), (40.0, 1.0)]
    assert running.drop_between(5.0, 25.0) == 2
    assert list(running.times) == [0.0, 40.0]


def test_an_excluded_party_leaves_the_occupancy_routines_as_if_it_never_was() -> None:
    days = 21
    clean = _office_worker(days)
    party = _office_worker(days)
    party_day = 9  # a Wednesday: at home all day with friends in the kitchen
    rows = [
        ("binary_sensor.kitchen_motion", state, _ts(party_day, hour + offset), None)
        for hour in np.arange(10.0, 17.0, 0.5)
        for state, offset in (("on", 0.0), ("off", 0.25))
    ]
    party.merge_states(rows, entity_roles(SPEC))
    excluded = (ExcludedPeriod(_ts(party_day, 0), _ts(party_day + 1, 0)),)
    now = _ts(days, 0)

    def routines(store: ObservationStore, exclude: tuple[ExcludedPeriod, ...]) -> np.ndarray:
        store.excluded = exclude
        model = OccupancyModel(classifier="routine")
        model.fit(store, SPEC, now)
        assert model.timeline_ is not None
        built = build_routines(model.timeline_, model.slot_minutes, model.half_life_days, {})
        origins = np.arange(model.timeline_.known - 96, model.timeline_.known, dtype=np.int64)
        return np.stack(built.probabilities("kitchen", origins, np.ones(len(origins), dtype=np.int64)))

    with_party = routines(party, ())
    assert not np.allclose(with_party, routines(clean, ()))  # the party would teach something
    assert np.allclose(routines(party, excluded), routines(clean, excluded))
