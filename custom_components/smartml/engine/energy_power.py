"""The home's power levels: its typical and standby draw, and its usual draw by hour and occupancy.

Learned from the 15-minute power grid of the calibration days (or, with hourly statistics
only, from each hour's mean power). numpy; executor only.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any

import numpy as np

from .constants import DAY_SECONDS, HOUR_SECONDS
from .energy_alerts import CALIBRATION_DAYS
from .energy_series import GRID_PER_HOUR, GRID_SECONDS, FloatArray, HourlySeries, IntArray, hour_of_week, power_grid
from .observations import ObservationStore


def calibration_grid(
    store: ObservationStore, spec: Mapping[str, Any], now: float, series: HourlySeries
) -> tuple[FloatArray, FloatArray]:
    """The power grid (slot starts, W) of the last CALIBRATION_DAYS before `now`.

    With only hourly statistics, each hour's mean power stands for its four slots.
    """
    starts, watts = power_grid(store, spec, now - CALIBRATION_DAYS * DAY_SECONDS, now)
    if not np.isfinite(watts).any() and len(series.y):
        starts = np.repeat(series.starts, GRID_PER_HOUR) + np.tile(
            np.arange(GRID_PER_HOUR) * GRID_SECONDS, len(series.starts)
        )
        watts = np.repeat(series.y * 1000.0, GRID_PER_HOUR)
    return starts, watts


class PowerLevels:
    """Typical and standby draw (W), and the usual draw per local hour with and without people home."""

    def __init__(self) -> None:
        self.typical_w_ = math.nan
        self.standby_w_ = math.nan
        # home occupied -> usual draw (W) per local hour of day, from the hours with occupancy known.
        self.state_profiles_: dict[bool, FloatArray] = {}

    def fit(self, watts: FloatArray, hod: IntArray, series: HourlySeries) -> None:
        """Levels from the calibration grid (some values known) and the hourly series."""
        ok = np.isfinite(watts)
        self.typical_w_ = float(np.median(watts[ok]))
        night = ok & (hod < 5)
        self.standby_w_ = float(np.quantile(watts[night] if night.sum() >= 8 else watts[ok], 0.1))
        if series.occ is not None and np.isfinite(series.occ).any():
            for state in (True, False):
                sel = np.isfinite(series.y) & np.isfinite(series.occ) & ((series.occ >= 0.5) == state)
                prof = np.full(24, np.nan)
                for h in range(24):
                    vals = series.y[sel & (series.hod == h)]
                    if len(vals) >= 3:
                        prof[h] = float(np.median(vals)) * 1000.0
                self.state_profiles_[state] = prof

    def baseline(self, now: float, timezone: str, profile: FloatArray, home_occupied: bool | None) -> float:
        """The usual draw (W) at this hour of week (and this occupancy, if learned); profile in kWh per hour of week."""
        how, hod = hour_of_week(np.array([math.floor(now / HOUR_SECONDS) * HOUR_SECONDS]), timezone)
        if home_occupied is not None and home_occupied in self.state_profiles_:
            value = self.state_profiles_[home_occupied][int(hod[0])]
            if math.isfinite(value):
                return round(float(value), 1)
        value = float(profile[int(how[0])]) * 1000.0
        return round(value, 1) if math.isfinite(value) else math.nan

    def standby(self) -> float:
        """The standby base load (W): a low quantile of the night-time power."""
        return round(self.standby_w_, 1) if math.isfinite(self.standby_w_) else math.nan
