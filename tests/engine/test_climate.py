"""Climate model: RC fit, setpoint routine, change classification, preheat timing, guard rails."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
import math
from pathlib import Path
import tracemalloc

import numpy as np
from numpy.typing import NDArray
import pytest

from custom_components.smartml.engine.climate import ClimateModel
from custom_components.smartml.engine.guard import guarded_setpoint
from custom_components.smartml.engine.home import HomeModels
from custom_components.smartml.engine.home_replay import HomeReplay
from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.engine.preheat import preheat_start_time
from custom_components.smartml.engine.setpoint_changes import (
    KIND_MANUAL,
    KIND_OCCUPANCY,
    KIND_SCHEDULE,
    SCHEDULE_MIN_DAYS,
    SCHEDULE_TOLERANCE,
    SCHEDULE_WINDOW_MINUTES,
    classify_changes,
)
from custom_components.smartml.engine.slots import local_times
from custom_components.smartml.engine.thermal import fit_thermal
from custom_components.smartml.fit_reasons import say_reason

FIXTURES = Path(__file__).parent.parent / "fixtures"
TZ = "Etc/GMT-1"  # UTC+1 all year: local midnight is 23:00 UTC
CLOCK = timezone(timedelta(hours=1))
DAY = 86_400.0
START = datetime(2016, 1, 18, tzinfo=CLOCK).timestamp()  # a Monday
CLIMATE = "climate.living"
OUTDOOR = "sensor.outdoor"
PERSON = "person.resident"
ROLES = {CLIMATE: "climate", OUTDOOR: "outdoor_temperature", PERSON: "presence"}
SPEC = {"timezone": TZ, "climate": [CLIMATE], "presence": [PERSON], "outdoor_temperature": OUTDOOR}


def _times(minutes: int) -> NDArray[np.float64]:
    return np.asarray(START + 60.0 * np.arange(minutes), dtype=np.float64)


def _real_outdoor() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A week of real outdoor temperatures (Appliances energy data, 10-minute rows)."""
    with (FIXTURES / "appliances_t_out_week.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    times = np.array([datetime.fromisoformat(r["date"]).replace(tzinfo=CLOCK).timestamp() for r in rows])
    return times, np.array([float(r["T_out"]) for r in rows])


def _simulate_zone(
    minutes: int, tau_hours: float, rate: float, t_out: NDArray[np.float64], target: NDArray[np.float64], seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-minute first-order zone under a hysteresis thermostat: readings (noisy, 0.1 °C), heat 0/1."""
    rng = np.random.default_rng(seed)
    decay = math.exp(-60.0 / (tau_hours * 3600.0))
    temp, heating = float(target[0]), False
    temps = np.empty(minutes)
    heat = np.zeros(minutes)
    for i in range(minutes):
        temps[i] = temp
        if temp < target[i] - 0.2:
            heating = True
        elif temp > target[i] + 0.2:
            heating = False
        heat[i] = heating
        equilibrium = t_out[i] + (rate * tau_hours if heating else 0.0)
        temp = equilibrium + (temp - equilibrium) * decay
    readings = np.round(temps + rng.normal(0.0, 0.05, minutes), 1)
    return temps, readings, heat


def _schedule(
    minutes: int, comfort: float = 21.0, night: float = 17.0, wake: int = 7, sleep: int = 22
) -> NDArray[np.float64]:
    hour = (np.arange(minutes) // 60) % 24
    return np.where((hour >= wake) & (hour < sleep), comfort, night)


def _store(
    minutes: int,
    setpoint: NDArray[np.float64],
    readings: NDArray[np.float64] | None = None,
    heat: NDArray[np.float64] | None = None,
    outdoor: NDArray[np.float64] | None = None,
    home: NDArray[np.bool_] | None = None,
    modes: NDArray[np.str_] | None = None,
) -> ObservationStore:
    """An observation store with what Home Assistant would record, one row per change.

    modes: the HVAC mode (the thermostat's state) of each minute; heat throughout without.
    """
    times = _times(minutes)
    rows: list[tuple[str, str, float, dict[str, object] | None]] = []
    for i in range(minutes):
        changed = i == 0 or setpoint[i] != setpoint[i - 1] or (modes is not None and modes[i] != modes[i - 1])
        attrs: dict[str, object] = {"temperature": float(setpoint[i])}
        if readings is not None:  # without `heat`, a thermostat that reports no hvac_action
            changed = changed or i % 5 == 0
            attrs["current_temperature"] = float(readings[i - i % 5])
        if readings is not None and heat is not None:
            changed = changed or heat[i] != heat[i - 1]
            attrs["hvac_action"] = "heating" if heat[i] else "idle"
        if changed:
            rows.append((CLIMATE, "heat" if modes is None else str(modes[i]), float(times[i]), attrs))
        if outdoor is not None and i % 10 == 0:
            rows.append((OUTDOOR, f"{outdoor[i]:.2f}", float(times[i]), None))
        if home is not None and (i == 0 or home[i] != home[i - 1]):
            rows.append((PERSON, "home" if home[i] else "not_home", float(times[i]), None))
    store = ObservationStore(max_points=10**7)
    store.merge_states(rows, ROLES)
    return store


def _local(day: int, hour: float) -> float:
    return START + day * DAY + hour * 3600.0


# -- thermal response --


def test_rc_fit_recovers_time_constant_and_heating_rate_on_real_outdoor_temperatures() -> None:
    out_t, out_v = _real_outdoor()
    minutes = 7 * 1440
    times = _times(minutes)
    t_out = np.interp(times, out_t, out_v)
    target = _schedule(minutes)
    _, readings, heat = _simulate_zone(minutes, tau_hours=10.0, rate=3.0, t_out=t_out, target=target)
    sensor = np.arange(0, minutes, 5)
    flips = np.flatnonzero(np.r_[True, np.diff(heat) != 0])
    fit = fit_thermal(times[sensor], readings[sensor], times[flips], heat[flips], out_t, out_v)
    assert fit is not None
    assert fit.tau_hours == pytest.approx(10.0, rel=0.1)
    assert fit.heating_rate == pytest.approx(3.0, rel=0.1)
    assert fit.r2 > 0.8
    assert fit.tau_se < 1.0 and fit.heating_rate_se is not None and fit.heating_rate_se < 0.3
    assert 0.5 < fit.confidence <= 1.0


def test_rc_fit_without_outdoor_channel_finds_the_drift_temperature() -> None:
    minutes = 7 * 1440
    times = _times(minutes)
    _, readings, heat = _simulate_zone(minutes, 20.0, 2.0, np.full(minutes, 6.0), _schedule(minutes))
    sensor = np.arange(0, minutes, 5)
    flips = np.flatnonzero(np.r_[True, np.diff(heat) != 0])
    fit = fit_thermal(times[sensor], readings[sensor], times[flips], heat[flips])
    assert fit is not None and not fit.outdoor_measured
    assert fit.tau_hours == pytest.approx(20.0, rel=0.1)
    assert fit.heating_rate == pytest.approx(2.0, rel=0.1)
    assert fit.drift_temperature == pytest.approx(6.0, abs=1.0)


def test_rc_fit_shrugs_off_an_open_window() -> None:
    minutes = 7 * 1440
    times = _times(minutes)
    _, readings, heat = _simulate_zone(minutes, 10.0, 3.0, np.full(minutes, 4.0), _schedule(minutes))
    readings[3000:3030] -= 3.0  # half an hour of cold air on the sensor
    sensor = np.arange(0, minutes, 5)
    flips = np.flatnonzero(np.r_[True, np.diff(heat) != 0])
    fit = fit_thermal(
        times[sensor], readings[sensor], times[flips], heat[flips], times[sensor], np.full(len(sensor), 4.0)
    )
    assert fit is not None
    assert fit.tau_hours == pytest.approx(10.0, rel=0.1)


def test_rc_fit_needs_enough_data() -> None:
    times = _times(100)[::5]
    assert fit_thermal(times, np.full(20, 20.0), times[:1], np.zeros(1)) is None


# -- setpoint routine --


def test_routine_learns_a_schedule() -> None:
    minutes = 14 * 1440
    model = ClimateModel()
    model.fit(_store(minutes, _schedule(minutes)), SPEC, START + 14 * DAY)
    assert model.enough_data(CLIMATE) == (True, None)
    times = np.array([_local(14, 3.0), _local(14, 12.0), _local(15, 23.5), _local(19, 7.5)])
    assert model.setpoints(CLIMATE, times, None).tolist() == pytest.approx([17.0, 21.0, 17.0, 21.0])
    assert model.as_dict()["zones"][CLIMATE]["levels"]["sleep"] == 17.0


def test_routine_forgets_an_old_schedule() -> None:
    old_days, new_days = 28, 14
    minutes = (old_days + new_days) * 1440
    setpoint = _schedule(minutes, comfort=20.0)
    setpoint[old_days * 1440 :] = _schedule(new_days * 1440, comfort=22.0)
    store = _store(minutes, setpoint)
    now = START + (old_days + new_days) * DAY
    noon = np.array([_local(old_days + new_days, 12.0)])
    forgetful = ClimateModel(half_life_days=5.0)
    forgetful.fit(store, SPEC, now)
    assert forgetful.setpoints(CLIMATE, noon, None)[0] == pytest.approx(22.0)
    # Without forgetting the four old weeks still outvote the two new ones.
    stubborn = ClimateModel(half_life_days=10_000.0)
    stubborn.fit(store, SPEC, now)
    assert stubborn.setpoints(CLIMATE, noon, None)[0] == pytest.approx(20.0)


def test_routine_keeps_setpoints_apart_by_occupancy() -> None:
    minutes = 14 * 1440
    rng = np.random.default_rng(3)
    home = np.ones(minutes, dtype=bool)
    for day in range(14):  # away for 2-4 hours at a random daytime hour
        start = day * 1440 + int(rng.integers(9, 15)) * 60
        home[start : start + int(rng.integers(2, 5)) * 60] = False
    setpoint = np.where(home, _schedule(minutes), 16.0)
    model = ClimateModel()
    model.fit(_store(minutes, setpoint, home=home), SPEC, START + 14 * DAY)
    noon = np.array([_local(14, 12.0)])
    assert model.setpoints(CLIMATE, noon, np.array([1.0]))[0] == pytest.approx(21.0)
    assert model.setpoints(CLIMATE, noon, np.array([0.0]))[0] == pytest.approx(16.0)
    levels = model.as_dict()["zones"][CLIMATE]["levels"]
    assert levels == {"comfort": 21.0, "sleep": 17.0, "eco": 16.0}
    prediction = model.predict(CLIMATE, _local(14, 12.0), home_now=0.0)
    assert prediction.setpoint_now == pytest.approx(16.0)
    assert prediction.mode == "eco"


def test_occupancy_forecast_given_as_hourly_array_is_used() -> None:
    minutes = 14 * 1440
    home = np.ones(minutes, dtype=bool)
    for day in range(0, 14, 2):  # away every other afternoon
        home[day * 1440 + 13 * 60 : day * 1440 + 17 * 60] = False
    setpoint = np.where(home, _schedule(minutes), 16.0)
    store = _store(minutes, setpoint, home=home)
    now = START + 14 * DAY
    hours = now + 3600.0 * np.arange(24)
    away_afternoon = np.where((np.arange(24) >= 13) & (np.arange(24) < 17), 0.0, 1.0)
    model = ClimateModel()
    model.fit(store, SPEC, now)
    model.set_occupancy_outlook(list(zip(hours.tolist(), away_afternoon.tolist(), strict=True)))
    prediction = model.predict(CLIMATE, now, hours=24, home_now=1.0)
    forecast = dict(prediction.forecast)
    assert forecast[now + 15 * 3600.0] == pytest.approx(16.0)
    assert forecast[now + 11 * 3600.0] == pytest.approx(21.0)


def test_an_occupancy_outlook_lasts_until_cleared_or_refitted() -> None:
    minutes = 14 * 1440
    store = _store(minutes, _schedule(minutes), home=np.ones(minutes, dtype=bool))
    now = START + 14 * DAY
    times = np.asarray(now + 3600.0 * np.arange(1, 4), dtype=np.float64)
    model = ClimateModel()
    model.fit(store, SPEC, now)
    learned = model.occupancy_forecast(times, now, None)
    model.set_occupancy_outlook([(now, 0.2), (now + 7200.0, 0.9)])
    outlook = model.occupancy_forecast(times, now, None)
    assert outlook is not None and outlook.p_home.tolist() == [0.2, 0.9, 0.9]
    model.set_occupancy_outlook([])
    cleared = model.occupancy_forecast(times, now, None)
    assert learned is not None and cleared is not None
    assert cleared.p_home.tolist() == learned.p_home.tolist()
    model.set_occupancy_outlook([(now, 0.2)])
    model.fit(store, SPEC, now)
    refitted = model.occupancy_forecast(times, now, None)
    assert refitted is not None and refitted.p_home.tolist() == learned.p_home.tolist()


def test_the_facade_replays_the_same_climate_model() -> None:
    minutes = 14 * 1440
    rng = np.random.default_rng(5)
    home = rng.random(minutes // 60).repeat(60) > 0.3
    setpoint = np.where(home, _schedule(minutes), 16.0)
    store = _store(minutes, setpoint, home=home)
    models = HomeReplay(SPEC, climate_half_life_days=5.0)
    direct = ClimateModel(half_life_days=5.0)
    times = np.asarray(START + 13 * DAY + 900.0 * np.arange(96), dtype=np.float64)
    instances = []
    for day in (12, 13):
        now = START + day * DAY
        assert models.refit_climate(store, now) == (True, ())
        direct.fit(store, SPEC, now)
        instances.append(models.climate)
        assert models.climate_ready(CLIMATE) == direct.enough_data(CLIMATE)
        p_home = home[(times - START).astype(int) // 60].astype(np.float64)
        assert (
            models.climate_setpoints(CLIMATE, times, p_home).tolist()
            == direct.setpoints(CLIMATE, times, p_home).tolist()
        )
        day_ahead = models.climate_day_ahead(CLIMATE, times, now, 1.0)
        assert day_ahead.tolist() == direct.forecast_setpoints(CLIMATE, times, now, 1.0)[0].tolist()
        predicted = models.climate_predict_at(
            CLIMATE, now, indoor=18.0, outdoor=5.0, home_now=1.0, current_setpoint=17.0
        )
        assert predicted == direct.predict(CLIMATE, now, indoor=18.0, outdoor=5.0, home_now=1.0, current_setpoint=17.0)
        assert models.climate_zone(CLIMATE).change_counts == direct.zones_[CLIMATE].change_counts
    assert instances[0] is instances[1]  # refitted in place, day after day


def test_only_the_mode_in_force_is_learned() -> None:
    heating_days, cooling_days = 21, 3
    minutes = (heating_days + cooling_days) * 1440
    setpoint = _schedule(minutes)
    setpoint[heating_days * 1440 :] = _schedule(cooling_days * 1440, comfort=24.0, night=26.0)
    modes = np.array(["heat"] * (heating_days * 1440) + ["cool"] * (cooling_days * 1440))
    store = _store(minutes, setpoint, modes=modes)
    noon, night = _local(heating_days + cooling_days, 12.0), _local(heating_days + cooling_days, 3.0)

    # A day after the switch there is too little cooling to learn from; the winter's
    # heating setpoints are not offered for it.
    switched = ClimateModel()
    switched.fit(store, SPEC, START + (heating_days + 1) * DAY)
    ready, reason = switched.enough_data(CLIMATE)
    assert not ready and reason is not None and "days of setpoint history, has 1.0" in say_reason(reason)

    cooling = ClimateModel()
    cooling.fit(store, SPEC, START + (heating_days + cooling_days) * DAY)
    assert cooling.enough_data(CLIMATE) == (True, None)
    assert cooling.setpoints(CLIMATE, np.array([noon, night]), None).tolist() == pytest.approx([24.0, 26.0])


def test_a_boost_in_heat_mode_of_a_thermostat_on_auto_is_the_same_routine() -> None:
    minutes = 14 * 1440
    modes = np.array(["auto"] * minutes)
    modes[13 * 1440 + 600 : 13 * 1440 + 660] = "heat"  # an hour's boost on the last day
    store = _store(minutes, _schedule(minutes), modes=modes)
    model = ClimateModel()
    model.fit(store, SPEC, START + 14 * DAY)
    assert model.enough_data(CLIMATE) == (True, None)
    store.merge_states([(CLIMATE, "heat", START + 14 * DAY + 60.0, {"temperature": 21.0})], ROLES)
    model.refresh(store, START + 14 * DAY + 120.0)
    assert model.enough_data(CLIMATE) == (True, None)
    noon = np.array([_local(14, 12.0)])
    assert model.setpoints(CLIMATE, noon, None).tolist() == pytest.approx([21.0])


def test_an_afternoon_of_cooling_weeks_ago_is_not_two_days_of_it() -> None:
    minutes = 30 * 1440
    modes = np.array(["heat"] * minutes)
    modes[5 * 1440 + 780 : 5 * 1440 + 1080] = "cool"  # one warm afternoon
    modes[-180:] = "cool"  # and for good, three hours ago
    model = ClimateModel()
    model.fit(_store(minutes, _schedule(minutes), modes=modes), SPEC, START + 30 * DAY)
    ready, reason = model.enough_data(CLIMATE)
    assert not ready and reason is not None and "days of setpoint history, has 0.3" in say_reason(reason)


def test_a_switch_of_mode_since_the_fit_stops_the_predictions() -> None:
    minutes = 14 * 1440
    model = ClimateModel()
    store = _store(minutes, _schedule(minutes))
    model.fit(store, SPEC, START + 14 * DAY)
    assert model.enough_data(CLIMATE) == (True, None)
    # Turned off: nothing is set then anyway (the guard rails), the routine stands.
    store.merge_states([(CLIMATE, "off", START + 14 * DAY + 60.0, {"temperature": 21.0})], ROLES)
    model.refresh(store, START + 14 * DAY + 120.0)
    assert model.enough_data(CLIMATE) == (True, None)
    store.merge_states([(CLIMATE, "cool", START + 14 * DAY + 180.0, {"temperature": 21.0})], ROLES)
    model.refresh(store, START + 14 * DAY + 240.0)
    ready, reason = model.enough_data(CLIMATE)
    assert not ready and reason is not None and "another HVAC mode" in say_reason(reason)


def test_not_enough_setpoint_history() -> None:
    minutes = 1440
    model = ClimateModel()
    model.fit(_store(minutes, _schedule(minutes)), SPEC, START + DAY)
    ready, reason = model.enough_data(CLIMATE)
    assert not ready and reason is not None and "days of setpoint history" in say_reason(reason)
    assert model.enough_data("climate.unknown")[0] is False


# -- manual vs schedule --


def test_recurring_steps_are_schedule_one_offs_are_manual_near_arrival_is_occupancy() -> None:
    steps = [_local(d, 7.0) + 60.0 * d for d in range(5)]  # 07:00 give or take a few minutes
    one_off = _local(2, 15.2)
    at_arrival = _local(3, 18.4)
    times = np.array(sorted([*steps, one_off, at_arrival]))
    values = np.array([21.0 if t in steps else 23.0 if t == one_off else 20.0 for t in times])
    arrivals = np.array([_local(3, 18.3)])
    kinds = dict(zip(times.tolist(), classify_changes(times, values, TZ, arrivals).tolist(), strict=True))
    assert all(kinds[t] == KIND_SCHEDULE for t in steps)
    assert kinds[one_off] == KIND_MANUAL
    assert kinds[at_arrival] == KIND_OCCUPANCY


def test_a_step_to_another_value_at_the_usual_time_is_manual() -> None:
    times = np.array([_local(d, 7.0) for d in range(4)])
    values = np.array([21.0, 21.0, 21.0, 25.0])
    assert classify_changes(times, values, TZ).tolist() == [KIND_SCHEDULE] * 3 + [KIND_MANUAL]


def test_manual_changes_count_less_and_are_reported() -> None:
    minutes = 14 * 1440
    setpoint = _schedule(minutes)
    setpoint[13 * 1440 + 12 * 60 : 13 * 1440 + 16 * 60] = 24.0  # one afternoon by hand
    model = ClimateModel()
    model.fit(_store(minutes, setpoint), SPEC, START + 14 * DAY)
    zone = model.as_dict()["zones"][CLIMATE]
    assert zone["changes"]["manual"] == 2
    assert zone["last_manual_change"] == pytest.approx(START + 13 * DAY + 16 * 3600.0)
    assert model.setpoints(CLIMATE, np.array([_local(20, 13.0)]), None)[0] == pytest.approx(21.0)


# -- preheat --


def _heat_from(start_temp: float, outdoor: float, tau_hours: float, rate: float, hours: float) -> float:
    equilibrium = outdoor + rate * tau_hours
    return equilibrium + (start_temp - equilibrium) * math.exp(-hours / tau_hours)


def test_preheat_start_reaches_the_target_on_time() -> None:
    now, target_time = 0.0, 6 * 3600.0
    start = preheat_start_time(
        now, target_time, 21.0, indoor=17.0, outdoor=5.0, tau_hours=10.0, rate=3.0, hold=17.0, margin=0.0
    )
    assert start is not None and now < start < target_time
    # Held at 17 until the start, then full heat: 21 exactly at the target time.
    assert _heat_from(17.0, 5.0, 10.0, 3.0, (target_time - start) / 3600.0) == pytest.approx(21.0, abs=1e-6)
    # Closed form: t = tau * ln((Teq - T0) / (Teq - Ts)).
    assert (target_time - start) / 3600.0 == pytest.approx(10.0 * math.log((35.0 - 17.0) / (35.0 - 21.0)))


def test_preheat_accounts_for_the_drift_before_it_starts() -> None:
    target_time = 8 * 3600.0
    start = preheat_start_time(0.0, target_time, 21.0, indoor=20.0, outdoor=0.0, tau_hours=10.0, rate=3.0, margin=0.0)
    assert start is not None
    drifted = 20.0 * math.exp(-start / 36_000.0)
    assert _heat_from(drifted, 0.0, 10.0, 3.0, (target_time - start) / 3600.0) == pytest.approx(21.0, abs=1e-3)


def test_preheat_margin_starts_earlier() -> None:
    args = {"indoor": 17.0, "outdoor": 5.0, "tau_hours": 10.0, "rate": 3.0, "hold": 17.0}
    exact = preheat_start_time(0.0, 6 * 3600.0, 21.0, margin=0.0, **args)
    padded = preheat_start_time(0.0, 6 * 3600.0, 21.0, margin=0.1, **args)
    assert exact is not None and padded is not None and padded < exact


def test_no_preheat_when_warm_now_when_late_or_out_of_reach() -> None:
    assert preheat_start_time(0.0, 3600.0, 21.0, indoor=22.0, outdoor=21.5, tau_hours=10.0, rate=3.0) is None
    assert preheat_start_time(0.0, 600.0, 21.0, indoor=17.0, outdoor=5.0, tau_hours=10.0, rate=3.0) == 0.0
    assert preheat_start_time(0.0, 36_000.0, 30.0, indoor=17.0, outdoor=-5.0, tau_hours=10.0, rate=3.0) == 0.0
    assert preheat_start_time(100.0, 50.0, 21.0, indoor=17.0, outdoor=5.0, tau_hours=10.0, rate=3.0) is None


def test_precool_uses_a_negative_rate() -> None:
    start = preheat_start_time(
        0.0, 4 * 3600.0, 24.0, indoor=28.0, outdoor=32.0, tau_hours=10.0, rate=-3.0, hold=28.0, margin=0.0
    )
    assert start is not None and 0.0 < start < 4 * 3600.0
    assert _heat_from(28.0, 32.0, 10.0, -3.0, (4 * 3600.0 - start) / 3600.0) == pytest.approx(24.0, abs=1e-6)


def _morning_zone() -> ClimateModel:
    """A week of the morning schedule under real outdoor temperatures, fitted on Sunday 01:00."""
    out_t, out_v = _real_outdoor()
    minutes = 7 * 1440
    t_out = np.interp(_times(minutes), out_t, out_v)
    target = _schedule(minutes)
    _, readings, heat = _simulate_zone(minutes, 10.0, 3.0, t_out, target)
    model = ClimateModel()
    model.fit(_store(minutes, target, readings, heat, t_out), SPEC, _local(6, 1.0))
    return model


def test_prediction_plans_the_morning_preheat() -> None:
    now = _local(6, 1.0)  # Sunday 01:00, the zone held at the night setpoint
    model = _morning_zone()
    prediction = model.predict(CLIMATE, now, hours=24, indoor=17.0, outdoor=0.0, home_now=1.0)
    assert prediction.setpoint_now == pytest.approx(17.0)
    assert prediction.mode == "sleep"
    assert prediction.preheat_target_time == pytest.approx(_local(6, 7.0))
    assert prediction.preheat_target_setpoint == pytest.approx(21.0)
    assert prediction.preheat_start is not None
    needed = 10.0 * math.log((30.0 - 17.0) / (30.0 - 21.0)) * 3600.0  # Teq = 0 + 3 * 10
    assert _local(6, 7.0) - prediction.preheat_start == pytest.approx(needed * 1.1, rel=0.1)
    assert prediction.heating_rate == pytest.approx(3.0, rel=0.1)
    assert prediction.tau_hours == pytest.approx(10.0, rel=0.1)
    assert len(prediction.forecast) == 24
    assert prediction.confidence is not None and 0.0 < prediction.confidence <= 1.0


def test_a_preheat_keeps_its_times_as_the_clock_moves() -> None:
    """The step aimed at and a start already due stay put from one refresh to the next."""
    model = _morning_zone()

    def plan_at(hour: float) -> tuple[float | None, float | None]:
        prediction = model.predict(CLIMATE, _local(6, hour), hours=24, indoor=17.0, outdoor=0.0, home_now=1.0)
        return prediction.preheat_start, prediction.preheat_target_time

    on_time = [plan_at(1.0 + minute / 60.0) for minute in range(0, 30, 7)]
    assert {aim for _, aim in on_time} == {_local(6, 7.0)}
    assert len({start for start, _ in on_time}) == 1  # same readings, same start, to the minute
    due = on_time[0][0]
    assert due is not None and due % 60.0 == 0.0
    # Still at 17 °C well after the start: the start shown is the one that fell due.
    late = [plan_at(hour) for hour in (5.0, 5.25, 6.5)]
    assert all(start == due and aim == _local(6, 7.0) for start, aim in late)


def test_a_start_shown_as_due_is_kept_over_a_refit() -> None:
    before, after = HomeModels(SPEC), HomeModels(SPEC)
    before.climate, after.climate = _morning_zone(), _morning_zone()
    for hour in (1.0, 5.0):  # shown at 01:00, due since, still shown at 05:00
        due = before.climate.predict(CLIMATE, _local(6, hour), indoor=17.0, outdoor=0.0, home_now=1.0).preheat_start
    assert due is not None and due < _local(6, 5.0)
    after.continue_live_from(before)  # the models of a refit take over
    later = after.climate.predict(CLIMATE, _local(6, 5.25), indoor=17.0, outdoor=0.0, home_now=1.0)
    assert later.preheat_start == due


def test_refresh_reads_the_live_values_at_now() -> None:
    minutes = 3 * 1440
    target = _schedule(minutes)
    _, readings, heat = _simulate_zone(minutes, 10.0, 3.0, np.full(minutes, 5.0), target)
    store = _store(minutes, target, readings, heat, np.full(minutes, 5.0))
    model = ClimateModel()
    now = _local(2, 12.0)
    model.fit(store, SPEC, now)
    zone = model.zones_[CLIMATE]
    assert zone.setpoint == pytest.approx(21.0)  # not the night value recorded later
    assert zone.outdoor == pytest.approx(5.0)
    assert model.from_dict(model.as_dict()).half_life_days == model.half_life_days


# -- guard rails --


def test_guard_rails_clamp_and_refuse() -> None:
    base = {
        "min_temp": 7.0,
        "max_temp": 25.0,
        "hvac_mode": "heat",
        "last_manual_change": None,
        "now": 10_000.0,
        "manual_hold_minutes": 60.0,
    }
    assert guarded_setpoint(20.74, **base) == (20.5, "ok")  # type: ignore[arg-type]
    assert guarded_setpoint(30.0, **base) == (25.0, "ok")  # type: ignore[arg-type]
    assert guarded_setpoint(20.0, **{**base, "hvac_mode": "off"}) == (None, "hvac_off")  # type: ignore[arg-type]
    recent = {**base, "last_manual_change": 10_000.0 - 600.0}
    assert guarded_setpoint(20.0, **recent) == (None, "manual_override")  # type: ignore[arg-type]
    # The household's own preset (away, eco) stands; the usual ones follow the prediction.
    assert guarded_setpoint(20.0, **{**base, "preset": "away"}) == (None, "preset")  # type: ignore[arg-type]
    assert guarded_setpoint(20.0, **{**base, "preset": "none"}) == (20.0, "ok")  # type: ignore[arg-type]
    assert guarded_setpoint(20.0, **{**base, "preset": "Home"}) == (20.0, "ok")  # type: ignore[arg-type]


def test_returning_from_an_override_is_not_mistaken_for_the_usual_step() -> None:
    times = np.array([_local(d, 19.0) for d in range(4)])
    new = np.array([21.0, 21.0, 21.0, 21.0])
    old = np.array([17.0, 17.0, 17.0, 24.0])  # the last one ends a manual boost
    assert classify_changes(times, new, TZ, old_values=old).tolist() == [KIND_SCHEDULE] * 3 + [KIND_MANUAL]


def _schedule_steps_pairwise(
    times: NDArray[np.float64], new: NDArray[np.float64], tz_name: str, old: NDArray[np.float64] | None
) -> NDArray[np.bool_]:
    """Which changes recur as a schedule, every pair of changes compared at once (the reference)."""
    local = local_times(times, tz_name)
    minute = (local % DAY) / 60.0
    day = np.floor(local / DAY).astype(np.int64)
    gap = np.abs(minute[:, None] - minute[None, :])
    gap = np.minimum(gap, 1440.0 - gap)
    similar = (gap <= SCHEDULE_WINDOW_MINUTES) & (np.abs(new[:, None] - new[None, :]) <= SCHEDULE_TOLERANCE)
    if old is not None:
        similar &= np.abs(old[:, None] - old[None, :]) <= SCHEDULE_TOLERANCE
    order = np.argsort(day, kind="stable")
    group_starts = np.flatnonzero(np.r_[True, np.diff(day[order]) != 0])
    per_day = np.logical_or.reduceat(similar[:, order], group_starts, axis=1)
    return np.asarray(per_day.sum(axis=1) >= SCHEDULE_MIN_DAYS)


@pytest.mark.parametrize("seed", range(12))
def test_change_kinds_are_those_of_comparing_every_pair(seed: int) -> None:
    """Compared a block at a time, near their time of day only, the kinds are those of every pair."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 7, 300, 1400, 3000]))
    if seed % 3 == 0:
        # All at about the same time of day, around midnight: many days each, blocks split.
        minutes = rng.choice([-30.0, -10.0, 0.0, 10.0, 20.0, 30.0], n)
        times = START + DAY * rng.integers(0, 90, n) + 60.0 * minutes
    else:
        # On a 10-minute grid (gaps of exactly the window) over a few months, across a DST change.
        times = START + 600.0 * rng.integers(0, 90 * 144, n)
    times = np.sort(times)
    new = 17.0 + 0.5 * rng.integers(0, 4, n)  # steps of exactly the tolerance too
    old = 17.0 + 0.5 * rng.integers(0, 4, n) if seed % 2 else None
    tz_name = "Europe/Berlin" if seed % 4 < 2 else TZ
    kinds = classify_changes(times, new, tz_name, old_values=old)
    assert ((kinds == KIND_SCHEDULE) == _schedule_steps_pairwise(times, new, tz_name, old)).all()


def test_a_thermostat_nudged_every_ten_minutes_for_two_months_is_fitted_in_little_memory() -> None:
    """A radiator valve an automation nudges every 10 minutes: 8,640 setpoint changes in 60 days."""
    store = ObservationStore()
    changes = int(60 * DAY / 600)
    for i in range(changes):
        attributes = {"temperature": 20.0 + 0.5 * (i % 2), "current_temperature": 20.2}
        store.add_state(CLIMATE, "climate", "heat", START + 600.0 * i, attributes)
    model = ClimateModel()
    tracemalloc.start()
    try:
        model.fit(store, {"timezone": "Europe/Berlin", "climate": [CLIMATE]}, START + 60 * DAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 60e6, f"{peak / 1e6:.0f} MB"
    times = START + 600.0 * np.arange(20_000)
    tracemalloc.start()
    try:
        classify_changes(times, 20.0 + 0.5 * (np.arange(20_000) % 2), "Europe/Berlin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"{peak / 1e6:.0f} MB"


def test_a_presence_entity_without_history_is_ignored() -> None:
    minutes = 3 * 1440
    store = _store(minutes, _schedule(minutes))
    store.buffer(PERSON, "presence")  # configured, nothing recorded yet
    model = ClimateModel()
    model.fit(store, SPEC, START + 3 * DAY)
    prediction = model.predict(CLIMATE, START + 3 * DAY + 12 * 3600.0)
    assert prediction.setpoint_now == pytest.approx(21.0)
    assert prediction.occupied_probability is None
