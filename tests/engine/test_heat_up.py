"""Time to reach a raised setpoint: learned from a room's own past raises, or from its thermal fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custom_components.smartml.engine.climate import ClimateModel
from custom_components.smartml.engine.heat_up import (
    APPROACH_PRIOR_RAISES,
    HEAT_UP_APPROACH,
    HEAT_UP_MEDIAN_RATE,
    HEAT_UP_THERMAL,
    MAX_HEAT_UP_HOURS,
    REACH_TOLERANCE,
    PastRaise,
    approach_hours,
    find_raises,
    fit_heat_up,
    median_rate_hours,
    shrunk_approach_hours,
)
from custom_components.smartml.engine.preheat import PREHEAT_AIM, PREHEAT_MARGIN, plan_preheat
from custom_components.smartml.engine.thermal import ThermalFit

from .test_climate import CLIMATE, DAY, SPEC, _local, _store

HOUR = 3600.0


def _approach_raise(at: float, indoor: float, setpoint: float, constant: float) -> PastRaise:
    """A raise a room answers as a first-order lag onto its setpoint (time constant `constant` hours)."""
    return PastRaise(at, setpoint, indoor, 5.0, constant * math.log((setpoint - indoor) / REACH_TOLERANCE))


def _fit(*, heating_rate: float, saturation: float | None, r2: float = 0.9) -> ThermalFit:
    rate_se = heating_rate * 0.01
    return ThermalFit(10.0, heating_rate, None, 0.5, rate_se, None, r2, 500, True, gap_saturation=saturation)


def test_raises_are_found_with_the_time_the_room_took_and_unreached_ones_are_nan() -> None:
    sp_t = np.array([0.0, 10 * HOUR, 20 * HOUR, 21 * HOUR])
    sp_v = np.array([17.0, 21.0, 17.0, 21.0])
    in_t = np.arange(0.0, 24 * HOUR, 0.25 * HOUR)
    in_v = np.where(in_t < 12 * HOUR, 17.0, 20.6)  # warm from 12:00: within 0.5 °C two hours after the raise
    raises = find_raises((sp_t, sp_v), (in_t, in_v), None, 0.0, 24 * HOUR)
    assert [r.at for r in raises] == [10 * HOUR]  # at 21:00 the room is there already
    assert raises[0].reached_hours == pytest.approx(2.0)
    assert raises[0].known_by(12 * HOUR) and not raises[0].known_by(11 * HOUR)
    # The setpoint dropped before the room got there: not reached.
    cold = np.full(len(in_t), 17.0)
    assert math.isnan(find_raises((sp_t, sp_v), (in_t, cold), None, 0.0, 24 * HOUR)[0].reached_hours)


def test_a_valve_room_is_timed_by_its_approach_where_the_median_rate_is_wrong() -> None:
    past = [_approach_raise(d * DAY, 17.0, 21.0, 1.5) for d in range(5)]  # big raises, 4 °C
    truth = 1.5 * math.log((19.5 - 18.5) / REACH_TOLERANCE)  # a small one, 1 °C
    assert approach_hours(past, 18.5, 19.5) == pytest.approx(truth)
    rate = median_rate_hours(past, 18.5, 19.5)
    assert rate is not None and abs(rate - truth) > 0.5
    assert approach_hours([], 18.5, 19.5) is None
    assert median_rate_hours([], 18.5, 19.5) is None
    assert approach_hours(past, 19.2, 19.5) == 0.0


def test_with_few_raises_the_approach_is_shrunk_towards_the_median_rate() -> None:
    def both(past: list[PastRaise]) -> tuple[float, float, float]:
        shrunk = shrunk_approach_hours(past, 18.5, 19.5)
        approach = approach_hours(past, 18.5, 19.5)
        rate = median_rate_hours(past, 18.5, 19.5)
        assert shrunk is not None and approach is not None and rate is not None
        return shrunk, approach, rate

    shrunk, approach, rate = both([_approach_raise(0.0, 17.0, 21.0, 1.5)])
    assert shrunk == pytest.approx((approach + APPROACH_PRIOR_RAISES * rate) / (1 + APPROACH_PRIOR_RAISES))
    shrunk, approach, rate = both([_approach_raise(d * DAY, 17.0, 21.0, 1.5) for d in range(100)])
    assert abs(shrunk - approach) < 0.03 * abs(rate - approach)
    assert shrunk_approach_hours([], 18.5, 19.5) is None


def test_the_method_follows_how_the_thermostat_heats_and_what_its_raises_show() -> None:
    past = [_approach_raise(d * DAY, 17.0, 21.0, 1.5) for d in range(5)]
    now = 10 * DAY
    assert fit_heat_up([], None, now) is None
    assert fit_heat_up([], _fit(heating_rate=2.0, saturation=1.0, r2=0.1), now) is None  # untrusted, no raise
    valve = fit_heat_up(past, _fit(heating_rate=2.0, saturation=1.0, r2=0.1), now)
    assert valve is not None and valve.method == HEAT_UP_APPROACH and len(valve.history) == 5
    full_rate = fit_heat_up(past, _fit(heating_rate=2.0, saturation=None, r2=0.1), now)
    assert full_rate is not None and full_rate.method == HEAT_UP_MEDIAN_RATE
    # A trusted fit with a single raise to test it on is used.
    assert fit_heat_up(past[:1], _fit(heating_rate=2.0, saturation=1.0), now).method == HEAT_UP_THERMAL  # type: ignore[union-attr]
    # A trusted fit far off on the past raises (its rate 10 times too high) gives way to them.
    wrong = fit_heat_up(past, _fit(heating_rate=20.0, saturation=1.0), now)
    assert wrong is not None and wrong.method == HEAT_UP_APPROACH
    # Raises the room had not reached by now are not known.
    assert fit_heat_up(past, None, 0.5 * HOUR) is None


def test_a_trusted_fit_that_times_the_raises_well_is_kept() -> None:
    fit = _fit(heating_rate=3.0, saturation=None)
    past = []
    for d, indoor in enumerate((17.0, 18.0, 16.0, 17.5, 18.5, 16.5)):
        hours = 10.0 * math.log((35.0 - indoor) / (35.0 - 20.5))  # what the fit says, outdoor 5 °C
        past.append(PastRaise(d * DAY, 21.0, indoor, 5.0, hours))
    heat_up = fit_heat_up(past, fit, 10 * DAY)
    assert heat_up is not None and heat_up.method == HEAT_UP_THERMAL
    assert heat_up.hours(17.0, 5.0, 21.0) == pytest.approx(10.0 * math.log(18.0 / 14.5))
    assert heat_up.hours(17.0, None, 21.0) is None  # no outdoor temperature, no drift known
    assert heat_up.hours(17.0, -30.0, 21.0) == MAX_HEAT_UP_HOURS  # out of reach


def test_preheat_without_a_trusted_fit_starts_as_early_as_the_past_raises_say() -> None:
    past = [_approach_raise(d * DAY, 17.0, 21.0, 1.0) for d in range(5)]
    heat_up = fit_heat_up(past, None, 10 * DAY)
    now = 10 * DAY
    times = now + 900.0 * np.arange(40)
    setpoints = np.where(times >= now + 6 * HOUR, 21.0, 17.0)
    plan = plan_preheat(heat_up, None, times, setpoints, None, now, 17.0, 5.0, 17.0, cooling=False)
    assert plan is not None and plan.start is not None
    assert plan.target_time == pytest.approx(now + 6 * HOUR) and plan.target_setpoint == 21.0
    # Five raises: the approach weighs 5 / (5 + 2) against the median rate (3.5 °C in ln 8 hours).
    approach = 1.0 * math.log(4.0 / PREHEAT_AIM)
    rate = (4.0 - PREHEAT_AIM) / (3.5 / math.log(8.0))
    needed = (5 / 7 * approach + 2 / 7 * rate) * (1.0 + PREHEAT_MARGIN)
    assert (plan.target_time - plan.start) / HOUR == pytest.approx(needed, rel=1e-3)
    assert plan_preheat(None, None, times, setpoints, None, now, 17.0, 5.0, 17.0, cooling=False) is None


def test_a_valve_room_without_a_trusted_fit_gets_its_preheat_from_its_raises() -> None:
    # Readings that follow nothing the thermostat does, but the room reaches 21 °C a while after each morning step.
    minutes = 8 * 1440
    hour = (np.arange(minutes) // 60) % 24
    setpoint = np.where((hour >= 7) & (hour < 22), 21.0, 17.0)
    minute_of_day = np.arange(minutes) % 1440
    warm = (minute_of_day >= 9 * 60) & (hour < 22)
    readings = np.where(warm, 20.7, 17.0) + np.random.default_rng(0).normal(0.0, 0.05, minutes).round(1)
    store = _store(minutes, setpoint, readings, heat=None, outdoor=np.full(minutes, 8.0))
    model = ClimateModel()
    now = _local(7, 1.0)
    model.fit(store, {**SPEC, "presence": []}, now)
    zone = model.zones_[CLIMATE]
    assert zone.heat_up is not None and zone.heat_up.method != HEAT_UP_THERMAL
    prediction = model.predict(CLIMATE, now, hours=24, indoor=17.0, outdoor=8.0)
    assert prediction.heating_rate is None  # nothing shown from an untrusted fit
    assert prediction.preheat_method == zone.heat_up.method and prediction.preheat_raises >= 5
    assert prediction.preheat_target_time == pytest.approx(_local(7, 7.0))
    assert prediction.preheat_start is not None and now < prediction.preheat_start < _local(7, 7.0)


def test_precool_is_planned_from_the_thermal_fit_at_full_cooling_rate() -> None:
    fit = ThermalFit(10.0, None, 3.0, 0.5, None, 0.03, 0.9, 500, True)
    now = 0.0
    times = now + 900.0 * np.arange(40)
    setpoints = np.where(times >= 4 * HOUR, 24.0, 28.0)
    plan = plan_preheat(None, fit, times, setpoints, None, now, 28.0, 32.0, 28.0, cooling=True)
    assert plan is not None and plan.start is not None and plan.target_setpoint == 24.0
    # 10 h * ln((28 - 2) / (24 - 2)) at full cooling, stretched by the margin.
    needed = 10.0 * math.log(26.0 / 22.0) * (1.0 + PREHEAT_MARGIN)
    assert (plan.target_time - plan.start) / HOUR == pytest.approx(needed, rel=1e-3)
    assert plan_preheat(None, None, times, setpoints, None, now, 28.0, 32.0, 28.0, cooling=True) is None
    flat = np.full(len(times), 28.0)
    assert plan_preheat(None, fit, times, flat, None, now, 28.0, 32.0, 28.0, cooling=True) is None


def test_a_thermal_heat_up_without_any_outdoor_temperature_plans_nothing() -> None:
    fit = _fit(heating_rate=3.0, saturation=None)
    heat_up = fit_heat_up([], fit, 0.0)
    assert heat_up is not None and heat_up.method == HEAT_UP_THERMAL
    times = 900.0 * np.arange(40)
    setpoints = np.where(times >= 6 * HOUR, 21.0, 17.0)
    assert plan_preheat(heat_up, fit, times, setpoints, None, 0.0, 17.0, None, 17.0, cooling=False) is None
    planned = plan_preheat(heat_up, fit, times, setpoints, None, 0.0, 17.0, 5.0, 17.0, cooling=False)
    assert planned is not None and planned.start is not None and 0.0 < planned.start < 6 * HOUR
