"""Thermostats as real ones report: no hvac_action, schedules that change, thin evidence."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
import pytest

from custom_components.smartml.engine.climate import ClimateModel
from custom_components.smartml.engine.heat_up import heat_up_hours
from custom_components.smartml.engine.setpoint_gate import (
    EXPERT_IN_FORCE,
    EXPERT_ROUTINE,
    EXPERT_WEEK_MEDIAN,
    fit_gate,
)
from custom_components.smartml.engine.setpoint_routine import local_day_slot
from custom_components.smartml.engine.thermal import HEAT_INPUT_SETPOINT_GAP, fit_thermal, gap_demand

from .test_climate import CLIMATE, DAY, SPEC, START, TZ, _real_outdoor, _schedule, _store, _times

SLOT = 900.0


def _gate_for(days: int, setpoint_of_day: list[float] | None = None):  # type: ignore[no-untyped-def]
    grid = START + SLOT / 2 + SLOT * np.arange(days * 96)
    hour = ((grid - START) % DAY) / 3600.0
    setpoint = np.where((hour >= 7) & (hour < 22), 21.0, 17.0)
    if setpoint_of_day is not None:  # a whole day held at one value
        day = ((grid - START) // DAY).astype(int)
        for d, value in enumerate(setpoint_of_day):
            if not math.isnan(value):
                setpoint = np.where(day == d, value, setpoint)
    weekday, slot = local_day_slot(grid, TZ)
    return fit_gate(grid, weekday, slot, setpoint, None, np.ones(len(grid)), TZ, 21.0)


def test_a_steady_schedule_is_forecast_by_the_routine_at_its_steps() -> None:
    gate = _gate_for(14)
    assert gate.choice[7 * 4] != EXPERT_IN_FORCE  # 07:00, the morning step
    assert gate.choice[12 * 4] != EXPERT_IN_FORCE
    assert gate.choice[3 * 4] == EXPERT_IN_FORCE or gate.choice[3 * 4] == EXPERT_ROUTINE  # night: all agree


def test_after_days_held_at_one_setpoint_the_setpoint_in_force_is_kept() -> None:
    # The schedule ran for a week, then the setpoint stayed at 21 °C for a week (held by hand).
    gate = _gate_for(14, [math.nan] * 7 + [21.0] * 7)
    assert gate.choice[3 * 4] == EXPERT_IN_FORCE  # the night setback no longer happens
    assert gate.counts()["in_force"] >= 24


def test_with_one_day_of_history_the_forecast_is_the_setpoint_in_force() -> None:
    gate = _gate_for(1)
    assert set(gate.choice.tolist()) == {EXPERT_IN_FORCE}
    assert gate.fallback == EXPERT_IN_FORCE


def test_a_schedule_learned_before_the_week_median_knows_it_keeps_the_choice_per_slot() -> None:
    # 16 days: the routine knows the steps from the second day, the week median from the eighth.
    gate = _gate_for(16)
    assert gate.fallback is None
    # Under two weeks of record the choice is too thin to replace the naive forecasts.
    assert _gate_for(2).fallback is not None


def _presence_days(days: int, seed: int = 3) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Whole days at home (comfort 07:00-22:00) or away (17 °C), drawn independently, 80 % at home."""
    at_home = np.random.default_rng(seed).random(days) < 0.8
    at_home[-1] = False  # the last day ends away: the midnight state misleads about tomorrow
    grid = START + SLOT / 2 + SLOT * np.arange(days * 96)
    day = ((grid - START) // DAY).astype(int)
    hour = ((grid - START) % DAY) / 3600.0
    home = at_home[day]
    setpoint = np.where(home & (hour >= 7) & (hour < 22), 21.0, 17.0)
    return grid, np.c_[home.astype(float), setpoint].T


def test_a_presence_carried_from_midnight_that_misleads_falls_back_on_the_week_median() -> None:
    grid, (home, setpoint) = _presence_days(35)
    weekday, slot = local_day_slot(grid, TZ)
    gate = fit_gate(grid, weekday, slot, setpoint, home, np.ones(len(grid)), TZ, 21.0, relax_hours=48.0)
    assert gate.fallback == EXPERT_WEEK_MEDIAN
    assert gate.counts()["week_median"] == 96


def test_a_day_ahead_forecast_does_not_follow_a_presence_it_cannot_know() -> None:
    days = 35
    _, (home, setpoint) = _presence_days(days)
    minutes = days * 1440
    per_minute = np.repeat(setpoint, 15)[:minutes]
    at_home = np.repeat(home, 15)[:minutes] > 0.5
    model = ClimateModel()
    now = START + days * DAY
    model.fit(_store(minutes, per_minute, home=at_home), SPEC, now)
    assert model.zones_[CLIMATE].gate is not None
    assert model.zones_[CLIMATE].gate.fallback == EXPERT_WEEK_MEDIAN
    noon = np.array([now + 12 * 3600.0])
    # Away at midnight, but most days are spent at home: the forecast is the usual comfort.
    forecast, _ = model.forecast_setpoints(CLIMATE, noon, now, 0.0)
    assert forecast[0] == pytest.approx(21.0)
    # Presence known now still sets the setpoint of now.
    assert model.setpoints(CLIMATE, noon, np.array([0.0]))[0] == pytest.approx(17.0)


def test_the_forecast_follows_the_setpoint_held_rather_than_the_old_schedule() -> None:
    minutes = 14 * 1440
    setpoint = _schedule(minutes)
    setpoint[7 * 1440 :] = 21.0
    model = ClimateModel()
    model.fit(_store(minutes, setpoint), {**SPEC, "presence": []}, START + 14 * DAY)
    night = np.array([START + 14 * DAY + 3 * 3600.0])
    assert model.setpoints(CLIMATE, night, None)[0] == pytest.approx(21.0)


def _valve_room(minutes: int, tau: float, rate: float, saturation: float):  # type: ignore[no-untyped-def]
    """A room whose radiator valve opens in proportion to the setpoint gap: times, readings, setpoint, outdoor."""
    out_t, out_v = _real_outdoor()
    times = _times(minutes)
    t_out = np.interp(times, out_t, out_v)
    setpoint = _schedule(minutes)
    rng = np.random.default_rng(3)
    temp = 18.0
    temps = np.empty(minutes)
    decay = math.exp(-60.0 / (tau * 3600.0))
    for i in range(minutes):
        temps[i] = temp
        demand = float(gap_demand(np.array([setpoint[i]]), np.array([temp]), saturation)[0])
        equilibrium = t_out[i] + rate * demand * tau
        temp = equilibrium + (temp - equilibrium) * decay
    readings = np.round(temps + rng.normal(0.0, 0.05, minutes), 1)
    return times, readings, setpoint, (out_t, out_v)


def test_without_hvac_action_the_heating_is_learned_from_the_setpoint_gap() -> None:
    times, readings, setpoint, (out_t, out_v) = _valve_room(7 * 1440, tau=12.0, rate=3.0, saturation=1.0)
    sensor = np.arange(0, len(times), 10)
    changes = np.flatnonzero(np.r_[True, np.diff(setpoint) != 0])
    fit = fit_thermal(
        times[sensor],
        readings[sensor],
        np.empty(0),
        np.empty(0),
        out_t,
        out_v,
        setpoint_times=times[changes],
        setpoints=setpoint[changes],
    )
    assert fit is not None
    assert fit.heat_input == HEAT_INPUT_SETPOINT_GAP
    assert fit.gap_saturation == 1.0
    assert fit.tau_hours == pytest.approx(12.0, rel=0.2)
    assert fit.heating_rate == pytest.approx(3.0, rel=0.2)
    assert fit.trusted


def test_a_fit_that_explains_nothing_is_not_trusted() -> None:
    times = _times(3 * 1440)[::10]
    readings = np.round(20.0 + np.random.default_rng(1).normal(0.0, 0.3, len(times)), 1)
    out_t, out_v = _real_outdoor()
    fit = fit_thermal(
        times, readings, np.empty(0), np.empty(0), out_t, out_v, setpoint_times=times[:1], setpoints=np.array([21.0])
    )
    assert fit is None or not fit.trusted


def test_the_proportional_band_makes_the_last_degree_slower() -> None:
    times, readings, setpoint, (out_t, out_v) = _valve_room(7 * 1440, tau=12.0, rate=3.0, saturation=1.0)
    changes = np.flatnonzero(np.r_[True, np.diff(setpoint) != 0])
    fit = fit_thermal(
        times[::10],
        readings[::10],
        np.empty(0),
        np.empty(0),
        out_t,
        out_v,
        setpoint_times=times[changes],
        setpoints=setpoint[changes],
    )
    assert fit is not None
    to_19 = heat_up_hours(fit, 17.0, 5.0, 19.5, 0.5)
    to_21 = heat_up_hours(fit, 17.0, 5.0, 21.5, 0.5)
    assert to_19 is not None and to_21 is not None and 0.0 < to_19 < to_21
    assert heat_up_hours(fit, 21.0, 5.0, 21.0, 0.5) == 0.0
