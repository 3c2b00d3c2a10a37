"""Climate: the household's setpoint routine, the zone's thermal response and preheat timing.

One `ClimateModel` serves every climate entity of a home; it keeps one fitted zone per
entity. From the ObservationStore channels of a thermostat ("<entity>|temperature" the
setpoint, "|current_temperature", "|hvac_action", "|hvac_mode"), the home's presence
channels and, if configured, an outdoor temperature channel, it learns:

- the setpoint routine: for each 15-minute slot of the week and each occupancy state
  (home, away) an exponentially forgotten histogram of the setpoints in force, pooled over
  neighbouring slots and similar days. Predictions are the weighted median of that
  histogram (mixed by the probability of being home), which is what minimises the
  absolute error. Setpoint changes are classified as schedule steps (the same new value at
  the same time of day on several days), occupancy steps (within minutes of an arrival or
  departure) or manual changes (one-offs); manual changes count less, being unrepeatable.
- the thermal response: a first-order RC model dT/dt = (T_out - T)/tau + heating_rate*h -
  cooling_rate*c (h, c the share of time heating/cooling), fitted by least squares in its
  trapezoidal form on a 15-minute grid, once re-fitted without outliers (open windows,
  sensor glitches), with standard errors and R².
- preheat (precool): the latest start so that the zone, heating at full rate from where it
  would otherwise be, reaches the setpoint predicted for the next predicted occupied step up.

numpy only; runs in the executor. Nothing here must be persisted: the model is re-fitted
from the observation store; `as_dict` is a plain summary for diagnostics.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .guard import guarded_setpoint
from .observations import (
    ATTR_CURRENT_TEMPERATURE,
    ATTR_HVAC_ACTION,
    ATTR_HVAC_MODE,
    ATTR_SETPOINT,
    CHANNEL_SEP,
    HVAC_MODE_OFF,
    ROLE_OUTDOOR,
    ROLE_PRESENCE,
    ChannelBuffer,
    ObservationStore,
)
from .pacing import pace
from .results import ClimatePrediction
from .slots import last_reading, local_times, local_weekday_seconds, state_at

__all__ = [
    "ClimateModel",
    "ClimatePrediction",
    "SetpointRoutine",
    "ThermalFit",
    "classify_changes",
    "fit_thermal",
    "guarded_setpoint",
    "hourly_occupancy",
    "preheat_start_time",
]

SLOT_MINUTES: Final = 15
SLOT_SECONDS: Final = SLOT_MINUTES * 60.0
SLOTS_PER_DAY: Final = 24 * 60 // SLOT_MINUTES
DEFAULT_HALF_LIFE_DAYS: Final = 21.0
# Learn from at most this much history (older weights are negligible anyway).
MAX_HISTORY_DAYS: Final = 120.0
MIN_SETPOINT_DAYS: Final = 2.0

# Setpoint histograms: 0.1 °C bins over the range the thermostat was seen at.
SETPOINT_BIN: Final = 0.1
# Pooling: neighbouring slots and days count less than the slot itself.
NEIGHBOUR_SLOT_WEIGHT: Final = 0.25
# What other days lend to a slot of a day, in sample weights (see _pooled).
SAME_TYPE_PRIOR: Final = 1.0
OTHER_TYPE_PRIOR: Final = 0.2
# A state-specific cell borrows this much (in sample weights) from the state-blind cell,
# so that a state seen rarely at that time falls back on the routine.
STATE_PRIOR_WEIGHT: Final = 0.5
GLOBAL_PRIOR_WEIGHT: Final = 1e-3

# Change classification.
KIND_SCHEDULE: Final = "schedule"
KIND_OCCUPANCY: Final = "occupancy"
KIND_MANUAL: Final = "manual"
SCHEDULE_WINDOW_MINUTES: Final = 30.0
SCHEDULE_MIN_DAYS: Final = 3
SCHEDULE_TOLERANCE: Final = 0.5
OCCUPANCY_WINDOW_MINUTES: Final = 20.0
# Manual changes are one-offs: the routine gives their hours this weight.
MANUAL_WEIGHT: Final = 0.25

# Thermal fit.
THERMAL_STEP_MINUTES: Final = 15
# A temperature reading older than this is not used for a grid point.
MAX_READING_AGE_SECONDS: Final = 3_600.0
MIN_THERMAL_STEPS: Final = 48
OUTLIER_MADS: Final = 4.0
# Preheat starts this much earlier than the model says, for what the model misses.
PREHEAT_MARGIN: Final = 0.1
# A setpoint rise smaller than this needs no preheat.
PREHEAT_MIN_RISE: Final = 0.25

MODE_COMFORT: Final = "comfort"
MODE_ECO: Final = "eco"
MODE_SLEEP: Final = "sleep"
SLEEP_QUANTILE: Final = 0.1
SLEEP_MIN_SETBACK: Final = 0.75

HVAC_MODE_COOL: Final = 2.0


def slot_middles(start: float, end: float) -> NDArray[np.float64]:
    """Middles of the 15-minute slots from the one holding `start` up to `end`."""
    first = start - start % SLOT_SECONDS
    return np.asarray(np.arange(first, end, SLOT_SECONDS) + SLOT_SECONDS / 2.0, dtype=np.float64)


def _array(buf: ChannelBuffer | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if buf is None or not len(buf.times):
        return np.empty(0), np.empty(0)
    count = min(len(buf.times), len(buf.values))
    return (
        np.frombuffer(buf.times, dtype=np.float64)[:count].copy(),
        np.frombuffer(buf.values, dtype=np.float64)[:count].copy(),
    )


def _local_day_slot(times: NDArray[np.float64], tz_name: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Local weekday (Monday 0) and 15-minute slot of day of each time."""
    if not len(times):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    weekday, seconds = local_weekday_seconds(times, tz_name)
    slot = np.floor(seconds / SLOT_SECONDS).astype(np.int64)
    return weekday, np.clip(slot, 0, SLOTS_PER_DAY - 1)


def classify_changes(
    times: NDArray[np.float64],
    new_values: NDArray[np.float64],
    tz_name: str,
    occupancy_transitions: NDArray[np.float64] | None = None,
    *,
    old_values: NDArray[np.float64] | None = None,
    window_minutes: float = SCHEDULE_WINDOW_MINUTES,
    min_days: int = SCHEDULE_MIN_DAYS,
    tolerance: float = SCHEDULE_TOLERANCE,
    occupancy_window_minutes: float = OCCUPANCY_WINDOW_MINUTES,
) -> NDArray[np.str_]:
    """Kind of each setpoint change: occupancy, schedule or manual.

    An occupancy step happens within `occupancy_window_minutes` of an arrival or departure
    (its cause is in sight, even when it recurs). A schedule step recurs: the same step
    (to about the same value, from about the same value when `old_values` are given, within
    `tolerance`) at about the same local time of day (within `window_minutes`) on at least
    `min_days` distinct days, counting its own. Anything else is a manual, one-off change.
    """
    pace()
    n = len(times)
    kinds = np.full(n, KIND_MANUAL, dtype="<U9")
    if not n:
        return kinds
    local = local_times(times, tz_name)
    minute = (local % DAY_SECONDS) / 60.0
    day = np.floor(local / DAY_SECONDS).astype(np.int64)
    gap = np.abs(minute[:, None] - minute[None, :])
    gap = np.minimum(gap, 1440.0 - gap)
    similar = (gap <= window_minutes) & (np.abs(new_values[:, None] - new_values[None, :]) <= tolerance)
    if old_values is not None:
        similar &= np.abs(old_values[:, None] - old_values[None, :]) <= tolerance
    # Distinct days among the similar changes (a step repeated within a day counts once).
    order = np.argsort(day, kind="stable")
    group_starts = np.flatnonzero(np.r_[True, np.diff(day[order]) != 0])
    per_day = np.logical_or.reduceat(similar[:, order], group_starts, axis=1)
    kinds[per_day.sum(axis=1) >= min_days] = KIND_SCHEDULE
    if occupancy_transitions is not None and len(occupancy_transitions):
        pos = np.searchsorted(occupancy_transitions, times)
        before = occupancy_transitions[np.clip(pos - 1, 0, None)]
        after = occupancy_transitions[np.clip(pos, None, len(occupancy_transitions) - 1)]
        nearest = np.minimum(np.abs(times - before), np.abs(after - times))
        kinds[nearest <= occupancy_window_minutes * 60.0] = KIND_OCCUPANCY
    return kinds


@dataclass(slots=True)
class ThermalFit:
    """First-order RC response of a zone: tau (h), heating/cooling rates (°C/h), their standard errors."""

    tau_hours: float
    heating_rate: float | None
    cooling_rate: float | None
    tau_se: float
    heating_rate_se: float | None
    cooling_rate_se: float | None
    r2: float
    samples: int
    outdoor_measured: bool
    # Without an outdoor channel, the fitted constant the zone drifts towards.
    drift_temperature: float | None = None

    @property
    def confidence(self) -> float:
        """0..1: R² discounted by the larger relative standard error of tau and heating rate."""
        rel = [self.tau_se / self.tau_hours]
        if self.heating_rate and self.heating_rate_se is not None:
            rel.append(self.heating_rate_se / abs(self.heating_rate))
        return float(np.clip(self.r2, 0.0, 1.0) * np.clip(1.0 - max(rel), 0.0, 1.0))

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, rounded."""

        def r(value: float | None, digits: int = 4) -> float | None:
            return None if value is None or not math.isfinite(value) else round(value, digits)

        return {
            "tau_hours": r(self.tau_hours),
            "heating_rate": r(self.heating_rate),
            "cooling_rate": r(self.cooling_rate),
            "tau_se": r(self.tau_se),
            "heating_rate_se": r(self.heating_rate_se),
            "cooling_rate_se": r(self.cooling_rate_se),
            "r2": r(self.r2),
            "samples": self.samples,
            "outdoor_measured": self.outdoor_measured,
            "drift_temperature": r(self.drift_temperature),
            "confidence": r(self.confidence),
        }


def _duty(
    times: NDArray[np.float64], values: NDArray[np.float64], grid: NDArray[np.float64], level: float
) -> NDArray[np.float64]:
    """Share of each grid interval [grid[k], grid[k+1]) a state channel spent at `level`."""
    pace()
    if not len(times):
        return np.zeros(len(grid) - 1)
    # Integral of the indicator up to each grid time, from the step function's breakpoints.
    on = (values == level).astype(np.float64)
    seg_end = np.append(times[1:], np.inf)
    cum_at_breaks = np.concatenate([[0.0], np.cumsum(on[:-1] * np.diff(times))])

    def integral(t: NDArray[np.float64]) -> NDArray[np.float64]:
        idx = np.searchsorted(times, t, side="right") - 1
        valid = idx >= 0
        i = np.clip(idx, 0, None)
        partial = cum_at_breaks[i] + on[i] * (np.minimum(t, seg_end[i]) - times[i])
        return np.where(valid, partial, 0.0)

    total = integral(grid)
    return np.asarray(np.diff(total) / np.diff(grid), dtype=np.float64)


def fit_thermal(
    times: NDArray[np.float64],
    indoor: NDArray[np.float64],
    action_times: NDArray[np.float64],
    actions: NDArray[np.float64],
    outdoor_times: NDArray[np.float64] | None = None,
    outdoor: NDArray[np.float64] | None = None,
    *,
    start: float | None = None,
    end: float | None = None,
    step_minutes: int = THERMAL_STEP_MINUTES,
) -> ThermalFit | None:
    """Least-squares RC fit of a zone from indoor readings, hvac_action and outdoor readings.

    Trapezoidal form over each grid step of length d (hours):
        T[k+1] - T[k] = d * ((To - (T[k] + T[k+1]) / 2) / tau + heating_rate*h[k] - cooling_rate*c[k])
    with To the mean of the outdoor readings at both ends, h/c the share of the step spent
    heating/cooling. Measurement noise in T enters the regressor and the target uncorrelated
    (the halves cancel), so the estimate is not attenuated. Without outdoor readings the
    outdoor term is a fitted constant. Returns None when there is too little to fit.
    """
    pace()
    if len(times) < 2:
        return None
    step = step_minutes * 60.0
    first = times[0] if start is None else max(start, times[0])
    last = times[-1] if end is None else min(end, times[-1])
    grid = np.arange(first - first % step + step, last, step)
    if len(grid) < MIN_THERMAL_STEPS + 1:
        return None
    t_in = last_reading(times, indoor, grid, MAX_READING_AGE_SECONDS)
    heat = _duty(action_times, actions, grid, 1.0)
    cool = _duty(action_times, actions, grid, -1.0)
    d_hours = step / 3600.0
    y = np.diff(t_in)
    mid = (t_in[1:] + t_in[:-1]) / 2.0
    has_outdoor = outdoor_times is not None and outdoor is not None and len(outdoor_times) > 1
    if outdoor_times is not None and outdoor is not None and has_outdoor:
        t_out = np.interp(grid, outdoor_times, outdoor, left=np.nan, right=np.nan)
        t_out_mid = (t_out[1:] + t_out[:-1]) / 2.0
        columns = [d_hours * (t_out_mid - mid)]
    else:
        t_out_mid = np.zeros(len(y))
        columns = [d_hours * np.ones(len(y)), -d_hours * mid]
    use_heat, use_cool = bool(np.sum(heat) * d_hours >= 1.0), bool(np.sum(cool) * d_hours >= 1.0)
    if use_heat:
        columns.append(d_hours * heat)
    if use_cool:
        columns.append(-d_hours * cool)
    x = np.column_stack(columns)
    keep = np.isfinite(y) & np.all(np.isfinite(x), axis=1) & np.isfinite(t_out_mid)
    if int(keep.sum()) < MIN_THERMAL_STEPS:
        return None
    beta, cov, r2, n = _robust_ols(x[keep], y[keep])
    if beta is None or cov is None:
        return None
    col = 0
    if has_outdoor:
        inv_tau, inv_tau_var = beta[0], cov[0, 0]
        drift = None
        col = 1
    else:
        inv_tau, inv_tau_var = beta[1], cov[1, 1]
        drift = float(beta[0] / beta[1]) if beta[1] > 0 else None
        col = 2
    if not inv_tau > 0:
        return None
    tau = 1.0 / inv_tau
    tau_se = math.sqrt(max(inv_tau_var, 0.0)) / inv_tau**2
    heating = heating_se = cooling = cooling_se = None
    if use_heat:
        heating, heating_se = float(beta[col]), math.sqrt(max(cov[col, col], 0.0))
        col += 1
        if heating <= 0:
            heating = heating_se = None
    if use_cool:
        cooling, cooling_se = float(beta[col]), math.sqrt(max(cov[col, col], 0.0))
        if cooling <= 0:
            cooling = cooling_se = None
    return ThermalFit(float(tau), heating, cooling, float(tau_se), heating_se, cooling_se, r2, n, has_outdoor, drift)


def _robust_ols(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64] | None, NDArray[np.float64] | None, float, int]:
    """OLS, then once more without residuals beyond OUTLIER_MADS robust deviations."""
    pace()
    keep = np.ones(len(y), dtype=bool)
    beta: NDArray[np.float64] | None = None
    for _ in range(2):
        xs, ys = x[keep], y[keep]
        if len(ys) <= xs.shape[1] + 2:
            return None, None, math.nan, 0
        beta, *_ = np.linalg.lstsq(xs, ys, rcond=None)
        resid = y - x @ beta
        mad = float(np.median(np.abs(resid[keep] - np.median(resid[keep])))) * 1.4826
        if mad <= 0:
            break
        keep = np.abs(resid) <= OUTLIER_MADS * mad
    assert beta is not None
    xs, ys = x[keep], y[keep]
    beta, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    resid = ys - xs @ beta
    n, p = xs.shape
    sigma2 = float(resid @ resid) / max(n - p, 1)
    try:
        cov = sigma2 * np.linalg.inv(xs.T @ xs)
    except np.linalg.LinAlgError:
        return None, None, math.nan, 0
    total = float(np.sum((ys - ys.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else math.nan
    return beta, cov, r2, int(n)


def preheat_start_time(
    now: float,
    target_time: float,
    target: float,
    indoor: float,
    outdoor: float,
    tau_hours: float,
    rate: float,
    hold: float | None = None,
    margin: float = PREHEAT_MARGIN,
) -> float | None:
    """Latest time to start heating (rate > 0) or cooling (rate < 0) at full power.

    Until the start the zone drifts towards `outdoor` from `indoor`, but a thermostat
    holding `hold` keeps it from drifting past that. From the start it moves towards
    outdoor + rate*tau. Returns None when no preheat is needed (the zone will be at the
    target anyway), `now` when it is already late or the target is out of reach.
    The duration is stretched by `margin` for what the model misses.
    """
    if target_time <= now:
        return None
    tau = tau_hours * 3600.0
    sign = 1.0 if rate > 0 else -1.0
    equilibrium = outdoor + rate * tau_hours

    def start_temp(s: float) -> float:
        drift = outdoor + (indoor - outdoor) * math.exp(-(s - now) / tau)
        if hold is not None:
            floor = min(indoor, hold) if sign > 0 else max(indoor, hold)
            drift = max(drift, floor) if sign > 0 else min(drift, floor)
        return drift

    if sign * (start_temp(target_time) - target) >= 0:
        return None
    if sign * (equilibrium - target) <= 0:
        return now  # out of reach: the best is to start at once

    def duration(s: float) -> float:
        begin = start_temp(s)
        if sign * (begin - target) >= 0:
            return 0.0
        return tau * math.log((equilibrium - begin) / (equilibrium - target)) * (1.0 + margin)

    # s + duration(s) grows with s (the later, the colder the start): bisection.
    if now + duration(now) >= target_time:
        return now
    low, high = now, target_time
    for _ in range(40):
        mid = (low + high) / 2.0
        if mid + duration(mid) < target_time:
            low = mid
        else:
            high = mid
    return low


def hourly_occupancy(starts: Sequence[float], probabilities: Sequence[float]) -> Callable[[float], float]:
    """A callable giving the probability of the hour holding a time, from an hourly array."""
    grid = np.asarray(starts, dtype=np.float64)
    probs = np.asarray(probabilities, dtype=np.float64)

    def lookup(ts: float) -> float:
        i = int(np.searchsorted(grid, ts, side="right")) - 1
        return float(probs[min(max(i, 0), len(probs) - 1)]) if len(probs) else math.nan

    return lookup


def _value_at(buf: ChannelBuffer | None, now: float) -> float | None:
    """The channel's latest value at or before `now` (replays hold later points too)."""
    if buf is None:
        return None
    i = bisect_right(buf.times, now, 0, min(len(buf.times), len(buf.values)))
    return float(buf.values[i - 1]) if i else None


def _weighted_median_rows(hist: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Bins of the weighted median of each row (rows of non-negative weights): (lower, upper).

    They differ only on an exact tie between two values (half the weight on each side),
    whose midpoint is the median, as for the ordinary median, rather than the lower one.
    """
    pace()
    cum = np.cumsum(hist, axis=-1)
    half = cum[..., -1:] / 2.0
    tol = 1e-9 * np.maximum(cum[..., -1:], 1e-300)
    lower = np.argmax(cum >= half - tol, axis=-1)
    upper = np.argmax(cum > half + tol, axis=-1)
    return lower, upper


@dataclass(slots=True)
class SetpointRoutine:
    """Forgetful histograms of the setpoint per day of week, slot of day and occupancy state.

    hist[state, weekday, slot, bin] with state 0 away, 1 home, 2 either. Already pooled
    over neighbouring slots, similar days and (for states 0, 1) backed off on state 2.
    The bins are the setpoints ever chosen (to SETPOINT_BIN): a household uses a handful,
    and pooling never moves weight between setpoints, so no other bin could hold any.
    """

    values: NDArray[np.float64]  # setpoint of each bin, ascending
    hist: NDArray[np.float64]
    levels: dict[str, float] = field(default_factory=dict)

    def _median(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        lower, upper = _weighted_median_rows(rows)
        return np.asarray((self.values[lower] + self.values[upper]) / 2.0, dtype=np.float64)

    @classmethod
    def fit(
        cls,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        setpoint: NDArray[np.float64],
        home: NDArray[np.float64] | None,
        weights: NDArray[np.float64],
    ) -> SetpointRoutine | None:
        """Build from one sample per slot (home: 1/0/NaN unknown; weights: forgetting times kind)."""
        keep = np.isfinite(setpoint) & (weights > 0)
        if not keep.any():
            return None
        steps = np.rint(np.where(keep, setpoint, 0.0) / SETPOINT_BIN).astype(np.int64)
        used, inverse = np.unique(steps[keep], return_inverse=True)
        n_bins = len(used)
        b = np.zeros(len(setpoint), dtype=np.int64)
        b[keep] = inverse
        state = np.full(len(setpoint), -1, dtype=np.int64)
        if home is not None:
            state = np.where(np.isfinite(home), (np.nan_to_num(home) > 0.5).astype(np.int64), -1)

        raw = np.zeros((3, 7, SLOTS_PER_DAY, n_bins))
        np.add.at(raw, (np.full(int(keep.sum()), 2), weekday[keep], slot[keep], b[keep]), weights[keep])
        ks = keep & (state >= 0)
        np.add.at(raw, (state[ks], weekday[ks], slot[ks], b[ks]), weights[ks])
        routine = cls(values=np.asarray(used * SETPOINT_BIN, dtype=np.float64), hist=_pooled(raw))
        routine.levels = _levels(setpoint, state, weights)
        return routine

    def predict(
        self,
        weekday: NDArray[np.int64],
        slot: NDArray[np.int64],
        p_home: NDArray[np.float64] | None,
        weight: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Weighted median setpoint at each (weekday, slot).

        p_home mixes the home and away histograms; `weight` (0..1, default 1) says how much
        that mixture counts against the state-blind routine, which already holds how often
        the home is empty at that time. Unknown (NaN or None) p_home: the state-blind routine.
        """
        either = self.hist[2, weekday, slot]
        either = either / either.sum(axis=-1, keepdims=True)
        if p_home is None:
            return self._median(either)
        home = self.hist[1, weekday, slot]
        away = self.hist[0, weekday, slot]
        known = np.isfinite(p_home)
        p = np.clip(np.nan_to_num(p_home), 0.0, 1.0)[:, None]
        w = np.ones(len(p)) if weight is None else np.clip(np.nan_to_num(weight), 0.0, 1.0)
        w = np.where(known, w, 0.0)[:, None]
        mixed = p * home / home.sum(axis=-1, keepdims=True) + (1 - p) * away / away.sum(axis=-1, keepdims=True)
        rows = w * mixed + (1 - w) * either
        return self._median(rows)

    def mode_of(self, setpoint: float, p_home: float | None) -> str | None:
        """Name of the learned level nearest a setpoint (eco when predicted away)."""
        if p_home is not None and math.isfinite(p_home) and p_home < 0.5 and MODE_ECO in self.levels:
            return MODE_ECO
        candidates = {k: v for k, v in self.levels.items() if k != MODE_ECO or p_home is None}
        if not candidates:
            return None
        return min(candidates, key=lambda k: abs(candidates[k] - setpoint))


def _pooled(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    """Raw histograms [state, weekday, slot, bin] pooled over neighbouring slots and days.

    Other days enter as a prior of fixed size (pseudo-counts, in sample weights): the
    other days of the same type (weekday/weekend) with SAME_TYPE_PRIOR, the other type with
    OTHER_TYPE_PRIOR, so a day with little history of its own leans on similar days and
    one with plenty keeps its own rhythm. States home/away borrow STATE_PRIOR_WEIGHT from either.
    """
    # Neighbouring slots (wrapping over midnight within the same weekday is close enough).
    own = raw + NEIGHBOUR_SLOT_WEIGHT * (np.roll(raw, 1, axis=2) + np.roll(raw, -1, axis=2))
    weekend = np.arange(7) >= 5
    same_type = (weekend[:, None] == weekend[None, :]) & ~np.eye(7, dtype=bool)
    pooled = own.copy()
    for kernel, prior in ((same_type, SAME_TYPE_PRIOR), (weekend[:, None] != weekend[None, :], OTHER_TYPE_PRIOR)):
        others = np.einsum("de,sebk->sdbk", kernel.astype(np.float64), own)
        pooled += prior * others / np.maximum(others.sum(axis=-1, keepdims=True), 1e-12)
    overall = pooled[2].sum(axis=(0, 1))
    either = pooled[2] + GLOBAL_PRIOR_WEIGHT * overall / max(float(overall.sum()), 1e-12)
    either_norm = either / np.maximum(either.sum(axis=-1, keepdims=True), 1e-12)
    hist = np.empty_like(pooled)
    hist[2] = either
    for s in (0, 1):
        hist[s] = pooled[s] + STATE_PRIOR_WEIGHT * either_norm
    return hist


def _weighted_median(values: NDArray[np.float64], weights: NDArray[np.float64], quantile: float = 0.5) -> float | None:
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return None
    order = np.argsort(values[keep])
    v, w = values[keep][order], weights[keep][order]
    cum = np.cumsum(w)
    return float(v[int(np.searchsorted(cum, cum[-1] * quantile))])


def _levels(setpoint: NDArray[np.float64], state: NDArray[np.int64], weights: NDArray[np.float64]) -> dict[str, float]:
    """Comfort (median at home), sleep (a clearly lower level kept at home) and eco (median away).

    Sleep is the low SLEEP_QUANTILE of the setpoints at home, when it lies at least
    SLEEP_MIN_SETBACK below comfort: a night setback fills a good part of the time at home.
    """
    out: dict[str, float] = {}
    not_away = state != 0
    comfort = _weighted_median(setpoint[not_away], weights[not_away])
    if comfort is not None:
        out[MODE_COMFORT] = round(comfort, 2)
        sleep = _weighted_median(setpoint[not_away], weights[not_away], SLEEP_QUANTILE)
        if sleep is not None and sleep <= comfort - SLEEP_MIN_SETBACK:
            out[MODE_SLEEP] = round(sleep, 2)
    eco = _weighted_median(setpoint[state == 0], weights[state == 0])
    if eco is not None:
        out[MODE_ECO] = round(eco, 2)
    return out


@dataclass(slots=True)
class _Zone:
    """One thermostat's fitted state and its latest live readings."""

    routine: SetpointRoutine | None = None
    thermal: ThermalFit | None = None
    days: float = 0.0
    change_counts: dict[str, int] = field(default_factory=dict)
    last_manual_change: float | None = None
    indoor: float | None = None
    outdoor: float | None = None
    setpoint: float | None = None
    hvac_mode: float | None = None


@dataclass(slots=True)
class _Presence:
    """Home presence learned from the presence channels: per-slot rate and spell lengths."""

    rate: NDArray[np.float64]  # [weekday, slot] share of time home
    mean_home_hours: float
    mean_away_hours: float
    home_now: float | None = None


class ClimateModel:
    """Setpoint routine, thermal response and preheat for every climate entity of a home."""

    def __init__(self, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> None:
        """half_life_days: how fast old setpoint habits are forgotten."""
        self.half_life_days = half_life_days
        self.timezone = "UTC"
        self.zones_: dict[str, _Zone] = {}
        self.presence_: _Presence | None = None
        self.occupancy_hourly_: Callable[[float], float] | None = None
        self.fitted_at_: float | None = None
        self._presence_channels: list[str] = []
        self._outdoor_channel: str | None = None

    # -- persistence (parameters only; everything learned is re-fitted from the store) --
    def as_dict(self) -> dict[str, Any]:
        """Parameters and a summary of what was learned (plain JSON)."""
        return {
            "half_life_days": self.half_life_days,
            "fitted_at": self.fitted_at_,
            "zones": {
                entity_id: {
                    "days": round(zone.days, 2),
                    "levels": dict(zone.routine.levels) if zone.routine else {},
                    "changes": dict(zone.change_counts),
                    "last_manual_change": zone.last_manual_change,
                    "thermal": zone.thermal.as_dict() if zone.thermal else None,
                }
                for entity_id, zone in self.zones_.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClimateModel:
        """Model with the saved parameters (fit it before predicting)."""
        return cls(half_life_days=float(data.get("half_life_days", DEFAULT_HALF_LIFE_DAYS)))

    # -- fitting --
    def fit(
        self,
        store: ObservationStore,
        spec: Mapping[str, Any],
        now: float,
        occupancy_hourly: Callable[[float], float] | None = None,
    ) -> None:
        """Fit every climate entity of the spec on observations before `now` (executor)."""
        self.timezone = str(spec.get("timezone", "UTC"))
        self.fitted_at_ = now
        self.occupancy_hourly_ = occupancy_hourly
        presence = [e for e in spec.get(ROLE_PRESENCE) or [] if e in store.channels]
        if not presence:
            presence = [c for c, role in store.roles.items() if role == ROLE_PRESENCE]
        self._presence_channels = presence
        outdoor = spec.get(ROLE_OUTDOOR)
        if isinstance(outdoor, list):
            outdoor = outdoor[0] if outdoor else None
        self._outdoor_channel = outdoor if isinstance(outdoor, str) and outdoor in store.channels else None
        start = now - MAX_HISTORY_DAYS * DAY_SECONDS
        home_series = self._fit_presence(store, start, now)
        self.zones_ = {}
        for entity_id in spec.get("climate") or []:
            self.zones_[entity_id] = self._fit_zone(store, entity_id, start, now, home_series)
        self.refresh(store, now)

    def _presence_series(self, store: ObservationStore, times: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """1 when anyone is home at each time, 0 when nobody, NaN before any reading; None without channels."""
        if not self._presence_channels:
            return None
        states = np.vstack([state_at(store.channels[c], times) for c in self._presence_channels])
        known = np.isfinite(states).any(axis=0)
        anyone = (np.nan_to_num(states) > 0.5).any(axis=0)
        return np.where(known, anyone.astype(np.float64), np.nan)

    def _fit_presence(
        self, store: ObservationStore, start: float, now: float
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        firsts = [store.channels[c].times[0] for c in self._presence_channels if len(store.channels[c].times)]
        if not firsts:
            self.presence_ = None
            return None
        first = min(firsts)
        begin = max(start, first)
        grid = slot_middles(begin, now)
        home = self._presence_series(store, grid)
        assert home is not None
        keep = np.isfinite(home)
        weekday, slot = _local_day_slot(grid, self.timezone)
        weights = self._forgetting(grid, now) * keep
        sums = np.zeros((7, SLOTS_PER_DAY))
        counts = np.zeros((7, SLOTS_PER_DAY))
        np.add.at(sums, (weekday, slot), weights * np.nan_to_num(home))
        np.add.at(counts, (weekday, slot), weights)
        overall = float(np.sum(sums) / max(np.sum(counts), 1e-12))
        rate = (sums + overall) / (counts + 1.0)
        runs = np.diff(np.flatnonzero(np.diff(np.r_[-1.0, np.nan_to_num(home, nan=-1.0), -1.0]) != 0))
        values = np.nan_to_num(home, nan=-1.0)[np.r_[0, np.cumsum(runs)[:-1]]] if len(runs) else np.empty(0)
        hours = runs * SLOT_SECONDS / 3600.0
        mean_home = float(np.mean(hours[values == 1.0])) if np.any(values == 1.0) else 24.0
        mean_away = float(np.mean(hours[values == 0.0])) if np.any(values == 0.0) else 1.0
        self.presence_ = _Presence(rate, mean_home, mean_away)
        return grid, home

    def _forgetting(self, times: NDArray[np.float64], now: float) -> NDArray[np.float64]:
        age_days = np.maximum(now - times, 0.0) / DAY_SECONDS
        return np.asarray(0.5 ** (age_days / self.half_life_days), dtype=np.float64)

    def _fit_zone(
        self,
        store: ObservationStore,
        entity_id: str,
        start: float,
        now: float,
        home_series: tuple[NDArray[np.float64], NDArray[np.float64]] | None,
    ) -> _Zone:
        zone = _Zone()
        channels = store.channels
        sp_t, sp_v = _array(channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT))
        before = sp_t < now
        sp_t, sp_v = sp_t[before], sp_v[before]
        mode_t, mode_v = _array(channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_MODE))
        if len(sp_t):
            begin = max(start, sp_t[0])
            zone.days = float(now - begin) / DAY_SECONDS
            grid = slot_middles(begin + SLOT_SECONDS, now)
            setpoint = last_reading(sp_t, sp_v, grid)
            weights = self._forgetting(grid, now)
            if len(mode_t):
                mode = last_reading(mode_t, mode_v, grid)
                weights = np.where(mode == HVAC_MODE_OFF, 0.0, weights)
            # Classify the changes (the first point is the state in force, not a change).
            change_idx = np.flatnonzero(np.diff(sp_v)) + 1 if len(sp_v) > 1 else np.empty(0, dtype=np.int64)
            transitions = None
            if home_series is not None:
                h_grid, h = home_series
                flips = np.flatnonzero(np.diff(np.nan_to_num(h, nan=-1.0)) != 0) + 1
                transitions = h_grid[flips] - SLOT_SECONDS / 2.0
            kinds = classify_changes(
                sp_t[change_idx], sp_v[change_idx], self.timezone, transitions, old_values=sp_v[change_idx - 1]
            )
            zone.change_counts = {k: int(np.sum(kinds == k)) for k in (KIND_SCHEDULE, KIND_OCCUPANCY, KIND_MANUAL)}
            manual = kinds == KIND_MANUAL
            if manual.any():
                zone.last_manual_change = float(sp_t[change_idx][manual][-1])
            # Each slot inherits the kind of the change in force.
            slot_kind = np.searchsorted(sp_t[change_idx], grid, side="right") - 1
            in_manual = (
                (slot_kind >= 0) & manual[np.clip(slot_kind, 0, None)] if len(kinds) else np.zeros(len(grid), bool)
            )
            weights = np.where(in_manual, weights * MANUAL_WEIGHT, weights)
            home = None
            if home_series is not None:
                h_grid, h = home_series
                home = np.interp(grid, h_grid, h, left=np.nan, right=np.nan)
                home = np.where(np.isfinite(home), np.rint(home), np.nan)
            weekday, slot = _local_day_slot(grid, self.timezone)
            zone.routine = SetpointRoutine.fit(weekday, slot, setpoint, home, weights)
        cur_t, cur_v = _array(channels.get(entity_id + CHANNEL_SEP + ATTR_CURRENT_TEMPERATURE))
        act_t, act_v = _array(channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_ACTION))
        if len(cur_t) and len(act_t):
            out_t, out_v = _array(channels.get(self._outdoor_channel)) if self._outdoor_channel else (None, None)
            zone.thermal = fit_thermal(cur_t, cur_v, act_t, act_v, out_t, out_v, start=start, end=now)
        return zone

    def refresh(self, store: ObservationStore, now: float) -> None:
        """Take the latest live readings (indoor, outdoor, setpoint, mode, presence); cheap, no refit."""
        outdoor = _value_at(store.channels.get(self._outdoor_channel or ""), now)
        for entity_id, zone in self.zones_.items():
            zone.indoor = _value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_CURRENT_TEMPERATURE), now)
            zone.setpoint = _value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_SETPOINT), now)
            zone.hvac_mode = _value_at(store.channels.get(entity_id + CHANNEL_SEP + ATTR_HVAC_MODE), now)
            zone.outdoor = outdoor
        if self.presence_ is not None:
            home = self._presence_series(store, np.array([now]))
            self.presence_.home_now = None if home is None or not np.isfinite(home[0]) else float(home[0])

    # -- prediction --
    def enough_data(self, entity_id: str) -> tuple[bool, str]:
        """Whether the entity's setpoint routine can be predicted, and if not why."""
        zone = self.zones_.get(entity_id)
        if zone is None or zone.routine is None:
            return False, f"{entity_id}: no setpoint history"
        if zone.days < MIN_SETPOINT_DAYS:
            return False, f"{entity_id}: needs {MIN_SETPOINT_DAYS:g} days of setpoint history, has {zone.days:.1f}"
        return True, ""

    def occupancy_forecast(
        self, times: NDArray[np.float64], now: float, home_now: float | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None:
        """(probability home, weight of the state mixture, probability home for preheat) at each time.

        With an occupancy forecast given to fit, its probabilities count fully. Otherwise
        the current state is carried forward, fading (as a two-state Markov chain with the
        learned mean spell lengths does) into the state-blind routine, which already holds
        how often the home is empty at each time of week; the preheat check uses the learned share of time at home at
        that slot pulled the same way towards the current state. None without any
        occupancy knowledge.
        """
        seen = times <= now + SLOT_SECONDS / 2.0  # what is seen now is known
        if self.occupancy_hourly_ is not None:
            p = np.array([self.occupancy_hourly_(float(t)) for t in times], dtype=np.float64)
            if home_now is not None:
                p = np.where(seen, home_now, p)
            return p, np.ones(len(times)), p
        if self.presence_ is None:
            return None
        weekday, slot = _local_day_slot(times, self.timezone)
        rate = self.presence_.rate[weekday, slot]
        if home_now is None:
            return np.full(len(times), np.nan), np.zeros(len(times)), rate
        # A two-state Markov chain forgets its state at rate 1/mean_home + 1/mean_away.
        relax_hours = 1.0 / (
            1.0 / max(self.presence_.mean_home_hours, 0.25) + 1.0 / max(self.presence_.mean_away_hours, 0.25)
        )
        decay = np.exp(-np.maximum(times - now, 0.0) / (3600.0 * relax_hours))
        decay = np.where(seen, 1.0, decay)
        return np.full(len(times), float(home_now)), decay, rate + (home_now - rate) * decay

    def setpoints(
        self,
        entity_id: str,
        times: NDArray[np.float64],
        p_home: NDArray[np.float64] | None,
        weight: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """Predicted setpoint at each time for the given probabilities of being home (see SetpointRoutine.predict)."""
        zone = self.zones_[entity_id]
        if zone.routine is None:
            return np.full(len(times), np.nan)
        weekday, slot = _local_day_slot(np.asarray(times, dtype=np.float64), self.timezone)
        return zone.routine.predict(weekday, slot, p_home, weight)

    def forecast_setpoints(
        self, entity_id: str, times: NDArray[np.float64], now: float, home_now: float | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Setpoints predicted at `now` for each time, and the probability of being home then."""
        forecast = self.occupancy_forecast(times, now, home_now)
        if forecast is None:
            return self.setpoints(entity_id, times, None), None
        p_state, weight, p_home = forecast
        return self.setpoints(entity_id, times, p_state, weight), p_home

    def predict(
        self,
        entity_id: str,
        now: float,
        hours: int = 24,
        *,
        indoor: float | None = None,
        outdoor: float | None = None,
        home_now: float | None = None,
        current_setpoint: float | None = None,
    ) -> ClimatePrediction:
        """Setpoint now and hourly for `hours`, and the next preheat (or precool) start.

        Live readings default to those taken at fit/refresh; pass them to override.
        """
        zone = self.zones_[entity_id]
        if home_now is None and self.presence_ is not None:
            home_now = self.presence_.home_now
        indoor = zone.indoor if indoor is None else indoor
        outdoor = zone.outdoor if outdoor is None else outdoor
        current_setpoint = zone.setpoint if current_setpoint is None else current_setpoint
        times = now + SLOT_SECONDS * np.arange(hours * 60 // SLOT_MINUTES + 1, dtype=np.float64)
        sp, p = self.forecast_setpoints(entity_id, times, now, home_now)
        first_hour = math.floor(now / 3600.0) * 3600.0 + 3600.0
        hourly = first_hour + 3600.0 * np.arange(hours, dtype=np.float64)
        sp_hourly, _ = self.forecast_setpoints(entity_id, hourly, now, home_now)
        forecast = [(float(t), round(float(v), 2)) for t, v in zip(hourly, sp_hourly, strict=True)]
        setpoint_now = round(float(sp[0]), 2)
        p_now = None if p is None else float(p[0])
        mode = zone.routine.mode_of(setpoint_now, p_now) if zone.routine else None
        thermal = zone.thermal
        start = target_time = target_sp = None
        if thermal is not None and indoor is not None:
            start, target_time, target_sp = self._preheat(
                zone, thermal, times, sp, p, now, indoor, outdoor, current_setpoint
            )
        rate = thermal.heating_rate if thermal else None
        return ClimatePrediction(
            entity_id=entity_id,
            now=now,
            setpoint_now=setpoint_now,
            mode=mode,
            forecast=forecast,
            preheat_start=start,
            preheat_target_time=target_time,
            preheat_target_setpoint=target_sp,
            heating_rate=None if rate is None else round(rate, 4),
            cooling_rate=None if thermal is None or thermal.cooling_rate is None else round(thermal.cooling_rate, 4),
            tau_hours=None if thermal is None else round(thermal.tau_hours, 3),
            confidence=None if thermal is None else round(thermal.confidence, 3),
            occupied_probability=p_now,
        )

    def _preheat(
        self,
        zone: _Zone,
        thermal: ThermalFit,
        times: NDArray[np.float64],
        sp: NDArray[np.float64],
        p: NDArray[np.float64] | None,
        now: float,
        indoor: float,
        outdoor: float | None,
        current_setpoint: float | None,
    ) -> tuple[float | None, float | None, float | None]:
        """The next predicted occupied step up (down when cooling) and when to start for it."""
        cooling = zone.hvac_mode == HVAC_MODE_COOL
        rate = -(thermal.cooling_rate or 0.0) if cooling else (thermal.heating_rate or 0.0)
        if rate == 0.0:
            return None, None, None
        t_out = outdoor if outdoor is not None else thermal.drift_temperature
        if t_out is None:
            return None, None, None
        reference = current_setpoint if current_setpoint is not None else float(sp[0])
        sign = -1.0 if cooling else 1.0
        occupied = np.ones(len(times), dtype=bool) if p is None else p >= 0.5
        wanted = occupied & (sign * (sp - reference) > PREHEAT_MIN_RISE) & (times > now)
        hits = np.flatnonzero(wanted)
        if not len(hits):
            return None, None, None
        i = int(hits[0])
        target_time, target = float(times[i]), float(sp[i])
        start = preheat_start_time(now, target_time, target, indoor, t_out, thermal.tau_hours, rate, hold=reference)
        return start, target_time, round(target, 2)
