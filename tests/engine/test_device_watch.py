"""Devices watched for being left on: run lengths by time of day, standby, feedback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from custom_components.smartml.engine.constants import TYPE_DEVICE_LEFT_ON, TYPE_DEVICE_STANDBY, TYPE_STUCK_ON
from custom_components.smartml.engine.device_watch import earlier_from_hourly
from custom_components.smartml.engine.energy import EnergyModel
from custom_components.smartml.engine.energy_alerts import energy_anomaly
from custom_components.smartml.engine.facts import DeviceLeftOn, DeviceStandby, LongRun, facts_from_json
from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.explain import explain
from custom_components.smartml.fit_reasons import say_reason

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 86_400.0
HOUSE = "sensor.house_power"
KETTLE = "sensor.kettle_energy"
HEATER = "sensor.heater_plug"
SPEC = {"timezone": "UTC", "power": [HOUSE], "energy": [], "devices": [KETTLE, HEATER]}


def _home(days: int, heater_watts: dict[float, float] | None = None, kettle_extra: float = 0.0) -> ObservationStore:
    """A house, a kettle meter (Wh) that runs 07:00-08:00, a heater plug (W) on 18:00-20:00 daily.

    heater_watts: {time: W} overrides of the heater plug; kettle_extra: W the kettle adds from day 28.
    """
    store = ObservationStore(max_points=10**7)
    kettle_wh = 0.0
    for t in np.arange(T0, T0 + days * DAY, 900.0).tolist():
        hour = (t - T0) % DAY / HOUR
        store.add_state(HOUSE, "power", "400", t)
        kettle_w = (1500.0 if 7 <= hour < 8 else 1.0) + (kettle_extra if t >= T0 + 28 * DAY else 0.0)
        kettle_wh += kettle_w / 4
        store.add_state(KETTLE, "devices", f"{kettle_wh:.1f}", t + 900.0, unit="Wh")
        heater = 800.0 if 18 <= hour < 20 else 0.0
        if heater_watts and t in heater_watts:
            heater = heater_watts[t]
        store.add_state(HEATER, "devices", f"{heater:.0f}", t, unit="W")
    return store


def _still_meter(entity_id: str, days: int, watts_at: Callable[[float], float], decimals: int) -> ObservationStore:
    """A plug's kWh meter as Home Assistant writes it: a new state only when the shown reading changes."""
    store = ObservationStore(max_points=10**7)
    kwh, shown = 0.0, ""
    for t in np.arange(T0, T0 + days * DAY, 60.0).tolist():
        kwh += watts_at(t) / 60_000.0
        if (text := f"{kwh:.{decimals}f}") != shown:
            store.add_state(entity_id, "devices", text, t, {"unit_of_measurement": "kWh"})
            shown = text
    return store


def _alerts(model: EnergyModel, store: ObservationStore, start: float, end: float) -> list[tuple[float, str, str]]:
    """(time, type, device) of every alert of checks every 15 minutes in [start, end)."""
    found = []
    for now in np.arange(start, end, 900.0).tolist():
        found += [(now, a.type, a.entity_ids[0]) for a in model.check(store, now)]
    return found


def test_device_left_on_is_found_after_its_longest_run_and_feedback_lifts_the_limit() -> None:
    # Day 21: the heater stays on from 18:00 until 01:00 the next night.
    stuck = dict.fromkeys(np.arange(T0 + 21 * DAY + 18 * HOUR, T0 + 22 * DAY + HOUR, 900.0).tolist(), 800.0)
    store = _home(23, stuck)
    model = EnergyModel()
    model.fit(store, SPEC, T0 + 21 * DAY)
    profile = model.devices_.profiles_[HEATER]
    assert profile.longest_s[18] == 2 * HOUR and 700 <= profile.running_w <= 800
    found = [
        (now, anomaly)
        for now in np.arange(T0 + 21 * DAY, T0 + 22 * DAY, 900.0).tolist()
        for anomaly in model.check(store, now)
    ]
    # Once, for the heater, between 2 h 45 min and 3 h 15 min after it started.
    assert [(a.type, a.entity_ids) for _, a in found] == [(TYPE_DEVICE_LEFT_ON, [HEATER])]
    assert T0 + 21 * DAY + 20.75 * HOUR <= found[0][0] <= T0 + 21 * DAY + 21.25 * HOUR
    assert set(model.devices_.left_on_) == {HEATER}
    # Marked normal: the limit at that time of day rises above the run that was seen, also after a refit.
    facts = found[0][1].facts
    assert isinstance(facts, DeviceLeftOn)
    model.add_feedback(found[0][1])
    assert model.devices_.profiles_[HEATER].limit_s[18] >= facts.minutes * 60 > profile.longest_s[18]
    model.fit(store, SPEC, T0 + 21 * DAY)
    assert model.devices_.profiles_[HEATER].limit_s[18] >= facts.minutes * 60


def test_a_device_unavailable_now_is_not_left_on() -> None:
    # The heater plug drops off the network at 18:30 while on; its last reading stays 800 W.
    day = T0 + 21 * DAY
    stuck = dict.fromkeys(np.arange(day + 18 * HOUR, day + 22 * HOUR, 900.0).tolist(), 800.0)
    store = _home(22, stuck)
    model = EnergyModel()
    model.fit(store, SPEC, day)
    later = day + 21.5 * HOUR
    assert not model.check(store, later, unavailable={HEATER})
    assert HEATER not in model.devices_.left_on_
    assert [a.type for a in model.check(store, later)] == [TYPE_DEVICE_LEFT_ON]  # were it reporting


def test_devices_are_watched_without_a_house_forecast() -> None:
    """No house meter listed: nothing to forecast, and the heater left on is found all the same."""
    stuck = dict.fromkeys(np.arange(T0 + 21 * DAY + 18 * HOUR, T0 + 22 * DAY + HOUR, 900.0).tolist(), 800.0)
    store = _home(23, stuck)
    model = EnergyModel()
    model.fit(store, {**SPEC, "power": []}, T0 + 21 * DAY)
    assert model.model_ is None and not model.enough_data()[0]
    assert model.watches_devices()
    assert [(f[1], f[2]) for f in _alerts(model, store, T0 + 21 * DAY, T0 + 22 * DAY)] == [
        (TYPE_DEVICE_LEFT_ON, HEATER)
    ]


def test_readiness_tells_a_home_with_plugs_what_it_waits_for() -> None:
    """Plugs alone: ready once they are learned; a house meter still warming up is a note, not silence."""
    plugs_only = {**SPEC, "power": []}
    model = EnergyModel()
    model.fit(_home(2), plugs_only, T0 + 2 * DAY)
    ready, reason, note = model.readiness()
    assert (ready, reason and say_reason(reason), note) == (False, "watched devices need 3 days of data", None)
    model.fit(_home(5), plugs_only, T0 + 5 * DAY)
    assert model.readiness() == (True, None, None)
    # The house meter listed only a day ago: the plugs are watched, the forecast waits.
    store = _home(5)
    del store.channels[HOUSE]
    for t in np.arange(T0 + 4 * DAY, T0 + 5 * DAY, 900.0).tolist():
        store.add_state(HOUSE, "power", "400", t)
    model.fit(store, SPEC, T0 + 5 * DAY)
    ready, reason, note = model.readiness()
    assert ready and not reason
    assert note is not None and say_reason(note).startswith("needs 3 days of consumption")


def test_a_run_left_on_for_a_day_is_one_alert_and_is_learned_up_to_its_limit() -> None:
    # Day 21: the heater stays on from 18:00 for 30 hours.
    stuck = dict.fromkeys(np.arange(T0 + 21 * DAY + 18 * HOUR, T0 + 23 * DAY, 900.0).tolist(), 800.0)
    store = _home(25, stuck)
    model = EnergyModel()
    model.fit(store, SPEC, T0 + 21 * DAY)
    limit = model.devices_.profiles_[HEATER].limit_s[18]
    found = []
    for day in (21, 22):
        model.fit(store, SPEC, T0 + day * DAY)
        found += _alerts(model, store, T0 + day * DAY, T0 + (day + 1) * DAY)
    # Its day-long floor is that same episode, not a standby that rose.
    assert [(f[1], f[2]) for f in found] == [(TYPE_DEVICE_LEFT_ON, HEATER)]
    # What it ran before crossing its limit is learned; what came after is not.
    model.fit(store, SPEC, T0 + 24 * DAY)
    assert model.devices_.profiles_[HEATER].longest_s[18] == limit


def test_a_run_left_on_and_never_answered_stays_out_of_learning_as_long_as_the_device_learns() -> None:
    """Months later, unanswered runs still do not count as usual: the same fault is found again."""
    stuck = {
        t: 800.0
        for day in (21, 60, 81)
        for t in np.arange(T0 + day * DAY + 18 * HOUR, T0 + (day + 1) * DAY + HOUR, 900.0).tolist()
    }
    store = _home(83, stuck)
    model = EnergyModel()
    found = []
    for day in (21, 60, 81):
        model.fit(store, SPEC, T0 + day * DAY)
        found += [(f[1], f[2]) for f in _alerts(model, store, T0 + day * DAY, T0 + (day + 1) * DAY)]
    # Each run is learned only up to the limit it crossed, the first one too, sixty days on:
    # never its seven hours.
    assert model.devices_.profiles_[HEATER].longest_s[18] < 7 * HOUR
    assert found == [(TYPE_DEVICE_LEFT_ON, HEATER)] * 3


def test_usual_days_raise_nothing_and_a_rising_standby_is_reported() -> None:
    store = _home(35, kettle_extra=40.0)
    model = EnergyModel()
    model.fit(store, SPEC, T0 + 27 * DAY)
    assert _alerts(model, store, T0 + 25 * DAY, T0 + 28 * DAY) == []
    found = _alerts(model, store, T0 + 28 * DAY, T0 + 30 * DAY)
    standby = [f for f in found if f[1] == TYPE_DEVICE_STANDBY]
    assert [f[2] for f in standby] == [KETTLE]
    assert standby[0][0] >= T0 + 29 * DAY  # once the floor has been high for a whole day


def test_standby_feedback_lifts_the_floor_and_devices_without_data_are_not_watched() -> None:
    store = _home(35, kettle_extra=40.0)
    model = EnergyModel()
    model.fit(store, SPEC, T0 + 27 * DAY)
    alerts = [
        a
        for now in np.arange(T0 + 28 * DAY, T0 + 30 * DAY, 900.0).tolist()
        for a in model.check(store, now)
        if a.type == TYPE_DEVICE_STANDBY
    ]
    facts = alerts[0].facts
    assert isinstance(facts, DeviceStandby) and facts.floor_w > facts.threshold_w
    model.add_feedback(alerts[0])
    assert model.devices_.profiles_[KETTLE].floor_limit_w >= facts.floor_w
    # A device without days of data is not watched yet.
    young = EnergyModel()
    young.fit(_home(4), {**SPEC, "devices": [KETTLE, HEATER, "sensor.unplugged"]}, T0 + 4 * DAY)
    assert young.model_ is not None and set(young.devices_.profiles_) == {KETTLE, HEATER}


def test_device_facts_round_trip_and_read_as_words() -> None:
    left_on = DeviceLeftOn(
        entity_id="sensor.oven_circuit", power_w=2100.0, minutes=190.0, longest_minutes=80.0, start_hour=19, weeks=8.0
    )
    assert facts_from_json(TYPE_DEVICE_LEFT_ON, left_on.as_json()) == left_on
    standby = DeviceStandby(entity_id="sensor.fridge_plug", floor_w=95.0, usual_floor_w=3.0, threshold_w=20.0)
    assert facts_from_json(TYPE_DEVICE_STANDBY, standby.as_json()) == standby
    text = explain(energy_anomaly(TYPE_DEVICE_LEFT_ON, ["sensor.oven_circuit"], T0, 2.0, left_on, key="oven"))
    assert text == (
        "Oven circuit has drawn 2.1 kW for 3 h 10 min; it has never run longer than 1 h 20 min when started "
        "between 13:00 and 01:00 in 8 weeks. It may have been left on."
    )
    text = explain(energy_anomaly(TYPE_DEVICE_STANDBY, ["sensor.fridge_plug"], T0, 2.0, standby, key="fridge"))
    assert text.startswith("Fridge plug has not dropped below 95 W for a day; it usually falls to about 3 W.")


def test_a_device_s_first_days_are_told_in_days_not_in_0_weeks() -> None:
    def learned_over(weeks: float) -> str:
        facts = DeviceLeftOn(
            entity_id=HEATER, power_w=800.0, minutes=200.0, longest_minutes=120.0, start_hour=18, weeks=weeks
        )
        text = explain(energy_anomaly(TYPE_DEVICE_LEFT_ON, [HEATER], T0, 1.5, facts, key=HEATER))
        return text.rpartition(" in ")[2].removesuffix(". It may have been left on.")

    assert [learned_over(days / 7) for days in (1, 3.2, 10, 13.6)] == ["1 day", "3 days", "10 days", "14 days"]
    assert [learned_over(weeks) for weeks in (2.0, 8.4)] == ["2 weeks", "8 weeks"]


def test_hourly_statistics_reach_back_before_the_observations_and_never_replace_them() -> None:
    # Observations from day 50 only; statistics for days 0-55, in which the heater ran five
    # hours each evening (18:00-23:00) and, in its last days, 9 kW: the observations win there.
    store = ObservationStore(max_points=10**7)
    for t in np.arange(T0 + 50 * DAY, T0 + 56 * DAY, 900.0).tolist():
        hour = (t - T0) % DAY / HOUR
        store.add_state(HOUSE, "power", "400", t)
        store.add_state(HEATER, "devices", "800" if 18 <= hour < 20 else "0", t, unit="W")
    hours = np.arange(T0, T0 + 56 * DAY, HOUR)
    evening = ((hours - T0) % DAY >= 18 * HOUR) & ((hours - T0) % DAY < 23 * HOUR)
    watts = np.where(evening, np.where(hours >= T0 + 50 * DAY, 9000.0, 800.0), 0.0)
    watts[5] = np.nan  # an hour the recorder has no mean for stays unknown
    hourly = {HEATER: (hours[::-1].tolist(), watts[::-1].tolist())}  # any order

    model = EnergyModel()
    model.fit(store, SPEC, T0 + 56 * DAY, device_hourly=hourly)
    profile = model.devices_.profiles_[HEATER]
    assert profile.longest_s[18] == 5 * HOUR and 700 <= profile.running_w <= 800
    assert 55 < profile.days < 56
    assert KETTLE not in model.devices_.profiles_  # no data at all: not watched

    starts = np.arange(T0 - DAY, T0 + 2 * DAY, 900.0)
    observed = np.where(starts >= T0 + DAY, 1.0, np.nan)
    filled = earlier_from_hourly(starts, observed, hourly[HEATER])
    assert np.isnan(filled[starts < T0]).all()  # before the statistics
    assert np.isnan(filled[(starts >= T0 + 5 * HOUR) & (starts < T0 + 6 * HOUR)]).all()
    assert (filled[starts >= T0 + DAY] == 1.0).all()
    assert filled[starts == T0 + 18 * HOUR][0] == 800.0
    assert earlier_from_hourly(starts, observed, ([], [])) is observed


def test_a_run_marked_normal_is_learned_whole_and_not_told_again_the_next_day() -> None:
    # Days 21 and 22: the heater stays on from 18:00 until 01:00, as it now does every evening.
    evenings = [
        t
        for day in (21, 22)
        for t in np.arange(T0 + day * DAY + 18 * HOUR, T0 + (day + 1) * DAY + HOUR, 900.0).tolist()
    ]
    store = _home(24, dict.fromkeys(evenings, 800.0))
    model = EnergyModel()
    model.fit(store, SPEC, T0 + 21 * DAY)
    first = [
        anomaly
        for now in np.arange(T0 + 21 * DAY, T0 + 21 * DAY + 22 * HOUR, 900.0).tolist()
        for anomaly in model.check(store, now)
    ]
    assert [a.type for a in first] == [TYPE_DEVICE_LEFT_ON]
    model.add_feedback(first[0])
    # Refitted every six hours as it runs: the rest of the run is not held back from learning.
    found: list[tuple[float, str, str]] = []
    for refit in np.arange(T0 + 21 * DAY + 24 * HOUR, T0 + 23 * DAY + 1, 6 * HOUR).tolist():
        model.fit(store, SPEC, refit)
        found += _alerts(model, store, refit, refit + 6 * HOUR)
    assert found == []
    assert model.devices_.profiles_[HEATER].longest_s[18] == 7 * HOUR


def _heater_left_on(until: float, other: tuple[float, float] | None = None) -> tuple[EnergyModel, ObservationStore]:
    """A 1.5 kW heater on its plug, in the house's total too, left on from day 22's 18:00 until `until`.

    other: (from, until) of an unwatched 700 W load in the house. Fitted at day 22.
    """
    store = ObservationStore(max_points=10**7)
    rng = np.random.default_rng(0)
    for t in np.arange(T0, T0 + 24 * DAY, 900.0).tolist():
        hour = (t - T0) % DAY / HOUR
        left_on = T0 + 22 * DAY + 18 * HOUR <= t < until
        heater = 1500.0 if 18 <= hour < 20 or left_on else 0.0
        usual = 300.0 + (600.0 if 7 <= hour < 9 or 17 <= hour < 22 else 0.0) + float(rng.normal(0.0, 30.0))
        extra = 700.0 if other is not None and other[0] <= t < other[1] else 0.0
        store.add_state(HOUSE, "power", f"{usual + heater + extra:.0f}", t)
        store.add_state(HEATER, "devices", f"{heater:.0f}", t, unit="W")
    model = EnergyModel()
    model.fit(store, {**SPEC, "devices": [HEATER]}, T0 + 22 * DAY)
    return model, store


def test_a_device_left_on_is_told_once_not_again_as_the_house_s_long_run() -> None:
    model, store = _heater_left_on(until=T0 + 23 * DAY + 6 * HOUR)
    told = _alerts(model, store, T0 + 22 * DAY, T0 + 23 * DAY + 6 * HOUR)
    assert [(kind, device) for _, kind, device in told] == [(TYPE_DEVICE_LEFT_ON, HEATER)]
    # Another load once the heater is off is the house's own, and told.
    model, store = _heater_left_on(
        until=T0 + 23 * DAY + 2 * HOUR, other=(T0 + 23 * DAY + HOUR, T0 + 23 * DAY + 12 * HOUR)
    )
    told = _alerts(model, store, T0 + 22 * DAY, T0 + 23 * DAY + 12 * HOUR)
    assert [kind for _, kind, _ in told][:1] == [TYPE_DEVICE_LEFT_ON] and len(told) == 2
    assert told[1][0] >= T0 + 23 * DAY + 2 * HOUR and told[1][2] == HOUSE
    # Something more than the heater stuck on in the house is told as the house's own.
    oven = LongRun(floor_w=3400.0, threshold_w=1200.0, usual_w=300.0, hours=3.0, hour=23)
    model.devices_.left_on_ = {HEATER: 1500.0}
    assert not model.explained_by_devices(energy_anomaly(TYPE_STUCK_ON, [HOUSE], T0, 2.8, oven))


def test_a_device_whose_meter_holds_still_while_off_is_learned_and_reported_left_on() -> None:
    """At 0 W its 2-decimal meter shows the same reading for 22 h a day: those hours used nothing."""
    last = T0 + 60 * DAY

    def watts(t: float) -> float:
        if t >= last + 18 * HOUR:
            return 800.0  # left on from 18:00
        return 800.0 if 18 <= (t - T0) % DAY / HOUR < 20 else 0.0

    store = _still_meter(HEATER, 61, watts, 2)
    spec = {"timezone": "UTC", "power": [], "energy": [], "devices": [HEATER]}
    model = EnergyModel()
    model.fit(store, spec, last)
    profile = model.devices_.profiles_[HEATER]
    assert profile.standby_w < 10.0 and profile.running_w == pytest.approx(800.0)
    assert profile.longest_s[18] == 2 * HOUR
    found = _alerts(model, store, last + 18 * HOUR, last + 24 * HOUR)
    assert [(kind, device) for _, kind, device in found] == [(TYPE_DEVICE_LEFT_ON, HEATER)]


def test_a_device_switched_off_after_its_left_on_alert_is_no_longer_left_on() -> None:
    """Switched off at the plug, its 3-decimal meter stops: its last reading stands while it is available."""
    last = T0 + 21 * DAY

    def watts(t: float) -> float:
        if last + 18 * HOUR <= t < last + 25 * HOUR:
            return 800.0  # left on 18:00-01:00
        if t >= last + 25 * HOUR:
            return 0.0  # then switched off at the plug
        return 800.0 if 18 <= (t - T0) % DAY / HOUR < 20 else 1.0

    store = _still_meter(HEATER, 23, watts, 3)
    spec = {"timezone": "UTC", "power": [], "energy": [], "devices": [HEATER]}
    model = EnergyModel()
    model.fit(store, spec, last)
    found = _alerts(model, store, last + 18 * HOUR, last + 25 * HOUR)
    assert [(kind, device) for _, kind, device in found] == [(TYPE_DEVICE_LEFT_ON, HEATER)]
    assert set(model.devices_.left_on_) == {HEATER}
    # Ten hours after, still at 0 W: no longer left on, so it explains no house alert.
    model.check(store, last + 35 * HOUR)
    assert model.devices_.left_on_ == {}
    # Unavailable, its last reading says nothing of now: not quiet either.
    model.check(store, last + 36 * HOUR, unavailable={HEATER})
    assert model.devices_.left_on_ == {}
