"""The home's consumption as series: a 15-minute power grid and complete hours (numpy; executor only).

Consumption comes from energy meters (cumulative kWh, resets handled) or, without meters,
from power sensors (W), put on one 15-minute power grid; hours are sums of that grid.
An hourly series from the recorder's long-term statistics can be passed in as well; it
fills the hours the observations do not cover. Nothing here learns: the energy model,
its detectors and the replays all read the home through these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .constants import HOUR_SECONDS as HOUR
from .observations import (
    KIND_MEAN,
    NUMERIC_BUCKET_SECONDS,
    ROLE_ENERGY,
    ROLE_OUTDOOR,
    ROLE_POWER,
    ChannelBuffer,
    ObservationStore,
)
from .pacing import pace
from .slots import buffer_arrays, counted, local_weekday_seconds

GRID_SECONDS: Final = 900.0  # the power grid: 15 minutes
GRID_PER_HOUR: Final = 4
WEEK_HOURS: Final = 168
# A meter gap longer than this leaves the hours it spans unknown instead of smearing them,
# unless the meter held still over it: then it used (nearly) nothing.
MAX_METER_GAP: Final = 2 * HOUR
STEP_TOLERANCE: Final = 1.000001  # float rounding of a display step
HIGH_RATE_QUANTILE: Final = 0.99  # a meter's usual highest rate, past a reset's jump
# A power sensor reports on change; its last value holds at most this long.
MAX_POWER_HOLD: Final = 2 * HOUR

# A meter reset is a drop below this share of the last reading, as Home Assistant's own
# statistics read a total_increasing sensor; a smaller dip is a meter's rounding or re-read.
RESET_FRACTION: Final = 0.9
# A drop that the next few readings climb back from (a meter read as 0 for a moment) is a
# glitch, not a reset: a reset meter counts up from its new value.
GLITCH_READINGS: Final = 3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
# (hour starts, values): hourly kWh from long-term statistics, or occupancy probabilities.
HourlyValues = tuple[Sequence[float], Sequence[float]]


def meter_consumption(values: FloatArray) -> FloatArray:
    """Running consumption (kWh from the first reading) of a cumulative meter.

    A drop below RESET_FRACTION of the last reading means the meter was reset: its new value
    is what was used since, unless the next readings climb back (a glitch, held at the last
    good reading). A smaller dip (rounding, a re-read) uses nothing.
    """
    v = np.array(values, dtype=np.float64)
    if not len(v):
        return v
    for i in np.flatnonzero(v[1:] < RESET_FRACTION * v[:-1]).tolist():
        before = v[i]
        after = v[i + 2 : i + 2 + GLITCH_READINGS]
        back = np.flatnonzero(after >= RESET_FRACTION * before)
        if len(back):  # the glitch's readings take the last good one
            v[i + 1 : i + 2 + int(back[0])] = before
    steps = np.diff(v)
    reset = v[1:] < RESET_FRACTION * v[:-1]
    steps = np.where(steps < 0.0, np.where(reset, v[1:], 0.0), steps)
    return np.concatenate(([0.0], np.cumsum(steps)))


def still_rise(times: FloatArray, total: FloatArray) -> float:
    """The most a meter may rise over a gap in which it held still (kWh).

    Held still, it shows its last reading, or one display step more (the smallest rise it
    shows); the reading after the gap is the last of its aggregation bucket, so it holds
    what the meter counted in that bucket too (at most its usual highest rate).
    """
    rises, spans = np.diff(total), np.diff(times)
    shown = rises > 0.0
    if not shown.any():
        return 0.0
    close = shown & (spans <= MAX_METER_GAP)
    rate = float(np.quantile(rises[close] / spans[close], HIGH_RATE_QUANTILE)) if close.any() else 0.0
    return float(rises[shown].min()) * STEP_TOLERANCE + rate * NUMERIC_BUCKET_SECONDS


def _meter_grid(
    times: FloatArray, values: FloatArray, edges: FloatArray, stands_until: float | None = None
) -> FloatArray:
    """Energy (kWh) used between consecutive edges (len(edges) - 1), NaN where readings are too sparse.

    A meter is written only when its reading changes: a long gap over which it rose no more
    than a still meter does (see still_rise) used (nearly) nothing, and is known.
    stands_until: the meter is available then, so its last reading still stands until then.
    """
    pace()
    out = np.full(len(edges) - 1, np.nan)
    if stands_until is not None and len(times) and stands_until > times[-1]:
        times, values = np.append(times, stands_until), np.append(values, values[-1])
    if len(times) < 2:
        return out
    total = meter_consumption(values)
    at = np.interp(edges, times, total)
    seg = np.searchsorted(times, edges, side="right") - 1
    inside = (seg >= 0) & (edges <= times[-1])
    seg_c = np.clip(seg, 0, len(times) - 1)
    nxt = np.clip(seg_c + 1, 0, len(times) - 1)
    gap = np.where(times[seg_c] == edges, 0.0, times[nxt] - times[seg_c])
    still = total[nxt] - total[seg_c] <= still_rise(times, total)
    ok_edge = inside & ((gap <= MAX_METER_GAP) | still)
    ok = ok_edge[:-1] & ok_edge[1:]
    out[ok] = np.diff(at)[ok]
    return out


def _power_grid(
    times: FloatArray, values: FloatArray, starts: FloatArray, hold: float, last_stands: bool = False
) -> FloatArray:
    """Mean W over each grid slot from a power channel's points (step-hold, 5-min sub-steps).

    last_stands: the sensor is available at the grid's end, so its last value holds to it.
    """
    pace()
    sub = 3
    offsets = (np.arange(sub) + 0.5) * GRID_SECONDS / sub
    probe = (starts[:, None] + offsets[None, :]).ravel()
    idx = np.searchsorted(times, probe, side="right") - 1
    held = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    age = probe - times[np.clip(idx, 0, None)]
    recent = age <= hold
    if last_stands:
        recent |= idx == len(times) - 1
    held = np.where((idx >= 0) & recent, held, np.nan)
    grid = held.reshape(len(starts), sub)
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(grid), axis=1)
        mean = np.nansum(grid, axis=1) / np.maximum(count, 1)
    return np.where(count * 2 >= sub, mean, np.nan)


def _points_until(buf: ChannelBuffer, until: float) -> tuple[FloatArray, FloatArray]:
    """A channel's points up to `until` (included), with the open bucket's newest point."""
    times, values = buffer_arrays(buf)
    if buf.bucket_count and (not len(times) or buf.bucket_start > times[-1]):
        # The open aggregation bucket (not flushed yet) holds the newest point.
        value = buf.bucket_value / buf.bucket_count if buf.kind == KIND_MEAN else buf.bucket_value
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
    store: ObservationStore,
    spec: Mapping[str, Any],
    start: float,
    end: float,
    hold: float = MAX_POWER_HOLD,
    available: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """The home's mean power (W) on the 15-min grid covering [start, end); only data before end.

    hold: how long a power sensor's last value stands.
    available: the entities are available at `end` (it is now), so their last readings still
    stand then: Home Assistant writes no new state while a reading stays the same.

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
        times, values = _points_until(store.channels[entity_id], end)
        if not len(times) or not len(starts):
            continue
        if role == ROLE_ENERGY:
            edges = np.append(starts, starts[-1] + GRID_SECONDS)
            kwh = _meter_grid(times, values, edges, end if available else None)
            watts = kwh * 1000.0 * (HOUR / GRID_SECONDS)
        else:
            watts = _power_grid(times, values, starts, hold, available)
        ok = np.isfinite(watts)
        total[ok] += watts[ok]
        known |= ok
    return starts, np.where(known, total, np.nan)


def used_between(store: ObservationStore, spec: Mapping[str, Any], start: float, end: float) -> float:
    """Energy (kWh) measured in [start, end) from the power grid; NaN when not measured."""
    if end <= start:
        return 0.0
    _, watts = power_grid(store, spec, start, end + GRID_SECONDS)
    if not len(watts) or not np.isfinite(watts).any():
        return math.nan
    slots = min(len(watts), max(1, math.ceil((end - start) / GRID_SECONDS)))
    w = watts[:slots]
    return float(np.nanmean(w)) * (end - start) / HOUR / 1000.0


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
    starts: FloatArray, kwh: FloatArray, external: HourlyValues | None, end: float
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
    times, values = _points_until(buf, end)
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


def hour_of_week(starts: FloatArray, tz_name: str) -> tuple[IntArray, IntArray]:
    """(local hour of week 0..167 with Monday 00:00 = 0, local hour of day) of hour starts."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    weekday, seconds = local_weekday_seconds(starts, tz_name)
    hod = np.floor(seconds / HOUR).astype(np.int64)
    return weekday * 24 + hod, hod


@dataclass(slots=True)
class HourlySeries:
    """A contiguous hourly consumption series with its calendar and optional covariates."""

    starts: FloatArray
    y: FloatArray  # kWh, NaN unknown
    how: IntArray
    hod: IntArray
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

    def without(self, spans: Sequence[tuple[float, float]]) -> HourlySeries:
        """The series with the hours of excluded periods unknown (they teach nothing)."""
        if not spans:
            return self
        y = np.where(counted(self.starts + HOUR / 2, spans), self.y, np.nan)
        return HourlySeries(self.starts, y, self.how, self.hod, self.temp, self.occ)


def hourly_series(
    store: ObservationStore,
    spec: Mapping[str, Any],
    end: float,
    hourly: HourlyValues | None,
    occupancy_hourly: HourlyValues | None,
    since: float | None = None,
) -> HourlySeries:
    """The hourly series (consumption, outdoor temperature, occupancy) of complete hours before end.

    hourly: (hour starts, kWh) from long-term statistics; occupancy_hourly: (hour starts,
    probability the home is occupied) observed in the past.
    """
    span = store.time_span()
    begin = span[0] if span else end
    if since is not None:
        begin = max(begin, since)
    stop = math.floor(end / HOUR) * HOUR
    if stop > begin:
        starts, kwh = hourly_from_grid(*power_grid(store, spec, math.floor(begin / HOUR) * HOUR, stop))
    else:
        starts, kwh = np.zeros(0), np.zeros(0)
    grid, y = merge_hourly(starts, kwh, hourly, stop)
    outdoor = spec.get(ROLE_OUTDOOR)
    temp = _hourly_channel_mean(store.channels.get(outdoor) if outdoor else None, grid, stop)
    occ = None
    if occupancy_hourly is not None and len(grid):
        occ = np.full(len(grid), np.nan)
        o_s = np.asarray(occupancy_hourly[0], dtype=np.float64)
        o_v = np.asarray(occupancy_hourly[1], dtype=np.float64)
        idx = np.round((o_s - grid[0]) / HOUR).astype(np.int64)
        ok = (idx >= 0) & (idx < len(grid))
        occ[idx[ok]] = o_v[ok]
    return HourlySeries.build(grid, y, str(spec.get("timezone", "UTC")), temp, occ)
