"""Fitting the security model's rates: activity starts, their contexts, and the learned rules.

Rates are Poisson rates per hour with Bayesian shrinkage (a Gamma prior) from a source's
overall rate to its rate in the home's state, the hour and the day type, so a
rare-but-normal event (a cat at night, a late return) is not mistaken for a never-seen one.
Besides the rates, the home's own data gives the hours the occupied home is quiet (its
night), the graces around arrivals and departures, and how long each door is held open.

numpy; runs in the executor, within the model's fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from .constants import HOUR_SECONDS
from .observations import ChannelBuffer, ObservationStore
from .pacing import pace
from .security_context import (
    LEAVING_MAX_SECONDS,
    RUN_GAP_SECONDS,
    STATE_EMPTY,
    STATE_NIGHT,
    STATE_OCCUPIED,
    STATES,
    TRANSITION_LOOK_SECONDS,
)
from .slots import buffer_arrays, local_weekday_seconds, state_at

# The probability that the home is occupied at each time (the occupancy model's answer).
OccupancyOf = Callable[[NDArray[np.float64]], NDArray[np.float64]]

SLOT_SECONDS: Final = 900.0
SLOTS_PER_DAY: Final = 96
# Gamma-prior strengths (hours of exposure) of each shrinkage level.
PRIOR_HOURS_STATE: Final = 4.0
PRIOR_HOURS_HOUR: Final = 1.0
PRIOR_HOURS_DAY_TYPE: Final = 1.0
# Prior mean of each state's rate as a share of the overall rate, before the home's data
# speaks: a home whose people are all away is expected to be quiet (a pet soon shows in
# the counts), the night as quiet as the hours that define it.
STATE_PRIOR_SHARE: Final = (1.0, 0.02, 0.25)
# Half the weight of each hour's evidence goes to its neighbours: routines are not exact.
HOUR_SMOOTHING: Final = (0.25, 0.5, 0.25)
# A quiet hour: activity while home below this share of the mean hourly rate.
NIGHT_FRACTION: Final = 0.25
MIN_NIGHT_HOURS: Final = 3
# Arrival/departure graces: a high quantile of the learned lags + a margin, within bounds.
# A quantile rather than the longest lag, so that one phone that took 40 minutes does not
# hold every report back for 40 minutes; a high one, because each arrival slower than the
# grace is a false alarm: a home arrives about twice a day, and one arrival in fifty is
# about one a month. Chosen on van Kasteren 2008 (door lags 5 s to 3 min), checked on
# Ordóñez home A (all lags within the 2-minute floor).
GRACE_QUANTILE: Final = 0.98
# A door opening long after everyone left is more often a return than a slow leaving (and
# the return is what a doubted time away is made of), so departures take a lower quantile.
DEPARTURE_GRACE_QUANTILE: Final = 0.9
GRACE_MARGIN_SECONDS: Final = 60.0
GRACE_BOUNDS_SECONDS: Final = (120.0, 1800.0)
# A leaving takes at least this long after the presence says away (shoes, keys, the door):
# a few past leavings say little about the slowest one, and a door opening minutes after
# everyone left is their own. A phone's presence turns away after the door, so it costs
# nothing there. Only what follows a departure waits this long; activity while home waits
# for a departure that would explain it no longer than the home's own lags. Chosen on van
# Kasteren 2010 house C, whose labels turn away 2 to 2.5 minutes before the door.
MIN_DEPARTURE_GRACE_SECONDS: Final = 300.0
# Door held open: never alert before this, nor below this multiple of the longest opening.
MIN_OPEN_LIMIT_SECONDS: Final = 600.0
OPEN_LIMIT_FACTOR: Final = 2.0


def smooth_hours(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Spread each hour's evidence to its neighbours (circular over the last axis)."""
    left, centre, right = HOUR_SMOOTHING
    return centre * counts + left * np.roll(counts, 1, axis=-1) + right * np.roll(counts, -1, axis=-1)


def near_moments(
    sorted_moments: NDArray[np.float64], times: NDArray[np.float64], before: float, after: float
) -> NDArray[np.bool_]:
    """Whether each time is at most `before` ahead of one of the moments or `after` behind one."""
    if not len(sorted_moments):
        return np.zeros(len(times), dtype=bool)
    idx = np.searchsorted(sorted_moments, times, side="right")
    last = len(sorted_moments) - 1
    previous = sorted_moments[np.clip(idx - 1, 0, last)]
    following = sorted_moments[np.clip(idx, 0, last)]
    return np.asarray(((idx > 0) & (times - previous <= after)) | ((idx <= last) & (following - times <= before)))


def home_series(
    store: ObservationStore, presence: Sequence[str], times: NDArray[np.float64], occupancy: OccupancyOf | None
) -> NDArray[np.int8]:
    """1 home, 0 away, -1 unknown at each time: by the presence entities, else the occupancy model."""
    pace()
    if presence:
        states = np.vstack([state_at(store.channels[e], times, default=np.nan) for e in presence])
        known = ~np.isnan(states).all(axis=0)
        anyone = np.nan_to_num(states, nan=0.0).max(axis=0) > 0.5
        return np.where(known, anyone.astype(np.int8), -1).astype(np.int8)
    if occupancy is not None:
        p = np.asarray(occupancy(times), dtype=np.float64)
        return np.where(np.isnan(p), -1, p >= 0.5).astype(np.int8)
    return np.full(len(times), -1, dtype=np.int8)


def latest_readings(store: ObservationStore, entities: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Each entity's latest reading in the store, (time, value); a live watch starts from these."""
    return {
        e: (store.channels[e].times[-1], store.channels[e].values[-1])
        for e in entities
        if e in store.channels and store.channels[e].times
    }


def transitions(
    store: ObservationStore, presence: Sequence[str], now: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times everyone left (departures) and someone came back (arrivals)."""
    if not presence:
        return np.zeros(0), np.zeros(0)
    change_times = np.unique(np.concatenate([buffer_arrays(store.channels[e])[0] for e in presence]))
    change_times = change_times[change_times < now]
    if not len(change_times):
        return np.zeros(0), np.zeros(0)
    states = np.vstack([state_at(store.channels[e], change_times, default=0.0) for e in presence])
    return _leaving_and_return(change_times, states.max(axis=0) > 0.5)


def own_changes(
    store: ObservationStore, presence: Sequence[str], now: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Times any one person left or came back by their own presence entity, (departures, arrivals).

    With one person these are the home's transitions; with more, one person leaving while
    another stays in is a coming or going through the door too.
    """
    departures: list[NDArray[np.float64]] = [np.zeros(0)]
    arrivals: list[NDArray[np.float64]] = [np.zeros(0)]
    for entity_id in presence:
        t, v = buffer_arrays(store.channels[entity_id])
        left, came = _leaving_and_return(t[t < now], v[t < now] > 0.5)
        departures.append(left)
        arrivals.append(came)
    return np.sort(np.concatenate(departures)), np.sort(np.concatenate(arrivals))


def _leaving_and_return(
    times: NDArray[np.float64], home: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The times home turned away, and turned home, from one reading to the next."""
    before = np.r_[home[:1], home[:-1]]
    return times[before & ~home], times[~before & home]


def local_hour_weekend(times: NDArray[np.float64], timezone: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Local hour and whether it is a weekend day, at each time."""
    weekday, seconds = local_weekday_seconds(times, timezone)
    return np.floor(seconds / HOUR_SECONDS).astype(np.int64), (weekday >= 5).astype(np.int64)


def activity_starts(bufs: Sequence[ChannelBuffer], now: float, refractory: float) -> NDArray[np.float64]:
    """Times activity started: off->on transitions, merged over sensors, debounced."""
    pace()
    parts = []
    for buf in bufs:
        t, v = buffer_arrays(buf)
        on = v > 0.5
        prev = np.r_[False, on[:-1]]
        parts.append(t[on & ~prev])
    times = np.sort(np.concatenate(parts)) if parts else np.zeros(0)
    times = times[times < now]
    if refractory > 0 and len(times) > 1:
        # Keep a start only after `refractory` seconds without any; the chain is
        # sequential, so walk it (starts are few).
        keep = np.zeros(len(times), dtype=bool)
        last = -math.inf
        for i, ts in enumerate(times.tolist()):
            keep[i] = ts - last >= refractory
            last = ts
        times = times[keep]
    return times


def _grace(lags: Sequence[float], quantile: float = GRACE_QUANTILE) -> float:
    """A high quantile of the lags plus a margin, within bounds; one slow phone does not set it."""
    low, high = GRACE_BOUNDS_SECONDS
    if not lags:
        return low
    lag = float(np.quantile(np.asarray(lags), quantile, method="higher"))
    return float(min(high, max(low, lag + GRACE_MARGIN_SECONDS)))


def _arrival_lags(
    markers: NDArray[np.float64],
    departures: NDArray[np.float64],
    arrivals: NDArray[np.float64],
    doubted: Sequence[tuple[float, float]],
    earliest: bool,
) -> list[float]:
    """Seconds from the first (earliest) or last marker in the hour before each arrival to it.

    earliest: the first marker of the run that leads up to the arrival (markers less than
    RUN_GAP_SECONDS apart).

    Arrivals that end a doubted time away (the resident had come back long before the
    presence entity said so) are not arrivals' lags and are left out.
    """
    doubted_ends = {back for _, back in doubted}
    lags: list[float] = []
    for ts in arrivals.tolist():
        if ts in doubted_ends:
            continue
        before = markers[(markers <= ts) & (markers > ts - TRANSITION_LOOK_SECONDS)]
        previous_departure = departures[departures < ts]
        if previous_departure.size:
            before = before[before > previous_departure[-1]]
        if not before.size:
            lags.append(0.0)  # the presence came first
            continue
        if earliest:
            # The run of activity that leads up to the arrival, not a stray event an hour before.
            gaps = np.flatnonzero(np.diff(np.r_[before, ts]) > RUN_GAP_SECONDS)
            start = int(gaps[-1]) + 1 if gaps.size else 0
            # No run when the last gap is the one before the arrival itself.
            lags.append(ts - float(before[start]) if start < before.size else 0.0)
        else:
            lags.append(ts - float(before[-1]))
    return lags


def graces(
    starts: Mapping[str, NDArray[np.float64]],
    departures: NDArray[np.float64],
    arrivals: NDArray[np.float64],
    doubted: Sequence[tuple[float, float]] = (),
    doors: Sequence[str] = (),
) -> tuple[float, float]:
    """How long activity precedes an arrival and follows a departure in this home.

    doors: keys of `starts` that are doors. People leave through a door, so where there are
    doors the departure's lag runs to the first door opening after it: activity in the home
    half an hour after everyone left is not the leaving.
    """
    everything = np.sort(np.concatenate([*starts.values(), np.zeros(0)]))
    door_starts = [starts[key] for key in doors if key in starts]
    leaving = np.sort(np.concatenate(door_starts)) if door_starts else everything
    arrival_grace = _grace(_arrival_lags(everything, departures, arrivals, doubted, earliest=True))
    departure_lags: list[float] = []
    doubted_starts = {departed for departed, _ in doubted}
    for ts in departures.tolist():
        if any(ts < first < ts + TRANSITION_LOOK_SECONDS for first in doubted_starts):
            continue  # the door that opened after it was a return
        after = leaving[(leaving >= ts) & (leaving < ts + TRANSITION_LOOK_SECONDS)]
        next_arrival = arrivals[arrivals > ts]
        if next_arrival.size:
            # Activity that belongs to the next arrival is not the departure's.
            after = after[after < next_arrival[0] - arrival_grace]
        # Through a door, the leaving is its first opening (the openings that follow it
        # closely are the leaving going on: `leaving_doors`); without doors, the last sound
        # of the home. Nothing after: the leaving came first.
        departure_lags.append(float(after[0] if door_starts else after[-1]) - ts if after.size else 0.0)
    return arrival_grace, _grace(departure_lags, DEPARTURE_GRACE_QUANTILE)


def leaving_doors(
    door_starts: NDArray[np.float64], departures: NDArray[np.float64], arrivals: NDArray[np.float64], grace: float
) -> NDArray[np.float64]:
    """Door openings after a departure that are the leaving going on (several trips).

    The first opening within the departure grace, then each within RUN_GAP_SECONDS of the
    last, before the next arrival and within LEAVING_MAX_SECONDS of the departure.
    """
    doors = np.sort(door_starts)
    out: list[float] = []
    for ts in departures.tolist():
        later = arrivals[arrivals > ts]
        back = float(later[0]) if later.size else math.inf
        last, limit = ts, grace
        for opened in doors[(doors > ts) & (doors <= ts + LEAVING_MAX_SECONDS) & (doors < back)].tolist():
            if opened - last > limit:
                break
            out.append(opened)
            last, limit = opened, RUN_GAP_SECONDS
    # Departures close together (an arrival between them not counted) share trips.
    return np.unique(np.asarray(out, dtype=np.float64))


def entry_grace(
    door_starts: NDArray[np.float64],
    departures: NDArray[np.float64],
    arrivals: NDArray[np.float64],
    doubted: Sequence[tuple[float, float]],
    arrival_grace: float,
) -> float:
    """How long after a door opens a resident's presence turns home (at most the arrival grace).

    An entry is reported once this has passed with nobody arriving: people come in through
    the door, so the door, not the first sound in the home, starts the clock.
    """
    if not len(door_starts):
        return arrival_grace
    lags = _arrival_lags(door_starts, departures, arrivals, doubted, earliest=False)
    return min(arrival_grace, _grace(lags))


def night_hours(
    starts: Mapping[str, NDArray[np.float64]],
    home: NDArray[np.int8],
    hours: NDArray[np.int64],
    grid: NDArray[np.float64],
    kept: NDArray[np.bool_],
) -> list[bool]:
    """Hours in which the occupied home is quiet: the longest circular run of low activity.

    kept: the slots that count (an excluded period's do not).
    """
    occupied = (home != 0) & kept
    exposure = np.bincount(hours[occupied], minlength=24) * (SLOT_SECONDS / HOUR_SECONDS)
    everything = np.concatenate([*starts.values(), np.zeros(0)])
    slot = np.clip(np.searchsorted(grid, everything, side="right") - 1, 0, len(grid) - 1)
    slot = slot[occupied[slot]]
    counts = np.bincount(hours[slot], minlength=24).astype(np.float64)
    if exposure.sum() <= 0 or counts.sum() <= 0:
        return [False] * 24
    rate = smooth_hours(counts) / np.maximum(smooth_hours(exposure.astype(np.float64)), 1e-9)
    quiet = rate < NIGHT_FRACTION * (counts.sum() / exposure.sum())
    if quiet.all():
        return [False] * 24
    # Longest circular run of quiet hours.
    best_len, best_start = 0, 0
    for first in range(24):
        if quiet[first] and not quiet[(first - 1) % 24]:
            length = 0
            while quiet[(first + length) % 24] and length < 24:
                length += 1
            if length > best_len:
                best_len, best_start = length, first
    if best_len < MIN_NIGHT_HOURS:
        return [False] * 24
    night = [False] * 24
    for offset in range(best_len):
        night[(best_start + offset) % 24] = True
    return night


def state_index(home: NDArray[np.int8], hours: NDArray[np.int64], night: Sequence[bool]) -> NDArray[np.int64]:
    """Index in STATES of the home's state at each time (unknown counts as occupied)."""
    is_night = np.asarray(night, dtype=bool)[hours]
    state = np.where(home == 0, STATES.index(STATE_EMPTY), STATES.index(STATE_OCCUPIED))
    return np.where((home != 0) & is_night, STATES.index(STATE_NIGHT), state).astype(np.int64)


def exposure_by_day_hours(
    home: NDArray[np.int8],
    hours: NDArray[np.int64],
    weekend: NDArray[np.int64],
    night: Sequence[bool],
    kept: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Hours spent in each context per day of the slot grid, [day][state][day type][hour].

    kept: the slots that count (an excluded period's do not).
    """
    day = np.arange(len(home)) // SLOTS_PER_DAY
    exposure = np.zeros((int(day[-1]) + 1 if len(day) else 0, 3, 2, 24))
    np.add.at(exposure, (day, state_index(home, hours, night), weekend, hours), kept * (SLOT_SECONDS / HOUR_SECONDS))
    return exposure


def start_contexts(
    times: NDArray[np.float64],
    home: NDArray[np.int8],
    timezone: str,
    night: Sequence[bool],
    transitions_graced: Sequence[tuple[NDArray[np.float64], float, float]],
    is_door: bool,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """The activity starts a source's rates learn from, their contexts, and which could alert.

    home: the home's state at each start. A start within a grace of a departure or an
    arrival (`transitions_graced`: the moments, and how long before and after each a start
    belongs to it, as the live watch reads them) is that departure or arrival, whatever
    state the presence entities show at its moment. An
    area's are left out. A door's are kept as openings with someone home, so that its rates
    while home say when people come and go (a door opening at 19:00 is ordinary where people
    come home then; at 02:00 it is not), but they never alert: they are the transition.
    Returns (times, [state, day type, hour] of each as a 3 x n array, whether it could alert).
    """
    if not len(times):
        return times, np.zeros((3, 0), dtype=np.int64), np.zeros(0, dtype=bool)
    hours, weekend = local_hour_weekend(times, timezone)
    graced = np.zeros(len(times), dtype=bool)
    for moments, before, after in transitions_graced:
        graced |= near_moments(moments, times, before, after)
    if is_door:
        home = np.where(graced, 1, home).astype(np.int8)
        keep = np.ones(len(times), dtype=bool)
    else:
        keep = ~graced
    states = state_index(home, hours, night)
    contexts = np.vstack([states[keep], weekend[keep], hours[keep]])
    return times[keep], contexts, ~graced[keep]


def count_contexts(contexts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Activity starts in each context, [state][day type][hour]."""
    counts = np.zeros((3, 2, 24))
    np.add.at(counts, (contexts[0], contexts[1], contexts[2]), 1.0)
    return counts


def doubted_spells(
    door_starts: NDArray[np.float64],
    departures: NDArray[np.float64],
    arrivals: NDArray[np.float64],
    graces_s: tuple[float, float],
    now: float,
    activity: NDArray[np.float64] | None = None,
) -> list[tuple[float, float]]:
    """Times away in which someone evidently came back in: (first sign of it, arrival).

    A door opening while everyone is away that neither the departure (its grace, or another
    trip out: `leaving_doors`) nor the arrival explains is, in a home's past, far more often
    a resident whose phone still said away than a burglar. After a leaving of several trips,
    activity in the home once the last trip's grace is over (`activity`: the areas' starts)
    is the same sign: someone went back in and stayed. From that sign to the next arrival
    the presence was wrong and the home counts as occupied, so that the model does not learn
    that the empty home is used. (Live, the first such sign alerts; `security_live` then
    doubts the presence for the rest of the time away once the home stays in use.)
    """
    departure_grace, arrival_grace = graces_s
    leaving = leaving_doors(door_starts, departures, arrivals, departure_grace)
    unexplained = door_starts[~np.isin(door_starts, leaving)]
    inside_activity = np.sort(activity) if activity is not None else np.zeros(0)
    out: list[tuple[float, float]] = []
    for departed in departures.tolist():
        later = arrivals[arrivals > departed]
        back = float(later[0]) if later.size else now
        until = back - arrival_grace
        signs = [unexplained[(unexplained > departed + departure_grace) & (unexplained < until)]]
        trips = leaving[(leaving > departed + departure_grace) & (leaving < back)]
        if trips.size:
            signs.append(inside_activity[(inside_activity > trips[-1] + departure_grace) & (inside_activity < until)])
        first = min((float(times[0]) for times in signs if times.size), default=None)
        if first is not None:
            out.append((first, back))
    return out


def with_doubt(
    home: NDArray[np.int8], times: NDArray[np.float64], doubted: Sequence[tuple[float, float]]
) -> NDArray[np.int8]:
    """The home's state with the doubted spells (from their first opening) counted as occupied."""
    out = home.copy()
    for first, back in doubted:
        out[(times >= first) & (times < back) & (out == 0)] = 1
    return out


def hierarchical_rates(counts: NDArray[np.float64], exposure: NDArray[np.float64]) -> NDArray[np.float64]:
    """Hierarchical Gamma-Poisson rates: overall -> state -> hour -> day type and hour.

    The last three axes are [state][day type][hour]; any leading axes are a batch (the
    held-out calibration fits one set of rates per day left out).
    """
    total_n = counts.sum(axis=(-3, -2, -1), keepdims=True)
    total_e = exposure.sum(axis=(-3, -2, -1), keepdims=True)
    overall = (total_n + 0.5) / (total_e + 1.0)
    state_n, state_e = counts.sum(axis=(-2, -1), keepdims=True), exposure.sum(axis=(-2, -1), keepdims=True)
    prior = overall * np.asarray(STATE_PRIOR_SHARE)[:, None, None]
    state = (state_n + PRIOR_HOURS_STATE * prior) / (state_e + PRIOR_HOURS_STATE)
    hour_n = smooth_hours(counts.sum(axis=-2, keepdims=True))
    hour_e = smooth_hours(exposure.sum(axis=-2, keepdims=True))
    hour = (hour_n + PRIOR_HOURS_HOUR * state) / (hour_e + PRIOR_HOURS_HOUR)
    day_n, day_e = smooth_hours(counts), smooth_hours(exposure)
    return np.asarray((day_n + PRIOR_HOURS_DAY_TYPE * hour) / (day_e + PRIOR_HOURS_DAY_TYPE))


def longest_openings(store: ObservationStore, security: Sequence[str], now: float) -> dict[str, float]:
    """Each security entity's longest time open before now (seconds; 0 when never seen open)."""
    out: dict[str, float] = {}
    for entity_id in security:
        buf = store.channels.get(entity_id)
        longest = 0.0
        if buf is not None and len(buf.times) > 1:
            t, v = buffer_arrays(buf)
            on = (v[:-1] > 0.5) & (t[1:] <= now)
            if on.any():
                longest = float(np.max(t[1:][on] - t[:-1][on]))
        out[entity_id] = longest
    return out


def open_limit(longest_seconds: float) -> float:
    """How long a door may stay open before it is reported, from its longest opening."""
    return max(MIN_OPEN_LIMIT_SECONDS, OPEN_LIMIT_FACTOR * longest_seconds)
