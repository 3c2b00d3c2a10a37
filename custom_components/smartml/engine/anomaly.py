"""Security anomalies: unusual activity in the home, explained, and taught by feedback.

The model learns, for each security entity (doors, windows, locks) and each area (any of
its occupancy sensors), how often activity starts in each context: the home's state
(occupied, empty, or night: occupied in the hours the home is quiet), weekday or weekend,
and hour of day. Rates are Poisson rates per hour with Bayesian shrinkage (a Gamma prior)
from the entity's overall rate to its rate in the state, the hour and the day type, so a
rare-but-normal event (a cat at night, a late return) is not mistaken for a never-seen one.

An event's surprise is -ln P(activity starts in that hour-long context). The alert
threshold is calibrated on the home's own history to a target false-alarm rate: contexts
are ranked by surprise and the threshold is the lowest one whose expected alerts per day,
at the rates the model learned, stay within the target (split over the entities).

Rules learned from the home's own data rather than fixed times:
- activity while everyone is away: the rate of activity in the empty state, and an arrival
  grace (how long before a presence entity turns home the door usually opens), so an
  entry is only reported when no arrival follows within that grace ("entry without
  arrival" for doors, "activity when empty" for areas);
- an unusual time: activity in a state and hour in which it (almost) never starts;
- open too long: a door or window open far longer than the longest opening seen.

`check` and `check_open_durations` are plain Python (no numpy) so that they may run in the
event loop; `fit` uses numpy and belongs in the executor. Feedback ("it was me") is plain
JSON: it raises the rate of the reported context (or the open-time limit) so the same
situation does not alert again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import hashlib
import math
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .constants import DAY_SECONDS
from .observations import ROLE_OCCUPANCY, ROLE_PRESENCE, ROLE_SECURITY, ObservationStore, entity_roles
from .pacing import pace
from .results import Anomaly
from .slots import local_weekday_seconds, state_at

KIND_SECURITY: Final = "security"

TYPE_ACTIVITY_WHEN_EMPTY: Final = "activity_when_empty"
TYPE_UNUSUAL_TIME: Final = "unusual_time"
TYPE_OPEN_TOO_LONG: Final = "open_too_long"
TYPE_ENTRY_WITHOUT_ARRIVAL: Final = "entry_without_arrival"
RATE_TYPES: Final = frozenset({TYPE_ACTIVITY_WHEN_EMPTY, TYPE_UNUSUAL_TIME, TYPE_ENTRY_WITHOUT_ARRIVAL})

STATE_OCCUPIED: Final = "occupied"
STATE_EMPTY: Final = "empty"
STATE_NIGHT: Final = "night"
STATES: Final = (STATE_OCCUPIED, STATE_EMPTY, STATE_NIGHT)
DAY_TYPES: Final = ("weekday", "weekend")

# The target false-alarm rate is multiplied by this per sensitivity.
SENSITIVITY_FACTORS: Final = {"low": 0.3, "medium": 1.0, "high": 3.0}
DEFAULT_TARGET_PER_DAY: Final = 1.0 / 14.0
# Share of the false-alarm budget for the rate model; door-held-open keeps the rest.
RATE_BUDGET_SHARE: Final = 0.75

HOUR_SECONDS: Final = 3_600.0
SLOT_SECONDS: Final = 900.0
DEFAULT_LEARNING_DAYS: Final = 6.0
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
# An area's activity starts when one of its sensors turns on after this long without any.
AREA_REFRACTORY_SECONDS: Final = 600.0
# A quiet hour: activity while home below this share of the mean hourly rate.
NIGHT_FRACTION: Final = 0.25
MIN_NIGHT_HOURS: Final = 3
# Arrival/departure grace: learned lags x this factor + margin, within these bounds.
GRACE_FACTOR: Final = 1.5
GRACE_MARGIN_SECONDS: Final = 60.0
GRACE_BOUNDS_SECONDS: Final = (120.0, 1800.0)
# Activity this close before an arrival / after a departure belongs to it.
TRANSITION_LOOK_SECONDS: Final = 3600.0
# Door held open: never alert before this, nor below this multiple of the longest opening.
MIN_OPEN_LIMIT_SECONDS: Final = 600.0
OPEN_LIMIT_FACTOR: Final = 2.0
FEEDBACK_OPEN_FACTOR: Final = 1.5
# Feedback: the reported context (and the neighbouring hours) gets a rate this many times
# the rate at the threshold, so it stays quiet.
FEEDBACK_RATE_FACTOR: Final = 4.0
FEEDBACK_VERSION: Final = 1
MIN_THRESHOLD: Final = 1.0


def _anomaly_id(kind: str, type_: str, key: str, ts: float) -> str:
    return hashlib.blake2s(f"{kind}|{type_}|{key}|{ts:.0f}".encode(), digest_size=6).hexdigest()


def friendly_name(entity_id: str) -> str:
    """A readable name from an entity id: binary_sensor.front_door -> Front door."""
    name = entity_id.partition(".")[2] or entity_id
    return name.replace("_", " ").strip().capitalize()


def surprise_of_rate(rate_per_hour: float) -> float:
    """-ln P(at least one start in an hour) for a Poisson rate."""
    p = -math.expm1(-max(rate_per_hour, 1e-12))
    return -math.log(max(p, 1e-300))


def rate_of_surprise(surprise: float) -> float:
    """Inverse of surprise_of_rate."""
    return -math.log1p(-math.exp(-surprise))


def _smooth_hours(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Spread each hour's evidence to its neighbours (circular over the last axis)."""
    left, centre, right = HOUR_SMOOTHING
    return centre * counts + left * np.roll(counts, 1, axis=-1) + right * np.roll(counts, -1, axis=-1)


def _distance_to_nearest(sorted_times: NDArray[np.float64], times: NDArray[np.float64]) -> NDArray[np.float64]:
    """Distance from each time to the nearest of sorted_times."""
    idx = np.searchsorted(sorted_times, times)
    before = sorted_times[np.clip(idx - 1, 0, len(sorted_times) - 1)]
    after = sorted_times[np.clip(idx, 0, len(sorted_times) - 1)]
    return np.asarray(np.minimum(np.abs(times - before), np.abs(after - times)))


def _hour_span(hour: int) -> str:
    return f"{hour % 24:02d}:00"


@dataclass(slots=True)
class _Source:
    """What the model knows about one security entity or area."""

    key: str
    label: str
    is_door: bool
    # rates[state][day_type][hour] (per hour) and the raw start counts behind them.
    rates: list[list[list[float]]]
    counts: list[list[list[float]]]
    events: int


class SecurityModel:
    """Learns when each door and area is normally active and flags what is not."""

    def __init__(
        self,
        sensitivity: str = "medium",
        target_false_alarms_per_day: float = DEFAULT_TARGET_PER_DAY,
        learning_days: float = DEFAULT_LEARNING_DAYS,
    ) -> None:
        """sensitivity: low / medium / high scales the target false-alarm rate."""
        if sensitivity not in SENSITIVITY_FACTORS:
            raise ValueError(f"unknown sensitivity {sensitivity!r}")
        self.sensitivity = sensitivity
        self.target_false_alarms_per_day = target_false_alarms_per_day
        self.learning_days = learning_days
        # Learned in fit.
        self.timezone_ = "UTC"
        self.days_ = 0.0
        self.sources_: dict[str, _Source] = {}
        self.entity_source_: dict[str, str] = {}
        self.presence_: list[str] = []
        self.night_hours_: list[bool] = [False] * 24
        self.exposure_: list[list[list[float]]] = []
        self.arrival_grace_s_ = GRACE_BOUNDS_SECONDS[0]
        self.departure_grace_s_ = GRACE_BOUNDS_SECONDS[0]
        self.open_limit_s_: dict[str, float] = {}
        self.longest_open_s_: dict[str, float] = {}
        self.threshold_ = math.inf
        self.fitted_ = False
        # Feedback and live state.
        self.feedback_: list[dict[str, Any]] = []
        self._presence: dict[str, float] = {}
        self._last_departure = -math.inf
        self._last_arrival = -math.inf
        self._open_since: dict[str, float] = {}
        self._open_flagged: set[str] = set()
        self._last_start: dict[str, float] = {}
        self._pending: list[tuple[float, Anomaly]] = []
        self._tz: ZoneInfo = ZoneInfo("UTC")

    # ------------------------------------------------------------------ fit (executor)
    def fit(
        self,
        store: ObservationStore,
        spec: Mapping[str, Any],
        now: float,
        occupancy: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
    ) -> None:
        """Learn rates, graces, open-time limits and the threshold from data before now.

        occupancy: optional function of times -> probability the home is occupied, used
        when the spec has no presence entity.
        """
        self.timezone_ = str(spec.get("timezone", "UTC"))
        self._tz = ZoneInfo(self.timezone_)
        roles = entity_roles(spec)
        self.presence_ = [e for e, r in roles.items() if r == ROLE_PRESENCE and e in store.channels]
        security = [e for e, r in roles.items() if r == ROLE_SECURITY]
        security += [e for e in spec.get(ROLE_SECURITY) or [] if e not in security]
        areas: dict[str, list[str]] = {
            name: [e for e in (body.get(ROLE_OCCUPANCY) or []) if e not in security]
            for name, body in (spec.get("areas") or {}).items()
        }
        span = store.time_span()
        start = span[0] if span else now
        self.days_ = max(0.0, (now - start) / DAY_SECONDS)
        grid: NDArray[np.float64] = np.arange(start - start % SLOT_SECONDS, now, SLOT_SECONDS, dtype=np.float64)
        if len(grid) < 2:
            self.fitted_ = False
            return

        home = self._home_series(store, grid + SLOT_SECONDS / 2, occupancy)
        departures, arrivals = self._transitions(store, now)
        hours, weekend = self._local_hour_weekend(grid + SLOT_SECONDS / 2)

        # Activity starts of each source before now.
        starts: dict[str, NDArray[np.float64]] = {}
        labels: dict[str, tuple[str, bool]] = {}
        self.entity_source_ = {}
        for entity_id in security:
            buf = store.channels.get(entity_id)
            key = f"entity:{entity_id}"
            starts[key] = self._starts([buf] if buf is not None else [], now, refractory=0.0)
            labels[key] = (friendly_name(entity_id), True)
            self.entity_source_[entity_id] = key
        for name, entities in areas.items():
            if not entities:
                continue
            key = f"area:{name}"
            bufs = [store.channels[e] for e in entities if e in store.channels]
            starts[key] = self._starts(bufs, now, refractory=AREA_REFRACTORY_SECONDS)
            labels[key] = (name.replace("_", " ").capitalize(), False)
            for entity_id in entities:
                self.entity_source_.setdefault(entity_id, key)

        self.arrival_grace_s_, self.departure_grace_s_ = self._graces(starts, departures, arrivals)
        self.night_hours_ = self._night_hours(starts, home, hours, grid)
        state_idx = self._state_index(home, hours)
        exposure = np.zeros((3, 2, 24))
        np.add.at(exposure, (state_idx, weekend, hours), SLOT_SECONDS / HOUR_SECONDS)
        self.exposure_ = exposure.tolist()

        self.sources_ = {}
        for key, times in starts.items():
            ctx = self._event_contexts(store, occupancy, times, departures, arrivals)
            counts = np.zeros((3, 2, 24))
            if len(ctx[0]):
                np.add.at(counts, ctx, 1.0)
            rates = self._rates(counts, exposure)
            self.sources_[key] = _Source(
                key, labels[key][0], labels[key][1], rates.tolist(), counts.tolist(), int(counts.sum())
            )

        self._fit_open_limits(store, security, now)
        self.threshold_ = self._calibrate(exposure)
        self._init_live(store, now)
        self.fitted_ = True
        self._apply_feedback()

    def _home_series(
        self,
        store: ObservationStore,
        times: NDArray[np.float64],
        occupancy: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None,
    ) -> NDArray[np.int8]:
        """1 home, 0 away, -1 unknown at each time."""
        pace()
        if self.presence_:
            states = np.vstack([state_at(store.channels[e], times, default=np.nan) for e in self.presence_])
            known = ~np.isnan(states).all(axis=0)
            anyone = np.nan_to_num(states, nan=0.0).max(axis=0) > 0.5
            return np.where(known, anyone.astype(np.int8), -1).astype(np.int8)
        if occupancy is not None:
            p = np.asarray(occupancy(times), dtype=np.float64)
            return np.where(np.isnan(p), -1, p >= 0.5).astype(np.int8)
        return np.full(len(times), -1, dtype=np.int8)

    def _transitions(self, store: ObservationStore, now: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Times everyone left (departures) and someone came back (arrivals)."""
        if not self.presence_:
            return np.zeros(0), np.zeros(0)
        change_times = np.unique(
            np.concatenate([np.frombuffer(store.channels[e].times, dtype=np.float64) for e in self.presence_])
        )
        change_times = change_times[change_times < now]
        if not len(change_times):
            return np.zeros(0), np.zeros(0)
        states = np.vstack([state_at(store.channels[e], change_times, default=0.0) for e in self.presence_])
        home = states.max(axis=0) > 0.5
        before = np.r_[home[0], home[:-1]]
        return change_times[before & ~home], change_times[~before & home]

    def _local_hour_weekend(self, times: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        weekday, seconds = local_weekday_seconds(times, self.timezone_)
        return np.floor(seconds / HOUR_SECONDS).astype(np.int64), (weekday >= 5).astype(np.int64)

    @staticmethod
    def _starts(bufs: Sequence[Any], now: float, refractory: float) -> NDArray[np.float64]:
        """Times activity started: off->on transitions, merged over sensors, debounced."""
        pace()
        parts = []
        for buf in bufs:
            t = np.frombuffer(buf.times, dtype=np.float64)
            v = np.frombuffer(buf.values, dtype=np.float64)
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

    def _graces(
        self,
        starts: Mapping[str, NDArray[np.float64]],
        departures: NDArray[np.float64],
        arrivals: NDArray[np.float64],
    ) -> tuple[float, float]:
        """How long activity precedes an arrival and follows a departure in this home."""
        everything = np.sort(np.concatenate([*starts.values(), np.zeros(0)]))
        low, high = GRACE_BOUNDS_SECONDS

        def grace(lags: list[float]) -> float:
            if not lags:
                return low
            return float(min(high, max(low, GRACE_FACTOR * max(lags) + GRACE_MARGIN_SECONDS)))

        arrival_lags: list[float] = []
        for ts in arrivals.tolist():
            before = everything[(everything <= ts) & (everything > ts - TRANSITION_LOOK_SECONDS)]
            previous_departure = departures[departures < ts]
            if previous_departure.size:
                before = before[before > previous_departure[-1]]
            if before.size:
                arrival_lags.append(ts - float(before[0]))
        arrival_grace = grace(arrival_lags)
        departure_lags: list[float] = []
        for ts in departures.tolist():
            after = everything[(everything >= ts) & (everything < ts + TRANSITION_LOOK_SECONDS)]
            next_arrival = arrivals[arrivals > ts]
            if next_arrival.size:
                # Activity that belongs to the next arrival is not the departure's.
                after = after[after < next_arrival[0] - arrival_grace]
            if after.size:
                departure_lags.append(float(after[-1]) - ts)
        return arrival_grace, grace(departure_lags)

    def _night_hours(
        self,
        starts: Mapping[str, NDArray[np.float64]],
        home: NDArray[np.int8],
        hours: NDArray[np.int64],
        grid: NDArray[np.float64],
    ) -> list[bool]:
        """Hours in which the occupied home is quiet: the longest circular run of low activity."""
        occupied = home != 0
        exposure = np.bincount(hours[occupied], minlength=24) * (SLOT_SECONDS / HOUR_SECONDS)
        everything = np.concatenate([*starts.values(), np.zeros(0)])
        slot = np.clip(np.searchsorted(grid, everything, side="right") - 1, 0, len(grid) - 1)
        slot = slot[occupied[slot]]
        counts = np.bincount(hours[slot], minlength=24).astype(np.float64)
        if exposure.sum() <= 0 or counts.sum() <= 0:
            return [False] * 24
        rate = _smooth_hours(counts) / np.maximum(_smooth_hours(exposure.astype(np.float64)), 1e-9)
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

    def _state_index(self, home: NDArray[np.int8], hours: NDArray[np.int64]) -> NDArray[np.int64]:
        night = np.asarray(self.night_hours_, dtype=bool)[hours]
        state = np.where(home == 0, STATES.index(STATE_EMPTY), STATES.index(STATE_OCCUPIED))
        return np.where((home != 0) & night, STATES.index(STATE_NIGHT), state).astype(np.int64)

    def _event_contexts(
        self,
        store: ObservationStore,
        occupancy: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None,
        times: NDArray[np.float64],
        departures: NDArray[np.float64],
        arrivals: NDArray[np.float64],
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """(state, day type, hour) of each start at its own moment.

        Starts that belong to an arrival or a departure (within the learned graces) are left out.
        """
        if not len(times):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        home = self._home_series(store, times, occupancy)
        hours, weekend = self._local_hour_weekend(times)
        state_idx = self._state_index(home, hours)
        # Activity within a grace of a departure or an arrival (either side) is that
        # departure or arrival, whatever the state the presence entities show at its moment.
        keep = np.ones(len(times), dtype=bool)
        for transitions, grace in ((departures, self.departure_grace_s_), (arrivals, self.arrival_grace_s_)):
            if len(transitions):
                keep &= _distance_to_nearest(transitions, times) > grace
        return state_idx[keep], weekend[keep], hours[keep]

    @staticmethod
    def _rates(counts: NDArray[np.float64], exposure: NDArray[np.float64]) -> NDArray[np.float64]:
        """Hierarchical Gamma-Poisson rates: overall -> state -> hour -> day type and hour."""
        total_n, total_e = counts.sum(), exposure.sum()
        overall = (total_n + 0.5) / (total_e + 1.0)
        state_n, state_e = counts.sum(axis=(1, 2)), exposure.sum(axis=(1, 2))
        prior = overall * np.asarray(STATE_PRIOR_SHARE)
        state = (state_n + PRIOR_HOURS_STATE * prior) / (state_e + PRIOR_HOURS_STATE)
        hour_n = _smooth_hours(np.asarray(counts.sum(axis=1), dtype=np.float64))
        hour_e = _smooth_hours(exposure.sum(axis=1))
        hour = (hour_n + PRIOR_HOURS_HOUR * state[:, None]) / (hour_e + PRIOR_HOURS_HOUR)
        day_n, day_e = _smooth_hours(counts), _smooth_hours(exposure)
        return np.asarray((day_n + PRIOR_HOURS_DAY_TYPE * hour[:, None, :]) / (day_e + PRIOR_HOURS_DAY_TYPE))

    def _fit_open_limits(self, store: ObservationStore, security: Sequence[str], now: float) -> None:
        self.open_limit_s_, self.longest_open_s_ = {}, {}
        for entity_id in security:
            buf = store.channels.get(entity_id)
            longest = 0.0
            if buf is not None and len(buf.times) > 1:
                t = np.frombuffer(buf.times, dtype=np.float64)
                v = np.frombuffer(buf.values, dtype=np.float64)
                on = (v[:-1] > 0.5) & (t[1:] <= now)
                if on.any():
                    longest = float(np.max(t[1:][on] - t[:-1][on]))
            self.longest_open_s_[entity_id] = longest
            self.open_limit_s_[entity_id] = max(MIN_OPEN_LIMIT_SECONDS, OPEN_LIMIT_FACTOR * longest)

    def _calibrate(self, exposure: NDArray[np.float64]) -> float:
        """Lowest surprise threshold whose expected alerts/day stay within each source's budget."""
        days = max(self.days_, 1.0)
        budget = self.target_false_alarms_per_day * SENSITIVITY_FACTORS[self.sensitivity] * RATE_BUDGET_SHARE
        per_source = budget / max(len(self.sources_), 1)
        thresholds = [MIN_THRESHOLD]
        for source in self.sources_.values():
            rates = np.asarray(source.rates).ravel()
            daily_exposure = exposure.ravel() / days
            surprise = -np.log(np.maximum(-np.expm1(-np.maximum(rates, 1e-12)), 1e-300))
            order = np.argsort(-surprise)
            # Expected alerts/day when every context at least this surprising alerts.
            expected = np.cumsum(rates[order] * daily_exposure[order])
            over = np.flatnonzero(expected > per_source)
            if over.size:
                # Alert only on contexts more surprising than the first one over budget.
                thresholds.append(float(surprise[order][over[0]]) + 1e-9)
        return max(thresholds)

    def _init_live(self, store: ObservationStore, now: float) -> None:
        self._presence = {}
        for entity_id in self.presence_:
            buf = store.channels[entity_id]
            if buf.times:
                self._presence[entity_id] = buf.values[-1]
        departures, arrivals = self._transitions(store, now)
        self._last_departure = float(departures[-1]) if len(departures) else -math.inf
        self._last_arrival = float(arrivals[-1]) if len(arrivals) else -math.inf
        self._open_since, self._open_flagged, self._pending = {}, set(), []
        for entity_id in self.open_limit_s_:
            door = store.channels.get(entity_id)
            if door is not None and door.values and door.values[-1] > 0.5:
                self._open_since[entity_id] = door.times[-1]
        self._last_start = {}

    # ------------------------------------------------------------------ status
    def ready(self) -> tuple[bool, str]:
        """Whether the learning period is over; the reason when not."""
        if not self.fitted_ or not self.sources_:
            return False, "no security entity or area with history yet"
        if self.days_ < self.learning_days:
            return False, f"learning: {self.days_:.1f} of {self.learning_days:g} days of history"
        return True, ""

    # ------------------------------------------------------------------ live checks (event loop)
    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(self._tz)

    def _home_state(self, ts: float, home_occupied: bool | None) -> str | None:
        """Occupied / empty / night, or None right after a departure (activity belongs to it)."""
        if self._presence:
            home: bool | None = any(v > 0.5 for v in self._presence.values())
        else:
            home = home_occupied
        if ts - self._last_departure <= self.departure_grace_s_ or ts - self._last_arrival <= self.arrival_grace_s_:
            return None  # part of a departure or an arrival
        if home is False:
            return STATE_EMPTY
        return STATE_NIGHT if self.night_hours_[self._local(ts).hour] else STATE_OCCUPIED

    def check(self, entity_id: str, value: float, ts: float, home_occupied: bool | None) -> Anomaly | None:
        """Score one new observation of a security, occupancy or presence entity (cheap)."""
        if entity_id in self.presence_:
            self._presence_changed(entity_id, value, ts)
            return None
        key = self.entity_source_.get(entity_id)
        if key is None or not self.fitted_:
            return None
        if entity_id in self.open_limit_s_:
            if value > 0.5:
                self._open_since.setdefault(entity_id, ts)
            else:
                self._open_since.pop(entity_id, None)
                self._open_flagged.discard(entity_id)
        if value <= 0.5:
            return None
        last = self._last_start.get(key, -math.inf)
        self._last_start[key] = ts
        source = self.sources_[key]
        if not source.is_door and ts - last < AREA_REFRACTORY_SECONDS:
            return None
        if not self.ready()[0]:
            return None
        state = self._home_state(ts, home_occupied)
        if state is None:
            return None
        anomaly = self._rate_anomaly(source, entity_id, state, ts)
        if anomaly is None:
            return None
        if self._presence:
            # An arrival (when away) or a departure (when home) that follows within the
            # grace explains the activity: wait for it before reporting.
            grace = self.arrival_grace_s_ if state == STATE_EMPTY else self.departure_grace_s_
            self._pending.append((ts + grace, anomaly))
            return None
        return anomaly

    def _presence_changed(self, entity_id: str, value: float, ts: float) -> None:
        was_home = any(v > 0.5 for v in self._presence.values())
        self._presence[entity_id] = value
        is_home = any(v > 0.5 for v in self._presence.values())
        if was_home and not is_home:
            self._last_departure = ts
            # Activity just before a departure was the departure.
            self._pending = [(due, a) for due, a in self._pending if a.ts < ts - self.departure_grace_s_]
        elif is_home and not was_home:
            self._last_arrival = ts
            # Activity just before an arrival was the arrival.
            self._pending = [(due, a) for due, a in self._pending if a.ts < ts - self.arrival_grace_s_]

    def _context_rate(self, source: _Source, state: str, ts: float) -> tuple[float, int, int]:
        local = self._local(ts)
        day_type = int(local.weekday() >= 5)
        hour = local.hour
        return source.rates[STATES.index(state)][day_type][hour], day_type, hour

    def _rate_anomaly(self, source: _Source, entity_id: str, state: str, ts: float) -> Anomaly | None:
        rate, day_type, hour = self._context_rate(source, state, ts)
        rate = max(rate, self._feedback_rate(source.key, state, hour))
        surprise = surprise_of_rate(rate)
        if surprise < self.threshold_:
            return None
        if state == STATE_EMPTY:
            type_ = TYPE_ENTRY_WITHOUT_ARRIVAL if source.is_door else TYPE_ACTIVITY_WHEN_EMPTY
        else:
            type_ = TYPE_UNUSUAL_TIME
        state_i = STATES.index(state)
        counts = source.counts[state_i]
        hour_counts = [counts[0][h] + counts[1][h] for h in range(24)]
        first, last = self._quiet_span(hour_counts, hour)
        seen = sum(hour_counts[h % 24] for h in range(first, last + 1))
        local = self._local(ts)
        facts: dict[str, Any] = {
            "source": source.key,
            "name": source.label,
            "entity_id": entity_id,
            "state": state,
            "hour": hour,
            "day_type": DAY_TYPES[day_type],
            "local_time": local.strftime("%H:%M"),
            "span_start": _hour_span(first),
            "span_end": _hour_span(last + 1),
            "times_seen_in_span": round(seen),
            "days_of_history": round(self.days_, 1),
            "expected_per_hour": round(rate, 5),
            "threshold": round(self.threshold_, 3),
        }
        if type_ in (TYPE_ENTRY_WITHOUT_ARRIVAL, TYPE_ACTIVITY_WHEN_EMPTY):
            facts["arrival_grace_minutes"] = round(self.arrival_grace_s_ / 60.0, 1)
        return Anomaly(
            id=_anomaly_id(KIND_SECURITY, type_, source.key, ts),
            kind=KIND_SECURITY,
            type=type_,
            entity_ids=[entity_id],
            ts=ts,
            score=round(surprise, 3),
            explanation=_explain(type_, source.is_door, facts),
            facts=facts,
        )

    @staticmethod
    def _quiet_span(hour_counts: Sequence[float], hour: int) -> tuple[int, int]:
        """The run of hours around `hour` as quiet as it (for the explanation)."""
        level = hour_counts[hour] + 0.5
        first = hour
        while first > hour - 23 and hour_counts[(first - 1) % 24] < level:
            first -= 1
        last = hour
        while last < first + 23 and hour_counts[(last + 1) % 24] < level:
            last += 1
        return first, last  # last == first + 23: the whole day

    def check_open_durations(self, now: float) -> list[Anomaly]:
        """Doors held open too long, and entries while away that no arrival explained.

        Call periodically (every minute or so); each situation is reported once.
        """
        out: list[Anomaly] = []
        if self._pending:
            due = [a for t, a in self._pending if t <= now]
            self._pending = [(t, a) for t, a in self._pending if t > now]
            out.extend(due)
        if not self.fitted_ or not self.ready()[0]:
            return out
        for entity_id, since in list(self._open_since.items()):
            limit = self.open_limit_s_.get(entity_id, math.inf)
            if entity_id in self._open_flagged or now - since < limit:
                continue
            self._open_flagged.add(entity_id)
            longest = self.longest_open_s_.get(entity_id, 0.0)
            facts = {
                "source": f"entity:{entity_id}",
                "name": friendly_name(entity_id),
                "entity_id": entity_id,
                "open_since": self._local(since).strftime("%H:%M"),
                "open_minutes": round((now - since) / 60.0, 1),
                "longest_open_minutes": round(longest / 60.0, 1),
                "limit_minutes": round(limit / 60.0, 1),
                "days_of_history": round(self.days_, 1),
            }
            out.append(
                Anomaly(
                    id=_anomaly_id(KIND_SECURITY, TYPE_OPEN_TOO_LONG, entity_id, since),
                    kind=KIND_SECURITY,
                    type=TYPE_OPEN_TOO_LONG,
                    entity_ids=[entity_id],
                    ts=now,
                    score=round((now - since) / limit, 3),
                    explanation=_explain(TYPE_OPEN_TOO_LONG, True, facts),
                    facts=facts,
                )
            )
        return out

    # ------------------------------------------------------------------ feedback
    def _feedback_rate(self, key: str, state: str, hour: int) -> float:
        rate = 0.0
        for item in self.feedback_:
            if item.get("source") == key and item.get("state") == state:
                distance = abs(int(item.get("hour", -99)) - hour) % 24
                if min(distance, 24 - distance) <= 1:
                    rate = max(rate, FEEDBACK_RATE_FACTOR * rate_of_surprise(self.threshold_))
        return rate

    def add_feedback(self, anomaly: Anomaly | Mapping[str, Any]) -> None:
        """The user says this anomaly was normal: do not alert on the same situation again."""
        record = anomaly if isinstance(anomaly, Anomaly) else Anomaly.from_dict(anomaly)
        facts = record.facts
        item: dict[str, Any] = {"type": record.type, "ts": record.ts, "entity_ids": list(record.entity_ids)}
        for name in ("source", "state", "hour", "entity_id", "open_minutes"):
            if name in facts:
                item[name] = facts[name]
        self.feedback_.append(item)
        self._apply_item(item)

    def _apply_item(self, item: Mapping[str, Any]) -> None:
        if item.get("type") == TYPE_OPEN_TOO_LONG:
            entity_id = str(item.get("entity_id", ""))
            minutes = float(item.get("open_minutes", 0.0))
            if entity_id in self.open_limit_s_:
                self.open_limit_s_[entity_id] = max(
                    self.open_limit_s_[entity_id], FEEDBACK_OPEN_FACTOR * minutes * 60.0
                )
        # Rate feedback is read in _feedback_rate.

    def _apply_feedback(self) -> None:
        for item in self.feedback_:
            self._apply_item(item)

    def feedback_as_dict(self) -> dict[str, Any]:
        """Feedback as plain JSON for the store."""
        return {"version": FEEDBACK_VERSION, "items": [dict(item) for item in self.feedback_]}

    def load_feedback(self, data: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> None:
        """Restore feedback: feedback_as_dict output, or a list of anomaly dicts marked normal."""
        self.feedback_ = []
        if not data:
            return
        items: Iterable[Mapping[str, Any]]
        items = data.get("items", []) if isinstance(data, Mapping) else data
        for item in items:
            if not isinstance(item, Mapping):
                continue
            if "facts" in item:  # an anomaly dict
                try:
                    self.add_feedback(item)
                except (KeyError, TypeError, ValueError):
                    continue
            elif "type" in item:
                self.feedback_.append(dict(item))
                self._apply_item(item)


_STATE_PHRASES: Final = {
    STATE_EMPTY: "while everyone was away",
    STATE_NIGHT: "at night while the home was occupied",
    STATE_OCCUPIED: "while someone was home",
}


def _times(count: int) -> str:
    return "never" if count == 0 else ("only once" if count == 1 else f"only {count} times")


def _explain(type_: str, is_door: bool, facts: Mapping[str, Any]) -> str:
    """Plain English built from the facts (the facts stay beside it for translation)."""
    days = f"{facts.get('days_of_history', 0):g}"
    name = facts.get("name", "")
    if type_ == TYPE_OPEN_TOO_LONG:
        return (
            f"{name} has been open for {facts['open_minutes']:g} minutes since {facts['open_since']}; "
            f"in {days} days it was never open longer than {facts['longest_open_minutes']:g} minutes."
        )
    state = facts["state"]
    what = f"{name} opened" if is_door else f"Activity in {name}"
    verb = "opened" if is_door else "been active"
    seen = int(facts["times_seen_in_span"])
    when = (
        "at any time of day"
        if facts["span_start"] == facts["span_end"]
        else f"between {facts['span_start']} and {facts['span_end']}"
    )
    text = (
        f"{what} at {facts['local_time']}; in {days} days it has {_times(seen)} {verb} {when} {_STATE_PHRASES[state]}."
    )
    if type_ in (TYPE_ENTRY_WITHOUT_ARRIVAL, TYPE_ACTIVITY_WHEN_EMPTY):
        text += f" Nobody arrived within {facts['arrival_grace_minutes']:g} minutes."
    return text
