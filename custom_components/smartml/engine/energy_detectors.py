"""Energy anomaly detectors: thresholds learned from the home's own weeks, and the checks.

The detectors look at the power floor (the lowest draw over a window: what stays on):
- long run (stuck on): the 3-hour floor against its usual level at that hour of day, with
  the allowed excess calibrated on the home's own last 4 weeks;
- base load: the 48-hour floor against the usual daily floor;
- empty-home draw: the 1-hour floor while nobody is home against the night-time floor;
- above forecast: the last hours against the forecast's P90 (see `check_above_forecast`).
Periods already reported are left out of the calibration (`EnergyAlerts.flagged`), so one
fault does not hide the next. numpy; executor only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
from typing import Any, Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .constants import (
    DAY_SECONDS,
    FEEDBACK_MARGIN,
    HOUR_SECONDS as HOUR,
    TYPE_ABOVE_FORECAST,
    TYPE_BASE_LOAD,
    TYPE_EMPTY_HOME,
    TYPE_STUCK_ON,
)
from .energy_alerts import EnergyAlerts, energy_anomaly
from .energy_series import GRID_PER_HOUR, GRID_SECONDS, FloatArray, IntArray, hour_of_week, power_grid
from .facts import AboveForecast, BaseLoad, EmptyHomeDraw, LongRun
from .observations import ObservationStore
from .results import Anomaly

# Stuck-on: the 3-h power floor against its usual level at that hour of day (the upper
# quartile of the same floor at that hour and its neighbours); the excess allowed is an
# outer fence (Q3 + 2 IQR) of the daily largest excesses in the calibration days, so a
# few unusual days (or faults) do not move it, and at least STUCK_MIN_EXCESS_W: a smaller
# rise for a few hours is ordinary use, a sustained one is the base-load detector's.
STUCK_WINDOW_SLOTS: Final = 12  # 3 h
STUCK_REFERENCE_QUANTILE: Final = 0.75
STUCK_FENCE: Final = 2.0
STUCK_MIN_EXCESS_W: Final = 900.0
# Base load: the floor over two whole days against the usual daily (24-h) floor; one day
# with a high floor (a heater left on overnight and all day) happens in many homes, two
# days in a row rarely.
BASE_WINDOW_SLOTS: Final = 192  # 48 h
DAY_FLOOR_SLOTS: Final = 96  # 24 h
BASE_LEVEL_DAYS: Final = 14  # the usual daily floor follows the seasons
BASE_MIN_RISE_W: Final = 100.0
BASE_MIN_RISE_FRACTION: Final = 0.4
EMPTY_WINDOW_SLOTS: Final = 4  # 1 h
# Above forecast: all of the last ABOVE_FORECAST_HOURS hours above P90 and, together, above it by at least this
# share of what they usually use (ordinary busy evenings stay below it).
ABOVE_EXCESS_FRACTION: Final = 1.0


def rolling_min(x: FloatArray, window: int) -> FloatArray:
    """Minimum of x[i-window+1..i] ignoring NaN; NaN unless 3/4 of the window is known."""
    n = len(x)
    if n < window:
        return np.full(n, np.nan)
    view = sliding_window_view(np.where(np.isfinite(x), x, np.inf), window)
    known = sliding_window_view(np.isfinite(x).astype(np.int64), window).sum(axis=1)
    mins = view.min(axis=1)
    out = np.full(n, np.nan)
    out[window - 1 :] = np.where(known * 4 >= window * 3, mins, np.nan)
    return out


def _local_days(hod: IntArray) -> IntArray:
    """A running local-day number for consecutive grid slots: a new day where the hour wraps."""
    if not len(hod):
        return np.zeros(0, dtype=np.int64)
    return np.cumsum(np.diff(hod, prepend=hod[:1]) < 0).astype(np.int64)


def _run_hours(watts: FloatArray, level: float) -> float:
    """How long (h) power has stayed above `level`, back from the newest slot.

    Slots not measured yet (a meter that reports hourly) neither end nor extend the run.
    """
    known = np.flatnonzero(np.isfinite(watts))
    if not len(known):
        return 0.0
    below = np.flatnonzero(np.isfinite(watts) & (watts <= level))
    first = int(below[-1]) + 1 if len(below) else 0
    return (int(known[-1]) + 1 - first) * GRID_SECONDS / HOUR


def check_window(store: ObservationStore, spec: Mapping[str, Any], now: float) -> tuple[FloatArray, FloatArray]:
    """The power grid the checks at `now` read: long enough for the 48-h floor, ending at the last known slot.

    Slots a meter has not reported yet (one that reads hourly leaves up to four) would
    shorten the windows and so raise their floors: the windows end at the last known slot.
    """
    starts, watts = power_grid(store, spec, now - (BASE_WINDOW_SLOTS + 8) * GRID_SECONDS, now)
    known = np.flatnonzero(np.isfinite(watts))
    if len(known) and len(watts) - int(known[-1]) - 1 <= GRID_PER_HOUR:
        starts, watts = starts[: int(known[-1]) + 1], watts[: int(known[-1]) + 1]
    return starts, watts


class EnergyDetectors:
    """The power-floor detectors: thresholds (W) fitted on the last weeks, and their checks."""

    def __init__(self) -> None:
        # The 3-h power floor per local hour of day: its usual level and the limit.
        self.stuck_reference_ = np.full(24, np.nan)
        self.stuck_excess_ = math.nan
        self.stuck_threshold_ = np.full(24, np.nan)
        # The 48-h floor against the usual daily floor.
        self.base_level_ = math.nan
        self.base_threshold_ = math.nan
        self.empty_threshold_ = math.nan
        # Above forecast: the last hours' excess over their P90, as a share of their P50.
        self.above_fraction_ = ABOVE_EXCESS_FRACTION
        # The calibration days' 3-h floors (slot starts, floor, local hour): what feedback reads.
        self.stuck_floors_: tuple[FloatArray, FloatArray, IntArray] = (np.zeros(0), np.zeros(0), np.zeros(0, np.int64))

    def fit(self, starts: FloatArray, watts: FloatArray, hod: IntArray, standby_w: float, alerts: EnergyAlerts) -> None:
        """Every threshold from the power grid of the calibration days (some values known)."""
        self.above_fraction_ = ABOVE_EXCESS_FRACTION
        self._fit_stuck(starts, watts, hod, alerts)
        self._fit_base(starts, watts, alerts)
        night = np.isfinite(watts) & (hod < 5)
        floor1 = rolling_min(watts, EMPTY_WINDOW_SLOTS)
        self.empty_threshold_ = (
            float(np.nanquantile(floor1[night], 0.95)) + max(100.0, 0.5 * standby_w)
            if np.isfinite(floor1[night]).sum() >= 8
            else math.nan
        )

    def _fit_stuck(self, starts: FloatArray, watts: FloatArray, hod: IntArray, alerts: EnergyAlerts) -> None:
        """Usual 3-h floor per hour of day and the excess over it that counts as stuck on.

        Days with a reported stuck-on period are left out, so an appliance left on last
        week does not raise the bar for the next one.
        """
        floor = rolling_min(watts, STUCK_WINDOW_SLOTS)
        self.stuck_floors_ = (starts, floor.copy(), hod)
        days = _local_days(hod)
        flagged = alerts.flagged_mask(starts, TYPE_STUCK_ON)
        if flagged.any():
            floor[np.isin(days, np.unique(days[flagged]))] = np.nan
        reference = np.full(24, np.nan)
        for h in range(24):
            near = np.isin(hod, [(h - 1) % 24, h, (h + 1) % 24]) & np.isfinite(floor)
            if near.sum() >= 8:
                reference[h] = float(np.quantile(floor[near], STUCK_REFERENCE_QUANTILE))
        excess = floor - reference[hod]
        ok = np.isfinite(excess)
        self.stuck_reference_ = reference
        self.stuck_excess_ = math.nan
        self.stuck_threshold_ = np.full(24, np.nan)
        if not ok.any():
            return
        # The largest excess of each day: how far above usual this home's floor goes.
        day_ids, inverse = np.unique(days[ok], return_inverse=True)
        daily = np.full(len(day_ids), -np.inf)
        np.maximum.at(daily, inverse, excess[ok])
        if len(daily) < 7:
            return
        q1, q3 = np.quantile(daily, [0.25, 0.75])
        self.stuck_excess_ = max(STUCK_MIN_EXCESS_W, float(q3 + STUCK_FENCE * (q3 - q1)))
        self.stuck_threshold_ = reference + self.stuck_excess_

    def _fit_base(self, starts: FloatArray, watts: FloatArray, alerts: EnergyAlerts) -> None:
        """The usual daily floor (median of the last 2 weeks' 24-h floors), the 48-h floor's limit."""
        floor = rolling_min(watts, DAY_FLOOR_SLOTS)
        # A reported base-load period raised the floors of the day that followed it too.
        floor[alerts.flagged_mask(starts, TYPE_BASE_LOAD, after=DAY_SECONDS)] = np.nan
        floor[starts < starts[-1] - BASE_LEVEL_DAYS * DAY_SECONDS] = np.nan
        known = floor[np.isfinite(floor)]
        if len(known) < DAY_FLOOR_SLOTS:
            self.base_level_ = self.base_threshold_ = math.nan
            return
        self.base_level_ = float(np.median(known))
        rise = max(BASE_MIN_RISE_W, BASE_MIN_RISE_FRACTION * self.base_level_)
        self.base_threshold_ = self.base_level_ + rise

    def lift_stuck(self, ts: float | None, floor_w: float, limit_w: float, hour: int) -> None:
        """A long run marked normal: lift each hour it covered above its floor there.

        The run is read from the calibration days (once a refit holds it, all of it: the
        same run another night crosses the limit an hour later otherwise); the alert's own
        hour is lifted at once.
        """
        lifts = {hour % 24: floor_w}
        starts, floor, hod = self.stuck_floors_
        at = int(np.searchsorted(starts, ts - GRID_SECONDS, side="right")) - 1 if ts is not None else -1
        above = np.isfinite(floor) & (floor > limit_w)
        if 0 <= at < len(floor) and above[at]:
            first, last = at, at
            while first > 0 and above[first - 1]:
                first -= 1
            while last + 1 < len(floor) and above[last + 1]:
                last += 1
            for slot in range(first, last + 1):
                h = int(hod[slot])
                lifts[h] = max(lifts.get(h, 0.0), float(floor[slot]))
        for h, seen in lifts.items():
            self.stuck_threshold_[h] = max(float(self.stuck_threshold_[h]), seen * FEEDBACK_MARGIN)

    def check(
        self,
        starts: FloatArray,
        watts: FloatArray,
        now: float,
        home_occupied: bool | None,
        *,
        timezone: str,
        standby_w: float,
        alerts: EnergyAlerts,
        entity_ids: Sequence[str],
    ) -> list[Anomaly]:
        """New power-floor anomalies at `now` from the check window (see `check_window`)."""
        found: list[Anomaly] = []
        _, hod = hour_of_week(starts[-1:], timezone)
        hour = int(hod[0])
        floor3 = rolling_min(watts[-STUCK_WINDOW_SLOTS:], STUCK_WINDOW_SLOTS)[-1]
        floor48 = rolling_min(watts[-BASE_WINDOW_SLOTS:], BASE_WINDOW_SLOTS)[-1]
        floor1 = rolling_min(watts[-EMPTY_WINDOW_SLOTS:], EMPTY_WINDOW_SLOTS)[-1]
        limit = self.stuck_threshold_[hour]
        if math.isfinite(floor3) and math.isfinite(limit) and floor3 > limit:
            alerts.flag(TYPE_STUCK_ON, now - STUCK_WINDOW_SLOTS * GRID_SECONDS, now)
            if alerts.fire(TYPE_STUCK_ON, now):
                facts = LongRun(
                    floor_w=float(floor3),
                    threshold_w=float(limit),
                    usual_w=float(self.stuck_reference_[hour]),
                    hours=_run_hours(watts, limit),
                    hour=hour,
                )
                found.append(energy_anomaly(TYPE_STUCK_ON, entity_ids, now, floor3 / limit, facts))
        elif math.isfinite(floor3):
            alerts.rearm(TYPE_STUCK_ON, now)
        else:  # hours without readings are not quiet ones
            alerts.unknown(TYPE_STUCK_ON)
        if math.isfinite(floor48) and math.isfinite(self.base_threshold_) and floor48 > self.base_threshold_:
            alerts.flag(TYPE_BASE_LOAD, now - BASE_WINDOW_SLOTS * GRID_SECONDS, now)
            if alerts.fire(TYPE_BASE_LOAD, now):
                base = BaseLoad(
                    floor_w=float(floor48),
                    threshold_w=float(self.base_threshold_),
                    usual_floor_w=self.base_level_,
                    standby_w=standby_w,
                )
                found.append(energy_anomaly(TYPE_BASE_LOAD, entity_ids, now, floor48 / self.base_threshold_, base))
        elif math.isfinite(floor48):
            alerts.rearm(TYPE_BASE_LOAD, now)
        else:
            alerts.unknown(TYPE_BASE_LOAD)
        if (
            home_occupied is False
            and math.isfinite(floor1)
            and math.isfinite(self.empty_threshold_)
            and floor1 > self.empty_threshold_
        ):
            if alerts.fire(TYPE_EMPTY_HOME, now):
                empty = EmptyHomeDraw(
                    floor_w=float(floor1), threshold_w=float(self.empty_threshold_), standby_w=standby_w
                )
                found.append(energy_anomaly(TYPE_EMPTY_HOME, entity_ids, now, floor1 / self.empty_threshold_, empty))
        elif home_occupied is not None and math.isfinite(floor1):
            alerts.rearm(TYPE_EMPTY_HOME, now)
        elif not math.isfinite(floor1):
            alerts.unknown(TYPE_EMPTY_HOME)
        return found


def check_above_forecast(
    actual: FloatArray,
    quantiles: FloatArray,
    now: float,
    alerts: EnergyAlerts,
    entity_ids: Sequence[str],
    fraction: float = ABOVE_EXCESS_FRACTION,
) -> list[Anomaly]:
    """The last complete hours (`actual`, all known) all above their 1-hour-ahead P90, by far in sum.

    quantiles: (ABOVE_FORECAST_HOURS, 3) forecast of those hours, each from its own start.
    fraction: how far above the P90 together, as a share of the P50 (feedback lifts it).
    """
    q = quantiles
    spread = np.maximum(q[:, 2] - q[:, 1], 1e-3)
    excess = (actual - q[:, 2]) / spread
    if np.all(excess > 1.0) and float(np.sum(actual - q[:, 2])) > fraction * float(np.sum(q[:, 1])):
        if not alerts.fire(TYPE_ABOVE_FORECAST, now):
            return []
        facts = AboveForecast(
            used_kwh=float(actual.sum()),
            expected_p90_kwh=float(q[:, 2].sum()),
            expected_p50_kwh=float(q[:, 1].sum()),
            hours=len(actual),
        )
        return [energy_anomaly(TYPE_ABOVE_FORECAST, entity_ids, now, float(np.mean(excess)), facts)]
    alerts.rearm(TYPE_ABOVE_FORECAST, now)
    return []
