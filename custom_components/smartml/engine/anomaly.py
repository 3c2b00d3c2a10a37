"""Security anomalies: unusual activity in the home, explained by facts, and taught by feedback.

The model learns, for each security entity (doors, windows, locks) and each area (any of
its occupancy sensors), how often activity starts in each context: the home's state
(occupied, empty, or night: occupied in the hours the home is quiet), weekday or weekend,
and hour of day (`security_context.py`, rates fitted in `security_rates.py`).

An event's surprise is -ln P(activity starts in that hour-long context). What may alert:
any activity while everyone is away; with someone home, only a door, window or lock
opening (its rates while home count comings and goings, so an opening at an hour people
come and go is ordinary). The threshold is calibrated out of sample: each past day scored
by rates fitted on the other days, to a target false-alarm rate (`security_threshold.py`).

Rules learned from the home's own data rather than fixed times:
- graces around arrivals and departures: how long before the presence turns home the door
  opens (an entry is reported once that has passed with nobody arriving), how long
  activity leads up to an arrival, how long after the presence says away the door closes;
- times away in which someone evidently came back (a door opening no transition explains)
  are learned as occupied: the presence was wrong, and live the watch doubts it for the
  rest of such a time away (`security_live.py`);
- an unusual time: a door opening in a state and hour in which it (almost) never happens;
- open too long: a door or window open far longer than the longest opening seen.

`check` and `check_open_durations` are plain Python (`security_live.py`) so that they may
run in the event loop; `fit` uses numpy and belongs in the executor. Feedback ("it was me")
is plain JSON (`security_feedback.py`). Anomalies carry typed facts (`facts.py`); their
words are rendered at the edge (`explain.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from .constants import (
    DAY_SECONDS,
    DEFAULT_SENSITIVITY,
    KIND_SECURITY,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_TIME,
    JsonObject,
)
from .facts import AREA_SOURCE_PREFIX, ENTITY_SOURCE_PREFIX, area_label, friendly_name
from .observations import ROLE_OCCUPANCY, ROLE_PRESENCE, ROLE_SECURITY, ObservationStore, entity_roles, security_doors
from .results import (
    REASON_LEARNING_DAYS,
    REASON_SECURITY_CALIBRATION,
    REASON_SECURITY_NO_SOURCES,
    Anomaly,
    Reason,
    days_had,
)
from .security_context import AREA_REFRACTORY_SECONDS, SecurityLearned, SecuritySource, alerting_states
from .security_feedback import (
    FEEDBACK_VERSION,
    FeedbackItem,
    SavedFeedback,
    feedback_item,
    raise_open_limit,
    saved_items,
)
from .security_live import SecurityWatch, doubt_in_history
from .security_rates import (
    GRACE_BOUNDS_SECONDS,
    MIN_DEPARTURE_GRACE_SECONDS,
    SLOT_SECONDS,
    OccupancyOf,
    activity_starts,
    count_contexts,
    doubted_spells,
    entry_grace,
    exposure_by_day_hours,
    graces,
    hierarchical_rates,
    home_series,
    latest_readings,
    leaving_doors,
    local_hour_weekend,
    longest_openings,
    night_hours,
    open_limit,
    own_changes,
    start_contexts,
    transitions,
    with_doubt,
)
from .security_threshold import (
    DEFAULT_TARGET_PER_DAY,
    SENSITIVITY_FACTORS,
    HeldOutCalibration,
    held_out_maxima,
    held_out_threshold,
    min_threshold,
    source_thresholds,
    start_days,
)
from .slots import counted, first_change

__all__ = [
    "KIND_SECURITY",
    "TYPE_ACTIVITY_WHEN_EMPTY",
    "TYPE_ENTRY_WITHOUT_ARRIVAL",
    "TYPE_OPEN_TOO_LONG",
    "TYPE_PRESENCE_DOUBT",
    "TYPE_UNUSUAL_TIME",
    "Anomaly",
    "SecurityLearned",
    "SecurityModel",
]

DEFAULT_LEARNING_DAYS: Final = 6.0
ALARM_PANEL_PREFIX: Final = "alarm_control_panel."
# A day of the history counts in the held-out calibration when it has this many hours.
FULL_DAY_HOURS: Final = 20.0


class SecurityModel:
    """Learns when each door and area is normally active and flags what is not."""

    def __init__(
        self,
        sensitivity: str = DEFAULT_SENSITIVITY,
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
        self.sources_: dict[str, SecuritySource] = {}
        self.entity_source_: dict[str, str] = {}
        self.presence_: list[str] = []
        self.night_hours_: list[bool] = [False] * 24
        self.exposure_: list[list[list[float]]] = []
        self.arrival_grace_s_ = GRACE_BOUNDS_SECONDS[0]
        self.departure_grace_s_ = MIN_DEPARTURE_GRACE_SECONDS
        # How long activity while home waits for a departure that would explain it.
        self.departure_wait_s_ = GRACE_BOUNDS_SECONDS[0]
        self.entry_grace_s_ = GRACE_BOUNDS_SECONDS[0]
        self.open_limit_s_: dict[str, float] = {}
        self.longest_open_s_: dict[str, float] = {}
        self.threshold_ = math.inf
        self.calibration_ = HeldOutCalibration(math.inf, 0, 0)
        # When the presence entity came into doubt in the time away still going on at the fit.
        self.doubt_since_: float | None = None
        self.fitted_ = False
        # Feedback, and the live side once fitted.
        self.feedback_: list[FeedbackItem] = []
        self.watch_ = SecurityWatch(self, {}, -math.inf, -math.inf, {})

    def fit(
        self, store: ObservationStore, spec: Mapping[str, Any], now: float, occupancy: OccupancyOf | None = None
    ) -> None:
        """Learn rates, graces, open-time limits and the threshold from data before now.

        occupancy: optional function of times -> probability the home is occupied, used
        when the spec has no presence entity.
        """
        self.timezone_ = str(spec.get("timezone", "UTC"))
        roles = entity_roles(spec)
        self.presence_ = [e for e, r in roles.items() if r == ROLE_PRESENCE and e in store.channels]
        security = [e for e, r in roles.items() if r == ROLE_SECURITY]
        security += [e for e in spec.get(ROLE_SECURITY) or [] if e not in security]
        openers = set(security_doors(spec))
        doors = [e for e in security if e in openers]
        areas: dict[str, list[str]] = {
            name: [e for e in (body.get(ROLE_OCCUPANCY) or []) if e not in security]
            for name, body in (spec.get("areas") or {}).items()
        }
        # Days before the doors and rooms were recorded (another entity's older history, a
        # state kept from long ago) are no quiet days.
        watched = [*security, *(e for entities in areas.values() for e in entities)]
        start = first_change(store, watched, now) or now
        self.days_ = max(0.0, (now - start) / DAY_SECONDS)
        grid: NDArray[np.float64] = np.arange(start - start % SLOT_SECONDS, now, SLOT_SECONDS, dtype=np.float64)
        if len(grid) < 2:
            self.fitted_ = False
            return

        home = home_series(store, self.presence_, grid + SLOT_SECONDS / 2, occupancy)
        # The watch goes on from the latest transitions; learning skips excluded periods.
        transitions_in_copy = transitions(store, self.presence_, math.inf)
        last_departures, last_arrivals = (times[times < now] for times in transitions_in_copy)
        own_in_copy = own_changes(store, self.presence_, math.inf)
        own_departures, own_arrivals = (times[times < now] for times in own_in_copy)
        hours, weekend = local_hour_weekend(grid + SLOT_SECONDS / 2, self.timezone_)

        # Activity starts of each source before now.
        starts: dict[str, NDArray[np.float64]] = {}
        labels: dict[str, tuple[str, bool]] = {}
        self.entity_source_ = {}
        for entity_id in security:
            buf = store.channels.get(entity_id)
            key = f"{ENTITY_SOURCE_PREFIX}{entity_id}"
            # A motion sensor of the list is scored as an area is: its own source, the area's pace.
            is_door = entity_id in doors
            refractory = 0.0 if is_door else AREA_REFRACTORY_SECONDS
            starts[key] = activity_starts([buf] if buf is not None else [], now, refractory=refractory)
            labels[key] = (friendly_name(entity_id), is_door)
            self.entity_source_[entity_id] = key
        for name, entities in areas.items():
            if not entities:
                continue
            key = f"{AREA_SOURCE_PREFIX}{name}"
            bufs = [store.channels[e] for e in entities if e in store.channels]
            starts[key] = activity_starts(bufs, now, refractory=AREA_REFRACTORY_SECONDS)
            labels[key] = (area_label(name), False)
            for entity_id in entities:
                self.entity_source_.setdefault(entity_id, key)

        # What happened in an excluded period teaches nothing: neither its activity nor its hours.
        spans = store.excluded_spans([*self.presence_, *self.entity_source_])
        starts = {key: times[counted(times, spans)] for key, times in starts.items()}
        departures, arrivals = (times[counted(times, spans)] for times in (last_departures, last_arrivals))
        counted_slots = counted(grid + SLOT_SECONDS / 2, spans)
        door_keys = [self.entity_source_[e] for e in doors]
        door_starts = np.sort(np.concatenate([starts[key] for key in door_keys] or [np.zeros(0)]))
        # Graces learn from the counted transitions; what a time away holds pairs each
        # departure with its own arrival, counted or not.
        doubted = self._learn_transitions(
            starts, door_keys, door_starts, (departures, arrivals), (last_departures, last_arrivals), now
        )
        home = with_doubt(home, grid + SLOT_SECONDS / 2, doubted)
        # Another trip out through the door is still the leaving, as the live watch reads it.
        leaving = leaving_doors(door_starts, last_departures, last_arrivals, self.departure_grace_s_)
        self.night_hours_ = night_hours(starts, home, hours, grid, counted_slots)
        exposure_by_day = exposure_by_day_hours(home, hours, weekend, self.night_hours_, counted_slots)
        exposure = exposure_by_day.sum(axis=0)
        self.exposure_ = exposure.tolist()

        self.sources_ = {}
        held_out: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]] = []
        for key, times in starts.items():
            home_then = with_doubt(home_series(store, self.presence_, times, occupancy), times, doubted)
            label, is_door = labels[key]
            kept, contexts, could_alert = start_contexts(
                times,
                home_then,
                self.timezone_,
                self.night_hours_,
                (
                    (last_departures, self.departure_wait_s_, self.departure_grace_s_),
                    (leaving if is_door else np.zeros(0), 0.0, self.departure_grace_s_),
                    # A door waits for an arrival as long as the live watch lets it.
                    (last_arrivals, self.entry_grace_s_ if is_door else self.arrival_grace_s_, self.arrival_grace_s_),
                    # One person coming or going while another stays in uses the door too.
                    *(
                        (
                            (own_departures, self.departure_wait_s_, self.departure_grace_s_),
                            (own_arrivals, self.entry_grace_s_, self.arrival_grace_s_),
                        )
                        if is_door
                        else ()
                    ),
                ),
                is_door,
            )
            counts = count_contexts(contexts)
            could_alert &= np.isin(contexts[0], alerting_states(is_door))
            held_out.append((start_days(kept, grid), contexts, could_alert))
            rates = hierarchical_rates(counts, exposure)
            self.sources_[key] = SecuritySource(key, label, is_door, rates.tolist(), counts.tolist(), int(counts.sum()))
        full_days = exposure_by_day.sum(axis=(1, 2, 3)) >= FULL_DAY_HOURS
        maxima = held_out_maxima(held_out, exposure_by_day)
        busiest = maxima.max(axis=0, initial=0.0)
        # Half the target for the home's threshold, half for the doors and areas whose own
        # days allow a lower one: together they stay within it.
        share = self.target_false_alarms_per_day / 2
        self.calibration_ = held_out_threshold(busiest, full_days, share, self.sensitivity)
        self.threshold_ = max(min_threshold(self.sensitivity), self.calibration_.threshold)
        thresholds = source_thresholds(maxima, full_days, share, self.sensitivity, self.threshold_)
        for key, threshold in zip(list(self.sources_), thresholds, strict=True):
            self.sources_[key].threshold = threshold
        # Live, only an unexplained door starts the doubt before an alert is told: activity
        # after a second trip out may be a pet, and must not keep the next fit quiet.
        still = doubted[-1] if doubted and doubted[-1][1] >= now else None
        self.doubt_since_ = still[0] if still is not None and still[0] in door_starts else None

        # A disarmed alarm panel is the household in, not something held open.
        held_open = [e for e in doors if not e.startswith(ALARM_PANEL_PREFIX)]
        self.longest_open_s_ = longest_openings(store, held_open, now)
        self.open_limit_s_ = {e: open_limit(longest) for e, longest in self.longest_open_s_.items()}
        activity = np.sort(np.concatenate([np.zeros(0), *starts.values()]))
        self.watch_ = self._start_watch(store, (last_departures, last_arrivals), transitions_in_copy, leaving, activity)
        self.watch_.own_departure, self.watch_.own_arrival = (
            float(times[-1]) if len(times) else -math.inf for times in own_in_copy
        )
        self.fitted_ = True
        for item in self.feedback_:
            raise_open_limit(item, self.open_limit_s_)

    def _learn_transitions(
        self,
        starts: Mapping[str, NDArray[np.float64]],
        door_keys: list[str],
        door_starts: NDArray[np.float64],
        counted_transitions: tuple[NDArray[np.float64], NDArray[np.float64]],
        all_transitions: tuple[NDArray[np.float64], NDArray[np.float64]],
        now: float,
    ) -> list[tuple[float, float]]:
        """Learn the arrival, departure and entry graces; the doubted times away.

        door_starts: the doors' opening times, sorted. counted_transitions: (departures,
        arrivals) outside excluded periods, the graces' evidence; all_transitions: every
        one, so that each time away ends at its own arrival.
        Graces and doubted times away depend on each other: graces first from every
        arrival, then again without the arrivals that ended a doubted time away.
        """
        departures, arrivals = counted_transitions
        activity = np.concatenate([times for key, times in starts.items() if key not in door_keys] or [np.zeros(0)])
        doubted: list[tuple[float, float]] = []
        for _ in range(2):
            self.arrival_grace_s_, self.departure_wait_s_ = graces(starts, departures, arrivals, doubted, door_keys)
            self.departure_grace_s_ = max(self.departure_wait_s_, MIN_DEPARTURE_GRACE_SECONDS)
            graces_s = (self.departure_grace_s_, self.arrival_grace_s_)
            doubted = doubted_spells(door_starts, *all_transitions, graces_s, now, activity)
        self.entry_grace_s_ = entry_grace(door_starts, departures, arrivals, doubted, self.arrival_grace_s_)
        return doubted

    def _start_watch(
        self,
        store: ObservationStore,
        fitted_transitions: tuple[NDArray[np.float64], NDArray[np.float64]],
        transitions_in_copy: tuple[NDArray[np.float64], NDArray[np.float64]],
        leaving: NDArray[np.float64],
        activity: NDArray[np.float64],
    ) -> SecurityWatch:
        """The live side, from the latest presence and door readings and the last leaving.

        The copy of the observations may hold readings after the fit's time: the watch
        starts from them all, and a departure or an arrival among them ends what the fit
        learned of the time away before it (its doubt, its leaving).
        """
        readings = latest_readings(store, [*self.presence_, *self.open_limit_s_])
        last_departure, last_arrival = (float(times[-1]) if len(times) else -math.inf for times in transitions_in_copy)
        # The fit's transitions are the copy's before now: the same count, none came after.
        same_time_away = all(
            len(fitted) == len(in_copy) for fitted, in_copy in zip(fitted_transitions, transitions_in_copy, strict=True)
        )
        return SecurityWatch(
            self,
            {e: value for e, (_, value) in readings.items() if e in self.presence_},
            last_departure=last_departure,
            last_arrival=last_arrival,
            open_since={e: ts for e, (ts, value) in readings.items() if e in self.open_limit_s_ and value > 0.5},
            doubt=doubt_in_history(
                self.doubt_since_ if same_time_away else None,
                activity[activity > (self.doubt_since_ or math.inf)].tolist(),
            ),
            leaving_last=float(np.max(leaving, initial=last_departure)) if same_time_away else None,
            seen={e: ts for e, (ts, _) in readings.items()},
        )

    def live_state(self) -> JsonObject:
        """What must outlive a restart: the alerts still waiting for their grace."""
        return {"pending": self.watch_.pending_as_json()}

    def restore_live(self, saved: Mapping[str, Any]) -> None:
        """After a fit: alerts that waited before a restart wait on, unless a coming or going explained them."""
        pending = saved.get("pending")
        if isinstance(pending, list):
            self.watch_.restore_pending(pending)

    def ready(self) -> tuple[bool, Reason | None]:
        """Whether the learning period is over; the reason when not."""
        if not self.fitted_ or not self.sources_:
            return False, Reason(REASON_SECURITY_NO_SOURCES)
        if self.days_ < self.learning_days:
            return False, Reason(
                REASON_LEARNING_DAYS, {"days": days_had(self.days_), "needed": f"{self.learning_days:g}"}
            )
        return True, None

    def calibration_note(self) -> Reason | None:
        """Why the false-alarm target cannot be met yet, while the history is too short."""
        calibration = self.calibration_
        if not self.fitted_ or calibration.days >= calibration.days_needed:
            return None
        return Reason(
            REASON_SECURITY_CALIBRATION, {"days": str(calibration.days), "needed": str(calibration.days_needed)}
        )

    def learned(self) -> SecurityLearned:
        """The threshold, night, graces, open limits and sources learned in the last fit."""
        return SecurityLearned(
            threshold=self.threshold_,
            night_hours=tuple(h for h, quiet in enumerate(self.night_hours_) if quiet),
            arrival_grace_s=self.arrival_grace_s_,
            entry_grace_s=self.entry_grace_s_,
            departure_grace_s=self.departure_grace_s_,
            departure_wait_s=self.departure_wait_s_,
            open_limit_s=dict(self.open_limit_s_),
            sources=tuple(sorted(self.sources_)),
            source_thresholds={key: source.threshold for key, source in sorted(self.sources_.items())},
            calibration_days=self.calibration_.days,
            calibration_days_needed=self.calibration_.days_needed,
        )

    # ------------------------------------------------------------------ live checks (event loop)
    def check(self, entity_id: str, value: float, ts: float) -> Anomaly | None:
        """Score one new observation of a security, occupancy or presence entity (cheap)."""
        return self.watch_.check(entity_id, value, ts)

    def check_open_durations(self, now: float) -> list[Anomaly]:
        """Doors held open too long, and entries while away that no arrival explained (each once)."""
        return self.watch_.check_open_durations(now)

    # ------------------------------------------------------------------ feedback
    def add_feedback(self, anomaly: Anomaly) -> None:
        """The user says this anomaly was normal: do not alert on the same situation again."""
        item = feedback_item(anomaly)
        if item is None:  # another model's anomaly
            return
        self.feedback_.append(item)
        raise_open_limit(item, self.open_limit_s_)  # rate feedback is read by the live checks

    def feedback_as_dict(self) -> SavedFeedback:
        """Feedback as plain JSON for the store."""
        return {"version": FEEDBACK_VERSION, "items": [item.copy() for item in self.feedback_]}

    def load_feedback(self, data: Iterable[Anomaly] | Mapping[str, object] | None) -> None:
        """Restore feedback: anomalies marked normal, or what feedback_as_dict wrote."""
        self.feedback_ = []
        if not data:
            return
        if isinstance(data, Mapping):
            for item in saved_items(data):
                self.feedback_.append(item)
                raise_open_limit(item, self.open_limit_s_)
            return
        for anomaly in data:
            self.add_feedback(anomaly)
