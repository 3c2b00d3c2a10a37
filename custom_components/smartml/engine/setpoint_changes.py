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
# Changes compared with each other at a time: a thermostat nudged every few minutes for
# months has tens of thousands, whose pairs would not fit in a small machine's memory.
_PAIRS_PER_BLOCK: Final = 1 << 18
_ROWS_PER_BLOCK: Final = 256


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
    days_similar = _days_with_similar(minute, day, new_values, old_values, window_minutes, tolerance)
    kinds[days_similar >= min_days] = KIND_SCHEDULE
    if occupancy_transitions is not None and len(occupancy_transitions):
        pos = np.searchsorted(occupancy_transitions, times)
        before = occupancy_transitions[np.clip(pos - 1, 0, None)]
        after = occupancy_transitions[np.clip(pos, None, len(occupancy_transitions) - 1)]
        nearest = np.minimum(np.abs(times - before), np.abs(after - times))
        kinds[nearest <= occupancy_window_minutes * 60.0] = KIND_OCCUPANCY
    return kinds


def _days_with_similar(
    minute: NDArray[np.float64],
    day: NDArray[np.int64],
    new_values: NDArray[np.float64],
    old_values: NDArray[np.float64] | None,
    window_minutes: float,
    tolerance: float,
) -> NDArray[np.int64]:
    """For each change, on how many distinct days a similar change came (its own counts).

    Similar: within window_minutes of its local time of day (across midnight too), to (and
    from, with old_values) a value within tolerance. Each change is compared only with the
    changes near its time of day, a block of pairs at a time.
    """
    n = len(minute)
    counts = np.zeros(n, dtype=np.int64)
    by_minute = np.argsort(minute, kind="stable")
    # Each change three times, a day early and a day late too: a window across midnight is one range.
    shifted = np.concatenate([minute[by_minute] - 1440.0, minute[by_minute], minute[by_minute] + 1440.0])
    shifted_index = np.tile(by_minute, 3)
    margin = window_minutes + 1.0  # wider than the window: the exact test comes after
    for first in range(0, n, _ROWS_PER_BLOCK):
        pace()
        block = by_minute[first : first + _ROWS_PER_BLOCK]
        low = np.searchsorted(shifted, minute[block[0]] - margin, side="left")
        high = np.searchsorted(shifted, minute[block[-1]] + margin, side="right")
        # The candidates by day, so that a day's similar changes count once.
        candidates = shifted_index[low:high]
        candidates = candidates[np.argsort(day[candidates], kind="stable")]
        day_starts = np.flatnonzero(np.r_[True, np.diff(day[candidates]) != 0])
        rows_per_part = max(1, _PAIRS_PER_BLOCK // len(candidates))
        for part in range(0, len(block), rows_per_part):
            rows = block[part : part + rows_per_part]
            gap = np.abs(minute[rows, None] - minute[None, candidates])
            gap = np.minimum(gap, 1440.0 - gap)
            similar = (gap <= window_minutes) & (
                np.abs(new_values[rows, None] - new_values[None, candidates]) <= tolerance
            )
            if old_values is not None:
                similar &= np.abs(old_values[rows, None] - old_values[None, candidates]) <= tolerance
            counts[rows] = np.logical_or.reduceat(similar, day_starts, axis=1).sum(axis=1)
    return counts
