"""Energy routines: hourly consumption forecast, normal and standby power, energy anomalies.

Consumption comes from energy meters (cumulative kWh, resets handled) or, without meters,
from power sensors (W), put on one 15-minute power grid; hours are sums of that grid.
An hourly series from the recorder's long-term statistics can be passed in as well; it
fills the hours the observations do not cover.

The forecast is one quantile model per quantile (P10, P50, P90) over (origin, horizon)
pairs, with time of week, the home's usual profile, recent lags and, when known, outdoor
temperature and occupancy as features. `forecast_model="hgb"` uses scikit-learn's
HistGradientBoostingRegressor with quantile loss; `"profile"` is the numpy-only model
(usual profile plus a decaying correction from the last hours), kept as fallback and
reference. Anomalies look at the power floor (the lowest draw over a window: what stays on):
the 3-hour floor against its usual level at that hour of day, with the allowed excess
calibrated on the home's own last 4 weeks (long_run); the 48-hour floor against the usual
daily floor (base_load); and recent hours against the forecast's P90. Periods already
reported are left out of the calibration, so one fault does not hide the next.

numpy (and scikit-learn) are imported at module top: this module is only imported inside
executor jobs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import hashlib
import math
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS as DAY
from .observations import ROLE_ENERGY, ROLE_OUTDOOR, ROLE_POWER, ChannelBuffer, ObservationStore
from .pacing import one_blas_thread, pace
from .results import Anomaly, EnergyForecast
from .slots import local_weekday_seconds

HOUR: Final = 3600.0
GRID_SECONDS: Final = 900.0  # the power grid: 15 minutes
GRID_PER_HOUR: Final = 4
QUANTILES: Final = (0.1, 0.5, 0.9)
# A meter gap longer than this leaves the hours it spans unknown instead of smearing them.
MAX_METER_GAP: Final = 2 * HOUR
# A power sensor reports on change; its last value holds at most this long.
MAX_POWER_HOLD: Final = 2 * HOUR
MIN_TRAIN_HOURS: Final = 72
MIN_DAYS: Final = 3.0
# Horizons (hours) the quantile models are trained on; the others are interpolated by the
# model through the horizon feature.
TRAIN_HORIZONS: Final = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 30, 36, 42, 48)
MAX_TRAIN_ROWS: Final = 6_000
TRAIN_DAYS: Final = 56  # older hours tell less about the home now and cost fit time
PROFILE_WEEKS: Final = 6
# The share of the hour-of-week median in the usual profile, chosen per home on its most
# recent hours (see usual_profile); the default is for homes with too little history.
PROFILE_WEEK_SHARES: Final = (0.0, 0.25, 0.5, 0.75, 1.0)
PROFILE_DEFAULT_WEEK_SHARE: Final = 0.5
PROFILE_HOLDOUT_HOURS: Final = 14 * 24
PROFILE_MIN_HOLDOUT_HOURS: Final = 3 * 24
LOG_FLOOR: Final = 0.02  # kWh: keeps log() finite for hours with almost no use
RESIDUAL_WIDEN: Final = 1.15
WEEK_HOURS: Final = 168

KIND_ENERGY: Final = "energy"
TYPE_ABOVE_FORECAST: Final = "above_forecast"
TYPE_STUCK_ON: Final = "long_run"
TYPE_BASE_LOAD: Final = "base_load"
TYPE_EMPTY_HOME: Final = "empty_home_draw"

# Anomaly windows (grid slots) and how sure the thresholds are.
CALIBRATION_DAYS: Final = 28  # the past the anomaly thresholds are learned from
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
ABOVE_HOURS: Final = 3
# Above forecast: all ABOVE_HOURS hours above P90 and, together, above it by at least this
# share of what they usually use (ordinary busy evenings stay below it).
ABOVE_EXCESS_FRACTION: Final = 1.0
REARM_SECONDS: Final = 6 * HOUR
# Reported anomalies are remembered this long and left out of the calibration, so a
# fault that was reported does not make the detector blind to the next one.
FLAG_KEEP_SECONDS: Final = (CALIBRATION_DAYS + 3) * DAY
MAX_FLAGGED: Final = 200

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- series


def meter_consumption(values: FloatArray) -> FloatArray:
    """Running consumption (kWh from the first reading) of a cumulative meter.

    A drop means the meter was reset: its new value is what was used since the reset.
    """
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return v
    steps = np.diff(v)
    steps = np.where(steps < 0.0, v[1:], steps)
    return np.concatenate(([0.0], np.cumsum(steps)))


def _meter_grid(times: FloatArray, values: FloatArray, edges: FloatArray) -> FloatArray:
    """Energy (kWh) used between consecutive edges (len(edges) - 1), NaN where readings are too sparse."""
    pace()
    out = np.full(len(edges) - 1, np.nan)
    if len(times) < 2:
        return out
    total = meter_consumption(values)
    at = np.interp(edges, times, total)
    seg = np.searchsorted(times, edges, side="right") - 1
    inside = (seg >= 0) & (edges <= times[-1])
    seg_c = np.clip(seg, 0, len(times) - 1)
    nxt = np.clip(seg_c + 1, 0, len(times) - 1)
    gap = np.where(times[seg_c] == edges, 0.0, times[nxt] - times[seg_c])
    ok_edge = inside & (gap <= MAX_METER_GAP)
    ok = ok_edge[:-1] & ok_edge[1:]
    out[ok] = np.diff(at)[ok]
    return out


def _power_grid(times: FloatArray, values: FloatArray, starts: FloatArray) -> FloatArray:
    """Mean W over each grid slot from a power channel's points (step-hold, 5-min sub-steps)."""
    pace()
    sub = 3
    offsets = (np.arange(sub) + 0.5) * GRID_SECONDS / sub
    probe = (starts[:, None] + offsets[None, :]).ravel()
    idx = np.searchsorted(times, probe, side="right") - 1
    held = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    age = probe - times[np.clip(idx, 0, None)]
    held = np.where((idx >= 0) & (age <= MAX_POWER_HOLD), held, np.nan)
    grid = held.reshape(len(starts), sub)
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(grid), axis=1)
        mean = np.nansum(grid, axis=1) / np.maximum(count, 1)
    return np.where(count * 2 >= sub, mean, np.nan)


def _arrays(buf: ChannelBuffer, until: float) -> tuple[FloatArray, FloatArray]:
    times = np.frombuffer(buf.times, dtype=np.float64)
    values = np.frombuffer(buf.values, dtype=np.float64)
    if buf.bucket_count and (not len(times) or buf.bucket_start > times[-1]):
        # The open aggregation bucket (not flushed yet) holds the newest point.
        value = buf.bucket_value / buf.bucket_count if buf.kind == "mean" else buf.bucket_value
        times, values = np.append(times, buf.bucket_start), np.append(values, value)
    # A meter read exactly at `until` still tells about the hours before it.
    n = int(np.searchsorted(times, until, side="right"))
    return times[:n].copy(), values[:n].copy()


def consumption_entities(store: ObservationStore, spec: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Which role measures the home's consumption ("energy" meters first) and its channels."""
    meters = [e for e in spec.get(ROLE_ENERGY) or [] if e in store.channels and len(store.channels[e].times)]
    if meters:
        return ROLE_ENERGY, meters
    power = [e for e in spec.get(ROLE_POWER) or [] if e in store.channels and len(store.channels[e].times)]
    return ROLE_POWER, power


def power_grid(
    store: ObservationStore, spec: Mapping[str, Any], start: float, end: float
) -> tuple[FloatArray, FloatArray]:
    """The home's mean power (W) on the 15-min grid covering [start, end); only data before end.

    Slots where no measuring entity knows the value are NaN; with several entities, those
    that know it are summed.
    """
    first = math.floor(start / GRID_SECONDS) * GRID_SECONDS
    last = math.floor(end / GRID_SECONDS) * GRID_SECONDS
    starts = np.arange(first, last, GRID_SECONDS, dtype=np.float64)
    role, entities = consumption_entities(store, spec)
    total = np.zeros(len(starts))
    known = np.zeros(len(starts), dtype=bool)
    for entity_id in entities:
        times, values = _arrays(store.channels[entity_id], end)
        if not len(times):
            continue
        if role == ROLE_ENERGY:
            edges = np.append(starts, starts[-1] + GRID_SECONDS) if len(starts) else starts
            watts = _meter_grid(times, values, edges) * 1000.0 * (HOUR / GRID_SECONDS) if len(starts) else starts
        else:
            watts = _power_grid(times, values, starts)
        ok = np.isfinite(watts)
        total[ok] += watts[ok]
        known |= ok
    return starts, np.where(known, total, np.nan)


def hourly_from_grid(starts: FloatArray, watts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Hourly kWh from the 15-min power grid; an hour needs 3 of its 4 slots."""
    pace()
    if not len(starts):
        return starts, watts
    head = round(((-starts[0]) % HOUR) / GRID_SECONDS) % GRID_PER_HOUR
    s, w = starts[head:], watts[head:]
    n = len(s) // GRID_PER_HOUR
    s, w = s[: n * GRID_PER_HOUR], w[: n * GRID_PER_HOUR].reshape(n, GRID_PER_HOUR)
    count = np.sum(np.isfinite(w), axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(w, axis=1) / np.maximum(count, 1)
    return s[::GRID_PER_HOUR].copy(), np.where(count >= 3, mean / 1000.0, np.nan)


def hourly_from_store(
    store: ObservationStore, spec: Mapping[str, Any], tz: str | None = None, end: float | None = None
) -> tuple[FloatArray, FloatArray]:
    """(hour starts, kWh) of the home's consumption for each complete hour before `end`.

    tz is accepted for symmetry with the other series helpers: hours are aligned in UTC,
    which matches local hours in every zone with a whole-hour offset.
    """
    del tz
    span = store.time_span()
    if span is None:
        empty = np.zeros(0)
        return empty, empty
    stop = math.floor((end if end is not None else span[1] + GRID_SECONDS) / HOUR) * HOUR
    begin = math.floor(span[0] / HOUR) * HOUR
    if stop <= begin:
        empty = np.zeros(0)
        return empty, empty
    return hourly_from_grid(*power_grid(store, spec, begin, stop))


def merge_hourly(
    starts: FloatArray, kwh: FloatArray, external: tuple[Sequence[float], Sequence[float]] | None, end: float
) -> tuple[FloatArray, FloatArray]:
    """One contiguous hourly series: observed hours first, external (statistics) hours fill gaps."""
    ext_s = np.asarray(external[0] if external else [], dtype=np.float64)
    ext_v = np.asarray(external[1] if external else [], dtype=np.float64)
    keep = ext_s < end
    ext_s, ext_v = ext_s[keep], ext_v[keep]
    firsts = [a[0] for a in (starts, ext_s) if len(a)]
    if not firsts:
        empty = np.zeros(0)
        return empty, empty
    first = math.floor(min(firsts) / HOUR) * HOUR
    stop = math.floor(end / HOUR) * HOUR
    grid = np.arange(first, stop, HOUR, dtype=np.float64)
    y = np.full(len(grid), np.nan)
    if len(ext_s):
        idx = np.round((ext_s - first) / HOUR).astype(np.int64)
        ok = (idx >= 0) & (idx < len(grid)) & np.isfinite(ext_v)
        y[idx[ok]] = ext_v[ok]
    if len(starts):
        idx = np.round((starts - first) / HOUR).astype(np.int64)
        ok = (idx >= 0) & (idx < len(grid)) & np.isfinite(kwh)
        y[idx[ok]] = kwh[ok]
    return grid, y


def _hourly_channel_mean(buf: ChannelBuffer | None, grid: FloatArray, end: float) -> FloatArray:
    """Hourly mean of a numeric channel (outdoor temperature), carried over short gaps."""
    pace()
    if buf is None or not len(grid):
        return np.full(len(grid), np.nan)
    times, values = _arrays(buf, end)
    if not len(times):
        return np.full(len(grid), np.nan)
    idx = np.floor((times - grid[0]) / HOUR).astype(np.int64)
    ok = (idx >= 0) & (idx < len(grid))
    sums = np.bincount(idx[ok], weights=values[ok], minlength=len(grid))
    counts = np.bincount(idx[ok], minlength=len(grid))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # Hold the last hourly value for up to 3 hours (sensors that report rarely).
    last = np.where(np.isfinite(mean), np.arange(len(mean)), -1)
    last = np.maximum.accumulate(last)
    held = np.where(last >= 0, mean[np.clip(last, 0, None)], np.nan)
    return np.where(np.arange(len(mean)) - last <= 3, held, np.nan)


def hour_of_week(starts: FloatArray, tz_name: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(local hour of week 0..167 with Monday 00:00 = 0, local hour of day) of hour starts."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    weekday, seconds = local_weekday_seconds(starts, tz_name)
    hod = np.floor(seconds / HOUR).astype(np.int64)
    return weekday * 24 + hod, hod


# ------------------------------------------------------------------------- features


@dataclass(slots=True)
class HourlySeries:
    """A contiguous hourly consumption series with its calendar and optional covariates."""

    starts: FloatArray
    y: FloatArray  # kWh, NaN unknown
    how: NDArray[np.int64]
    hod: NDArray[np.int64]
    temp: FloatArray  # hourly outdoor temperature or NaN
    occ: FloatArray  # occupancy probability or NaN

    @classmethod
    def build(
        cls,
        starts: FloatArray,
        y: FloatArray,
        tz_name: str,
        temp: FloatArray | None = None,
        occ: FloatArray | None = None,
        extra_hours: int = 0,
    ) -> HourlySeries:
        """Calendar for the observed hours plus `extra_hours` future hours (y NaN there)."""
        if extra_hours:
            first = starts[0] if len(starts) else 0.0
            starts = np.arange(first, first + (len(starts) + extra_hours) * HOUR, HOUR)[: len(starts) + extra_hours]
            y = np.concatenate((y, np.full(extra_hours, np.nan)))
        n = len(starts)
        how, hod = hour_of_week(starts, tz_name)

        def pad(a: FloatArray | None) -> FloatArray:
            out = np.full(n, np.nan)
            if a is not None:
                out[: min(n, len(a))] = a[:n]
            return out

        return cls(starts, y, how, hod, pad(temp), pad(occ))


def _trailing_mean(y: FloatArray, window: int) -> FloatArray:
    """Mean of y[i-window:i] (NaN ignored) for every i in 0..len(y); index i = origin."""
    filled = np.where(np.isfinite(y), y, 0.0)
    ok = np.isfinite(y).astype(np.float64)
    cs = np.concatenate(([0.0], np.cumsum(filled)))
    cn = np.concatenate(([0.0], np.cumsum(ok)))
    idx = np.arange(len(y) + 1)
    lo = np.clip(idx - window, 0, None)
    s, c = cs[idx] - cs[lo], cn[idx] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1.0), np.nan)


def _take(a: FloatArray, idx: NDArray[np.int64]) -> FloatArray:
    ok = (idx >= 0) & (idx < len(a))
    return np.where(ok, a[np.clip(idx, 0, len(a) - 1)], np.nan)


def usual_profile(y: FloatArray, how: NDArray[np.int64], hod: NDArray[np.int64], end: int) -> FloatArray:
    """Usual kWh per hour of week from the last PROFILE_WEEKS weeks before `end`.

    A blend of the median per hour of week and the median per hour of day: six weeks give
    an hour of week six values, an hour of day forty-two. How far a home's weekdays differ
    is its own, so the share of the hour of week is the one that best forecast the last
    hours before `end` from the weeks before them.
    """
    share = PROFILE_DEFAULT_WEEK_SHARE
    holdout = min(PROFILE_HOLDOUT_HOURS, int(np.isfinite(y[:end]).sum()) // 3)
    if holdout >= PROFILE_MIN_HOLDOUT_HOURS:
        split = end - holdout
        by_week, by_day = _median_profiles(y, how, hod, split)
        target, slots = y[split:end], how[split:end]
        week, day = by_week[slots], by_day[slots]
        ok = np.isfinite(target) & np.isfinite(week) & np.isfinite(day)
        if ok.any():
            errors = [
                float(np.mean(np.abs(s * week[ok] + (1 - s) * day[ok] - target[ok]))) for s in PROFILE_WEEK_SHARES
            ]
            share = PROFILE_WEEK_SHARES[int(np.argmin(errors))]
    by_week, by_day = _median_profiles(y, how, hod, end)
    return share * by_week + (1 - share) * by_day


def _median_profiles(
    y: FloatArray, how: NDArray[np.int64], hod: NDArray[np.int64], end: int
) -> tuple[FloatArray, FloatArray]:
    """Median kWh per hour of week and per hour of day (both indexed by hour of week).

    Hours of week with fewer than 2 values take the median of their hour of day.
    """
    start = max(0, end - PROFILE_WEEKS * WEEK_HOURS)
    yy, ww, dd = y[start:end], how[start:end], hod[start:end]
    ok = np.isfinite(yy)
    yy, ww, dd = yy[ok], ww[ok], dd[ok]
    profile = np.full(WEEK_HOURS, np.nan)
    by_hour = np.full(24, np.nan)
    overall = float(np.median(yy)) if len(yy) else np.nan
    order = np.argsort(ww, kind="stable")
    groups = np.split(yy[order], np.flatnonzero(np.diff(ww[order])) + 1) if len(yy) else []
    keys = np.unique(ww[order]) if len(yy) else np.zeros(0, dtype=np.int64)
    counts = np.zeros(WEEK_HOURS, dtype=np.int64)
    for key, values in zip(keys.tolist(), groups, strict=True):
        pace()
        profile[key] = float(np.median(values))
        counts[key] = len(values)
    for h in range(24):
        pace()
        sel = yy[dd == h]
        by_hour[h] = float(np.median(sel)) if len(sel) else overall
    by_day = by_hour[np.arange(WEEK_HOURS) % 24]
    return np.where(counts >= 2, profile, by_day), by_day


FEATURES: Final = (
    "horizon",
    "hour_of_day",
    "day_of_week",
    "usual",
    "last",
    "last_3h",
    "last_24h",
    "same_hour_last_day",
    "same_hour_last_week",
    "last_vs_usual",
    "day_vs_usual",
    "outdoor_24h",
    "occupancy",
)


def features(
    series: HourlySeries, profile: FloatArray, origins: NDArray[np.int64], horizons: NDArray[np.int64]
) -> FloatArray:
    """Feature rows for (origin, horizon) pairs: origin = index of the first unknown hour.

    Only y[:origin] is read, so a row never sees the hour it predicts.
    """
    pace()
    y = series.y
    target = origins + horizons - 1
    usual_all = profile[series.how]
    usual_t = _take(usual_all, target)
    last = _take(y, origins - 1)
    m3 = _trailing_mean(y, 3)[origins]
    m24 = _trailing_mean(y, 24)[origins]
    usual24 = _trailing_mean(usual_all, 24)[origins]
    same_day = _take(y, target - 24 * np.ceil(horizons / 24.0).astype(np.int64))
    same_week = _take(y, target - WEEK_HOURS * np.ceil(horizons / WEEK_HOURS).astype(np.int64))
    temp24 = _trailing_mean(series.temp, 24)[origins]
    occ = _take(series.occ, target)
    hod = _take(series.hod.astype(np.float64), target)
    dow = np.floor(_take(series.how.astype(np.float64), target) / 24.0)
    return np.column_stack(
        (
            horizons.astype(np.float64),
            hod,
            dow,
            usual_t,
            last,
            m3,
            m24,
            same_day,
            same_week,
            last - _take(usual_all, origins - 1),
            m24 - usual24,
            temp24,
            occ,
        )
    )


# --------------------------------------------------------------------------- models


class _ProfileQuantiles:
    """numpy-only forecast: usual profile + the last hours' deviations, weighted per horizon.

    For each horizon band, P50 = usual + a * (last hour - its usual) + c * (last 24 h -
    their usual), with (a, c) chosen on the training rows by mean absolute error; P10/P90
    add that band's residual quantiles, widened because in-sample residuals run small.
    """

    bands: Final = (1, 2, 4, 8, 16, 24, 49)
    grid_a: Final = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    grid_c: Final = (0.0, 0.25, 0.5, 0.75, 1.0)

    def __init__(self) -> None:
        self.weights_ = np.zeros((len(self.bands) - 1, 2))
        self.offsets_ = np.zeros((len(self.bands) - 1, len(QUANTILES)))

    def _band(self, x: FloatArray) -> NDArray[np.int64]:
        return np.clip(np.searchsorted(self.bands, x[:, 0], side="right") - 1, 0, len(self.bands) - 2)

    @staticmethod
    def _parts(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        usual = np.where(np.isfinite(x[:, 3]), x[:, 3], 0.0)
        return usual, np.nan_to_num(x[:, 9]), np.nan_to_num(x[:, 10])

    def _median(self, x: FloatArray) -> FloatArray:
        usual, dev_last, dev_day = self._parts(x)
        w = self.weights_[self._band(x)]
        return usual + w[:, 0] * dev_last + w[:, 1] * dev_day

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        usual, dev_last, dev_day = self._parts(x)
        band = self._band(x)
        a = np.array(self.grid_a)[:, None, None]
        c = np.array(self.grid_c)[None, :, None]
        for b in range(len(self.bands) - 1):
            sel = band == b
            if sel.sum() < 10:
                continue
            pred = usual[sel] + a * dev_last[sel] + c * dev_day[sel]
            err = np.mean(np.abs(pred - y[sel]), axis=2)
            i, j = np.unravel_index(int(np.argmin(err)), err.shape)
            self.weights_[b] = (self.grid_a[i], self.grid_c[j])
        resid = y - self._median(x)
        for b in range(len(self.bands) - 1):
            sel = resid[band == b]
            if len(sel) < 30:
                sel = resid
            q = np.quantile(sel, QUANTILES)
            # Widen around the median: in-sample residuals are smaller than unseen ones.
            self.offsets_[b] = q[1] + (q - q[1]) * RESIDUAL_WIDEN

    def predict(self, x: FloatArray) -> FloatArray:
        return self._median(x)[:, None] + self.offsets_[self._band(x)]


class _BoostedQuantiles:
    """scikit-learn gradient boosting on log consumption, quantiles from its residuals.

    Squared loss on log(kWh + LOG_FLOOR) targets the median of a skewed consumption and
    fits an order of magnitude faster than three quantile-loss models; P10/P90 are the
    residual quantiles (log space) per horizon band, widened a little because in-sample
    residuals are smaller than those of unseen hours.
    """

    bands: Final = (1, 2, 4, 8, 16, 24, 49)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.model_: Any = None
        self.columns_ = np.zeros(0, dtype=bool)
        self.offsets_ = np.zeros((len(self.bands) - 1, len(QUANTILES)))

    def fit(self, x: FloatArray, y: FloatArray) -> None:
        from sklearn.ensemble import HistGradientBoostingRegressor

        # Covariates the home does not have (all NaN) are left out.
        self.columns_ = np.asarray(np.isfinite(x).any(axis=0), dtype=bool)
        xs = _log_features(x)[:, self.columns_]
        target = np.log(np.clip(y, 0.0, None) + LOG_FLOOR)
        self.model_ = HistGradientBoostingRegressor(
            max_iter=150,
            learning_rate=0.06,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.seed,
        )
        # One thread: the executor shares the CPU with the event loop, and OpenMP threads
        # on a busy 2-core host cost more than they save.
        with one_blas_thread():
            self.model_.fit(xs, target)
            resid = target - self.model_.predict(xs)
        band = np.searchsorted(self.bands, x[:, 0], side="right") - 1
        for b in range(len(self.bands) - 1):
            sel = resid[band == b]
            if len(sel) < 30:
                sel = resid
            self.offsets_[b] = np.quantile(sel, QUANTILES) * RESIDUAL_WIDEN

    def predict(self, x: FloatArray) -> FloatArray:
        band = np.clip(np.searchsorted(self.bands, x[:, 0], side="right") - 1, 0, len(self.bands) - 2)
        with one_blas_thread():
            centre = self.model_.predict(_log_features(x)[:, self.columns_])
        return np.asarray(np.exp(centre[:, None] + self.offsets_[band]) - LOG_FLOOR, dtype=np.float64)


def _log_features(x: FloatArray) -> FloatArray:
    """Consumption features in log space like the target (calendar and covariates unchanged)."""
    out = x.copy()
    for col in (3, 4, 5, 6, 7, 8):
        out[:, col] = np.log(np.clip(x[:, col], 0.0, None) + LOG_FLOOR)
    return out


# ------------------------------------------------------------------------ outputs


def _anomaly(
    kind_type: str, entity_ids: list[str], ts: float, score: float, text: str, facts: dict[str, Any]
) -> Anomaly:
    """An energy anomaly, in the same form as the security ones."""
    digest = hashlib.sha256(f"{KIND_ENERGY}:{kind_type}:{ts:.0f}".encode()).hexdigest()[:12]
    values: dict[str, Any] = {
        "id": digest,
        "kind": KIND_ENERGY,
        "type": kind_type,
        "entity_ids": entity_ids,
        "ts": ts,
        "score": round(float(score), 3),
        "explanation": text,
        "facts": facts,
    }
    return Anomaly(**values)


@dataclass(slots=True)
class LiveScore:
    """Live next-hour forecasts against what was used: MAE skill against the seasonal naive.

    rows: [hour start, P50, same hour last week, actual or None]; `skill` is
    1 - MAE(model) / MAE(naive) over the last window_days (JSON-persistable).
    """

    window_days: float = 7.0
    rows: list[list[float | None]] = field(default_factory=list)

    def record(self, hour_start: float, p50: float, naive: float) -> None:
        """Keep the first forecast made for an hour."""
        if not math.isfinite(p50) or not math.isfinite(naive):
            return
        if self.rows and float(self.rows[-1][0] or 0.0) >= hour_start:
            return
        self.rows.append([hour_start, round(p50, 5), round(naive, 5), None])

    def resolve(self, starts: FloatArray, kwh: FloatArray) -> None:
        """Fill in the actual consumption of recorded hours now measured."""
        lookup = {float(s): float(v) for s, v in zip(starts.tolist(), kwh.tolist(), strict=True) if math.isfinite(v)}
        for row in self.rows:
            if row[3] is None and row[0] in lookup:
                row[3] = round(lookup[float(row[0] or 0.0)], 5)

    def prune(self, now: float) -> None:
        """Forget hours older than the window."""
        oldest = now - self.window_days * DAY
        self.rows = [row for row in self.rows if float(row[0] or 0.0) >= oldest]

    def skill(self) -> tuple[float | None, int]:
        """(MAE skill, scored hours); None until 24 hours are scored."""
        scored = np.array([row for row in self.rows if row[3] is not None], dtype=np.float64)
        if len(scored) < 24:
            return None, len(scored)
        model = float(np.mean(np.abs(scored[:, 1] - scored[:, 3])))
        naive = float(np.mean(np.abs(scored[:, 2] - scored[:, 3])))
        return (1.0 - model / naive if naive > 0 else None), len(scored)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {"window_days": self.window_days, "rows": [list(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveScore:
        """Rebuild from as_dict output; malformed rows are dropped."""
        score = cls(window_days=float(data.get("window_days", 7.0)))
        for row in data.get("rows") or []:
            if isinstance(row, list) and len(row) == 4:
                score.rows.append(
                    [float(row[0]), float(row[1]), float(row[2]), None if row[3] is None else float(row[3])]
                )
        return score


# ---------------------------------------------------------------------- the model


def _rolling_min(x: FloatArray, window: int) -> FloatArray:
    """Minimum of x[i-window+1..i] ignoring NaN; NaN unless 3/4 of the window is known."""
    n = len(x)
    if n < window:
        return np.full(n, np.nan)
    from numpy.lib.stride_tricks import sliding_window_view

    view = sliding_window_view(np.where(np.isfinite(x), x, np.inf), window)
    known = sliding_window_view(np.isfinite(x).astype(np.int64), window).sum(axis=1)
    mins = view.min(axis=1)
    out = np.full(n, np.nan)
    out[window - 1 :] = np.where(known * 4 >= window * 3, mins, np.nan)
    return out


def _local_days(hod: NDArray[np.int64]) -> NDArray[np.int64]:
    """A running local-day number for consecutive grid slots: a new day where the hour wraps."""
    if not len(hod):
        return np.zeros(0, dtype=np.int64)
    return np.cumsum(np.diff(hod, prepend=hod[:1]) < 0).astype(np.int64)


class EnergyModel:
    """Hourly consumption forecast with quantiles, usual and standby power, energy anomalies."""

    def __init__(self, forecast_model: str = "profile", min_days: float = MIN_DAYS, seed: int = 0) -> None:
        """forecast_model: "profile" (numpy only, the default) or "hgb" (scikit-learn)."""
        if forecast_model not in ("hgb", "profile"):
            raise ValueError("forecast_model must be 'hgb' or 'profile'")
        self.forecast_model = forecast_model
        self.min_days = min_days
        self.seed = seed
        self.spec_: dict[str, Any] = {}
        self.timezone_ = "UTC"
        self.entities_: list[str] = []
        self.fitted_until_ = 0.0
        self.days_ = 0.0
        self.train_rows_ = 0
        self.model_: _ProfileQuantiles | _BoostedQuantiles | None = None
        self.profile_ = np.full(WEEK_HOURS, np.nan)
        self.history_: HourlySeries | None = None
        self.external_: tuple[list[float], list[float]] | None = None
        self.occupancy_given_ = False
        self.state_profiles_: dict[bool, FloatArray] = {}
        self.standby_w_ = math.nan
        # Anomaly thresholds (W): the 3-h power floor per local hour of day (its usual
        # level and the limit), the 48-h floor against the usual daily floor.
        self.stuck_reference_ = np.full(24, np.nan)
        self.stuck_excess_ = math.nan
        self.stuck_threshold_ = np.full(24, np.nan)
        self.base_level_ = math.nan
        self.base_threshold_ = math.nan
        self.empty_threshold_ = math.nan
        self.typical_w_ = math.nan
        self.live = LiveScore()
        self.alerts: dict[str, float] = {}  # anomaly type -> when it last fired (re-arm)
        # [type, start, end] of the periods reported as anomalies (left out of calibration).
        self.flagged_: list[list[Any]] = []
        self.feedback_: list[dict[str, Any]] = []

    # -- persistence ----------------------------------------------------------------

    def live_state(self) -> dict[str, Any]:
        """What must survive a restart: the live score and the open alerts."""
        return self.as_dict()

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON (models themselves are re-fitted from the observations)."""
        return {
            "live": self.live.as_dict(),
            "alerts": dict(self.alerts),
            "feedback": list(self.feedback_),
            "flagged": [list(f) for f in self.flagged_],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> EnergyModel:
        """Rebuild the persisted state; unknown or malformed parts are ignored."""
        model = cls(**kwargs)
        try:
            model.live = LiveScore.from_dict(data.get("live") or {})
            model.alerts = {str(k): float(v) for k, v in (data.get("alerts") or {}).items()}
            model.feedback_ = [dict(f) for f in data.get("feedback") or [] if isinstance(f, Mapping)]
        except (TypeError, ValueError, AttributeError):
            model.live, model.alerts, model.feedback_ = LiveScore(), {}, []
        flagged = data.get("flagged")
        for item in flagged if isinstance(flagged, list) else []:
            try:
                model.flagged_.append([str(item[0]), float(item[1]), float(item[2])])
            except (TypeError, ValueError, IndexError, KeyError):
                continue
        return model

    def add_feedback(self, anomaly: Mapping[str, Any]) -> None:
        """An energy anomaly was normal: raise that detector's threshold above what it saw."""
        self.feedback_.append({"type": anomaly.get("type"), "facts": dict(anomaly.get("facts") or {})})
        del self.feedback_[:-50]
        self._apply_feedback()

    def _apply_feedback(self) -> None:
        for item in self.feedback_:
            facts = item.get("facts") or {}
            seen = facts.get("floor_w")
            if not isinstance(seen, (int, float)):
                continue
            if item.get("type") == TYPE_STUCK_ON and isinstance(facts.get("hour"), int):
                h = int(facts["hour"]) % 24
                self.stuck_threshold_[h] = max(float(self.stuck_threshold_[h]), float(seen) * 1.1)
            elif item.get("type") == TYPE_BASE_LOAD:
                self.base_threshold_ = max(self.base_threshold_, float(seen) * 1.1)
            elif item.get("type") == TYPE_EMPTY_HOME:
                self.empty_threshold_ = max(self.empty_threshold_, float(seen) * 1.1)

    # -- fit ------------------------------------------------------------------------

    def series(
        self,
        store: ObservationStore,
        end: float,
        hourly: tuple[Sequence[float], Sequence[float]] | None,
        occupancy_hourly: tuple[Sequence[float], Sequence[float]] | None,
        since: float | None = None,
    ) -> HourlySeries:
        """The hourly series (consumption, outdoor temperature, occupancy) of complete hours before end."""
        span = store.time_span()
        begin = span[0] if span else end
        if since is not None:
            begin = max(begin, since)
        stop = math.floor(end / HOUR) * HOUR
        if stop > begin:
            starts, kwh = hourly_from_grid(*power_grid(store, self.spec_, math.floor(begin / HOUR) * HOUR, stop))
        else:
            starts, kwh = np.zeros(0), np.zeros(0)
        grid, y = merge_hourly(starts, kwh, hourly, stop)
        outdoor = self.spec_.get(ROLE_OUTDOOR)
        temp = _hourly_channel_mean(store.channels.get(outdoor) if outdoor else None, grid, stop)
        occ = None
        if occupancy_hourly is not None and len(grid):
            occ = np.full(len(grid), np.nan)
            o_s = np.asarray(occupancy_hourly[0], dtype=np.float64)
            o_v = np.asarray(occupancy_hourly[1], dtype=np.float64)
            idx = np.round((o_s - grid[0]) / HOUR).astype(np.int64)
            ok = (idx >= 0) & (idx < len(grid))
            occ[idx[ok]] = o_v[ok]
        return HourlySeries.build(grid, y, self.timezone_, temp, occ)

    def fit(
        self,
        store: ObservationStore,
        spec: Mapping[str, Any],
        now: float,
        hourly: tuple[Sequence[float], Sequence[float]] | None = None,
        occupancy_hourly: tuple[Sequence[float], Sequence[float]] | None = None,
    ) -> None:
        """Fit on everything measured before `now` (executor).

        hourly: (hour starts, kWh) from long-term statistics; occupancy_hourly: (hour
        starts, probability the home is occupied) observed in the past.
        """
        self.spec_ = dict(spec)
        self.timezone_ = str(spec.get("timezone", "UTC"))
        _, self.entities_ = consumption_entities(store, spec)
        self.fitted_until_ = now
        self.external_ = (list(hourly[0]), list(hourly[1])) if hourly else None
        self.occupancy_given_ = occupancy_hourly is not None
        series = self.series(store, now, hourly, occupancy_hourly, since=now - (TRAIN_DAYS + 8) * DAY)
        known = np.isfinite(series.y)
        self.days_ = float(known.sum()) / 24.0
        self.history_ = series
        self.model_ = None
        self.train_rows_ = 0
        if known.sum() < MIN_TRAIN_HOURS:
            return
        n = len(series.y)
        self.profile_ = usual_profile(series.y, series.how, series.hod, n)
        self._fit_forecast(series)
        self._fit_power(store, now, series)
        self._apply_feedback()

    def _fit_forecast(self, series: HourlySeries) -> None:
        n = len(series.y)
        first = min(WEEK_HOURS, n // 3)
        origins = np.arange(max(first, 24), n, dtype=np.int64)
        ks = np.array(TRAIN_HORIZONS, dtype=np.int64)
        o = np.repeat(origins, len(ks))
        k = np.tile(ks, len(origins))
        target = o + k - 1
        ok = target < n
        o, k, target = o[ok], k[ok], target[ok]
        ok = np.isfinite(series.y[target])
        o, k, target = o[ok], k[ok], target[ok]
        if len(o) > MAX_TRAIN_ROWS:
            # Keep the most recent rows in full and a sample of the older ones.
            rng = np.random.default_rng(self.seed)
            recent = target >= n - 14 * 24
            older = np.flatnonzero(~recent)
            keep_older = (
                rng.choice(older, size=max(0, MAX_TRAIN_ROWS - int(recent.sum())), replace=False)
                if len(older)
                else older
            )
            keep = np.sort(np.concatenate((np.flatnonzero(recent), keep_older)))
            o, k, target = o[keep], k[keep], target[keep]
        if len(o) < 50:
            return
        x = features(series, self.profile_, o, k)
        model: _ProfileQuantiles | _BoostedQuantiles = (
            _BoostedQuantiles(self.seed) if self.forecast_model == "hgb" else _ProfileQuantiles()
        )
        model.fit(x, series.y[target])
        self.model_ = model
        self.train_rows_ = len(o)

    def _fit_power(self, store: ObservationStore, now: float, series: HourlySeries) -> None:
        """Standby, state profiles and the anomaly thresholds from the last 4 weeks of power."""
        starts, watts = power_grid(store, self.spec_, now - CALIBRATION_DAYS * DAY, now)
        if not np.isfinite(watts).any() and len(series.y):
            # Only hourly statistics: each hour's mean power stands for its four slots.
            starts = np.repeat(series.starts, GRID_PER_HOUR) + np.tile(
                np.arange(GRID_PER_HOUR) * GRID_SECONDS, len(series.starts)
            )
            watts = np.repeat(series.y * 1000.0, GRID_PER_HOUR)
        _, hod = hour_of_week(starts, self.timezone_)
        ok = np.isfinite(watts)
        if not ok.any():
            return
        self.typical_w_ = float(np.median(watts[ok]))
        night = ok & (hod < 5)
        self.standby_w_ = float(np.quantile(watts[night] if night.sum() >= 8 else watts[ok], 0.1))
        self._fit_stuck(starts, watts, hod)
        self._fit_base(starts, watts)
        floor1 = _rolling_min(watts, EMPTY_WINDOW_SLOTS)
        self.empty_threshold_ = (
            float(np.nanquantile(floor1[night], 0.95)) + max(100.0, 0.5 * self.standby_w_)
            if np.isfinite(floor1[night]).sum() >= 8
            else math.nan
        )
        if series.occ is not None and np.isfinite(series.occ).any():
            for state in (True, False):
                sel = np.isfinite(series.y) & np.isfinite(series.occ) & ((series.occ >= 0.5) == state)
                prof = np.full(24, np.nan)
                for h in range(24):
                    vals = series.y[sel & (series.hod == h)]
                    if len(vals) >= 3:
                        prof[h] = float(np.median(vals)) * 1000.0
                self.state_profiles_[state] = prof

    def _flagged_mask(self, starts: FloatArray, kind_type: str, after: float = 0.0) -> NDArray[np.bool_]:
        """Grid slots inside the reported periods of one anomaly type (extended by `after`)."""
        mask = np.zeros(len(starts), dtype=bool)
        for kind, begin, end in self.flagged_:
            if kind == kind_type:
                mask |= (starts >= begin) & (starts < end + after)
        return mask

    def _fit_stuck(self, starts: FloatArray, watts: FloatArray, hod: NDArray[np.int64]) -> None:
        """Usual 3-h floor per hour of day and the excess over it that counts as stuck on.

        Days with a reported stuck-on period are left out, so an appliance left on last
        week does not raise the bar for the next one.
        """
        floor = _rolling_min(watts, STUCK_WINDOW_SLOTS)
        days = _local_days(hod)
        flagged = self._flagged_mask(starts, TYPE_STUCK_ON)
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

    def _fit_base(self, starts: FloatArray, watts: FloatArray) -> None:
        """The usual daily floor (median of the last 2 weeks' 24-h floors), the 48-h floor's limit."""
        floor = _rolling_min(watts, DAY_FLOOR_SLOTS)
        # A reported base-load period raised the floors of the day that followed it too.
        floor[self._flagged_mask(starts, TYPE_BASE_LOAD, after=DAY)] = np.nan
        floor[starts < starts[-1] - BASE_LEVEL_DAYS * DAY] = np.nan
        known = floor[np.isfinite(floor)]
        if len(known) < DAY_FLOOR_SLOTS:
            self.base_level_ = self.base_threshold_ = math.nan
            return
        self.base_level_ = float(np.median(known))
        rise = max(BASE_MIN_RISE_W, BASE_MIN_RISE_FRACTION * self.base_level_)
        self.base_threshold_ = self.base_level_ + rise

    def enough_data(self) -> tuple[bool, str]:
        """Whether the forecast is usable, and why not."""
        if not self.entities_ and not self.external_:
            return False, "no power or energy sensor has data yet"
        if self.model_ is None or self.days_ < self.min_days:
            return False, f"needs {self.min_days:g} days of consumption, has {self.days_:.1f}"
        return True, ""

    # -- forecast -------------------------------------------------------------------

    def _recent_series(
        self, store: ObservationStore, now: float, occupancy: Sequence[float] | None, hours: int
    ) -> tuple[HourlySeries, int]:
        """Series ending at the current hour (origin) with `hours` future slots after it."""
        series = self.series(store, now, self.external_, None, since=now - 9 * DAY)
        origin = len(series.y)
        y = series.y
        if self.history_ is not None and len(series.starts):
            # Hours the store no longer holds come from the fitted history.
            hist = self.history_
            idx = np.round((hist.starts - series.starts[0]) / HOUR).astype(np.int64)
            ok = (idx >= 0) & (idx < len(y)) & np.isfinite(hist.y)
            fill = np.isnan(y[idx[ok]])
            y[idx[ok][fill]] = hist.y[ok][fill]
        occ = None
        if occupancy is not None:
            occ = np.full(origin + hours, np.nan)
            occ[origin : origin + min(hours, len(occupancy))] = np.asarray(occupancy[:hours], dtype=np.float64)
        future = HourlySeries.build(series.starts, y, self.timezone_, series.temp, occ, extra_hours=hours)
        return future, origin

    def quantiles(self, series: HourlySeries, origins: NDArray[np.int64], horizons: NDArray[np.int64]) -> FloatArray:
        """(rows, 3) kWh quantiles for (origin, horizon) pairs of a series; sorted, >= 0."""
        if self.model_ is None:
            raise RuntimeError("the energy model is not fitted")
        x = features(series, self.profile_, origins, horizons)
        if not self.occupancy_given_:
            x[:, -1] = np.nan
        q = np.sort(self.model_.predict(x), axis=1)
        return np.clip(q, 0.0, None)

    def forecast(
        self, store: ObservationStore, now: float, hours: int = 48, occupancy: Sequence[float] | None = None
    ) -> EnergyForecast:
        """Hourly P10/P50/P90 (kWh) from the clock hour in progress on, and the day totals.

        occupancy: probability the home is occupied for each forecast hour (optional).
        """
        series, origin = self._recent_series(store, now, occupancy, hours + 1)
        horizons = np.arange(1, hours + 2, dtype=np.int64)
        q = self.quantiles(series, np.full(len(horizons), origin, dtype=np.int64), horizons)
        ts = series.starts[origin : origin + hours + 1]
        # The hour in progress: what is measured so far plus the rest of its forecast.
        hour_start = float(ts[0])
        elapsed = (now - hour_start) / HOUR
        used_hour = self._used_between(store, hour_start, now)
        p50 = q[:, 1]
        current = used_hour + (1.0 - elapsed) * float(p50[0]) if math.isfinite(used_hour) else float(p50[0])
        tz = ZoneInfo(self.timezone_)
        local_now = datetime.fromtimestamp(now, UTC).astimezone(tz)
        midnight = (local_now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        day_after = (
            (datetime.fromtimestamp(midnight, UTC).astimezone(tz) + timedelta(days=1)).replace(hour=0).timestamp()
        )
        today_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        rest = (1.0 - elapsed) * float(p50[0]) + float(np.sum(p50[1:][(ts[1:] < midnight)]))
        tomorrow = float(np.sum(p50[(ts >= midnight) & (ts < day_after)]))
        used_today = self._used_between(store, today_start, now)
        if not math.isfinite(used_today):
            used_today = float(np.nansum(series.y[:origin][series.starts[:origin] >= today_start]))
        # Live skill: the next complete hour against the same hour last week.
        naive_idx = origin + 1 - WEEK_HOURS
        naive = float(series.y[naive_idx]) if 0 <= naive_idx < origin else math.nan
        self.live.record(float(ts[1]), float(p50[1]), naive)
        self.live.resolve(series.starts[:origin], series.y[:origin])
        self.live.prune(now)

        def r(a: FloatArray) -> list[float]:
            return [round(float(v), 4) for v in a]

        return EnergyForecast(
            ts=[float(t) for t in ts[1:]],
            p10=r(q[1:, 0]),
            p50=r(q[1:, 1]),
            p90=r(q[1:, 2]),
            current_hour=round(current, 4),
            next_hour=round(float(p50[1]), 4),
            next_hour_p10=round(float(q[1, 0]), 4),
            next_hour_p90=round(float(q[1, 2]), 4),
            rest_of_today=round(rest, 4),
            used_today=round(used_today, 4),
            today=round(used_today + rest, 4),
            tomorrow=round(tomorrow, 4),
        )

    def _used_between(self, store: ObservationStore, start: float, end: float) -> float:
        """Energy (kWh) measured in [start, end) from the power grid; NaN when not measured."""
        if end <= start:
            return 0.0
        _, watts = power_grid(store, self.spec_, start, end + GRID_SECONDS)
        if not len(watts) or not np.isfinite(watts).any():
            return math.nan
        slots = min(len(watts), max(1, math.ceil((end - start) / GRID_SECONDS)))
        w = watts[:slots]
        return float(np.nanmean(w)) * (end - start) / HOUR / 1000.0

    def skill(self) -> tuple[float | None, int]:
        """Live MAE skill against the seasonal naive and the number of hours scored."""
        return self.live.skill()

    # -- power ----------------------------------------------------------------------

    def baseline_power(self, now: float, home_occupied: bool | None = None) -> float:
        """The home's usual draw (W) at this hour of week (and this occupancy, if learned)."""
        how, hod = hour_of_week(np.array([math.floor(now / HOUR) * HOUR]), self.timezone_)
        if home_occupied is not None and home_occupied in self.state_profiles_:
            value = self.state_profiles_[home_occupied][int(hod[0])]
            if math.isfinite(value):
                return round(float(value), 1)
        value = float(self.profile_[int(how[0])]) * 1000.0
        return round(value, 1) if math.isfinite(value) else math.nan

    def standby_power(self) -> float:
        """The standby base load (W): a low quantile of the night-time power."""
        return round(self.standby_w_, 1) if math.isfinite(self.standby_w_) else math.nan

    # -- anomalies ------------------------------------------------------------------

    def check(self, store: ObservationStore, now: float, home_occupied: bool | None = None) -> list[Any]:
        """New energy anomalies at `now` (executor, every few minutes); only data before now."""
        if self.model_ is None:
            return []
        starts, watts = power_grid(store, self.spec_, now - (BASE_WINDOW_SLOTS + 8) * GRID_SECONDS, now)
        # Slots a meter has not reported yet (one that reads hourly leaves up to four) would
        # shorten the windows and so raise their floors: the windows end at the last known slot.
        known = np.flatnonzero(np.isfinite(watts))
        if len(known) and len(watts) - int(known[-1]) - 1 <= GRID_PER_HOUR:
            starts, watts = starts[: int(known[-1]) + 1], watts[: int(known[-1]) + 1]
        found: list[Any] = []
        _, hod = hour_of_week(starts[-1:], self.timezone_)
        hour = int(hod[0])
        floor3 = _rolling_min(watts[-STUCK_WINDOW_SLOTS:], STUCK_WINDOW_SLOTS)[-1]
        floor48 = _rolling_min(watts[-BASE_WINDOW_SLOTS:], BASE_WINDOW_SLOTS)[-1]
        floor1 = _rolling_min(watts[-EMPTY_WINDOW_SLOTS:], EMPTY_WINDOW_SLOTS)[-1]
        limit = self.stuck_threshold_[hour]
        if math.isfinite(floor3) and math.isfinite(limit) and floor3 > limit:
            self._flag(TYPE_STUCK_ON, now - STUCK_WINDOW_SLOTS * GRID_SECONDS, now)
            run = self._run_hours(watts, limit)
            usual = float(self.stuck_reference_[hour])
            found += self._fire(
                TYPE_STUCK_ON,
                now,
                floor3 / limit,
                f"Power has not dropped below {floor3:.0f} W for the last {run:.1f} h; at this time of day "
                f"the lowest draw over 3 hours is usually about {usual:.0f} W. Something may have been left on.",
                {
                    "floor_w": round(float(floor3), 1),
                    "threshold_w": round(float(limit), 1),
                    "usual_w": round(usual, 1),
                    "hours": round(run, 2),
                    "hour": hour,
                },
            )
        else:
            self._rearm(TYPE_STUCK_ON, now)
        if math.isfinite(floor48) and math.isfinite(self.base_threshold_) and floor48 > self.base_threshold_:
            self._flag(TYPE_BASE_LOAD, now - BASE_WINDOW_SLOTS * GRID_SECONDS, now)
            found += self._fire(
                TYPE_BASE_LOAD,
                now,
                floor48 / self.base_threshold_,
                f"Power has not dropped below {floor48:.0f} W for two days; on a usual day it falls to about "
                f"{self.base_level_:.0f} W. A device may be running constantly.",
                {
                    "floor_w": round(float(floor48), 1),
                    "threshold_w": round(float(self.base_threshold_), 1),
                    "usual_floor_w": round(self.base_level_, 1),
                    "standby_w": round(self.standby_w_, 1),
                },
            )
        else:
            self._rearm(TYPE_BASE_LOAD, now)
        if (
            home_occupied is False
            and math.isfinite(floor1)
            and math.isfinite(self.empty_threshold_)
            and floor1 > self.empty_threshold_
        ):
            found += self._fire(
                TYPE_EMPTY_HOME,
                now,
                floor1 / self.empty_threshold_,
                f"Nobody is home, yet the home has drawn at least {floor1:.0f} W for the last hour "
                f"(standby is about {self.standby_w_:.0f} W).",
                {
                    "floor_w": round(float(floor1), 1),
                    "threshold_w": round(float(self.empty_threshold_), 1),
                    "standby_w": round(self.standby_w_, 1),
                },
            )
        elif home_occupied is not None:
            self._rearm(TYPE_EMPTY_HOME, now)
        found += self._check_above_forecast(store, now)
        return found

    def _run_hours(self, watts: FloatArray, level: float) -> float:
        """How long (h) power has stayed above `level`, back from the newest slot.

        Slots not measured yet (a meter that reports hourly) neither end nor extend the run.
        """
        known = np.flatnonzero(np.isfinite(watts))
        if not len(known):
            return 0.0
        below = np.flatnonzero(np.isfinite(watts) & (watts <= level))
        first = int(below[-1]) + 1 if len(below) else 0
        return (int(known[-1]) + 1 - first) * GRID_SECONDS / HOUR

    def _flag(self, kind_type: str, start: float, now: float) -> None:
        """Remember that [start, now] looked anomalous (extends the period still open)."""
        for item in reversed(self.flagged_):
            if item[0] == kind_type:
                if float(item[2]) >= start:
                    item[1], item[2] = min(float(item[1]), start), max(float(item[2]), now)
                    return
                break
        self.flagged_.append([kind_type, start, now])
        oldest = now - FLAG_KEEP_SECONDS
        self.flagged_ = [f for f in self.flagged_ if float(f[2]) >= oldest][-MAX_FLAGGED:]

    def _check_above_forecast(self, store: ObservationStore, now: float) -> list[Any]:
        """The last ABOVE_HOURS complete hours all above their 1-hour-ahead P90, by far in sum."""
        series, origin = self._recent_series(store, now, None, 0)
        if origin < ABOVE_HOURS + WEEK_HOURS // 7:
            return []
        origins = np.arange(origin - ABOVE_HOURS, origin, dtype=np.int64)
        q = self.quantiles(series, origins, np.ones(ABOVE_HOURS, dtype=np.int64))
        actual = series.y[origins]
        if not np.isfinite(actual).all():
            return []
        spread = np.maximum(q[:, 2] - q[:, 1], 1e-3)
        excess = (actual - q[:, 2]) / spread
        if np.all(excess > 1.0) and float(np.sum(actual - q[:, 2])) > ABOVE_EXCESS_FRACTION * float(np.sum(q[:, 1])):
            return self._fire(
                TYPE_ABOVE_FORECAST,
                now,
                float(np.mean(excess)),
                f"The home used {float(actual.sum()):.2f} kWh in the last {ABOVE_HOURS} hours; "
                f"at most {float(q[:, 2].sum()):.2f} kWh was expected (usually {float(q[:, 1].sum()):.2f}).",
                {
                    "used_kwh": round(float(actual.sum()), 3),
                    "expected_p90_kwh": round(float(q[:, 2].sum()), 3),
                    "expected_p50_kwh": round(float(q[:, 1].sum()), 3),
                },
            )
        self._rearm(TYPE_ABOVE_FORECAST, now)
        return []

    def _fire(self, kind_type: str, now: float, score: float, text: str, facts: dict[str, Any]) -> list[Any]:
        """One anomaly per episode: nothing while the same type is still open."""
        if kind_type in self.alerts:
            return []
        self.alerts[kind_type] = now
        return [_anomaly(kind_type, list(self.entities_), now, score, text, facts)]

    def _rearm(self, kind_type: str, now: float) -> None:
        fired = self.alerts.get(kind_type)
        if fired is not None and now - fired >= REARM_SECONDS:
            del self.alerts[kind_type]
