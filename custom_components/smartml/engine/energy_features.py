"""Features of the energy forecast: the home's usual profile and the (origin, horizon) rows.

An origin is the index of the first hour not known yet; a row predicts the hour `horizon`
hours later from what was measured before the origin only. numpy only; executor only.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from .energy_series import WEEK_HOURS, FloatArray, HourlySeries, IntArray
from .pacing import pace

PROFILE_WEEKS: Final = 6
# The share of the hour-of-week median in the usual profile, chosen per home on its most
# recent hours (see usual_profile); the default is for homes with too little history.
PROFILE_WEEK_SHARES: Final = (0.0, 0.25, 0.5, 0.75, 1.0)
PROFILE_DEFAULT_WEEK_SHARE: Final = 0.5
PROFILE_HOLDOUT_HOURS: Final = 14 * 24
PROFILE_MIN_HOLDOUT_HOURS: Final = 3 * 24
LOG_FLOOR: Final = 0.05  # kWh: keeps log() finite for hours with almost no use

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
    "log_last_vs_usual",
    "log_last_2_vs_usual",
    "log_last_3_vs_usual",
    "log_day_vs_usual",
    "log_last_day_vs_usual",
    "log_last_week_vs_usual",
    "outdoor_vs_recent",
    "second_last",
    "third_last",
)
# Columns the forecast models read by position.
COLUMN_HORIZON: Final = FEATURES.index("horizon")
COLUMN_HOUR_OF_DAY: Final = FEATURES.index("hour_of_day")
COLUMN_LAST: Final = FEATURES.index("last")
COLUMN_USUAL: Final = FEATURES.index("usual")
COLUMN_LAST_VS_USUAL: Final = FEATURES.index("last_vs_usual")
COLUMN_DAY_VS_USUAL: Final = FEATURES.index("day_vs_usual")
COLUMN_OCCUPANCY: Final = FEATURES.index("occupancy")
# The residual lags (measured minus usual, kWh) and the weather deviation the linear
# correction of the usual profile reads; with the last hour's and the last day's, above.
CORRECTION_COLUMNS: Final = tuple(
    FEATURES.index(name)
    for name in (
        "log_last_vs_usual",
        "log_last_2_vs_usual",
        "log_last_3_vs_usual",
        "log_day_vs_usual",
        "log_last_day_vs_usual",
        "log_last_week_vs_usual",
        "outdoor_vs_recent",
    )
)
# Measured hours (kWh) whose level, not only its deviation from usual, tells what comes next:
# a water heater or a dryer running now is likely still running in an hour.
LEVEL_COLUMNS: Final = tuple(
    FEATURES.index(name)
    for name in ("usual", "last", "second_last", "third_last", "same_hour_last_day", "same_hour_last_week")
)
# What the next hour's trees read: the calendar and the measured hours the trees split on
# (binned by rank, so kWh or log kWh alike).
NEXT_HOUR_TREE_COLUMNS: Final = tuple(
    FEATURES.index(name)
    for name in (
        "hour_of_day",
        "day_of_week",
        "last",
        "second_last",
        "third_last",
        "same_hour_last_day",
        "same_hour_last_week",
    )
)
# Columns in kWh, which the boosted model reads in log space like its target.
CONSUMPTION_COLUMNS: Final = tuple(
    FEATURES.index(name)
    for name in (
        "usual",
        "last",
        "last_3h",
        "last_24h",
        "same_hour_last_day",
        "same_hour_last_week",
        "second_last",
        "third_last",
    )
)


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


def to_log(kwh: FloatArray) -> FloatArray:
    """Consumption (kWh) in log space, where a home's hours deviate from usual by a factor rather than an amount."""
    return np.log(np.clip(kwh, 0.0, None) + LOG_FLOOR)


def from_log(log_kwh: FloatArray) -> FloatArray:
    """Consumption (kWh) back from log space (to_log's inverse)."""
    return np.asarray(np.exp(log_kwh) - LOG_FLOOR, dtype=np.float64)


def log_ratio(measured: FloatArray, usual: FloatArray) -> FloatArray:
    """How far measured hours were from their usual, in log space."""
    return to_log(measured) - to_log(usual)


def _take(a: FloatArray, idx: IntArray) -> FloatArray:
    """a[idx], NaN where idx falls outside a."""
    ok = (idx >= 0) & (idx < len(a))
    return np.where(ok, a[np.clip(idx, 0, len(a) - 1)], np.nan)


def usual_profile(y: FloatArray, how: IntArray, hod: IntArray, end: int) -> FloatArray:
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


def _median_profiles(y: FloatArray, how: IntArray, hod: IntArray, end: int) -> tuple[FloatArray, FloatArray]:
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


def features(series: HourlySeries, profile: FloatArray, origins: IntArray, horizons: IntArray) -> FloatArray:
    """Feature rows (columns as FEATURES) for (origin, horizon) pairs.

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
    day_back = target - 24 * np.ceil(horizons / 24.0).astype(np.int64)
    week_back = target - WEEK_HOURS * np.ceil(horizons / WEEK_HOURS).astype(np.int64)
    same_day = _take(y, day_back)
    same_week = _take(y, week_back)
    temp24 = _trailing_mean(series.temp, 24)[origins]
    temp_week = _trailing_mean(series.temp, WEEK_HOURS)[origins]
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
            log_ratio(last, _take(usual_all, origins - 1)),
            log_ratio(_take(y, origins - 2), _take(usual_all, origins - 2)),
            log_ratio(_take(y, origins - 3), _take(usual_all, origins - 3)),
            log_ratio(m24, usual24),
            log_ratio(same_day, _take(usual_all, day_back)),
            log_ratio(same_week, _take(usual_all, week_back)),
            temp24 - temp_week,
            _take(y, origins - 2),
            _take(y, origins - 3),
        )
    )
