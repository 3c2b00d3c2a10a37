"""Energy engine: consumption series, forecast quantiles, baseline power and anomalies."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from custom_components.smartml.engine import energy_quantiles
from custom_components.smartml.engine.constants import (
    TYPE_ABOVE_FORECAST,
    TYPE_BASE_LOAD,
    TYPE_EMPTY_HOME,
    TYPE_STUCK_ON,
)
from custom_components.smartml.engine.energy import EnergyModel
from custom_components.smartml.engine.energy_alerts import EnergyAlerts, FlaggedPeriod, energy_anomaly
from custom_components.smartml.engine.energy_detectors import STUCK_MIN_EXCESS_W, EnergyDetectors, check_above_forecast
from custom_components.smartml.engine.energy_features import usual_profile
from custom_components.smartml.engine.energy_quantiles import ProfileQuantiles, least_absolute
from custom_components.smartml.engine.energy_series import hourly_from_store, meter_consumption, power_grid
from custom_components.smartml.engine.exclusions import ExcludedPeriod
from custom_components.smartml.engine.facts import AboveForecast, BaseLoad, EmptyHomeDraw, LongRun
from custom_components.smartml.engine.home import HomeModels
from custom_components.smartml.engine.live_score import SERIES, LiveScore
from custom_components.smartml.engine.observations import ObservationStore
from custom_components.smartml.engine.results import Anomaly
from custom_components.smartml.explain import explain

FIXTURES = Path(__file__).parent.parent / "fixtures"
POWER = "sensor.home_power"
METER = "sensor.home_energy"
SPEC_POWER = {"timezone": "UTC", "power": [POWER], "energy": []}
SPEC_METER = {"timezone": "UTC", "power": [], "energy": [METER]}
# Monday 2024-01-01 00:00 UTC.
T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
HOUR = 3600.0
DAY = 86_400.0


def routine_watts(ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A home with a known routine: 120 W base, breakfast, an evening peak, late weekend mornings."""
    hour = (ts % DAY) / HOUR
    weekend = ((ts - T0) // DAY % 7) >= 5
    watts = np.full(len(ts), 120.0)
    watts += np.where(~weekend & (hour >= 7) & (hour < 8), 1500.0, 0.0)
    watts += np.where(weekend & (hour >= 9) & (hour < 11), 1200.0, 0.0)
    watts += np.where((hour >= 18) & (hour < 21), 900.0, 0.0)
    # Short random appliance runs, a fridge cycle and noise.
    watts += np.where(rng.random(len(ts)) < 0.03, 800.0, 0.0)
    watts += np.where((ts // 1200) % 3 == 0, 80.0, 0.0)
    return watts + rng.normal(0.0, 15.0, len(ts))


def power_store(
    days: int,
    seed: int = 0,
    extra: tuple[float, float, float] | None = None,
    extras: list[tuple[float, float, float]] | None = None,
) -> ObservationStore:
    """10-minute power states; extra/extras = (start, end, watts) add constant loads."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(0, days * DAY, 600.0)
    watts = routine_watts(ts, rng)
    for start, end, load in ([extra] if extra is not None else []) + (extras or []):
        watts += np.where((ts >= start) & (ts < end), load, 0.0)
    store = ObservationStore(max_points=10**7)
    for t, w in zip(ts.tolist(), watts.tolist(), strict=True):
        store.add_state(POWER, "power", f"{w:.1f}", t)
    return store


@pytest.fixture(scope="module")
def fitted() -> tuple[EnergyModel, ObservationStore]:
    store = power_store(28)
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 21 * DAY)
    return model, store


def test_meter_reset_counts_new_value_from_zero() -> None:
    used = meter_consumption(np.array([10.0, 10.5, 11.0, 0.2, 0.7]))
    assert used.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.2, 1.7])


def test_a_meter_that_dips_a_little_was_not_reset() -> None:
    # 12000.50 then 12000.42 (a re-read): nothing used, not twelve thousand kWh.
    used = meter_consumption(np.array([12000.0, 12000.5, 12000.42, 12000.9]))
    assert used.tolist() == pytest.approx([0.0, 0.5, 0.5, 0.98])


def test_a_meter_read_as_zero_for_a_moment_was_not_reset() -> None:
    # 12000 kWh, then 0 once or twice, then 12000.3: nothing like twelve thousand kWh used.
    assert meter_consumption(np.array([12000.0, 0.0, 12000.3, 12000.5])).tolist() == pytest.approx([0, 0, 0.3, 0.5])
    assert meter_consumption(np.array([12000.0, 0.0, 0.0, 12000.3])).tolist() == pytest.approx([0, 0, 0, 0.3])
    # A meter that resets daily climbs from its new value: a reset.
    daily = meter_consumption(np.array([14.0, 15.0, 0.1, 0.4, 0.9, 1.5, 14.0]))
    assert daily.tolist() == pytest.approx([0.0, 1.0, 1.1, 1.4, 1.9, 2.5, 15.0])


def test_hourly_from_meter_with_reset_and_units() -> None:
    store = ObservationStore()
    # 1 kWh per hour read in Wh; the meter is reset during the hour before 03:00.
    readings = [(0, 5000), (1, 6000), (2, 7000), (3, 1000), (4, 2000), (5, 3000)]
    for hour, wh in readings:
        store.add_state(METER, "energy", str(wh), T0 + hour * HOUR, {"unit_of_measurement": "Wh"})
    starts, kwh = hourly_from_store(store, SPEC_METER, "UTC", end=T0 + 5 * HOUR)
    assert starts.tolist() == [T0 + h * HOUR for h in range(5)]
    assert kwh.tolist() == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0], abs=0.01)


def test_power_in_kilowatts_becomes_hourly_kwh() -> None:
    store = ObservationStore()
    for minute in range(0, 180, 5):
        store.add_state(
            POWER, "power", "1.5" if minute < 60 else "0.5", T0 + minute * 60, {"unit_of_measurement": "kW"}
        )
    _, kwh = hourly_from_store(store, SPEC_POWER, "UTC", end=T0 + 3 * HOUR)
    assert kwh.tolist() == pytest.approx([1.5, 0.5, 0.5])


def test_meter_gap_leaves_hours_unknown() -> None:
    """Nothing recorded for 5 h while the meter counted on: when it did, no one knows."""
    store = ObservationStore()
    for hour, kwh in [(0, 1.0), (1, 2.0), (6, 7.0), (7, 8.0)]:
        store.add_state(METER, "energy", str(kwh), T0 + hour * HOUR)
    _, kwh_h = hourly_from_store(store, SPEC_METER, end=T0 + 7 * HOUR)
    assert kwh_h[0] == pytest.approx(1.0)
    assert np.isnan(kwh_h[1:6]).all()
    assert kwh_h[6] == pytest.approx(1.0)


def test_a_meter_that_held_still_over_a_gap_used_nothing_then() -> None:
    """Home Assistant writes no state while a reading stays the same: equal readings, no use."""
    store = ObservationStore()
    for hour, kwh in [(0, 1.0), (1, 2.0), (6, 2.0), (7, 3.0)]:
        store.add_state(METER, "energy", str(kwh), T0 + hour * HOUR)
    _, kwh_h = hourly_from_store(store, SPEC_METER, end=T0 + 7 * HOUR)
    assert kwh_h.tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])


def test_a_meter_s_last_reading_stands_until_now_only_while_it_is_available() -> None:
    store = ObservationStore()
    for hour, kwh in [(0, 1.0), (1, 2.0)]:
        store.add_state(METER, "energy", str(kwh), T0 + hour * HOUR)
    _, available = power_grid(store, SPEC_METER, T0, T0 + 6 * HOUR, available=True)
    assert available.tolist() == pytest.approx([1000.0] * 4 + [0.0] * 20)
    _, unknown = power_grid(store, SPEC_METER, T0, T0 + 6 * HOUR)
    assert np.isnan(unknown[4:]).all()


def test_quantiles_are_ordered(fitted: tuple[EnergyModel, ObservationStore]) -> None:
    model, store = fitted
    assert model.enough_data() == (True, None)
    result = model.forecast(store, T0 + 21 * DAY + 30 * 60, hours=48)
    assert len(result.ts) == 48
    p10, p50, p90 = map(np.array, (result.p10, result.p50, result.p90))
    assert (p10 <= p50).all() and (p50 <= p90).all() and (p10 >= 0).all()
    assert result.tomorrow > 0 and result.today >= result.used_today


def test_forecast_beats_seasonal_naive_on_known_routine() -> None:
    store = power_store(35, seed=3)
    model = EnergyModel()
    errors, naive = [], []
    for day in range(28, 35):
        cutoff = T0 + day * DAY
        model.fit(store, SPEC_POWER, cutoff)
        series = model.series(store, T0 + 35 * DAY, None, None, since=T0)
        origin = int((cutoff - series.starts[0]) // HOUR)
        horizons = np.arange(1, 25)
        q = model.quantiles(series, np.full(24, origin), horizons)
        truth = series.y[origin : origin + 24]
        errors.append(np.abs(q[:, 1] - truth))
        naive.append(np.abs(series.y[origin - 168 : origin - 144] - truth))
    assert np.mean(errors) < 0.9 * np.mean(naive)


def test_least_absolute_recovers_coefficients_despite_outliers() -> None:
    rng = np.random.default_rng(4)
    design = np.column_stack((np.ones(600), rng.normal(size=(600, 2))))
    y = design @ np.array([0.3, 0.8, -0.5]) + rng.laplace(0.0, 0.05, 600)
    y[:30] += 25.0  # a few wild hours must not pull the fit
    coef = least_absolute(design, y, ridge=1e-4)
    assert np.allclose(coef, [0.3, 0.8, -0.5], atol=0.05)
    # A strong ridge pulls the correction towards none but keeps the constant.
    shrunk = least_absolute(design, y, ridge=10.0)
    assert np.all(np.abs(shrunk[1:]) < 0.2) and abs(shrunk[0] - 0.3) < 0.1


def test_next_hour_follows_a_load_running_now() -> None:
    """A load of 8 h that starts at random hours: the next hour follows it, the usual hour cannot."""
    rng = np.random.default_rng(5)
    ts = T0 + np.arange(0, 42 * DAY, 600.0)
    watts = routine_watts(ts, rng)
    for start in rng.choice(np.arange(0, 42 * 24), size=30, replace=False):
        watts += np.where((ts >= T0 + start * HOUR) & (ts < T0 + (start + 8) * HOUR), 2000.0, 0.0)
    store = ObservationStore(max_points=10**7)
    for t, w in zip(ts.tolist(), watts.tolist(), strict=True):
        store.add_state(POWER, "power", f"{w:.1f}", t)
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 35 * DAY)
    series = model.series(store, T0 + 42 * DAY, None, None, since=T0)
    origins = np.arange(35 * 24, 42 * 24 - 1)
    q = model.quantiles(series, origins, np.ones(len(origins), dtype=np.int64))
    truth, last = series.y[origins], series.y[origins - 1]
    usual = model.profile_[series.how[origins]]
    ok = np.isfinite(truth) & np.isfinite(last)
    assert np.mean(np.abs(q[ok, 1] - truth[ok])) < 0.85 * min(
        np.mean(np.abs(last[ok] - truth[ok])), np.mean(np.abs(usual[ok] - truth[ok]))
    )


def test_next_hour_leans_on_the_last_hour_where_that_forecasts_best() -> None:
    """Nights at a level of their own (a heater set anew each evening): the last hour says it, no profile can."""
    rng = np.random.default_rng(6)
    ts = T0 + np.arange(0, 42 * DAY, 600.0)
    watts = routine_watts(ts, rng)
    night = ((ts % DAY) / HOUR) < 6
    level = rng.choice([0.0, 1500.0, 3000.0], size=42)[((ts - T0) // DAY).astype(np.int64)]
    watts += np.where(night, level, 0.0)
    store = ObservationStore(max_points=10**7)
    for t, w in zip(ts.tolist(), watts.tolist(), strict=True):
        store.add_state(POWER, "power", f"{w:.1f}", t)
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 35 * DAY)
    assert isinstance(model.model_, ProfileQuantiles)
    # Hours 3-5 of the night: the last hour is the forecast; the evening keeps the model's.
    assert model.model_.model_share_[1] <= 0.25
    assert model.model_.model_share_[6] >= 0.75
    series = model.series(store, T0 + 42 * DAY, None, None, since=T0)
    origins = np.array([d * 24 + h for d in range(35, 41) for h in range(3, 6)])
    q = model.quantiles(series, origins, np.ones(len(origins), dtype=np.int64))
    truth, last = series.y[origins], series.y[origins - 1]
    assert np.mean(np.abs(q[:, 1] - truth)) <= np.mean(np.abs(last - truth)) + 0.01


def test_baseline_and_standby_power(fitted: tuple[EnergyModel, ObservationStore]) -> None:
    model, _ = fitted
    evening = model.baseline_power(T0 + 22 * DAY + 19.5 * HOUR)
    night = model.baseline_power(T0 + 22 * DAY + 3.5 * HOUR)
    assert evening > 800 > night
    assert 100 < model.standby_power() < 250


def test_external_hourly_series_is_enough_to_forecast() -> None:
    rng = np.random.default_rng(1)
    hours = T0 + np.arange(0, 21 * DAY, HOUR)
    kwh = routine_watts(hours + 1800, rng) / 1000.0
    model = EnergyModel()
    model.fit(ObservationStore(), SPEC_METER, T0 + 21 * DAY, hourly=(hours.tolist(), kwh.tolist()))
    assert model.enough_data()[0]
    result = model.forecast(ObservationStore(), T0 + 21 * DAY + 60, hours=24)
    assert len(result.p50) == 24


def _as_event(anomaly: Anomaly) -> dict:
    """The anomaly as the integration reports it: its JSON form with the rendered text."""
    return {**anomaly.as_json(), "explanation": explain(anomaly)}


def _alarms(
    store: ObservationStore,
    start_day: int,
    days: int,
    home_occupied: bool | None = None,
    model: EnergyModel | None = None,
) -> list[dict]:
    model = model or EnergyModel()
    found: list[dict] = []
    for day in range(start_day, start_day + days):
        cutoff = T0 + day * DAY
        model.fit(store, SPEC_POWER, cutoff)
        for now in np.arange(cutoff + 900, cutoff + DAY + 1, 900).tolist():
            found += [_as_event(a) for a in model.check(store, now, home_occupied)]
    return found


def test_stuck_on_appliance_raises_anomaly() -> None:
    start = T0 + 22 * DAY + 1 * HOUR  # a 1.5 kW heater left on from 01:00 to 07:00
    store = power_store(23, extra=(start, start + 6 * HOUR, 1500.0))
    found = _alarms(store, 22, 1)
    assert any(a["type"] == TYPE_STUCK_ON and start <= a["ts"] <= start + 6 * HOUR for a in found)
    alarm = next(a for a in found if a["type"] == TYPE_STUCK_ON)
    assert alarm["kind"] == "energy" and alarm["entity_ids"] == [POWER]
    assert "left on" in alarm["explanation"] and alarm["facts"]["floor_w"] > alarm["facts"]["threshold_w"]


def test_raised_base_load_raises_anomaly() -> None:
    start = T0 + 21 * DAY
    store = power_store(24, extra=(start, start + 3 * DAY, 250.0))
    found = _alarms(store, 21, 3)
    assert any(a["type"] == TYPE_BASE_LOAD for a in found)


def test_one_off_long_run_does_not_hide_a_later_appliance_left_on() -> None:
    """A single night with a 2.5 kW run in the past weeks does not lift the bar at night."""
    genuine = T0 + 10 * DAY + 1 * HOUR
    start = T0 + 22 * DAY + 1 * HOUR  # 1.5 kW from 01:00 to 04:00
    store = power_store(23, extras=[(genuine, genuine + 4 * HOUR, 2500.0), (start, start + 3 * HOUR, 1500.0)])
    found = _alarms(store, 22, 1)
    assert any(a["type"] == TYPE_STUCK_ON and start <= a["ts"] <= start + 4 * HOUR for a in found)


def test_home_with_daily_long_runs_gets_a_higher_stuck_on_bar() -> None:
    """The excess that counts as stuck on is calibrated on the home's own days."""
    rng = np.random.default_rng(3)
    runs = []
    for day in range(22):
        begin = T0 + day * DAY + float(rng.integers(0, 20)) * HOUR
        runs.append((begin, begin + float(rng.integers(3, 6)) * HOUR, 2000.0))
    busy = EnergyModel()
    busy.fit(power_store(22, extras=runs), SPEC_POWER, T0 + 22 * DAY)
    quiet = EnergyModel()
    quiet.fit(power_store(22), SPEC_POWER, T0 + 22 * DAY)
    assert quiet.detectors_.stuck_excess_ == STUCK_MIN_EXCESS_W
    assert busy.detectors_.stuck_excess_ > 1500.0
    assert np.nanmin(busy.detectors_.stuck_threshold_) > np.nanmin(quiet.detectors_.stuck_threshold_) + 500.0


def test_reported_stuck_on_days_are_left_out_of_calibration() -> None:
    """A fault already reported (here on 8 nights) does not make the detector blind to the next."""
    nights = [(T0 + d * DAY + 1 * HOUR, T0 + d * DAY + 6 * HOUR, 1500.0) for d in range(8, 22, 2)]
    nights += [(T0 + 21 * DAY + 1 * HOUR, T0 + 21 * DAY + 6 * HOUR, 1500.0)]
    store = power_store(22, extras=nights)
    blind = EnergyModel()
    blind.fit(store, SPEC_POWER, T0 + 22 * DAY)
    model = EnergyModel()
    model.alerts.flagged = [FlaggedPeriod(TYPE_STUCK_ON, a - 3 * HOUR, b) for a, b, _ in nights]
    model.fit(store, SPEC_POWER, T0 + 22 * DAY)
    assert blind.detectors_.stuck_threshold_[3] > 1700.0
    assert model.detectors_.stuck_threshold_[3] < 1500.0


def test_stuck_on_alarm_is_remembered_as_flagged() -> None:
    start = T0 + 22 * DAY + 1 * HOUR
    store = power_store(23, extra=(start, start + 6 * HOUR, 1500.0))
    model = EnergyModel()
    _alarms(store, 22, 1, model=model)
    kinds = [f for f in model.alerts.flagged if f.type == TYPE_STUCK_ON]
    assert len(kinds) == 1 and kinds[0].start <= start + HOUR and kinds[0].end >= start + 5 * HOUR


def test_window_ends_at_the_last_reported_slot() -> None:
    """A meter read every 10 minutes leaves the newest 15-min slot unknown at :15 and :45.

    A nightly run of 2 h 50 min must not look like a 3-hour floor because of that slot.
    """
    rng = np.random.default_rng(0)
    ts = T0 + np.arange(0, 23 * DAY, 600.0)
    watts = routine_watts(ts, rng)
    clock = ts % DAY
    watts += np.where((clock >= 100 * 60) & (clock < 4.5 * HOUR), 2000.0, 0.0)
    kwh = np.concatenate(([0.0], np.cumsum(watts * 600.0 / 3.6e6)[:-1]))  # a reading covers what came before
    store = ObservationStore(max_points=10**7)
    for t, v in zip(ts.tolist(), kwh.tolist(), strict=True):
        store.add_state(METER, "energy", f"{v:.5f}", t)
    model = EnergyModel()
    model.fit(store, SPEC_METER, T0 + 22 * DAY)
    found = []
    for now in np.arange(T0 + 22 * DAY + 900, T0 + 23 * DAY - 3600, 900).tolist():
        found += [_as_event(a) for a in model.check(store, now, None)]
    assert not [a for a in found if a["type"] == TYPE_STUCK_ON]


def test_one_day_of_raised_floor_is_not_a_base_load() -> None:
    start = T0 + 21 * DAY
    store = power_store(24, extra=(start, start + 30 * HOUR, 250.0))
    assert not any(a["type"] == TYPE_BASE_LOAD for a in _alarms(store, 21, 3))


def test_small_base_load_rise_is_found_after_two_days() -> None:
    start = T0 + 21 * DAY + 6 * HOUR
    store = power_store(25, extra=(start, start + 3 * DAY, 150.0))
    found = [a for a in _alarms(store, 21, 4) if a["type"] == TYPE_BASE_LOAD]
    assert len(found) == 1
    assert start + 2 * DAY <= found[0]["ts"] <= start + 2 * DAY + HOUR
    assert "two days" in found[0]["explanation"] and found[0]["facts"]["floor_w"] > found[0]["facts"]["threshold_w"]


def test_normal_stream_raises_nothing() -> None:
    store = power_store(28, seed=5)
    assert _alarms(store, 21, 7) == []


def test_draw_in_empty_home_raises_anomaly() -> None:
    start = T0 + 22 * DAY + 12 * HOUR  # midday, nobody home, 600 W keeps running
    store = power_store(23, extra=(start, start + 3 * HOUR, 600.0))
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 22 * DAY)
    found = [_as_event(a) for a in model.check(store, start + 2 * HOUR, home_occupied=False)]
    assert [a["type"] for a in found if a["type"] == TYPE_EMPTY_HOME] == [TYPE_EMPTY_HOME]
    assert "Nobody is home" in found[0]["explanation"] or any("Nobody" in a["explanation"] for a in found)


def test_persisted_state_round_trips() -> None:
    score = LiveScore(error="absolute")
    for h in range(30):
        score.record(SERIES, T0 + h * HOUR, 1.0, 1.5)
    score.resolve(SERIES, T0 + np.arange(30) * HOUR, np.full(30, 1.2))
    skill, scored = score.skill(SERIES)
    assert scored == 30 and skill == pytest.approx(1 - 0.2 / 0.3)
    model = EnergyModel()
    model.live = score
    model.alerts.fired = {TYPE_STUCK_ON: T0}
    model.alerts.flagged = [FlaggedPeriod(TYPE_BASE_LOAD, T0 - DAY, T0)]
    stored = model.as_dict()
    # The stored form of earlier releases: the live rows as a single series, periods as lists.
    assert stored["live"]["rows"][0] == [T0, 1.0, 1.5, 1.2]
    assert stored["flagged"] == [[TYPE_BASE_LOAD, T0 - DAY, T0]]
    again = EnergyModel.from_dict(stored)
    assert again.live.entries == score.entries and again.alerts.fired == model.alerts.fired
    assert again.alerts.flagged == model.alerts.flagged
    assert again.skill() == (skill, scored)
    assert EnergyModel.from_dict({"flagged": [["x"], "broken", [TYPE_STUCK_ON, 1, 2]]}).alerts.flagged == [
        FlaggedPeriod(TYPE_STUCK_ON, 1.0, 2.0)
    ]
    assert EnergyModel.from_dict({"live": "broken"}).live.entries == {}


def test_real_appliances_slice_forecasts_and_stays_quiet() -> None:
    """Ten days of the appliances house (fixture): usable forecast, no alarm on the real stream."""
    tz = timezone(timedelta(hours=1))
    store = ObservationStore(max_points=10**6)
    total = 0.0
    with (FIXTURES / "appliances_energy_slice.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ts = datetime.fromisoformat(row["date"]).replace(tzinfo=tz).timestamp()
            wh = float(row["Appliances"]) + float(row["lights"])
            total += wh / 1000.0
            store.add_state(METER, "energy", f"{total:.4f}", ts)
    spec = {**SPEC_METER, "timezone": "Etc/GMT-1"}
    span = store.time_span()
    assert span is not None
    cutoff = span[0] + 8 * DAY
    model = EnergyModel()
    model.fit(store, spec, cutoff)
    assert model.enough_data()[0]
    result = model.forecast(store, cutoff, hours=24)
    assert 0.5 < sum(result.p50) < 40.0
    assert all(a <= b <= c for a, b, c in zip(result.p10, result.p50, result.p90, strict=True))
    found = []
    for now in np.arange(cutoff + 900, span[1], 900).tolist():
        found += model.check(store, now, None)
    assert found == []


def _weeks_of_hours(weekend_kwh: float, noise: float, weeks: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hourly kWh with a daily shape, a weekend midday bump and noise; (y, hour of week, hour of day)."""
    rng = np.random.default_rng(3)
    hours = np.arange(weeks * 168)
    hod, how = hours % 24, hours % 168
    weekend = how >= 5 * 24
    y = 0.3 + 0.5 * ((hod >= 18) & (hod < 22)) + weekend_kwh * (weekend & (hod >= 11) & (hod < 14))
    return y + rng.gamma(1.0, noise, len(y)), how, hod


def test_profile_keeps_the_weekdays_apart_in_a_home_whose_weekends_differ() -> None:
    y, how, hod = _weeks_of_hours(weekend_kwh=1.5, noise=0.05)
    profile = usual_profile(y, how, hod, len(y))
    saturday_noon, monday_noon = 5 * 24 + 12, 12
    # A pure hour-of-day median would put Saturday noon at Monday's level (2 of 7 days differ).
    assert profile[saturday_noon] - profile[monday_noon] > 1.2


def test_profile_pools_the_days_of_a_home_whose_days_are_alike() -> None:
    y, how, hod = _weeks_of_hours(weekend_kwh=0.0, noise=0.6)
    profile = usual_profile(y, how, hod, len(y))
    truth = 0.3 + 0.5 * ((hod[:168] >= 18) & (hod[:168] < 22)) + 0.6 * np.log(2)  # median of the noise
    by_week_hour = np.array([np.median(y[how == h]) for h in range(168)])
    # Six values per hour of week are a noisy median; the blend leans on the hour of day.
    assert np.mean(np.abs(profile - truth)) < 0.6 * np.mean(np.abs(by_week_hour - truth))


def test_energy_facts_keep_their_json_form_and_words() -> None:
    """Facts hold the measured values; the JSON form rounds them and the words read as they always have."""
    long_run = LongRun(floor_w=1234.46, threshold_w=1100.04, usual_w=300.26, hours=3.25, hour=2)
    assert long_run.as_json() == {"floor_w": 1234.5, "threshold_w": 1100.0, "usual_w": 300.3, "hours": 3.25, "hour": 2}
    base = BaseLoad(floor_w=352.7, threshold_w=280.0, usual_floor_w=180.4, standby_w=150.06)
    empty = EmptyHomeDraw(floor_w=712.5, threshold_w=400.0, standby_w=149.6)
    above = AboveForecast(used_kwh=6.2345, expected_p90_kwh=2.0004, expected_p50_kwh=1.4996)
    assert above.as_json() == {"used_kwh": 6.234, "expected_p90_kwh": 2.0, "expected_p50_kwh": 1.5}
    words = {
        TYPE_STUCK_ON: (
            long_run,
            "Power has not dropped below 1234 W for the last 3.2 h; at this time of day the lowest draw over 3 hours "
            "is usually about 300 W. Something may have been left on.",
        ),
        TYPE_BASE_LOAD: (
            base,
            "Power has not dropped below 353 W for two days; on a usual day it falls to about 180 W. A device may "
            "be running constantly.",
        ),
        TYPE_EMPTY_HOME: (
            empty,
            "Nobody is home, yet the home has drawn at least 712 W for the last hour (standby is about 150 W).",
        ),
        TYPE_ABOVE_FORECAST: (
            above,
            "The home used 6.23 kWh in the last 3 hours; at most 2.00 kWh was expected (usually 1.50).",
        ),
    }
    for anomaly_type, (facts, text) in words.items():
        anomaly = energy_anomaly(anomaly_type, [POWER], T0, 1.5, facts)
        assert explain(anomaly) == text
        again = Anomaly.from_json(anomaly.as_json())
        assert type(again.facts) is type(facts) and again.as_json() == anomaly.as_json()


def test_feedback_lifts_the_detector_and_survives_a_restart() -> None:
    start = T0 + 22 * DAY + 1 * HOUR
    store = power_store(23, extra=(start, start + 6 * HOUR, 1500.0))
    model = EnergyModel()
    alarm = next(a for a in _anomalies(store, model) if a.type == TYPE_STUCK_ON)
    assert isinstance(alarm.facts, LongRun)
    model.add_feedback(alarm)
    hour, floor = alarm.facts.hour, alarm.facts.floor_w
    assert model.detectors_.stuck_threshold_[hour] >= round(floor, 1) * 1.1
    # The stored entry is the anomaly's type and JSON facts, its id and time; a refit applies it again.
    stored = model.as_dict()
    facts = alarm.as_json()["facts"]
    assert stored["feedback"] == [{"type": TYPE_STUCK_ON, "facts": facts, "id": alarm.id, "ts": alarm.ts}]
    again = EnergyModel.from_dict(stored)
    again.fit(store, SPEC_POWER, T0 + 22 * DAY)
    assert again.detectors_.stuck_threshold_[hour] >= round(floor, 1) * 1.1
    # Feedback stored by earlier releases reads the same.
    old = EnergyModel.from_dict({"feedback": [{"type": TYPE_BASE_LOAD, "facts": {"floor_w": 5000.0}}, "broken"]})
    old.fit(store, SPEC_POWER, T0 + 22 * DAY)
    assert old.detectors_.base_threshold_ == pytest.approx(5500.0)


def _anomalies(store: ObservationStore, model: EnergyModel) -> list[Anomaly]:
    """The typed anomalies of day 22's checks, every 15 minutes."""
    cutoff = T0 + 22 * DAY
    model.fit(store, SPEC_POWER, cutoff)
    found: list[Anomaly] = []
    for now in np.arange(cutoff + 900, cutoff + DAY + 1, 900).tolist():
        found += model.check(store, now, None)
    return found


def test_next_hour_knows_a_load_that_runs_two_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """A heater that runs exactly two hours from random starts: on after its first hour, off after its second.

    The linear correction reads the last hours' levels alike at every step of a run; the trees tell the steps apart.
    """
    rng = np.random.default_rng(7)
    ts = T0 + np.arange(0, 42 * DAY, 600.0)
    watts = routine_watts(ts, rng)
    for start in rng.choice(np.arange(0, 42 * 24 - 2), size=120, replace=False):
        watts += np.where((ts >= T0 + start * HOUR) & (ts < T0 + (start + 2) * HOUR), 2500.0, 0.0)
    store = ObservationStore(max_points=10**7)
    for t, w in zip(ts.tolist(), watts.tolist(), strict=True):
        store.add_state(POWER, "power", f"{w:.1f}", t)

    def next_hour_error() -> float:
        model = EnergyModel()
        model.fit(store, SPEC_POWER, T0 + 35 * DAY)
        series = model.series(store, T0 + 42 * DAY, None, None, since=T0)
        origins = np.arange(35 * 24, 42 * 24 - 1)
        q = model.quantiles(series, origins, np.ones(len(origins), dtype=np.int64))
        truth = series.y[origins]
        ok = np.isfinite(truth)
        return float(np.mean(np.abs(q[ok, 1] - truth[ok])))

    with_trees = next_hour_error()
    monkeypatch.setattr(energy_quantiles, "MIN_TREE_ROWS", 10**9)
    without = next_hour_error()
    assert with_trees < 0.85 * without


def test_a_detector_re_arms_after_six_hours_of_measured_quiet() -> None:
    alerts = EnergyAlerts()
    assert alerts.fire(TYPE_STUCK_ON, 0.0)
    # Still on five hours later, off for an hour, then on again: the same episode.
    assert not alerts.fire(TYPE_STUCK_ON, 5 * HOUR)
    alerts.rearm(TYPE_STUCK_ON, 6 * HOUR)
    assert not alerts.fire(TYPE_STUCK_ON, 7.5 * HOUR)
    # Quiet from 8:00; the meter unavailable at 10:00 breaks the count, quiet again from 11:00.
    alerts.rearm(TYPE_STUCK_ON, 8 * HOUR)
    alerts.unknown(TYPE_STUCK_ON)
    alerts.rearm(TYPE_STUCK_ON, 11 * HOUR)
    alerts.rearm(TYPE_STUCK_ON, 16 * HOUR)
    assert not alerts.fire(TYPE_STUCK_ON, 16.5 * HOUR)
    alerts.rearm(TYPE_STUCK_ON, 17 * HOUR)
    alerts.rearm(TYPE_STUCK_ON, 23.5 * HOUR)
    assert alerts.fire(TYPE_STUCK_ON, 24 * HOUR)


def test_yesterday_s_answer_does_not_cover_today_s_episode() -> None:
    alerts = EnergyAlerts()
    alerts.fire(TYPE_STUCK_ON, 0.0)
    alerts.flag(TYPE_STUCK_ON, -3 * HOUR, 0.0)
    alerts.rearm(TYPE_STUCK_ON, 4 * HOUR)
    alerts.rearm(TYPE_STUCK_ON, 10 * HOUR)
    alerts.fire(TYPE_STUCK_ON, 24 * HOUR)  # today's
    alerts.flag(TYPE_STUCK_ON, 21 * HOUR, 24 * HOUR)
    alerts.accept(TYPE_STUCK_ON, 0.0)  # "It was me" on yesterday's notification
    assert TYPE_STUCK_ON not in alerts.accepted
    assert [(item.start, item.end) for item in alerts.flagged] == [(21 * HOUR, 24 * HOUR)]


def test_hours_without_readings_are_not_quiet() -> None:
    alerts = EnergyAlerts(fired={TYPE_STUCK_ON: 0.0, TYPE_BASE_LOAD: 0.0})
    detectors = EnergyDetectors()
    detectors.stuck_threshold_[:] = 1000.0
    detectors.base_threshold_ = 500.0
    starts = np.arange(0.0, 60 * HOUR, 900.0)
    unknown = np.full(len(starts), np.nan)
    later = 60 * HOUR
    args = {"timezone": "UTC", "standby_w": 100.0, "alerts": alerts, "entity_ids": [POWER]}
    assert detectors.check(starts, unknown, later, None, **args) == []
    assert set(alerts.fired) == {TYPE_STUCK_ON, TYPE_BASE_LOAD}
    quiet = np.full(len(starts), 200.0)
    detectors.check(starts, quiet, later, None, **args)
    assert set(alerts.fired) == {TYPE_STUCK_ON, TYPE_BASE_LOAD}  # quiet from now on
    detectors.check(starts, quiet, later + 6 * HOUR, None, **args)
    assert alerts.fired == {}


def test_above_forecast_marked_normal_lifts_how_far_above_is_told() -> None:
    actual = np.array([3.0, 3.0, 3.0])
    quantiles = np.array([[0.5, 1.0, 1.5]] * 3)
    alarm = check_above_forecast(actual, quantiles, T0, EnergyAlerts(), [POWER])
    assert [a.type for a in alarm] == [TYPE_ABOVE_FORECAST]
    model = EnergyModel()
    model.add_feedback(alarm[0])
    fraction = model.detectors_.above_fraction_
    assert fraction == pytest.approx(4.5 / 3.0 * 1.1)
    assert check_above_forecast(actual, quantiles, T0, EnergyAlerts(), [POWER], fraction) == []
    assert check_above_forecast(actual * 1.5, quantiles, T0, EnergyAlerts(), [POWER], fraction) != []


def test_an_unavailable_house_meter_raises_no_house_alert() -> None:
    start = T0 + 22 * DAY + 1 * HOUR
    store = power_store(23, extra=(start, start + 6 * HOUR, 1500.0))
    assert any(a.type == TYPE_STUCK_ON for a in _anomalies(store, EnergyModel()))
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 22 * DAY)
    for now in np.arange(T0 + 22 * DAY + 900, T0 + 23 * DAY + 1, 900).tolist():
        assert model.check(store, now, None, unavailable={POWER}) == []


def test_feedback_given_before_the_first_fit_reaches_the_energy_model() -> None:
    start = T0 + 22 * DAY + 1 * HOUR
    store = power_store(23, extra=(start, start + 6 * HOUR, 1500.0))
    alarm = next(a for a in _anomalies(store, EnergyModel()) if a.type == TYPE_STUCK_ON)
    assert isinstance(alarm.facts, LongRun)
    # After a restart, "It was me" came before any model was fitted: the home keeps it.
    models = HomeModels(SPEC_POWER, feedback=[alarm])
    models.fit(store, T0 + 23 * DAY)
    assert models.energy is not None
    assert [item.id for item in models.energy.feedback_] == [alarm.id]
    assert models.energy.detectors_.stuck_threshold_[alarm.facts.hour] >= alarm.facts.floor_w * 1.1 - 0.1


def test_a_long_run_marked_normal_is_not_told_again_the_next_night() -> None:
    # An electric car charges 01:00-07:00 on days 21 and 22.
    nights = [(T0 + day * DAY + 1 * HOUR, T0 + day * DAY + 7 * HOUR, 1500.0) for day in (21, 22)]
    store = power_store(24, extras=nights)
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 21 * DAY)
    first = [
        anomaly
        for now in np.arange(T0 + 21 * DAY + 900, T0 + 21 * DAY + 12 * HOUR, 900).tolist()
        for anomaly in model.check(store, now, None)
    ]
    assert TYPE_STUCK_ON in [a.type for a in first]
    for anomaly in first:  # "It was me", to each
        model.add_feedback(anomaly)
    found: list[Anomaly] = []
    for refit in np.arange(T0 + 21 * DAY + 12 * HOUR, T0 + 23 * DAY, 6 * HOUR).tolist():
        model.fit(store, SPEC_POWER, refit)
        for now in np.arange(refit + 900, refit + 6 * HOUR + 1, 900).tolist():
            found += model.check(store, now, None)
    assert [a.type for a in found] == []


def test_hours_excluded_afterwards_leave_the_accuracy_score() -> None:
    store = power_store(28)
    model = EnergyModel()
    model.fit(store, SPEC_POWER, T0 + 21 * DAY)
    # Forecast hour after hour through days 21 and 22: each hour is recorded, then scored.
    for hour in range(48):
        model.forecast(store, T0 + 21 * DAY + hour * HOUR + 60)
    assert model.skill()[1] > 30
    # The household then excludes those two days (guests); the refit carries the live score over.
    store.excluded = (ExcludedPeriod(T0 + 21 * DAY, T0 + 23 * DAY),)
    now = T0 + 23 * DAY + 60
    again = EnergyModel.from_dict(model.as_dict())
    again.fit(store, SPEC_POWER, now)
    again.forecast(store, now)
    assert again.skill()[1] == 0
