"""Live security checks: each new event scored against the fitted model, as it happens.

`check` scores one event (activity in a rare context), `check_open_durations` reports
doors held open too long and the entries while away that no arrival explained within the
grace. Both are plain Python (no numpy) so that they may run in the event loop.

Presence doubt: once activity while everyone is away has alerted, the rest of that time
away does not alert again (a phone left at home, a stale tracker is far more likely than
a burglar who cooks, and a person has been told), and this is said once, in a
`presence_doubt` anomaly that joins the alert's incident. A door held open still alerts;
any arrival or departure ends the doubt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
import math
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from .constants import (
    KIND_SECURITY,
    TYPE_ACTIVITY_WHEN_EMPTY,
    TYPE_ENTRY_WITHOUT_ARRIVAL,
    TYPE_OPEN_TOO_LONG,
    TYPE_PRESENCE_DOUBT,
    TYPE_UNUSUAL_TIME,
    JsonObject,
)
from .facts import (
    ActivityFacts,
    ActivityFields,
    ActivityWhenEmpty,
    EntryWithoutArrival,
    OpenTooLong,
    PresenceDoubt,
    SecurityFacts,
    UnusualTime,
    area_of_source,
)
from .incidents import INCIDENT_QUIET_SECONDS, is_door_alert
from .live_carry import read_later, take_over
from .results import Anomaly, anomaly_id
from .security_context import (
    AREA_REFRACTORY_SECONDS,
    DAY_TYPES,
    LEAVING_MAX_SECONDS,
    RUN_GAP_SECONDS,
    STATE_EMPTY,
    STATE_NIGHT,
    STATE_OCCUPIED,
    STATES,
    SecuritySource,
    alerting_states,
    surprise_of_rate,
)
from .security_feedback import feedback_rate

if TYPE_CHECKING:
    from .anomaly import SecurityModel

# The doubt is told once the home has been in use this long after the alert: by then it
# is more than a door opened and closed.
DOUBT_TOLD_AFTER_SECONDS: Final = 900.0


def doubt_in_history(doubt_since: float | None, activity: Sequence[float]) -> tuple[float | None, bool, float]:
    """A doubt begun in the history read as the live watch reads one: (since, said, last activity).

    activity: the activity starts after the doubt began, in time order. It is said once the
    home has been in use DOUBT_TOLD_AFTER_SECONDS, and ends (None) after a quiet hour before.
    """
    if doubt_since is None:
        return None, False, -math.inf
    last = doubt_since
    for ts in activity:
        if ts - last >= INCIDENT_QUIET_SECONDS:
            return None, False, -math.inf
        last = ts
        if ts - doubt_since >= DOUBT_TOLD_AFTER_SECONDS:
            return doubt_since, True, last
    return doubt_since, False, last


def quiet_span(hour_counts: Sequence[float], hour: int, hour_exposure: Sequence[float]) -> tuple[int, int]:
    """The run of hours around `hour` as quiet as it; last == first + 23 is the whole day.

    Only hours in which the home has been in the state count: an hour never spent in it
    (daytime, for the night) is no evidence of quiet, and would wrap the window round the
    clock ("between 05:00 and 04:00 at night").
    """
    level = hour_counts[hour] + 0.5

    def quiet(h: int) -> bool:
        return hour_exposure[h % 24] > 0 and hour_counts[h % 24] < level

    first = hour
    while first > hour - 23 and quiet(first - 1):
        first -= 1
    last = hour
    while last < first + 23 and quiet(last + 1):
        last += 1
    return first, last


class SecurityWatch:
    """The live side of a fitted SecurityModel: presence, open doors, pending reports."""

    def __init__(
        self,
        model: SecurityModel,
        presence: Mapping[str, float],
        last_departure: float,
        last_arrival: float,
        open_since: Mapping[str, float],
        doubt: tuple[float | None, bool, float] = (None, False, -math.inf),
        leaving_last: float | None = None,
        seen: Mapping[str, float] | None = None,
    ) -> None:
        """Start from the state at the end of the fitted history.

        doubt: of the time away still going on, if the history shows that someone came back
        in (`doubt_in_history`): when it began, whether it was said, the last activity since.
        leaving_last: the last trip out of the last departure's leaving, when it had more.
        seen: when each presence entity and door was last read (`live_carry`).
        """
        self._model = model
        self._tz = ZoneInfo(model.timezone_)
        self._presence = dict(presence)
        self._seen: dict[str, float] = dict(seen or {})
        self._last_departure = last_departure
        # The last moment of the leaving: the departure, or a door used again soon after it.
        self._leaving_last = last_departure if leaving_last is None else max(leaving_last, last_departure)
        self._last_arrival = last_arrival
        self._open_since = dict(open_since)
        self._open_flagged: set[str] = set()
        self._last_start: dict[str, float] = {}
        self._pending: list[tuple[float, Anomaly]] = []
        # The last activity since a doubt began: until the doubt is said (the home stayed in
        # use), a quiet hour ends it.
        self._doubt_since, self._doubt_told, self._doubt_last = doubt
        # The last time one person left or came back by their own presence entity.
        self.own_departure = -math.inf
        self.own_arrival = -math.inf

    def continue_from(self, previous: SecurityWatch) -> None:
        """Carry what the previous fit's watch saw live since its history ended.

        Entries still waiting for their grace, doors open and already reported as held
        open, a presence doubt of the same time away, and a departure or an arrival seen
        while the fit ran would otherwise be lost at every refit.
        """
        if not previous._model.ready()[0]:
            return  # it watched nothing live: this fit's copy is the newer
        later = read_later(self._seen, previous._seen)
        take_over(self._presence, previous._presence, [e for e in later if e in self._model.presence_])
        take_over(self._open_since, previous._open_since, [e for e in later if e in self._model.open_limit_s_])
        self._seen.update({e: previous._seen[e] for e in later})
        if previous._last_departure > self._last_departure or previous._last_arrival > self._last_arrival:
            # A departure or an arrival this fit did not see: the time away (and its doubt) is the previous one's.
            self._last_departure = max(self._last_departure, previous._last_departure)
            self._last_arrival = max(self._last_arrival, previous._last_arrival)
            self._doubt_since, self._doubt_told = previous._doubt_since, previous._doubt_told
            self._doubt_last = previous._doubt_last
        # What waits is the previous watch's: it heard every coming and going since (the
        # list restored from the last save may be older).
        self._pending = list(previous._pending)
        self._open_flagged |= previous._open_flagged & set(self._open_since)
        self.own_departure = max(self.own_departure, previous.own_departure)
        self.own_arrival = max(self.own_arrival, previous.own_arrival)
        for key, ts in previous._last_start.items():
            self._last_start[key] = max(ts, self._last_start.get(key, -math.inf))
        if previous._last_departure == self._last_departure:
            self._leaving_last = max(self._leaving_last, previous._leaving_last)
        if previous._last_departure >= self._last_departure:
            # The same time away, watched live: its doubt is the previous one's, begun, said or lapsed.
            self._last_departure = previous._last_departure
            self._doubt_since, self._doubt_told = previous._doubt_since, previous._doubt_told
            self._doubt_last = previous._doubt_last

    def pending_as_json(self) -> list[JsonObject]:
        """The alerts waiting for their grace, for a restart."""
        return [{"due": due, "anomaly": dict(anomaly.as_json())} for due, anomaly in self._pending]

    def restore_pending(self, saved: Sequence[object]) -> None:
        """Alerts that waited before a restart, unless a departure or an arrival came after them."""
        explained_until = max(self._last_departure, self._last_arrival, self.own_departure, self.own_arrival)
        known = {anomaly.id for _, anomaly in self._pending}
        for item in saved:
            if not isinstance(item, Mapping) or not isinstance(item.get("due"), int | float):
                continue
            try:
                anomaly = Anomaly.from_json(item["anomaly"])
            except (KeyError, TypeError, ValueError):
                continue  # written by another version: nothing to wait for
            if anomaly.ts > explained_until and anomaly.id not in known:
                self._pending.append((float(item["due"]), anomaly))
                known.add(anomaly.id)

    @property
    def away_since(self) -> float | None:
        """When everyone left, while the presence entities say everyone is away; else None."""
        if not self._presence or any(v > 0.5 for v in self._presence.values()):
            return None
        return self._last_departure if math.isfinite(self._last_departure) else None

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(self._tz)

    def _home_state(self, ts: float, is_door: bool) -> str | None:
        """Occupied / empty / night, or None right after a departure (activity belongs to it).

        Without presence entities learned from, the home is taken as occupied: its empty
        state was never learned.
        """
        model = self._model
        home = any(v > 0.5 for v in self._presence.values()) if self._presence else None
        # A later trip out excuses the door only: activity in the home after it is not the leaving.
        # So does one person coming or going while another stays in.
        leaving = max(self._leaving_last, self.own_departure) if is_door else self._last_departure
        arrival = max(self._last_arrival, self.own_arrival) if is_door else self._last_arrival
        if ts - leaving <= model.departure_grace_s_ or ts - arrival <= model.arrival_grace_s_:
            return None  # part of a departure or an arrival
        if home is False:
            return STATE_EMPTY
        return STATE_NIGHT if model.night_hours_[self._local(ts).hour] else STATE_OCCUPIED

    def check(self, entity_id: str, value: float, ts: float) -> Anomaly | None:
        """Score one new observation of a security, occupancy or presence entity (cheap)."""
        model = self._model
        if entity_id in model.presence_:
            self._presence_changed(entity_id, value, ts)
            return None
        key = model.entity_source_.get(entity_id)
        if key is None or not model.fitted_:
            return None
        if entity_id in model.open_limit_s_:
            self._seen[entity_id] = ts
            if value > 0.5:
                self._open_since.setdefault(entity_id, ts)
            else:
                self._open_since.pop(entity_id, None)
                self._open_flagged.discard(entity_id)
        if value <= 0.5:
            return None
        last = self._last_start.get(key, -math.inf)
        self._last_start[key] = ts
        if self._doubt_since is not None and self.away_since is not None:
            if self._doubt_told or ts - self._doubt_last < INCIDENT_QUIET_SECONDS:
                # Someone is in the home whatever the presence says: their activity is theirs,
                # and their doors are comings and goings the presence does not show.
                self._doubt_last = ts
                self._tell_doubt(ts)
                return None
            # The home fell quiet for as long as closes an incident before it had been in use
            # long enough to doubt the presence: what comes now is scored afresh (an intrusion
            # hours after a pet's alert).
            self._doubt_since = None
        source = model.sources_[key]
        if not source.is_door and ts - last < AREA_REFRACTORY_SECONDS:
            return None
        if source.is_door and self._leaving_goes_on(ts):
            self._leaving_last = ts
        if not model.ready()[0]:
            return None
        state = self._home_state(ts, source.is_door)
        if state is None:
            return None
        anomaly = self._rate_anomaly(source, entity_id, state, ts)
        if anomaly is None:
            return None
        if self._presence:
            # An arrival (when away) or a departure (when home) that follows within the
            # grace explains the activity: wait for it before reporting.
            if state != STATE_EMPTY:
                grace = model.departure_wait_s_
                if source.is_door and any(v <= 0.5 for v in self._presence.values()):
                    # Someone is out: the door may be them coming home (as learned: `own_changes`).
                    grace = max(grace, model.entry_grace_s_)
            else:
                grace = model.entry_grace_s_ if source.is_door else model.arrival_grace_s_
            self._pending.append((ts + grace, anomaly))
            return None
        return anomaly

    def _leaving_goes_on(self, ts: float) -> bool:
        """Whether a door opening now is the leaving going on: another trip out (`leaving_doors`)."""
        if self.away_since is None or ts - self._last_departure > LEAVING_MAX_SECONDS:
            return False
        gap = RUN_GAP_SECONDS if self._leaving_last > self._last_departure else self._model.departure_grace_s_
        return ts - self._leaving_last <= gap

    def _presence_changed(self, entity_id: str, value: float, ts: float) -> None:
        self._seen[entity_id] = ts
        was_home = any(v > 0.5 for v in self._presence.values())
        before = self._presence.get(entity_id)
        self._presence[entity_id] = value
        is_home = any(v > 0.5 for v in self._presence.values())
        if before is not None and (before > 0.5) != (value > 0.5):
            # Someone came or went: a door waiting to be reported was them.
            self._pending = [item for item in self._pending if not is_door_alert(item[1])]
            if value > 0.5:
                self.own_arrival = ts
            else:
                self.own_departure = ts
        if was_home == is_home:
            return
        self._doubt_since = None
        self._doubt_told = False
        # What waits to be reported waits for exactly this: activity before a departure was
        # the departure, before an arrival the arrival, even when its grace just ran out
        # between two checks.
        self._pending = []
        if is_home:
            self._last_arrival = ts
        else:
            self._last_departure = self._leaving_last = ts

    def _tell_doubt(self, ts: float) -> None:
        """Say once, in the alert's incident, that the presence is probably wrong."""
        doubt_since = self._doubt_since
        if self._doubt_told or doubt_since is None or ts - doubt_since < DOUBT_TOLD_AFTER_SECONDS:
            return
        self._doubt_told = True
        away = [e for e, v in self._presence.items() if v <= 0.5] or list(self._presence)
        departed, since = self._local(self._last_departure), self._local(doubt_since)
        facts = PresenceDoubt(
            entity_id=away[0],
            away_since=time(departed.hour, departed.minute),
            in_use_since=time(since.hour, since.minute),
            in_use_minutes=round((ts - doubt_since) / 60.0),
        )
        note = Anomaly(
            id=anomaly_id(KIND_SECURITY, TYPE_PRESENCE_DOUBT, facts.source, doubt_since),
            kind=KIND_SECURITY,
            type=TYPE_PRESENCE_DOUBT,
            entity_ids=away[:1],
            ts=ts,
            score=0.0,
            facts=facts,
        )
        self._pending.append((ts, note))  # told at the next check, beside the activity's own

    def _rate_anomaly(self, source: SecuritySource, entity_id: str, state: str, ts: float) -> Anomaly | None:
        model = self._model
        if STATES.index(state) not in alerting_states(source.is_door):
            return None
        local = self._local(ts)
        day_type, hour = int(local.weekday() >= 5), local.hour
        rate = source.rates[STATES.index(state)][day_type][hour]
        surprise = surprise_of_rate(rate)
        if surprise < source.threshold:
            return None
        taught = feedback_rate(model.feedback_, source.key, state, hour, source.threshold)
        if surprise_of_rate(taught) < source.threshold:
            # The person said this entry was them. While everyone is "away", that means someone
            # is in after all: what follows in this time away is theirs too.
            if state == STATE_EMPTY and source.is_door and self._doubt_since is None:
                self._doubt_since = self._doubt_last = ts
                self._doubt_told = True
            return None
        counts = source.counts[STATES.index(state)]
        exposure = model.exposure_[STATES.index(state)] if model.exposure_ else [[1.0] * 24] * 2
        hour_counts = [counts[0][h] + counts[1][h] for h in range(24)]
        hour_exposure = [exposure[0][h] + exposure[1][h] for h in range(24)]
        first, last = quiet_span(hour_counts, hour, hour_exposure)
        seen = sum(hour_counts[h % 24] for h in range(first, last + 1))
        observed = sum(hour_exposure[h % 24] for h in range(first, last + 1))
        common: ActivityFields = {
            "entity_id": entity_id,
            "area": area_of_source(source.key),
            "state": state,
            "day_type": DAY_TYPES[day_type],
            "at": time(local.hour, local.minute),
            "start_hour": first % 24,
            "end_hour": (last + 1) % 24,
            "times_seen": round(seen),
            "days_of_history": round(model.days_, 1),
            "hours_observed": round(observed, 1),
            "expected_per_hour": round(rate, 5),
            "threshold": round(source.threshold, 3),
        }
        facts: SecurityFacts
        if state != STATE_EMPTY:
            type_, facts = TYPE_UNUSUAL_TIME, UnusualTime(**common)
        else:
            grace = round((model.entry_grace_s_ if source.is_door else model.arrival_grace_s_) / 60.0, 1)
            if source.is_door:
                type_ = TYPE_ENTRY_WITHOUT_ARRIVAL
                facts = EntryWithoutArrival(**common, arrival_grace_minutes=grace)
            else:
                type_ = TYPE_ACTIVITY_WHEN_EMPTY
                facts = ActivityWhenEmpty(**common, arrival_grace_minutes=grace)
        return Anomaly(
            id=anomaly_id(KIND_SECURITY, type_, source.key, ts),
            kind=KIND_SECURITY,
            type=type_,
            entity_ids=[entity_id],
            ts=ts,
            score=round(surprise, 3),
            facts=facts,
        )

    def check_open_durations(self, now: float) -> list[Anomaly]:
        """Doors held open too long, and entries while away that no arrival explained.

        Call periodically (every minute or so); each situation is reported once.
        """
        model = self._model
        out: list[Anomaly] = []
        if self._pending:
            due = [a for t, a in self._pending if t <= now]
            self._pending = [(t, a) for t, a in self._pending if t > now]
            out.extend(due)
            if self._presence and not any(v > 0.5 for v in self._presence.values()):
                alerted = [a.ts for a in due if isinstance(a.facts, ActivityFacts) and a.facts.state == STATE_EMPTY]
                if alerted and self._doubt_since is None:
                    self._doubt_since = min(alerted)
                    self._doubt_last = max([*alerted, *self._last_start.values()])
        if not model.fitted_ or not model.ready()[0]:
            return out
        for entity_id, since in list(self._open_since.items()):
            limit = model.open_limit_s_.get(entity_id, math.inf)
            if entity_id in self._open_flagged or now - since < limit:
                continue
            self._open_flagged.add(entity_id)
            opened = self._local(since)
            facts = OpenTooLong(
                entity_id=entity_id,
                open_since=time(opened.hour, opened.minute),
                open_minutes=round((now - since) / 60.0, 1),
                longest_open_minutes=round(model.longest_open_s_.get(entity_id, 0.0) / 60.0, 1),
                limit_minutes=round(limit / 60.0, 1),
                days_of_history=round(model.days_, 1),
            )
            out.append(
                Anomaly(
                    id=anomaly_id(KIND_SECURITY, TYPE_OPEN_TOO_LONG, entity_id, since),
                    kind=KIND_SECURITY,
                    type=TYPE_OPEN_TOO_LONG,
                    entity_ids=[entity_id],
                    ts=now,
                    score=round((now - since) / limit, 3),
                    facts=facts,
                )
            )
        return out
