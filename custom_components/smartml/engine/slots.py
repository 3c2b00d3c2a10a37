"""Time-slot binning in the home's time zone (numpy; executor only).

Slots are aligned in UTC; every real time-zone offset is a multiple of 15 minutes, so a
15-minute (or coarser divisor of an hour) slot grid is aligned in local time too. Local
time of week is computed per slot start, so DST transitions are exact: the repeated
autumn hour maps twice to the same local slots and the skipped spring hour never occurs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
import math
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS, DEFAULT_SLOT_MINUTES
from .observations import ChannelBuffer, ObservationStore
from .pacing import pace


def slots_per_week(slot_minutes: int) -> int:
    """Number of time-of-week slots."""
    return 7 * 24 * 60 // slot_minutes


def slot_grid(start_ts: float, end_ts: float, slot_minutes: int) -> NDArray[np.float64]:
    """Slot start times (epoch seconds) covering [start_ts, end_ts)."""
    step = slot_minutes * 60
    first = start_ts - start_ts % step
    return np.arange(first, end_ts, step, dtype=np.float64)


def slot_middles(start: float, end: float, slot_minutes: int = DEFAULT_SLOT_MINUTES) -> NDArray[np.float64]:
    """Middles of the slots from the one holding `start` up to `end`."""
    step = slot_minutes * 60.0
    first = start - start % step
    return np.asarray(np.arange(first, end, step) + step / 2.0, dtype=np.float64)


def buffer_arrays(buf: ChannelBuffer) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A channel's times and values as read-only arrays over its buffers (no copy)."""
    return np.frombuffer(buf.times, dtype=np.float64), np.frombuffer(buf.values, dtype=np.float64)


def first_change(store: ObservationStore, entities: Iterable[str], now: float) -> float | None:
    """When the record of these entities' activity starts: the first change of any before now.

    A channel's first point may be the state in force when its record began, kept with its
    old time (a window shut for months): only a change shows the sensor was being recorded.
    """
    firsts: list[float] = []
    for entity_id in entities:
        if entity_id not in store.channels:
            continue
        t, v = buffer_arrays(store.channels[entity_id])
        changed = np.flatnonzero((v[1:] != v[:-1]) & (t[1:] < now))
        if changed.size:
            firsts.append(float(t[changed[0] + 1]))
    return min(firsts, default=None)


def _utc_offset(ts: float, tz: ZoneInfo) -> float:
    offset = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0


def local_times(times: NDArray[np.float64], tz_name: str) -> NDArray[np.float64]:
    """Each time (epoch seconds, any order) as local wall-clock seconds in the zone.

    The zone is asked once per day spanned, and once per time only on the days its offset
    changes: exact across DST transitions and cheap for weeks of slots.
    """
    pace()
    times = np.asarray(times, dtype=np.float64)
    if not len(times):
        return times.copy()
    tz = ZoneInfo(tz_name)
    day = np.floor(times / DAY_SECONDS)
    first = float(day.min())
    index = (day - first).astype(np.int64)
    # Offsets at the start of each day and of the day after the last.
    offsets = np.array([_utc_offset((first + d) * DAY_SECONDS, tz) for d in range(int(index.max()) + 2)])
    out = offsets[index]
    changing = np.flatnonzero(offsets[:-1] != offsets[1:])
    if len(changing):
        exact = np.flatnonzero(np.isin(index, changing))
        out[exact] = [_utc_offset(ts, tz) for ts in times[exact].tolist()]
    return np.asarray(times + out, dtype=np.float64)


def local_weekday_seconds(times: NDArray[np.float64], tz_name: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Local weekday (Monday 0) and seconds since local midnight of each time."""
    local = local_times(times, tz_name)
    days = np.floor(local / DAY_SECONDS)
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return weekday, local - days * DAY_SECONDS


def time_of_week(starts: NDArray[np.float64], tz_name: str, slot_minutes: int) -> NDArray[np.int64]:
    """Local time-of-week slot index (Monday 00:00 = 0) of each slot start."""
    weekday, seconds = local_weekday_seconds(starts, tz_name)
    minute_of_day = np.floor(seconds / 60.0).astype(np.int64)
    return np.asarray(weekday * (24 * 60 // slot_minutes) + minute_of_day // slot_minutes, dtype=np.int64)


def counted(times: NDArray[np.float64], spans: Sequence[tuple[float, float]]) -> NDArray[np.bool_]:
    """Whether each time lies outside the excluded spans (sorted, non-overlapping [start, end))."""
    if not spans:
        return np.ones(len(times), dtype=bool)
    bounds = np.asarray(spans, dtype=np.float64).ravel()
    # Inside a span exactly when an odd number of bounds lie at or before the time.
    return np.asarray(np.searchsorted(bounds, times, side="right") % 2 == 0, dtype=np.bool_)


def binary_occupied(buf: ChannelBuffer, starts: NDArray[np.float64], slot_seconds: float) -> NDArray[np.bool_]:
    """Whether the channel was on at any moment of each slot (an on-interval overlaps it).

    A state channel holds transitions: value v from times[i] until times[i+1].
    """
    pace()
    occupied = np.zeros(len(starts), dtype=bool)
    if not len(buf.times) or not len(starts):
        return occupied
    times = np.frombuffer(buf.times, dtype=np.float64)
    values = np.frombuffer(buf.values, dtype=np.float64)
    on = values > 0.5
    ends = np.append(times[1:], np.inf)
    grid_start, n = starts[0], len(starts)
    # Each on-interval [t_i, end_i) marks slots first..last inclusive; a difference
    # array makes this O(intervals + slots).
    first = np.floor((times[on] - grid_start) / slot_seconds).astype(np.int64)
    last_edge = ends[on]
    last = np.ceil((np.minimum(last_edge, starts[-1] + slot_seconds) - grid_start) / slot_seconds).astype(np.int64) - 1
    # An instantaneous on (start == end) still occupies its own slot.
    last = np.maximum(last, first)
    keep = (last >= 0) & (first < n)
    first, last = np.clip(first[keep], 0, n - 1), np.clip(last[keep], 0, n - 1)
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, first, 1)
    np.add.at(diff, last + 1, -1)
    return np.asarray(np.cumsum(diff[:-1]) > 0)


def binary_changed(buf: ChannelBuffer, starts: NDArray[np.float64], slot_seconds: float) -> NDArray[np.bool_]:
    """Whether the channel changed state at some moment of each slot."""
    changed = np.zeros(len(starts), dtype=bool)
    if len(buf.times) < 2 or not len(starts):
        return changed
    times = np.frombuffer(buf.times, dtype=np.float64)[1:]
    index = np.floor((times - starts[0]) / slot_seconds).astype(np.int64)
    changed[index[(index >= 0) & (index < len(starts))]] = True
    return changed


def last_reading(
    times: NDArray[np.float64], values: NDArray[np.float64], at: NDArray[np.float64], max_age: float = math.inf
) -> NDArray[np.float64]:
    """Last reading at or before each time; NaN before the first or when older than max_age."""
    pace()
    if not len(times):
        return np.full(len(at), np.nan)
    idx = np.searchsorted(times, at, side="right") - 1
    safe = np.clip(idx, 0, None)
    fresh = (idx >= 0) & (at - times[safe] <= max_age)
    return np.where(fresh, values[safe], np.nan)


def state_at(buf: ChannelBuffer, times: NDArray[np.float64], default: float = np.nan) -> NDArray[np.float64]:
    """The channel's value in force at each time (last change at or before it)."""
    pace()
    if not len(buf.times):
        return np.full(len(times), default)
    t = np.frombuffer(buf.times, dtype=np.float64)
    v = np.frombuffer(buf.values, dtype=np.float64)
    idx = np.searchsorted(t, times, side="right") - 1
    out = np.where(idx >= 0, v[np.clip(idx, 0, None)], default)
    return out.astype(np.float64)


def slot_mean(buf: ChannelBuffer, starts: NDArray[np.float64], slot_seconds: float) -> NDArray[np.float64]:
    """Mean of a numeric channel's points in each slot; NaN where there are none."""
    pace()
    n = len(starts)
    if not len(buf.times) or not n:
        return np.full(n, np.nan)
    t = np.frombuffer(buf.times, dtype=np.float64)
    v = np.frombuffer(buf.values, dtype=np.float64)
    idx = np.floor((t - starts[0]) / slot_seconds).astype(np.int64)
    keep = (idx >= 0) & (idx < n)
    sums = np.bincount(idx[keep], weights=v[keep], minlength=n)
    counts = np.bincount(idx[keep], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
