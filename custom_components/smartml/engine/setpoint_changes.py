"""Setpoint changes by cause: schedule steps, occupancy steps and manual one-offs.

A schedule step recurs (the same new value at the same time of day on several days), an
occupancy step comes within minutes of an arrival or departure, anything else is a manual
change. The routine counts manual changes less, being unrepeatable.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .pacing import pace
from .slots import local_times

KIND_SCHEDULE: Final = "schedule"
KIND_OCCUPANCY: Final = "occupancy"
KIND_MANUAL: Final = "manual"
CHANGE_KINDS: Final = (KIND_SCHEDULE, KIND_OCCUPANCY, KIND_MANUAL)
SCHEDULE_WINDOW_MINUTES: Final = 30.0
SCHEDULE_MIN_DAYS: Final = 3
SCHEDULE_TOLERANCE: Final = 0.5
OCCUPANCY_WINDOW_MINUTES: Final = 20.0


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
